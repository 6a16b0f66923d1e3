//! `lookalike copy-index FROM TO`: a local index into a shared PostgreSQL catalog, and back.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

use lookalike::catalog::{copy_catalog, store_for};

#[derive(Args)]
pub struct CopyArgs {
    /// The catalog to copy: an index file or postgres://USER@HOST/DB.
    pub from: PathBuf,
    /// Where to copy it: an index file or postgres://USER@HOST/DB (must be empty unless --replace).
    pub to: PathBuf,
    /// Overwrite what the target holds.
    #[arg(long)]
    pub replace: bool,
}

pub fn run(a: CopyArgs, quiet: bool) -> Result<ExitCode> {
    let from = store_for(&a.from);
    let to = store_for(&a.to);
    let bar = if quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(0).with_style(
            ProgressStyle::with_template("{bar:40} {pos}/{len} items  {per_sec}  ETA {eta}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        )
    };
    let report = copy_catalog(&*from, &*to, a.replace, |done, total| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    })
    .with_context(|| {
        format!(
            "copying {} to {}",
            from.location().display(),
            to.location().display()
        )
    })?;
    bar.finish_and_clear();
    if !quiet {
        println!(
            "copied {} items{}{}{} from {} to {}",
            report.items,
            if report.map { ", the map" } else { "" },
            if report.head {
                ", the learned head"
            } else {
                ""
            },
            if report.failures > 0 {
                format!(", {} failures", report.failures)
            } else {
                String::new()
            },
            from.location().display(),
            to.location().display()
        );
        if report.damaged > 0 {
            println!(
                "left out {} items with a damaged embedding: `lookalike index FOLDER --index {}` embeds them again",
                report.damaged,
                to.location().display()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
