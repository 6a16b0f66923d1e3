//! Exact cosine search: the query against every catalog vector, in parallel, keeping the top k;
//! and the vector indexes a catalog keeps its embeddings in ([`VectorIndex`]).
//!
//! Vectors are unit length, so cosine similarity is a dot product.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use rayon::prelude::*;

pub mod colour;
pub mod compact;
mod dot;
mod index;
pub mod pca;
pub mod strength;

pub use index::{F32Rows, Keep, RemoteVectors, VectorIndex, VectorKind, Vectors};

/// Rows scored per parallel task: large enough to amortise scheduling, small enough to balance.
const ROWS_PER_TASK: usize = 4096;

/// One look-alike: a catalog row and its cosine similarity to the query.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hit {
    pub index: usize,
    pub score: f32,
}

/// Min-heap order on score, so the heap's top is the weakest of the kept hits.
struct Weakest(Hit);

impl PartialEq for Weakest {
    fn eq(&self, o: &Self) -> bool {
        self.cmp(o) == Ordering::Equal
    }
}
impl Eq for Weakest {}
impl PartialOrd for Weakest {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Weakest {
    fn cmp(&self, o: &Self) -> Ordering {
        o.0.score
            .total_cmp(&self.0.score)
            .then(self.0.index.cmp(&o.0.index))
    }
}

pub use dot::dot;

fn keep(heap: &mut BinaryHeap<Weakest>, hit: Hit, k: usize) {
    if heap.len() < k {
        heap.push(Weakest(hit));
    } else if let Some(top) = heap.peek()
        && hit.score > top.0.score
    {
        heap.pop();
        heap.push(Weakest(hit));
    }
}

/// The `k` rows of `matrix` (`n x dims`, row-major) most similar to `query`, best first,
/// among the rows `allow` accepts.
pub fn top_k(
    matrix: &[f32],
    dims: usize,
    query: &[f32],
    k: usize,
    allow: impl Fn(usize) -> bool + Sync,
) -> Vec<Hit> {
    assert_eq!(
        query.len(),
        dims,
        "query length must equal the catalog's dims"
    );
    if k == 0 || dims == 0 {
        return Vec::new();
    }
    top_k_scored(matrix.len() / dims, k, |i| {
        allow(i).then(|| dot(&matrix[i * dims..(i + 1) * dims], query))
    })
}

/// The `k` best of rows `0..n` by `score` (`None`: the row is left out), best first; rows are
/// scored in parallel tasks, each keeping its own top k.
pub fn top_k_scored(n: usize, k: usize, score: impl Fn(usize) -> Option<f32> + Sync) -> Vec<Hit> {
    if k == 0 {
        return Vec::new();
    }
    let heaps = (0..n.div_ceil(ROWS_PER_TASK))
        .into_par_iter()
        .map(|task| {
            let mut heap = BinaryHeap::with_capacity(k + 1);
            for index in task * ROWS_PER_TASK..((task + 1) * ROWS_PER_TASK).min(n) {
                if let Some(score) = score(index) {
                    keep(&mut heap, Hit { index, score }, k);
                }
            }
            heap
        })
        .collect::<Vec<_>>();
    let mut all = BinaryHeap::with_capacity(k + 1);
    for hit in heaps.into_iter().flat_map(BinaryHeap::into_vec) {
        keep(&mut all, hit.0, k);
    }
    let mut hits: Vec<Hit> = all.into_vec().into_iter().map(|w| w.0).collect();
    hits.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.index.cmp(&b.index)));
    hits
}

/// For each of `queries`, the `k` rows of `matrix` most similar to it, best first, among the rows
/// `allow` accepts: one pass over the rows for all the queries (a query with regions searches many
/// vectors at once, and the rows' memory is the cost).
pub fn top_k_many(
    matrix: &[f32],
    dims: usize,
    queries: &[&[f32]],
    k: usize,
    allow: impl Fn(usize) -> bool + Sync,
) -> Vec<Vec<Hit>> {
    assert!(
        queries.iter().all(|q| q.len() == dims),
        "query length must equal the catalog's dims"
    );
    if k == 0 || dims == 0 || queries.is_empty() {
        return vec![Vec::new(); queries.len()];
    }
    let n = matrix.len() / dims;
    let per_task = (0..n.div_ceil(ROWS_PER_TASK))
        .into_par_iter()
        .map(|task| {
            let mut heaps: Vec<BinaryHeap<Weakest>> = (0..queries.len())
                .map(|_| BinaryHeap::with_capacity(k + 1))
                .collect();
            for index in task * ROWS_PER_TASK..((task + 1) * ROWS_PER_TASK).min(n) {
                if !allow(index) {
                    continue;
                }
                let row = &matrix[index * dims..(index + 1) * dims];
                for (heap, q) in heaps.iter_mut().zip(queries) {
                    keep(
                        heap,
                        Hit {
                            index,
                            score: dot(row, q),
                        },
                        k,
                    );
                }
            }
            heaps
        })
        .collect::<Vec<_>>();
    (0..queries.len())
        .map(|q| {
            let mut all = BinaryHeap::with_capacity(k + 1);
            for heaps in &per_task {
                for hit in heaps[q].iter() {
                    keep(&mut all, hit.0, k);
                }
            }
            let mut hits: Vec<Hit> = all.into_vec().into_iter().map(|w| w.0).collect();
            hits.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.index.cmp(&b.index)));
            hits
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_most_similar_rows_in_order_and_respects_the_filter() {
        // 10,000 rows of 3 dims: row i points at angle i (so nearby rows are similar)
        let n = 10_000;
        let mut m = Vec::with_capacity(n * 3);
        for i in 0..n {
            let a = i as f32 * 0.0003;
            m.extend([a.cos(), a.sin(), 0.0]);
        }
        let q = [(5000.0f32 * 0.0003).cos(), (5000.0f32 * 0.0003).sin(), 0.0];
        let hits = top_k(&m, 3, &q, 3, |_| true);
        assert_eq!(hits[0].index, 5000);
        assert!(hits[1].index == 4999 || hits[1].index == 5001);
        assert!(hits[0].score >= hits[1].score && hits[1].score >= hits[2].score);
        let without_self = top_k(&m, 3, &q, 1, |i| i != 5000);
        assert_ne!(without_self[0].index, 5000);
    }

    #[test]
    fn many_queries_in_one_pass_answer_as_one_at_a_time() {
        let dims = 16;
        let mut rng = fastrand::Rng::with_seed(7);
        let m: Vec<f32> = (0..5000 * dims).map(|_| rng.f32() - 0.5).collect();
        let qs: Vec<Vec<f32>> = (0..5)
            .map(|_| (0..dims).map(|_| rng.f32() - 0.5).collect())
            .collect();
        let refs: Vec<&[f32]> = qs.iter().map(Vec::as_slice).collect();
        let many = top_k_many(&m, dims, &refs, 7, |i| i % 3 != 0);
        for (q, hits) in qs.iter().zip(&many) {
            assert_eq!(hits, &top_k(&m, dims, q, 7, |i| i % 3 != 0));
        }
    }

    #[test]
    fn dot_handles_tails() {
        let a: Vec<f32> = (0..13).map(|i| i as f32).collect();
        assert_eq!(dot(&a, &a), (0..13).map(|i| (i * i) as f32).sum::<f32>());
    }
}
