//! Learning from a catalog's own labels (the seed report's "transfer learning"): a small head
//! trained on the frozen embeddings, in Rust.
//!
//! The head is a linear projection to a smaller "style" space followed by one softmax classifier
//! per label column. It predicts a query's labels with a confidence, and its projection is a
//! second search space where items of the same labels sit closer ("style-aware" search).

pub mod calibration;
mod head;
mod kfold;
mod style;
mod train;

pub use head::{Alternative, Head, HeadColumn, Prediction, SHOWN_LABELS};
pub use kfold::{ColumnFigures, CrossValidation, cross_validate, embedding_key};
pub use style::StyleSpace;
pub use train::{Epoch, Targets, TrainOptions, fit, targets_for};

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::catalog::{Catalog, StoredHead};
use crate::error::{Error, Result};

/// Label columns worth learning in `catalog`: at least two labels that each occur twice or more,
/// and on average two items or more per label (not names or ids).
pub fn learnable_columns(catalog: &Catalog) -> Vec<String> {
    let mut columns: Vec<String> = catalog
        .items()
        .iter()
        .flat_map(|it| it.labels.iter().map(|(k, _)| k.to_string()))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    columns.retain(|c| {
        let t = targets_for(catalog, c);
        let repeated = t.counts().iter().filter(|&&n| n >= 2).count();
        let labelled = t.labels.iter().flatten().count();
        repeated >= 2 && t.classes.len() * 2 <= labelled.max(1)
    });
    // The shown label first: the category filter follows the first column.
    if let Some(pos) = columns.iter().position(|c| *c == catalog.label_field()) {
        let c = columns.remove(pos);
        columns.insert(0, c);
    }
    columns
}

/// Folds the window cross-validates a head on: its accuracy in words and its calibration.
pub const WINDOW_FOLDS: usize = 3;

/// How often a head predicts each column right, in words: "Predicts the article type right 87%
/// of the time, the colour 64% and the gender 93% (on items it did not learn from)." None when it
/// was not cross-validated.
pub fn accuracy_in_words(head: &Head) -> Option<String> {
    let known: Vec<(String, f32)> = head
        .columns
        .iter()
        .filter_map(|c| {
            let name = crate::query::filter::human_column(&c.name).to_lowercase();
            c.accuracy.map(|a| (name, a * 100.0))
        })
        .collect();
    let ((name, first), rest) = known.split_first()?;
    let mut words = format!("Predicts the {name} right {first:.0}% of the time");
    for (i, (name, a)) in rest.iter().enumerate() {
        words.push_str(if i + 1 == rest.len() { " and " } else { ", " });
        words.push_str(&format!("the {name} {a:.0}%"));
    }
    words.push_str(" (on items it did not learn from).");
    Some(words)
}

/// What a training run did, stored with the head.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainReport {
    pub columns: Vec<String>,
    pub items: usize,
    pub epochs: usize,
    pub proj_dims: usize,
    pub final_loss: f32,
    pub seconds: f64,
    /// Cross-validated figures, when asked for.
    #[serde(skip_deserializing)]
    pub cross_validation: Option<CrossValidation>,
}

/// Progress of [`train_head`].
#[derive(Debug, Clone, Copy)]
pub enum TrainProgress {
    /// Cross-validation: fold (from 0) of folds, and the epoch reached.
    Fold(usize, usize, Epoch),
    /// The final head on all labelled items.
    Final(Epoch),
}

/// Train a head on all of `catalog`'s labelled items for `columns` (default:
/// [`learnable_columns`]), after `folds`-fold cross-validation when asked, and store it in the index.
pub fn train_head(
    catalog: &Catalog,
    columns: &[String],
    opts: &TrainOptions,
    folds: Option<usize>,
    cancel: &AtomicBool,
    mut progress: impl FnMut(TrainProgress),
) -> Result<(Head, TrainReport)> {
    // Fail at once, not after minutes of training, when another process is writing the index.
    let _writing = catalog.store().lock_for_writing()?;
    let columns = if columns.is_empty() {
        learnable_columns(catalog)
    } else {
        columns.to_vec()
    };
    let targets: Vec<Targets> = columns.iter().map(|c| targets_for(catalog, c)).collect();
    if targets.is_empty() {
        return Err(Error::NothingToLearn {
            root: catalog.root().to_path_buf(),
        });
    }
    if let Some(t) = targets
        .iter()
        .find(|t| t.labels.iter().flatten().next().is_none())
    {
        return Err(Error::NoLabels {
            column: t.name.clone(),
        });
    }
    let started = Instant::now();
    let folds = folds.unwrap_or(0);
    let cross_validation = (folds >= 2).then(|| {
        cross_validate(catalog, &targets, opts, folds, 10, |f, e| {
            progress(TrainProgress::Fold(f, folds, e));
            !cancel.load(Ordering::Relaxed)
        })
    });
    if cancel.load(Ordering::Relaxed) {
        return Err(Error::Cancelled);
    }
    let train: Vec<usize> = (0..catalog.len())
        .filter(|&i| targets.iter().any(|t| t.labels[i].is_some()))
        .collect();
    let mut final_loss = f32::NAN;
    let mut head = fit(
        &catalog.vectors().to_f32(),
        catalog.dims(),
        &embedding_key(catalog),
        &targets,
        &train,
        opts,
        |e| {
            final_loss = e.loss;
            progress(TrainProgress::Final(e));
            !cancel.load(Ordering::Relaxed)
        },
    );
    if cancel.load(Ordering::Relaxed) {
        return Err(Error::Cancelled);
    }
    if let Some(cv) = &cross_validation {
        for (column, figures) in head.columns.iter_mut().zip(&cv.columns) {
            column.temperature = figures.temperature;
            column.accuracy = Some(figures.head_accuracy as f32);
        }
    }
    let report = TrainReport {
        columns,
        items: train.len(),
        epochs: opts.epochs,
        proj_dims: opts.proj_dims,
        final_loss,
        seconds: started.elapsed().as_secs_f64(),
        cross_validation,
    };
    let (layout, weights) = head.to_bytes();
    catalog.store().save_head(&StoredHead {
        layout,
        weights,
        report: serde_json::to_string(&report).unwrap_or_default(),
    })?;
    Ok((head, report))
}
