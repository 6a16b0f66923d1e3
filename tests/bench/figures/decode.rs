//! Large photos: decode + fit of 12-megapixel JPEGs, in full (the image crate) against the reduced
//! decode (libjpeg-turbo's DCT scaling). The big photos are real catalog photos enlarged to
//! 4000 x 3000; a second set adds camera-like grain, which makes the JPEG larger and its entropy
//! decoding (the part no scaling avoids) slower.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use image::{DynamicImage, RgbImage};

use lookalike::embed::preprocess::fit_square;
use lookalike::embed::{decode_photo, decode_photo_for};
use lookalike::model::ModelManifest;

const SIZE: (u32, u32) = (4000, 3000);
const PHOTOS: usize = 6;
const ROUNDS: usize = 3;

fn enlarge(src: &Path, grain: bool) -> Result<Vec<u8>> {
    let img = image::open(src).with_context(|| src.display().to_string())?;
    let mut big: RgbImage = img
        .resize_exact(SIZE.0, SIZE.1, image::imageops::FilterType::CatmullRom)
        .into_rgb8();
    if grain {
        let mut rng = fastrand::Rng::with_seed(7);
        for p in big.pixels_mut() {
            for c in p.0.iter_mut() {
                let noise = (rng.u8(..) as i32 + rng.u8(..) as i32 - 255) / 24; // about +-10
                *c = (*c as i32 + noise).clamp(0, 255) as u8;
            }
        }
    }
    let mut out = Vec::new();
    DynamicImage::ImageRgb8(big).write_with_encoder(
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90),
    )?;
    Ok(out)
}

/// Milliseconds per photo of decode + fit into the model's square.
fn per_photo(
    files: &[Vec<u8>],
    decode: impl Fn(&[u8]) -> Result<RgbImage>,
    m: &ModelManifest,
) -> Result<f64> {
    let t = Instant::now();
    for _ in 0..ROUNDS {
        for f in files {
            let rgb = decode(f)?;
            std::hint::black_box(fit_square(&rgb, m.input_size, m.resize, m.crop_fraction));
        }
    }
    Ok(t.elapsed().as_secs_f64() * 1e3 / (ROUNDS * files.len()) as f64)
}

/// Prints both sets; returns the ratio on the enlarged photos.
pub fn run(photos: &[PathBuf], m: &ModelManifest) -> Result<f64> {
    let sources: Vec<&PathBuf> = photos
        .iter()
        .step_by(photos.len() / PHOTOS)
        .take(PHOTOS)
        .collect();
    let mut first = f64::NAN;
    for grain in [false, true] {
        let files = sources
            .iter()
            .map(|p| enlarge(p, grain))
            .collect::<Result<Vec<_>>>()?;
        let mb = files.iter().map(Vec::len).sum::<usize>() as f64 / files.len() as f64 / 1e6;
        let full = per_photo(&files, |b| Ok(decode_photo(b)?.rgb), m)?;
        let reduced = per_photo(&files, |b| Ok(decode_photo_for(b, m)?.rgb), m)?;
        let what = if grain { "with grain" } else { "enlarged" };
        println!(
            "12 MP JPEG ({what}, {mb:.1} MB) decode + fit: full {full:6.1} ms, reduced {reduced:5.1} ms = {:.1} x faster",
            full / reduced
        );
        if !grain {
            first = full / reduced;
        }
    }
    Ok(first)
}
