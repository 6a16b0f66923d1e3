//! Mutation test of decoding: thousands of byte-flipped, truncated and header-patched copies of
//! real JPEG, PNG, WebP, GIF, TIFF and BMP files. Each gives a picture or a clear error: no panic,
//! no hang, and memory stays bounded.

mod common;

use std::io::Cursor;

use image::{DynamicImage, ImageFormat};
use lookalike::embed::{decode_photo, decode_photo_for};
use lookalike::error::PhotoError;

/// Mutated copies of each file.
const COPIES: usize = 500;

fn originals() -> Vec<(ImageFormat, Vec<u8>)> {
    let scene = image::open(common::known_photo("astronaut.png")).expect("astronaut.png");
    let product = image::open(&common::demo_photos(1)[0]).expect("a demo photo");
    let small = DynamicImage::ImageRgb8(product.to_rgb8());
    let encode = |img: &DynamicImage, f: ImageFormat| {
        let mut out = Cursor::new(Vec::new());
        img.write_to(&mut out, f).expect("encode");
        (f, out.into_inner())
    };
    vec![
        // A JPEG large enough for the reduced-size (libjpeg-turbo) path, and a small one.
        encode(&DynamicImage::ImageRgb8(scene.to_rgb8()), ImageFormat::Jpeg),
        (
            ImageFormat::Jpeg,
            std::fs::read(&common::demo_photos(1)[0]).expect("read"),
        ),
        encode(&scene, ImageFormat::Png),
        encode(
            &DynamicImage::ImageRgba8(small.to_rgba8()),
            ImageFormat::WebP,
        ),
        encode(&small, ImageFormat::Gif),
        encode(&small, ImageFormat::Tiff),
        encode(&small, ImageFormat::Bmp),
    ]
}

/// One mutated copy: bytes flipped, the end cut off, or a header field overwritten with a huge
/// or zero size.
fn mutate(original: &[u8], rng: &mut fastrand::Rng) -> Vec<u8> {
    let mut b = original.to_vec();
    match rng.u8(0..4) {
        0 => {
            for _ in 0..rng.usize(1..8) {
                let i = rng.usize(..b.len());
                b[i] ^= 1 << rng.u8(0..8);
            }
        }
        1 => b.truncate(rng.usize(..b.len())),
        2 => {
            // Somewhere in the first bytes, where formats keep their sizes and counts.
            let i = rng.usize(..b.len().min(200).saturating_sub(4).max(1));
            let v: [u8; 4] = [
                [0xFF, 0xFF, 0xFF, 0x7F],
                [0, 0, 0, 0],
                [0xFF, 0xFF, 0, 0],
                [0, 0, 0x40, 0],
            ][rng.usize(..4)];
            let end = (i + 4).min(b.len());
            b[i..end].copy_from_slice(&v[..end - i]);
        }
        _ => {
            let i = rng.usize(..b.len());
            let n = rng.usize(1..64).min(b.len() - i);
            for x in &mut b[i..i + n] {
                *x = rng.u8(..);
            }
        }
    }
    b
}

#[test]
fn mutated_photos_decode_or_fail_cleanly_within_bounded_memory() {
    let model = lookalike::model::default_model().expect("a model: run ./run setup");
    let mut rng = fastrand::Rng::with_seed(20261201);
    let mut pictures = 0;
    let mut errors = std::collections::BTreeMap::<String, usize>::new();
    for (format, original) in originals() {
        assert!(
            decode_photo(&original).is_ok(),
            "{format:?} original decodes"
        );
        for copy in 0..COPIES {
            let bytes = mutate(&original, &mut rng);
            let reduced = copy % 2 == 0;
            let result = std::panic::catch_unwind(|| {
                if reduced {
                    decode_photo_for(&bytes, &model)
                } else {
                    decode_photo(&bytes)
                }
            });
            match result {
                Err(_) => {
                    let keep = std::env::temp_dir().join("lookalike-mutant");
                    let _ = std::fs::write(&keep, &bytes);
                    panic!(
                        "{format:?} copy {copy} made the decoder panic; its bytes: {}",
                        keep.display()
                    )
                }
                Ok(Ok(photo)) => {
                    assert!(photo.rgb.width() > 0 && photo.rgb.height() > 0);
                    pictures += 1;
                }
                Ok(Err(e)) => {
                    let message = e.to_string();
                    assert!(message.len() > 10, "{format:?}: unclear error '{message}'");
                    let kind = match e {
                        PhotoError::Corrupt(_) => "damaged",
                        PhotoError::Truncated => "truncated",
                        PhotoError::NotAnImage => "not an image",
                        PhotoError::Unsupported(_) => "unsupported",
                        PhotoError::TooLarge { .. } | PhotoError::TooBigToDecode { .. } => {
                            "too large"
                        }
                        PhotoError::DecoderLimit(_) => "decoder limit",
                        PhotoError::Empty | PhotoError::NoPixels { .. } => "empty",
                        _ => "other",
                    };
                    *errors.entry(kind.to_string()).or_default() += 1;
                }
            }
        }
    }
    println!("{pictures} pictures, errors by kind: {errors:?}");
    assert!(pictures > 0 && !errors.is_empty());
    let peak = common::peak_rss_mb(libc::RUSAGE_SELF);
    assert!(peak < 1_500, "decoding mutants peaked at {peak} MB");
}
