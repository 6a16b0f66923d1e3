//! The two-stage index of very large catalogs: a pre-filter on the catalog's leading principal
//! axes (int8 rows of a tenth of the size, grouped into [`Cells`] when there are many), whose best
//! candidates are re-ranked by the full int8 vectors.

use std::io::{Read, Write};

use rayon::prelude::*;

use super::Simd;
use super::cells::{CELLS_FROM, Cells, SAMPLE_PER_CELL};
use super::source::RowSource;
use super::{Int8Query, Int8Rows, MappedFile, invalid, quantise_into, read_f32s, read_u64};
use crate::search::{Hit, top_k_scored};

/// The recall@10 against exact search that the number of cells scanned is chosen for, measured
/// on the catalog's own rows when the index is built.
pub const TARGET_RECALL: f32 = 0.98;
/// Catalog rows the recall is measured on.
const RECALL_PROBES: usize = 64;

/// Pre-filter on a low-dimensional projection, then exact re-ranking of the best candidates.
pub struct TwoStage {
    mean: Vec<f32>,
    /// `reduced_dims x dims`, row-major: the catalog's leading principal axes.
    axes: Vec<f32>,
    /// Every row projected on the axes; in cell order when there are cells.
    pub reduced: Int8Rows,
    pub full: Int8Rows,
    /// Candidates kept by the pre-filter for re-ranking.
    pub candidates: usize,
    /// The pre-filter's rows grouped by cell (large catalogs only).
    pub cells: Option<Cells>,
}

impl TwoStage {
    /// Fit the axes on (at most `sample` rows of) `full` and project every row; from
    /// [`CELLS_FROM`] rows, group them into cells and choose how many a query scans. With
    /// `reduced_dims` 0 there is no pre-filter: every row is scored in full (for catalogs no larger
    /// than the shortlist, where a pre-filter would let everything through anyway).
    pub fn build(full: Int8Rows, reduced_dims: usize, sample: usize, candidates: usize) -> Self {
        let cells = (full.len() >= CELLS_FROM).then(|| Cells::count_for(full.len()));
        Self::build_with_cells(full, reduced_dims, sample, candidates, cells)
    }

    /// [`TwoStage::build`] with this many cells (None: a pre-filter that scores every row).
    pub fn build_with_cells(
        full: Int8Rows,
        reduced_dims: usize,
        sample: usize,
        candidates: usize,
        cells: Option<usize>,
    ) -> Self {
        let dims = full.dims();
        if reduced_dims == 0 {
            return TwoStage {
                mean: vec![0.0; dims],
                axes: Vec::new(),
                reduced: Int8Rows::empty(0),
                full,
                candidates,
                cells: None,
            };
        }
        let n = full.len();
        let step = (n / sample.max(1)).max(1);
        let picked: Vec<usize> = (0..n).step_by(step).take(sample).collect();
        let mut rows = vec![0.0f32; picked.len() * dims];
        for (chunk, &i) in rows.chunks_exact_mut(dims).zip(&picked) {
            full.dequantise(i, chunk);
        }
        let pc = crate::search::pca::principal_components(&rows, dims, reduced_dims);
        let axes: Vec<f32> = pc.axes.concat();
        let r = pc.axes.len();
        let mut two = TwoStage {
            mean: pc.mean,
            axes,
            reduced: Int8Rows::empty(r),
            full,
            candidates,
            cells: None,
        };
        // The cells' centres are trained on a sample of projected rows, before every row is
        // projected (and assigned to its cell) in one pass.
        let centres = cells.map(|cells| {
            let step = (n / (cells * SAMPLE_PER_CELL)).max(1);
            let sample: Vec<usize> = (0..n).step_by(step).collect();
            let projected = two.project_rows(&sample);
            Cells::train(&projected, r, cells, 0x5EED)
        });
        let mut cell_of = Vec::new();
        const BLOCK: usize = 8192;
        let mut data = vec![0i8; n * r];
        let mut scales = vec![0.0f32; n];
        for start in (0..n).step_by(BLOCK) {
            let end = (start + BLOCK).min(n);
            let ids: Vec<usize> = (start..end).collect();
            let projected = two.project_rows(&ids);
            if let Some(centres) = &centres {
                cell_of.extend(Cells::assign(&projected, centres, r));
            }
            data[start * r..end * r]
                .par_chunks_mut(r)
                .zip(scales[start..end].par_iter_mut())
                .zip(projected.par_chunks(r))
                .for_each(|((q, s), p)| *s = quantise_into(p, q));
        }
        let reduced = Int8Rows {
            dims: r,
            data: super::source::RowBytes::Owned(data),
            scales,
        };
        match centres {
            Some(centres) => {
                let cells = Cells::new(r, centres, &cell_of);
                two.reduced = reduced.reordered(cells.order());
                two.cells = Some(cells);
                two.choose_probe();
            }
            None => two.reduced = reduced,
        }
        two
    }

    /// Rows `ids` of the catalog projected on the axes, the mean removed (`ids.len() x r`):
    /// one matrix product, `(x - m) . a = x . a - m . a`.
    fn project_rows(&self, ids: &[usize]) -> Vec<f32> {
        let dims = self.full.dims();
        let r = self.axes.len() / dims;
        let mut block = vec![0.0f32; ids.len() * dims];
        block
            .par_chunks_mut(dims)
            .zip(ids)
            .for_each(|(row, &i)| self.full.dequantise(i, row));
        let block =
            ndarray::ArrayView2::from_shape((ids.len(), dims), &block).expect("rows x dims block");
        let axes = ndarray::ArrayView2::from_shape((r, dims), &self.axes).expect("r x dims axes");
        let mut projected = block.dot(&axes.t());
        let offsets: Vec<f32> = self
            .axes
            .chunks_exact(dims)
            .map(|a| crate::search::dot(&self.mean, a))
            .collect();
        for mut row in projected.rows_mut() {
            row.iter_mut().zip(&offsets).for_each(|(x, o)| *x -= o);
        }
        projected.into_raw_vec_and_offset().0
    }

    fn project(&self, v: &[f32]) -> Vec<f32> {
        let dims = self.full.dims();
        self.axes
            .chunks_exact(dims)
            .map(|axis| {
                v.iter()
                    .zip(&self.mean)
                    .zip(axis)
                    .map(|((x, m), a)| (x - m) * a)
                    .sum()
            })
            .collect()
    }

    /// Scan few enough cells to be fast and enough to find what exact search finds: the fewest
    /// that reach [`TARGET_RECALL`] on rows of the catalog itself (each searched without itself),
    /// or, when the pre-filter cannot reach it even over every cell, come within half a point of
    /// what every cell gives.
    fn choose_probe(&mut self) {
        let Some(cells) = &self.cells else { return };
        let n = self.full.len();
        let mut rng = fastrand::Rng::with_seed(0xCE11);
        let probes: Vec<usize> = (0..RECALL_PROBES).map(|_| rng.usize(..n)).collect();
        let queries: Vec<Vec<f32>> = probes
            .iter()
            .map(|&i| {
                let mut v = vec![0.0; self.full.dims()];
                self.full.dequantise(i, &mut v);
                v
            })
            .collect();
        let exact: Vec<Vec<Hit>> = probes
            .iter()
            .zip(&queries)
            .map(|(&i, q)| self.full.top_k_filtered(q, 10, |j| j != i))
            .collect();
        let wanted: usize = exact.iter().map(Vec::len).sum();
        let recall_at = |probe: usize| {
            let found: usize = probes
                .iter()
                .zip(&queries)
                .zip(&exact)
                .map(|((&i, q), exact)| {
                    let got = self.search(q, 10, &|j| j != i, Some(probe), Simd::chosen());
                    exact
                        .iter()
                        .filter(|e| got.iter().any(|g| g.index == e.index))
                        .count()
                })
                .sum();
            found as f32 / wanted.max(1) as f32
        };
        let total = cells.len();
        let every_cell = recall_at(total);
        let aim = TARGET_RECALL.min(every_cell - 0.005);
        let mut curve = Vec::new();
        let mut probe = 1;
        loop {
            let recall = if probe == total {
                every_cell
            } else {
                recall_at(probe)
            };
            curve.push((probe, recall));
            if recall >= aim || probe >= total {
                break;
            }
            probe = (probe * 2).min(total);
        }
        let chosen = curve.last().map_or(total, |&(p, _)| p);
        if chosen != total {
            curve.push((total, every_cell));
        }
        if let Some(cells) = &mut self.cells {
            cells.probe = chosen;
            cells.curve = curve;
        }
    }

    /// The recall@10 the cells scanned are expected to reach (measured when built); None
    /// without cells (the pre-filter then scores every row).
    pub fn expected_recall(&self) -> Option<f32> {
        let cells = self.cells.as_ref()?;
        cells
            .curve
            .iter()
            .find(|&&(p, _)| p == cells.probe)
            .map(|&(_, r)| r)
    }

    /// The `k` best rows for `query`: the pre-filter's `candidates` best by projected dot product
    /// (the mean removed, so this ranks by the same geometry), re-ranked by the full vectors.
    pub fn top_k(&self, query: &[f32], k: usize) -> Vec<Hit> {
        self.top_k_filtered(query, k, |_| true)
    }

    /// [`TwoStage::top_k`] among the rows `keep` lets through (the pre-filter skips the others,
    /// so a narrow filter still fills the shortlist).
    pub fn top_k_filtered(
        &self,
        query: &[f32],
        k: usize,
        keep: impl Fn(usize) -> bool + Sync,
    ) -> Vec<Hit> {
        self.search(query, k, &keep, None, Simd::chosen())
    }

    /// [`TwoStage::top_k`] with `simd`'s kernel (benchmarks compare them).
    pub fn top_k_with(&self, query: &[f32], k: usize, simd: Simd) -> Vec<Hit> {
        self.search(query, k, &|_| true, None, simd)
    }

    /// [`TwoStage::top_k`] scanning `probe` cells (benchmarks draw the recall curve).
    pub fn top_k_probing(&self, query: &[f32], k: usize, probe: usize) -> Vec<Hit> {
        self.search(query, k, &|_| true, Some(probe), Simd::chosen())
    }

    /// The search, scanning `probe` cells (default: the chosen number) when there are cells.
    fn search(
        &self,
        query: &[f32],
        k: usize,
        keep: &(dyn Fn(usize) -> bool + Sync),
        probe: Option<usize>,
        simd: Simd,
    ) -> Vec<Hit> {
        if k == 0 {
            return Vec::new();
        }
        let q = self.full.query_with(query, simd);
        if self.axes.is_empty() {
            return top_k_scored(self.full.len(), k, |i| {
                keep(i).then(|| self.full.score(i, &q))
            });
        }
        let p = self.project(query);
        let pq = self.reduced.query_with(&p, simd);
        let c = self.candidates.max(k);
        let mut shortlist = match &self.cells {
            Some(cells) => self.scan_cells(cells, &p, &pq, c, keep, probe.unwrap_or(cells.probe)),
            // Every row's pre-filter score, then the best `candidates` picked in linear time (a
            // heap per task would cost a log factor on each of thousands of kept rows).
            None => (0..self.reduced.len())
                .into_par_iter()
                .with_min_len(4096)
                .filter_map(|i| keep(i).then(|| (self.reduced.score(i, &pq), i as u32)))
                .collect(),
        };
        if shortlist.len() > c {
            shortlist.select_nth_unstable_by(c - 1, |a, b| b.0.total_cmp(&a.0));
            shortlist.truncate(c);
        }
        let mut hits: Vec<Hit> = shortlist
            .par_iter()
            .map(|&(_, i)| Hit {
                index: i as usize,
                score: self.full.score(i as usize, &q),
            })
            .collect();
        hits.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.index.cmp(&b.index)));
        hits.truncate(k);
        hits
    }

    /// Pre-filter scores (and catalog rows) of the rows `keep` lets through in the `probe` cells
    /// nearest the reduced query `p`; more cells, twice as many each time, while fewer than
    /// `wanted` rows were let through.
    fn scan_cells(
        &self,
        cells: &Cells,
        p: &[f32],
        pq: &Int8Query,
        wanted: usize,
        keep: &(dyn Fn(usize) -> bool + Sync),
        probe: usize,
    ) -> Vec<(f32, u32)> {
        let nearest = cells.nearest(p);
        let mut found = Vec::new();
        let (mut done, mut upto) = (0, probe.clamp(1, nearest.len()));
        loop {
            let more: Vec<(f32, u32)> = nearest[done..upto]
                .par_iter()
                .flat_map_iter(|&c| {
                    cells.rows_of(c).filter_map(|j| {
                        let i = cells.row_of(j);
                        keep(i).then(|| (self.reduced.score(j, pq), i as u32))
                    })
                })
                .collect();
            found.extend(more);
            done = upto;
            if found.len() >= wanted || done == nearest.len() {
                return found;
            }
            upto = (upto * 2).min(nearest.len());
        }
    }

    /// Write the whole index to `w`: candidates, the axes, both sets of rows, then the cells.
    pub fn write_to(&self, w: &mut impl Write) -> std::io::Result<()> {
        let dims = self.full.dims();
        w.write_all(&(self.candidates as u64).to_le_bytes())?;
        w.write_all(&(dims as u64).to_le_bytes())?;
        w.write_all(&((self.axes.len() / dims) as u64).to_le_bytes())?;
        w.write_all(bytemuck::cast_slice(&self.mean))?;
        w.write_all(bytemuck::cast_slice(&self.axes))?;
        self.reduced.write_to(w)?;
        self.full.write_to(w)?;
        w.write_all(&(self.cells.is_some() as u64).to_le_bytes())?;
        match &self.cells {
            Some(cells) => cells.write_to(w),
            None => Ok(()),
        }
    }

    /// Read what [`TwoStage::write_to`] wrote, within `available` bytes.
    pub fn read_from(r: &mut impl Read, available: u64) -> std::io::Result<Self> {
        Self::read_source(&mut super::source::Copied(r), available)
    }

    /// [`TwoStage::read_from`] a mapped file: the rows stay in the map, read from disk only as
    /// searches touch them.
    pub fn read_mapped(r: &mut MappedFile, available: u64) -> std::io::Result<Self> {
        Self::read_source(r, available)
    }

    fn read_source(r: &mut impl RowSource, available: u64) -> std::io::Result<Self> {
        let candidates = read_u64(r)? as usize;
        let dims = read_u64(r)? as usize;
        let reduced_dims = read_u64(r)? as usize;
        let floats = reduced_dims
            .checked_add(1)
            .and_then(|a| a.checked_mul(dims))
            .filter(|&f| (24 + 4 * f as u64) <= available && dims > 0)
            .ok_or_else(|| invalid("two-stage index: bad header"))?;
        let mean = read_f32s(r, dims)?;
        let axes = read_f32s(r, floats - dims)?;
        let left = available - 24 - 4 * floats as u64;
        let reduced = Int8Rows::read_source(r, left)?;
        let left = left - 16 - reduced.bytes() as u64;
        let full = Int8Rows::read_source(r, left)?;
        let left = left
            .checked_sub(16 + full.bytes() as u64 + 8)
            .ok_or_else(|| invalid("two-stage index: cut short"))?;
        let cells = match read_u64(r)? {
            0 => None,
            1 => Some(super::cells::Cells::read_from(
                r,
                reduced_dims,
                reduced.len(),
                left,
            )?),
            _ => return Err(invalid("two-stage index: bad cells flag")),
        };
        let prefilter = reduced_dims > 0;
        if reduced.dims() != reduced_dims
            || full.dims() != dims
            || (prefilter && reduced.len() != full.len())
            || (!prefilter && (!reduced.is_empty() || cells.is_some()))
        {
            return Err(invalid("two-stage index: its parts do not agree"));
        }
        Ok(TwoStage {
            mean,
            axes,
            reduced,
            full,
            candidates,
            cells,
        })
    }

    /// Bytes written by [`TwoStage::write_to`].
    pub fn file_bytes(&self) -> u64 {
        24 + 4 * (self.mean.len() + self.axes.len()) as u64
            + 32
            + self.reduced.bytes() as u64
            + self.full.bytes() as u64
            + 8
            + self.cells.as_ref().map_or(0, Cells::file_bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Unit vectors in clusters along a decaying spectrum, as a CNN's embeddings are.
    fn decaying_spectrum_clusters(n: usize, dims: usize) -> Vec<f32> {
        let mut rng = fastrand::Rng::with_seed(9);
        let mut normal = move || (0..12).map(|_| rng.f32()).sum::<f32>() - 6.0;
        let centres: Vec<Vec<f32>> = (0..200)
            .map(|_| {
                (0..dims)
                    .map(|j| normal() * (j as f32 + 1.0).powf(-0.7))
                    .collect()
            })
            .collect();
        let mut out = Vec::with_capacity(n * dims);
        for i in 0..n {
            let c = &centres[(i * 7919) % centres.len()];
            let mut v: Vec<f32> = c
                .iter()
                .enumerate()
                .map(|(j, x)| x + 0.6 * normal() * (j as f32 + 1.0).powf(-0.7))
                .collect();
            crate::embed::l2_normalize(&mut v);
            out.extend(v);
        }
        out
    }

    #[test]
    fn cells_scan_a_fraction_of_the_rows_and_find_what_exact_search_finds() {
        let dims = 64;
        let n = 20_000;
        let rows = decaying_spectrum_clusters(n, dims);
        let two =
            TwoStage::build_with_cells(Int8Rows::quantise(&rows, dims), 32, 4000, 300, Some(64));
        let cells = two.cells.as_ref().expect("cells");
        assert_eq!(cells.len(), 64);
        assert!(
            cells.probe < 64,
            "a query scans fewer than all cells: {:?}",
            cells.curve
        );
        let every_cell = cells.curve.last().unwrap().1;
        assert!(two.expected_recall().unwrap() >= TARGET_RECALL.min(every_cell - 0.005));
        // Queries the build did not measure on: points between two rows.
        let exact = Int8Rows::quantise(&rows, dims);
        let mut recall = 0.0;
        for j in 0..30 {
            let (a, b) = (j * 613 % n, j * 997 % n);
            let mut q: Vec<f32> = rows[a * dims..][..dims]
                .iter()
                .zip(&rows[b * dims..][..dims])
                .map(|(x, y)| 0.7 * x + 0.3 * y)
                .collect();
            crate::embed::l2_normalize(&mut q);
            let want = exact.top_k(&q, 10);
            let got = two.top_k(&q, 10);
            recall += want
                .iter()
                .filter(|w| got.iter().any(|g| g.index == w.index))
                .count() as f64
                / 300.0;
        }
        assert!(
            recall >= 0.9,
            "recall@10 {recall:.3} on queries not measured on"
        );

        // A narrow filter still fills the results: more cells are scanned.
        let q = &rows[5 * dims..6 * dims];
        let rare = two.top_k_filtered(q, 10, |i| i % 997 == 3);
        assert_eq!(rare.len(), 10);
        assert!(rare.iter().all(|h| h.index % 997 == 3));

        // Written and read back, it answers the same.
        let mut bytes = Vec::new();
        two.write_to(&mut bytes).unwrap();
        assert_eq!(bytes.len() as u64, two.file_bytes());
        let back = TwoStage::read_from(&mut bytes.as_slice(), bytes.len() as u64).unwrap();
        assert_eq!(back.top_k(q, 10), two.top_k(q, 10));
        assert_eq!(back.cells.as_ref().unwrap().probe, cells.probe);
        let cut = &bytes[..bytes.len() - 100];
        assert!(TwoStage::read_from(&mut &cut[..], cut.len() as u64).is_err());
    }
}
