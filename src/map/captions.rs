//! Captions for the map's neighbourhoods: the points grouped by k-means on the plane, each group
//! named by its most common label where that label holds a good share of it; groups of one label
//! lying close together share one caption. Also which points fall inside a lasso.

/// One caption: where it is written, what it says, and the items it stands for.
#[derive(Debug, Clone, PartialEq)]
pub struct Caption {
    pub at: [f32; 2],
    pub label: String,
    /// Items of its neighbourhood (all of them, whatever their label).
    pub items: Vec<usize>,
    /// Share of them with the caption's label.
    pub share: f32,
}

/// A neighbourhood gets a caption when its most common label is at least this share of it.
const MIN_SHARE: f32 = 0.4;
/// Captions of one label closer than this share of the map's diagonal are one caption.
const MERGE_WITHIN: f32 = 0.12;
const ITERATIONS: usize = 25;

/// Captions of `points` (one label per point), in about `groups` neighbourhoods.
pub fn captions(points: &[[f32; 2]], labels: &[&str], groups: usize) -> Vec<Caption> {
    let n = points.len();
    let k = groups.min(n / 8).max(1);
    if n == 0 {
        return Vec::new();
    }
    // Start from evenly spaced points, in order along x: deterministic.
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| points[a][0].total_cmp(&points[b][0]));
    let mut centres: Vec<[f32; 2]> = (0..k)
        .map(|j| points[order[(2 * j + 1) * n / (2 * k)]])
        .collect();
    let mut of = vec![0usize; n];
    for _ in 0..ITERATIONS {
        for (i, p) in points.iter().enumerate() {
            of[i] = nearest_centre(&centres, *p);
        }
        let mut sums = vec![[0.0f64; 3]; k];
        for (i, p) in points.iter().enumerate() {
            let s = &mut sums[of[i]];
            s[0] += p[0] as f64;
            s[1] += p[1] as f64;
            s[2] += 1.0;
        }
        for (c, s) in centres.iter_mut().zip(&sums) {
            if s[2] > 0.0 {
                *c = [(s[0] / s[2]) as f32, (s[1] / s[2]) as f32];
            }
        }
    }
    let (lo, hi) = points
        .iter()
        .fold(([f32::MAX; 2], [f32::MIN; 2]), |(lo, hi), p| {
            (
                [lo[0].min(p[0]), lo[1].min(p[1])],
                [hi[0].max(p[0]), hi[1].max(p[1])],
            )
        });
    let diagonal = ((hi[0] - lo[0]).powi(2) + (hi[1] - lo[1]).powi(2)).sqrt();
    let mut found: Vec<Caption> = Vec::new();
    for g in 0..k {
        let members: Vec<usize> = (0..n).filter(|&i| of[i] == g).collect();
        if members.len() < 5 {
            continue;
        }
        let mut counts: std::collections::HashMap<&str, usize> = Default::default();
        for &i in &members {
            *counts.entry(labels[i]).or_default() += 1;
        }
        let Some((label, count)) = counts
            .into_iter()
            .filter(|(l, _)| !l.is_empty())
            .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(a.0)))
        else {
            continue;
        };
        let share = count as f32 / members.len() as f32;
        if share < MIN_SHARE {
            continue;
        }
        // Written over the points that carry the label, not the group's empty middle.
        let with: Vec<[f32; 2]> = members
            .iter()
            .filter(|&&i| labels[i] == label)
            .map(|&i| points[i])
            .collect();
        let at = mean(&with);
        match found
            .iter_mut()
            .find(|c| c.label == label && distance(c.at, at) < MERGE_WITHIN * diagonal)
        {
            Some(c) => {
                let (a, b) = (c.items.len() as f32, members.len() as f32);
                c.at = [
                    (c.at[0] * a + at[0] * b) / (a + b),
                    (c.at[1] * a + at[1] * b) / (a + b),
                ];
                c.share = (c.share * a + share * b) / (a + b);
                c.items.extend(members);
            }
            None => found.push(Caption {
                at,
                label: label.to_string(),
                items: members,
                share,
            }),
        }
    }
    found
}

fn nearest_centre(centres: &[[f32; 2]], p: [f32; 2]) -> usize {
    let mut best = (f32::MAX, 0);
    for (j, c) in centres.iter().enumerate() {
        let d = (c[0] - p[0]).powi(2) + (c[1] - p[1]).powi(2);
        if d < best.0 {
            best = (d, j);
        }
    }
    best.1
}

fn mean(points: &[[f32; 2]]) -> [f32; 2] {
    let n = points.len().max(1) as f32;
    let s = points
        .iter()
        .fold([0.0f32; 2], |s, p| [s[0] + p[0], s[1] + p[1]]);
    [s[0] / n, s[1] / n]
}

fn distance(a: [f32; 2], b: [f32; 2]) -> f32 {
    ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt()
}

/// Whether `p` lies inside the closed polygon `lasso` (even-odd rule).
pub fn inside(lasso: &[[f32; 2]], p: [f32; 2]) -> bool {
    let mut inside = false;
    let mut j = lasso.len().wrapping_sub(1);
    for i in 0..lasso.len() {
        let (a, b) = (lasso[i], lasso[j]);
        if (a[1] > p[1]) != (b[1] > p[1])
            && p[0] < (b[0] - a[0]) * (p[1] - a[1]) / (b[1] - a[1]) + a[0]
        {
            inside = !inside;
        }
        j = i;
    }
    inside
}

/// The items of `points` inside `lasso`.
pub fn lassoed(points: &[[f32; 2]], lasso: &[[f32; 2]]) -> Vec<usize> {
    if lasso.len() < 3 {
        return Vec::new();
    }
    let (lo, hi) = lasso
        .iter()
        .fold(([f32::MAX; 2], [f32::MIN; 2]), |(lo, hi), p| {
            (
                [lo[0].min(p[0]), lo[1].min(p[1])],
                [hi[0].max(p[0]), hi[1].max(p[1])],
            )
        });
    (0..points.len())
        .filter(|&i| {
            let p = points[i];
            p[0] >= lo[0] && p[0] <= hi[0] && p[1] >= lo[1] && p[1] <= hi[1] && inside(lasso, p)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_blobs_get_their_own_labels_and_a_mixed_one_none() {
        let mut points = Vec::new();
        let mut labels = Vec::new();
        let mut rng = fastrand::Rng::with_seed(1);
        for (cx, label) in [(0.0, "Shirts"), (50.0, "Watches")] {
            for _ in 0..100 {
                points.push([cx + rng.f32(), rng.f32()]);
                labels.push(label);
            }
        }
        // A third blob, half and half.
        for i in 0..100 {
            points.push([25.0 + rng.f32(), 40.0 + rng.f32()]);
            labels.push(["Socks", "Caps", "Belts"][i % 3]);
        }
        let found = captions(&points, &labels, 3);
        let mut names: Vec<&str> = found.iter().map(|c| c.label.as_str()).collect();
        names.sort();
        assert_eq!(names, ["Shirts", "Watches"]);
        let shirts = found.iter().find(|c| c.label == "Shirts").unwrap();
        assert!(shirts.at[0] < 2.0 && shirts.items.len() == 100 && shirts.share == 1.0);
    }

    #[test]
    fn one_blob_split_in_several_groups_has_one_caption() {
        let points: Vec<[f32; 2]> = (0..400)
            .map(|i| [(i % 20) as f32 * 0.01, (i / 20) as f32 * 0.01])
            .collect();
        let labels = vec!["Tshirts"; 400];
        let far: Vec<[f32; 2]> = (0..100)
            .map(|i| [10.0 + (i % 10) as f32 * 0.01, 10.0])
            .collect();
        let all: Vec<[f32; 2]> = points.iter().chain(&far).copied().collect();
        let mut l = labels.clone();
        l.extend(vec!["Bags"; 100]);
        let found = captions(&all, &l, 8);
        assert_eq!(found.iter().filter(|c| c.label == "Tshirts").count(), 1);
        assert_eq!(found.iter().filter(|c| c.label == "Bags").count(), 1);
    }

    #[test]
    fn a_lasso_keeps_what_it_encloses() {
        let points = [[0.45, 0.45], [2.0, 2.0], [0.6, 0.1], [0.3, 0.9]];
        // A triangle over the lower left half of the unit square.
        let lasso = [[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]];
        assert_eq!(lassoed(&points, &lasso), vec![0, 2]);
        let square = [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]];
        assert_eq!(lassoed(&points, &square), vec![0, 2, 3]);
        assert!(lassoed(&points, &square[..2]).is_empty());
    }
}
