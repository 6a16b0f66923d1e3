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

use super::affine::Affine;
use super::detail::{self, DetailCheck};

mod colour;
mod lab;
mod sampling;
pub mod tone;
mod window;

use lab::distance;
pub use lab::lab;
pub(super) use lab::linear;
use sampling::{mix, sample_lightness, sample_with};
use window::Window;

/// Side of the square a photo is compared on.
const FINE: usize = 40;
/// A photo (or its trimmed thumbnail) has fine detail to compare from this long side, and half
/// of it on the short side, in pixels (a watch, a belt or a pair of sunglasses is wide and low;
/// an icon of 28 pixels has none).
pub const DETAILED_SIDE: u32 = 48;
/// Side of the square the alignment is first searched on.
const COARSE: usize = 14;
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
    background_rgb: [u8; 3],
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
#[derive(Clone)]
struct Unpacked {
    detail: Vec<f32>,
    aspect: f32,
    fine: Vec<[f32; 3]>,
    rgb: Vec<[f32; 3]>,
    coarse: Vec<[f32; 3]>,
    background: [f32; 3],
    background_rgb: [f32; 3],
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
    /// When the fine detail found one shot: how much of the colour differs beside an overlay
    /// (half the L1 distance of CIELAB histograms, lightness included; see `colour_beside`). When
    /// the detail saw the overlay (a banner, a sticker), it, not `colour_differs`, tells a colour
    /// variant.
    pub colour_beside_overlay: Option<f32>,
    /// The second photo was mirrored to align.
    pub mirrored: bool,
    /// The tone edit (brightness, contrast) that maps the first photo onto the second, when one
    /// explains them much better than none: the colours were compared after undoing it.
    pub tone: Option<tone::Tone>,
    /// With that edit undone, how much of the garment's colour differs (half the L1 distance of
    /// CIELAB histograms, as `colour_beside_overlay` with no overlay).
    pub toned_colour_distance: Option<f32>,
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
/// Beside an overlay at most this share of the colour may differ (see `colour_beside`): as for
/// two photos' whole colours ([`super::COLOURS_AGREE`]). In the benchmark, copies with a banner or
/// a sticker differ by 0.03-0.10 beside it; the same pose of another product by 0.11-0.34 (a box
/// with another tie 0.14, another lens tint 0.21, a blue and a black shirt 0.34).
pub const BESIDE_OVERLAY_COLOUR: f32 = 0.16;

impl PixelCheck {
    /// The two are aligned, and their colours differ over the garment, not in one patch.
    pub fn colour_variant(&self) -> bool {
        self.structure >= ALIGNED
            && match self.colour_beside_overlay {
                Some(beside) if self.detail.is_some_and(|d| d.overlaid()) => {
                    beside > BESIDE_OVERLAY_COLOUR
                }
                _ => self.colour_differs > SCATTERED && self.differing_extent > PATCH,
            }
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
        let corners =
            [(0, 0), (w - 1, 0), (0, h - 1), (w - 1, h - 1)].map(|(x, y)| rgb.get_pixel(x, y).0);
        let background_rgb = *corners
            .iter()
            .max_by_key(|c| {
                corners
                    .iter()
                    .filter(|d| distance(&lab(**c), &lab(**d)) < BACKGROUND)
                    .count()
            })
            .unwrap_or(&corners[0]);
        let background = lab(background_rgb);
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
            background_rgb,
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
            rgb: tone::srgb(&self.fine),
            coarse: unpack(&self.coarse),
            background: self.background,
            background_rgb: self.background_rgb.map(f32::from),
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
            .compare(&other.unpacked(detail), detail, false)
    }

    /// As [`compare`](Self::compare) with the fine detail, but the detail only when, at the
    /// coarse alignment already, the colours agree beside the rectangle where they differ most
    /// (see [`BESIDE_OVERLAY_COLOUR`]): for a pair whose histograms differ, whose detail can
    /// decide only when an overlay explains that.
    pub fn compare_when_overlaid(&self, other: &Pixels) -> PixelCheck {
        let detail = self.detailed && other.detailed;
        self.unpacked(detail)
            .compare(&other.unpacked(detail), detail, true)
    }
}

impl Unpacked {
    /// See [`Pixels::compare`]; with `colours_first`, the detail only when the colours agree
    /// beside an overlay at the coarse alignment.
    fn compare(&self, other: &Unpacked, detail: bool, colours_first: bool) -> PixelCheck {
        // Coarse search over mirror, scale and shift on lightness; then refined around the best two.
        let (own_coarse, own_fine) = (lightness(&self.coarse), lightness(&self.fine));
        let (other_coarse, other_fine) = (lightness(&other.coarse), lightness(&other.fine));
        let tried = coarse_windows(&own_coarse, &other_coarse, other.background[0]);
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
        // A brighter or more contrasted copy: its colours are compared once the edit is undone
        // (mapped onto the other photo's tones: what it clipped stays clipped).
        let edit = tone::edit_between(&self.rgb, &other.sample_rgb(&window), tone::STRIDE);
        let (own_colours, other_colours) = self.with_edit_undone(other, edit);
        let (own_colours, other_colours) = (&*own_colours, &*other_colours);
        let aligned = other_colours.sample(&window);
        let (colour_differs, differing_extent) =
            own_colours.colour_difference(other_colours, &aligned);
        let detail = detail
            && (!colours_first
                || own_colours.colour_beside(other_colours, &aligned, None)
                    <= BESIDE_OVERLAY_COLOUR);
        let (mut mirrored, mut fine, mut colour_beside_overlay) = (window.mirrored, None, None);
        if detail {
            let check = |w: &Window| {
                detail::check(
                    &self.detail,
                    &other.detail,
                    other.background[0],
                    w.affine(detail::DETAIL),
                    self.aspect,
                    match edit {
                        Some(tone::Edited::Second(t)) => Some(t.kept_lightness()),
                        _ => None,
                    },
                )
            };
            // A garment nearly symmetric lines up mirrored or not alike at this size; its detail
            // (a print, a pocket) tells, so it is compared both ways before it says no.
            let ((mut d, mut map), mut chosen) = (check(&window), window);
            if !d.same_shot() {
                let twin = window.mirror_twin();
                let (t, twin_map) = check(&twin);
                if t.agrees > d.agrees {
                    (d, map, chosen) = (t, twin_map, twin);
                }
            }
            mirrored = chosen.mirrored;
            // An overlay shows from either side: on the copy, a banner's letters are detail the
            // original lacks; on the original, detail the banner covers. Seen from the second
            // photo too, from the alignment found, before it says no (a no stays the first's: the
            // two sides do not vote).
            if !d.same_shot()
                && let Some(back) = map.inverse(detail::DETAIL)
            {
                let (mut r, back) = detail::check(
                    &other.detail,
                    &self.detail,
                    self.background[0],
                    back,
                    other.aspect,
                    match edit {
                        Some(tone::Edited::First(t)) => Some(t.kept_lightness()),
                        _ => None,
                    },
                );
                if r.same_shot() {
                    r.overlay = r.overlay.map(|o| detail::rect_through(o, &back));
                    d = r;
                }
            }
            // What was laid over one shot may be all the colour that differs.
            if d.same_shot() {
                let seen = other_colours.sample(&chosen);
                colour_beside_overlay =
                    Some(own_colours.colour_beside(other_colours, &seen, d.overlay));
            }
            fine = Some(d);
        }
        PixelCheck {
            structure: structure.max(-1.0),
            colour_differs,
            differing_extent,
            colour_beside_overlay,
            mirrored,
            tone: edit.map(|e| e.first_to_second()),
            toned_colour_distance: edit
                .map(|_| own_colours.colour_outside(other_colours, &aligned, None)),
            detail: fine,
        }
    }

    /// `self` seen through `w`, in CIELAB (outside the photo: its background).
    fn sample(&self, w: &Window) -> Vec<[f32; 3]> {
        sample_with(&self.fine, FINE, w, self.background, mix)
    }
}

/// The coarse grid's windows of the second photo, best correlated with the first's lightness first
/// (`COARSE x COARSE` planes; `outside`, the second's background).
fn coarse_windows(own: &[f32], other: &[f32], outside: f32) -> Vec<(f32, Window)> {
    let mut tried: Vec<(f32, Window)> = Window::coarse_grid()
        .map(|w| {
            let s = sample_lightness(other, COARSE, &w, outside);
            (correlation(own, &s), w)
        })
        .collect();
    tried.sort_by(|a, b| b.0.total_cmp(&a.0));
    tried
}

fn lightness(p: &[[f32; 3]]) -> Vec<f32> {
    p.iter().map(|q| q[0]).collect()
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

#[cfg(test)]
mod tests;
