//! The catalog map: every item placed on the plane of the catalog's first two principal
//! components (see [`crate::search::pca`]), computed when a folder is indexed and kept in the
//! store, so the window shows it at once and places each query photo on it; and beside it the
//! neighbourhood layout ([`neighbourhoods`]), which keeps near items near.

pub mod captions;
mod knn;
pub mod neighbourhoods;
pub mod svg;
mod umap;

use rayon::prelude::*;

use crate::catalog::{Catalog, StoredMap};
use crate::error::Result;
pub use crate::search::pca::{MapProjection, pca_2d};
pub use neighbourhoods::{NeighbourMap, neighbour_agreement};

/// How the map places the catalog's items.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum MapLayout {
    /// Near in the embedding, near on the map (UMAP's algorithm).
    #[default]
    Neighbourhoods,
    /// The plane of the first two principal components (the seed report's map).
    Pca,
}

impl MapLayout {
    pub const ALL: [MapLayout; 2] = [MapLayout::Neighbourhoods, MapLayout::Pca];

    /// What the window and the command line call it.
    pub fn name(self) -> &'static str {
        match self {
            MapLayout::Neighbourhoods => "neighbourhoods",
            MapLayout::Pca => "pca",
        }
    }

    /// What it shows, in words.
    pub fn describe(self) -> &'static str {
        match self {
            MapLayout::Neighbourhoods => "Neighbourhoods: look-alikes close together",
            MapLayout::Pca => "PCA: the two directions of largest spread",
        }
    }
}

/// Catalogs larger than this have their map plane fitted on this many evenly spaced items.
pub const MAP_FIT_ROWS: usize = 50_000;

/// The map of a catalog: its plane, and each item's point on it in item order.
#[derive(Debug, Clone)]
pub struct CatalogMap {
    pub projection: MapProjection,
    /// One point per item of the catalog, in the catalog's order.
    pub points: Vec<[f32; 2]>,
}

impl CatalogMap {
    /// Fit the plane on every item of `catalog` (or an even sample of [`MAP_FIT_ROWS`] of a
    /// larger one), place every item, and save the map with the catalog.
    pub fn compute(catalog: &Catalog) -> Result<CatalogMap> {
        let vectors = catalog.vectors();
        let (n, dims) = (vectors.len(), vectors.dims());
        let projection = if n <= MAP_FIT_ROWS {
            pca_2d(&vectors.to_f32(), dims)
        } else {
            let sample: Vec<f32> = (0..MAP_FIT_ROWS)
                .flat_map(|j| vectors.row(j * n / MAP_FIT_ROWS).into_owned())
                .collect();
            pca_2d(&sample, dims)
        };
        let mut points = Vec::with_capacity(n);
        vectors.for_each_block(|block| {
            points.par_extend(block.par_chunks_exact(dims).map(|r| projection.project(r)))
        });
        let ids = catalog.items().iter().map(|it| it.id);
        let stored: Vec<(i64, [f32; 2])> = ids.zip(points.iter().copied()).collect();
        catalog.store().save_map(&projection, &stored)?;
        Ok(CatalogMap { projection, points })
    }

    /// The map saved with `catalog`, when there is one for every item it has now.
    pub fn load(catalog: &Catalog) -> Result<Option<CatalogMap>> {
        Ok(catalog
            .store()
            .load_map()?
            .and_then(|stored| Self::for_items(catalog, stored)))
    }

    /// A stored map put in `catalog`'s item order; None when an item has no point.
    fn for_items(catalog: &Catalog, stored: StoredMap) -> Option<CatalogMap> {
        let by_id: std::collections::HashMap<i64, [f32; 2]> = stored.points.into_iter().collect();
        let points: Option<Vec<[f32; 2]>> = catalog
            .items()
            .iter()
            .map(|it| by_id.get(&it.id).copied())
            .collect();
        Some(CatalogMap {
            projection: stored.projection,
            points: points?,
        })
    }

    pub fn len(&self) -> usize {
        self.points.len()
    }

    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// Where vector `v` (a query photo) falls on the map.
    pub fn place(&self, v: &[f32]) -> [f32; 2] {
        self.projection.project(v)
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
