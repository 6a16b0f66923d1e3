//! Exact nearest neighbours by Euclidean distance, for the layout's graph: blocks of queries
//! multiplied against all base rows at once (matrixmultiply through ndarray), the k smallest of
//! each row kept.

use ndarray::{ArrayView2, s};
use rayon::prelude::*;

/// Queries a block: a block's distance matrix is `QUERY_BLOCK x base` floats.
const QUERY_BLOCK: usize = 256;

/// For each query, its nearest base rows: (base row, distance), nearest first.
#[derive(Debug, Clone, Default)]
pub struct Neighbours {
    pub rows: Vec<Vec<(u32, f32)>>,
}

/// The `k` nearest rows of `base` to each row of `queries` (both `n x dims`, row-major). With
/// `same` the queries are the base itself, and a row is not its own neighbour.
pub fn nearest(queries: &[f32], base: &[f32], dims: usize, k: usize, same: bool) -> Neighbours {
    let (m, n) = (queries.len() / dims.max(1), base.len() / dims.max(1));
    if m == 0 || n == 0 || k == 0 {
        return Neighbours {
            rows: vec![Vec::new(); m],
        };
    }
    let base_view = ArrayView2::from_shape((n, dims), base).expect("n x dims");
    let base_norms: Vec<f32> = base
        .chunks_exact(dims)
        .map(|r| r.iter().map(|x| x * x).sum())
        .collect();
    let rows = queries
        .par_chunks(QUERY_BLOCK * dims)
        .enumerate()
        .flat_map_iter(|(b, block)| {
            let rows = block.len() / dims;
            let q = ArrayView2::from_shape((rows, dims), block).expect("rows x dims");
            let dots = q.dot(&base_view.t());
            (0..rows)
                .map(|r| {
                    let qi = b * QUERY_BLOCK + r;
                    let qn: f32 = block[r * dims..(r + 1) * dims].iter().map(|x| x * x).sum();
                    let row = dots.slice(s![r, ..]);
                    let mut best: Vec<(u32, f32)> = Vec::with_capacity(k + 1);
                    for (j, dot) in row.iter().enumerate() {
                        if same && j == qi {
                            continue;
                        }
                        let d2 = (qn + base_norms[j] - 2.0 * dot).max(0.0);
                        if best.len() == k && d2 >= best[k - 1].1 {
                            continue;
                        }
                        let at = best.partition_point(|e| e.1 <= d2);
                        best.insert(at, (j as u32, d2));
                        best.truncate(k);
                    }
                    best.iter_mut().for_each(|e| e.1 = e.1.sqrt());
                    best
                })
                .collect::<Vec<_>>()
        })
        .collect();
    Neighbours { rows }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_same_neighbours_as_a_plain_scan() {
        let mut rng = fastrand::Rng::with_seed(7);
        let dims = 9;
        let data: Vec<f32> = (0..600 * dims).map(|_| rng.f32() - 0.5).collect();
        let found = nearest(&data, &data, dims, 5, true);
        for (i, row) in found.rows.iter().enumerate().step_by(37) {
            let mut all: Vec<(usize, f32)> = (0..600)
                .filter(|&j| j != i)
                .map(|j| {
                    let d: f32 = (0..dims)
                        .map(|t| (data[i * dims + t] - data[j * dims + t]).powi(2))
                        .sum();
                    (j, d.sqrt())
                })
                .collect();
            all.sort_by(|a, b| a.1.total_cmp(&b.1));
            let want: Vec<usize> = all[..5].iter().map(|e| e.0).collect();
            let got: Vec<usize> = row.iter().map(|e| e.0 as usize).collect();
            assert_eq!(got, want, "row {i}");
            assert!((row[0].1 - all[0].1).abs() < 1e-4);
        }
    }
}
