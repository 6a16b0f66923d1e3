//! Uniform margins trimmed off a photo: a border, padding, letterboxing, the plain frame of a
//! screenshot, and the studio background around a garment. A copy with a border added then has the
//! same content box as its original, so its fingerprint and its pixels compare as the same photo.

use image::RgbImage;

/// Longest side the box is looked for on (a larger photo is measured on a reduced copy).
const PROBE_SIDE: u32 = 640;
/// A line is margin when this share of its pixels is close to the line's own typical colour.
const UNIFORM_SHARE: f32 = 0.85;
/// ...close: no channel further than this from that colour.
const TOLERANCE: i32 = 22;
/// Never trim to less than this share of a side (a photo that is nearly all one colour stays whole).
const MIN_KEPT: f32 = 0.2;

/// A rectangle of a photo, in its pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContentBox {
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
}

impl ContentBox {
    pub fn whole(rgb: &RgbImage) -> Self {
        ContentBox {
            x: 0,
            y: 0,
            width: rgb.width(),
            height: rgb.height(),
        }
    }
}

/// The box left when uniform lines are trimmed from each side of `rgb`.
pub fn content_box(rgb: &RgbImage) -> ContentBox {
    let (w, h) = rgb.dimensions();
    if w < 4 || h < 4 {
        return ContentBox::whole(rgb);
    }
    let scale = (PROBE_SIDE as f32 / w.max(h) as f32).min(1.0);
    let probe;
    let small = if scale < 1.0 {
        let (pw, ph) = (
            ((w as f32 * scale).round() as u32).max(4),
            ((h as f32 * scale).round() as u32).max(4),
        );
        probe = crate::embed::preprocess::resize_to(rgb, pw, ph);
        &probe
    } else {
        rgb
    };
    let (pw, ph) = small.dimensions();
    // Line pixels within the part of the other axis still kept.
    let row = |y: u32, from: u32, to: u32| (from..to).map(move |x| small.get_pixel(x, y).0);
    let col = |x: u32, from: u32, to: u32| (from..to).map(move |y| small.get_pixel(x, y).0);
    let min_w = ((pw as f32 * MIN_KEPT).ceil() as u32).max(1);
    let min_h = ((ph as f32 * MIN_KEPT).ceil() as u32).max(1);
    let (mut top, mut bottom) = (0u32, ph);
    let (mut left, mut right) = (0u32, pw);
    // Rows trimmed within the columns kept, columns within the rows kept, each from the photo's
    // edge again, until neither moves: a letterboxed photo's top row is black bars and white
    // background, uniform only within the columns of the photo, and the box found must not depend
    // on which margin came first.
    for _ in 0..6 {
        let (mut t, mut b) = (0u32, ph);
        while b - t > min_h && uniform(row(t, left, right)) {
            t += 1;
        }
        while b - t > min_h && uniform(row(b - 1, left, right)) {
            b -= 1;
        }
        let (mut l, mut r) = (0u32, pw);
        while r - l > min_w && uniform(col(l, top, bottom)) {
            l += 1;
        }
        while r - l > min_w && uniform(col(r - 1, top, bottom)) {
            r -= 1;
        }
        if (t, b, l, r) == (top, bottom, left, right) {
            break;
        }
        (top, bottom, left, right) = (t, b, l, r);
    }
    // Back to the photo's pixels, the box rounded outwards.
    let to = |v: u32, full: u32, probe: u32| ((v as u64 * full as u64) / probe as u64) as u32;
    let up = |v: u32, full: u32, probe: u32| {
        ((v as u64 * full as u64).div_ceil(probe as u64) as u32).min(full)
    };
    let (x0, x1) = (to(left, w, pw), up(right, w, pw));
    let (y0, y1) = (to(top, h, ph), up(bottom, h, ph));
    ContentBox {
        x: x0,
        y: y0,
        width: (x1 - x0).max(1),
        height: (y1 - y0).max(1),
    }
}

/// `rgb` with its uniform margins trimmed (itself when there are none).
pub fn trimmed(rgb: &RgbImage) -> std::borrow::Cow<'_, RgbImage> {
    let b = content_box(rgb);
    if b == ContentBox::whole(rgb) {
        std::borrow::Cow::Borrowed(rgb)
    } else {
        std::borrow::Cow::Owned(
            image::imageops::crop_imm(rgb, b.x, b.y, b.width, b.height).to_image(),
        )
    }
}

/// Whether most pixels of a line are close to its typical (per-channel median) colour.
fn uniform(line: impl Iterator<Item = [u8; 3]> + Clone) -> bool {
    let mut hist = [[0u32; 256]; 3];
    let mut n = 0u32;
    for p in line.clone() {
        for c in 0..3 {
            hist[c][p[c] as usize] += 1;
        }
        n += 1;
    }
    if n == 0 {
        return false;
    }
    let median: [i32; 3] = std::array::from_fn(|c| {
        let mut seen = 0;
        hist[c]
            .iter()
            .position(|&k| {
                seen += k;
                seen * 2 >= n
            })
            .unwrap_or(0) as i32
    });
    let close = line
        .filter(|p| (0..3).all(|c| (p[c] as i32 - median[c]).abs() <= TOLERANCE))
        .count();
    close as f32 >= UNIFORM_SHARE * n as f32
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgb;

    fn garment(w: u32, h: u32) -> RgbImage {
        RgbImage::from_fn(w, h, |x, y| {
            Rgb([
                (x * 7 % 200) as u8 + 20,
                (y * 5 % 180) as u8 + 30,
                ((x + y) % 150) as u8 + 40,
            ])
        })
    }

    fn framed(inner: &RgbImage, margin: u32, colour: [u8; 3]) -> RgbImage {
        let (w, h) = inner.dimensions();
        let mut out = RgbImage::from_pixel(w + 2 * margin, h + 3 * margin, Rgb(colour));
        image::imageops::replace(&mut out, inner, margin as i64, 2 * margin as i64);
        out
    }

    #[test]
    fn a_border_of_any_colour_is_trimmed_and_content_kept() {
        let inner = garment(80, 100);
        for colour in [[255, 255, 255], [0, 0, 0], [40, 90, 200]] {
            let b = content_box(&framed(&inner, 10, colour));
            assert_eq!(
                (b.x, b.y, b.width, b.height),
                (10, 20, 80, 100),
                "{colour:?}"
            );
        }
    }

    #[test]
    fn a_photo_without_margins_stays_whole_and_a_plain_one_is_not_trimmed_away() {
        let g = garment(100, 80);
        assert_eq!(content_box(&g), ContentBox::whole(&g));
        let plain = RgbImage::from_pixel(100, 80, Rgb([250, 250, 250]));
        let b = content_box(&plain);
        assert!(b.width >= 20 && b.height >= 16, "{b:?}");
    }

    #[test]
    fn a_large_photo_is_measured_on_a_reduced_copy_and_the_box_mapped_back() {
        let inner = garment(600, 800);
        let b = content_box(&framed(&inner, 100, [255, 255, 255]));
        // Within a probe pixel (800 + 300 px high measured on 160).
        assert!(
            (b.x as i32 - 100).abs() <= 8 && (b.y as i32 - 200).abs() <= 8,
            "{b:?}"
        );
        assert!(
            (b.width as i32 - 600).abs() <= 16 && (b.height as i32 - 800).abs() <= 16,
            "{b:?}"
        );
    }
}
