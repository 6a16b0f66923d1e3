//! `lookalike dups`: groups of near-duplicate items in an index, with a suggested keeper.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Args;

use lookalike::catalog::Catalog;
use lookalike::dups::{CandidateOptions, Group, Rule, catalog_candidates, group};

#[derive(Args)]
pub struct DupsArgs {
    /// The index: a file, or a shared catalog's postgres://USER@HOST/DB (default: the last
    /// catalog indexed).
    #[arg(long, env = "LOOKALIKE_INDEX")]
    pub index: Option<PathBuf>,
    /// Embedding cosine from which two items are duplicates on that signal alone (perceptual
    /// hashes add matches below it).
    #[arg(long, default_value_t = Rule::default().threshold, value_parser = super::ranges::similarity)]
    pub threshold: f32,
    /// Write the groups as CSV (one row per item) to this file.
    #[arg(long, conflicts_with = "json")]
    pub csv: Option<PathBuf>,
    #[arg(long)]
    pub json: bool,
}

pub fn run(a: DupsArgs, quiet: bool) -> Result<ExitCode> {
    let index = super::resolve_index(a.index)?;
    let catalog = super::open_catalog(&index)?;
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
    if a.json {
        let out = serde_json::json!({
            "index": index.to_string_lossy(), "items": catalog.len(), "rule": rule, "seconds": seconds,
            "groups": groups.iter().map(|g| serde_json::json!({
                "exact": g.exact,
                "keeper": catalog.abs_path(g.keeper()).to_string_lossy(),
                "items": g.items.iter().map(|&i| item_json(&catalog, i)).collect::<Vec<_>>(),
                "pairs": g.pairs.iter().map(|p| serde_json::json!({
                    "a": catalog.abs_path(p.a).to_string_lossy(), "b": catalog.abs_path(p.b).to_string_lossy(),
                    "cosine": p.cosine, "hash_distance": p.hash_distance, "exact": p.exact,
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
            let best = g
                .pairs
                .iter()
                .filter(|p| p.a == i || p.b == i)
                .map(|p| p.cosine)
                .fold(f32::NAN, f32::max);
            println!(
                "  {mark} {:>5}x{:<5} {:>9} B  cos {:.3}  {}",
                it.width,
                it.height,
                it.size,
                best,
                super::shown(&catalog.abs_path(i))
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
    })
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
