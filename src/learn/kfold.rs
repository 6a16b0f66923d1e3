//! Honest figures for a head: k-fold cross-validation. Each fold's items are held out, a head is
//! trained on the rest, and the held-out items are used as queries, in the frozen embedding space
//! and in the learned style space, against the whole catalog (the way a new photo is searched).

use rayon::prelude::*;
use serde::Serialize;

use super::calibration::{HeldOut, calibrate};
use super::train::{Epoch, Targets, TrainOptions, fit};
use crate::catalog::Catalog;
use crate::eval::retrieval_scores;
use crate::search::top_k;

/// Neighbours that vote for the frozen baseline's predicted label.
const VOTERS: usize = 10;

/// Cross-validated figures of one label column.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ColumnFigures {
    pub column: String,
    /// Held-out items with a label in this column.
    pub queries: usize,
    /// Share of held-out items whose label the head predicts right.
    pub head_accuracy: f64,
    /// The same for a vote of the 10 nearest training items in the frozen space (the baseline).
    pub knn_accuracy: f64,
    pub frozen_precision: f64,
    pub frozen_map: f64,
    pub learned_precision: f64,
    pub learned_map: f64,
    /// The temperature the head's logits are divided by, fitted on every held-out item.
    pub temperature: f32,
    /// Expected calibration error of the held-out predictions, before and after calibration
    /// (each fold scored with a temperature fitted on the other folds).
    pub ece_uncalibrated: f64,
    pub ece_calibrated: f64,
}

/// The figures of all columns.
#[derive(Debug, Clone, Serialize)]
pub struct CrossValidation {
    pub folds: usize,
    pub k: usize,
    pub columns: Vec<ColumnFigures>,
}

/// The fold of an item: from its content hash, so byte-identical copies share a fold (a copy in
/// the training part would leak the answer).
fn fold_of(hash: &[u8], folds: usize) -> usize {
    let mut b = [0u8; 8];
    let n = hash.len().min(8);
    b[..n].copy_from_slice(&hash[..n]);
    (u64::from_le_bytes(b) % folds as u64) as usize
}

/// Run `folds`-fold cross-validation of a head for `targets`, with precision@`k` and mAP@`k`.
pub fn cross_validate(
    catalog: &Catalog,
    targets: &[Targets],
    opts: &TrainOptions,
    folds: usize,
    k: usize,
    mut on_epoch: impl FnMut(usize, Epoch) -> bool,
) -> CrossValidation {
    let folds = folds.max(2);
    let n = catalog.len();
    let fold: Vec<usize> = catalog
        .items()
        .iter()
        .map(|it| fold_of(&it.hash, folds))
        .collect();
    let hashes: Vec<&[u8]> = catalog
        .items()
        .iter()
        .map(|it| it.hash.as_slice())
        .collect();
    let key = embedding_key(catalog);
    let embeddings = catalog.vectors().to_f32();
    let mut sums = vec![ColumnFigures::default(); targets.len()];
    // Per column, per fold: the held-out items' logits, for calibration.
    let mut held_out: Vec<Vec<HeldOut>> = vec![Vec::with_capacity(folds); targets.len()];
    for f in 0..folds {
        let train: Vec<usize> = (0..n).filter(|&i| fold[i] != f).collect();
        let held: Vec<usize> = (0..n).filter(|&i| fold[i] == f).collect();
        let head = fit(
            &embeddings,
            catalog.dims(),
            &key,
            targets,
            &train,
            opts,
            |e| on_epoch(f, e),
        );
        let style = head.style_all(&embeddings);
        // Each held-out item's logits, once: for calibration and for the head's accuracy.
        let logits: std::collections::HashMap<usize, Vec<ndarray::Array1<f32>>> = held
            .par_iter()
            .map(|&i| (i, head.logits(&catalog.vector(i))))
            .collect();
        for (c, (t, column)) in targets.iter().zip(&mut held_out).enumerate() {
            let mut fold = HeldOut::default();
            for (i, z) in &logits {
                if let Some(y) = t.labels[*i] {
                    fold.push(z[c].to_vec(), y);
                }
            }
            column.push(fold);
        }
        for (c, t) in targets.iter().enumerate() {
            let labels: Vec<Option<&str>> = t
                .labels
                .iter()
                .map(|l| l.map(|l| t.classes[l].as_str()))
                .collect();
            let queries: Vec<usize> = held
                .iter()
                .copied()
                .filter(|&i| labels[i].is_some())
                .collect();
            let q = queries.len() as f64;
            let frozen = retrieval_scores(
                &labels,
                &hashes,
                &embeddings,
                catalog.dims(),
                &queries,
                k,
                None,
            );
            let learned = retrieval_scores(
                &labels,
                &hashes,
                &style,
                head.proj_dims(),
                &queries,
                k,
                None,
            );
            let (head_right, knn_right) = queries
                .par_iter()
                .map(|&i| {
                    let v = catalog.vector(i);
                    let truth = t.labels[i];
                    // The temperature changes no argmax: the raw logits' best is the prediction.
                    let predicted = logits[&i][c]
                        .iter()
                        .enumerate()
                        .max_by(|a, b| a.1.total_cmp(b.1))
                        .map(|(j, _)| j);
                    let hits = top_k(&embeddings, catalog.dims(), &v, VOTERS, |j| {
                        fold[j] != f && t.labels[j].is_some()
                    });
                    let mut votes = vec![0.0f32; t.classes.len()];
                    for h in &hits {
                        if let Some(l) = t.labels[h.index] {
                            votes[l] += h.score;
                        }
                    }
                    let voted = votes
                        .iter()
                        .enumerate()
                        .max_by(|a, b| a.1.total_cmp(b.1))
                        .map(|(j, _)| j);
                    ((predicted == truth) as usize, (voted == truth) as usize)
                })
                .reduce(|| (0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
            let s = &mut sums[c];
            s.column = t.name.clone();
            s.queries += queries.len();
            s.head_accuracy += head_right as f64;
            s.knn_accuracy += knn_right as f64;
            s.frozen_precision += frozen.precision * q;
            s.frozen_map += frozen.map * q;
            s.learned_precision += learned.precision * q;
            s.learned_map += learned.map * q;
        }
    }
    for (s, folds) in sums.iter_mut().zip(&held_out) {
        let c = calibrate(folds);
        s.temperature = c.temperature;
        s.ece_uncalibrated = c.ece_before;
        s.ece_calibrated = c.ece_after;
        let q = s.queries.max(1) as f64;
        s.head_accuracy /= q;
        s.knn_accuracy /= q;
        s.frozen_precision /= q;
        s.frozen_map /= q;
        s.learned_precision /= q;
        s.learned_map /= q;
    }
    CrossValidation {
        folds,
        k,
        columns: sums,
    }
}

/// What a head's embeddings must match: model, pooling, resize and dimensions of the catalog.
pub fn embedding_key(catalog: &Catalog) -> String {
    format!(
        "{}|{:?}|{:?}|{}",
        catalog.model(),
        catalog.pooling(),
        catalog.resize(),
        catalog.dims()
    )
}
