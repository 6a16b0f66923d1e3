//! The catalog map's dots, drawn on the CPU into one image: dots for ordinary catalogs, a density
//! image for very large ones.

use egui::{Color32, ColorImage, Rect};

/// Catalogs from this size are drawn by density: single dots would only pile up on each other.
const DENSITY_FROM: usize = 300_000;

/// Dots of 5x5 pixels for small catalogs, 3x3 up to [`DENSITY_FROM`] points; past that, each
/// pixel shows how many points fall on it (see [`draw_density`]).
pub(super) fn draw_points(
    points: &[[f32; 2]],
    colors: &[Color32],
    size: [usize; 2],
    view: Rect,
) -> ColorImage {
    if points.len() >= DENSITY_FROM {
        return draw_density(points, colors, size, view);
    }
    let [w, h] = size;
    let mut px = vec![Color32::TRANSPARENT; w * h];
    let r: i64 = if points.len() < 5_000 { 2 } else { 1 };
    let sx = w as f32 / view.width();
    let sy = h as f32 / view.height();
    for (p, c) in points.iter().zip(colors) {
        let x = ((p[0] - view.min.x) * sx) as i64;
        let y = ((view.max.y - p[1]) * sy) as i64;
        for yy in (y - r).max(0)..=(y + r).min(h as i64 - 1) {
            for xx in (x - r).max(0)..=(x + r).min(w as i64 - 1) {
                px[yy as usize * w + xx as usize] = *c;
            }
        }
    }
    ColorImage::new(size, px)
}

/// A density image: each pixel takes the mean colour of the points on it, and an opacity that
/// grows with the logarithm of their number, so both lone outliers and dense clusters read.
fn draw_density(
    points: &[[f32; 2]],
    colors: &[Color32],
    size: [usize; 2],
    view: Rect,
) -> ColorImage {
    let [w, h] = size;
    let sx = w as f32 / view.width();
    let sy = h as f32 / view.height();
    // Per pixel: summed red, green, blue, and the count.
    let mut acc = vec![[0u32; 4]; w * h];
    for (p, c) in points.iter().zip(colors) {
        let x = ((p[0] - view.min.x) * sx).floor();
        let y = ((view.max.y - p[1]) * sy).floor();
        if x < 0.0 || y < 0.0 || x >= w as f32 || y >= h as f32 {
            continue;
        }
        let a = &mut acc[y as usize * w + x as usize];
        a[0] += c.r() as u32;
        a[1] += c.g() as u32;
        a[2] += c.b() as u32;
        a[3] += 1;
    }
    let most = acc.iter().map(|a| a[3]).max().unwrap_or(0).max(1);
    let scale = 1.0 / (1.0 + most as f32).ln();
    let px = acc
        .iter()
        .map(|&[r, g, b, n]| {
            if n == 0 {
                return Color32::TRANSPARENT;
            }
            let alpha = 0.35 + 0.65 * (1.0 + n as f32).ln() * scale;
            Color32::from_rgba_unmultiplied(
                (r / n) as u8,
                (g / n) as u8,
                (b / n) as u8,
                (alpha * 255.0) as u8,
            )
        })
        .collect();
    ColorImage::new(size, px)
}

#[cfg(test)]
mod tests {
    use super::*;
    use egui::pos2;

    #[test]
    fn density_drawing_shows_crowds_more_strongly_than_lone_points_and_mixes_their_colours() {
        let view = Rect::from_min_max(pos2(0.0, 0.0), pos2(10.0, 10.0));
        let red = Color32::from_rgb(200, 0, 0);
        let blue = Color32::from_rgb(0, 0, 200);
        // 1,000 points on one pixel, half red and half blue; one lone red point; one outside the view.
        let mut points = vec![[2.05f32, 7.95]; 1000];
        let mut colors: Vec<Color32> = (0..1000)
            .map(|i| if i % 2 == 0 { red } else { blue })
            .collect();
        points.push([8.05, 1.05]);
        colors.push(red);
        points.push([20.0, 20.0]);
        colors.push(red);
        let image = draw_density(&points, &colors, [100, 100], view);
        let at = |x: usize, y: usize| image.pixels[y * 100 + x];
        let crowd = at(20, 20);
        let lone = at(80, 89);
        assert!(crowd.a() > 250, "a crowd is opaque: {crowd:?}");
        assert!(
            lone.a() > 0 && lone.a() < 130,
            "a lone point is faint but visible: {lone:?}"
        );
        let [r, _, b, a] = crowd.to_srgba_unmultiplied();
        assert!(
            r.abs_diff(100) < 3 && b.abs_diff(100) < 3 && a > 250,
            "mixed colour"
        );
        let drawn = image.pixels.iter().filter(|p| p.a() > 0).count();
        assert_eq!(drawn, 2, "the point outside the view is not drawn");
    }
}
