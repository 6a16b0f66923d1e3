//! Two photos compared pixel by pixel after undoing the transform between them, to tell a copy
//! (the same photo re-encoded, resized, cropped, mirrored, bordered, rotated a little, stamped)
//! from a colour variant (the same product in the same pose, in another colour), which the CNN
//! embedding and the perceptual hash both find alike.
//!
//! Each photo's uniform margins are trimmed ([`crate::embed::trim`]), the rest resampled to a small
//! square in CIELAB. The second photo is then searched for the window (mirrored or not, scaled,
//! shifted) whose lightness best correlates with the first; at that alignment the two are compared
//! in chroma (a*, b*: a brighter or more contrasted copy keeps its hues) over cells of the garment.
//! A copy differs in no cell, or only in one compact patch (a text stamp, a sticker, a banner); a
//! colour variant differs over the garment.
//!
//! When asked, the fine detail is compared too ([`DetailCheck`]): the alignment is refined to the
//! pixel on a larger lightness plane, and patch by patch the texture must match. That is positive
//! evidence of one shot where the embedding and colour histogram are unsure (text, a sticker or a
//! window's chrome add colour and shift the embedding), and it tells a copy from the same pose
//! shot again.

use image::RgbImage;

use serde::Serialize;

use super::detail::{self, Affine, DetailCheck};

/// Side of the square a photo is compared on.
const FINE: usize = 40;
/// A photo (or its trimmed thumbnail) has fine detail to compare from this long side, and half
/// of it on the short side, in pixels (a watch, a belt or a pair of sunglasses is wide and low;
/// an icon of 28 pixels has none).
pub const DETAILED_SIDE: u32 = 48;
/// Side of the square the alignment is first searched on.
const COARSE: usize = 14;
/// Cells per side for the colour comparison.
const CELLS: usize = 8;
/// Hue difference (CIELAB ΔH*) from which a cell's colour differs: another hue, at any chroma.
const CELL_HUE: f32 = 7.0;
/// Chroma difference from which a cell's colour differs, at least (a grey shirt against a red one)...
const CELL_CHROMA: f32 = 10.0;
/// ...and as a share of the larger chroma (more contrast scales chroma but keeps the hue).
const CELL_CHROMA_SHARE: f32 = 0.45;
/// Hue and chroma drift allowed per unit of lightness (L*) a cell's exposure moved.
const EXPOSURE_DRIFT: f32 = 0.5;
/// A cell whose lightness moved more than this (L*)...
const CLIPPED_SHIFT: f32 = 5.0;
/// ...to at least this lightness is clipped towards white: its colour is not compared.
const NEAR_WHITE: f32 = 92.0;
/// A pixel is background when within this CIELAB distance of the photo's margin colour.
const BACKGROUND: f32 = 10.0;

/// A photo ready to be compared: lightness at the detail size, CIELAB at two smaller sizes (8 bits per channel: a catalog's worth of
/// them stays small), and its background colour.
#[derive(Debug, Clone)]
pub struct Pixels {
    /// Lightness at [`detail::DETAIL`] (L* x 2.5).
    detail: Box<[u8]>,
    detailed: bool,
    /// Its content is [`DETAILED_SIDE`] on its short side too: enough garment for the colour check.
    broad: bool,
    /// Width over height of the photo's content (the detail plane squeezes it to a square).
    aspect: f32,
    fine: Box<[[u8; 3]]>,
    coarse: Box<[[u8; 3]]>,
    background: [f32; 3],
    colourful: bool,
}

/// CIELAB in 8 bits: L* x 2.5, a* and b* offset by 128.
fn pack(p: [f32; 3]) -> [u8; 3] {
    [
        (p[0] * 2.5).round().clamp(0.0, 255.0) as u8,
        (p[1] + 128.0).round().clamp(0.0, 255.0) as u8,
        (p[2] + 128.0).round().clamp(0.0, 255.0) as u8,
    ]
}

fn unpack(p: &[[u8; 3]]) -> Vec<[f32; 3]> {
    p.iter()
        .map(|q| [q[0] as f32 / 2.5, q[1] as f32 - 128.0, q[2] as f32 - 128.0])
        .collect()
}

/// A photo's pixels as floats, for one comparison.
struct Unpacked {
    detail: Vec<f32>,
    aspect: f32,
    fine: Vec<[f32; 3]>,
    coarse: Vec<[f32; 3]>,
    background: [f32; 3],
}

/// What the pixels say about a pair.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PixelCheck {
    /// Correlation of the lightness at the best alignment: near 1 the same picture.
    pub structure: f32,
    /// Share of the garment's cells whose colour differs at that alignment.
    pub colour_differs: f32,
    /// Share of the frame covered by the box around the differing cells (a stamp is small).
    pub differing_extent: f32,
    /// The second photo was mirrored to align.
    pub mirrored: bool,
    /// The fine detail compared after a finer alignment (None when not compared: a photo too
    /// small, or the pair decided without it).
    pub detail: Option<DetailCheck>,
}

/// Structure from which the two are taken to be aligned (below: too different to compare).
pub const ALIGNED: f32 = 0.6;
/// At most this share of the garment's cells may differ anywhere...
pub const SCATTERED: f32 = 0.12;
/// ...and a compact patch of differing cells (an overlay) may cover at most this share of the frame.
pub const PATCH: f32 = 0.25;

impl PixelCheck {
    /// The two are aligned, and their colours differ over the garment, not in one patch.
    pub fn colour_variant(&self) -> bool {
        self.structure >= ALIGNED
            && self.colour_differs > SCATTERED
            && self.differing_extent > PATCH
    }
}

impl Pixels {
    pub fn new(rgb: &RgbImage) -> Self {
        Self::with_detail(rgb, true)
    }

    /// As [`new`](Self::new); the fine detail plane only when `detail` (it is most of the
    /// memory: a catalog's look-alike pairs need it only where the detail can decide).
    pub fn with_detail(rgb: &RgbImage, detail: bool) -> Self {
        let content = crate::embed::trim::trimmed(rgb);
        let packed = |img: &RgbImage| img.pixels().map(|p| pack(lab(p.0))).collect::<Box<[_]>>();
        let fine = crate::embed::preprocess::resize_to(&content, FINE as u32, FINE as u32);
        let coarse = crate::embed::preprocess::resize_to(&content, COARSE as u32, COARSE as u32);
        // The margin colour: the most common of the four corners of the photo (before trimming).
        let (w, h) = rgb.dimensions();
        let corners = [(0, 0), (w - 1, 0), (0, h - 1), (w - 1, h - 1)]
            .map(|(x, y)| lab(rgb.get_pixel(x, y).0));
        let background = *corners
            .iter()
            .max_by_key(|c| {
                corners
                    .iter()
                    .filter(|d| distance(c, d) < BACKGROUND)
                    .count()
            })
            .unwrap_or(&corners[0]);
        let fine = packed(&fine);
        let plane = if detail {
            detail::lightness_plane(&content)
        } else {
            Box::default()
        };
        // Some colour to compare: at least 2% of the pixels with a chroma above 6.
        let coloured = fine
            .iter()
            .filter(|p| (p[1] as f32 - 128.0).hypot(p[2] as f32 - 128.0) > 6.0)
            .count();
        Pixels {
            detail: plane,
            aspect: content.width() as f32 / content.height() as f32,
            detailed: detail
                && content.width().max(content.height()) >= DETAILED_SIDE
                && content.width().min(content.height()) >= DETAILED_SIDE / 2,
            broad: content.width().min(content.height()) >= DETAILED_SIDE,
            colourful: coloured * 50 >= fine.len(),
            fine,
            coarse: packed(&coarse),
            background,
        }
    }

    /// As floats; the detail plane only when it is to be compared.
    fn unpacked(&self, detail: bool) -> Unpacked {
        Unpacked {
            detail: if detail {
                self.detail.iter().map(|&v| v as f32 / 2.5).collect()
            } else {
                Vec::new()
            },
            aspect: self.aspect,
            fine: unpack(&self.fine),
            coarse: unpack(&self.coarse),
            background: self.background,
        }
    }

    /// Whether the photo has colour at all: two grey photos cannot be colour variants.
    pub fn colourful(&self) -> bool {
        self.colourful
    }

    /// Whether the photo is large enough for its fine detail to be compared (and it was kept).
    pub fn detailed(&self) -> bool {
        self.detailed
    }

    /// Whether the photo's content is broad enough for the colour check to see its garment well
    /// (not a low, wide pair of sunglasses, a belt or a watch).
    pub fn broad(&self) -> bool {
        self.broad
    }

    /// The pixel check of `self` against `other`, with their fine detail when `detail` and both
    /// are [`detailed`](Self::detailed).
    pub fn compare(&self, other: &Pixels, detail: bool) -> PixelCheck {
        let detail = detail && self.detailed && other.detailed;
        self.unpacked(detail)
            .compare(&other.unpacked(detail), detail)
    }
}

impl Unpacked {
    fn compare(&self, other: &Unpacked, detail: bool) -> PixelCheck {
        // Coarse search over mirror, scale and shift on lightness; then refined around the best two.
        let (own_coarse, own_fine) = (lightness(&self.coarse), lightness(&self.fine));
        let (other_coarse, other_fine) = (lightness(&other.coarse), lightness(&other.fine));
        let mut tried: Vec<(f32, Window)> = Window::coarse_grid()
            .map(|w| {
                let s = sample_lightness(&other_coarse, COARSE, &w, other.background[0]);
                (correlation(&own_coarse, &s), w)
            })
            .collect();
        tried.sort_by(|a, b| b.0.total_cmp(&a.0));
        let mut best = (f32::NEG_INFINITY, tried[0].1);
        for &(_, w) in tried.iter().take(2) {
            for r in w.refinements() {
                let s = sample_lightness(&other_fine, FINE, &r, other.background[0]);
                let c = correlation(&own_fine, &s);
                if c > best.0 {
                    best = (c, r);
                }
            }
        }
        let (structure, window) = best;
        let aligned = other.sample(&window);
        let (colour_differs, differing_extent) = self.colour_difference(other, &aligned);
        let (mut mirrored, mut fine) = (window.mirrored, None);
        if detail {
            let check = |w: &Window| {
                detail::check(
                    &self.detail,
                    &other.detail,
                    other.background[0],
                    w.affine(detail::DETAIL),
                    self.aspect,
                )
            };
            // A garment nearly symmetric lines up mirrored or not alike at this size; its detail
            // (a print, a pocket) tells, so it is compared both ways before it says no.
            let mut d = check(&window);
            if !d.same_shot() {
                let twin = window.mirror_twin();
                let t = check(&twin);
                if t.agrees > d.agrees {
                    (d, mirrored) = (t, twin.mirrored);
                }
            }
            fine = Some(d);
        }
        PixelCheck {
            structure: structure.max(-1.0),
            colour_differs,
            differing_extent,
            mirrored,
            detail: fine,
        }
    }

    /// Share of garment cells whose mean chroma differs, and the extent of the differing ones.
    fn colour_difference(&self, other: &Unpacked, aligned: &[[f32; 3]]) -> (f32, f32) {
        let exposure = Exposure::fit(&self.fine, aligned);
        let side = FINE / CELLS;
        let (mut garment, mut differing) = (0usize, 0usize);
        let (mut x0, mut y0, mut x1, mut y1) = (CELLS, CELLS, 0, 0);
        for cy in 0..CELLS {
            for cx in 0..CELLS {
                let (mut a, mut b, mut fg) = ([0f32; 3], [0f32; 3], 0usize);
                for y in cy * side..(cy + 1) * side {
                    for x in cx * side..(cx + 1) * side {
                        let (p, q) = (self.fine[y * FINE + x], aligned[y * FINE + x]);
                        for c in 0..3 {
                            a[c] += p[c];
                            b[c] += q[c];
                        }
                        let is_fg = distance(&p, &self.background) >= BACKGROUND
                            || distance(&q, &other.background) >= BACKGROUND;
                        fg += is_fg as usize;
                    }
                }
                if fg * 2 < side * side {
                    continue;
                }
                garment += 1;
                let n = (side * side) as f32;
                let (u, v) = (a.map(|v| v / n), b.map(|v| v / n));
                if cell_colours_differ(u, v, exposure.shift(u[0])) {
                    differing += 1;
                    (x0, y0, x1, y1) = (x0.min(cx), y0.min(cy), x1.max(cx + 1), y1.max(cy + 1));
                }
            }
        }
        if differing == 0 {
            return (0.0, 0.0);
        }
        let extent = ((x1 - x0) * (y1 - y0)) as f32 / (CELLS * CELLS) as f32;
        (differing as f32 / garment.max(1) as f32, extent)
    }

    /// `self` seen through `w`, at `level`'s size (outside the photo: its background).
    fn sample(&self, w: &Window) -> Vec<[f32; 3]> {
        let background = self.background;
        sample_with(&self.fine, FINE, w, background, |p, q, f| {
            std::array::from_fn(|c| p[c] + (q[c] - p[c]) * f)
        })
    }
}

/// How a copy's exposure and contrast changed lightness: the straight line that best maps the
/// first photo's L* to the aligned second's over the whole frame. A colour variant changes the
/// garment's lightness alone, which one line over garment, skin and background does not follow.
#[derive(Debug, Clone, Copy)]
struct Exposure {
    slope: f32,
    offset: f32,
}

impl Exposure {
    fn fit(own: &[[f32; 3]], aligned: &[[f32; 3]]) -> Self {
        let n = own.len().max(1) as f32;
        let (mut sx, mut sy, mut sxx, mut sxy) = (0f32, 0f32, 0f32, 0f32);
        for (p, q) in own.iter().zip(aligned) {
            let (x, y) = (p[0], q[0]);
            sx += x;
            sy += y;
            sxx += x * x;
            sxy += x * y;
        }
        let (mx, my) = (sx / n, sy / n);
        let var = sxx / n - mx * mx;
        let slope = if var > 1.0 {
            ((sxy / n - mx * my) / var).clamp(0.5, 2.0)
        } else {
            1.0
        };
        Exposure {
            slope,
            offset: my - slope * mx,
        }
    }

    /// How far the change moves lightness `l` (L*), within what L* can be.
    fn shift(&self, l: f32) -> f32 {
        ((self.slope * l + self.offset).clamp(0.0, 100.0) - l).abs()
    }
}

fn lightness(p: &[[f32; 3]]) -> Vec<f32> {
    p.iter().map(|q| q[0]).collect()
}

/// One axis of a window's sampling: for each output pixel, the two source pixels and the weight of
/// the second, or None outside the photo.
fn axis(n: usize, from: f32, length: f32, mirrored: bool) -> Vec<Option<(usize, usize, f32)>> {
    let last = (n - 1) as f32;
    (0..n)
        .map(|i| {
            let mut u = from + (i as f32 + 0.5) / n as f32 * length;
            if mirrored {
                u = 1.0 - u;
            }
            let x = u * n as f32 - 0.5;
            if x < -0.5 || x > last + 0.5 {
                return None;
            }
            let x = x.clamp(0.0, last);
            let x0 = x.floor() as usize;
            Some((x0, (x0 + 1).min(n - 1), x - x0 as f32))
        })
        .collect()
}

/// The lightness plane `src` (`n x n`) seen through `w` (outside the photo: `outside`).
fn sample_lightness(src: &[f32], n: usize, w: &Window, outside: f32) -> Vec<f32> {
    sample_with(src, n, w, outside, |p, q, f| p + (q - p) * f)
}

/// The `n x n` image `src` seen through `w`, bilinearly (`lerp(a, b, t)` mixes two pixels),
/// `outside` beyond the photo's edges.
fn sample_with<P: Copy>(
    src: &[P],
    n: usize,
    w: &Window,
    outside: P,
    lerp: impl Fn(P, P, f32) -> P,
) -> Vec<P> {
    let xs = axis(n, w.x, w.width, w.mirrored);
    let ys = axis(n, w.y, w.height, false);
    let mut out = Vec::with_capacity(n * n);
    for y in &ys {
        let Some((y0, y1, fy)) = *y else {
            out.extend(std::iter::repeat_n(outside, n));
            continue;
        };
        let (r0, r1) = (&src[y0 * n..(y0 + 1) * n], &src[y1 * n..(y1 + 1) * n]);
        for x in &xs {
            out.push(match *x {
                Some((x0, x1, fx)) => lerp(lerp(r0[x0], r0[x1], fx), lerp(r1[x0], r1[x1], fx), fy),
                None => outside,
            });
        }
    }
    out
}

/// Where the first photo's frame falls in the second's, in the second's (trimmed) unit square.
#[derive(Debug, Clone, Copy)]
struct Window {
    x: f32,
    y: f32,
    width: f32,
    height: f32,
    mirrored: bool,
}

impl Window {
    /// The window over the same part of the second photo, read the other way round.
    fn mirror_twin(&self) -> Window {
        Window {
            x: 1.0 - self.x - self.width,
            mirrored: !self.mirrored,
            ..*self
        }
    }

    /// Mirror, each side's scale (one photo cropped more than the other, either way) and shift.
    fn coarse_grid() -> impl Iterator<Item = Window> {
        const SCALES: [f32; 5] = [0.8, 0.9, 1.0, 1.1, 1.22];
        [false, true].into_iter().flat_map(|mirrored| {
            SCALES.into_iter().flat_map(move |width| {
                SCALES.into_iter().flat_map(move |height| {
                    (0..3).flat_map(move |px| {
                        (0..3).map(move |py| Window {
                            x: (1.0 - width) * px as f32 / 2.0,
                            y: (1.0 - height) * py as f32 / 2.0,
                            width,
                            height,
                            mirrored,
                        })
                    })
                })
            })
        })
    }

    /// The map from the first photo's pixels to the second's this window samples an `n x n`
    /// plane through (see [`Affine`]).
    fn affine(&self, n: usize) -> Affine {
        let at = |s: f32, t: f32| {
            // Pixel centre i at s = (i + 0.5) / n * 2 - 1.
            let (fx, fy) = ((s + 1.0) / 2.0, (t + 1.0) / 2.0);
            let mut u = self.x + fx * self.width;
            if self.mirrored {
                u = 1.0 - u;
            }
            let v = self.y + fy * self.height;
            (u * n as f32 - 0.5, v * n as f32 - 0.5)
        };
        Affine::through(at(0.0, 0.0), at(1.0, 0.0), at(0.0, 1.0))
    }

    /// Small steps of shift and scale around this window.
    fn refinements(self) -> impl Iterator<Item = Window> {
        const STEP: f32 = 0.03;
        (-1..=1).flat_map(move |ds| {
            (-1..=1).flat_map(move |dx| {
                (-1..=1).map(move |dy| {
                    let s = 1.0 + ds as f32 * STEP;
                    Window {
                        x: self.x + dx as f32 * STEP * self.width,
                        y: self.y + dy as f32 * STEP * self.height,
                        width: self.width * s,
                        height: self.height * s,
                        mirrored: self.mirrored,
                    }
                })
            })
        })
    }
}

/// Whether two cells' mean colours (L*, a*, b*) are different colours: another hue, or much more
/// or less colourful than contrast and exposure changes make. The more the photo's exposure moved
/// this cell's lightness (`exposure_shift`, L*, from the whole frame, not this cell alone), the
/// more its hue and chroma may drift (a channel clips: skin turns yellow); a cell brightened into
/// near-white has lost its chroma: it says nothing about colour.
fn cell_colours_differ(u: [f32; 3], v: [f32; 3], exposure_shift: f32) -> bool {
    let delta_l = (u[0] - v[0]).abs().min(exposure_shift);
    if delta_l > CLIPPED_SHIFT && u[0].max(v[0]) >= NEAR_WHITE {
        return false;
    }
    let (c1, c2) = (u[1].hypot(u[2]), v[1].hypot(v[2]));
    let delta_c = (c1 - c2).abs();
    let delta_e2 = (u[1] - v[1]).powi(2) + (u[2] - v[2]).powi(2);
    let delta_h = (delta_e2 - delta_c * delta_c).max(0.0).sqrt();
    let drift = EXPOSURE_DRIFT * delta_l;
    delta_h > CELL_HUE + drift
        || delta_c > (CELL_CHROMA + drift).max(CELL_CHROMA_SHARE * c1.max(c2))
}

/// Pearson correlation of two lightness planes (0 when either is flat).
pub(super) fn correlation(a: &[f32], b: &[f32]) -> f32 {
    let m = a.len() as f32;
    let (ma, mb) = (a.iter().sum::<f32>() / m, b.iter().sum::<f32>() / m);
    let (mut ab, mut aa, mut bb) = (0f32, 0f32, 0f32);
    for (p, q) in a.iter().zip(b) {
        let (x, y) = (p - ma, q - mb);
        ab += x * y;
        aa += x * x;
        bb += y * y;
    }
    if aa < 1e-3 || bb < 1e-3 {
        return 0.0;
    }
    ab / (aa * bb).sqrt()
}

fn distance(a: &[f32; 3], b: &[f32; 3]) -> f32 {
    ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2) + (a[2] - b[2]).powi(2)).sqrt()
}

/// An sRGB channel (8 bits) as linear light, 0..1.
pub(super) fn linear(v: u8) -> f32 {
    static TABLE: std::sync::LazyLock<[f32; 256]> = std::sync::LazyLock::new(|| {
        std::array::from_fn(|v| {
            let c = v as f32 / 255.0;
            if c <= 0.04045 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        })
    });
    TABLE[v as usize]
}

/// sRGB (8 bits per channel) to CIELAB (D65).
pub fn lab(rgb: [u8; 3]) -> [f32; 3] {
    let [r, g, b] = rgb.map(linear);
    let x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047;
    let y = 0.2126 * r + 0.7152 * g + 0.0722 * b;
    let z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883;
    let f = |t: f32| {
        if t > 0.008856 {
            t.cbrt()
        } else {
            7.787 * t + 16.0 / 116.0
        }
    };
    let (fx, fy, fz) = (f(x), f(y), f(z));
    [116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgb;

    /// A garment on white: a shaded, patterned shape in `colour`.
    fn garment(colour: [f32; 3]) -> RgbImage {
        RgbImage::from_fn(120, 160, |x, y| {
            let (u, v) = (x as f32 - 60.0, y as f32 - 85.0);
            if (u / 40.0).powi(2) + (v / 65.0).powi(2) > 1.0 {
                return Rgb([255, 255, 255]);
            }
            let shade = 0.6 + 0.4 * ((x as f32 / 9.0).sin() * (y as f32 / 13.0).cos()).abs();
            let stripe = if (y / 12) % 2 == 0 { 1.0 } else { 0.55 };
            Rgb(colour.map(|c| (c * shade * stripe).min(255.0) as u8))
        })
    }

    /// A garment on white with a fine print whose phase is `print` (another shot, another print).
    fn printed(print: f32) -> RgbImage {
        let base = garment([60.0, 90.0, 190.0]);
        RgbImage::from_fn(base.width(), base.height(), |x, y| {
            let p = *base.get_pixel(x, y);
            if p.0 == [255, 255, 255] {
                return p;
            }
            let (u, v) = (x as f32, y as f32);
            let dots = ((u * 0.9 + print).sin() * (v * 0.7 + 2.0 * print).cos() + 1.0) / 2.0;
            Rgb(p.0.map(|c| (c as f32 * (0.55 + 0.45 * dots)) as u8))
        })
    }

    /// `img` turned by `degrees` about its centre (white where nothing was), bilinearly.
    fn turned(img: &RgbImage, degrees: f32) -> RgbImage {
        let (sin, cos) = degrees.to_radians().sin_cos();
        let (w, h) = img.dimensions();
        let (cx, cy) = (w as f32 / 2.0, h as f32 / 2.0);
        RgbImage::from_fn(w, h, |x, y| {
            let (dx, dy) = (x as f32 + 0.5 - cx, y as f32 + 0.5 - cy);
            let (u, v) = (
                cx + dx * cos + dy * sin - 0.5,
                cy - dx * sin + dy * cos - 0.5,
            );
            if u < 0.0 || v < 0.0 || u >= (w - 1) as f32 || v >= (h - 1) as f32 {
                return Rgb([255, 255, 255]);
            }
            let (x0, y0, fx, fy) = (u as u32, v as u32, u.fract(), v.fract());
            let at = |x, y, c: usize| img.get_pixel(x, y).0[c] as f32;
            Rgb(std::array::from_fn(|c| {
                let top = at(x0, y0, c) * (1.0 - fx) + at(x0 + 1, y0, c) * fx;
                let bottom = at(x0, y0 + 1, c) * (1.0 - fx) + at(x0 + 1, y0 + 1, c) * fx;
                (top * (1.0 - fy) + bottom * fy).round() as u8
            }))
        })
    }

    #[test]
    fn a_tilted_cropped_stamped_copy_is_the_same_shot() {
        let a = printed(0.0);
        let mut copy = image::imageops::crop_imm(&turned(&a, 4.0), 5, 6, 110, 148).to_image();
        for y in 20..34 {
            for x in 10..60 {
                copy.put_pixel(x, y, Rgb([250, 240, 20]));
            }
        }
        let c = Pixels::new(&a).compare(&Pixels::new(&copy), true);
        let d = c
            .detail
            .expect("both photos are large enough for their detail");
        assert!(d.same_shot(), "{c:?}");
        assert!(!c.colour_variant(), "{c:?}");
    }

    #[test]
    fn the_same_pose_with_another_print_is_not_the_same_shot() {
        let c = Pixels::new(&printed(0.0)).compare(&Pixels::new(&printed(2.0)), true);
        let d = c
            .detail
            .expect("both photos are large enough for their detail");
        assert!(c.structure > ALIGNED, "the shapes line up: {c:?}");
        assert!(d.textured >= detail::TEXTURED && !d.same_shot(), "{c:?}");
    }

    #[test]
    fn small_photos_and_unasked_pairs_skip_the_detail() {
        let small = image::imageops::thumbnail(&printed(0.0), 30, 40);
        let a = Pixels::new(&printed(0.0));
        assert!(a.detailed() && !Pixels::new(&small).detailed());
        assert!(a.compare(&Pixels::new(&small), true).detail.is_none());
        assert!(a.compare(&a, false).detail.is_none());
    }

    #[test]
    fn a_low_wide_item_has_detail_but_is_not_broad() {
        // Sunglasses on white: 120 x 40 of content.
        let wide = RgbImage::from_fn(160, 100, |x, y| {
            if (20..140).contains(&x) && (30..70).contains(&y) {
                Rgb([(x * 7 % 200) as u8, 40, (y * 5 % 200) as u8])
            } else {
                Rgb([255, 255, 255])
            }
        });
        let p = Pixels::new(&wide);
        assert!(p.detailed() && !p.broad());
        assert!(Pixels::new(&printed(0.0)).broad());
    }

    #[test]
    fn lab_of_white_black_and_red() {
        let w = lab([255, 255, 255]);
        assert!(
            (w[0] - 100.0).abs() < 0.5 && w[1].abs() < 0.5 && w[2].abs() < 0.5,
            "{w:?}"
        );
        assert!(lab([0, 0, 0])[0].abs() < 0.5);
        let r = lab([255, 0, 0]);
        assert!(
            (r[0] - 53.2).abs() < 1.0 && (r[1] - 80.1).abs() < 1.5,
            "{r:?}"
        );
    }

    #[test]
    fn a_mirrored_cropped_copy_aligns_and_agrees() {
        let a = garment([200.0, 40.0, 60.0]);
        let copy = image::imageops::flip_horizontal(
            &image::imageops::crop_imm(&a, 6, 4, 108, 150).to_image(),
        );
        let c = Pixels::new(&a).compare(&Pixels::new(&copy), true);
        assert!(c.structure > 0.85 && c.mirrored, "{c:?}");
        assert!(!c.colour_variant(), "{c:?}");
    }

    #[test]
    fn the_same_garment_in_another_colour_is_a_colour_variant() {
        let red = garment([200.0, 40.0, 60.0]);
        let green = garment([40.0, 170.0, 70.0]);
        let c = Pixels::new(&red).compare(&Pixels::new(&green), true);
        assert!(c.structure > 0.6, "{c:?}");
        assert!(c.colour_variant(), "{c:?}");
    }

    #[test]
    fn a_brighter_more_contrasted_copy_keeps_its_colours() {
        // Skin-like and pale colours, which a brighter, more contrasted edit pushes towards white
        // (chroma lost) and whose hue drifts as a channel clips.
        for colour in [
            [225.0, 170.0, 140.0],
            [200.0, 215.0, 235.0],
            [60.0, 80.0, 140.0],
        ] {
            let a = garment(colour);
            let edited = image::imageops::colorops::contrast(
                &image::imageops::colorops::brighten(&a, 40),
                25.0,
            );
            let c = Pixels::new(&a).compare(&Pixels::new(&edited), true);
            assert!(c.structure > 0.85, "{colour:?}: {c:?}");
            assert!(!c.colour_variant(), "{colour:?}: {c:?}");
        }
    }

    #[test]
    fn a_stamped_patch_is_not_a_colour_change() {
        let a = garment([60.0, 80.0, 200.0]);
        let mut stamped = a.clone();
        for y in 100..116 {
            for x in 0..120 {
                stamped.put_pixel(x, y, Rgb([230, 30, 30]));
            }
        }
        let c = Pixels::new(&a).compare(&Pixels::new(&stamped), true);
        assert!(!c.colour_variant(), "{c:?}");
    }
}
