//! Regions of a query photo: the one a user draws or types, and the candidates found automatically
//! when the photo is a scene rather than a studio shot (a garment on a person in the street, a
//! magazine page): windows of several sizes over the photo, each embedded like a photo of its own.

use image::RgbImage;
use serde::Serialize;

use crate::error::RegionError;

/// A rectangle of a photo, in the photo's own pixels (upright, at its full size).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Rect {
    pub x: f32,
    pub y: f32,
    pub w: f32,
    pub h: f32,
}

impl Rect {
    /// The whole of a `width x height` photo.
    pub fn whole(width: u32, height: u32) -> Rect {
        Rect {
            x: 0.0,
            y: 0.0,
            w: width as f32,
            h: height as f32,
        }
    }

    pub fn right(&self) -> f32 {
        self.x + self.w
    }

    pub fn bottom(&self) -> f32 {
        self.y + self.h
    }

    /// Area of the overlap over area of the union (0 when apart, 1 when equal).
    pub fn iou(&self, o: &Rect) -> f32 {
        let w = (self.right().min(o.right()) - self.x.max(o.x)).max(0.0);
        let h = (self.bottom().min(o.bottom()) - self.y.max(o.y)).max(0.0);
        let inter = w * h;
        let union = self.w * self.h + o.w * o.h - inter;
        if union > 0.0 { inter / union } else { 0.0 }
    }

    /// This rectangle in an image `scale` times the photo's size, as whole pixels inside
    /// `limit_w x limit_h`, at least one pixel wide and high.
    pub fn to_pixels(&self, scale: f32, limit_w: u32, limit_h: u32) -> (u32, u32, u32, u32) {
        let x0 = ((self.x * scale).floor().max(0.0) as u32).min(limit_w.saturating_sub(1));
        let y0 = ((self.y * scale).floor().max(0.0) as u32).min(limit_h.saturating_sub(1));
        let x1 = ((self.right() * scale).ceil() as u32).clamp(x0 + 1, limit_w.max(x0 + 1));
        let y1 = ((self.bottom() * scale).ceil() as u32).clamp(y0 + 1, limit_h.max(y0 + 1));
        (x0, y0, x1 - x0, y1 - y0)
    }

    fn describe(&self) -> String {
        format!("{},{},{},{}", self.x, self.y, self.w, self.h)
    }
}

/// A region as given: "X,Y,W,H" in pixels, or in fractions of the photo's width and height when
/// all four are at most 1.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RegionArg {
    rect: Rect,
    fractions: bool,
}

impl std::str::FromStr for RegionArg {
    type Err = RegionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let parts: Vec<f32> = s
            .split(',')
            .map(|p| p.trim().parse::<f32>())
            .collect::<Result<_, _>>()
            .map_err(|_| RegionError::Syntax(s.to_string()))?;
        let [x, y, w, h] = parts[..] else {
            return Err(RegionError::Syntax(s.to_string()));
        };
        let rect = Rect { x, y, w, h };
        if parts.iter().any(|v| !v.is_finite() || *v < 0.0) {
            return Err(RegionError::Negative(rect.describe()));
        }
        if w <= 0.0 || h <= 0.0 {
            return Err(RegionError::Empty(rect.describe()));
        }
        Ok(RegionArg {
            rect,
            fractions: parts.iter().all(|v| *v <= 1.0),
        })
    }
}

impl RegionArg {
    /// A region in pixels of the photo (for the window, which always knows them).
    pub fn pixels(rect: Rect) -> Self {
        RegionArg {
            rect,
            fractions: false,
        }
    }

    /// The region in pixels of a `width x height` photo: cut to the photo when it overlaps it,
    /// refused when it lies outside or keeps less than a pixel.
    pub fn resolve(&self, width: u32, height: u32) -> Result<Rect, RegionError> {
        let r = if self.fractions {
            Rect {
                x: self.rect.x * width as f32,
                y: self.rect.y * height as f32,
                w: self.rect.w * width as f32,
                h: self.rect.h * height as f32,
            }
        } else {
            self.rect
        };
        let x0 = r.x.max(0.0);
        let y0 = r.y.max(0.0);
        let x1 = r.right().min(width as f32);
        let y1 = r.bottom().min(height as f32);
        if !(r.w > 0.0 && r.h > 0.0) {
            return Err(RegionError::Empty(self.rect.describe()));
        }
        if x1 - x0 < 1.0 || y1 - y0 < 1.0 {
            return Err(RegionError::Outside {
                region: self.rect.describe(),
                width,
                height,
            });
        }
        Ok(Rect {
            x: x0,
            y: y0,
            w: x1 - x0,
            h: y1 - y0,
        })
    }
}

/// Sizes of the automatic windows, as shares of the photo's height (square where the photo allows),
/// and how many positions each takes at most along a side: 4 x 4 + 3 x 3 = 25 windows, which the
/// model embeds in about 100 ms on two cores (float) whatever the photo's shape.
const WINDOW_SCALES: [(f32, usize); 2] = [(0.4, 4), (0.6, 3)];
/// Neighbouring windows of one size overlap by at least this share of their side, where the
/// number of positions allows (on a wide photo they spread out instead).
const WINDOW_OVERLAP: f32 = 0.5;

/// The automatic candidate regions of a `width x height` scene: square windows of each size in
/// `WINDOW_SCALES` (of the height, narrower where the photo is), spread evenly over the photo edge
/// to edge. The whole photo is not among them.
pub fn candidate_windows(width: u32, height: u32) -> Vec<Rect> {
    let (fw, fh) = (width as f32, height as f32);
    let mut out = Vec::new();
    for (scale, most) in WINDOW_SCALES {
        let h = (fh * scale).max(1.0);
        let w = h.min(fw);
        for y in positions(fh, h, most) {
            for x in positions(fw, w, most) {
                out.push(Rect { x, y, w, h });
            }
        }
    }
    out
}

/// Starts of at most `most` windows of length `len` along `total`, evenly spread from one end to
/// the other, overlapping by `WINDOW_OVERLAP` where that many are enough.
fn positions(total: f32, len: f32, most: usize) -> Vec<f32> {
    let last = (total - len).max(0.0);
    let step = (len * (1.0 - WINDOW_OVERLAP)).max(1.0);
    let n = ((last / step).ceil() as usize + 1).min(most.max(1));
    if n == 1 {
        return vec![last / 2.0];
    }
    (0..n).map(|i| last * i as f32 / (n - 1) as f32).collect()
}

/// Whether a photo looks like a studio shot: most of its border is one plain, light colour (white
/// or a light backdrop), as catalog photos are (99% of the demo catalog's; a model's head or feet
/// may touch the edge). Such photos are searched whole; scenes, even before a plain dark or grey
/// wall, get candidate regions.
pub fn is_studio_shot(rgb: &RgbImage) -> bool {
    let (w, h) = rgb.dimensions();
    if w < 8 || h < 8 {
        return true;
    }
    let band = (w.min(h) / 40).max(1);
    let mut border = Vec::new();
    let step = ((w + h) / 400).max(1) as usize;
    for y in (0..h).step_by(step) {
        for x in (0..w).step_by(step) {
            if x < band || y < band || x >= w - band || y >= h - band {
                border.push(rgb.get_pixel(x, y).0);
            }
        }
    }
    let median = |c: usize| {
        let mut v: Vec<u8> = border.iter().map(|p| p[c]).collect();
        let mid = v.len() / 2;
        *v.select_nth_unstable(mid).1
    };
    let m = [median(0), median(1), median(2)];
    let plain = border
        .iter()
        .filter(|p| (0..3).all(|c| (p[c] as i32 - m[c] as i32).abs() <= 24))
        .count();
    plain as f32 >= 0.8 * border.len() as f32 && m.iter().all(|&c| c >= 200)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_parse_as_pixels_or_fractions_and_bad_ones_say_why() {
        let px: RegionArg = "10,20,100,50".parse().unwrap();
        assert_eq!(
            px.resolve(400, 300).unwrap(),
            Rect {
                x: 10.0,
                y: 20.0,
                w: 100.0,
                h: 50.0
            }
        );
        let fr: RegionArg = "0.25,0.5,0.5,0.5".parse().unwrap();
        assert_eq!(
            fr.resolve(400, 300).unwrap(),
            Rect {
                x: 100.0,
                y: 150.0,
                w: 200.0,
                h: 150.0
            }
        );
        // Overlapping the edge: cut to the photo.
        let edge: RegionArg = "300,200,200,200".parse().unwrap();
        assert_eq!(edge.resolve(400, 300).unwrap().w, 100.0);
        let msg = |s: &str| match s.parse::<RegionArg>() {
            Ok(r) => r.resolve(400, 300).unwrap_err().to_string(),
            Err(e) => e.to_string(),
        };
        assert!(msg("500,10,20,20").contains("outside the photo (400 x 300"));
        assert!(msg("10,10,0,20").contains("no area"));
        assert!(msg("-5,10,20,20").contains("negative"));
        assert!(msg("10,10,20").contains("four numbers"));
        assert!(msg("a,b,c,d").contains("four numbers"));
    }

    #[test]
    fn windows_cover_the_photo_edge_to_edge() {
        for (w, h) in [(640, 480), (480, 640), (300, 1200), (1200, 300), (50, 50)] {
            let ws = candidate_windows(w, h);
            assert!(!ws.is_empty());
            for r in &ws {
                assert!(r.x >= 0.0 && r.y >= 0.0 && r.right() <= w as f32 + 0.01);
                assert!(r.bottom() <= h as f32 + 0.01);
            }
            assert!(ws.iter().any(|r| (r.right() - w as f32).abs() < 0.01));
            assert!(ws.iter().any(|r| (r.bottom() - h as f32).abs() < 0.01));
            assert!(ws.len() <= 25, "{} windows for {w} x {h}", ws.len());
        }
    }

    #[test]
    fn a_product_on_white_is_a_studio_shot_and_a_busy_scene_is_not() {
        let mut studio = RgbImage::from_pixel(200, 300, image::Rgb([255, 255, 255]));
        for y in 40..260 {
            for x in 50..150 {
                studio.put_pixel(x, y, image::Rgb([200, 30, 30]));
            }
        }
        assert!(is_studio_shot(&studio));
        let scene = RgbImage::from_fn(200, 300, |x, y| {
            image::Rgb([
                (x * 7 % 256) as u8,
                (y * 13 % 256) as u8,
                ((x + y) * 3 % 256) as u8,
            ])
        });
        assert!(!is_studio_shot(&scene));
        // A plain dark wall is a scene, not a studio backdrop.
        let wall = RgbImage::from_pixel(200, 300, image::Rgb([90, 60, 50]));
        assert!(!is_studio_shot(&wall));
    }
}
