//! `lookalike index`: bring a folder's index up to date, with a progress bar.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

use lookalike::catalog::model_for_index;
use lookalike::embed::{Embedder, EngineOptions};
use lookalike::indexer::{IndexOptions, index_folder};
use lookalike::model::{Pooling, ResizePolicy};
use lookalike::paths;

#[derive(Args)]
pub struct IndexArgs {
    /// The catalog folder (searched recursively; hidden files are skipped).
    pub folder: PathBuf,
    /// The index to write: a file, or a shared catalog's postgres://USER@HOST/DB (default: one
    /// file per folder in the data folder).
    #[arg(long, env = "LOOKALIKE_INDEX")]
    pub index: Option<PathBuf>,
    /// Model to embed with (see `lookalike models`).
    #[arg(long, value_parser = super::ranges::model)]
    pub model: Option<String>,
    /// Pooling of the feature map (default: the model manifest's).
    #[arg(long, value_parser = ["avg", "max", "gem"])]
    pub pooling: Option<String>,
    /// Fitting photos into the model's square (default: the manifest's).
    #[arg(long, value_parser = ["letterbox", "center-crop"])]
    pub resize: Option<String>,
    /// Photos per model run.
    #[arg(long, default_value_t = 16, value_parser = super::ranges::count(1, 1024))]
    pub batch: usize,
    /// ONNX Runtime threads (0: all cores).
    #[arg(long, default_value_t = 0, value_parser = super::ranges::count(0, 1024))]
    pub threads: usize,
    /// Label field shown beside results (a labels.csv column, or `folder`).
    #[arg(long)]
    pub label_field: Option<String>,
    /// Leave out paths matching this gitignore pattern (relative to the folder; repeatable), as
    /// well as those the folder's `.lookalikeignore` names. Items indexed before are removed.
    #[arg(long, value_name = "PATTERN")]
    pub exclude: Vec<String>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// Make the index again from nothing (for a damaged index): every photo is embedded again.
    #[arg(long)]
    pub rebuild: bool,
}

pub fn run(a: IndexArgs, quiet: bool) -> Result<ExitCode> {
    let index = a
        .index
        .clone()
        .unwrap_or_else(|| paths::default_index_for(&a.folder));
    // Held through the run: nobody writes between the removal and the new index.
    let store = lookalike::catalog::store_for(&index);
    // A password inside a postgres:// address stays in memory; messages show the address without it.
    let index = store.location().to_path_buf();
    let _writing = store.lock_for_writing()?;
    if a.rebuild {
        store.remove_all()?;
    }
    let mut manifest = model_for_index(&index, a.model.as_deref())?;
    if let Some(p) = &a.pooling {
        let p = Pooling::from_name(p)
            .with_context(|| format!("unknown pooling '{p}': use avg, max or gem"))?;
        manifest = manifest.with_variant(p, manifest.resize);
    }
    if let Some(r) = &a.resize {
        let r = ResizePolicy::from_name(r)
            .with_context(|| format!("unknown resize '{r}': use letterbox or center-crop"))?;
        manifest = manifest.with_variant(manifest.pooling, r);
    }
    let embedder = Embedder::start(
        manifest,
        EngineOptions {
            intra_threads: a.threads,
        },
    )?;
    if !quiet && !a.json {
        eprintln!(
            "Indexing {} with {} into {}",
            a.folder.display(),
            embedder.manifest().label(),
            store.location().display()
        );
    }
    let bar = if quiet || a.json {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(0)
    };
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} photos  {per_sec}  ETA {eta}  {msg}")
            .expect("valid template"),
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    let cancel = AtomicBool::new(false);
    let options = IndexOptions {
        batch_size: a.batch,
        label_field: a.label_field.clone(),
        exclude: a.exclude.clone(),
    };
    let report = index_folder(&a.folder, &index, &embedder, &options, &cancel, |p| {
        bar.set_length(p.total as u64);
        bar.set_position(p.done as u64);
        if p.failed > 0 {
            bar.set_message(format!("{} failed", p.failed));
        }
    })
    .with_context(|| format!("indexing {}", a.folder.display()))?;
    bar.finish_and_clear();
    super::remember_index(store.location());

    if a.json {
        let failures: Vec<_> = report
            .failures
            .iter()
            .map(|(p, r)| serde_json::json!({"path": p.to_string_lossy(), "reason": r}))
            .collect();
        let out = serde_json::json!({
            "index": store.location().to_string_lossy(), "model": embedder.manifest().name, "items": report.items,
            "scanned": report.scanned, "embedded": report.embedded, "reused": report.reused,
            "unchanged": report.unchanged, "removed": report.removed, "failed": report.failures.len(),
            "aliases": report.aliases, "warnings": report.warnings,
            "seconds": report.seconds, "failures": failures,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        for (path, reason) in &report.failures {
            eprintln!("  skipped {}: {reason}", super::shown(path));
        }
        for warning in &report.warnings {
            eprintln!("lookalike: warning: {warning}");
        }
        if !quiet {
            let rate = report.embedded as f64 / report.seconds.max(1e-9);
            println!(
                "{} items in the index ({} embedded, {} reused from identical files, {} unchanged, {} removed, {} failed) in {:.1} s ({rate:.1} photos/s)",
                report.items,
                report.embedded,
                report.reused,
                report.unchanged,
                report.removed,
                report.failures.len(),
                report.seconds
            );
            if report.aliases > 0 {
                println!(
                    "{} links to photos already in the catalog were not indexed again (one file, one item)",
                    report.aliases
                );
            }
        }
    }
    Ok(if report.failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(super::EXIT_SOME_FAILED)
    })
}
