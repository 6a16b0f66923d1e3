//! The catalog map: a 2-D PCA projection of all embeddings (see [`crate::search::pca`]).

use rayon::prelude::*;

use crate::search::pca::principal_components;

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_directions_of_largest_spread() {
        // Points spread widely along (1,1,0,0), less along (0,0,1,0), barely along the rest.
        let dims = 4;
        let mut data = Vec::new();
        for i in 0..500 {
            // a 20 x 25 grid: t and u are uncorrelated
            let t = ((i / 25) as f32 / 20.0 - 0.5) * 10.0;
            let u = (i % 25) as f32 / 25.0 - 0.5;
            data.extend([t + 3.0, t + 3.0, u * 2.0, 0.01 * u]);
        }
        let p = pca_2d(&data, dims).project_all(&data);
        assert_eq!(p.len(), 500);
        // The first coordinate follows t (up to sign), the second follows u.
        let corr = |f: &dyn Fn(usize) -> f32, axis: usize| {
            let xs: Vec<f32> = (0..500).map(f).collect();
            let ys: Vec<f32> = p.iter().map(|q| q[axis]).collect();
            let (mx, my) = (
                xs.iter().sum::<f32>() / 500.0,
                ys.iter().sum::<f32>() / 500.0,
            );
            let cov: f32 = xs.iter().zip(&ys).map(|(x, y)| (x - mx) * (y - my)).sum();
            let vx: f32 = xs.iter().map(|x| (x - mx).powi(2)).sum();
            let vy: f32 = ys.iter().map(|y| (y - my).powi(2)).sum();
            (cov / (vx * vy).sqrt()).abs()
        };
        assert!(corr(&|i| (i / 25) as f32, 0) > 0.999);
        assert!(corr(&|i| (i % 25) as f32, 1) > 0.99);
    }
}
