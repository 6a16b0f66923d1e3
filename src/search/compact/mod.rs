//! Compact vectors for catalogs of a million items.
//!
//! [`Int8Rows`] keeps each unit vector as int8 with one scale per row: a quarter of f32's memory
//! and of the memory traffic that bounds an exact scan. [`TwoStage`] adds a pre-filter: every row
//! projected onto the catalog's leading principal axes (int8 too, a tenth of the size), scanned
//! first; its best candidates are then re-ranked by the full vectors.

use std::io::{Read, Write};
use std::path::Path;

use rayon::prelude::*;

mod cells;
mod kernels;
mod source;
mod two_stage;

pub use source::MappedFile;
use source::{Copied, RowBytes, RowSource};

pub use cells::{CELLS_FROM, Cells};
use kernels::DotI8;
pub use kernels::{Simd, SimdError, check_simd_env, dot_i8};
pub use two_stage::{TARGET_RECALL, TwoStage};

use super::{Hit, top_k_scored};

/// Rows of int8 values, each with the scale that maps them back: `x ~ q * scale`.
pub struct Int8Rows {
    dims: usize,
    data: RowBytes,
    scales: Vec<f32>,
}

/// A vector quantised like a row, for integer dot products (with the kernel for this CPU, picked
/// once per query rather than per row).
pub struct Int8Query {
    data: Vec<i8>,
    scale: f32,
    dot: DotI8,
}

fn quantise_into(v: &[f32], out: &mut [i8]) -> f32 {
    let max = v.iter().fold(0.0f32, |m, x| m.max(x.abs()));
    let scale = if max > 0.0 { max / 127.0 } else { 1.0 };
    for (q, x) in out.iter_mut().zip(v) {
        *q = (x / scale).round() as i8;
    }
    scale
}

impl Int8Rows {
    /// Quantise `n x dims` row-major f32 vectors.
    pub fn quantise(rows: &[f32], dims: usize) -> Self {
        let mut out = Int8Rows::empty(dims);
        out.extend_from(rows);
        out
    }

    /// Quantise rows produced one at a time (`row(i, out)` fills row `i`), without holding them as f32.
    pub fn quantise_with(n: usize, dims: usize, row: impl Fn(usize, &mut [f32]) + Sync) -> Self {
        let mut data = vec![0i8; n * dims];
        let mut scales = vec![0.0f32; n];
        data.par_chunks_mut(dims)
            .zip(scales.par_iter_mut())
            .enumerate()
            .for_each_init(
                || vec![0.0f32; dims],
                |buf, (i, (q, s))| {
                    row(i, buf);
                    *s = quantise_into(buf, q);
                },
            );
        Int8Rows {
            dims,
            data: RowBytes::Owned(data),
            scales,
        }
    }

    /// `v` quantised like a row, scored with the kernel searches use.
    pub fn query(&self, v: &[f32]) -> Int8Query {
        self.query_with(v, Simd::chosen())
    }

    /// `v` quantised like a row, scored with `simd`'s kernel (benchmarks compare them).
    pub fn query_with(&self, v: &[f32], simd: Simd) -> Int8Query {
        assert_eq!(v.len(), self.dims, "query length must equal the rows' dims");
        let mut data = vec![0i8; self.dims];
        let scale = quantise_into(v, &mut data);
        Int8Query {
            data,
            scale,
            dot: simd.dot(),
        }
    }

    pub fn len(&self) -> usize {
        self.scales.len()
    }

    pub fn is_empty(&self) -> bool {
        self.scales.is_empty()
    }

    pub fn dims(&self) -> usize {
        self.dims
    }

    /// Memory held, in bytes.
    pub fn bytes(&self) -> usize {
        self.data.len() + 4 * self.scales.len()
    }

    /// Row `i` back as f32 (into `out`).
    pub fn dequantise(&self, i: usize, out: &mut [f32]) {
        let s = self.scales[i];
        for (o, &q) in out.iter_mut().zip(self.row(i)) {
            *o = q as f32 * s;
        }
    }

    fn row(&self, i: usize) -> &[i8] {
        &self.data[i * self.dims..(i + 1) * self.dims]
    }

    /// Approximate cosine of row `i` with a quantised query.
    pub fn score(&self, i: usize, q: &Int8Query) -> f32 {
        (q.dot)(self.row(i), &q.data) as f32 * self.scales[i] * q.scale
    }

    /// Exact search over all rows (in int8 arithmetic): the `k` best, best first.
    pub fn top_k(&self, query: &[f32], k: usize) -> Vec<Hit> {
        self.top_k_filtered(query, k, |_| true)
    }

    /// [`Int8Rows::top_k`] with `simd`'s kernel (benchmarks compare them).
    pub fn top_k_with(&self, query: &[f32], k: usize, simd: Simd) -> Vec<Hit> {
        let q = self.query_with(query, simd);
        top_k_scored(self.len(), k, |i| Some(self.score(i, &q)))
    }

    /// [`Int8Rows::top_k`] among the rows `keep` lets through.
    pub fn top_k_filtered(
        &self,
        query: &[f32],
        k: usize,
        keep: impl Fn(usize) -> bool + Sync,
    ) -> Vec<Hit> {
        let q = self.query(query);
        top_k_scored(self.len(), k, |i| keep(i).then(|| self.score(i, &q)))
    }

    /// Append `rows` (`m x dims` row-major f32) quantised: build a large set a block at a time.
    pub fn extend_from(&mut self, rows: &[f32]) {
        let start = self.len();
        let m = rows.len() / self.dims;
        let dims = self.dims;
        let data = self.data.to_mut();
        data.resize((start + m) * dims, 0);
        self.scales.resize(start + m, 0.0);
        data[start * dims..]
            .par_chunks_mut(self.dims)
            .zip(self.scales[start..].par_iter_mut())
            .zip(rows.par_chunks(self.dims))
            .for_each(|((q, s), r)| *s = quantise_into(r, q));
    }

    /// The same rows in another order: row `j` of the result is row `order[j]`.
    pub(super) fn reordered(&self, order: &[u32]) -> Int8Rows {
        let dims = self.dims;
        let mut data = vec![0i8; order.len() * dims];
        data.par_chunks_mut(dims.max(1))
            .zip(order)
            .for_each(|(row, &i)| row.copy_from_slice(self.row(i as usize)));
        Int8Rows {
            dims,
            data: RowBytes::Owned(data),
            scales: order.iter().map(|&i| self.scales[i as usize]).collect(),
        }
    }

    /// No rows yet, of `dims` values each.
    pub fn empty(dims: usize) -> Self {
        Int8Rows {
            dims,
            data: RowBytes::Owned(Vec::new()),
            scales: Vec::new(),
        }
    }

    /// Write to a flat file: dims, rows, scales, data (little endian).
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
        self.write_to(&mut f)?;
        f.flush()
    }

    /// Write dims, rows, scales, data (little endian) to `w`.
    pub fn write_to(&self, w: &mut impl Write) -> std::io::Result<()> {
        w.write_all(&(self.dims as u64).to_le_bytes())?;
        w.write_all(&(self.len() as u64).to_le_bytes())?;
        w.write_all(bytemuck::cast_slice(&self.scales))?;
        w.write_all(bytemuck::cast_slice(&self.data[..]))
    }

    /// Read a file written by [`Int8Rows::save`].
    pub fn load(path: &Path) -> std::io::Result<Self> {
        let mut f = std::fs::File::open(path)?;
        let len = f.metadata()?.len();
        let rows = Self::read_from(&mut f, len)?;
        if 16 + rows.bytes() as u64 != len {
            return Err(invalid("an int8 rows file with bytes after its rows"));
        }
        Ok(rows)
    }

    /// Read what [`Int8Rows::write_to`] wrote, refusing sizes beyond the `available` bytes (so a
    /// damaged header cannot ask for a huge allocation).
    pub fn read_from(r: &mut impl Read, available: u64) -> std::io::Result<Self> {
        Self::read_source(&mut Copied(r), available)
    }

    /// [`Int8Rows::read_from`] from a source that may hand the rows out without copying them.
    fn read_source(r: &mut impl RowSource, available: u64) -> std::io::Result<Self> {
        let dims = read_u64(r)? as usize;
        let n = read_u64(r)? as usize;
        let need = n
            .checked_mul(dims.checked_add(4).ok_or_else(|| invalid("bad dims"))?)
            .and_then(|b| b.checked_add(16))
            .ok_or_else(|| invalid("bad row count"))?;
        if need as u64 > available || (dims == 0 && n > 0) {
            return Err(invalid(
                "int8 rows: the header asks for more bytes than there are",
            ));
        }
        let mut scales = vec![0.0f32; n];
        r.read_exact(bytemuck::cast_slice_mut(&mut scales))?;
        let data = r.row_bytes(n * dims)?;
        Ok(Int8Rows { dims, data, scales })
    }
}

fn invalid(what: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_string())
}

pub(crate) fn read_u64(r: &mut impl Read) -> std::io::Result<u64> {
    let mut b = [0u8; 8];
    r.read_exact(&mut b)?;
    Ok(u64::from_le_bytes(b))
}

fn read_f32s(r: &mut impl Read, n: usize) -> std::io::Result<Vec<f32>> {
    let mut v = vec![0.0f32; n];
    r.read_exact(bytemuck::cast_slice_mut(&mut v))?;
    Ok(v)
}

/// Share of `exact`'s indexes found in `approx` (recall@k when both hold k hits).
#[cfg(test)]
fn recall(exact: &[Hit], approx: &[Hit]) -> f64 {
    if exact.is_empty() {
        return 1.0;
    }
    let found = exact
        .iter()
        .filter(|e| approx.iter().any(|a| a.index == e.index))
        .count();
    found as f64 / exact.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Unit vectors in clusters: `centres` random directions, rows spread around them.
    fn clustered(n: usize, dims: usize, centres: usize, spread: f32) -> Vec<f32> {
        let mut rng = fastrand::Rng::with_seed(3);
        let mut normal = || (0..12).map(|_| rng.f32()).sum::<f32>() - 6.0;
        let c: Vec<f32> = (0..centres * dims).map(|_| normal()).collect();
        let mut out = Vec::with_capacity(n * dims);
        for i in 0..n {
            let centre = &c[(i % centres) * dims..][..dims];
            let mut v: Vec<f32> = centre.iter().map(|x| x + spread * normal()).collect();
            crate::embed::l2_normalize(&mut v);
            out.extend(v);
        }
        out
    }

    #[test]
    fn int8_scores_are_close_to_float_cosines() {
        let dims = 256;
        let rows = clustered(500, dims, 10, 0.5);
        let q = Int8Rows::quantise(&rows, dims);
        assert_eq!(q.bytes(), 500 * dims + 500 * 4);
        let query = &rows[7 * dims..8 * dims];
        let qq = q.query(query);
        for i in 0..500 {
            let exact = crate::search::dot(&rows[i * dims..(i + 1) * dims], query);
            assert!((q.score(i, &qq) - exact).abs() < 0.01, "row {i}");
        }
        assert_eq!(q.top_k(query, 1)[0].index, 7);
    }

    /// Unit vectors whose variance falls off along the axes, as a CNN's embeddings' does.
    fn decaying_spectrum(n: usize, dims: usize) -> Vec<f32> {
        let mut rng = fastrand::Rng::with_seed(5);
        let mut normal = || (0..12).map(|_| rng.f32()).sum::<f32>() - 6.0;
        let mut out = Vec::with_capacity(n * dims);
        for _ in 0..n {
            let mut v: Vec<f32> = (0..dims)
                .map(|j| normal() * (j as f32 + 1.0).powf(-0.9))
                .collect();
            crate::embed::l2_normalize(&mut v);
            out.extend(v);
        }
        out
    }

    #[test]
    fn two_stage_search_finds_what_exact_search_finds() {
        let dims = 128;
        let rows = decaying_spectrum(20_000, dims);
        let exact = Int8Rows::quantise(&rows, dims);
        let exact_hits: Vec<Vec<Hit>> = (0..20)
            .map(|j| exact.top_k(&rows[j * 997 * dims..][..dims], 10))
            .collect();
        let two = TwoStage::build(Int8Rows::quantise(&rows, dims), 32, 4000, 200);
        let recall: f64 = (0..20)
            .map(|j| {
                recall(
                    &exact_hits[j],
                    &two.top_k(&rows[j * 997 * dims..][..dims], 10),
                )
            })
            .sum::<f64>()
            / 20.0;
        assert!(recall >= 0.9, "recall@10 {recall}");
    }

    #[test]
    fn a_saved_two_stage_index_reads_back_the_same_and_a_damaged_one_is_refused() {
        let dims = 64;
        let rows = decaying_spectrum(3_000, dims);
        let mut built = Int8Rows::empty(dims);
        for block in rows.chunks(1000 * dims) {
            built.extend_from(block);
        }
        assert_eq!(built.data[..], Int8Rows::quantise(&rows, dims).data[..]);
        let two = TwoStage::build(built, 16, 1000, 100);
        let mut bytes = Vec::new();
        two.write_to(&mut bytes).unwrap();
        assert_eq!(bytes.len() as u64, two.file_bytes());
        let back = TwoStage::read_from(&mut bytes.as_slice(), bytes.len() as u64).unwrap();
        let query = &rows[42 * dims..43 * dims];
        assert_eq!(two.top_k(query, 10), back.top_k(query, 10));
        assert_eq!(back.top_k(query, 1)[0].index, 42);
        let cut = &bytes[..bytes.len() - 10];
        assert!(TwoStage::read_from(&mut &cut[..], cut.len() as u64).is_err());
        let odd = back.top_k_filtered(query, 5, |i| i % 2 == 1);
        assert_eq!(odd.len(), 5);
        assert!(odd.iter().all(|h| h.index % 2 == 1));

        // Without a pre-filter (small catalogs): exact int8 search, saved and read back the same.
        let plain = TwoStage::build(Int8Rows::quantise(&rows, dims), 0, 1000, 100);
        let mut bytes = Vec::new();
        plain.write_to(&mut bytes).unwrap();
        let back = TwoStage::read_from(&mut bytes.as_slice(), bytes.len() as u64).unwrap();
        let exact = Int8Rows::quantise(&rows, dims).top_k(query, 10);
        assert_eq!(back.top_k(query, 10), exact);
        assert_eq!(plain.top_k(query, 10), exact);
    }

    #[test]
    fn rows_round_trip_through_a_file_and_a_damaged_file_is_refused() {
        let dims = 64;
        let q = Int8Rows::quantise(&clustered(100, dims, 5, 0.3), dims);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rows.i8");
        q.save(&path).unwrap();
        let back = Int8Rows::load(&path).unwrap();
        assert_eq!((back.len(), back.dims()), (100, dims));
        assert_eq!(back.data[..], q.data[..]);
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() - 3]).unwrap();
        assert!(Int8Rows::load(&path).is_err());
    }
}
