//! Principal components by subspace iteration (no covariance matrix: each step is two passes over
//! the data, so 70,000 x 1280 takes a second or two): the map's plane, the reduced vectors of the
//! two-stage search, and PCA-whitening in `eval`.

use rayon::prelude::*;

/// Extra directions iterated beside the ones kept: they make the leading ones converge faster.
const OVERSAMPLE: usize = 2;
const ITERATIONS: usize = 12;

/// The leading principal components of a set of vectors.
#[derive(Debug, Clone)]
pub struct Principal {
    pub mean: Vec<f32>,
    /// Unit axes, most variance first.
    pub axes: Vec<Vec<f32>>,
    /// Variance along each axis.
    pub variances: Vec<f32>,
}

impl Principal {
    /// PCA-whitening: coordinates on the axes, each scaled to unit variance, then L2-normalised.
    pub fn whiten(&self, v: &[f32]) -> Vec<f32> {
        let mut out: Vec<f32> = self
            .axes
            .iter()
            .zip(&self.variances)
            .map(|(a, var)| {
                let c: f32 = v
                    .iter()
                    .zip(&self.mean)
                    .zip(a)
                    .map(|((x, m), w)| (x - m) * w)
                    .sum();
                c / (var + 1e-6).sqrt()
            })
            .collect();
        crate::embed::l2_normalize(&mut out);
        out
    }
}

/// The `components` leading principal components of `n x dims` row-major vectors, by subspace iteration.
pub fn principal_components(data: &[f32], dims: usize, components: usize) -> Principal {
    let n = data.len().checked_div(dims).unwrap_or(0);
    let components = components.min(dims);
    if n < 2 || components == 0 {
        let axes = (0..components)
            .map(|i| (0..dims).map(|j| if i == j { 1.0 } else { 0.0 }).collect())
            .collect();
        return Principal {
            mean: vec![0.0; dims],
            axes,
            variances: vec![0.0; components],
        };
    }
    let k = (components + OVERSAMPLE).min(dims);
    let mean: Vec<f32> = {
        let sums = data
            .par_chunks(dims * 1024)
            .map(|rows| {
                let mut s = vec![0.0f64; dims];
                for r in rows.chunks_exact(dims) {
                    s.iter_mut().zip(r).for_each(|(a, x)| *a += *x as f64);
                }
                s
            })
            .reduce(
                || vec![0.0; dims],
                |mut a, b| {
                    a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
                    a
                },
            );
        sums.iter().map(|s| (*s / n as f64) as f32).collect()
    };
    // Deterministic start: a fixed pseudo-random basis.
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut basis: Vec<Vec<f32>> = (0..k)
        .map(|_| {
            (0..dims)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    (state >> 40) as f32 / (1u64 << 24) as f32 - 0.5
                })
                .collect()
        })
        .collect();
    orthonormalize(&mut basis);
    for _ in 0..ITERATIONS {
        let proj = project(data, dims, &mean, &basis);
        // basis <- Xc^T (Xc basis)
        let next = data
            .par_chunks(dims * 1024)
            .zip(proj.par_chunks(1024))
            .map(|(rows, ps)| {
                let mut acc = vec![vec![0.0f32; dims]; k];
                for (r, p) in rows.chunks_exact(dims).zip(ps) {
                    for (j, a) in acc.iter_mut().enumerate() {
                        let w = p[j];
                        a.iter_mut()
                            .zip(r.iter().zip(&mean))
                            .for_each(|(a, (x, m))| *a += w * (x - m));
                    }
                }
                acc
            })
            .reduce(
                || vec![vec![0.0f32; dims]; k],
                |mut a, b| {
                    a.iter_mut()
                        .zip(b)
                        .for_each(|(x, y)| x.iter_mut().zip(y).for_each(|(p, q)| *p += q));
                    a
                },
            );
        basis = next;
        orthonormalize(&mut basis);
    }
    let proj = project(data, dims, &mean, &basis);
    // Order the axes by variance; make each axis's sign deterministic (largest |coordinate| positive).
    let var = |j: usize| proj.iter().map(|p| p[j] * p[j]).sum::<f32>() / n as f32;
    let mut order: Vec<usize> = (0..k).collect();
    order.sort_by(|&a, &b| var(b).total_cmp(&var(a)));
    let sign = |j: usize| {
        let m = proj
            .iter()
            .map(|p| p[j])
            .max_by(|a, b| a.abs().total_cmp(&b.abs()))
            .unwrap_or(1.0);
        if m < 0.0 { -1.0 } else { 1.0 }
    };
    let chosen = &order[..components];
    Principal {
        axes: chosen
            .iter()
            .map(|&j| basis[j].iter().map(|x| x * sign(j)).collect())
            .collect(),
        variances: chosen.iter().map(|&j| var(j)).collect(),
        mean,
    }
}

/// Coordinates of each centred row on each basis vector.
fn project(data: &[f32], dims: usize, mean: &[f32], basis: &[Vec<f32>]) -> Vec<Vec<f32>> {
    data.par_chunks_exact(dims)
        .map(|r| {
            basis
                .iter()
                .map(|b| {
                    r.iter()
                        .zip(mean)
                        .zip(b)
                        .map(|((x, m), w)| (x - m) * w)
                        .sum()
                })
                .collect()
        })
        .collect()
}

/// Gram-Schmidt, twice over ("twice is enough"): one pass loses orthogonality when a vector is
/// nearly in the span of the earlier ones.
fn orthonormalize(basis: &mut [Vec<f32>]) {
    for i in 0..basis.len() {
        for j in (0..i).chain(0..i) {
            let d: f32 = basis[i].iter().zip(&basis[j]).map(|(a, b)| a * b).sum();
            let bj = basis[j].clone();
            basis[i].iter_mut().zip(&bj).for_each(|(a, b)| *a -= d * b);
        }
        crate::embed::l2_normalize(&mut basis[i]);
    }
}
/// The plane of the map: the catalog's mean and its two principal axes. Kept with the index so a
/// query photo can be placed on the same map.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct MapProjection {
    pub mean: Vec<f32>,
    pub axes: [Vec<f32>; 2],
}

impl MapProjection {
    /// Where vector `v` falls on the map.
    pub fn project(&self, v: &[f32]) -> [f32; 2] {
        let along = |axis: &[f32]| {
            v.iter()
                .zip(&self.mean)
                .zip(axis)
                .map(|((x, m), a)| (x - m) * a)
                .sum()
        };
        [along(&self.axes[0]), along(&self.axes[1])]
    }

    /// Map coordinates of every row of `data`.
    pub fn project_all(&self, data: &[f32]) -> Vec<[f32; 2]> {
        data.par_chunks_exact(self.mean.len())
            .map(|r| self.project(r))
            .collect()
    }
}

/// Fit the map plane of `n x dims` row-major vectors: their first two principal components.
/// The first axis explains the most variance; signs are fixed so results are reproducible.
pub fn pca_2d(data: &[f32], dims: usize) -> MapProjection {
    let pc = principal_components(data, dims, 2);
    let mut axes = pc.axes.into_iter();
    let mut next = || axes.next().unwrap_or_else(|| vec![0.0; dims]);
    MapProjection {
        mean: pc.mean,
        axes: [next(), next()],
    }
}
