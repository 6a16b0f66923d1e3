//! Preprocessing: what the model is fed, from photos of every kind a catalog holds.

mod common;
#[path = "common/photos.rs"]
mod photos;

use image::{DynamicImage, ImageFormat};
use lookalike::embed::{decode_photo, decode_photo_for, model_input};
use lookalike::error::PhotoError;
use lookalike::model::{ResizePolicy, default_model};

#[test]
fn a_model_input_has_the_manifest_shape_and_value_range() {
    let m = default_model().expect("model");
    let photo = lookalike::embed::load_photo(&common::known_photo("astronaut.png")).unwrap();
    let x = model_input(&photo, &m);
    let s = m.input_size as usize;
    assert_eq!(x.len(), 3 * s * s);
    let lo = (0.0 - m.mean[0]) / m.std[0];
    let hi = (255.0 - m.mean[0]) / m.std[0];
    assert!(x.iter().all(|v| *v >= lo - 1e-4 && *v <= hi + 1e-4));
    let spread =
        x.iter().cloned().fold(f32::MIN, f32::max) - x.iter().cloned().fold(f32::MAX, f32::min);
    assert!(
        spread > 1.0,
        "a real photo uses much of the range, got {spread}"
    );
}

#[test]
fn exif_orientation_turns_the_photo_upright() {
    // Orientation 6: the camera was turned; the viewer rotates 90 degrees clockwise,
    // so the left (red) half ends up on top.
    let bytes = photos::jpeg_with_orientation(&photos::red_left_blue_right(80, 40), 6);
    let p = decode_photo(&bytes).unwrap();
    assert_eq!((p.width(), p.height()), (40, 80));
    let top = p.rgb.get_pixel(20, 5).0;
    let bottom = p.rgb.get_pixel(20, 75).0;
    assert!(top[0] > 200 && top[2] < 60, "top is red: {top:?}");
    assert!(
        bottom[2] > 200 && bottom[0] < 60,
        "bottom is blue: {bottom:?}"
    );
}

#[test]
fn a_large_jpeg_is_decoded_small_upright_and_sized_as_it_is() {
    let m = default_model().expect("model");
    // 3200x1600, turned by EXIF: upright it is 1600x3200 with red on top.
    let bytes = photos::jpeg_with_orientation(&photos::red_left_blue_right(3200, 1600), 6);
    let p = decode_photo_for(&bytes, &m).unwrap();
    assert_eq!(
        (p.width(), p.height()),
        (1600, 3200),
        "the photo's own size"
    );
    assert_eq!(p.rgb.dimensions(), (200, 400), "decoded at 1/8");
    let top = p.rgb.get_pixel(100, 20).0;
    let bottom = p.rgb.get_pixel(100, 380).0;
    assert!(top[0] > 200 && top[2] < 60, "top is red: {top:?}");
    assert!(
        bottom[2] > 200 && bottom[0] < 60,
        "bottom is blue: {bottom:?}"
    );
    // Small photos, and formats without DCT scaling, are decoded in full.
    let small = photos::jpeg_with_orientation(&photos::red_left_blue_right(300, 200), 1);
    assert_eq!(
        decode_photo_for(&small, &m).unwrap().rgb.dimensions(),
        (300, 200)
    );
    // A large CMYK JPEG (which the reduced path does not convert) still decodes, with its colours.
    let cyan = decode_photo_for(&photos::cmyk_jpeg(2000, 1000, [255, 0, 0, 0]), &m).unwrap();
    assert_eq!((cyan.width(), cyan.height()), (2000, 1000));
    let px = cyan.rgb.get_pixel(10, 10).0;
    assert!(px[0] < 60 && px[1] > 180 && px[2] > 180, "cyan: {px:?}");
}

/// A real product photo enlarged to 12 megapixels embeds the same whether decoded in full or at 1/8.
#[test]
fn a_12_megapixel_photo_embeds_alike_from_a_reduced_decode() {
    let e = common::embedder();
    let mut worst = 1.0f32;
    for src in common::demo_photos(400).iter().step_by(100) {
        let photo = image::open(src).unwrap().resize_exact(
            4000,
            3000,
            image::imageops::FilterType::Triangle,
        );
        let bytes = photos::encode(
            &DynamicImage::ImageRgb8(photo.into_rgb8()),
            ImageFormat::Jpeg,
        );
        let reduced = decode_photo_for(&bytes, e.manifest()).unwrap();
        assert_eq!(reduced.rgb.dimensions(), (500, 375));
        let full = decode_photo(&bytes).unwrap();
        assert_eq!(full.rgb.dimensions(), (4000, 3000));
        let (a, _) = e.embed_photo(&reduced).unwrap();
        let (b, _) = e.embed_photo(&full).unwrap();
        worst = worst.min(lookalike::search::dot(&a, &b));
    }
    assert!(
        worst > 0.98,
        "cosine between reduced and full decodes: {worst}"
    );
}

#[test]
fn transparency_is_composited_on_white() {
    let p = decode_photo(&photos::transparent_png(10, 10)).unwrap();
    assert_eq!(p.rgb.get_pixel(5, 5).0, [255, 255, 255]);
}

#[test]
fn cmyk_16_bit_grey_and_animated_photos_become_rgb() {
    let cmyk = decode_photo(&photos::cmyk_jpeg(32, 16, [0, 0, 0, 0])).unwrap();
    assert_eq!((cmyk.width(), cmyk.height()), (32, 16));
    assert!(
        cmyk.rgb.get_pixel(4, 4).0.iter().all(|&c| c > 230),
        "no ink is white: {:?}",
        cmyk.rgb.get_pixel(4, 4)
    );
    let cyan = decode_photo(&photos::cmyk_jpeg(32, 16, [255, 0, 0, 0]))
        .unwrap()
        .rgb
        .get_pixel(4, 4)
        .0;
    assert!(
        cyan[0] < 60 && cyan[1] > 180 && cyan[2] > 180,
        "full cyan ink is cyan: {cyan:?}"
    );
    let png16 = decode_photo(&photos::png16(8, 8)).unwrap();
    let px = png16.rgb.get_pixel(0, 0).0;
    assert_eq!(px[0], 255);
    assert!((px[1] as i32 - 128).abs() <= 1);
    let grey = photos::encode(
        &DynamicImage::ImageLuma8(image::GrayImage::from_pixel(4, 4, image::Luma([77]))),
        ImageFormat::Png,
    );
    assert_eq!(
        decode_photo(&grey).unwrap().rgb.get_pixel(1, 1).0,
        [77, 77, 77]
    );
    let gif = decode_photo(&photos::animated_gif(6, 6)).unwrap();
    let first = gif.rgb.get_pixel(3, 3).0;
    assert!(
        first[0] > 200 && first[1] < 50,
        "the first frame (red) is used: {first:?}"
    );
    for fmt in [ImageFormat::Bmp, ImageFormat::Tiff, ImageFormat::WebP] {
        let bytes = photos::encode(
            &DynamicImage::ImageRgb8(photos::red_left_blue_right(16, 8)),
            fmt,
        );
        assert_eq!(decode_photo(&bytes).unwrap().width(), 16, "{fmt:?}");
    }
}

#[test]
fn broken_files_get_the_right_error() {
    assert!(matches!(decode_photo(b""), Err(PhotoError::Empty)));
    assert!(matches!(
        decode_photo(b"just some notes\n"),
        Err(PhotoError::NotAnImage)
    ));
    let jpeg = std::fs::read(common::demo_photos(1)[0].clone()).unwrap();
    assert!(matches!(
        decode_photo(&jpeg[..jpeg.len() / 2]),
        Err(PhotoError::Truncated)
    ));
    let png = photos::encode(
        &DynamicImage::ImageRgb8(photos::red_left_blue_right(64, 64)),
        ImageFormat::Png,
    );
    assert!(matches!(
        decode_photo(&png[..png.len() / 2]),
        Err(PhotoError::Corrupt(_))
    ));
    match decode_photo(&photos::png_header_claiming(100_000, 100_000)) {
        Err(PhotoError::TooLarge { width, height, .. }) => {
            assert_eq!((width, height), (100_000, 100_000))
        }
        other => panic!("expected TooLarge, got {:?}", other.map(|p| p.width())),
    }
}

#[test]
fn letterbox_keeps_a_portrait_garment_whole_and_center_crop_cuts_it() {
    // A 3:4 portrait: dark garment on white with dark rows at the very top and bottom (head and shoes).
    let img = image::RgbImage::from_fn(300, 400, |_, y| {
        if !(10..390).contains(&y) {
            image::Rgb([0, 0, 0])
        } else {
            image::Rgb([255, 255, 255])
        }
    });
    let m = default_model().unwrap();
    let photo = decode_photo(&photos::encode(
        &DynamicImage::ImageRgb8(img),
        ImageFormat::Png,
    ))
    .unwrap();
    let letter = model_input(&photo, &m.with_variant(m.pooling, ResizePolicy::Letterbox));
    let crop = model_input(&photo, &m.with_variant(m.pooling, ResizePolicy::CenterCrop));
    let s = m.input_size as usize;
    let black = (0.0 - m.mean[0]) / m.std[0];
    let has_black_row = |x: &[f32]| (0..s).any(|y| x[y * s + s / 2] < black + 0.2);
    assert!(has_black_row(&letter), "letterbox keeps the top and bottom");
    assert!(!has_black_row(&crop), "centre crop cuts them off");
}
