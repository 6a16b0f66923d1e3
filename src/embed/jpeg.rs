//! Reduced-size JPEG decoding: libjpeg-turbo (through the mozjpeg crate, built from source by `cc`)
//! scales the image inside the inverse DCT, by 1/2, 1/4 or 1/8, so a 12-megapixel photo is never
//! decoded at full size when the model needs 224 pixels.

use image::RgbImage;

/// Scale numerators (over 8) tried from the smallest image up.
const NUMERATORS: [u8; 3] = [1, 2, 4];

/// The smallest DCT scale (numerator over 8) whose output still has `need(width, height)`;
/// `None` when only the full size will do.
pub fn reduced_numerator(width: u32, height: u32, need: impl Fn(u32, u32) -> bool) -> Option<u8> {
    NUMERATORS.into_iter().find(|&n| {
        // libjpeg rounds scaled dimensions up.
        let scaled = |d: u32| (d as u64 * n as u64).div_ceil(8) as u32;
        need(scaled(width), scaled(height))
    })
}

/// Decode a baseline or progressive JPEG (RGB or greyscale) at `numerator / 8` of its size, as RGB8.
/// `None` for what this path does not handle (CMYK, damaged data): the caller decodes in full,
/// which also gives the precise error.
pub fn decode_scaled(bytes: &[u8], numerator: u8) -> Option<RgbImage> {
    // libjpeg reports fatal errors by unwinding out of its error handler; keep that inside here.
    std::panic::catch_unwind(|| {
        let mut d = mozjpeg::Decompress::new_mem(bytes).ok()?;
        d.scale(numerator);
        let mut started = d.rgb().ok()?;
        let (w, h) = (started.width() as u32, started.height() as u32);
        let pixels: Vec<[u8; 3]> = started.read_scanlines().ok()?;
        started.finish().ok()?;
        RgbImage::from_raw(w, h, pixels.into_flattened())
    })
    .ok()
    .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_smallest_scale_that_still_covers_the_need() {
        let long_side_224 = |w: u32, h: u32| w.max(h) >= 224;
        assert_eq!(reduced_numerator(4000, 3000, long_side_224), Some(1)); // 500 x 375
        assert_eq!(reduced_numerator(1000, 800, long_side_224), Some(2)); // 250 x 200
        assert_eq!(reduced_numerator(600, 600, long_side_224), Some(4)); // 300 x 300
        assert_eq!(reduced_numerator(400, 300, long_side_224), None); // needs the full size
    }

    #[test]
    fn a_scaled_decode_keeps_the_picture() {
        let mut img = RgbImage::from_pixel(640, 480, image::Rgb([250, 250, 250]));
        for y in 0..480 {
            for x in 0..320 {
                img.put_pixel(x, y, image::Rgb([200, 20, 20]));
            }
        }
        let mut jpeg = Vec::new();
        img.write_with_encoder(image::codecs::jpeg::JpegEncoder::new_with_quality(
            &mut jpeg, 90,
        ))
        .unwrap();
        let small = decode_scaled(&jpeg, 2).expect("decodes");
        assert_eq!(small.dimensions(), (160, 120));
        let left = small.get_pixel(40, 60).0;
        let right = small.get_pixel(120, 60).0;
        assert!(left[0] > 170 && left[1] < 60, "left half is red: {left:?}");
        assert!(
            right.iter().all(|&c| c > 230),
            "right half is white: {right:?}"
        );
    }

    #[test]
    fn garbage_is_declined_not_a_crash() {
        assert!(decode_scaled(b"\xFF\xD8\xFF\xE0 not really a jpeg", 1).is_none());
    }
}
