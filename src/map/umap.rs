//! A layout that keeps neighbourhoods: the algorithm of UMAP (McInnes, Healy and Melville, 2018)
//! on plain row-major vectors. Each point's nearest neighbours become a weighted graph (a fuzzy
//! set: the nearest neighbour at weight 1, the rest falling off so that the weights sum to
//! log2(k)); the plane's points start at the data's first two principal components and are moved
//! by stochastic gradient descent, linked points pulled together, random pairs pushed apart.
//! Points left out of the fit are placed among their nearest fitted neighbours ([`place`]).

use rayon::prelude::*;

use super::knn::Neighbours;

/// The curve 1 / (1 + a d^2b) UMAP fits for min_dist 0.1, spread 1.
const A: f32 = 1.576_943_5;
const B: f32 = 0.895_060_9;
const NEGATIVE_SAMPLES: usize = 5;
/// The fitted plane spans about this much from the centre (UMAP scales its start to [0, 10]).
const START_SPAN: f32 = 10.0;
const CLIP: f32 = 4.0;

/// How a layout is fitted.
#[derive(Debug, Clone, Copy)]
pub struct Fit {
    /// Passes of gradient descent.
    pub epochs: usize,
    pub seed: u64,
}

impl Fit {
    /// UMAP's defaults: 500 passes for small sets, 200 for large.
    pub fn for_points(n: usize) -> Fit {
        Fit {
            epochs: if n <= 10_000 { 500 } else { 200 },
            seed: 0x5EED_1A70,
        }
    }
}

/// The weights a point gives its nearest neighbours at distances `dists` (ascending): 1 for the
/// nearest, exp(-(d - nearest) / sigma) for the others, sigma chosen so that they sum to log2(k).
pub fn memberships(dists: &[f32]) -> Vec<f32> {
    let k = dists.len();
    if k == 0 {
        return Vec::new();
    }
    let target = (k as f32).log2().max(1.0);
    let rho = dists.iter().copied().find(|d| *d > 0.0).unwrap_or(0.0);
    let total = |sigma: f32| -> f32 {
        dists
            .iter()
            .map(|d| (-(d - rho).max(0.0) / sigma).exp())
            .sum()
    };
    let (mut lo, mut hi, mut sigma) = (0.0f32, f32::INFINITY, 1.0f32);
    for _ in 0..64 {
        let s = total(sigma);
        if (s - target).abs() < 1e-5 {
            break;
        }
        if s > target {
            hi = sigma;
            sigma = (lo + hi) / 2.0;
        } else {
            lo = sigma;
            sigma = if hi.is_finite() {
                (lo + hi) / 2.0
            } else {
                sigma * 2.0
            };
        }
    }
    let mean = dists.iter().sum::<f32>() / k as f32;
    let sigma = sigma.max(1e-3 * mean).max(1e-12);
    dists
        .iter()
        .map(|d| (-(d - rho).max(0.0) / sigma).exp())
        .collect()
}

/// The symmetric graph of the fuzzy neighbourhoods: each linked pair once, with the weight
/// w_ij + w_ji - w_ij w_ji (the probability that either calls the other a neighbour).
pub fn graph(neighbours: &Neighbours) -> Vec<(u32, u32, f32)> {
    let mut directed: Vec<(u32, u32, f32)> = neighbours
        .rows
        .par_iter()
        .enumerate()
        .flat_map_iter(|(i, row)| {
            let dists: Vec<f32> = row.iter().map(|n| n.1).collect();
            let weights = memberships(&dists);
            row.iter()
                .zip(weights)
                .filter(move |((j, _), _)| *j as usize != i)
                .map(move |((j, _), w)| {
                    let (a, b) = (i as u32, *j);
                    if a < b { (a, b, w) } else { (b, a, w) }
                })
                .collect::<Vec<_>>()
        })
        .collect();
    directed.par_sort_unstable_by_key(|e| (e.0, e.1));
    let mut edges: Vec<(u32, u32, f32)> = Vec::with_capacity(directed.len());
    for (a, b, w) in directed {
        match edges.last_mut() {
            Some(last) if last.0 == a && last.1 == b => last.2 = last.2 + w - last.2 * w,
            _ => edges.push((a, b, w)),
        }
    }
    edges
}

/// Points scaled so that the larger of their spreads spans [`START_SPAN`] about the centre.
pub fn scaled_start(points: &mut [[f32; 2]]) {
    let n = points.len().max(1) as f32;
    let mean = points
        .iter()
        .fold([0.0f32; 2], |m, p| [m[0] + p[0], m[1] + p[1]]);
    let mean = [mean[0] / n, mean[1] / n];
    let span = points
        .iter()
        .map(|p| (p[0] - mean[0]).abs().max((p[1] - mean[1]).abs()))
        .fold(0.0f32, f32::max)
        .max(1e-12);
    for p in points.iter_mut() {
        p[0] = (p[0] - mean[0]) / span * START_SPAN;
        p[1] = (p[1] - mean[1]) / span * START_SPAN;
    }
}

/// Move `points` (the start, one per graph vertex) by UMAP's stochastic gradient descent on
/// `edges`; `progress` is told the fraction done now and then.
pub fn optimise(
    points: &mut [[f32; 2]],
    edges: &[(u32, u32, f32)],
    fit: Fit,
    progress: &dyn Fn(f32),
) {
    let n = points.len();
    let most = edges.iter().map(|e| e.2).fold(0.0f32, f32::max);
    if n < 2 || most <= 0.0 || fit.epochs == 0 {
        return;
    }
    // Edges too weak to be sampled once in the whole run are dropped, as UMAP does.
    let floor = most / fit.epochs as f32;
    let edges: Vec<&(u32, u32, f32)> = edges.iter().filter(|e| e.2 >= floor).collect();
    let every: Vec<f32> = edges.iter().map(|e| most / e.2).collect();
    let mut next: Vec<f32> = every.clone();
    let every_negative: Vec<f32> = every.iter().map(|e| e / NEGATIVE_SAMPLES as f32).collect();
    let mut next_negative = every_negative.clone();
    let mut rng = fastrand::Rng::with_seed(fit.seed);
    for epoch in 0..fit.epochs {
        let alpha = 1.0 - epoch as f32 / fit.epochs as f32;
        let now = epoch as f32;
        for (e, &&(i, j, _)) in edges.iter().enumerate() {
            if next[e] > now {
                continue;
            }
            let (i, j) = (i as usize, j as usize);
            let d = [points[i][0] - points[j][0], points[i][1] - points[j][1]];
            let d2 = d[0] * d[0] + d[1] * d[1];
            if d2 > 0.0 {
                let d2b = d2.powf(B);
                let coeff = -2.0 * A * B * d2b / d2 / (A * d2b + 1.0);
                for k in 0..2 {
                    let g = (coeff * d[k]).clamp(-CLIP, CLIP) * alpha;
                    points[i][k] += g;
                    points[j][k] -= g;
                }
            }
            next[e] += every[e];
            let negatives = ((now - next_negative[e]) / every_negative[e]).max(0.0) as usize;
            for _ in 0..negatives {
                let other = rng.usize(..n);
                if other == i {
                    continue;
                }
                let d = [
                    points[i][0] - points[other][0],
                    points[i][1] - points[other][1],
                ];
                let d2 = d[0] * d[0] + d[1] * d[1];
                for k in 0..2 {
                    let g = if d2 > 0.0 {
                        let coeff = 2.0 * B / ((0.001 + d2) * (A * d2.powf(B) + 1.0));
                        (coeff * d[k]).clamp(-CLIP, CLIP)
                    } else {
                        CLIP
                    };
                    points[i][k] += g * alpha;
                }
            }
            next_negative[e] += negatives as f32 * every_negative[e];
        }
        if epoch % 10 == 0 {
            progress(epoch as f32 / fit.epochs as f32);
        }
    }
    progress(1.0);
}

/// Where a point whose nearest fitted points are `near` (index into `fitted`, distance;
/// ascending) goes: the mean of their places weighted by their fuzzy memberships.
pub fn place(near: &[(u32, f32)], fitted: &[[f32; 2]]) -> Option<[f32; 2]> {
    let dists: Vec<f32> = near.iter().map(|n| n.1).collect();
    let weights = memberships(&dists);
    let total: f32 = weights.iter().sum();
    if near.is_empty() || total <= 0.0 || !total.is_finite() {
        return None;
    }
    let mut at = [0.0f32; 2];
    for ((j, _), w) in near.iter().zip(&weights) {
        let p = fitted[*j as usize];
        at[0] += p[0] * w / total;
        at[1] += p[1] * w / total;
    }
    Some(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memberships_start_at_one_and_sum_to_log2_k() {
        let w = memberships(&[0.2, 0.3, 0.5, 0.6, 0.9, 1.0, 1.1, 1.5]);
        assert_eq!(w[0], 1.0);
        assert!(w.windows(2).all(|p| p[0] >= p[1]));
        assert!((w.iter().sum::<f32>() - 3.0).abs() < 1e-3);
        // Copies (distance 0) are all full neighbours.
        let w = memberships(&[0.0, 0.0, 0.4, 0.8]);
        assert_eq!(&w[..3], &[1.0, 1.0, 1.0]);
    }

    #[test]
    fn the_graph_joins_both_directions_once() {
        let neighbours = Neighbours {
            rows: vec![
                vec![(1, 0.1), (2, 0.5)],
                vec![(0, 0.1), (2, 0.3)],
                vec![(1, 0.3), (0, 0.5)],
            ],
        };
        let edges = graph(&neighbours);
        let pairs: Vec<(u32, u32)> = edges.iter().map(|e| (e.0, e.1)).collect();
        assert_eq!(pairs, vec![(0, 1), (0, 2), (1, 2)]);
        assert!(edges.iter().all(|e| e.2 > 0.0 && e.2 <= 1.0));
    }
}
