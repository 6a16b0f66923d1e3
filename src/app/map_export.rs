//! The map view written to a file for slides: the picture on screen as PNG (dots, photos, captions
//! and legend as the audience sees them), the dots as SVG (to restyle in a drawing program).

use std::path::{Path, PathBuf};

use egui::{ColorImage, Rect};

/// What to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MapExport {
    Png,
    Svg,
}

impl MapExport {
    pub fn extension(self) -> &'static str {
        match self {
            MapExport::Png => "png",
            MapExport::Svg => "svg",
        }
    }
}

/// The folder exports go to: the one configured, else the user's Pictures folder, else home.
pub fn export_dir(configured: Option<&Path>) -> Option<PathBuf> {
    if let Some(dir) = configured {
        return Some(dir.to_path_buf());
    }
    let dirs = directories::UserDirs::new()?;
    Some(
        dirs.picture_dir()
            .filter(|d| d.is_dir())
            .unwrap_or(dirs.home_dir())
            .to_path_buf(),
    )
}

/// A new file in `dir` named after the catalog: "lookalike map - NAME.png", then " 2", " 3", ...
/// so an export never overwrites an earlier one.
pub fn new_file(dir: &Path, catalog: &str, kind: MapExport) -> PathBuf {
    let name: String = catalog
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || " -_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let stem = format!("lookalike map - {}", name.trim());
    let ext = kind.extension();
    let mut path = dir.join(format!("{stem}.{ext}"));
    let mut n = 2;
    while path.exists() {
        path = dir.join(format!("{stem} {n}.{ext}"));
        n += 1;
    }
    path
}

/// Write the part `area` (in points) of the window's picture `shot` as a PNG file; returns its size
/// in pixels.
pub fn write_png(shot: &ColorImage, area: Rect, ppp: f32, path: &Path) -> Result<[u32; 2], String> {
    let whole = Rect::from_min_size(
        egui::Pos2::ZERO,
        egui::vec2(shot.size[0] as f32, shot.size[1] as f32) / ppp,
    );
    let area = area.intersect(whole);
    if area.width() < 1.0 || area.height() < 1.0 {
        return Err("the map is not on screen".into());
    }
    let part = shot.region(&area, Some(ppp));
    let [w, h] = [part.size[0] as u32, part.size[1] as u32];
    let bytes: Vec<u8> = part
        .pixels
        .iter()
        .flat_map(|c| {
            let [r, g, b, _] = c.to_srgba_unmultiplied();
            [r, g, b, 255]
        })
        .collect();
    let image = image::RgbaImage::from_raw(w, h, bytes).ok_or("the picture has no pixels")?;
    image
        .save_with_format(path, image::ImageFormat::Png)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok([w, h])
}

/// Write `text` to `path`.
pub fn write_svg(text: &str, path: &Path) -> Result<(), String> {
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exports_never_overwrite_an_earlier_one() {
        let dir = tempfile::tempdir().unwrap();
        let first = new_file(dir.path(), "fashion/products", MapExport::Png);
        assert_eq!(
            first.file_name().unwrap(),
            "lookalike map - fashion_products.png"
        );
        std::fs::write(&first, b"x").unwrap();
        let second = new_file(dir.path(), "fashion/products", MapExport::Png);
        assert_eq!(
            second.file_name().unwrap(),
            "lookalike map - fashion_products 2.png"
        );
    }

    #[test]
    fn the_png_is_the_part_of_the_window_asked_for() {
        let dir = tempfile::tempdir().unwrap();
        let mut shot = ColorImage::filled([200, 100], egui::Color32::BLACK);
        // A red square at (20..40, 10..30) pixels, which is (10..20, 5..15) points at 2 px a point.
        for y in 10..30 {
            for x in 20..40 {
                shot.pixels[y * 200 + x] = egui::Color32::RED;
            }
        }
        let path = dir.path().join("m.png");
        let area = Rect::from_min_max(egui::pos2(10.0, 5.0), egui::pos2(20.0, 15.0));
        assert_eq!(write_png(&shot, area, 2.0, &path).unwrap(), [20, 20]);
        let back = image::open(&path).unwrap().to_rgba8();
        assert!(back.pixels().all(|p| p.0 == [255, 0, 0, 255]));
        // Off screen is an error, not an empty file.
        let off = Rect::from_min_max(egui::pos2(500.0, 5.0), egui::pos2(600.0, 15.0));
        assert!(write_png(&shot, off, 2.0, &dir.path().join("n.png")).is_err());
    }
}
