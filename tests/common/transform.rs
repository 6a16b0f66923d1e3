//! Transformed copies of photos, the kinds of near-duplicate a catalog collects: used to measure the
//! duplicate finder (`cargo bench --bench figures -- dups`) and in its tests.

use image::{Rgb, RgbImage};

/// One way a listing's photo gets copied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transform {
    /// Re-encoded as a low-quality JPEG.
    Recompress,
    /// Shrunk to half size.
    Downscale,
    /// Cropped to about 88% of each side.
    Crop,
    /// Mirrored left to right.
    Mirror,
    /// Brighter and more contrasted.
    Recolour,
    /// Rotated by a few degrees (white corners).
    Rotate,
    /// Stamped with a "SALE -50%" banner.
    Text,
    /// Shrunk to 40% and re-encoded at low quality.
    SmallAndBlocky,
    /// A coloured border added on every side.
    Border,
    /// Padded with white to a square canvas.
    PadSquare,
    /// Letterboxed into a 16:9 black canvas.
    Letterbox,
    /// Rotated by 3 degrees, then cropped to 92%.
    RotateCrop,
    /// A round "NEW" sticker somewhere on the photo (where depends on the photo).
    Sticker,
    /// A screenshot: the photo, smaller, inside a window with a title bar and a frame.
    Screenshot,
}

impl Transform {
    pub const ALL: [Transform; 14] = [
        Transform::Recompress,
        Transform::Downscale,
        Transform::Crop,
        Transform::Mirror,
        Transform::Recolour,
        Transform::Rotate,
        Transform::Text,
        Transform::SmallAndBlocky,
        Transform::Border,
        Transform::PadSquare,
        Transform::Letterbox,
        Transform::RotateCrop,
        Transform::Sticker,
        Transform::Screenshot,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Transform::Recompress => "jpeg-q20",
            Transform::Downscale => "downscale-50%",
            Transform::Crop => "crop-88%",
            Transform::Mirror => "mirror",
            Transform::Recolour => "brightness+contrast",
            Transform::Rotate => "rotate-5deg",
            Transform::Text => "text-overlay",
            Transform::SmallAndBlocky => "40%+jpeg-q30",
            Transform::Border => "border-6%",
            Transform::PadSquare => "white-padding-square",
            Transform::Letterbox => "letterbox-16:9",
            Transform::RotateCrop => "rotate-3deg+crop-92%",
            Transform::Sticker => "sticker",
            Transform::Screenshot => "screenshot",
        }
    }

    /// The transformed photo, as the bytes of a JPEG file.
    pub fn apply(self, photo: &RgbImage) -> Vec<u8> {
        let (w, h) = photo.dimensions();
        let (img, quality) = match self {
            Transform::Recompress => (photo.clone(), 20),
            Transform::Downscale => (scaled(photo, 0.5), 90),
            Transform::Crop => {
                let (cw, ch) = (w * 88 / 100, h * 88 / 100);
                let img =
                    image::imageops::crop_imm(photo, (w - cw) / 3, (h - ch) / 2, cw, ch).to_image();
                (img, 90)
            }
            Transform::Mirror => (image::imageops::flip_horizontal(photo), 90),
            Transform::Recolour => {
                let b = image::imageops::colorops::brighten(photo, 25);
                (image::imageops::colorops::contrast(&b, 20.0), 90)
            }
            Transform::Rotate => (rotate(photo, 5.0), 90),
            Transform::Text => (stamp(photo, "SALE -50%"), 90),
            Transform::SmallAndBlocky => (scaled(photo, 0.4), 30),
            Transform::Border => {
                let m = (w.max(h) * 6 / 100).max(2);
                (placed(photo, w + 2 * m, h + 2 * m, m, m, [38, 62, 120]), 90)
            }
            Transform::PadSquare => {
                let side = w.max(h) * 11 / 10;
                (
                    placed(photo, side, side, (side - w) / 2, (side - h) / 2, [255; 3]),
                    90,
                )
            }
            Transform::Letterbox => {
                let ch = h;
                let cw = (ch * 16 / 9).max(w);
                (placed(photo, cw, ch, (cw - w) / 2, 0, [0; 3]), 90)
            }
            Transform::RotateCrop => {
                let r = rotate(photo, 3.0);
                let (cw, ch) = (w * 92 / 100, h * 92 / 100);
                let img =
                    image::imageops::crop_imm(&r, (w - cw) / 2, (h - ch) / 2, cw, ch).to_image();
                (img, 90)
            }
            Transform::Sticker => (sticker(photo), 90),
            Transform::Screenshot => (screenshot(photo), 85),
        };
        encode_jpeg(&img, quality)
    }
}

fn scaled(photo: &RgbImage, f: f32) -> RgbImage {
    let (w, h) = photo.dimensions();
    let (nw, nh) = (
        ((w as f32 * f) as u32).max(1),
        ((h as f32 * f) as u32).max(1),
    );
    lookalike::embed::preprocess::resize_to(photo, nw, nh)
}

pub fn encode_jpeg(img: &RgbImage, quality: u8) -> Vec<u8> {
    let mut out = Vec::new();
    let enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality);
    img.write_with_encoder(enc)
        .expect("encoding to memory cannot fail");
    out
}

/// `photo` on a `cw x ch` canvas of `fill` at (`x`, `y`).
fn placed(photo: &RgbImage, cw: u32, ch: u32, x: u32, y: u32, fill: [u8; 3]) -> RgbImage {
    let mut out = RgbImage::from_pixel(cw, ch, Rgb(fill));
    image::imageops::replace(&mut out, photo, x as i64, y as i64);
    out
}

/// A yellow disc with "NEW" in red, a sixth of the photo wide, at a place that depends on the
/// photo (so stickers land anywhere across a catalog).
fn sticker(photo: &RgbImage) -> RgbImage {
    let mut img = photo.clone();
    let (w, h) = img.dimensions();
    let r = (w.min(h) / 12).max(4) as i64;
    let seed = photo
        .pixels()
        .step_by(97)
        .map(|p| p[0] as u64 + p[1] as u64)
        .sum::<u64>();
    let cx = r + (seed % (w as u64 - 2 * r as u64).max(1)) as i64;
    let cy = r + ((seed / 7) % (h as u64 - 2 * r as u64).max(1)) as i64;
    for y in (cy - r).max(0)..(cy + r).min(h as i64) {
        for x in (cx - r).max(0)..(cx + r).min(w as i64) {
            if (x - cx).pow(2) + (y - cy).pow(2) <= r * r {
                img.put_pixel(x as u32, y as u32, Rgb([250, 215, 30]));
            }
        }
    }
    let scale = (r as u32 / 5).max(1);
    let left = (cx - 9 * scale as i64).max(0) as u32;
    let top = (cy - 3 * scale as i64).max(0) as u32;
    draw_text(&mut img, "NEW", left, top, scale, [200, 20, 30]);
    img
}

/// The photo at 80% inside a window: a grey frame, a dark title bar with three buttons and a title.
fn screenshot(photo: &RgbImage) -> RgbImage {
    let small = scaled(photo, 0.8);
    let (w, h) = small.dimensions();
    let frame = (w / 40).max(2);
    let bar = (h / 14).max(6);
    let (cw, ch) = (w + 2 * frame, h + bar + 2 * frame);
    let mut img = RgbImage::from_pixel(cw, ch, Rgb([205, 205, 210]));
    for y in 0..bar {
        for x in 0..cw {
            img.put_pixel(x, y, Rgb([52, 54, 60]));
        }
    }
    let br = (bar / 4).max(2) as i64;
    for (k, colour) in [[236, 95, 90], [245, 190, 60], [90, 200, 90]]
        .into_iter()
        .enumerate()
    {
        let (cx, cy) = (frame as i64 + br + k as i64 * 3 * br, bar as i64 / 2);
        for y in (cy - br).max(0)..cy + br {
            for x in (cx - br).max(0)..cx + br {
                if (x - cx).pow(2) + (y - cy).pow(2) <= br * br {
                    img.put_pixel(x as u32, y as u32, Rgb(colour));
                }
            }
        }
    }
    let scale = (bar / 10).max(1);
    draw_text(
        &mut img,
        "SALE",
        cw / 2 - 12 * scale,
        bar / 2 - 3 * scale,
        scale,
        [230, 230, 230],
    );
    image::imageops::replace(&mut img, &small, frame as i64, (bar + frame) as i64);
    img
}

fn draw_text(img: &mut RgbImage, text: &str, left: u32, top: u32, scale: u32, colour: [u8; 3]) {
    let (w, h) = img.dimensions();
    for (n, ch) in text.chars().enumerate() {
        for (row, bits) in glyph(ch).iter().enumerate() {
            for col in 0..5u32 {
                if bits >> (4 - col) & 1 == 1 {
                    for dy in 0..scale {
                        for dx in 0..scale {
                            let x = left + (n as u32 * 6 + col) * scale + dx;
                            let y = top + row as u32 * scale + dy;
                            if x < w && y < h {
                                img.put_pixel(x, y, Rgb(colour));
                            }
                        }
                    }
                }
            }
        }
    }
}

/// A colour variant, not a copy: the garment's saturated colours turned `degrees` round the hue
/// circle (skin tones and greys kept), as a shop's other colour of one product shot the same way.
/// None when too little of the photo is coloured for the change to show (a grey suit, sunglasses).
pub fn colour_variant(photo: &RgbImage, degrees: f32) -> Option<Vec<u8>> {
    let mut img = photo.clone();
    let (mut change, mut foreground) = (0f32, 0usize);
    for p in img.pixels_mut() {
        let [r, g, b] = p.0.map(|v| v as f32 / 255.0);
        let max = r.max(g).max(b);
        let min = r.min(g).min(b);
        if min < 0.92 {
            foreground += 1;
        }
        let (v, d) = (max, max - min);
        if v < 0.12 || d / v.max(1e-3) < 0.3 {
            continue;
        }
        let s = d / v;
        let mut hue = if max == r {
            60.0 * ((g - b) / d).rem_euclid(6.0)
        } else if max == g {
            60.0 * ((b - r) / d + 2.0)
        } else {
            60.0 * ((r - g) / d + 4.0)
        };
        if hue < 45.0 && s < 0.6 {
            continue; // skin
        }
        hue = (hue + degrees).rem_euclid(360.0);
        let c = v * s;
        let x = c * (1.0 - ((hue / 60.0).rem_euclid(2.0) - 1.0).abs());
        let (r1, g1, b1) = match (hue / 60.0) as u32 {
            0 => (c, x, 0.0),
            1 => (x, c, 0.0),
            2 => (0.0, c, x),
            3 => (0.0, x, c),
            4 => (x, 0.0, c),
            _ => (c, 0.0, x),
        };
        let m = v - c;
        let new = [r1 + m, g1 + m, b1 + m].map(|v| (v * 255.0).round().clamp(0.0, 255.0) as u8);
        change += new
            .iter()
            .zip(p.0)
            .map(|(a, b)| (*a as f32 - b as f32).abs())
            .sum::<f32>();
        p.0 = new;
    }
    // On average over the garment, at least 60 levels of change (summed over R, G, B).
    (change >= 60.0 * foreground.max(1) as f32).then(|| encode_jpeg(&img, 90))
}

/// Rotate about the centre by `degrees` (bilinear), keeping the size; uncovered corners are white.
fn rotate(photo: &RgbImage, degrees: f32) -> RgbImage {
    let (w, h) = photo.dimensions();
    let (s, c) = degrees.to_radians().sin_cos();
    let (cx, cy) = (w as f32 / 2.0, h as f32 / 2.0);
    RgbImage::from_fn(w, h, |x, y| {
        let (dx, dy) = (x as f32 + 0.5 - cx, y as f32 + 0.5 - cy);
        let sx = c * dx + s * dy + cx - 0.5;
        let sy = -s * dx + c * dy + cy - 0.5;
        if sx < 0.0 || sy < 0.0 || sx > (w - 1) as f32 || sy > (h - 1) as f32 {
            return Rgb([255, 255, 255]);
        }
        let (x0, y0) = (sx.floor() as u32, sy.floor() as u32);
        let (x1, y1) = ((x0 + 1).min(w - 1), (y0 + 1).min(h - 1));
        let (fx, fy) = (sx - x0 as f32, sy - y0 as f32);
        let p = |x, y| photo.get_pixel(x, y).0.map(|v| v as f32);
        let (a, b, cc, d) = (p(x0, y0), p(x1, y0), p(x0, y1), p(x1, y1));
        Rgb(std::array::from_fn(|i| {
            let top = a[i] + (b[i] - a[i]) * fx;
            let bottom = cc[i] + (d[i] - cc[i]) * fx;
            (top + (bottom - top) * fy).round() as u8
        }))
    })
}

/// 5x7 glyphs of the few characters the banner uses, one row per byte (low 5 bits, left = bit 4).
fn glyph(c: char) -> [u8; 7] {
    match c {
        'S' => [0x0F, 0x10, 0x10, 0x0E, 0x01, 0x01, 0x1E],
        'A' => [0x0E, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11],
        'L' => [0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1F],
        'E' => [0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F],
        '-' => [0x00, 0x00, 0x00, 0x1F, 0x00, 0x00, 0x00],
        '5' => [0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E],
        '0' => [0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E],
        '%' => [0x18, 0x19, 0x02, 0x04, 0x08, 0x13, 0x03],
        _ => [0; 7],
    }
}

/// A red banner with white text across the lower part of the photo, as shops stamp them.
fn stamp(photo: &RgbImage, text: &str) -> RgbImage {
    let mut img = photo.clone();
    let (w, h) = img.dimensions();
    let scale = (w / 90).max(1);
    let text_w = text.chars().count() as u32 * 6 * scale;
    let banner_h = 11 * scale;
    let top = h * 3 / 4;
    for y in top..(top + banner_h).min(h) {
        for x in 0..w {
            let p = img.get_pixel_mut(x, y);
            // 80% opaque red.
            *p = Rgb(std::array::from_fn(|i| {
                (p[i] as f32 * 0.2 + [200.0, 20.0, 30.0][i] * 0.8) as u8
            }));
        }
    }
    let left = w.saturating_sub(text_w) / 2;
    draw_text(
        &mut img,
        text,
        left,
        top + 2 * scale,
        scale,
        [255, 255, 255],
    );
    img
}
