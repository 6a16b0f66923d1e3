//! Fine detail of two photos compared once aligned to the pixel: the evidence that they are one
//! shot (a copy) and not the same pose shot again, for pairs the embedding and colours leave open.
//!
//! The coarse alignment of [`super::align`] (mirror, scale, shift) is refined by Gauss-Newton on
//! lightness (Lucas-Kanade, an affine map: a small rotation, a crop or a scale undone), coarse to
//! fine, pixels that disagree much (a text stamp, a sticker) down-weighted. Then patch by patch the
//! texture of the first must match the aligned second: seams, prints, folds and hair are where two
//! shots of one pose differ.

use image::RgbImage;
use serde::Serialize;

use super::align::{correlation, linear};

/// Side of the square the fine detail is compared on.
pub(super) const DETAIL: usize = 96;
/// Turns (degrees) the fine alignment also starts from, when the straight start does not line up
/// to [`LINED_UP`] (lightness correlation): a copy tilted a few degrees either way.
const START_ANGLES: [f32; 2] = [-5.0, 5.0];
const LINED_UP: f32 = 0.97;
/// Side of the patches whose detail is matched.
const PATCH_SIDE: usize = 8;
/// Each patch may move this many pixels to find its match (resampling).
const PATCH_SHIFT: isize = 1;
/// A patch is textured from this variance of lightness (L*, squared): a standard deviation of 3.
const TEXTURE_VARIANCE: f32 = 9.0;

/// The two photos' fine detail (seams, prints, folds, hair), compared patch by patch once aligned
/// to the pixel (Lucas-Kanade, undoing a small rotation too): a copy keeps it wherever it was not
/// covered; another shot of the same pose, even of the same product, does not.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DetailCheck {
    /// Share of the textured patches whose detail matches.
    pub agrees: f32,
    /// Share of the frame's patches with texture to compare (a plain wallet has little).
    pub textured: f32,
}

/// A patch's detail matches from this correlation of lightness (after the finer alignment).
const PATCH_MATCH: f32 = 0.9;
/// At least this share of the frame must be textured for the detail to say anything...
pub const TEXTURED: f32 = 0.4;
/// ...and then this share of the textured patches must match for the two to be one shot...
pub const DETAIL_AGREES: f32 = 0.8;
/// ...while under this share they are two shots, however alike otherwise: a copy keeps its
/// detail wherever nothing was laid over it (in the benchmark, copies with a text banner or a
/// sticker keep 0.62 and more once aligned; the same pose shot again 0.39-0.72).
pub const OTHER_SHOT: f32 = 0.6;

impl DetailCheck {
    /// The same shot: enough texture, and most of it matching.
    pub fn same_shot(&self) -> bool {
        self.textured >= TEXTURED && self.agrees >= DETAIL_AGREES
    }

    /// Two shots (the same pose photographed again): enough texture, and most of it differing.
    pub fn other_shot(&self) -> bool {
        self.textured >= TEXTURED && self.agrees < OTHER_SHOT
    }
}

/// Lightness (L* x 2.5, 8 bits) of `content` resampled to `DETAIL x DETAIL`.
pub(super) fn lightness_plane(content: &RgbImage) -> Box<[u8]> {
    crate::embed::preprocess::resize_to(content, DETAIL as u32, DETAIL as u32)
        .pixels()
        .map(|p| (lightness_of(p.0) * 2.5).round().clamp(0.0, 255.0) as u8)
        .collect()
}

/// The fine detail of lightness plane `own` against `other` (both `DETAIL x DETAIL`, L*), once
/// `other` is aligned to the pixel from the map `start`; `outside` is `other`'s background and
/// `aspect` the width over height of `own`'s content (squeezed to the square plane).
pub(super) fn check(
    own: &[f32],
    other: &[f32],
    outside: f32,
    start: Affine,
    aspect: f32,
) -> DetailCheck {
    // Coarse to fine: from the window turned a little either way (a tilted copy), refined on
    // blurred half-size planes; the best start refined again at full size.
    let half = DETAIL / 2;
    let own_half = box_blur(&halved(own, DETAIL), half, 1);
    let other_half = box_blur(&halved(other, DETAIL), half, 1);
    let from = |angle: f32| {
        let m = start
            .turned(angle, aspect)
            .halved()
            .refined(&own_half, &other_half, half, 8);
        let seen = m.warp(&other_half, half, outside);
        (correlation(&own_half, &seen), m)
    };
    // Straight first; turned starts only when that did not line up.
    let mut best = from(0.0);
    if best.0 < LINED_UP {
        for angle in START_ANGLES {
            let tried = from(angle);
            if tried.0 > best.0 {
                best = tried;
            }
        }
    }
    let map = best.1.doubled().refined(
        &box_blur(own, DETAIL, 1),
        &box_blur(other, DETAIL, 1),
        DETAIL,
        5,
    );
    let aligned = map.warp(other, DETAIL, outside);
    // Each textured patch of the first photo against the aligned second, a pixel of play.
    let n = DETAIL / PATCH_SIDE;
    let patch = |plane: &[f32], x0: usize, y0: usize| -> Vec<f32> {
        (0..PATCH_SIDE)
            .flat_map(|y| &plane[(y0 + y) * DETAIL + x0..(y0 + y) * DETAIL + x0 + PATCH_SIDE])
            .copied()
            .collect()
    };
    let (mut textured, mut agreeing) = (0usize, 0usize);
    for py in 0..n {
        for px in 0..n {
            let (x0, y0) = (px * PATCH_SIDE, py * PATCH_SIDE);
            let own = patch(own, x0, y0);
            let mean = own.iter().sum::<f32>() / own.len() as f32;
            let var = own.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / own.len() as f32;
            if var < TEXTURE_VARIANCE {
                continue;
            }
            textured += 1;
            let last = (DETAIL - PATCH_SIDE) as isize;
            let matches = (-PATCH_SHIFT..=PATCH_SHIFT)
                .flat_map(|dy| (-PATCH_SHIFT..=PATCH_SHIFT).map(move |dx| (dx, dy)))
                .map(|(dx, dy)| (x0 as isize + dx, y0 as isize + dy))
                .filter(|&(x, y)| (0..=last).contains(&x) && (0..=last).contains(&y))
                .any(|(x, y)| {
                    correlation(&own, &patch(&aligned, x as usize, y as usize)) >= PATCH_MATCH
                });
            agreeing += matches as usize;
        }
    }
    DetailCheck {
        agrees: agreeing as f32 / textured.max(1) as f32,
        textured: textured as f32 / (n * n) as f32,
    }
}

/// An affine map from the first photo's detail pixels to the second's: with the first's pixel
/// centre in -1..1 coordinates `(s, t)`, the second's pixel is `(m[0] s + m[1] t + m[4], m[2] s +
/// m[3] t + m[5])`. Refined by Gauss-Newton on lightness (Lucas-Kanade), which undoes a small
/// rotation, a crop or a scale the coarse search only came close to.
#[derive(Debug, Clone, Copy)]
pub(super) struct Affine([f32; 6]);

impl Affine {
    /// The map through three points of the first plane, in -1..1 coordinates: where its centre
    /// `(0, 0)`, `(1, 0)` and `(0, 1)` fall in the second's pixels.
    pub(super) fn through(o: (f32, f32), right: (f32, f32), down: (f32, f32)) -> Self {
        Affine([
            right.0 - o.0,
            down.0 - o.0,
            right.1 - o.1,
            down.1 - o.1,
            o.0,
            o.1,
        ])
    }

    /// This map with the first photo's content turned by `degrees` about its centre first; the
    /// content is `aspect` times as wide as high, squeezed to the square plane, so a turn of the
    /// photo is a turn in the plane only when `aspect` is 1.
    fn turned(self, degrees: f32, aspect: f32) -> Self {
        let (sin, cos) = degrees.to_radians().sin_cos();
        // In the plane: stretch to the content's shape, turn, squeeze back.
        let (r10, r01) = (sin * aspect, -sin / aspect);
        let m = self.0;
        Affine([
            m[0] * cos + m[1] * r10,
            m[0] * r01 + m[1] * cos,
            m[2] * cos + m[3] * r10,
            m[2] * r01 + m[3] * cos,
            m[4],
            m[5],
        ])
    }

    /// The same map between planes of half the size.
    fn halved(self) -> Self {
        let m = self.0;
        Affine([
            m[0] / 2.0,
            m[1] / 2.0,
            m[2] / 2.0,
            m[3] / 2.0,
            (m[4] + 0.5) / 2.0 - 0.5,
            (m[5] + 0.5) / 2.0 - 0.5,
        ])
    }

    /// The same map between planes of twice the size.
    fn doubled(self) -> Self {
        let m = self.0;
        Affine([
            m[0] * 2.0,
            m[1] * 2.0,
            m[2] * 2.0,
            m[3] * 2.0,
            (m[4] + 0.5) * 2.0 - 0.5,
            (m[5] + 0.5) * 2.0 - 0.5,
        ])
    }

    fn apply(&self, i: usize, j: usize, n: usize) -> (f32, f32) {
        let m = &self.0;
        let (s, t) = (centred(i, n), centred(j, n));
        (m[0] * s + m[1] * t + m[4], m[2] * s + m[3] * t + m[5])
    }

    /// `src` (`n x n`) seen through this map (outside it: `outside`).
    fn warp(&self, src: &[f32], n: usize, outside: f32) -> Vec<f32> {
        let mut out = Vec::with_capacity(n * n);
        for j in 0..n {
            for i in 0..n {
                let (x, y) = self.apply(i, j, n);
                out.push(bilinear(src, n, x, y).unwrap_or(outside));
            }
        }
        out
    }

    /// Gauss-Newton steps that make `other` seen through the map match `own` (up to gain and
    /// offset of lightness), pixels that disagree much (a stamp) down-weighted.
    fn refined(self, own: &[f32], other: &[f32], n: usize, steps: usize) -> Self {
        let (gx, gy) = gradients(other, n);
        let mut m = self;
        for _ in 0..steps {
            let mut rows = Vec::with_capacity(n * n);
            for j in 0..n {
                for i in 0..n {
                    let (x, y) = m.apply(i, j, n);
                    if let (Some(b), Some(dx), Some(dy)) = (
                        bilinear(other, n, x, y),
                        bilinear(&gx, n, x, y),
                        bilinear(&gy, n, x, y),
                    ) {
                        rows.push((i, j, own[j * n + i], b, dx, dy));
                    }
                }
            }
            if rows.len() < n * n / 4 {
                break;
            }
            // Lightness gain and offset that best map the second onto the first.
            let k = rows.len() as f32;
            let (ma, mb) = (
                rows.iter().map(|r| r.2).sum::<f32>() / k,
                rows.iter().map(|r| r.3).sum::<f32>() / k,
            );
            let (mut ab, mut bb) = (0f32, 0f32);
            for r in &rows {
                ab += (r.2 - ma) * (r.3 - mb);
                bb += (r.3 - mb).powi(2);
            }
            let gain = if bb > 1e-3 {
                (ab / bb).clamp(0.3, 3.0)
            } else {
                1.0
            };
            let errors: Vec<f32> = rows.iter().map(|r| gain * (r.3 - mb) + ma - r.2).collect();
            let mut abs: Vec<f32> = errors.iter().map(|e| e.abs()).collect();
            let mid = abs.len() / 2;
            let mad = *abs.select_nth_unstable_by(mid, f32::total_cmp).1;
            let huber = (2.5 * mad).max(1.0);
            // The upper triangle of h is summed; the lower mirrors it.
            let (mut h, mut g) = ([[0f32; 6]; 6], [0f32; 6]);
            for (r, e) in rows.iter().zip(&errors) {
                let (dx, dy) = (gain * r.4, gain * r.5);
                if dx.abs() + dy.abs() < 0.05 {
                    continue; // flat here: says nothing about where it lies
                }
                let (s, t) = (centred(r.0, n), centred(r.1, n));
                let jac = [dx * s, dx * t, dy * s, dy * t, dx, dy];
                let wgt = if e.abs() <= huber {
                    1.0
                } else {
                    huber / e.abs()
                };
                for a in 0..6 {
                    let wa = wgt * jac[a];
                    g[a] += wa * e;
                    for b in a..6 {
                        h[a][b] += wa * jac[b];
                    }
                }
            }
            // The lower triangle mirrors the upper; the diagonal a little damped
            // (Levenberg-Marquardt), so a flat direction does not throw the map off.
            let h: [[f32; 6]; 6] = std::array::from_fn(|a| {
                std::array::from_fn(|b| match a.cmp(&b) {
                    std::cmp::Ordering::Less => h[a][b],
                    std::cmp::Ordering::Equal => h[a][a] * 1.01 + 1e-3,
                    std::cmp::Ordering::Greater => h[b][a],
                })
            });
            let Some(step) = solve6(h, g.map(|v| -v)) else {
                break;
            };
            for (v, d) in m.0.iter_mut().zip(step) {
                *v += d;
            }
            if step.iter().map(|v| v.abs()).fold(0.0, f32::max) < 0.01 {
                break;
            }
        }
        m
    }
}

/// Pixel `i` of `n` in -1..1 coordinates.
pub(super) fn centred(i: usize, n: usize) -> f32 {
    (i as f32 + 0.5) / n as f32 * 2.0 - 1.0
}

/// Plane `src` (`n x n`) at `(x, y)`, bilinearly; None outside.
fn bilinear(src: &[f32], n: usize, x: f32, y: f32) -> Option<f32> {
    let last = (n - 1) as f32;
    if !(0.0..=last).contains(&x) || !(0.0..=last).contains(&y) {
        return None;
    }
    let (x0, y0) = (x as usize, y as usize);
    let (x1, y1) = ((x0 + 1).min(n - 1), (y0 + 1).min(n - 1));
    let (fx, fy) = (x - x0 as f32, y - y0 as f32);
    let top = src[y0 * n + x0] + (src[y0 * n + x1] - src[y0 * n + x0]) * fx;
    let bottom = src[y1 * n + x0] + (src[y1 * n + x1] - src[y1 * n + x0]) * fx;
    Some(top + (bottom - top) * fy)
}

/// Plane `src` (`n x n`, `n` even) at half the size, each pixel the mean of four.
fn halved(src: &[f32], n: usize) -> Vec<f32> {
    let h = n / 2;
    (0..h * h)
        .map(|k| {
            let (x, y) = (k % h * 2, k / h * 2);
            (src[y * n + x] + src[y * n + x + 1] + src[(y + 1) * n + x] + src[(y + 1) * n + x + 1])
                / 4.0
        })
        .collect()
}

/// Horizontal and vertical central differences of plane `src` (`n x n`).
fn gradients(src: &[f32], n: usize) -> (Vec<f32>, Vec<f32>) {
    let mut gx = vec![0f32; n * n];
    let mut gy = vec![0f32; n * n];
    for y in 0..n {
        for x in 0..n {
            let (l, r) = (x.saturating_sub(1), (x + 1).min(n - 1));
            let (u, d) = (y.saturating_sub(1), (y + 1).min(n - 1));
            gx[y * n + x] = (src[y * n + r] - src[y * n + l]) / (r - l) as f32;
            gy[y * n + x] = (src[d * n + x] - src[u * n + x]) / (d - u) as f32;
        }
    }
    (gx, gy)
}

/// Plane `src` (`n x n`) averaged over squares of side `2 r + 1`.
fn box_blur(src: &[f32], n: usize, r: usize) -> Vec<f32> {
    let pass = |src: &[f32], horizontal: bool| -> Vec<f32> {
        let mut out = vec![0f32; n * n];
        for a in 0..n {
            for b in 0..n {
                let (lo, hi) = (b.saturating_sub(r), (b + r).min(n - 1));
                let sum: f32 = (lo..=hi)
                    .map(|c| {
                        if horizontal {
                            src[a * n + c]
                        } else {
                            src[c * n + a]
                        }
                    })
                    .sum();
                let v = sum / (hi - lo + 1) as f32;
                if horizontal {
                    out[a * n + b] = v;
                } else {
                    out[b * n + a] = v;
                }
            }
        }
        out
    };
    pass(&pass(src, true), false)
}

/// `h x = g` for a 6 x 6 system, by Gaussian elimination with partial pivoting.
fn solve6(mut h: [[f32; 6]; 6], mut g: [f32; 6]) -> Option<[f32; 6]> {
    for c in 0..6 {
        let p = (c..6).max_by(|&a, &b| h[a][c].abs().total_cmp(&h[b][c].abs()))?;
        if h[p][c].abs() < 1e-9 {
            return None;
        }
        h.swap(c, p);
        g.swap(c, p);
        for r in c + 1..6 {
            let f = h[r][c] / h[c][c];
            let pivot = h[c];
            for (v, p) in h[r][c..].iter_mut().zip(&pivot[c..]) {
                *v -= f * p;
            }
            g[r] -= f * g[c];
        }
    }
    let mut x = [0f32; 6];
    for c in (0..6).rev() {
        let s: f32 = (c + 1..6).map(|k| h[c][k] * x[k]).sum();
        x[c] = (g[c] - s) / h[c][c];
    }
    Some(x)
}

/// CIE lightness L* of an sRGB colour (8 bits per channel).
fn lightness_of(rgb: [u8; 3]) -> f32 {
    let [r, g, b] = rgb.map(linear);
    let y = 0.2126 * r + 0.7152 * g + 0.0722 * b;
    if y > 0.008856 {
        116.0 * y.cbrt() - 16.0
    } else {
        903.3 * y
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lightness_is_lab_lightness() {
        for rgb in [
            [0, 0, 0],
            [255, 255, 255],
            [200, 40, 60],
            [3, 5, 2],
            [90, 200, 130],
        ] {
            let l = super::super::align::lab(rgb)[0];
            assert!((lightness_of(rgb) - l).abs() < 0.01, "{rgb:?}");
        }
    }

    #[test]
    fn a_turn_of_a_wide_photo_keeps_its_lengths() {
        // A frame twice as wide as high, squeezed to the square plane: a quarter turn takes the
        // right edge's centre (2 units from the centre) to 2 units below it, the bottom edge's
        // centre (1 unit) to 1 unit left of it.
        let Affine(m) = Affine([1.0, 0.0, 0.0, 1.0, 0.0, 0.0]).turned(90.0, 2.0);
        let in_plane = |s: f32, t: f32| (m[0] * s + m[1] * t, m[2] * s + m[3] * t);
        let (x, y) = in_plane(1.0, 0.0);
        assert!((x * 2.0).abs() < 1e-5 && (y - 2.0).abs() < 1e-5, "{x} {y}");
        let (x, y) = in_plane(0.0, 1.0);
        assert!((x * 2.0 + 1.0).abs() < 1e-5 && y.abs() < 1e-5, "{x} {y}");
    }

    #[test]
    fn a_six_by_six_system_is_solved() {
        let mut h = [[0f32; 6]; 6];
        for (a, row) in h.iter_mut().enumerate() {
            for (b, v) in row.iter_mut().enumerate() {
                *v = if a == b {
                    4.0
                } else {
                    1.0 / (1 + a + b) as f32
                };
            }
        }
        let x = [1.0, -2.0, 0.5, 3.0, 0.0, -1.0];
        let g: [f32; 6] = std::array::from_fn(|a| (0..6).map(|b| h[a][b] * x[b]).sum());
        let solved = solve6(h, g).expect("not singular");
        for (s, x) in solved.iter().zip(x) {
            assert!((s - x).abs() < 1e-4, "{solved:?}");
        }
    }
}
