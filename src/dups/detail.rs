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

use super::affine::Affine;
use super::align::{correlation, linear};

/// Side of the square the fine detail is compared on.
pub(super) const DETAIL: usize = 96;
/// Turns (degrees) the fine alignment also starts from, when the straight start does not line up
/// to [`LINED_UP`] (lightness correlation): a copy tilted a few degrees either way.
const START_ANGLES: [f32; 2] = [-5.0, 5.0];
const LINED_UP: f32 = 0.97;
/// Gauss-Newton steps of the alignment at full size.
const FINE_STEPS: usize = 5;
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
    /// Share of the textured patches beside an overlay that match: outside the rectangle where
    /// the detail disagrees most (a banner, a sticker, a caption), which covers at most
    /// [`OVERLAY`] of the frame...
    pub agrees_beside: f32,
    /// ...and the share of the frame's patches textured there.
    pub textured_beside: f32,
    /// That rectangle, in the first photo's frame (0..1: left, top, right, bottom); None when no
    /// rectangle holds more differing than matching detail.
    #[serde(skip)]
    pub overlay: Option<[f32; 4]>,
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
/// An overlay laid on a copy covers at most this share of the frame...
pub const OVERLAY: f32 = 0.25;
/// ...and beside it this share of the textured patches must match (stricter than
/// [`DETAIL_AGREES`]: leaving out the worst rectangle flatters any pair). In the benchmark, copies
/// with a text banner keep 0.86-1.0 beside it, the same pose shot again at most 0.89.
pub const BESIDE_OVERLAY_AGREES: f32 = 0.9;
/// Weight of a matching patch against a differing one when the overlay's rectangle is chosen:
/// the rectangle holds differing patches, few matching ones.
pub(super) const OVERLAY_MATCH_WEIGHT: f32 = 2.0;

impl DetailCheck {
    /// The same shot: enough texture, and most of it matching, or nearly all of it beside an
    /// overlay (a banner, a sticker).
    pub fn same_shot(&self) -> bool {
        (self.textured >= TEXTURED && self.agrees >= DETAIL_AGREES) || self.overlaid()
    }

    /// One shot with something laid over it: too little matching over the whole frame, nearly
    /// all of it beside the overlay.
    pub fn overlaid(&self) -> bool {
        self.agrees < DETAIL_AGREES
            && self.textured_beside >= TEXTURED
            && self.agrees_beside >= BESIDE_OVERLAY_AGREES
    }

    /// Two shots (the same pose photographed again): enough texture, and most of it differing,
    /// even beside an overlay.
    pub fn other_shot(&self) -> bool {
        self.textured >= TEXTURED && self.agrees < OTHER_SHOT && !self.same_shot()
    }
}

/// What a patch of the first photo says once the second is aligned to it.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Patch {
    Plain,
    Matches,
    Differs,
}

/// The share of textured patches that match and of the frame's patches textured, over `n x n`
/// patches `grid`, outside the rectangle `skip` (rows, then columns, half-open).
fn agreement(grid: &[Patch], n: usize, skip: Option<[usize; 4]>) -> (f32, f32) {
    let (mut textured, mut matching) = (0usize, 0usize);
    for (i, p) in grid.iter().enumerate() {
        let (row, col) = (i / n, i % n);
        if skip.is_some_and(|[r0, r1, c0, c1]| (r0..r1).contains(&row) && (c0..c1).contains(&col)) {
            continue;
        }
        textured += (*p != Patch::Plain) as usize;
        matching += (*p == Patch::Matches) as usize;
    }
    (
        matching as f32 / textured.max(1) as f32,
        textured as f32 / (n * n) as f32,
    )
}

/// The rectangle of at most [`OVERLAY`] of the `n x n` patches where the detail disagrees most:
/// the most differing patches less [`OVERLAY_MATCH_WEIGHT`] per matching one (None when no
/// rectangle holds more differing than weighted matching patches).
fn overlay(grid: &[Patch], n: usize) -> Option<[usize; 4]> {
    let scores: Vec<f32> = grid
        .iter()
        .map(|p| match p {
            Patch::Plain => 0.0,
            Patch::Matches => -OVERLAY_MATCH_WEIGHT,
            Patch::Differs => 1.0,
        })
        .collect();
    worst_rectangle(&scores, n)
}

/// The rectangle (rows, then columns, half-open) of at most [`OVERLAY`] of the `n x n` cells of
/// `scores` with the largest sum, if any is positive: where an overlay is, scored +1 for each cell
/// that differs and -[`OVERLAY_MATCH_WEIGHT`] for each that matches.
pub(super) fn worst_rectangle(scores: &[f32], n: usize) -> Option<[usize; 4]> {
    // Sums over the rectangles from the top left corner, to sum any rectangle in four lookups.
    let mut sums = vec![0f32; (n + 1) * (n + 1)];
    for r in 0..n {
        for c in 0..n {
            sums[(r + 1) * (n + 1) + c + 1] =
                scores[r * n + c] + sums[r * (n + 1) + c + 1] + sums[(r + 1) * (n + 1) + c]
                    - sums[r * (n + 1) + c];
        }
    }
    let at = |r: usize, c: usize| sums[r * (n + 1) + c];
    let largest = (OVERLAY * (n * n) as f32) as usize;
    let mut best = (0.0f32, None);
    for r0 in 0..n {
        for r1 in r0 + 1..=n {
            for c0 in 0..n {
                for c1 in c0 + 1..=n {
                    if (r1 - r0) * (c1 - c0) > largest {
                        break;
                    }
                    let s = at(r1, c1) - at(r0, c1) - at(r1, c0) + at(r0, c0);
                    if s > best.0 {
                        best = (s, Some([r0, r1, c0, c1]));
                    }
                }
            }
        }
    }
    best.1
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
/// `aspect` the width over height of `own`'s content (squeezed to the square plane). Also the map
/// that aligned them.
pub(super) fn check(
    own: &[f32],
    other: &[f32],
    outside: f32,
    start: Affine,
    aspect: f32,
    kept: Option<[f32; 2]>,
) -> (DetailCheck, Affine) {
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
    let map = best.1.doubled();
    let refined = map.refined(
        &box_blur(own, DETAIL, 1),
        &box_blur(other, DETAIL, 1),
        DETAIL,
        FINE_STEPS,
    );
    (compare_at(own, other, outside, refined, kept), refined)
}

/// The fine detail of `own` against `other` seen through `map` as it is.
/// With `kept`, the range of lightness (L*) a tone edit from `own` to `other` keeps: beyond it
/// `other` was clipped to white or black, and `own`'s detail there is compared as clipped too (a
/// patch the edit whitened has no detail left to match).
fn compare_at(
    own: &[f32],
    other: &[f32],
    outside: f32,
    map: Affine,
    kept: Option<[f32; 2]>,
) -> DetailCheck {
    let aligned = map.warp(other, DETAIL, outside);
    // Each textured patch of the first photo against the aligned second, a pixel of play.
    let n = DETAIL / PATCH_SIDE;
    let patch = |plane: &[f32], x0: usize, y0: usize| -> Vec<f32> {
        (0..PATCH_SIDE)
            .flat_map(|y| &plane[(y0 + y) * DETAIL + x0..(y0 + y) * DETAIL + x0 + PATCH_SIDE])
            .copied()
            .collect()
    };
    let mut grid = Vec::with_capacity(n * n);
    for py in 0..n {
        for px in 0..n {
            let (x0, y0) = (px * PATCH_SIDE, py * PATCH_SIDE);
            let mut own = patch(own, x0, y0);
            if let Some([low, high]) = kept {
                own.iter_mut().for_each(|v| *v = v.clamp(low, high));
            }
            let mean = own.iter().sum::<f32>() / own.len() as f32;
            let var = own.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / own.len() as f32;
            if var < TEXTURE_VARIANCE {
                grid.push(Patch::Plain);
                continue;
            }
            let last = (DETAIL - PATCH_SIDE) as isize;
            let matches = (-PATCH_SHIFT..=PATCH_SHIFT)
                .flat_map(|dy| (-PATCH_SHIFT..=PATCH_SHIFT).map(move |dx| (dx, dy)))
                .map(|(dx, dy)| (x0 as isize + dx, y0 as isize + dy))
                .filter(|&(x, y)| (0..=last).contains(&x) && (0..=last).contains(&y))
                .any(|(x, y)| {
                    correlation(&own, &patch(&aligned, x as usize, y as usize)) >= PATCH_MATCH
                });
            grid.push(if matches {
                Patch::Matches
            } else {
                Patch::Differs
            });
        }
    }
    let (agrees, textured) = agreement(&grid, n, None);
    let rect = overlay(&grid, n);
    let (agrees_beside, textured_beside) = agreement(&grid, n, rect);
    DetailCheck {
        agrees,
        textured,
        agrees_beside,
        textured_beside,
        overlay: rect.map(|r| in_frame(r, n)),
    }
}

/// Rectangle `rect` of an `n x n` grid (rows, then columns, half-open) in the photo's frame (0..1:
/// left, top, right, bottom).
pub(super) fn in_frame(rect: [usize; 4], n: usize) -> [f32; 4] {
    let [r0, r1, c0, c1] = rect.map(|v| v as f32 / n as f32);
    [c0, r0, c1, r1]
}

/// Rectangle `rect` of the second photo's frame (0..1: left, top, right, bottom) in the first's,
/// `back` mapping the second's detail plane to the first's: the box around its corners.
pub(super) fn rect_through(rect: [f32; 4], back: &Affine) -> [f32; 4] {
    let [x0, y0, x1, y1] = rect;
    let corners =
        [(x0, y0), (x1, y0), (x0, y1), (x1, y1)].map(|(u, v)| back.frame_point(u, v, DETAIL));
    let (xs, ys) = (corners.map(|c| c.0), corners.map(|c| c.1));
    let lo = |v: [f32; 4]| v.into_iter().fold(f32::INFINITY, f32::min).clamp(0.0, 1.0);
    let hi = |v: [f32; 4]| {
        v.into_iter()
            .fold(f32::NEG_INFINITY, f32::max)
            .clamp(0.0, 1.0)
    };
    [lo(xs), lo(ys), hi(xs), hi(ys)]
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
    fn a_banner_is_left_out_scattered_differences_are_not() {
        use Patch::{Differs as D, Matches as M, Plain as P};
        let n = 12;
        // Matching detail everywhere, a banner of differing patches across rows 8 to 10.
        let banner: Vec<Patch> = (0..n * n)
            .map(|i| match (i / n, i % n) {
                (8..=10, _) => D,
                (_, 0) => P,
                _ => M,
            })
            .collect();
        assert_eq!(overlay(&banner, n), Some([8, 11, 0, 12]));
        let (agrees, _) = agreement(&banner, n, None);
        let (beside, textured) = agreement(&banner, n, overlay(&banner, n));
        assert!(
            agrees < DETAIL_AGREES && beside == 1.0 && textured > TEXTURED,
            "{agrees} {beside}"
        );
        // Another shot: every third patch differs, all over; leaving out a rectangle cannot help.
        let scattered: Vec<Patch> = (0..n * n)
            .map(|i| if (i / n + i % n) % 3 == 0 { D } else { M })
            .collect();
        let (beside, _) = agreement(&scattered, n, overlay(&scattered, n));
        assert!(beside < BESIDE_OVERLAY_AGREES, "{beside}");
    }
}
