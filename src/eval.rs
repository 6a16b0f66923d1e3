//! Retrieval quality on a labelled catalog: leave-one-out precision@k and mAP@k per label column.
//!
//! Every item with a label is a query; all other items are ranked by cosine similarity; a result is
//! relevant when it has the same label. Byte-identical copies of the query are left out of its
//! ranking (finding them is trivial and would flatter the figures).

use rayon::prelude::*;
use serde::Serialize;

use crate::catalog::Catalog;
use crate::error::{Error, Result};
use crate::search::colour::{Palette, RERANKED, rerank};
use crate::search::{Hit, top_k};

/// The figures of one label column.
#[derive(Debug, Clone, Serialize)]
pub struct LabelScore {
    pub column: String,
    /// Items used as queries (those whose label occurs at least twice).
    pub queries: usize,
    pub distinct_labels: usize,
    pub precision_at_k: f64,
    pub map_at_k: f64,
    /// Precision@k a random ranking would get on average.
    pub chance: f64,
}

/// Precision@k and average precision@k of one ranking, given which results are relevant and how
/// many relevant items exist. AP@k divides by min(k, relevant), so a perfect ranking scores 1.
pub fn precision_and_ap(relevant: &[bool], k: usize, total_relevant: usize) -> (f64, f64) {
    let mut hits = 0usize;
    let mut ap = 0.0;
    for (i, &r) in relevant.iter().take(k).enumerate() {
        if r {
            hits += 1;
            ap += hits as f64 / (i + 1) as f64;
        }
    }
    let denom = total_relevant.min(k).max(1);
    (hits as f64 / k as f64, ap / denom as f64)
}

/// Leave-one-out evaluation of `columns` with the catalog's embeddings, or with `vectors`
/// (`n x dims`, e.g. whitened) when given; ranked as `query` ranks, with colour weighing `colour`
/// (0: shape alone; see [`crate::search::colour`]).
pub fn evaluate(
    catalog: &Catalog,
    columns: &[String],
    k: usize,
    vectors: Option<(&[f32], usize)>,
    colour: f32,
) -> Result<Vec<LabelScore>> {
    let palettes = (colour > 0.0).then(|| catalog.palettes()).flatten();
    let all = catalog.vectors().to_f32();
    let (matrix, dims) = vectors.unwrap_or((&all, catalog.dims()));
    let mut out = Vec::new();
    for column in columns {
        let labels = catalog.labels_of(column);
        let mut counts = std::collections::HashMap::<&str, usize>::new();
        for l in labels.iter().flatten() {
            *counts.entry(l).or_default() += 1;
        }
        if counts.is_empty() {
            return Err(Error::NoLabels {
                column: column.clone(),
            });
        }
        let queries: Vec<usize> = (0..catalog.len())
            .filter(|&i| labels[i].is_some_and(|l| counts[l] > 1))
            .collect();
        let hashes: Vec<&[u8]> = catalog
            .items()
            .iter()
            .map(|it| it.hash.as_slice())
            .collect();
        let s = retrieval_scores(
            &labels,
            &hashes,
            matrix,
            dims,
            &queries,
            k,
            palettes.map(|p| (p, colour)),
        );
        out.push(LabelScore {
            column: column.clone(),
            queries: queries.len(),
            distinct_labels: counts.len(),
            precision_at_k: s.precision,
            map_at_k: s.map,
            chance: s.chance,
        });
    }
    Ok(out)
}

/// Mean figures of a set of queries.
#[derive(Debug, Clone, Copy, Default)]
pub struct RetrievalScores {
    pub precision: f64,
    pub map: f64,
    pub chance: f64,
}

/// Rank every item of `matrix` (`n x dims`, unit rows) for each of `queries`, leaving out the query
/// and its byte-identical copies (`hashes`), and average precision@k and AP@k against `labels`.
/// With `colour` (every item's palette and the weight), the ranking is colour-aware as in `query`.
pub fn retrieval_scores(
    labels: &[Option<&str>],
    hashes: &[&[u8]],
    matrix: &[f32],
    dims: usize,
    queries: &[usize],
    k: usize,
    colour: Option<(&[Option<Palette>], f32)>,
) -> RetrievalScores {
    let mut counts = std::collections::HashMap::<&str, usize>::new();
    for l in labels.iter().flatten() {
        *counts.entry(l).or_default() += 1;
    }
    let labelled = labels.iter().filter(|l| l.is_some()).count();
    let scores: Vec<(f64, f64, f64)> = queries
        .par_iter()
        .filter_map(|&q| {
            let label = labels[q]?;
            let dup = |i: usize| i == q || hashes[i] == hashes[q];
            let same_label_dups = (0..labels.len())
                .filter(|&i| i != q && dup(i) && labels[i] == Some(label))
                .count();
            let total_relevant = counts[label].saturating_sub(1 + same_label_dups);
            let query = &matrix[q * dims..(q + 1) * dims];
            let hits: Vec<Hit> = match colour {
                Some((palettes, weight)) if palettes[q].is_some() => {
                    let mut hits = top_k(matrix, dims, query, k.max(RERANKED), |i| !dup(i));
                    let own = palettes[q].as_ref().map(Palette::histogram)?;
                    rerank(&mut hits, &own, palettes, weight, k);
                    hits
                }
                _ => top_k(matrix, dims, query, k, |i| !dup(i)),
            };
            let relevant: Vec<bool> = hits
                .iter()
                .map(|h| labels[h.index] == Some(label))
                .collect();
            let (p, ap) = precision_and_ap(&relevant, k, total_relevant);
            Some((
                p,
                ap,
                total_relevant as f64 / labelled.saturating_sub(1).max(1) as f64,
            ))
        })
        .collect();
    let n = scores.len().max(1) as f64;
    RetrievalScores {
        precision: scores.iter().map(|s| s.0).sum::<f64>() / n,
        map: scores.iter().map(|s| s.1).sum::<f64>() / n,
        chance: scores.iter().map(|s| s.2).sum::<f64>() / n,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_of_hand_made_rankings() {
        // relevant at ranks 1 and 3 of 4, two relevant in all: P@4 = 0.5, AP = (1/1 + 2/3) / 2
        let (p, ap) = precision_and_ap(&[true, false, true, false], 4, 2);
        assert!((p - 0.5).abs() < 1e-12);
        assert!((ap - (1.0 + 2.0 / 3.0) / 2.0).abs() < 1e-12);
        // a perfect ranking
        assert_eq!(precision_and_ap(&[true, true, true], 3, 5), (1.0, 1.0));
        // nothing relevant found
        assert_eq!(precision_and_ap(&[false, false], 2, 3), (0.0, 0.0));
        // the relevant item last of 10, with one relevant in all: AP = 1/10
        let mut r = vec![false; 10];
        r[9] = true;
        assert!((precision_and_ap(&r, 10, 1).1 - 0.1).abs() < 1e-12);
    }
}
