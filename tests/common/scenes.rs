//! Street scenes made from real photos, for region search: a catalog photo's product cut out of its
//! white background and pasted, at 35-55% of the height, somewhere on a real cluttered photo (the
//! scikit-image wheel's: a person in a space suit, a desk, a garage, a colour chart, brick, grass...).
//! Seeded, so a benchmark run can be repeated.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::path::{Path, PathBuf};

use image::{GrayImage, Luma, Rgb, RgbImage};

/// Scenes the region search was designed on.
pub const DESIGN_SCENES: [&str; 6] = [
    "astronaut.png",
    "coffee.png",
    "motorcycle_left.png",
    "color.png",
    "brick.png",
    "grass.png",
];
/// Scenes kept out of the design, to check it on photos it was not tuned on.
pub const HELD_OUT_SCENES: [&str; 5] = [
    "chelsea.png",
    "rocket.jpg",
    "motorcycle_right.png",
    "camera.png",
    "gravel.png",
];

/// A scene photo unpacked by `./run setup` from the scikit-image wheel.
pub fn scene_photo(name: &str) -> PathBuf {
    super::known_photo(name)
}

/// A product cut out of its white background: its pixels and how opaque each is (0-255).
pub struct Cutout {
    pub rgb: RgbImage,
    pub alpha: GrayImage,
}

/// Cut the product out of a catalog photo: the background is the near-white area connected to the
/// border. `None` when little is left (a photo that is nearly all white).
pub fn cut_out(photo: &Path) -> Option<Cutout> {
    let rgb = image::open(photo).ok()?.to_rgb8();
    let (w, h) = rgb.dimensions();
    let white = |x: u32, y: u32| rgb.get_pixel(x, y).0.iter().all(|&c| c > 230);
    let mut background = vec![false; (w * h) as usize];
    let mut todo = VecDeque::new();
    for x in 0..w {
        todo.push_back((x, 0));
        todo.push_back((x, h - 1));
    }
    for y in 0..h {
        todo.push_back((0, y));
        todo.push_back((w - 1, y));
    }
    while let Some((x, y)) = todo.pop_front() {
        let i = (y * w + x) as usize;
        if background[i] || !white(x, y) {
            continue;
        }
        background[i] = true;
        if x > 0 {
            todo.push_back((x - 1, y));
        }
        if y > 0 {
            todo.push_back((x, y - 1));
        }
        if x + 1 < w {
            todo.push_back((x + 1, y));
        }
        if y + 1 < h {
            todo.push_back((x, y + 1));
        }
    }
    let (mut x0, mut y0, mut x1, mut y1) = (w, h, 0, 0);
    let mut kept = 0;
    for y in 0..h {
        for x in 0..w {
            if !background[(y * w + x) as usize] {
                kept += 1;
                (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x + 1), y1.max(y + 1));
            }
        }
    }
    if kept < 200 {
        return None;
    }
    let alpha = GrayImage::from_fn(x1 - x0, y1 - y0, |x, y| {
        Luma([if background[((y + y0) * w + x + x0) as usize] {
            0
        } else {
            255
        }])
    });
    // A soft edge, as a real photo's garment has.
    let alpha = image::imageops::blur(&alpha, 1.0);
    let rgb = image::imageops::crop_imm(&rgb, x0, y0, x1 - x0, y1 - y0).to_image();
    Some(Cutout { rgb, alpha })
}

/// A composed scene and where the product is in it (x, y, w, h in its pixels).
pub struct Scene {
    pub rgb: RgbImage,
    pub truth: [u32; 4],
}

/// Paste `item` onto `scene`, 35-55% of its height, at a random place.
pub fn compose(rng: &mut fastrand::Rng, item: &Cutout, scene: &RgbImage) -> Scene {
    let (sw, sh) = scene.dimensions();
    let (iw, ih) = item.rgb.dimensions();
    let mut h = (sh as f32 * (0.35 + 0.2 * rng.f32())) as u32;
    let mut w = (iw as f32 * h as f32 / ih as f32).round().max(1.0) as u32;
    if w > sw * 9 / 10 {
        w = sw * 9 / 10;
        h = (ih as f32 * w as f32 / iw as f32).round().max(1.0) as u32;
    }
    let x = rng.u32(0..=sw - w);
    let y = rng.u32(0..=sh - h);
    Scene {
        rgb: paste(item, scene, x, y, w, h),
        truth: [x, y, w, h],
    }
}

/// Paste `item` onto `scene` to fit a `side x side` square at (x, y), keeping its shape.
pub fn compose_at(item: &Cutout, scene: &RgbImage, x: u32, y: u32, side: u32) -> RgbImage {
    let (iw, ih) = item.rgb.dimensions();
    let s = side as f32 / iw.max(ih) as f32;
    let (w, h) = (
        ((iw as f32 * s) as u32).max(1),
        ((ih as f32 * s) as u32).max(1),
    );
    let (sw, sh) = scene.dimensions();
    paste(item, scene, x.min(sw - w), y.min(sh - h), w, h)
}

/// `scene` with `item` resized to `w x h` and blended in at (x, y) by its alpha.
fn paste(item: &Cutout, scene: &RgbImage, x: u32, y: u32, w: u32, h: u32) -> RgbImage {
    let rgb = image::imageops::resize(&item.rgb, w, h, image::imageops::FilterType::Triangle);
    let alpha = image::imageops::resize(&item.alpha, w, h, image::imageops::FilterType::Triangle);
    let mut out = scene.clone();
    for (px, py, p) in rgb.enumerate_pixels() {
        let a = alpha.get_pixel(px, py)[0] as u32;
        let o = out.get_pixel_mut(x + px, y + py);
        *o = Rgb(std::array::from_fn(|c| {
            ((p[c] as u32 * a + o[c] as u32 * (255 - a) + 127) / 255) as u8
        }));
    }
    out
}

/// `n` scenes from the demo photos `photos` (each used once, in a seeded order) on `scenes`:
/// (the photo pasted, the scene).
pub fn street_scenes(
    photos: &[PathBuf],
    scenes: &[&str],
    n: usize,
    seed: u64,
) -> Vec<(PathBuf, Scene)> {
    let mut rng = fastrand::Rng::with_seed(seed);
    let backgrounds: Vec<RgbImage> = scenes
        .iter()
        .map(|s| image::open(scene_photo(s)).expect("scene photo").to_rgb8())
        .collect();
    let mut order: Vec<&PathBuf> = photos.iter().collect();
    rng.shuffle(&mut order);
    order
        .into_iter()
        .filter_map(|p| {
            let item = cut_out(p)?;
            let bg = &backgrounds[rng.usize(..backgrounds.len())];
            Some((p.clone(), compose(&mut rng, &item, bg)))
        })
        .take(n)
        .collect()
}
