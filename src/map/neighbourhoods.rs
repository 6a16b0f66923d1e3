//! The neighbourhood layout of a catalog: items that are near in the embedding stay near on the
//! plane ([`super::umap`]), which the PCA plane does not keep. Fitted on the whole catalog or, past
//! [`LAYOUT_FIT_ROWS`], on an even sample with the rest placed among their nearest sampled items;
//! kept in the store under [`LAYOUT_NAME`]; items added later are placed the same way when it is
//! read, and a query photo lands among its nearest items.

use rayon::prelude::*;

use super::knn::{Neighbours, nearest};
use super::umap::{self, Fit};
use crate::catalog::Catalog;
use crate::error::Result;
use crate::search::pca::principal_components;

pub use crate::catalog::NEIGHBOURHOOD_LAYOUT as LAYOUT_NAME;
/// Catalogs larger than this are fitted on this many evenly spaced items, the rest placed.
pub const LAYOUT_FIT_ROWS: usize = 20_000;
/// Neighbours are found among the vectors' leading principal components (most of their spread,
/// a twentieth of the arithmetic for 1280 dimensions).
const REDUCED_DIMS: usize = 64;
/// Neighbours each fitted point is linked to (UMAP's default).
const GRAPH_NEIGHBOURS: usize = 15;
/// Neighbours a placed point (an item left out of the fit, a query) lands among.
const PLACE_NEIGHBOURS: usize = 10;
/// Items the stored layout lacks are placed when at most this share of the catalog; more, and it
/// is fitted again.
const MAX_PLACED_SHARE: f64 = 0.2;

/// A catalog's neighbourhood layout: one point per item, in item order.
#[derive(Debug, Clone)]
pub struct NeighbourMap {
    pub points: Vec<[f32; 2]>,
}

impl NeighbourMap {
    /// Fit the layout of `catalog`, save it with the catalog and return it; `progress` hears the
    /// fraction done.
    pub fn compute(catalog: &Catalog, progress: &(dyn Fn(f32) + Sync)) -> Result<NeighbourMap> {
        let points = fit_catalog(catalog, progress);
        let stored: Vec<(i64, [f32; 2])> = catalog
            .items()
            .iter()
            .map(|it| it.id)
            .zip(points.iter().copied())
            .collect();
        catalog.store().save_layout(LAYOUT_NAME, &stored)?;
        Ok(NeighbourMap { points })
    }

    /// The layout saved with `catalog`; items it lacks (indexed since) placed among their nearest
    /// laid-out items. None when there is none, or it lacks too many items to be worth keeping.
    pub fn load(catalog: &Catalog) -> Result<Option<NeighbourMap>> {
        Ok(Self::load_placing(catalog)?.map(|(map, _)| map))
    }

    /// [`NeighbourMap::load`], and how many items it placed.
    fn load_placing(catalog: &Catalog) -> Result<Option<(NeighbourMap, usize)>> {
        let stored = catalog.store().load_layout(LAYOUT_NAME)?;
        if stored.is_empty() || catalog.is_empty() {
            return Ok(None);
        }
        let by_id: std::collections::HashMap<i64, [f32; 2]> = stored.into_iter().collect();
        let found: Vec<Option<[f32; 2]>> = catalog
            .items()
            .iter()
            .map(|it| by_id.get(&it.id).copied())
            .collect();
        let missing = found.iter().filter(|p| p.is_none()).count();
        if missing as f64 > MAX_PLACED_SHARE * catalog.len() as f64 || missing == catalog.len() {
            return Ok(None);
        }
        let placed: Vec<Option<[f32; 2]>> = found
            .par_iter()
            .enumerate()
            .map(|(i, p)| {
                p.or_else(|| {
                    let v = catalog.vectors().row(i);
                    place_among(catalog, &found, &v, Some(i))
                })
            })
            .collect();
        let points: Option<Vec<[f32; 2]>> = placed.into_iter().collect();
        Ok(points.map(|points| (NeighbourMap { points }, missing)))
    }

    /// After the catalog changed: the stored layout with new items placed among their neighbours
    /// and saved, so the map does not move under the user; fitted again when it lacks too many
    /// (or has none) and the catalog has at most `fit_up_to` items.
    pub fn keep_current(catalog: &Catalog, fit_up_to: usize) -> Result<Option<NeighbourMap>> {
        if let Some((map, placed)) = Self::load_placing(catalog)? {
            if placed == 0 {
                return Ok(Some(map));
            }
            let stored: Vec<(i64, [f32; 2])> = catalog
                .items()
                .iter()
                .map(|it| it.id)
                .zip(map.points.iter().copied())
                .collect();
            catalog.store().save_layout(LAYOUT_NAME, &stored)?;
            return Ok(Some(map));
        }
        if catalog.is_empty() || catalog.len() > fit_up_to {
            return Ok(None);
        }
        Self::compute(catalog, &|_| {}).map(Some)
    }

    pub fn len(&self) -> usize {
        self.points.len()
    }

    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// Where vector `v` (a query photo) lands: among its nearest items of `catalog`.
    pub fn place(&self, catalog: &Catalog, v: &[f32]) -> Option<[f32; 2]> {
        let found: Vec<Option<[f32; 2]>> = self.points.iter().copied().map(Some).collect();
        place_among(catalog, &found, v, None)
    }
}

/// `v` placed among its nearest items that have a point in `points` (by cosine through the
/// catalog's own index; `skip` is v's own item).
fn place_among(
    catalog: &Catalog,
    points: &[Option<[f32; 2]>],
    v: &[f32],
    skip: Option<usize>,
) -> Option<[f32; 2]> {
    let keep = |i: usize| Some(i) != skip && points.get(i).is_some_and(Option::is_some);
    let hits = catalog.vectors().top_k(v, PLACE_NEIGHBOURS, &keep);
    let fitted: Vec<[f32; 2]> = hits.iter().filter_map(|h| points[h.index]).collect();
    let near: Vec<(u32, f32)> = hits
        .iter()
        .enumerate()
        .map(|(j, h)| (j as u32, (2.0 - 2.0 * h.score).max(0.0).sqrt()))
        .collect();
    umap::place(&near, &fitted)
}

/// The layout of the catalog's vectors, in item order (not saved).
pub fn fit_catalog(catalog: &Catalog, progress: &(dyn Fn(f32) + Sync)) -> Vec<[f32; 2]> {
    let vectors = catalog.vectors();
    let (n, dims) = (vectors.len(), vectors.dims());
    if n <= LAYOUT_FIT_ROWS {
        return fit(&vectors.to_f32(), dims, progress);
    }
    fit_rows(
        n,
        dims,
        &|i, out| out.copy_from_slice(&vectors.row(i)),
        progress,
    )
}

/// The layout of `n` unit vectors of `dims`, `row(i, out)` writing row `i`: fitted on all of them
/// up to [`LAYOUT_FIT_ROWS`], else on an even sample of that many with every other row placed among
/// its nearest sampled rows (in the sample's reduced space), a block of rows at a time.
pub fn fit_rows(
    n: usize,
    dims: usize,
    row: &(dyn Fn(usize, &mut [f32]) + Sync),
    progress: &(dyn Fn(f32) + Sync),
) -> Vec<[f32; 2]> {
    let read = |range: std::ops::Range<usize>, pick: &(dyn Fn(usize) -> usize + Sync)| {
        let mut out = vec![0.0f32; range.len() * dims];
        out.par_chunks_mut(dims)
            .zip(range)
            .for_each(|(o, j)| row(pick(j), o));
        out
    };
    if n <= LAYOUT_FIT_ROWS {
        return fit(&read(0..n, &|i| i), dims, progress);
    }
    let sampled = |j: usize| j * n / LAYOUT_FIT_ROWS;
    let sample = read(0..LAYOUT_FIT_ROWS, &sampled);
    let reducer = Reducer::fit(&sample, dims);
    let reduced = reducer.reduce(&sample);
    drop(sample);
    let fitted = fit_reduced(&reduced, reducer.dims, &|f| progress(f * 0.6));
    let mut points = vec![[0.0f32; 2]; n];
    let mut is_sampled = vec![false; n];
    for (j, p) in fitted.iter().enumerate() {
        points[sampled(j)] = *p;
        is_sampled[sampled(j)] = true;
    }
    // The rest, a block at a time (bounded memory), among their nearest sampled items.
    const BLOCK: usize = 8_192;
    for start in (0..n).step_by(BLOCK) {
        let end = (start + BLOCK).min(n);
        let block = read(start..end, &|i| i);
        let near = nearest(
            &reducer.reduce(&block),
            &reduced,
            reducer.dims,
            PLACE_NEIGHBOURS,
            false,
        );
        for (r, row) in near.rows.iter().enumerate() {
            if !is_sampled[start + r] {
                points[start + r] = umap::place(row, &fitted).unwrap_or([0.0, 0.0]);
            }
        }
        progress(0.6 + 0.4 * end as f32 / n as f32);
    }
    points
}

/// The layout of `n x dims` unit vectors, in row order.
pub fn fit(data: &[f32], dims: usize, progress: &(dyn Fn(f32) + Sync)) -> Vec<[f32; 2]> {
    if dims <= REDUCED_DIMS {
        return fit_reduced(data, dims, progress);
    }
    let reducer = Reducer::fit(data, dims);
    fit_reduced(&reducer.reduce(data), reducer.dims, progress)
}

/// UMAP on reduced vectors whose first two coordinates are their leading principal components.
fn fit_reduced(data: &[f32], dims: usize, progress: &(dyn Fn(f32) + Sync)) -> Vec<[f32; 2]> {
    let n = data.len() / dims.max(1);
    if n < 3 {
        return vec![[0.0, 0.0]; n];
    }
    let neighbours: Neighbours = nearest(data, data, dims, GRAPH_NEIGHBOURS.min(n - 1), true);
    progress(0.15);
    let edges = umap::graph(&neighbours);
    let mut points: Vec<[f32; 2]> = data
        .chunks_exact(dims)
        .map(|r| [r[0], r.get(1).copied().unwrap_or(0.0)])
        .collect();
    umap::scaled_start(&mut points);
    umap::optimise(&mut points, &edges, Fit::for_points(n), &|f| {
        progress(0.15 + 0.85 * f)
    });
    points
}

/// Vectors to their leading principal components (centred).
struct Reducer {
    mean: Vec<f32>,
    /// `dims` axes of the input's length, row-major.
    axes: Vec<f32>,
    input: usize,
    dims: usize,
}

impl Reducer {
    fn fit(data: &[f32], input: usize) -> Reducer {
        let pc = principal_components(data, input, REDUCED_DIMS);
        Reducer {
            dims: pc.axes.len(),
            axes: pc.axes.concat(),
            mean: pc.mean,
            input,
        }
    }

    fn reduce(&self, data: &[f32]) -> Vec<f32> {
        let rows = data.len() / self.input;
        let axes = ndarray::ArrayView2::from_shape((self.dims, self.input), &self.axes)
            .expect("dims x input");
        let mean = ndarray::ArrayView1::from(&self.mean);
        let x = ndarray::ArrayView2::from_shape((rows, self.input), data).expect("rows x input");
        let centred = &x - &mean.insert_axis(ndarray::Axis(0));
        centred.dot(&axes.t()).into_raw_vec_and_offset().0
    }
}

/// How often an item's `k` nearest neighbours on the plane share its label (items without a
/// label are not asked, nor counted as agreeing), over up to `sample` evenly spaced items.
pub fn neighbour_agreement(
    points: &[[f32; 2]],
    labels: &[Option<&str>],
    k: usize,
    sample: usize,
) -> f64 {
    let n = points.len();
    let step = n.div_ceil(sample.max(1)).max(1);
    let asked: Vec<usize> = (0..n)
        .step_by(step)
        .filter(|&i| labels[i].is_some())
        .collect();
    let scores: Vec<f64> = asked
        .par_iter()
        .map(|&i| {
            let p = points[i];
            let mut best: Vec<(f32, usize)> = Vec::with_capacity(k + 1);
            for (j, q) in points.iter().enumerate() {
                if j == i {
                    continue;
                }
                let d = (p[0] - q[0]).powi(2) + (p[1] - q[1]).powi(2);
                if best.len() == k && d >= best[k - 1].0 {
                    continue;
                }
                let at = best.partition_point(|e| e.0 <= d);
                best.insert(at, (d, j));
                best.truncate(k);
            }
            let same = best.iter().filter(|(_, j)| labels[*j] == labels[i]).count();
            same as f64 / best.len().max(1) as f64
        })
        .collect();
    scores.iter().sum::<f64>() / scores.len().max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Unit vectors around `clusters` random centres in 48 dimensions, labelled by centre, and
    /// tilted so that PCA's plane mixes them: the kind of data where only a neighbourhood layout
    /// keeps the clusters apart.
    fn clustered(clusters: usize, per: usize) -> (Vec<f32>, Vec<usize>) {
        let dims = 48;
        let mut rng = fastrand::Rng::with_seed(3);
        let centres: Vec<Vec<f32>> = (0..clusters)
            .map(|_| (0..dims).map(|_| rng.f32() - 0.5).collect())
            .collect();
        let mut data = Vec::new();
        let mut labels = Vec::new();
        for i in 0..clusters * per {
            let c = i % clusters;
            let mut v: Vec<f32> = centres[c]
                .iter()
                .map(|x| x + 0.5 * (rng.f32() - 0.5))
                .collect();
            crate::embed::l2_normalize(&mut v);
            data.extend(v);
            labels.push(c);
        }
        (data, labels)
    }

    #[test]
    fn the_layout_keeps_clusters_that_the_pca_plane_mixes() {
        let (data, labels) = clustered(30, 30);
        let dims = 48;
        let names: Vec<String> = labels.iter().map(|c| c.to_string()).collect();
        let labels: Vec<Option<&str>> = names.iter().map(|s| Some(s.as_str())).collect();
        let layout = fit(&data, dims, &|_| {});
        let pca = crate::search::pca::pca_2d(&data, dims).project_all(&data);
        let ours = neighbour_agreement(&layout, &labels, 10, 1000);
        let theirs = neighbour_agreement(&pca, &labels, 10, 1000);
        eprintln!("layout {ours:.3}, PCA {theirs:.3}");
        assert!(ours > 0.95, "layout agreement {ours:.3}");
        assert!(
            ours > theirs + 0.2,
            "layout {ours:.3} against PCA {theirs:.3}"
        );
        assert!(layout.iter().all(|p| p[0].is_finite() && p[1].is_finite()));
        // The same data gives the same layout.
        assert_eq!(fit(&data, dims, &|_| {}), layout);
    }

    #[test]
    fn agreement_counts_the_neighbours_that_share_the_label() {
        let points = [[0.0, 0.0], [0.1, 0.0], [5.0, 5.0], [5.1, 5.0]];
        let labels = [Some("a"), Some("a"), Some("b"), Some("a")];
        // k = 1: items 0 and 1 agree, 2 and 3 do not.
        assert_eq!(neighbour_agreement(&points, &labels, 1, 10), 0.5);
    }
}
