//! A photo's fingerprint for the duplicate finder: a perceptual hash and a colour histogram.
//!
//! Perceptual hash (DCT pHash): 256 bits that survive re-encoding, resizing and small colour
//! changes, where the CNN embedding of a tiny or blocky copy drifts. The classic 64-bit pHash (8x8
//! frequencies) cannot tell apart two different shirts shot the same way on white; 16x16
//! frequencies keep prints, seams and logos. A second hash of the mirrored photo makes the
//! comparison flip-invariant.
//!
//! Colour histogram: 512 bins (8 levels per channel) of the pixels that are not near-white
//! background. Crops and text stamps hardly move it; two different garments shot on the same
//! model in the same pose (which the CNN finds 0.93 alike) differ in it.

use image::RgbImage;

/// Side of the grey square the DCT runs on.
const SIDE: usize = 64;
/// The lowest `LOW x LOW` frequencies make the hash.
const LOW: usize = 16;
/// Bits in a hash.
pub const HASH_BITS: u32 = (LOW * LOW) as u32;
const WORDS: usize = LOW * LOW / 64;
/// Colour levels per channel in the histogram.
const LEVELS: usize = 8;
const BINS: usize = LEVELS * LEVELS * LEVELS;
/// Side of the square the histogram is counted on.
const COLOUR_SIDE: u32 = 48;
/// Pixels with all channels above this are background.
const WHITE: u8 = 235;
/// Stored-form version: 2 since the hashes of the trimmed photo are kept too.
const VERSION: u8 = 2;
/// Histogram total (shares are stored in 1/65535).
const TOTAL: f32 = 65535.0;
/// At most this share of a photo's colour is taken to be laid over it (see
/// [`Fingerprint::extra_colour`]): a banner across a low, wide item is nearly half of it.
const OVERLAID: f32 = 0.5;
/// Overlay shares tried, from none to [`OVERLAID`].
const OVERLAY_STEPS: usize = 10;

/// Share of a photo's non-background pixels per colour bin (8 levels per channel), in 1/65535.
pub type ColourHistogram = [u16; BINS];

/// The pHash of a photo and of its mirror image, and its colour histogram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fingerprint {
    pub hashes: PHashes,
    /// Share of the non-background pixels per colour bin, in 1/65535.
    pub colours: [u16; BINS],
}

impl Default for Fingerprint {
    fn default() -> Self {
        Fingerprint {
            hashes: PHashes::default(),
            colours: [0; BINS],
        }
    }
}

/// A photo's four perceptual hashes: an eighth of its fingerprint's size, for loops over many
/// pairs that read nothing else.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PHashes {
    pub plain: [u64; WORDS],
    pub mirrored: [u64; WORDS],
    /// The hashes of the photo with its uniform margins trimmed (a border, padding, letterboxing).
    pub trimmed: [u64; WORDS],
    pub trimmed_mirrored: [u64; WORDS],
}

impl PHashes {
    /// See [`Fingerprint::hash_distance`].
    pub fn distance(&self, other: &PHashes) -> u32 {
        let whole =
            differing(&self.plain, &other.plain).min(differing(&self.plain, &other.mirrored));
        let trimmed = differing(&self.trimmed, &other.trimmed)
            .min(differing(&self.trimmed, &other.trimmed_mirrored));
        whole.min(trimmed)
    }
}

fn differing(a: &[u64; WORDS], b: &[u64; WORDS]) -> u32 {
    a.iter().zip(b).map(|(x, y)| (x ^ y).count_ones()).sum()
}

impl Fingerprint {
    /// Length of the stored form; a stored fingerprint of another length is from an older version
    /// (and its item is fingerprinted again when the folder is indexed).
    pub const BYTES: usize = 32 * WORDS + 2 * BINS + 1;

    /// pHash bits that differ between two photos, the smallest of as-is and one of them mirrored,
    /// whole or with their margins trimmed.
    pub fn hash_distance(&self, other: &Fingerprint) -> u32 {
        self.hashes.distance(&other.hashes)
    }

    /// Share of colour that differs (half the L1 distance of the histograms): 0 same, 1 disjoint.
    pub fn colour_distance(&self, other: &Fingerprint) -> f32 {
        let l1: u32 = self
            .colours
            .iter()
            .zip(&other.colours)
            .map(|(a, b)| (*a as i32 - *b as i32).unsigned_abs())
            .sum();
        l1 as f32 / TOTAL / 2.0
    }

    /// How much more colour this photo has beyond `other` than `other` beyond it: near 0 for a
    /// copy re-encoded, resized or brightened; the overlay's share when this is `other` with a
    /// banner or a sticker laid over it; negative the other way round (or when this is `other`
    /// cropped).
    pub fn extra_colour(&self, other: &Fingerprint) -> f32 {
        self.colour_beyond(other) - other.colour_beyond(self)
    }

    /// Share of this photo's colour `other` lacks, `other` allowed up to [`OVERLAID`] of colour of
    /// its own: the least, over that share `o`, of the mass of `self` scaled to `1 - o` beyond
    /// `other`, rescaled to `self`'s whole.
    fn colour_beyond(&self, other: &Fingerprint) -> f32 {
        // Only the bins this photo has colour in count (a few dozen of the 512).
        let held: Vec<(f32, f32)> = self
            .colours
            .iter()
            .zip(&other.colours)
            .filter(|(a, _)| **a > 0)
            .map(|(a, b)| (*a as f32, *b as f32))
            .collect();
        (0..=OVERLAY_STEPS)
            .map(|k| {
                let kept = 1.0 - OVERLAID * k as f32 / OVERLAY_STEPS as f32;
                let beyond: f32 = held.iter().map(|(a, b)| (kept * a - b).max(0.0)).sum();
                beyond / kept / TOTAL
            })
            .fold(1.0, f32::min)
    }

    /// Stored form: plain, mirrored, trimmed and trimmed mirrored words (little-endian u64), the
    /// histogram (u16), then the version (2: with the trimmed hashes).
    pub fn to_bytes(&self) -> Vec<u8> {
        let h = &self.hashes;
        h.plain
            .iter()
            .chain(&h.mirrored)
            .chain(&h.trimmed)
            .chain(&h.trimmed_mirrored)
            .flat_map(|w| w.to_le_bytes())
            .chain(self.colours.iter().flat_map(|c| c.to_le_bytes()))
            .chain([VERSION])
            .collect()
    }

    pub fn from_bytes(b: &[u8]) -> Option<Self> {
        if b.len() != Self::BYTES || b[Self::BYTES - 1] != VERSION {
            return None;
        }
        let word = |i: usize| u64::from_le_bytes(b[i * 8..i * 8 + 8].try_into().expect("8 bytes"));
        let c = &b[32 * WORDS..];
        Some(Fingerprint {
            hashes: PHashes {
                plain: std::array::from_fn(word),
                mirrored: std::array::from_fn(|i| word(WORDS + i)),
                trimmed: std::array::from_fn(|i| word(2 * WORDS + i)),
                trimmed_mirrored: std::array::from_fn(|i| word(3 * WORDS + i)),
            },
            colours: std::array::from_fn(|i| u16::from_le_bytes([c[2 * i], c[2 * i + 1]])),
        })
    }
}

/// Fingerprint a photo: the hash of the whole photo and of the photo with its uniform margins (a
/// border, padding, letterboxing, a plain background) trimmed, each also of its mirror image; the
/// colour histogram of the trimmed photo. The hash: grey 64x64 (area-averaged), 2-D DCT, the 16x16
/// lowest frequencies against their median. Mirroring a photo flips the sign of odd horizontal
/// frequencies, so the mirrored hash comes from the same DCT.
pub fn fingerprint(rgb: &RgbImage) -> Fingerprint {
    let trimmed = crate::embed::trim::trimmed(rgb);
    let (plain, mirrored) = hashes(rgb);
    let (trimmed_plain, trimmed_mirrored) = match &trimmed {
        std::borrow::Cow::Borrowed(_) => (plain, mirrored),
        std::borrow::Cow::Owned(t) => hashes(t),
    };
    Fingerprint {
        hashes: PHashes {
            plain,
            mirrored,
            trimmed: trimmed_plain,
            trimmed_mirrored,
        },
        colours: histogram_of(&trimmed),
    }
}

/// The pHash of a photo and of its mirror image.
fn hashes(rgb: &RgbImage) -> ([u64; WORDS], [u64; WORDS]) {
    let small = crate::embed::preprocess::resize_to(rgb, SIDE as u32, SIDE as u32);
    let pixels: Vec<f32> = small
        .pixels()
        .map(|p| 0.299 * p[0] as f32 + 0.587 * p[1] as f32 + 0.114 * p[2] as f32)
        .collect();
    let coeffs = dct_low(&pixels);
    let mirrored: Vec<f32> = coeffs
        .iter()
        .enumerate()
        .map(|(i, &c)| if (i % LOW) % 2 == 1 { -c } else { c })
        .collect();
    (bits(&coeffs), bits(&mirrored))
}

/// The colour histogram of a photo (or a region of one), its uniform margins trimmed and background
/// white left out: the same for a query as for a catalog item's fingerprint.
pub fn colour_histogram(rgb: &RgbImage) -> ColourHistogram {
    histogram_of(&crate::embed::trim::trimmed(rgb))
}

/// The colour histogram of `rgb` as it is.
fn histogram_of(rgb: &RgbImage) -> ColourHistogram {
    let small = crate::embed::preprocess::resize_to(rgb, COLOUR_SIDE, COLOUR_SIDE);
    let bin = |p: &image::Rgb<u8>| {
        let q = |v: u8| v as usize * LEVELS / 256;
        q(p[0]) * LEVELS * LEVELS + q(p[1]) * LEVELS + q(p[2])
    };
    let mut counts = [0u32; BINS];
    let mut n = 0u32;
    for p in small.pixels().filter(|p| p.0.iter().any(|&c| c <= WHITE)) {
        counts[bin(p)] += 1;
        n += 1;
    }
    if n < 20 {
        // A blank or all-white photo: count everything.
        counts = [0; BINS];
        n = 0;
        for p in small.pixels() {
            counts[bin(p)] += 1;
            n += 1;
        }
    }
    std::array::from_fn(|i| (counts[i] as f32 / n.max(1) as f32 * TOTAL).round() as u16)
}

/// The `LOW x LOW` lowest DCT-II coefficients of a `SIDE x SIDE` image, row-major (v, u).
fn dct_low(pixels: &[f32]) -> Vec<f32> {
    let basis: Vec<f32> = (0..LOW)
        .flat_map(|u| {
            (0..SIDE).map(move |x| {
                ((std::f32::consts::PI / SIDE as f32) * (x as f32 + 0.5) * u as f32).cos()
            })
        })
        .collect();
    // Rows first (horizontal frequencies u), then columns (vertical frequencies v).
    let mut rows = vec![0.0f32; SIDE * LOW];
    for y in 0..SIDE {
        for u in 0..LOW {
            rows[y * LOW + u] = (0..SIDE)
                .map(|x| pixels[y * SIDE + x] * basis[u * SIDE + x])
                .sum();
        }
    }
    let mut out = vec![0.0f32; LOW * LOW];
    for v in 0..LOW {
        for u in 0..LOW {
            out[v * LOW + u] = (0..SIDE)
                .map(|y| rows[y * LOW + u] * basis[v * SIDE + y])
                .sum();
        }
    }
    out
}

/// One bit per coefficient: above the median of the coefficients other than the mean (DC).
fn bits(coeffs: &[f32]) -> [u64; WORDS] {
    let mut ac: Vec<f32> = coeffs[1..].to_vec();
    ac.sort_by(f32::total_cmp);
    let median = ac[ac.len() / 2];
    let mut h = [0u64; WORDS];
    for (i, &c) in coeffs.iter().enumerate() {
        if c > median {
            h[i / 64] |= 1 << (i % 64);
        }
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A smooth, photo-like picture (no hard edges, detail at several scales).
    fn picture(w: u32, h: u32) -> RgbImage {
        RgbImage::from_fn(w, h, |x, y| {
            let (u, v) = (x as f32 / w as f32 * 300.0, y as f32 / h as f32 * 200.0);
            let l = 128.0
                + 60.0 * (u / 17.0).sin()
                + 40.0 * (v / 23.0).cos()
                + 25.0 * ((u + 2.0 * v) / 11.0).sin();
            image::Rgb([l as u8, (l * 0.6) as u8, (255.0 - l) as u8])
        })
    }

    #[test]
    fn resized_and_mirrored_copies_match_and_other_pictures_do_not() {
        let a = picture(300, 200);
        let fa = fingerprint(&a);
        let smaller = image::imageops::resize(&a, 150, 100, image::imageops::FilterType::Triangle);
        let fs = fingerprint(&smaller);
        assert!(
            fa.hash_distance(&fs) <= 16,
            "resized: {}",
            fa.hash_distance(&fs)
        );
        assert!(fa.colour_distance(&fs) < 0.05);
        let flipped = image::imageops::flip_horizontal(&a);
        let ff = fingerprint(&flipped);
        assert!(
            fa.hash_distance(&ff) <= 16,
            "mirror: {}",
            fa.hash_distance(&ff)
        );
        assert!(
            differing(&fa.hashes.plain, &ff.hashes.plain) > 64,
            "the plain hashes differ"
        );
        let other = RgbImage::from_fn(300, 200, |x, y| {
            let v = ((x as f32 / 20.0).sin() * (y as f32 / 35.0).cos() * 120.0 + 128.0) as u8;
            image::Rgb([v, v, v])
        });
        let fo = fingerprint(&other);
        assert!(fa.hash_distance(&fo) > 80);
        assert!(fa.colour_distance(&fo) > 0.5, "{}", fa.colour_distance(&fo));
        assert_eq!(Fingerprint::from_bytes(&fa.to_bytes()), Some(fa));
    }
}
