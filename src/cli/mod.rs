//! Command-line interface: argument parsing and the subcommands. Every subcommand only calls the library.

mod copy;
mod dups;
mod eval;
mod index;
mod query;
mod train;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

use lookalike::paths;

/// Exit code when indexing finished but some files could not be indexed.
pub const EXIT_SOME_FAILED: u8 = 3;

#[derive(Parser)]
#[command(
    name = "lookalike",
    version,
    about = "Find look-alike fashion items by photo",
    long_about = "Find look-alike fashion items by photo.\n\n\
        Index a folder of product photos once (an ImageNet CNN embeds each photo through ONNX Runtime,\n\
        the vectors go into a SQLite index), then query it with any photo to get the most similar items.",
    after_help = "Examples:\n  lookalike index ~/Pictures/catalog\n  lookalike query shirt.jpg -k 12\n  lookalike query shirt.jpg --json | jq .results[0]\n\n\
        Exit codes: 0 success, 1 error, 2 bad arguments, 3 indexed but some files failed."
)]
#[command(args_conflicts_with_subcommands = true)]
struct Cli {
    /// Open the window on this catalog folder (with no command and no folder: the last catalog).
    folder: Option<PathBuf>,
    /// Print only results and errors.
    #[arg(short, long, global = true)]
    quiet: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Index (or update the index of) a folder of photos.
    Index(index::IndexArgs),
    /// Show the catalog items most similar to a photo.
    Query(query::QueryArgs),
    /// Measure retrieval quality on a labelled catalog (leave-one-out precision@k and mAP@k).
    Eval(eval::EvalArgs),
    /// Find groups of duplicate items: byte-identical, re-encoded, resized, cropped, mirrored, recoloured.
    Dups(dups::DupsArgs),
    /// Learn a small head from the catalog's labels: predicted labels, style-aware search.
    TrainHead(train::TrainArgs),
    /// Show what ImageNet classes the model sees in a photo (checks that the weights are real).
    Classify(query::ClassifyArgs),
    /// Open the window (the same as giving no command).
    Gui {
        /// Catalog folder to open.
        folder: Option<PathBuf>,
        /// Browse this index (a file or postgres://USER@HOST/DB) as it is, without indexing its folder.
        #[arg(long, conflicts_with = "folder")]
        index: Option<PathBuf>,
    },
    /// Copy a whole catalog (embeddings, thumbnails, labels, map, learned head) between a local
    /// index file and a shared PostgreSQL catalog (postgres://USER@HOST/DB), either way.
    CopyIndex(copy::CopyArgs),
    /// List the models lookalike can use.
    Models,
}

pub fn run() -> Result<ExitCode> {
    let cli = Cli::parse();
    // A kernel forced for measuring is refused at once, like a bad argument, not at the first search.
    if let Err(e) = lookalike::search::compact::check_simd_env() {
        eprintln!("lookalike: {e}");
        return Ok(ExitCode::from(2));
    }
    match cli.command {
        Some(Command::Index(a)) => index::run(a, cli.quiet),
        Some(Command::Query(a)) => query::run(a),
        Some(Command::Classify(a)) => query::classify(a),
        Some(Command::Eval(a)) => eval::run(a),
        Some(Command::TrainHead(a)) => train::run(a, cli.quiet),
        Some(Command::Dups(a)) => dups::run(a, cli.quiet),
        Some(Command::CopyIndex(a)) => copy::run(a, cli.quiet),
        Some(Command::Models) => models(),
        Some(Command::Gui { folder, index }) => window::open(folder, index),
        None => window::open(cli.folder, None),
    }
}

#[cfg(feature = "gui")]
mod window {
    use std::path::PathBuf;
    use std::process::ExitCode;

    use anyhow::Result;

    pub fn open(folder: Option<PathBuf>, index_file: Option<PathBuf>) -> Result<ExitCode> {
        let config = lookalike::app::AppConfig {
            folder,
            index_file,
            persist: true,
            ..Default::default()
        };
        lookalike::app::run(config, lookalike::app::renderer_from_env())
            .map_err(|e| anyhow::anyhow!("cannot open the window: {e}"))?;
        Ok(ExitCode::SUCCESS)
    }
}

#[cfg(not(feature = "gui"))]
mod window {
    use std::path::PathBuf;
    use std::process::ExitCode;

    use anyhow::Result;

    pub fn open(_: Option<PathBuf>, _: Option<PathBuf>) -> Result<ExitCode> {
        anyhow::bail!(
            "this lookalike was built without the window (the `gui` feature); use its commands (`lookalike --help`)"
        )
    }
}

fn models() -> Result<ExitCode> {
    let all = lookalike::model::available_models()?;
    let default = lookalike::model::default_model().ok().map(|m| m.name);
    for m in all {
        let state = match (m.is_installed(), m.real_weights) {
            (true, true) => "installed",
            (true, false) => "installed, random weights: speed tests only",
            (false, _) => {
                "not built: run ./run setup (./run setup-backbones for the larger int8 ones)"
            }
        };
        let mark = if default.as_deref() == Some(&m.name) {
            "*"
        } else {
            " "
        };
        println!("{mark} {:<20} {:<50} {state}", m.name, m.label());
    }
    println!(
        "\n* the default. Models are read from: {}",
        paths::model_dirs()
            .iter()
            .map(|d| d.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(ExitCode::SUCCESS)
}

/// The index to use: the one given, else the last one indexed on this machine.
fn resolve_index(given: Option<PathBuf>) -> Result<PathBuf> {
    let index = match given {
        Some(p) => p,
        None => {
            let marker = paths::last_index_marker();
            let text = std::fs::read_to_string(&marker)
                .with_context(|| "no catalog has been indexed yet: run `lookalike index FOLDER` first, or pass --index FILE")?;
            PathBuf::from(text.trim())
        }
    };
    // A password inside a postgres:// address stays in memory; messages show the address without it.
    Ok(lookalike::catalog::store_for(&index)
        .location()
        .to_path_buf())
}

fn remember_index(index: &std::path::Path) {
    let marker = paths::last_index_marker();
    let abs = index.canonicalize().unwrap_or_else(|_| index.to_path_buf());
    // Remembering is a convenience: failing to write it must not fail the indexing.
    let _ = marker.parent().map(std::fs::create_dir_all);
    let _ = std::fs::write(&marker, abs.to_string_lossy().as_bytes());
}

/// Open the catalog of `index`, saying when some of its embeddings are damaged.
fn open_catalog(index: &std::path::Path) -> Result<lookalike::catalog::Catalog> {
    let catalog = lookalike::catalog::Catalog::open(index)
        .with_context(|| format!("opening the index {}", index.display()))?;
    if !catalog.damaged().is_empty() {
        eprintln!(
            "lookalike: {} item(s) of {} have a damaged embedding and are left out of searches; `lookalike index {}` embeds them again",
            catalog.damaged().len(),
            index.display(),
            catalog.root().display()
        );
    }
    Ok(catalog)
}

/// Parsers that keep arguments within what makes sense, so clap refuses the rest with exit code 2.
mod ranges {
    use clap::builder::RangedU64ValueParser;

    /// A count from `lo` to `hi`.
    pub fn count(lo: u64, hi: u64) -> RangedU64ValueParser<usize> {
        RangedU64ValueParser::<usize>::new().range(lo..=hi)
    }

    /// Cross-validation folds: 0 (none) or 2 to 50.
    pub fn folds(s: &str) -> Result<usize, String> {
        match s.trim().parse::<usize>() {
            Ok(n) if n == 0 || (2..=50).contains(&n) => Ok(n),
            _ => Err(format!(
                "'{s}' folds: use 0 (no cross-validation) or 2 to 50"
            )),
        }
    }

    /// A weight from 0 to 1.
    pub fn weight(s: &str) -> Result<f32, String> {
        between_0_and_1(s, "weight")
    }

    /// A recall from 0 to 1.
    pub fn recall(s: &str) -> Result<f32, String> {
        between_0_and_1(s, "recall")
    }

    /// A similarity from 0 to 1.
    pub fn similarity(s: &str) -> Result<f32, String> {
        between_0_and_1(s, "similarity")
    }

    fn between_0_and_1(s: &str, what: &str) -> Result<f32, String> {
        let v: f32 = s
            .trim()
            .parse()
            .map_err(|_| format!("'{s}' is not a number"))?;
        if (0.0..=1.0).contains(&v) {
            Ok(v)
        } else {
            Err(format!("{s} is not a {what} between 0 and 1"))
        }
    }

    /// A model name `lookalike models` lists (any name when no model is installed yet: the
    /// command then says how to set up).
    pub fn model(s: &str) -> Result<String, String> {
        match lookalike::model::available_models() {
            Ok(all) if !all.iter().any(|m| m.name == s) => Err(format!(
                "unknown model; available: {}",
                all.iter()
                    .map(|m| m.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            _ => Ok(s.to_string()),
        }
    }
}

/// A path for a line of text output: control characters (a newline in a file name) escaped, so
/// one name cannot break a table into several lines.
fn shown(path: &std::path::Path) -> String {
    let s = path.display().to_string();
    if s.chars().any(char::is_control) {
        s.chars()
            .flat_map(|c| {
                if c.is_control() {
                    c.escape_default().collect::<Vec<_>>()
                } else {
                    vec![c]
                }
            })
            .collect()
    } else {
        s
    }
}
