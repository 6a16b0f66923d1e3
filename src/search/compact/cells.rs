//! Inverted lists for the pre-filter of a very large catalog: its rows, in the reduced space,
//! grouped into cells by spherical k-means, each cell's rows stored together. A query scans only
//! the cells whose centres are nearest to it (a few percent of the rows) instead of every row.
//! How many cells a query scans is chosen when the index is built, by the recall measured on the
//! catalog's own rows against exact search, not by a fixed knob.

use std::io::{Read, Write};

use ndarray::{Array2, ArrayView2, Axis};
use rayon::prelude::*;

use super::{invalid, read_f32s, read_u64};

/// Catalogs with fewer rows than this scan the whole pre-filter: it is small enough.
pub const CELLS_FROM: usize = 50_000;
/// k-means rounds on the training sample.
const ROUNDS: usize = 12;
/// Training rows per cell.
pub const SAMPLE_PER_CELL: usize = 48;

/// Rows grouped into cells: row `order[j]` of the catalog is the pre-filter's row `j`, and the
/// rows of cell `c` are `starts[c]..starts[c + 1]`.
pub struct Cells {
    dims: usize,
    /// `cells x dims` unit vectors, row-major.
    centres: Vec<f32>,
    starts: Vec<u32>,
    order: Vec<u32>,
    /// Cells a query scans (at least this many; more while a filter leaves too few rows).
    pub probe: usize,
    /// recall@10 against exact search by cells scanned, measured when built.
    pub curve: Vec<(usize, f32)>,
}

impl Cells {
    /// How many cells for `n` rows: about a thousand rows each.
    pub fn count_for(n: usize) -> usize {
        ((n as f64).sqrt().round() as usize).clamp(64, 4096)
    }

    /// Spherical k-means centres of `sample` (`m x dims` row-major; rows are normalised here).
    pub fn train(sample: &[f32], dims: usize, cells: usize, seed: u64) -> Vec<f32> {
        let mut rows = sample.to_vec();
        rows.par_chunks_mut(dims).for_each(normalise);
        let m = rows.len() / dims;
        let cells = cells.min(m).max(1);
        let mut rng = fastrand::Rng::with_seed(seed);
        let mut picks: Vec<usize> = (0..m).collect();
        rng.shuffle(&mut picks);
        let mut centres: Vec<f32> = picks[..cells]
            .iter()
            .flat_map(|&i| rows[i * dims..(i + 1) * dims].iter().copied())
            .collect();
        for _ in 0..ROUNDS {
            let nearest = nearest_centres(&rows, &centres, dims);
            let mut sums = vec![0.0f32; cells * dims];
            let mut counts = vec![0usize; cells];
            for (row, &c) in rows.chunks_exact(dims).zip(&nearest) {
                counts[c] += 1;
                for (s, x) in sums[c * dims..(c + 1) * dims].iter_mut().zip(row) {
                    *s += x;
                }
            }
            for c in 0..cells {
                if counts[c] == 0 {
                    // An empty cell takes a random row: every centre keeps a share of the rows.
                    let i = rng.usize(..m);
                    sums[c * dims..(c + 1) * dims].copy_from_slice(&rows[i * dims..(i + 1) * dims]);
                }
                normalise(&mut sums[c * dims..(c + 1) * dims]);
            }
            centres = sums;
        }
        centres
    }

    /// The cells over rows whose cell is `cell_of[i]`.
    pub fn new(dims: usize, centres: Vec<f32>, cell_of: &[u32]) -> Cells {
        let cells = centres.len() / dims;
        let mut starts = vec![0u32; cells + 1];
        for &c in cell_of {
            starts[c as usize + 1] += 1;
        }
        for c in 0..cells {
            starts[c + 1] += starts[c];
        }
        let mut next: Vec<u32> = starts[..cells].to_vec();
        let mut order = vec![0u32; cell_of.len()];
        for (i, &c) in cell_of.iter().enumerate() {
            order[next[c as usize] as usize] = i as u32;
            next[c as usize] += 1;
        }
        Cells {
            dims,
            centres,
            starts,
            order,
            probe: cells,
            curve: Vec::new(),
        }
    }

    /// Each row's cell: the centre nearest its direction (`rows` is `m x dims`).
    pub fn assign(rows: &[f32], centres: &[f32], dims: usize) -> Vec<u32> {
        let mut rows = rows.to_vec();
        rows.par_chunks_mut(dims).for_each(normalise);
        nearest_centres(&rows, centres, dims)
            .into_iter()
            .map(|c| c as u32)
            .collect()
    }

    pub fn len(&self) -> usize {
        self.centres.len() / self.dims.max(1)
    }

    pub fn is_empty(&self) -> bool {
        self.centres.is_empty()
    }

    /// Catalog row of the pre-filter's row `j`.
    pub fn row_of(&self, j: usize) -> usize {
        self.order[j] as usize
    }

    /// The pre-filter's rows in cell order (what the reduced rows are stored in).
    pub fn order(&self) -> &[u32] {
        &self.order
    }

    /// Pre-filter rows of cell `c`.
    pub fn rows_of(&self, c: usize) -> std::ops::Range<usize> {
        self.starts[c] as usize..self.starts[c + 1] as usize
    }

    /// Every cell, nearest to the reduced query `p` first.
    pub fn nearest(&self, p: &[f32]) -> Vec<usize> {
        let mut scored: Vec<(f32, usize)> = self
            .centres
            .chunks_exact(self.dims)
            .enumerate()
            .map(|(c, centre)| (crate::search::dot(centre, p), c))
            .collect();
        scored.sort_unstable_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        scored.into_iter().map(|(_, c)| c).collect()
    }

    /// Memory held, in bytes.
    pub fn bytes(&self) -> usize {
        4 * (self.centres.len() + self.starts.len() + self.order.len()) + 8 * self.curve.len()
    }

    /// Bytes written by [`Cells::write_to`].
    pub fn file_bytes(&self) -> u64 {
        32 + 8 * self.curve.len() as u64
            + 4 * (self.centres.len() + self.starts.len() + self.order.len()) as u64
    }

    /// dims, cells, probe, curve length, the curve, centres, starts, order (little endian).
    pub fn write_to(&self, w: &mut impl Write) -> std::io::Result<()> {
        for v in [self.dims, self.len(), self.probe, self.curve.len()] {
            w.write_all(&(v as u64).to_le_bytes())?;
        }
        for &(probe, recall) in &self.curve {
            w.write_all(&(probe as u32).to_le_bytes())?;
            w.write_all(&recall.to_le_bytes())?;
        }
        w.write_all(bytemuck::cast_slice(&self.centres))?;
        w.write_all(bytemuck::cast_slice(&self.starts))?;
        w.write_all(bytemuck::cast_slice(&self.order))
    }

    /// Read what [`Cells::write_to`] wrote for `rows` rows of `dims`, within `available` bytes.
    pub fn read_from(
        r: &mut impl Read,
        dims: usize,
        rows: usize,
        available: u64,
    ) -> std::io::Result<Cells> {
        let bad = || invalid("pre-filter cells: bad header");
        let got_dims = read_u64(r)? as usize;
        let cells = read_u64(r)? as usize;
        let probe = read_u64(r)? as usize;
        let points = read_u64(r)? as usize;
        let need = (points as u64)
            .checked_mul(8)
            .and_then(|c| c.checked_add(4 * (cells as u64 * (dims as u64 + 1) + 1 + rows as u64)))
            .and_then(|b| b.checked_add(32))
            .ok_or_else(bad)?;
        if got_dims != dims || cells == 0 || need > available || probe == 0 || probe > cells {
            return Err(bad());
        }
        let mut curve = Vec::with_capacity(points);
        for _ in 0..points {
            let mut b = [0u8; 8];
            r.read_exact(&mut b)?;
            let probe = u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize;
            curve.push((probe, f32::from_le_bytes([b[4], b[5], b[6], b[7]])));
        }
        let centres = read_f32s(r, cells * dims)?;
        let mut starts = vec![0u32; cells + 1];
        r.read_exact(bytemuck::cast_slice_mut(&mut starts))?;
        let mut order = vec![0u32; rows];
        r.read_exact(bytemuck::cast_slice_mut(&mut order))?;
        let sound = starts[0] == 0
            && starts.windows(2).all(|w| w[0] <= w[1])
            && starts[cells] as usize == rows
            && order.iter().all(|&i| (i as usize) < rows);
        if !sound {
            return Err(invalid("pre-filter cells: its parts do not agree"));
        }
        Ok(Cells {
            dims,
            centres,
            starts,
            order,
            probe,
            curve,
        })
    }
}

fn normalise(v: &mut [f32]) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
}

/// For each of `rows` (`m x dims`, unit length), the index of its most similar centre: blocks of
/// rows against all centres as one matrix product each.
fn nearest_centres(rows: &[f32], centres: &[f32], dims: usize) -> Vec<usize> {
    const BLOCK: usize = 4096;
    let cells = centres.len() / dims;
    let c = ArrayView2::from_shape((cells, dims), centres).expect("cells x dims centres");
    let ct: Array2<f32> = c.t().to_owned();
    rows.par_chunks(BLOCK * dims)
        .flat_map_iter(|block| {
            let b = ArrayView2::from_shape((block.len() / dims, dims), block)
                .expect("rows x dims block");
            let scores = b.dot(&ct);
            scores
                .axis_iter(Axis(0))
                .map(|s| {
                    s.iter()
                        .enumerate()
                        .fold(
                            (0, f32::MIN),
                            |best, (i, &v)| {
                                if v > best.1 { (i, v) } else { best }
                            },
                        )
                        .0
                })
                .collect::<Vec<_>>()
        })
        .collect()
}
