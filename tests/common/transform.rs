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
}

impl Transform {
    pub const ALL: [Transform; 8] = [
        Transform::Recompress,
        Transform::Downscale,
        Transform::Crop,
        Transform::Mirror,
        Transform::Recolour,
        Transform::Rotate,
        Transform::Text,
        Transform::SmallAndBlocky,
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
    for (n, ch) in text.chars().enumerate() {
        for (row, bits) in glyph(ch).iter().enumerate() {
            for col in 0..5u32 {
                if bits >> (4 - col) & 1 == 1 {
                    for dy in 0..scale {
                        for dx in 0..scale {
                            let x = left + (n as u32 * 6 + col) * scale + dx;
                            let y = top + 2 * scale + row as u32 * scale + dy;
                            if x < w && y < h {
                                img.put_pixel(x, y, Rgb([255, 255, 255]));
                            }
                        }
                    }
                }
            }
        }
    }
    img
}
