//! Items selected on the map (a lasso, or a caption's neighbourhood) shown in the grid in place of
//! the look-alikes: the closest to the query photo first (or, without one, the most typical of
//! the selection), with their labels counted; clearing it brings the look-alikes back.

use crate::catalog::Catalog;
use crate::search::Hit;
use crate::search::strength::Band;

/// Cards the grid shows of a selection, at most.
pub const SHOWN_AT_MOST: usize = 300;

/// A selection on the map, as the grid shows it.
pub struct Selection {
    /// What was selected, in words ("Shirts", "a lasso").
    pub title: String,
    /// Items selected (the grid shows the first [`SHOWN_AT_MOST`]).
    pub total: usize,
    /// The most common labels among them, with their counts.
    pub counts: Vec<(String, usize)>,
    /// Ordered by similarity to the query photo (else to the selection's mean).
    pub by_query: bool,
    /// The look-alikes it stands in for, to bring back.
    pub saved: (Vec<Hit>, Vec<Vec<usize>>, Vec<Option<Band>>),
}

/// The selected `items` as hits, best first: by cosine to `query`, or to the selection's mean.
pub fn ranked(catalog: &Catalog, items: &[usize], query: Option<&[f32]>) -> Vec<Hit> {
    let vectors = catalog.vectors();
    let centre: Vec<f32>;
    let towards = match query {
        Some(q) => q,
        None => {
            let mut sum = vec![0.0f32; vectors.dims()];
            for &i in items {
                sum.iter_mut()
                    .zip(vectors.row(i).iter())
                    .for_each(|(s, x)| *s += x);
            }
            crate::embed::l2_normalize(&mut sum);
            centre = sum;
            &centre
        }
    };
    let mut hits: Vec<Hit> = items
        .iter()
        .map(|&i| Hit {
            index: i,
            score: vectors.row(i).iter().zip(towards).map(|(a, b)| a * b).sum(),
        })
        .collect();
    hits.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.index.cmp(&b.index)));
    hits
}

/// The main labels of `items`, most common first (at most `top`, the rest as "other").
pub fn label_counts(catalog: &Catalog, items: &[usize], top: usize) -> Vec<(String, usize)> {
    let mut counts: std::collections::HashMap<&str, usize> = Default::default();
    for &i in items {
        *counts.entry(catalog.label(i)).or_default() += 1;
    }
    let mut ranked: Vec<(&str, usize)> = counts.into_iter().collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let other: usize = ranked.iter().skip(top).map(|r| r.1).sum();
    let mut out: Vec<(String, usize)> = ranked
        .into_iter()
        .take(top)
        .map(|(l, n)| (if l.is_empty() { "(no label)" } else { l }.to_string(), n))
        .collect();
    if other > 0 {
        out.push(("other".into(), other));
    }
    out
}
