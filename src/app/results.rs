//! The grid of look-alikes (thumbnails with scores, titles and labels) and the label filter: a panel
//! that owns its state (the hits shown, the selection, the hovered card, the filter and which items
//! it keeps) and asks for everything else through [`Command`]s. The cards grow with the window: as
//! large as lets every look-alike fit, times the user's size (Ctrl+wheel).

use std::sync::Arc;

use egui::{Color32, Key, RichText, Sense, Stroke, Ui, vec2};
use rayon::prelude::*;

use super::Command;
use super::map_selection::Selection;
use super::settings::{MAX_CARD_ZOOM, MIN_CARD_ZOOM, Settings};
use super::thumbs::Thumbs;
use crate::catalog::Catalog;
use crate::query::LabelFilter;
use crate::query::filter::{Column, human_column, listed_columns};
use crate::search::Hit;
use crate::search::strength::Band;

/// The look-alikes panel.
pub struct LookAlikes {
    hits: Vec<Hit>,
    /// For each hit, the catalog items that are copies of it (one card shows them all).
    copies: Vec<Vec<usize>>,
    /// For each hit, how strong a match it is (None: the index has no bands).
    strength: Vec<Option<Band>>,
    /// Rank of the selected card.
    selected: Option<usize>,
    /// Catalog item whose card the pointer is over.
    hovered: Option<usize>,
    /// The filter as typed, and as parsed.
    filter: String,
    parsed: LabelFilter,
    filter_id: egui::Id,
    /// Which items of which catalog the filter keeps (None: no filter, or not worked out yet).
    kept: Option<Kept>,
    /// The catalog's listable label columns, for the filter's menu.
    columns: Option<(CatalogKey, Arc<Vec<Column>>)>,
    /// The grid as last drawn (arrow keys move by its rows).
    layout_shown: Option<CardLayout>,
    /// Items selected on the map, shown instead of the look-alikes.
    selection: Option<Selection>,
}

/// The items a filter keeps, for one catalog.
pub struct Kept {
    catalog: CatalogKey,
    filter: LabelFilter,
    pub keep: Arc<Vec<bool>>,
    pub count: usize,
}

impl Default for LookAlikes {
    fn default() -> Self {
        LookAlikes {
            hits: Vec::new(),
            copies: Vec::new(),
            strength: Vec::new(),
            selected: None,
            hovered: None,
            filter: String::new(),
            parsed: LabelFilter::default(),
            filter_id: egui::Id::unique("label-filter"),
            kept: None,
            columns: None,
            layout_shown: None,
            selection: None,
        }
    }
}

/// A catalog's identity for the caches: the address of the open catalog and its size (a catalog
/// opened again may come to the address of one closed before).
type CatalogKey = (usize, usize);

fn catalog_key(catalog: &Catalog) -> CatalogKey {
    (catalog as *const Catalog as usize, catalog.len())
}

impl LookAlikes {
    /// Show these hits (a new answer): the selection goes.
    pub fn show_hits(
        &mut self,
        hits: Vec<Hit>,
        mut copies: Vec<Vec<usize>>,
        mut strength: Vec<Option<Band>>,
    ) {
        copies.resize(hits.len(), Vec::new());
        strength.resize(hits.len(), None);
        self.selection = None;
        self.hits = hits;
        self.copies = copies;
        self.strength = strength;
        self.selected = None;
    }

    pub fn clear(&mut self) {
        self.show_hits(Vec::new(), Vec::new(), Vec::new());
    }

    /// The catalog changed: each hit's item is now at `moved(old)`, or gone (None).
    pub fn remap(&mut self, moved: &dyn Fn(usize) -> Option<usize>) {
        let selected = self
            .selected
            .and_then(|r| self.hits.get(r))
            .and_then(|h| moved(h.index));
        let kept: Vec<(Hit, Vec<usize>, Option<Band>)> = self
            .hits
            .iter()
            .zip(&self.copies)
            .zip(&self.strength)
            .filter_map(|((h, c), s)| {
                moved(h.index).map(|index| {
                    let hit = Hit {
                        index,
                        score: h.score,
                    };
                    (hit, c.iter().filter_map(|&i| moved(i)).collect(), *s)
                })
            })
            .collect();
        self.hits = kept.iter().map(|k| k.0).collect();
        self.copies = kept.iter().map(|k| k.1.clone()).collect();
        self.strength = kept.iter().map(|k| k.2).collect();
        self.selected = selected.and_then(|i| self.rank_of(i));
        self.hovered = None;
    }

    /// Show the items selected on the map (already ranked) instead of the look-alikes.
    pub fn show_selection(&mut self, mut selection: Selection, hits: Vec<Hit>) {
        let saved = match self.selection.take() {
            Some(earlier) => earlier.saved,
            None => (
                std::mem::take(&mut self.hits),
                std::mem::take(&mut self.copies),
                std::mem::take(&mut self.strength),
            ),
        };
        selection.saved = saved;
        self.copies = vec![Vec::new(); hits.len()];
        self.strength = vec![None; hits.len()];
        self.hits = hits;
        self.selected = None;
        self.selection = Some(selection);
    }

    /// Back from a map selection to the look-alikes.
    pub fn clear_selection(&mut self) {
        if let Some(s) = self.selection.take() {
            (self.hits, self.copies, self.strength) = s.saved;
            self.selected = None;
        }
    }

    /// The selection on the map shown, if any.
    pub fn selection(&self) -> Option<&Selection> {
        self.selection.as_ref()
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

    /// The filter searches keep to.
    pub fn label_filter(&self) -> &LabelFilter {
        &self.parsed
    }

    /// Filter by this text instead (the caller asks to search again).
    pub fn set_filter(&mut self, text: String) {
        self.parsed = LabelFilter::parse(&text);
        self.filter = text;
    }

    /// Which items of `catalog` the filter keeps (None without a filter); worked out once per
    /// filter and catalog.
    pub fn kept(&mut self, catalog: &Catalog) -> Option<&Kept> {
        if self.parsed.is_empty() {
            self.kept = None;
            return None;
        }
        let key = catalog_key(catalog);
        let fresh = self
            .kept
            .as_ref()
            .is_some_and(|k| k.catalog == key && k.filter == self.parsed);
        if !fresh {
            let keep: Vec<bool> = catalog
                .items()
                .par_iter()
                .map(|it| self.parsed.matches(&it.labels))
                .collect();
            let count = keep.iter().filter(|&&k| k).count();
            self.kept = Some(Kept {
                catalog: key,
                filter: self.parsed.clone(),
                keep: Arc::new(keep),
                count,
            });
        }
        self.kept.as_ref()
    }

    fn columns(&mut self, catalog: &Catalog) -> Arc<Vec<Column>> {
        let key = catalog_key(catalog);
        match &self.columns {
            Some((k, c)) if *k == key => Arc::clone(c),
            _ => {
                let c = Arc::new(listed_columns(catalog.items()));
                self.columns = Some((key, Arc::clone(&c)));
                c
            }
        }
    }

    /// The filter's text box (in the toolbar) with its menu of columns and values and the count of
    /// items it keeps; asks to search again when it changes.
    pub fn filter_box(
        &mut self,
        ui: &mut Ui,
        catalog: Option<&Catalog>,
        commands: &mut Vec<Command>,
    ) {
        let filter_label = ui.label("Filter:");
        let on = !self.parsed.is_empty();
        let edit = egui::TextEdit::singleline(&mut self.filter)
            .id(self.filter_id)
            .hint_text("gender = Men, or words (Ctrl+F)")
            .desired_width(150.0);
        let response = ui.add(edit).labelled_by(filter_label.id);
        if response.changed() {
            self.parsed = LabelFilter::parse(&self.filter);
            commands.push(Command::Requery);
        }
        if on {
            // A filter that is on shows it: a frame round the box.
            ui.painter().rect_stroke(
                response.rect.expand(2.0),
                3.0,
                Stroke::new(2.0, ui.visuals().selection.stroke.color),
                egui::StrokeKind::Outside,
            );
        }
        let Some(catalog) = catalog else { return };
        let columns = self.columns(catalog);
        if !columns.is_empty() {
            ui.menu_button("Pick…", |ui| {
                ui.set_max_width(260.0);
                ui.weak("Keep the items whose…");
                for column in columns.iter() {
                    ui.menu_button(human_column(&column.name), |ui| {
                        egui::ScrollArea::vertical()
                            .max_height(420.0)
                            .show(ui, |ui| {
                                for (value, n) in &column.values {
                                    if ui.button(format!("{value} ({n})")).clicked() {
                                        let text = with_term(&self.filter, &column.name, value);
                                        commands.push(Command::SetFilter(text));
                                        ui.close();
                                    }
                                }
                            });
                    });
                }
            })
            .response
            .on_hover_text("Pick a column and a value to keep");
        }
        if on {
            let names = catalog.label_columns();
            let unknown = self.parsed.unknown_columns(names.iter().copied());
            if !unknown.is_empty() {
                ui.colored_label(
                    Color32::from_rgb(255, 110, 100),
                    format!("no column \"{}\"", unknown.join("\", \"")),
                )
                .on_hover_text(format!("The catalog's columns: {}", names.join(", ")));
            } else if let Some(kept) = self.kept(catalog) {
                let count = kept.count;
                ui.label(format!(
                    "{} of {}",
                    thousands(count),
                    thousands(catalog.len())
                ))
                .on_hover_text("Catalog items the filter keeps");
            }
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

    /// The line above the grid: what is shown and through which filter, the cards' size, what
    /// they show, and the map's switch.
    pub fn header(
        &mut self,
        ui: &mut Ui,
        catalog: &Catalog,
        settings: &Settings,
        commands: &mut Vec<Command>,
    ) {
        ui.horizontal_wrapped(|ui| {
            let n = self.hits.len();
            if let Some(sel) = &self.selection {
                selection_header(ui, sel, n, commands);
            } else if n > 0 {
                ui.label(
                    RichText::new(format!(
                        "{n} look-{}",
                        if n == 1 { "alike" } else { "alikes" }
                    ))
                    .strong(),
                );
            }
            if !self.parsed.is_empty() {
                let filter = self.filter.trim().to_string();
                let kept = self.kept(catalog).map(|k| k.count);
                ui.label(
                    RichText::new(format!("Filter on: {filter}"))
                        .color(ui.visuals().selection.stroke.color),
                );
                if let Some(count) = kept {
                    ui.weak(format!(
                        "({} of {} items)",
                        thousands(count),
                        thousands(catalog.len())
                    ));
                }
                if ui.small_button("Clear filter").clicked() {
                    commands.push(Command::SetFilter(String::new()));
                }
            }
            ui.separator();
            let mut zoom = settings.card_zoom;
            let size = ui
                .add(
                    egui::Slider::new(&mut zoom, MIN_CARD_ZOOM..=MAX_CARD_ZOOM)
                        .show_value(false)
                        .text("Size"),
                )
                .on_hover_text(
                    "The cards' size (Ctrl+wheel on the grid; double-click: fit the window)",
                );
            if size.double_clicked() {
                commands.push(Command::SetCardZoom(1.0));
            } else if size.changed() {
                commands.push(Command::SetCardZoom(zoom));
            }
            ui.menu_button("Cards show…", |ui| {
                let shown = card_fields(catalog, settings);
                for column in catalog.label_columns().into_iter().map(str::to_string) {
                    let mut on = shown.contains(&column);
                    if ui.checkbox(&mut on, human_column(&column)).changed() {
                        let mut fields = shown.clone();
                        if on {
                            fields.push(column.clone());
                        } else {
                            fields.retain(|f| f != &column);
                        }
                        commands.push(Command::SetCardFields(fields));
                    }
                }
                ui.weak("The title is the product's name, or the file's.");
            });
            let map = if settings.map_shown {
                "Hide map"
            } else {
                "Show map"
            };
            if ui.button(map).clicked() {
                commands.push(Command::ShowMap(!settings.map_shown));
            }
        });
    }

    /// The grid, with its keys; `linked` is the item hovered elsewhere (on the map).
    pub fn ui(
        &mut self,
        ui: &mut Ui,
        catalog: &Catalog,
        settings: &Settings,
        linked: Option<usize>,
        thumbs: &mut Thumbs,
        commands: &mut Vec<Command>,
    ) {
        self.header(ui, catalog, settings, commands);
        let area = ui.available_size();
        let layout = card_layout(
            area.x - SCROLL_BAR,
            area.y,
            self.hits.len(),
            settings.card_zoom,
        );
        self.layout_shown = Some(layout);
        keyboard(ui, self.hits.len(), layout.columns, self.selected, commands);
        // Ctrl+wheel over the grid sizes the cards (and does not scroll).
        if ui.rect_contains_pointer(ui.available_rect_before_wrap()) {
            let zoom = ui.input(|i| i.zoom_delta());
            if (zoom - 1.0).abs() > 1e-4 {
                let z = (settings.card_zoom * zoom).clamp(MIN_CARD_ZOOM, MAX_CARD_ZOOM);
                commands.push(Command::SetCardZoom(z));
            }
        }
        let fields = card_fields(catalog, settings);
        self.hovered = grid(
            ui,
            catalog,
            &self.hits,
            (&self.copies, &self.strength),
            &layout,
            &fields,
            Marked {
                selected: self.selected,
                linked,
            },
            thumbs,
            commands,
        );
    }

    /// Cards a row and the thumbnails' side of the grid as last drawn.
    pub fn layout_shown(&self) -> (usize, f32) {
        self.layout_shown.map_or((0, 0.0), |l| (l.columns, l.thumb))
    }

    /// How many catalog items the filter keeps, as last worked out (None without a filter).
    pub fn kept_count(&self) -> Option<usize> {
        self.kept
            .as_ref()
            .filter(|k| k.filter == self.parsed)
            .map(|k| k.count)
    }
}

/// What a map selection holds: how many items of which labels, and the way back.
fn selection_header(ui: &mut Ui, sel: &Selection, shown: usize, commands: &mut Vec<Command>) {
    ui.label(
        RichText::new(format!(
            "Selected on the map: {} ({} {})",
            sel.title,
            thousands(sel.total),
            if sel.total == 1 { "item" } else { "items" }
        ))
        .strong(),
    );
    if ui
        .small_button("Clear selection")
        .on_hover_text("Back to the look-alikes (Esc)")
        .clicked()
    {
        commands.push(Command::ClearMapSelection);
    }
    let counts: Vec<String> = sel
        .counts
        .iter()
        .map(|(l, n)| format!("{l} {}", thousands(*n)))
        .collect();
    ui.weak(counts.join(" · "));
    if shown < sel.total {
        ui.weak(format!(
            "showing the {shown} {}",
            if sel.by_query {
                "closest to the photo"
            } else {
                "most typical"
            }
        ));
    } else if sel.by_query {
        ui.weak("closest to the photo first");
    }
}

/// `text` with the term `column = value`, instead of any term on that column.
fn with_term(text: &str, column: &str, value: &str) -> String {
    let same = |part: &str| {
        part.split_once('=')
            .is_some_and(|(c, _)| LabelFilter::exact(c, "") == LabelFilter::exact(column, ""))
    };
    let mut parts: Vec<String> = text
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty() && !same(p))
        .map(str::to_string)
        .collect();
    parts.push(format!("{column} = {value}"));
    parts.join(", ")
}

/// 1234567 as "1,234,567".
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The label columns a card shows under its title: the user's choice, or the catalog's colour
/// column and its main label.
pub fn card_fields(catalog: &Catalog, settings: &Settings) -> Vec<String> {
    let names = catalog.label_columns();
    let chosen: Vec<String> = settings
        .card_fields
        .iter()
        .filter(|f| names.contains(&f.as_str()))
        .cloned()
        .collect();
    if !chosen.is_empty() {
        return chosen;
    }
    let colour = names
        .iter()
        .find(|n| human_column(n) == "Colour")
        .map(|n| n.to_string());
    colour
        .into_iter()
        .chain(Some(catalog.label_field().to_string()).filter(|f| names.contains(&f.as_str())))
        .collect()
}

/// Room between cards, inside a card round its thumbnail, and under the thumbnail for the text.
const GAP: f32 = 8.0;
const PAD: f32 = 8.0;
const TEXT_LINES: f32 = 66.0;
/// Thumbnails fitted to the window stay within these sides (before the user's size).
const MIN_THUMB: f32 = 110.0;
const MAX_THUMB: f32 = 320.0;
/// Room kept for the grid's scroll bar.
const SCROLL_BAR: f32 = 14.0;

/// How the grid is laid out: `columns` cards a row, each `card` large with a `thumb`-sided
/// thumbnail.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CardLayout {
    pub columns: usize,
    pub thumb: f32,
    pub card: egui::Vec2,
}

/// The grid for `n` cards in a `width` x `height` area: the largest thumbnails with which all of
/// them fit without scrolling (within [`MIN_THUMB`] and [`MAX_THUMB`]), times the user's `zoom`;
/// then as many columns as take that size, the cards stretched to fill the width.
pub fn card_layout(width: f32, height: f32, n: usize, zoom: f32) -> CardLayout {
    let width = width.max(PAD * 2.0 + 40.0);
    let fit = (1..=n.max(1))
        .map(|columns| {
            let rows = n.max(1).div_ceil(columns) as f32;
            let card_w = (width - GAP * (columns as f32 - 1.0)) / columns as f32;
            let card_h = (height - GAP * (rows - 1.0)) / rows;
            (card_w - 2.0 * PAD).min(card_h - PAD - TEXT_LINES)
        })
        .fold(f32::MIN, f32::max);
    let thumb = (fit.clamp(MIN_THUMB, MAX_THUMB) * zoom).min(width - 2.0 * PAD);
    let columns = (((width + GAP) / (thumb + 2.0 * PAD + GAP)).floor() as usize).max(1);
    let card_w = (width - GAP * (columns as f32 - 1.0)) / columns as f32;
    CardLayout {
        columns,
        thumb,
        card: vec2(card_w.floor(), (thumb + PAD + TEXT_LINES).floor()),
    }
}

/// What a card shows beside its hit: the copies folded into it and how strong a match it is.
struct Shown<'a> {
    copies: &'a [usize],
    strength: Option<Band>,
}

/// Cards drawn apart from the others.
struct Marked {
    selected: Option<usize>,
    /// The item hovered on the map.
    linked: Option<usize>,
}

/// Draw the look-alikes; returns the catalog item hovered in the grid, if any.
#[allow(clippy::too_many_arguments)]
fn grid(
    ui: &mut Ui,
    catalog: &Catalog,
    hits: &[Hit],
    (copies, strength): (&[Vec<usize>], &[Option<Band>]),
    layout: &CardLayout,
    fields: &[String],
    marked: Marked,
    thumbs: &mut Thumbs,
    commands: &mut Vec<Command>,
) -> Option<usize> {
    let mut hovered = None;
    egui::ScrollArea::vertical()
        .auto_shrink([false, false])
        .show(ui, |ui| {
            ui.horizontal_wrapped(|ui| {
                ui.spacing_mut().item_spacing = vec2(GAP, GAP);
                for (rank, hit) in hits.iter().enumerate() {
                    let shown = Shown {
                        copies: copies.get(rank).map_or(&[][..], Vec::as_slice),
                        strength: strength.get(rank).copied().flatten(),
                    };
                    let response = card(
                        ui, catalog, rank, hit, &shown, layout, fields, &marked, thumbs,
                    );
                    if response.hovered() {
                        hovered = Some(hit.index);
                    }
                    if response.double_clicked() {
                        commands.push(Command::QueryItem(hit.index));
                    } else if response.clicked() {
                        commands.push(Command::Select(Some(rank)));
                    }
                    card_menu(&response, catalog, hit, commands);
                }
            });
        });
    hovered
}

/// The title a card shows: the product's name, or the file's.
pub fn card_title(catalog: &Catalog, i: usize) -> String {
    let item = catalog.item(i);
    ["productDisplayName", "name", "title"]
        .iter()
        .find_map(|c| item.labels.get(c).filter(|v| !v.trim().is_empty()))
        .map(str::to_string)
        .unwrap_or_else(|| {
            item.path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        })
}

/// One look-alike's card: its thumbnail, rank and score, title and chosen labels.
#[allow(clippy::too_many_arguments)]
fn card(
    ui: &mut Ui,
    catalog: &Catalog,
    rank: usize,
    hit: &Hit,
    shown: &Shown,
    layout: &CardLayout,
    fields: &[String],
    marked: &Marked,
    thumbs: &mut Thumbs,
) -> egui::Response {
    let item = catalog.item(hit.index);
    let title = card_title(catalog, hit.index);
    let details: Vec<&str> = fields
        .iter()
        .filter_map(|f| item.labels.get(f).filter(|v| !v.is_empty()))
        .collect();
    let details = details.join(" · ");
    let (rect, response) = ui.allocate_exact_size(layout.card, Sense::click());
    let copies = shown.copies;
    let strength = shown.strength.map(Band::words);
    let strength_short = shown.strength.map(Band::short);
    // A weak match looks weak: its photo faded, its words dim.
    let weak = shown.strength == Some(Band::Loose);
    let badge = match copies.len() {
        0 => String::new(),
        1 => "+1 copy".to_string(),
        n => format!("+{n} copies"),
    };
    let accessible = format!(
        "Look-alike {}: {title}, {details}, score {:.3}{}{}",
        rank + 1,
        hit.score,
        strength.map(|s| format!(", {s}")).unwrap_or_default(),
        if badge.is_empty() {
            String::new()
        } else {
            format!(", {badge}")
        }
    );
    response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Button, true, &accessible));
    let visuals = ui.visuals();
    let (fill, stroke) = if marked.selected == Some(rank) {
        (
            visuals.selection.bg_fill.gamma_multiply(0.35),
            Stroke::new(2.0, visuals.selection.stroke.color),
        )
    } else if response.hovered() || marked.linked == Some(hit.index) {
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
    let thumb = layout.thumb;
    let thumb_rect = egui::Rect::from_center_size(
        rect.center_top() + vec2(0.0, PAD + thumb / 2.0),
        vec2(thumb, thumb),
    );
    // Cards past the stored thumbnails' size show ones made from the photo files.
    let texture = if thumb > crate::embed::preprocess::THUMB_SIDE as f32 * 1.1 {
        thumbs.get_large(catalog.store(), item.id, || catalog.abs_path(hit.index))
    } else {
        thumbs.get(catalog.store(), item.id)
    };
    match texture {
        Some(t) => {
            // Drawn up to the card's size, never past twice their own.
            let size = t.size_vec2();
            let scale = (thumb / size.x.max(size.y)).min(2.0);
            let r = egui::Rect::from_center_size(thumb_rect.center(), size * scale);
            let uv = egui::Rect::from_min_max(egui::pos2(0.0, 0.0), egui::pos2(1.0, 1.0));
            let tint = if weak {
                Color32::from_white_alpha(120)
            } else {
                Color32::WHITE
            };
            painter.image(t.id(), r, uv, tint);
        }
        None => {
            painter.rect_filled(thumb_rect, 4.0, visuals.extreme_bg_color);
        }
    }
    if !badge.is_empty() {
        // The copies folded into this card, on its photo's corner.
        let galley = painter.layout_no_wrap(
            badge.clone(),
            egui::FontId::proportional(12.0),
            Color32::WHITE,
        );
        let at = thumb_rect.right_top() + vec2(-galley.size().x - 10.0, 4.0);
        let back = egui::Rect::from_min_size(at, galley.size() + vec2(8.0, 4.0));
        painter.rect_filled(back, 4.0, Color32::from_rgba_unmultiplied(20, 20, 20, 210));
        painter.galley(at + vec2(4.0, 2.0), galley, Color32::WHITE);
    }
    let text_width = rect.width() - 2.0 * PAD;
    let line = |y: f32, text: String, size: f32, color: Color32| {
        let mut job = egui::text::LayoutJob::single_section(
            text,
            egui::TextFormat::simple(egui::FontId::proportional(size), color),
        );
        job.wrap = egui::text::TextWrapping::truncate_at_width(text_width);
        let galley = ui.fonts_mut(|f| f.layout_job(job));
        painter.galley(rect.left_top() + vec2(PAD, y), galley, color);
    };
    let top = PAD + thumb + 4.0;
    let score = match strength_short {
        Some(s) => format!("#{}  {:.3} · {s}", rank + 1, hit.score),
        None => format!("#{}  {:.3}", rank + 1, hit.score),
    };
    let (score_color, title_color) = if weak {
        (visuals.weak_text_color(), visuals.text_color())
    } else {
        (visuals.text_color(), visuals.strong_text_color())
    };
    line(top, score, 14.0, score_color);
    line(top + 19.0, title.clone(), 13.0, title_color);
    line(top + 37.0, details.clone(), 12.0, visuals.weak_text_color());
    let path = catalog.abs_path(hit.index);
    let tip_thumb = thumbs.get(catalog.store(), item.id).cloned();
    response.on_hover_ui(|ui| {
        if let Some(t) = tip_thumb {
            ui.add(egui::Image::from_texture(&t).fit_to_exact_size(vec2(256.0, 256.0)));
        }
        ui.label(RichText::new(&title).strong());
        // Every label but the one the title already gives.
        for (k, v) in item
            .labels
            .iter()
            .filter(|(_, v)| !v.is_empty() && *v != title)
        {
            ui.label(format!("{}: {v}", human_column(k)));
        }
        ui.label(format!(
            "score {:.3} · {}x{}",
            hit.score, item.width, item.height
        ));
        ui.weak(path.display().to_string());
        if !copies.is_empty() {
            ui.separator();
            ui.label(format!("The same photo also as ({badge}):"));
            for &c in copies {
                ui.weak(catalog.abs_path(c).display().to_string());
            }
        }
    })
}

/// A card's right-click menu.
fn card_menu(response: &egui::Response, catalog: &Catalog, hit: &Hit, commands: &mut Vec<Command>) {
    let path = catalog.abs_path(hit.index);
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

/// Arrow keys and Enter in the grid (`per_row` cards a row).
fn keyboard(
    ui: &Ui,
    hits: usize,
    per_row: usize,
    selected: Option<usize>,
    commands: &mut Vec<Command>,
) {
    if hits == 0 || ui.ctx().memory(|m| m.focused().is_some()) {
        return;
    }
    let per_row = per_row.max(1) as isize;
    let step = ui.input(|i| {
        if i.modifiers.alt {
            0
        } else if i.key_pressed(Key::ArrowRight) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cards_grow_with_the_window_and_twelve_take_at_least_three_columns_at_1280() {
        // The look-alikes' share of a 1280x720 window and of a 1920x1080 one.
        let small = card_layout(560.0, 560.0, 12, 1.0);
        assert!(small.columns >= 3, "{small:?}");
        let large = card_layout(900.0, 920.0, 12, 1.0);
        assert!(large.thumb > small.thumb * 1.3, "{small:?} {large:?}");
        let rows = 12usize.div_ceil(large.columns) as f32;
        assert!(
            rows * (large.card.y + GAP) <= 920.0 + GAP,
            "all twelve fit without scrolling: {large:?}"
        );
        assert!(
            large.columns as f32 * (large.card.x + GAP) <= 900.0 + GAP + 1.0,
            "the row fits the width: {large:?}"
        );
        let zoomed = card_layout(900.0, 920.0, 12, 2.0);
        assert!(zoomed.thumb > large.thumb * 1.5 && zoomed.columns < large.columns);
        let narrow = card_layout(150.0, 300.0, 12, 2.5);
        assert_eq!(narrow.columns, 1);
        assert!(narrow.card.x <= 150.0 && narrow.thumb <= 150.0 - 2.0 * PAD);
    }

    #[test]
    fn picking_a_value_replaces_the_term_on_its_column() {
        assert_eq!(with_term("", "gender", "Men"), "gender = Men");
        assert_eq!(
            with_term("blue, Gender = Women", "gender", "Men"),
            "blue, gender = Men"
        );
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands(999), "999");
    }
}
