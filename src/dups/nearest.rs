//! Each item's nearest neighbours among a catalog's embeddings, for the duplicate finder's
//! candidate pairs: the embeddings projected onto their leading principal components (fitted on a
//! sample), then all pairs scored by blocked matrix products, in parallel.

use ndarray::{Array2, ArrayView2, Axis, s};
use rayon::prelude::*;

use super::candidates::CandidateOptions;

/// Rows of the reduced matrix multiplied at once.
const BLOCK: usize = 1024;
/// Columns of the reduced matrix one product covers (its scores fit in a few megabytes).
const COLUMNS: usize = 2048;
/// Items the principal components are fitted on.
const PCA_SAMPLE: usize = 8192;

/// Pairs (a < b) of each item with its nearest neighbours in the reduced space.
///
/// Scores are symmetric, so only the tiles on and above the diagonal are multiplied, each score
/// offered to its row's item and its column's; each worker keeps every item's nearest so far, and
/// the workers' lists are merged at the end. Ties go to the lower item, so the result does not
/// depend on the order the workers ran in.
pub(super) fn neighbour_pairs(
    embeddings: &[f32],
    dims: usize,
    n: usize,
    opts: &CandidateOptions,
) -> Vec<(usize, usize)> {
    if n < 2 || opts.neighbours == 0 {
        return Vec::new();
    }
    let x = ArrayView2::from_shape((n, dims), embeddings).expect("n x dims");
    let reduced = if opts.reduced_dims > 0 && opts.reduced_dims < dims {
        reduce(x, opts.reduced_dims)
    } else {
        x.to_owned()
    };
    let reduced = &reduced;
    let nearest = (0..n.div_ceil(BLOCK))
        .into_par_iter()
        .fold(
            || Nearest::new(n, opts.neighbours),
            |mut near, blk| {
                let start = blk * BLOCK;
                let rows = reduced.slice(s![start..(start + BLOCK).min(n), ..]);
                for from in (start..n).step_by(COLUMNS) {
                    let to = (from + COLUMNS).min(n);
                    let scores = rows.dot(&reduced.slice(s![from..to, ..]).t());
                    for (r, row) in scores.axis_iter(Axis(0)).enumerate() {
                        let i = start + r;
                        // Only pairs above the diagonal: i < j.
                        let first = (i + 1).saturating_sub(from).min(row.len());
                        for (c, &score) in row.iter().enumerate().skip(first) {
                            if score >= opts.floor {
                                near.offer(i, score, from + c);
                                near.offer(from + c, score, i);
                            }
                        }
                    }
                }
                near
            },
        )
        .reduce_with(Nearest::merge)
        .expect("at least one block");
    (0..n)
        .flat_map(|i| nearest.of(i).map(move |j| (i.min(j), i.max(j))))
        .collect()
}

/// Every item's nearest neighbours found so far: at most `m` (score, item) per item, best first,
/// ties to the lower item.
struct Nearest {
    m: usize,
    found: Vec<(f32, u32)>,
    len: Vec<u32>,
}

impl Nearest {
    fn new(n: usize, m: usize) -> Self {
        Nearest {
            m,
            found: vec![(0.0, 0); n * m],
            len: vec![0; n],
        }
    }

    /// Offer item `j` at `score` as a neighbour of item `i`.
    fn offer(&mut self, i: usize, score: f32, j: usize) {
        let m = self.m;
        let len = self.len[i] as usize;
        let list = &mut self.found[i * m..(i + 1) * m];
        let better = |(s, k): (f32, u32)| score > s || (score == s && (j as u32) < k);
        if len == m && !better(list[m - 1]) {
            return;
        }
        let at = list[..len].partition_point(|&e| !better(e));
        let end = len.min(m - 1);
        list.copy_within(at..end, at + 1);
        list[at] = (score, j as u32);
        self.len[i] = (len + 1).min(m) as u32;
    }

    fn merge(mut self, other: Nearest) -> Nearest {
        for i in 0..other.len.len() {
            for &(score, j) in other.list(i) {
                self.offer(i, score, j as usize);
            }
        }
        self
    }

    fn list(&self, i: usize) -> &[(f32, u32)] {
        &self.found[i * self.m..i * self.m + self.len[i] as usize]
    }

    /// Item `i`'s neighbours.
    fn of(&self, i: usize) -> impl Iterator<Item = usize> + '_ {
        self.list(i).iter().map(|&(_, j)| j as usize)
    }
}

/// Project rows onto the leading `k` principal components (fitted on an even sample of rows) and
/// make them unit length again, so reduced dot products approximate cosines.
fn reduce(x: ArrayView2<f32>, k: usize) -> Array2<f32> {
    let n = x.nrows();
    let step = n.div_ceil(PCA_SAMPLE).max(1);
    let sample: Vec<usize> = (0..n).step_by(step).collect();
    let xs = x.select(Axis(0), &sample);
    let mean = xs.mean_axis(Axis(0)).expect("a sample");
    let centred = &xs - &mean.view().insert_axis(Axis(0));
    let cov = centred.t().dot(&centred);
    // Subspace iteration on the covariance: a few rounds reach the leading components well enough
    // for a pre-filter (the pairs are re-checked with full embeddings).
    let d = cov.nrows();
    let mut rng = fastrand::Rng::with_seed(11);
    let mut basis = Array2::from_shape_simple_fn((d, k), || rng.f32() - 0.5);
    for _ in 0..8 {
        basis = cov.dot(&basis);
        orthonormalise_columns(&mut basis);
    }
    let mut out = (&x - &mean.view().insert_axis(Axis(0))).dot(&basis);
    for mut r in out.axis_iter_mut(Axis(0)) {
        let norm = r.dot(&r).sqrt();
        if norm > 0.0 {
            r /= norm;
        }
    }
    out
}

fn orthonormalise_columns(m: &mut Array2<f32>) {
    for j in 0..m.ncols() {
        for _ in 0..2 {
            for i in 0..j {
                let (done, mut rest) = m.view_mut().split_at(Axis(1), j);
                let proj = done.column(i).dot(&rest.column(0));
                rest.column_mut(0).scaled_add(-proj, &done.column(i));
            }
        }
        let mut c = m.column_mut(j);
        let norm = c.dot(&c).sqrt().max(1e-12);
        c /= norm;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search::dot;
    use std::collections::HashSet;

    /// Unit rows in `dims` dimensions around a few centres, so items have close neighbours.
    fn clustered_rows(n: usize, dims: usize, seed: u64) -> Vec<f32> {
        let mut rng = fastrand::Rng::with_seed(seed);
        let centres: Vec<Vec<f32>> = (0..20)
            .map(|_| (0..dims).map(|_| rng.f32() - 0.5).collect())
            .collect();
        (0..n)
            .flat_map(|_| {
                let c = &centres[rng.usize(..centres.len())];
                let mut v: Vec<f32> = c.iter().map(|x| x + 0.2 * (rng.f32() - 0.5)).collect();
                let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
                v.iter_mut().for_each(|x| *x /= norm);
                v
            })
            .collect()
    }

    #[test]
    fn neighbours_from_half_the_products_are_every_items_nearest() {
        // More rows than a block and more columns than a tile, so blocks meet off the diagonal.
        let (n, dims, m) = (2 * BLOCK + 300, 16, 5);
        let rows = clustered_rows(n, dims, 7);
        let opts = CandidateOptions {
            neighbours: m,
            floor: 0.5,
            reduced_dims: 0,
            ..CandidateOptions::default()
        };
        let found: HashSet<(usize, usize)> =
            neighbour_pairs(&rows, dims, n, &opts).into_iter().collect();
        let row = |i: usize| &rows[i * dims..(i + 1) * dims];
        let mut expected = HashSet::new();
        for i in 0..n {
            let mut scores: Vec<(f32, usize)> = (0..n)
                .filter(|&j| j != i)
                .map(|j| (dot(row(i), row(j)), j))
                .filter(|&(s, _)| s >= opts.floor)
                .collect();
            scores.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            expected.extend(scores.iter().take(m).map(|&(_, j)| (i.min(j), i.max(j))));
        }
        // Scores from differently blocked products may differ in the last bit: allow a sliver.
        let missed = expected.difference(&found).count();
        assert!(
            missed * 1000 <= expected.len(),
            "{missed} of {} missed",
            expected.len()
        );
        assert!(found.len() <= expected.len() + expected.len() / 1000);
    }
}
