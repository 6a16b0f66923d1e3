//! The query photo with its regions: the box searched, drawn over the photo; a new box dragged,
//! moved or resized with the mouse (searched live while dragging, and when the mouse is released); the kinds of item found
//! elsewhere in the photo as dots to click, each with its best match.

use egui::{Color32, Pos2, Rect as ScreenRect, Sense, Stroke, StrokeKind, Ui, vec2};

use super::Command;
use super::query_panel::Query;
use super::thumbs::Thumbs;
use crate::catalog::Catalog;
use crate::query::Rect;

/// Tallest the query photo is shown.
const MAX_HEIGHT: f32 = 320.0;
/// How near a corner (in screen points) a drag resizes the box rather than moving it.
const CORNER: f32 = 10.0;
/// Boxes smaller than this (screen points) are taken for a click, not a box.
const SMALLEST_BOX: f32 = 8.0;

/// A box being drawn, moved or resized, in the photo's pixels.
#[derive(Debug, Clone, Copy)]
pub struct BoxEdit {
    rect: Rect,
    how: Gesture,
    /// The box last searched while dragging (results follow the box live).
    searched: Option<Rect>,
}

#[derive(Debug, Clone, Copy)]
enum Gesture {
    /// From this corner to the pointer.
    Draw { anchor: Pos2 },
    /// The whole box, held at this offset from its top-left corner.
    Move { grab: egui::Vec2 },
    /// The corner opposite this one follows the pointer.
    Resize { fixed: Pos2 },
}

/// The photo's pixels <-> the screen rectangle it is drawn in.
struct Mapping {
    screen: ScreenRect,
    width: f32,
    height: f32,
}

impl Mapping {
    fn to_screen(&self, r: &Rect) -> ScreenRect {
        let sx = self.screen.width() / self.width;
        let sy = self.screen.height() / self.height;
        ScreenRect::from_min_size(
            self.screen.min + vec2(r.x * sx, r.y * sy),
            vec2(r.w * sx, r.h * sy),
        )
    }

    fn to_photo(&self, p: Pos2) -> Pos2 {
        let q = p - self.screen.min;
        Pos2::new(
            (q.x / self.screen.width() * self.width).clamp(0.0, self.width),
            (q.y / self.screen.height() * self.height).clamp(0.0, self.height),
        )
    }

    fn rect_between(&self, a: Pos2, b: Pos2) -> Rect {
        Rect {
            x: a.x.min(b.x),
            y: a.y.min(b.y),
            w: (a.x - b.x).abs(),
            h: (a.y - b.y).abs(),
        }
    }
}

/// The box to show: the one being edited, else the user's, else the automatic region the
/// results came from (none when the whole photo was searched).
fn shown_box(q: &Query) -> Option<Rect> {
    if let Some(e) = &q.editing {
        return Some(e.rect);
    }
    if q.given.is_some() {
        return q.given;
    }
    q.regions
        .as_ref()
        .and_then(|r| r.get(q.lead))
        .filter(|r| r.automatic)
        .map(|r| r.rect)
}

/// Draw the query photo with its boxes and suggestions; returns whether a box is being edited.
pub fn show(
    ui: &mut Ui,
    q: &mut Query,
    catalog: Option<&Catalog>,
    thumbs: &mut Thumbs,
    commands: &mut Vec<Command>,
) {
    let Some(texture) = q.preview.clone() else {
        return;
    };
    let (width, height) = match &q.photo {
        Some(p) => (p.width as f32, p.height as f32),
        None => {
            let [w, h] = texture.size();
            (w as f32, h as f32)
        }
    };
    let scale = (ui.available_width() / width).min(MAX_HEIGHT / height);
    let (screen, response) = ui.allocate_exact_size(
        vec2(width * scale, height * scale),
        if q.photo.is_some() {
            Sense::click_and_drag()
        } else {
            Sense::hover()
        },
    );
    response.widget_info(|| {
        egui::WidgetInfo::labeled(
            egui::Role::Image,
            true,
            "Query photo: drag a box around the garment to search it",
        )
    });
    let painter = ui.painter_at(screen);
    painter.image(
        texture.id(),
        screen,
        ScreenRect::from_min_max(Pos2::ZERO, Pos2::new(1.0, 1.0)),
        Color32::WHITE,
    );
    let map = Mapping {
        screen,
        width,
        height,
    };
    if q.photo.is_some() {
        edit_box(q, &response, &map, commands);
        if response.hovered() && q.editing.is_none() {
            ui.ctx().set_cursor_icon(egui::CursorIcon::Crosshair);
        }
    }
    if let Some(b) = shown_box(q) {
        let r = map.to_screen(&b);
        painter.rect_stroke(r, 0.0, Stroke::new(3.0, Color32::BLACK), StrokeKind::Inside);
        painter.rect_stroke(
            r,
            0.0,
            Stroke::new(2.0, Color32::from_rgb(255, 200, 0)),
            StrokeKind::Inside,
        );
        if q.given.is_some() || q.editing.is_some() {
            for c in [
                r.left_top(),
                r.right_top(),
                r.left_bottom(),
                r.right_bottom(),
            ] {
                painter.rect_filled(
                    ScreenRect::from_center_size(c, vec2(7.0, 7.0)),
                    1.0,
                    Color32::from_rgb(255, 200, 0),
                );
            }
        }
    }
    suggestions(ui, q, &map, catalog, thumbs, commands);
}

/// Start, follow and finish a drag on the photo.
fn edit_box(q: &mut Query, response: &egui::Response, map: &Mapping, commands: &mut Vec<Command>) {
    let Some(pointer) = response.interact_pointer_pos() else {
        return;
    };
    let at = map.to_photo(pointer);
    if response.drag_started() {
        // Where the button went down: a drag starts only once the pointer has moved a little.
        let pointer = response
            .ctx
            .input(|i| i.pointer.press_origin())
            .unwrap_or(pointer);
        let at = map.to_photo(pointer);
        let current = shown_box(q);
        let how = match current.map(|b| (b, map.to_screen(&b))) {
            Some((b, r)) => {
                let corners = [
                    (r.left_top(), Pos2::new(b.right(), b.bottom())),
                    (r.right_top(), Pos2::new(b.x, b.bottom())),
                    (r.left_bottom(), Pos2::new(b.right(), b.y)),
                    (r.right_bottom(), Pos2::new(b.x, b.y)),
                ];
                if let Some((_, fixed)) =
                    corners.iter().find(|(c, _)| c.distance(pointer) <= CORNER)
                {
                    Gesture::Resize { fixed: *fixed }
                } else if r.contains(pointer) {
                    Gesture::Move {
                        grab: at - Pos2::new(b.x, b.y),
                    }
                } else {
                    Gesture::Draw { anchor: at }
                }
            }
            None => Gesture::Draw { anchor: at },
        };
        let rect = current
            .filter(|_| !matches!(how, Gesture::Draw { .. }))
            .unwrap_or(Rect {
                x: at.x,
                y: at.y,
                w: 0.0,
                h: 0.0,
            });
        q.editing = Some(BoxEdit {
            rect,
            how,
            searched: None,
        });
    }
    let Some(edit) = &mut q.editing else { return };
    if response.dragged() {
        edit.rect = match edit.how {
            Gesture::Draw { anchor } => map.rect_between(anchor, at),
            Gesture::Resize { fixed } => map.rect_between(fixed, at),
            Gesture::Move { grab } => Rect {
                x: (at.x - grab.x).clamp(0.0, map.width - edit.rect.w),
                y: (at.y - grab.y).clamp(0.0, map.height - edit.rect.h),
                ..edit.rect
            },
        };
    }
    let r = map.to_screen(&edit.rect);
    let big_enough = r.width() >= SMALLEST_BOX && r.height() >= SMALLEST_BOX;
    if response.drag_stopped() {
        if big_enough {
            commands.push(Command::SearchRegion(Some(edit.rect)));
        }
        q.editing = None;
    } else if big_enough && q.waiting_for.is_none() && edit.searched != Some(edit.rect) {
        // Live while dragging: one region is one model run (a few milliseconds), so the results
        // follow the box, a new search as soon as the last one has answered.
        edit.searched = Some(edit.rect);
        commands.push(Command::SearchRegion(Some(edit.rect)));
    }
}

/// The kinds of item found in the photo: a dot on each region, and a row of buttons with the
/// region's best match below the photo. Either searches that region alone.
fn suggestions(
    ui: &mut Ui,
    q: &Query,
    map: &Mapping,
    catalog: Option<&Catalog>,
    thumbs: &mut Thumbs,
    commands: &mut Vec<Command>,
) {
    let (Some(regions), Some(catalog)) = (&q.regions, catalog) else {
        return;
    };
    if q.suggestions.len() < 2 || q.given.is_some() {
        return;
    }
    let painter = ui.painter_at(map.screen);
    let mut hovered = None;
    for (n, s) in q.suggestions.iter().enumerate() {
        let Some(region) = regions.get(s.region) else {
            continue;
        };
        let centre = map.to_screen(&region.rect).center();
        let dot = ScreenRect::from_center_size(centre, vec2(18.0, 18.0));
        let id = egui::Id::unique(("suggestion-dot", n));
        let r = ui.interact(dot, id, Sense::click());
        r.widget_info(|| {
            egui::WidgetInfo::labeled(
                egui::Role::Button,
                true,
                format!("Search the {} in the photo", s.kind),
            )
        });
        let current = s.region == q.lead;
        painter.circle(
            centre,
            if r.hovered() { 9.0 } else { 7.0 },
            if current {
                Color32::from_rgb(255, 200, 0)
            } else {
                Color32::WHITE
            },
            Stroke::new(2.0, Color32::BLACK),
        );
        if r.hovered() {
            hovered = Some(region.rect);
        }
        if r.clicked() {
            commands.push(Command::SearchRegion(Some(region.rect)));
        }
    }
    if let Some(rect) = hovered {
        painter.rect_stroke(
            map.to_screen(&rect),
            0.0,
            Stroke::new(2.0, Color32::WHITE),
            StrokeKind::Inside,
        );
    }
    ui.label("In this photo:");
    ui.horizontal_wrapped(|ui| {
        for s in &q.suggestions {
            let Some(region) = regions.get(s.region) else {
                continue;
            };
            let current = s.region == q.lead;
            let item = &catalog.items()[s.best.index];
            let thumb = thumbs.get(catalog.store(), item.id).cloned();
            let text = if current {
                format!("{} (shown)", s.kind)
            } else {
                s.kind.clone()
            };
            let button = match &thumb {
                Some(t) => egui::Button::image_and_text(
                    egui::Image::from_texture(t).fit_to_exact_size(vec2(36.0, 36.0)),
                    text,
                ),
                None => egui::Button::new(text),
            };
            let r = ui.add(button.selected(current)).on_hover_text(format!(
                "Search only this region: its best match scores {:.3}",
                s.best.score
            ));
            if r.clicked() {
                commands.push(Command::SearchRegion(Some(region.rect)));
            }
        }
    });
}
