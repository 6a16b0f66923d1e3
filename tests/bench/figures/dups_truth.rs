//! The duplicate benchmark's truth: the known pairs, and a grouping scored against them by pair
//! precision, recall and F1.

use lookalike::catalog::Catalog;
use lookalike::dups::{Candidate, group_by};

/// Pair figures of one grouping.
#[derive(Debug, Clone, Copy, Default)]
pub struct Score {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub predicted: usize,
}

/// The known duplicate pairs, and the predicted ones turned into figures.
pub struct Truth {
    /// Items in the same known group share a number.
    pub component: Vec<usize>,
    pub pairs: usize,
}

impl Truth {
    pub fn score(&self, groups: &[Vec<usize>]) -> Score {
        let mut predicted = 0usize;
        let mut right = 0usize;
        for g in groups {
            for (x, &a) in g.iter().enumerate() {
                for &b in &g[x + 1..] {
                    predicted += 1;
                    right += (self.component[a] == self.component[b]) as usize;
                }
            }
        }
        let precision = if predicted > 0 {
            right as f64 / predicted as f64
        } else {
            1.0
        };
        let recall = right as f64 / self.pairs.max(1) as f64;
        let f1 = if precision + recall > 0.0 {
            2.0 * precision * recall / (precision + recall)
        } else {
            0.0
        };
        Score {
            precision,
            recall,
            f1,
            predicted,
        }
    }
}

/// The groups `accept` makes of `pairs`, as item lists.
pub fn groups_of(
    catalog: &Catalog,
    pairs: &[Candidate],
    accept: impl Fn(&Candidate) -> bool,
) -> Vec<Vec<usize>> {
    group_by(catalog, pairs, accept)
        .into_iter()
        .map(|g| g.items)
        .collect()
}
