//! Photo files written by the tests themselves: odd formats, EXIF orientation, broken files.
#![allow(dead_code)]

use std::io::Cursor;
use std::path::Path;

use image::{DynamicImage, ImageFormat, Rgb, RgbImage, Rgba, RgbaImage};

/// A landscape image, red on the left half and blue on the right.
pub fn red_left_blue_right(w: u32, h: u32) -> RgbImage {
    RgbImage::from_fn(w, h, |x, _| {
        if x < w / 2 {
            Rgb([255, 0, 0])
        } else {
            Rgb([0, 0, 255])
        }
    })
}

pub fn encode(img: &DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, format).expect("encode");
    out.into_inner()
}

/// A JPEG carrying an EXIF orientation tag (1..=8), inserted as an APP1 segment after SOI.
pub fn jpeg_with_orientation(img: &RgbImage, orientation: u16) -> Vec<u8> {
    let jpeg = encode(&DynamicImage::ImageRgb8(img.clone()), ImageFormat::Jpeg);
    // TIFF header (little endian), one IFD entry: 0x0112 Orientation, SHORT, count 1.
    let mut tiff = vec![b'I', b'I', 42, 0, 8, 0, 0, 0, 1, 0];
    tiff.extend([0x12, 0x01, 3, 0, 1, 0, 0, 0]);
    tiff.extend(orientation.to_le_bytes());
    tiff.extend([0, 0, 0, 0, 0, 0]);
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend(tiff);
    let len = (app1.len() + 2) as u16;
    let mut out = jpeg[..2].to_vec();
    out.extend([0xFF, 0xE1]);
    out.extend(len.to_be_bytes());
    out.extend(app1);
    out.extend(&jpeg[2..]);
    out
}

/// A fully transparent RGBA PNG.
pub fn transparent_png(w: u32, h: u32) -> Vec<u8> {
    encode(
        &DynamicImage::ImageRgba8(RgbaImage::from_pixel(w, h, Rgba([0, 0, 0, 0]))),
        ImageFormat::Png,
    )
}

/// A CMYK JPEG (as print workflows export) of one flat colour.
pub fn cmyk_jpeg(w: u16, h: u16, cmyk: [u8; 4]) -> Vec<u8> {
    let data: Vec<u8> = (0..w as usize * h as usize).flat_map(|_| cmyk).collect();
    let mut out = Vec::new();
    jpeg_encoder::Encoder::new(&mut out, 90)
        .encode(&data, w, h, jpeg_encoder::ColorType::Cmyk)
        .expect("cmyk jpeg");
    out
}

/// A 16-bit-per-channel RGB PNG.
pub fn png16(w: u32, h: u32) -> Vec<u8> {
    let img = image::ImageBuffer::<Rgb<u16>, Vec<u16>>::from_pixel(w, h, Rgb([65535, 32768, 0]));
    encode(&DynamicImage::ImageRgb16(img), ImageFormat::Png)
}

/// An animated GIF of three frames: red, green, blue.
pub fn animated_gif(w: u32, h: u32) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut enc = image::codecs::gif::GifEncoder::new(&mut out);
        for c in [[255, 0, 0, 255], [0, 255, 0, 255], [0, 0, 255, 255]] {
            enc.encode_frame(image::Frame::new(RgbaImage::from_pixel(w, h, Rgba(c))))
                .expect("frame");
        }
    }
    out
}

fn adler32(bytes: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for &x in bytes {
        a = (a + x as u32) % 65521;
        b = (b + a) % 65521;
    }
    (b << 16) | a
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A valid PNG header claiming `w x h` pixels, with no pixel data: a decompression-bomb probe.
pub fn png_header_claiming(w: u32, h: u32) -> Vec<u8> {
    // A little real pixel data (a stored zlib block of zeros), as a bomb would carry.
    let data = [0u8; 64];
    let mut idat = vec![0x78, 0x01, 0x01, 64, 0, !64u8, 0xFF];
    idat.extend(data);
    idat.extend(adler32(&data).to_be_bytes());
    png_with(w, h, 2, &idat)
}

/// A PNG file of `w x h` pixels of 8-bit `colour_type` (2 RGB, 6 RGBA) with this zlib stream.
fn png_with(w: u32, h: u32, colour_type: u8, idat: &[u8]) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut chunk = |kind: &[u8], data: &[u8]| {
        out.extend((data.len() as u32).to_be_bytes());
        let mut body = kind.to_vec();
        body.extend(data);
        out.extend(&body);
        out.extend(crc32(&body).to_be_bytes());
    };
    let mut ihdr = Vec::new();
    ihdr.extend(w.to_be_bytes());
    ihdr.extend(h.to_be_bytes());
    ihdr.extend([8, colour_type, 0, 0, 0]);
    chunk(b"IHDR", &ihdr);
    chunk(b"IDAT", idat);
    chunk(b"IEND", &[]);
    out
}

pub fn write(path: &Path, bytes: &[u8]) {
    std::fs::write(path, bytes).expect("write test file");
}

/// A real, valid RGBA PNG of `w x h` pixels all of one grey `level`: a few hundred kilobytes that
/// decode to `w * h * 4` bytes (a decompression bomb). Written row by row, never held whole.
pub fn png_bomb(path: &Path, w: u32, h: u32, level: u8) {
    use std::io::Write;
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut row = vec![level; 1 + w as usize * 4];
    row[0] = 0; // filter: none
    for _ in 0..h {
        z.write_all(&row).expect("compress");
    }
    let idat = z.finish().expect("compress");
    write(path, &png_with(w, h, 6, &idat));
}
