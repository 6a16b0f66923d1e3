//! The large side-by-side compare of two duplicates: both photos at full size, zoomed and panned
//! together (the same spot of each, in each photo's own frame), so a stamp, a seam or a shade of
//! colour can be checked before one of them goes to the trash.

use egui::{Color32, Pos2, Rect, RichText, Sense, TextureHandle, Vec2, pos2, vec2};

use super::Command;

/// Longest side a photo is shown at (a texture; larger photos are reduced to it).
pub const PHOTO_SIDE: u32 = 2048;
/// Zoom range, 1 = the whole photo fits its half.
const MIN_ZOOM: f32 = 1.0;
const MAX_ZOOM: f32 = 16.0;
/// Zoom factor per scroll point (a mouse wheel notch is about 50 points): gentle.
const WHEEL_ZOOM: f32 = 0.003;

/// One of the two photos.
pub enum Side {
    Loading,
    /// The photo, and what it is when not the file itself (its thumbnail, and why).
    Shown(TextureHandle, Option<String>),
    /// Why it cannot be shown (its thumbnail is shown instead, when there is one).
    Failed(String),
}

/// The two items, their photos, and the view they share.
pub struct LargeCompare {
    pub items: [usize; 2],
    pub sides: [Side; 2],
    /// 1: the whole photo fits.
    pub zoom: f32,
    /// The point of each photo at the centre of its half, in the photo's unit square.
    pub centre: Vec2,
}

impl LargeCompare {
    pub fn new(items: [usize; 2]) -> Self {
        LargeCompare {
            items,
            sides: [Side::Loading, Side::Loading],
            zoom: 1.0,
            centre: vec2(0.5, 0.5),
        }
    }

    /// A photo arrived (or could not be read).
    pub fn arrived(
        &mut self,
        ctx: &egui::Context,
        item: usize,
        image: Result<(egui::ColorImage, Option<String>), String>,
    ) {
        for (k, side) in self.sides.iter_mut().enumerate() {
            if self.items[k] == item {
                *side = match &image {
                    Ok((img, note)) => Side::Shown(
                        ctx.load_texture(
                            format!("compare-{item}"),
                            img.clone(),
                            egui::TextureOptions::LINEAR,
                        ),
                        note.clone(),
                    ),
                    Err(e) => Side::Failed(e.clone()),
                };
            }
        }
    }

    /// Zoom by `factor` keeping the photo point under `anchor` (a point of a half whose photo is
    /// drawn `fitted` large at zoom 1) where it is.
    fn zoom_at(&mut self, factor: f32, anchor: Vec2, fitted: Vec2) {
        let zoom = (self.zoom * factor).clamp(MIN_ZOOM, MAX_ZOOM);
        let under = self.centre + anchor / (fitted * self.zoom);
        self.centre = under - anchor / (fitted * zoom);
        self.zoom = zoom;
        self.keep_inside();
    }

    fn pan(&mut self, delta: Vec2, fitted: Vec2) {
        self.centre -= delta / (fitted * self.zoom);
        self.keep_inside();
    }

    /// The view never leaves the photo: at zoom z the centre stays half a view from each edge.
    fn keep_inside(&mut self) {
        let half = 0.5 / self.zoom;
        self.centre.x = self.centre.x.clamp(half, 1.0 - half);
        self.centre.y = self.centre.y.clamp(half, 1.0 - half);
    }

    /// Fit both photos again.
    pub fn reset(&mut self) {
        self.zoom = 1.0;
        self.centre = vec2(0.5, 0.5);
    }

    /// Keys while the compare is open: + and - zoom about the centre, 0 fits, arrows pan.
    pub fn keys(&mut self, ctx: &egui::Context) {
        let (zoom_in, zoom_out, fit, pan) = ctx.input(|i| {
            let pressed = |k| i.key_pressed(k);
            let step = 0.1 / self.zoom;
            let mut pan = Vec2::ZERO;
            for (k, d) in [
                (egui::Key::ArrowLeft, vec2(-step, 0.0)),
                (egui::Key::ArrowRight, vec2(step, 0.0)),
                (egui::Key::ArrowUp, vec2(0.0, -step)),
                (egui::Key::ArrowDown, vec2(0.0, step)),
            ] {
                if pressed(k) {
                    pan += d;
                }
            }
            (
                pressed(egui::Key::Plus) || pressed(egui::Key::Equals),
                pressed(egui::Key::Minus),
                pressed(egui::Key::Num0),
                pan,
            )
        });
        if zoom_in {
            self.zoom_at(1.5, Vec2::ZERO, Vec2::splat(1.0));
        }
        if zoom_out {
            self.zoom_at(1.0 / 1.5, Vec2::ZERO, Vec2::splat(1.0));
        }
        if fit {
            self.reset();
        }
        if pan != Vec2::ZERO {
            self.centre += pan;
            self.keep_inside();
        }
    }

    /// The two halves, with a caption under each; `captions` are the items' names and sizes.
    pub fn ui(&mut self, ui: &mut egui::Ui, captions: [String; 2], commands: &mut Vec<Command>) {
        ui.horizontal(|ui| {
            ui.heading("Compare");
            ui.label(format!("{:.0}%", self.zoom * 100.0));
            if ui
                .button("Fit")
                .on_hover_text("Show both photos whole (0)")
                .clicked()
            {
                self.reset();
            }
            ui.weak("Scroll to zoom both, drag to pan both, double-click to fit; Esc closes");
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                if ui.button("Close").clicked() {
                    commands.push(Command::CloseLargeCompare);
                }
            });
        });
        let caption_h = ui.text_style_height(&egui::TextStyle::Body) * 2.4;
        let avail = ui.available_size();
        let half = vec2((avail.x - 8.0) / 2.0, (avail.y - caption_h).max(80.0));
        ui.horizontal_top(|ui| {
            for (k, caption) in captions.iter().enumerate() {
                ui.vertical(|ui| {
                    ui.set_width(half.x);
                    let (rect, response) = ui.allocate_exact_size(half, Sense::click_and_drag());
                    self.half_ui(ui, k, rect, &response);
                    ui.label(RichText::new(caption).strong());
                    if let Side::Shown(_, Some(note)) = &self.sides[k] {
                        ui.colored_label(ui.visuals().warn_fg_color, format!("Shown: {note}"));
                    }
                });
                if k == 0 {
                    ui.add_space(8.0);
                }
            }
        });
    }

    fn half_ui(&mut self, ui: &mut egui::Ui, k: usize, rect: Rect, response: &egui::Response) {
        let painter = ui.painter_at(rect);
        painter.rect_filled(rect, 0.0, ui.visuals().extreme_bg_color);
        let texture = match &self.sides[k] {
            Side::Loading => {
                painter.text(
                    rect.center(),
                    egui::Align2::CENTER_CENTER,
                    "Loading the photo…",
                    egui::FontId::proportional(14.0),
                    ui.visuals().weak_text_color(),
                );
                return;
            }
            Side::Failed(e) => {
                painter.text(
                    rect.center(),
                    egui::Align2::CENTER_CENTER,
                    format!("Cannot show this photo:\n{e}"),
                    egui::FontId::proportional(14.0),
                    ui.visuals().warn_fg_color,
                );
                return;
            }
            Side::Shown(t, _) => t.clone(),
        };
        let size = texture.size_vec2();
        let fitted = size * (rect.width() / size.x).min(rect.height() / size.y);
        if response.double_clicked() {
            self.reset();
        }
        if response.dragged() {
            self.pan(response.drag_delta(), fitted);
        }
        if response.hovered() {
            let scroll = ui.input(|i| i.smooth_scroll_delta.y);
            if scroll != 0.0
                && let Some(p) = response.hover_pos()
            {
                self.zoom_at((scroll * WHEEL_ZOOM).exp(), p - rect.center(), fitted);
            }
        }
        let shown = fitted * self.zoom;
        let top_left: Pos2 = rect.center() - self.centre * shown;
        let image_rect = Rect::from_min_size(top_left, shown);
        painter.image(
            texture.id(),
            image_rect,
            Rect::from_min_max(pos2(0.0, 0.0), pos2(1.0, 1.0)),
            Color32::WHITE,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zooming_keeps_the_point_under_the_cursor() {
        let mut c = LargeCompare::new([0, 1]);
        let fitted = vec2(400.0, 300.0);
        let anchor = vec2(100.0, -50.0);
        let before = c.centre + anchor / (fitted * c.zoom);
        c.zoom_at(2.0, anchor, fitted);
        let after = c.centre + anchor / (fitted * c.zoom);
        assert!((before - after).length() < 1e-5, "{before:?} {after:?}");
        assert_eq!(c.zoom, 2.0);
    }

    #[test]
    fn the_view_stays_on_the_photo() {
        let mut c = LargeCompare::new([0, 1]);
        c.zoom_at(4.0, Vec2::ZERO, Vec2::splat(100.0));
        c.pan(vec2(10_000.0, -10_000.0), Vec2::splat(100.0));
        assert_eq!(c.centre, vec2(0.125, 0.875));
        c.zoom_at(0.01, Vec2::ZERO, Vec2::splat(100.0));
        assert_eq!((c.zoom, c.centre), (1.0, vec2(0.5, 0.5)));
    }
}
