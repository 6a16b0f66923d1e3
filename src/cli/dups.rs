//! `lookalike dups`: groups of near-duplicate items in an index, with a suggested keeper.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Args;

use clap::Subcommand;
use lookalike::catalog::Catalog;
use lookalike::dups::{
    CandidateOptions, Group, Keep, Rule, catalog_candidates, decide_apart, group, resolve,
    trash_plan,
};

#[derive(Args)]
#[command(args_conflicts_with_subcommands = false)]
pub struct DupsArgs {
    #[command(subcommand)]
    pub action: Option<DupsAction>,
    /// The index: a file, or a shared catalog's postgres://USER@HOST/DB (default: the last
    /// catalog indexed).
    #[arg(long, env = "LOOKALIKE_INDEX", global = true)]
    pub index: Option<PathBuf>,
    /// Embedding cosine from which two items are duplicates on that signal alone (perceptual
    /// hashes add matches below it).
    #[arg(long, default_value_t = Rule::default().threshold, value_parser = super::ranges::similarity, global = true)]
    pub threshold: f32,
    /// Write the groups as CSV (one row per item) to this file.
    #[arg(long, conflicts_with = "json")]
    pub csv: Option<PathBuf>,
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(Subcommand)]
pub enum DupsAction {
    /// Say that two photos are not duplicates: never grouped again (kept in the index, by content,
    /// across re-indexing and renames).
    Ignore { a: PathBuf, b: PathBuf },
    /// Take back an `ignore`.
    Unignore { a: PathBuf, b: PathBuf },
    /// List the pairs said not to be duplicates.
    Ignored,
    /// Keep one copy of every group by a rule and move the others to the trash (with --dry-run:
    /// only print what would move). Never the last copy of a group.
    Resolve {
        /// Which copy to keep: largest, newest, oldest, or in:FOLDER.
        #[arg(long, default_value = "largest")]
        keep: Keep,
        /// Print what would be moved, move nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Put back the files of the last move to the trash.
    Undo,
}

pub fn run(a: DupsArgs, quiet: bool) -> Result<ExitCode> {
    if let Some(DupsAction::Undo) = a.action {
        let files = lookalike::dups::trash::undo_last(&lookalike::dups::trash::log_path())?;
        if !quiet {
            println!("{} files put back from the trash", files.len());
        }
        for f in &files {
            println!("  {}", super::shown(f));
        }
        return Ok(ExitCode::SUCCESS);
    }
    let index = super::resolve_index(a.index)?;
    let catalog = super::open_catalog(&index)?;
    match &a.action {
        Some(DupsAction::Ignore { a: x, b: y }) | Some(DupsAction::Unignore { a: x, b: y }) => {
            let apart = matches!(a.action, Some(DupsAction::Ignore { .. }));
            let pair = (item_at(&catalog, x)?, item_at(&catalog, y)?);
            decide_apart(&catalog, &[pair], apart)?;
            if !quiet {
                println!(
                    "{} and {} {}",
                    super::shown(&catalog.abs_path(pair.0)),
                    super::shown(&catalog.abs_path(pair.1)),
                    if apart {
                        "are not duplicates: they will not be grouped again"
                    } else {
                        "may be grouped again"
                    }
                );
            }
            return Ok(ExitCode::SUCCESS);
        }
        Some(DupsAction::Ignored) => {
            let by_hash = paths_by_hash(&catalog);
            let decided = catalog.store().not_duplicates()?;
            if a.json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&ignored_json(&decided, &by_hash))?
                );
            } else {
                println!("{} pairs said not to be duplicates", decided.len());
                for d in &decided {
                    println!("  {}  +  {}", names(&by_hash, &d.a), names(&by_hash, &d.b));
                }
            }
            return Ok(ExitCode::SUCCESS);
        }
        _ => {}
    }
    let missing = catalog
        .fingerprints()?
        .iter()
        .filter(|f| f.is_none())
        .count();
    if missing > 0 && !quiet {
        eprintln!(
            "note: {missing} items have no perceptual hash yet (indexed by an older version): run `lookalike index {}` to add them; until then they are matched by embedding only",
            catalog.root().display()
        );
    }
    let t = Instant::now();
    let pairs = catalog_candidates(&catalog, &CandidateOptions::default())?;
    let rule = Rule::default().with_threshold(a.threshold);
    let groups = group(&catalog, &pairs, &rule);
    let seconds = t.elapsed().as_secs_f64();
    let in_groups: usize = groups.iter().map(|g| g.items.len()).sum();

    if let Some(path) = &a.csv {
        write_csv(&catalog, &groups, path)?;
        if !quiet {
            println!(
                "{} groups ({in_groups} items) written to {}",
                groups.len(),
                path.display()
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(DupsAction::Resolve { keep, dry_run }) = &a.action {
        return resolve_groups(&catalog, &groups, keep, *dry_run, quiet);
    }
    if a.json {
        let by_hash = paths_by_hash(&catalog);
        let decided = catalog.store().not_duplicates()?;
        let out = serde_json::json!({
            "index": index.to_string_lossy(), "items": catalog.len(), "rule": rule, "seconds": seconds,
            "ignored": ignored_json(&decided, &by_hash),
            "groups": groups.iter().map(|g| serde_json::json!({
                "exact": g.exact,
                "keeper": catalog.abs_path(g.keeper()).to_string_lossy(),
                "items": g.items.iter().map(|&i| item_json(&catalog, i)).collect::<Vec<_>>(),
                "pairs": g.pairs.iter().map(|p| serde_json::json!({
                    "a": catalog.abs_path(p.a).to_string_lossy(), "b": catalog.abs_path(p.b).to_string_lossy(),
                    "cosine": p.cosine, "hash_distance": p.hash_distance, "exact": p.exact,
                    "colour_distance": p.colour_distance, "pixels": p.pixels,
                })).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{} duplicate groups ({in_groups} items) among {} items, threshold {:.2} ({seconds:.1} s)",
        groups.len(),
        catalog.len(),
        a.threshold
    );
    for (n, g) in groups.iter().enumerate() {
        let kind = if g.exact {
            "byte-identical"
        } else {
            "near-duplicate"
        };
        println!("\nGroup {} ({} items, {kind})", n + 1, g.items.len());
        for (k, &i) in g.items.iter().enumerate() {
            let it = &catalog.items()[i];
            let mark = if k == 0 { "keep" } else { "    " };
            let score = match g.to_keeper(i) {
                Some(p) => format!("cos {:.3} to keeper", p.cosine),
                None => " ".repeat(18),
            };
            println!(
                "  {mark} {:>5}x{:<5} {:>9} B  {score}  {}{}",
                it.width,
                it.height,
                it.size,
                super::shown(&catalog.abs_path(i)),
                describe(&catalog, i)
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn item_json(catalog: &Catalog, i: usize) -> serde_json::Value {
    let it = &catalog.items()[i];
    serde_json::json!({
        "path": catalog.abs_path(i).to_string_lossy(), "width": it.width, "height": it.height,
        "bytes": it.size, "label": catalog.label(i),
        "name": it.labels.get("productDisplayName"), "colour": lookalike::dups::colour_label(catalog, i),
    })
}

/// "  (Red & White Striped Shirt · Red)" from the item's labels, or nothing.
fn describe(catalog: &Catalog, i: usize) -> String {
    lookalike::dups::product_title(catalog, i)
        .map(|t| format!("  ({t})"))
        .unwrap_or_default()
}

/// The catalog item whose file is `path` (as given, or relative to the catalog folder).
fn item_at(catalog: &Catalog, path: &std::path::Path) -> Result<usize> {
    catalog
        .find_path(path)
        .or_else(|| catalog.find_path(&catalog.root().join(path)))
        .or_else(|| catalog.items().iter().position(|it| it.path == path))
        .with_context(|| {
            format!(
                "{} is not an item of the catalog of {}: give a path to a photo in it",
                path.display(),
                catalog.root().display()
            )
        })
}

fn paths_by_hash(catalog: &Catalog) -> std::collections::HashMap<&[u8], Vec<PathBuf>> {
    let mut m: std::collections::HashMap<&[u8], Vec<PathBuf>> = Default::default();
    for (i, it) in catalog.items().iter().enumerate() {
        m.entry(it.hash.as_slice())
            .or_default()
            .push(catalog.abs_path(i));
    }
    m
}

fn names(by_hash: &std::collections::HashMap<&[u8], Vec<PathBuf>>, hash: &[u8]) -> String {
    match by_hash.get(hash) {
        Some(paths) => paths
            .iter()
            .map(|p| super::shown(p))
            .collect::<Vec<_>>()
            .join(" = "),
        None => "(a photo no longer in the catalog)".into(),
    }
}

fn ignored_json(
    decided: &[lookalike::catalog::NotDuplicates],
    by_hash: &std::collections::HashMap<&[u8], Vec<PathBuf>>,
) -> serde_json::Value {
    let paths = |h: &[u8]| -> Vec<String> {
        by_hash
            .get(h)
            .map(|ps| {
                ps.iter()
                    .map(|p| p.to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default()
    };
    decided
        .iter()
        .map(|d| serde_json::json!({"a": paths(&d.a), "b": paths(&d.b), "decided": d.decided}))
        .collect()
}

/// `dups resolve`: the keep rule applied to every group, checked like the window's trash (never
/// the last real copy), printed, and unless a dry run moved to the trash.
fn resolve_groups(
    catalog: &Catalog,
    groups: &[Group],
    keep: &Keep,
    dry_run: bool,
    quiet: bool,
) -> Result<ExitCode> {
    let plan = resolve(catalog, groups, keep);
    let marked: Vec<usize> = plan.iter().flat_map(|r| r.remove.iter().copied()).collect();
    let files =
        trash_plan(catalog, groups, &marked).map_err(|e| anyhow::anyhow!("nothing moved: {e}"))?;
    let verb = if dry_run { "would move" } else { "moving" };
    if !quiet {
        println!(
            "{} groups: {verb} {} files to the trash, keeping one copy of each",
            plan.len(),
            files.len()
        );
    }
    for r in &plan {
        println!(
            "Group {}: keep {}{}",
            r.group + 1,
            super::shown(&catalog.abs_path(r.keep)),
            describe(catalog, r.keep)
        );
        for &i in &r.remove {
            println!(
                "  {verb} {}{}",
                super::shown(&catalog.abs_path(i)),
                describe(catalog, i)
            );
        }
    }
    if dry_run || files.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    move_files(&files, quiet)
}

#[cfg(feature = "trash")]
fn move_files(files: &[PathBuf], quiet: bool) -> Result<ExitCode> {
    lookalike::dups::trash::move_to_trash(files, &lookalike::dups::trash::log_path())?;
    if !quiet {
        println!(
            "{} files moved to the trash; `lookalike dups undo` puts them back; `lookalike index` updates the catalog",
            files.len()
        );
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(not(feature = "trash"))]
fn move_files(_files: &[PathBuf], _quiet: bool) -> Result<ExitCode> {
    anyhow::bail!(
        "this build has no trash support (built without the `trash` feature): use --dry-run and move the files yourself"
    )
}

fn write_csv(catalog: &Catalog, groups: &[Group], path: &std::path::Path) -> Result<()> {
    let mut w =
        csv::Writer::from_path(path).with_context(|| format!("writing {}", path.display()))?;
    w.write_record(["group", "keep", "path", "width", "height", "bytes", "exact"])?;
    for (n, g) in groups.iter().enumerate() {
        for (k, &i) in g.items.iter().enumerate() {
            let it = &catalog.items()[i];
            w.write_record([
                (n + 1).to_string(),
                (k == 0).to_string(),
                catalog.abs_path(i).display().to_string(),
                it.width.to_string(),
                it.height.to_string(),
                it.size.to_string(),
                g.exact.to_string(),
            ])?;
        }
    }
    w.flush()
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}
