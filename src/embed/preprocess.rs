//! From a photo file to the model's input: decode safely, orient, flatten to RGB on white,
//! fit into the model's square (centre crop or letterbox), normalise to CHW f32.

use std::io::Cursor;
use std::path::Path;
use std::sync::Arc;

use fast_image_resize::images::Image as FirImage;
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
use image::{DynamicImage, ImageDecoder, ImageError, ImageReader, Limits, RgbImage};

use super::budget::{self, read_photo_file};
use crate::error::PhotoError;
use crate::model::{ModelManifest, ResizePolicy};

/// Largest width or height accepted. Larger headers are refused before any pixel is allocated.
pub const MAX_SIDE: u32 = 30_000;
/// Largest decoded buffer accepted (bytes).
const MAX_ALLOC: u64 = 1 << 30;
/// Longest side of the thumbnails stored in the index for the window's grid.
pub const THUMB_SIDE: u32 = 128;

/// A decoded photo, upright and in RGB on white.
#[derive(Debug, Clone)]
pub struct Photo {
    /// The pixels; smaller than the photo when it was decoded at reduced size.
    pub rgb: RgbImage,
    /// The photo's own size (upright), whatever size it was decoded at.
    pub width: u32,
    pub height: u32,
    /// The share of the decoding budget its pixels hold, while any copy of it lives.
    _budget: Option<Arc<budget::Lease>>,
}

impl Photo {
    /// A photo decoded at full size.
    pub fn from_rgb(rgb: RgbImage) -> Self {
        let (width, height) = rgb.dimensions();
        Photo {
            rgb,
            width,
            height,
            _budget: None,
        }
    }
    pub fn width(&self) -> u32 {
        self.width
    }
    pub fn height(&self) -> u32 {
        self.height
    }
}

/// Read and decode a photo file at full size.
pub fn load_photo(path: &Path) -> Result<Photo, PhotoError> {
    let bytes = read_photo_file(path)?;
    decode_photo(&bytes)
}

/// Read and decode a photo file at the smallest size that still serves the model (see
/// [`decode_photo_for`]).
pub fn load_photo_for(path: &Path, m: &ModelManifest) -> Result<Photo, PhotoError> {
    let bytes = read_photo_file(path)?;
    decode_photo_for(&bytes, m)
}

/// Decode photo bytes (any supported format) at full size, refusing oversized headers, applying EXIF
/// orientation, compositing transparency on white and converting grey, CMYK and 16-bit to RGB8.
pub fn decode_photo(bytes: &[u8]) -> Result<Photo, PhotoError> {
    decode(bytes, None)
}

/// Like [`decode_photo`], but a large JPEG is decoded at 1/2, 1/4 or 1/8 of its size inside the
/// inverse DCT, to the smallest size from which the model's input (and the thumbnail) can still be
/// made by shrinking: a 12-megapixel photo costs a fraction of a full decode.
pub fn decode_photo_for(bytes: &[u8], m: &ModelManifest) -> Result<Photo, PhotoError> {
    decode(bytes, Some(m))
}

/// Whether a decoded `w x h` image is large enough to fit into the model's input without enlarging.
fn covers_input(w: u32, h: u32, m: &ModelManifest) -> bool {
    let size = m.input_size.max(THUMB_SIDE) as f32;
    match m.resize {
        ResizePolicy::Letterbox => w.max(h) as f32 >= size,
        ResizePolicy::CenterCrop => w.min(h) as f32 * m.crop_fraction.min(1.0) >= size,
    }
}

fn decode(bytes: &[u8], model: Option<&ModelManifest>) -> Result<Photo, PhotoError> {
    // A decoder bug met by a hostile file costs that file, never the whole run.
    std::panic::catch_unwind(|| decode_unguarded(bytes, model))
        .unwrap_or(Err(PhotoError::DecoderFailed))
}

fn decode_unguarded(bytes: &[u8], model: Option<&ModelManifest>) -> Result<Photo, PhotoError> {
    if bytes.is_empty() {
        return Err(PhotoError::Empty);
    }
    let reader = || {
        ImageReader::new(Cursor::new(bytes))
            .with_guessed_format()
            .map_err(PhotoError::Unreadable)
    };
    let mut probe = reader()?;
    let format = probe.format();
    if format.is_none() {
        return Err(PhotoError::NotAnImage);
    }
    if format == Some(image::ImageFormat::Jpeg) && !has_jpeg_end(bytes) {
        // The JPEG decoder fills a cut-off scan with grey rather than failing: refuse it here.
        return Err(PhotoError::Truncated);
    }
    probe.no_limits();
    let (width, height) = probe.into_dimensions().map_err(classify)?;
    if width == 0 || height == 0 {
        return Err(PhotoError::NoPixels { width, height });
    }
    if width > MAX_SIDE || height > MAX_SIDE {
        return Err(PhotoError::TooLarge {
            width,
            height,
            limit: MAX_SIDE,
        });
    }
    let reduced = match (format, model) {
        (Some(image::ImageFormat::Jpeg), Some(m)) => {
            super::jpeg::reduced_numerator(width, height, |w, h| covers_input(w, h, m))
        }
        _ => None,
    };
    let mut reader = reader()?;
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_ALLOC);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(classify)?;
    let orientation = decoder.orientation().map_err(classify)?;
    let upright = |w: u32, h: u32| match orientation {
        image::metadata::Orientation::Rotate90
        | image::metadata::Orientation::Rotate270
        | image::metadata::Orientation::Rotate90FlipH
        | image::metadata::Orientation::Rotate270FlipH => (h, w),
        _ => (w, h),
    };
    let (width, height) = upright(width, height);
    // What this decode holds at its peak: the file, the decoded pixels, and one converted or
    // rotated copy of them. Decodes wait for each other to stay within the budget.
    let pixels = match reduced {
        Some(n) => {
            let side = |s: u32| (s as u64 * n as u64).div_ceil(8);
            side(width) * side(height) * 3
        }
        None => decoder.total_bytes(),
    };
    let needed = (bytes.len() as u64).saturating_add(pixels.saturating_mul(2));
    let mut lease = budget::reserve(needed).ok_or(PhotoError::TooBigToDecode {
        width,
        height,
        needed_mb: needed >> 20,
        budget_mb: budget::budget_bytes() >> 20,
    })?;
    if let Some(small) = reduced.and_then(|n| super::jpeg::decode_scaled(bytes, n)) {
        let mut img = DynamicImage::ImageRgb8(small);
        img.apply_orientation(orientation);
        let rgb = img.into_rgb8();
        lease.shrink_to(rgb.len() as u64);
        return Ok(Photo {
            rgb,
            width,
            height,
            _budget: Some(Arc::new(lease)),
        });
    }
    let mut img = DynamicImage::from_decoder(decoder).map_err(classify)?;
    img.apply_orientation(orientation);
    let rgb = flatten_on_white(img);
    // Until the photo is dropped, its pixels stay counted.
    lease.shrink_to(rgb.len() as u64);
    Ok(Photo {
        rgb,
        width,
        height,
        _budget: Some(Arc::new(lease)),
    })
}

/// Whether a JPEG ends with its end-of-image marker (allowing some trailing padding).
fn has_jpeg_end(bytes: &[u8]) -> bool {
    let tail = &bytes[bytes.len().saturating_sub(4096)..];
    tail.windows(2).any(|w| w == [0xFF, 0xD9])
}

fn classify(e: ImageError) -> PhotoError {
    match e {
        ImageError::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            PhotoError::Corrupt(ImageError::IoError(io))
        }
        ImageError::IoError(io) => PhotoError::Unreadable(io),
        ImageError::Limits(e) => PhotoError::DecoderLimit(e.to_string()),
        ImageError::Unsupported(_) => PhotoError::Unsupported(e),
        other => PhotoError::Corrupt(other),
    }
}

/// RGB8 with any transparency composited on a white background (product photos sit on white).
fn flatten_on_white(img: DynamicImage) -> RgbImage {
    if !img.color().has_alpha() {
        return img.into_rgb8();
    }
    let rgba = img.into_rgba8();
    let (w, h) = rgba.dimensions();
    let mut out = RgbImage::new(w, h);
    for (o, p) in out.pixels_mut().zip(rgba.pixels()) {
        let a = p[3] as u32;
        for c in 0..3 {
            o[c] = ((p[c] as u32 * a + 255 * (255 - a) + 127) / 255) as u8;
        }
    }
    out
}

fn resize_rgb(src: &RgbImage, width: u32, height: u32, options: &ResizeOptions) -> RgbImage {
    let mut dst = FirImage::new(width.max(1), height.max(1), PixelType::U8x3);
    let mut resizer = Resizer::new();
    // Source and destination are both valid U8x3 images, so resizing cannot fail.
    resizer
        .resize(src, &mut dst, options)
        .expect("resize of RGB8 images");
    RgbImage::from_raw(dst.width(), dst.height(), dst.into_vec()).expect("buffer of the right size")
}

/// Resize to exactly `width x height` (bilinear, averaging over the source when shrinking).
pub fn resize_to(src: &RgbImage, width: u32, height: u32) -> RgbImage {
    resize_rgb(src, width, height, &bilinear())
}

fn bilinear() -> ResizeOptions {
    ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Bilinear))
}

/// Fit a photo into the model's square input by the manifest's policy; returns an S x S RGB image.
pub fn fit_square(
    photo: &RgbImage,
    size: u32,
    policy: ResizePolicy,
    crop_fraction: f32,
) -> RgbImage {
    let (w, h) = photo.dimensions();
    if (w, h) == (size, size) && (policy == ResizePolicy::Letterbox || crop_fraction >= 1.0) {
        return photo.clone(); // already the model's input
    }
    match policy {
        ResizePolicy::CenterCrop => {
            // The centre square covering `crop_fraction` of the shorter side, scaled to the input size.
            let side = (w.min(h) as f64 * crop_fraction as f64).max(1.0);
            let left = (w as f64 - side) / 2.0;
            let top = (h as f64 - side) / 2.0;
            resize_rgb(photo, size, size, &bilinear().crop(left, top, side, side))
        }
        ResizePolicy::Letterbox => {
            let scale = size as f64 / w.max(h) as f64;
            let nw = ((w as f64 * scale).round() as u32).clamp(1, size);
            let nh = ((h as f64 * scale).round() as u32).clamp(1, size);
            let inner = resize_rgb(photo, nw, nh, &bilinear());
            let mut canvas = RgbImage::from_pixel(size, size, image::Rgb([255, 255, 255]));
            image::imageops::replace(
                &mut canvas,
                &inner,
                ((size - nw) / 2) as i64,
                ((size - nh) / 2) as i64,
            );
            canvas
        }
    }
}

/// Normalise a square RGB image into CHW f32 with the manifest's mean and std (0..255 scale).
pub fn to_chw(square: &RgbImage, mean: [f32; 3], std: [f32; 3], out: &mut [f32]) {
    let plane = (square.width() * square.height()) as usize;
    assert_eq!(out.len(), 3 * plane, "output slice must hold 3 planes");
    let inv = [1.0 / std[0], 1.0 / std[1], 1.0 / std[2]];
    for (i, p) in square.pixels().enumerate() {
        for c in 0..3 {
            out[c * plane + i] = (p[c] as f32 - mean[c]) * inv[c];
        }
    }
}

/// The model input for one photo: `3 * S * S` floats.
pub fn model_input(photo: &Photo, m: &ModelManifest) -> Vec<f32> {
    let square = fit_square(&photo.rgb, m.input_size, m.resize, m.crop_fraction);
    let mut out = vec![0.0; 3 * (m.input_size * m.input_size) as usize];
    to_chw(&square, m.mean, m.std, &mut out);
    out
}

/// A small JPEG thumbnail (longest side `THUMB_SIDE`) for the window's grid.
pub fn thumbnail_jpeg(photo: &Photo) -> Vec<u8> {
    let (w, h) = photo.rgb.dimensions();
    let scale = (THUMB_SIDE as f64 / w.max(h) as f64).min(1.0);
    let tw = ((w as f64 * scale).round() as u32).max(1);
    let th = ((h as f64 * scale).round() as u32).max(1);
    let small = resize_rgb(&photo.rgb, tw, th, &bilinear());
    let mut out = Vec::new();
    let enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85);
    // Encoding an in-memory RGB8 image into a Vec cannot fail.
    small
        .write_with_encoder(enc)
        .expect("JPEG encoding of a thumbnail");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alpha_becomes_white() {
        let img = DynamicImage::ImageRgba8(image::RgbaImage::from_pixel(
            2,
            2,
            image::Rgba([0, 0, 0, 0]),
        ));
        assert_eq!(flatten_on_white(img).get_pixel(0, 0).0, [255, 255, 255]);
    }

    #[test]
    fn letterbox_pads_portrait_with_white_and_keeps_content() {
        let tall = RgbImage::from_pixel(30, 60, image::Rgb([10, 20, 30]));
        let sq = fit_square(&tall, 32, ResizePolicy::Letterbox, 0.875);
        assert_eq!(sq.dimensions(), (32, 32));
        assert_eq!(
            sq.get_pixel(0, 16).0,
            [255, 255, 255],
            "left margin is white"
        );
        assert_eq!(sq.get_pixel(16, 16).0, [10, 20, 30], "centre is the photo");
    }

    #[test]
    fn center_crop_crops_even_a_photo_of_the_input_size() {
        let mut sq = RgbImage::from_pixel(32, 32, image::Rgb([200, 200, 200]));
        sq.put_pixel(0, 0, image::Rgb([0, 0, 0]));
        assert_eq!(
            fit_square(&sq, 32, ResizePolicy::Letterbox, 0.875)
                .get_pixel(0, 0)
                .0,
            [0, 0, 0]
        );
        assert_eq!(
            fit_square(&sq, 32, ResizePolicy::CenterCrop, 0.875)
                .get_pixel(0, 0)
                .0,
            [200, 200, 200]
        );
    }

    #[test]
    fn center_crop_fills_the_square() {
        let tall = RgbImage::from_pixel(30, 60, image::Rgb([10, 20, 30]));
        let sq = fit_square(&tall, 32, ResizePolicy::CenterCrop, 0.875);
        assert_eq!(sq.get_pixel(0, 16).0, [10, 20, 30]);
    }

    #[test]
    fn normalisation_uses_mean_and_std() {
        let sq = RgbImage::from_pixel(2, 2, image::Rgb([255, 127, 0]));
        let mut out = vec![0.0; 12];
        to_chw(&sq, [127.0; 3], [128.0; 3], &mut out);
        assert_eq!(out[0], 1.0);
        assert_eq!(out[4], 0.0);
        assert!((out[8] + 127.0 / 128.0).abs() < 1e-6);
    }
}
