//! The grid of look-alikes (thumbnails with scores and labels) and the label filter: a panel that
//! owns its state (the hits shown, the selection, the hovered card, the filter's text) and asks
//! for everything else through [`Command`]s.

use egui::{Color32, Key, Sense, Stroke, Ui, vec2};

use super::Command;
use super::thumbs::Thumbs;
use crate::catalog::Catalog;
use crate::search::Hit;

/// The look-alikes panel.
pub struct LookAlikes {
    hits: Vec<Hit>,
    /// Rank of the selected card.
    selected: Option<usize>,
    /// Catalog item whose card the pointer is over.
    hovered: Option<usize>,
    /// Keep results with a label containing this text.
    filter: String,
    filter_id: egui::Id,
}

impl Default for LookAlikes {
    fn default() -> Self {
        LookAlikes {
            hits: Vec::new(),
            selected: None,
            hovered: None,
            filter: String::new(),
            filter_id: egui::Id::unique("label-filter"),
        }
    }
}

impl LookAlikes {
    /// Show these hits (a new answer): the selection goes.
    pub fn show_hits(&mut self, hits: Vec<Hit>) {
        self.hits = hits;
        self.selected = None;
    }

    pub fn clear(&mut self) {
        self.show_hits(Vec::new());
    }

    pub fn hits(&self) -> &[Hit] {
        &self.hits
    }

    pub fn is_empty(&self) -> bool {
        self.hits.is_empty()
    }

    /// The hit at `rank` (from 0).
    pub fn hit(&self, rank: usize) -> Option<Hit> {
        self.hits.get(rank).copied()
    }

    /// The rank of catalog item `item` among the hits.
    pub fn rank_of(&self, item: usize) -> Option<usize> {
        self.hits.iter().position(|h| h.index == item)
    }

    pub fn select(&mut self, rank: Option<usize>) {
        self.selected = rank.filter(|&r| r < self.hits.len());
    }

    pub fn selected(&self) -> Option<usize> {
        self.selected
    }

    /// The selected hit and its rank.
    pub fn selected_hit(&self) -> Option<(usize, Hit)> {
        self.selected.and_then(|r| Some((r, self.hit(r)?)))
    }

    /// The catalog item under the pointer in the grid.
    pub fn hovered(&self) -> Option<usize> {
        self.hovered
    }

    pub fn filter(&self) -> &str {
        &self.filter
    }

    /// The filter's text box (in the toolbar); asks to search again when it changes.
    pub fn filter_box(&mut self, ui: &mut Ui, commands: &mut Vec<Command>) {
        let filter_label = ui.label("Filter:");
        let edit = egui::TextEdit::singleline(&mut self.filter)
            .id(self.filter_id)
            .hint_text("label (Ctrl+F)")
            .desired_width(140.0);
        if ui.add(edit).labelled_by(filter_label.id).changed() {
            commands.push(Command::Requery);
        }
    }

    pub fn filter_has_focus(&self, ctx: &egui::Context) -> bool {
        ctx.memory(|m| m.has_focus(self.filter_id))
    }

    pub fn focus_filter(&self, ctx: &egui::Context) {
        ctx.memory_mut(|m| m.request_focus(self.filter_id));
    }

    pub fn leave_filter(&self, ctx: &egui::Context) {
        ctx.memory_mut(|m| m.surrender_focus(self.filter_id));
    }

    /// The grid, with its keys; `linked` is the item hovered elsewhere (on the map).
    pub fn ui(
        &mut self,
        ui: &mut Ui,
        catalog: &Catalog,
        linked: Option<usize>,
        thumbs: &mut Thumbs,
        commands: &mut Vec<Command>,
    ) {
        keyboard(ui, self.hits.len(), self.selected, commands);
        self.hovered = grid(
            ui,
            catalog,
            &self.hits,
            self.selected,
            linked,
            thumbs,
            commands,
        );
    }
}

const CARD: egui::Vec2 = egui::Vec2 { x: 150.0, y: 190.0 };
const THUMB: f32 = 128.0;

/// Draw the look-alikes; returns the catalog item hovered in the grid, if any.
fn grid(
    ui: &mut Ui,
    catalog: &Catalog,
    hits: &[Hit],
    selected: Option<usize>,
    linked: Option<usize>,
    thumbs: &mut Thumbs,
    commands: &mut Vec<Command>,
) -> Option<usize> {
    let mut hovered = None;
    egui::ScrollArea::vertical()
        .auto_shrink([false, false])
        .show(ui, |ui| {
            ui.horizontal_wrapped(|ui| {
                ui.spacing_mut().item_spacing = vec2(8.0, 8.0);
                for (rank, hit) in hits.iter().enumerate() {
                    let item = &catalog.items()[hit.index];
                    let label = catalog.label(hit.index).to_string();
                    let (rect, response) = ui.allocate_exact_size(CARD, Sense::click());
                    let accessible =
                        format!("Look-alike {}: {}, score {:.3}", rank + 1, label, hit.score);
                    response.widget_info(|| {
                        egui::WidgetInfo::labeled(egui::Role::Button, true, &accessible)
                    });
                    let is_selected = selected == Some(rank);
                    let visuals = ui.visuals();
                    let (fill, stroke) = if is_selected {
                        (
                            visuals.selection.bg_fill.gamma_multiply(0.35),
                            Stroke::new(2.0, visuals.selection.stroke.color),
                        )
                    } else if response.hovered() || linked == Some(hit.index) {
                        (
                            visuals.widgets.hovered.bg_fill,
                            Stroke::new(2.0, Color32::YELLOW),
                        )
                    } else {
                        (
                            visuals.faint_bg_color,
                            Stroke::new(1.0, visuals.widgets.noninteractive.bg_stroke.color),
                        )
                    };
                    let painter = ui.painter_at(rect);
                    painter.rect(rect, 6.0, fill, stroke, egui::StrokeKind::Inside);
                    let thumb_rect = egui::Rect::from_center_size(
                        rect.center_top() + vec2(0.0, 8.0 + THUMB / 2.0),
                        vec2(THUMB, THUMB),
                    );
                    match thumbs.get(catalog.store(), item.id) {
                        Some(t) => {
                            let size = t.size_vec2();
                            let scale = (THUMB / size.x.max(size.y)).min(1.0);
                            let r = egui::Rect::from_center_size(thumb_rect.center(), size * scale);
                            painter.image(
                                t.id(),
                                r,
                                egui::Rect::from_min_max(
                                    egui::pos2(0.0, 0.0),
                                    egui::pos2(1.0, 1.0),
                                ),
                                Color32::WHITE,
                            );
                        }
                        None => {
                            painter.rect_filled(thumb_rect, 4.0, visuals.extreme_bg_color);
                        }
                    }
                    let text = visuals.text_color();
                    painter.text(
                        rect.left_bottom() + vec2(8.0, -30.0),
                        egui::Align2::LEFT_CENTER,
                        format!("#{}  {:.3}", rank + 1, hit.score),
                        egui::FontId::proportional(14.0),
                        text,
                    );
                    painter.text(
                        rect.left_bottom() + vec2(8.0, -12.0),
                        egui::Align2::LEFT_CENTER,
                        truncate(&label, 20),
                        egui::FontId::proportional(12.0),
                        visuals.weak_text_color(),
                    );
                    if response.hovered() {
                        hovered = Some(hit.index);
                    }
                    if response.double_clicked() {
                        commands.push(Command::QueryItem(hit.index));
                    } else if response.clicked() {
                        commands.push(Command::Select(Some(rank)));
                    }
                    let path = catalog.abs_path(hit.index);
                    let tip_thumb = thumbs.get(catalog.store(), item.id).cloned();
                    let response = response.on_hover_ui(|ui| {
                        if let Some(t) = tip_thumb {
                            ui.add(
                                egui::Image::from_texture(&t).fit_to_exact_size(vec2(256.0, 256.0)),
                            );
                        }
                        ui.label(format!(
                            "{label} · score {:.3} · {}x{}",
                            hit.score, item.width, item.height
                        ));
                        ui.weak(path.display().to_string());
                    });
                    response.context_menu(|ui| {
                        if ui.button("Find look-alikes of this").clicked() {
                            commands.push(Command::QueryItem(hit.index));
                        }
                        if ui.button("Open file").clicked() {
                            commands.push(Command::Open(path.clone()));
                        }
                        if ui.button("Reveal in folder").clicked() {
                            commands.push(Command::Open(
                                path.parent().map(|p| p.to_path_buf()).unwrap_or_default(),
                            ));
                        }
                        if ui.button("Copy path").clicked() {
                            ui.ctx().copy_text(path.display().to_string());
                        }
                    });
                }
            });
        });
    hovered
}

/// Arrow keys and Enter in the grid.
fn keyboard(ui: &Ui, hits: usize, selected: Option<usize>, commands: &mut Vec<Command>) {
    if hits == 0 || ui.ctx().memory(|m| m.focused().is_some()) {
        return;
    }
    let per_row = ((ui.available_width() / (CARD.x + 8.0)).floor() as isize).max(1);
    let step = ui.input(|i| {
        if i.key_pressed(Key::ArrowRight) {
            1
        } else if i.key_pressed(Key::ArrowLeft) {
            -1
        } else if i.key_pressed(Key::ArrowDown) {
            per_row
        } else if i.key_pressed(Key::ArrowUp) {
            -per_row
        } else {
            0
        }
    });
    if step != 0 {
        let next = selected
            .map(|s| s as isize + step)
            .unwrap_or(0)
            .clamp(0, hits as isize - 1);
        commands.push(Command::Select(Some(next as usize)));
    }
    if ui.input(|i| i.key_pressed(Key::Enter))
        && let Some(s) = selected
    {
        commands.push(Command::QuerySelectedResult(s));
    }
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(n - 1).collect::<String>())
    }
}
