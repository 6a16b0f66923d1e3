//! `lookalike train-head`: learn a small head from the catalog's labels, with k-fold figures.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;

use anyhow::{Context, Result};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

use lookalike::learn::{TrainOptions, TrainProgress, train_head};

#[derive(Args)]
pub struct TrainArgs {
    /// The index: a file, or a shared catalog's postgres://USER@HOST/DB (default: the last
    /// catalog indexed).
    #[arg(long, env = "LOOKALIKE_INDEX")]
    pub index: Option<PathBuf>,
    /// Label columns to learn (repeatable; default: every column with repeated labels, the shown one first).
    #[arg(long = "label")]
    pub labels: Vec<String>,
    /// Cross-validation folds for the figures and the calibration of the confidence (0: skip,
    /// train only, confidence not calibrated).
    #[arg(long, default_value_t = 5, value_parser = super::ranges::folds)]
    pub folds: usize,
    /// Passes over the catalog.
    #[arg(long, default_value_t = TrainOptions::default().epochs, value_parser = super::ranges::count(1, 1000))]
    pub epochs: usize,
    /// Dimensions of the learned style space.
    #[arg(long, default_value_t = TrainOptions::default().proj_dims, value_parser = super::ranges::count(2, 1024))]
    pub dims: usize,
    /// Label smoothing: the share of each target spread over all labels of its column (0: none).
    #[arg(long, default_value_t = TrainOptions::default().label_smoothing, value_parser = super::ranges::weight)]
    pub label_smoothing: f32,
    #[arg(long)]
    pub json: bool,
}

pub fn run(a: TrainArgs, quiet: bool) -> Result<ExitCode> {
    let index = super::resolve_index(a.index)?;
    let catalog = super::open_catalog(&index)?;
    let opts = TrainOptions {
        epochs: a.epochs,
        proj_dims: a.dims,
        label_smoothing: a.label_smoothing,
        ..Default::default()
    };
    let steps = (opts.epochs * (a.folds + 1)) as u64;
    let bar = if quiet || a.json {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(steps)
    };
    bar.set_style(
        ProgressStyle::with_template("{msg:<28} [{bar:30}] {pos}/{len} epochs, {elapsed}")
            .expect("a valid template")
            .progress_chars("=> "),
    );
    let cancel = AtomicBool::new(false);
    let (head, report) = train_head(&catalog, &a.labels, &opts, Some(a.folds), &cancel, |p| {
        match p {
            TrainProgress::Fold(f, n, e) => {
                bar.set_message(format!("fold {}/{n}: loss {:.3}", f + 1, e.loss))
            }
            TrainProgress::Final(e) => bar.set_message(format!("all items: loss {:.3}", e.loss)),
        }
        bar.inc(1);
    })
    .with_context(|| format!("training a head on {}", index.display()))?;
    bar.finish_and_clear();

    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "Trained a head on {} items ({} -> {} dims, {} epochs, {:.1} s); stored in {}",
        report.items,
        catalog.dims(),
        head.proj_dims(),
        report.epochs,
        report.seconds,
        index.display()
    );
    for c in &head.columns {
        println!("  {:<16} {} labels", c.name, c.classes.len());
    }
    if let Some(words) = lookalike::learn::accuracy_in_words(&head) {
        println!("\n{words}");
    }
    if let Some(cv) = &report.cross_validation {
        println!(
            "\n{}-fold cross-validation (held-out items as queries against the whole catalog, k = {}):",
            cv.folds, cv.k
        );
        println!(
            "{:<16} {:>7}  {:>9} {:>9}  {:>8} {:>8}  {:>8} {:>8}  {:>7} {:>7} {:>6}",
            "label",
            "queries",
            "head acc",
            "kNN acc",
            "P@k",
            "P@k",
            "mAP@k",
            "mAP@k",
            "ECE",
            "ECE",
            "temp."
        );
        println!(
            "{:<16} {:>7}  {:>9} {:>9}  {:>8} {:>8}  {:>8} {:>8}  {:>7} {:>7} {:>6}",
            "", "", "", "(frozen)", "frozen", "style", "frozen", "style", "raw", "calib.", ""
        );
        for f in &cv.columns {
            println!(
                "{:<16} {:>7}  {:>9.3} {:>9.3}  {:>8.3} {:>8.3}  {:>8.3} {:>8.3}  {:>7.3} {:>7.3} {:>6.2}",
                f.column,
                f.queries,
                f.head_accuracy,
                f.knn_accuracy,
                f.frozen_precision,
                f.learned_precision,
                f.frozen_map,
                f.learned_map,
                f.ece_uncalibrated,
                f.ece_calibrated,
                f.temperature
            );
        }
        println!(
            "ECE: expected calibration error of the held-out predictions ({} bins; 0 is honest), before and after temperature scaling.",
            lookalike::learn::calibration::ECE_BINS
        );
    }
    println!(
        "\nNow `lookalike query PHOTO` shows predicted labels; add --style to rank in the learned space, --same-category to keep the predicted category."
    );
    Ok(ExitCode::SUCCESS)
}
