//! A catalog's vectors behind one trait, whatever keeps them: exact f32 rows, int8 rows, the
//! two-stage int8 index of very large catalogs, or a server's index (a shared catalog's pgvector).
//! Search, the map, the duplicate finder and learning read rows and ask for the nearest through
//! it, and never match on how the vectors are kept.

use std::borrow::Cow;

use rayon::prelude::*;

use super::Hit;

/// Which rows a search may return.
pub type Keep<'a> = dyn Fn(usize) -> bool + Sync + 'a;

/// The catalog's vectors: `len x dims` unit vectors, searchable.
pub type Vectors = Box<dyn VectorIndex>;

/// Rows read at a time by whole-catalog computations over vectors not kept as f32.
const BLOCK_ROWS: usize = 8_192;

/// How a vector index keeps its rows, as the command line and the window name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VectorKind {
    /// f32 rows, searched exactly.
    F32,
    /// int8 rows, searched exactly in int8 arithmetic.
    Int8,
    /// int8 rows behind a low-dimensional pre-filter.
    TwoStage,
    /// Kept and searched by a server.
    Server,
}

impl VectorKind {
    /// `f32`, `int8` or `server` (`--json`'s `vectors`).
    pub fn name(self) -> &'static str {
        match self {
            VectorKind::F32 => "f32",
            VectorKind::Int8 | VectorKind::TwoStage => "int8",
            VectorKind::Server => "server",
        }
    }
}

/// `len x dims` unit vectors that can be read back and searched for the nearest.
pub trait VectorIndex: Send + Sync {
    fn dims(&self) -> usize;
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    fn kind(&self) -> VectorKind;
    /// Memory held, in bytes.
    fn bytes(&self) -> usize;
    /// Rows `start..start + out.len() / dims` as f32 (dequantised when compact), into `out`.
    fn rows_into(&self, start: usize, out: &mut [f32]);
    /// The `k` rows most similar to `query`, best first, among those `keep` lets through.
    fn top_k(&self, query: &[f32], k: usize, keep: &Keep) -> Vec<Hit>;
    /// [`VectorIndex::top_k`] for several queries (an index may read its rows once for all).
    fn top_k_many(&self, queries: &[&[f32]], k: usize, keep: &Keep) -> Vec<Vec<Hit>> {
        queries.iter().map(|q| self.top_k(q, k, keep)).collect()
    }
    /// The rows as one row-major f32 matrix, when that is how they are kept.
    fn as_f32(&self) -> Option<&[f32]> {
        None
    }
    /// The recall@10 against exact search that searches are expected to reach, when known.
    fn expected_recall(&self) -> Option<f32> {
        None
    }
    /// The server's own operations, when a server keeps the rows.
    fn remote(&self) -> Option<&dyn RemoteVectors> {
        None
    }
}

/// Vectors a server keeps and searches itself: what it can do without sending the rows.
pub trait RemoteVectors: VectorIndex {
    /// Each row's `m` most similar other rows whose cosine is at least `floor`, as pairs of rows
    /// (a < b), found by the server's own index.
    fn neighbour_pairs(&self, m: usize, floor: f32) -> crate::Result<Vec<(usize, usize)>>;
    /// The cosine of each pair of rows, computed where the rows are.
    fn cosines(&self, pairs: &[(usize, usize)]) -> crate::Result<Vec<f32>>;
    /// Make searches aim at `recall`@10 against exact search (an approximate index trades
    /// recall for speed).
    fn aim_at_recall(&self, recall: f32);
}

impl dyn VectorIndex + '_ {
    /// Whether the scores are approximate (int8 or a server's index), not exact f32 cosines.
    pub fn is_compact(&self) -> bool {
        self.kind() != VectorKind::F32
    }

    /// Row `i` as f32 (dequantised when compact).
    pub fn row(&self, i: usize) -> Cow<'_, [f32]> {
        let dims = self.dims();
        match self.as_f32() {
            Some(data) => Cow::Borrowed(&data[i * dims..(i + 1) * dims]),
            None => {
                let mut out = vec![0.0; dims];
                self.rows_into(i, &mut out);
                Cow::Owned(out)
            }
        }
    }

    /// Every row as one row-major f32 matrix (built when not kept so: `len x dims x 4` bytes).
    pub fn to_f32(&self) -> Cow<'_, [f32]> {
        match self.as_f32() {
            Some(data) => Cow::Borrowed(data),
            None => {
                let mut out = vec![0.0f32; self.len() * self.dims()];
                self.rows_into(0, &mut out);
                Cow::Owned(out)
            }
        }
    }

    /// Apply `f` to the rows a block at a time (`rows x dims` f32), in order: whole-catalog
    /// computations without a whole f32 copy of a compact catalog.
    pub fn for_each_block(&self, mut f: impl FnMut(&[f32])) {
        let dims = self.dims();
        if let Some(data) = self.as_f32() {
            return data.chunks(BLOCK_ROWS * dims.max(1)).for_each(f);
        }
        let mut block = vec![0.0f32; BLOCK_ROWS * dims];
        for start in (0..self.len()).step_by(BLOCK_ROWS) {
            let m = BLOCK_ROWS.min(self.len() - start);
            self.rows_into(start, &mut block[..m * dims]);
            f(&block[..m * dims]);
        }
    }
}

/// Row-major f32 unit vectors, searched exactly.
pub struct F32Rows {
    dims: usize,
    data: Vec<f32>,
}

impl F32Rows {
    /// `data.len() / dims` rows of `dims` values.
    pub fn new(dims: usize, data: Vec<f32>) -> Self {
        F32Rows { dims, data }
    }
}

impl VectorIndex for F32Rows {
    fn dims(&self) -> usize {
        self.dims
    }
    fn len(&self) -> usize {
        self.data.len() / self.dims.max(1)
    }
    fn kind(&self) -> VectorKind {
        VectorKind::F32
    }
    fn bytes(&self) -> usize {
        self.data.len() * 4
    }
    fn rows_into(&self, start: usize, out: &mut [f32]) {
        out.copy_from_slice(&self.data[start * self.dims..][..out.len()]);
    }
    fn top_k(&self, query: &[f32], k: usize, keep: &Keep) -> Vec<Hit> {
        super::top_k(&self.data, self.dims, query, k, keep)
    }
    fn top_k_many(&self, queries: &[&[f32]], k: usize, keep: &Keep) -> Vec<Vec<Hit>> {
        super::top_k_many(&self.data, self.dims, queries, k, keep)
    }
    fn as_f32(&self) -> Option<&[f32]> {
        Some(&self.data)
    }
    fn expected_recall(&self) -> Option<f32> {
        Some(1.0)
    }
}

impl VectorIndex for super::compact::Int8Rows {
    fn dims(&self) -> usize {
        super::compact::Int8Rows::dims(self)
    }
    fn len(&self) -> usize {
        super::compact::Int8Rows::len(self)
    }
    fn kind(&self) -> VectorKind {
        VectorKind::Int8
    }
    fn bytes(&self) -> usize {
        super::compact::Int8Rows::bytes(self)
    }
    fn rows_into(&self, start: usize, out: &mut [f32]) {
        let dims = VectorIndex::dims(self);
        out.par_chunks_mut(dims.max(1))
            .enumerate()
            .for_each(|(j, row)| self.dequantise(start + j, row));
    }
    fn top_k(&self, query: &[f32], k: usize, keep: &Keep) -> Vec<Hit> {
        self.top_k_filtered(query, k, keep)
    }
}

impl VectorIndex for super::compact::TwoStage {
    fn dims(&self) -> usize {
        self.full.dims()
    }
    fn len(&self) -> usize {
        self.full.len()
    }
    fn kind(&self) -> VectorKind {
        VectorKind::TwoStage
    }
    fn bytes(&self) -> usize {
        self.file_bytes() as usize
    }
    fn rows_into(&self, start: usize, out: &mut [f32]) {
        VectorIndex::rows_into(&self.full, start, out)
    }
    fn top_k(&self, query: &[f32], k: usize, keep: &Keep) -> Vec<Hit> {
        self.top_k_filtered(query, k, keep)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search::compact::{Int8Rows, TwoStage};

    fn unit_rows(n: usize, dims: usize) -> Vec<f32> {
        let mut rng = fastrand::Rng::with_seed(11);
        let mut out = Vec::with_capacity(n * dims);
        for _ in 0..n {
            let mut v: Vec<f32> = (0..dims).map(|_| rng.f32() - 0.5).collect();
            crate::embed::l2_normalize(&mut v);
            out.extend(v);
        }
        out
    }

    #[test]
    fn every_kind_of_index_reads_back_its_rows_and_finds_a_row_as_its_own_nearest() {
        let dims = 48;
        let rows = unit_rows(3_000, dims);
        let indexes: Vec<Vectors> = vec![
            Box::new(F32Rows::new(dims, rows.clone())),
            Box::new(Int8Rows::quantise(&rows, dims)),
            Box::new(TwoStage::build(
                Int8Rows::quantise(&rows, dims),
                16,
                1000,
                300,
            )),
        ];
        for index in &indexes {
            assert_eq!((index.len(), index.dims()), (3_000, dims));
            let back = index.to_f32();
            let worst = back
                .iter()
                .zip(&rows)
                .fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
            assert!(
                worst < 0.01,
                "{:?}: rows read back off by {worst}",
                index.kind()
            );
            let mut blocks = 0;
            index.for_each_block(|b| blocks += b.len() / dims);
            assert_eq!(blocks, 3_000);
            for q in [0, 1234, 2999] {
                let hits = index.top_k(&index.row(q), 3, &|_| true);
                assert_eq!(hits[0].index, q, "{:?}", index.kind());
                let others = index.top_k(&index.row(q), 3, &|i| i != q);
                assert!(others.iter().all(|h| h.index != q));
            }
        }
    }
}
