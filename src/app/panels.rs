//! The window's layout of its panels: the toolbar, the query and learning sections, the
//! look-alikes and the map, and what the status bar is shown.

use std::sync::Arc;

use egui::{Color32, RichText};

use super::map_export::MapExport;
use super::map_view::Marks;
use super::{Command, Engine, LookalikeApp, View, settings, status};
use crate::catalog::Catalog;
use crate::map::MapLayout;

/// The side panels that keep their share of the window's width when it is resized: the map and the
/// duplicates' compare panel (the query panel keeps its width: its photo and switches do not grow).
const SHARED_PANELS: [&str; 2] = ["map", "compare"];

impl LookalikeApp {
    /// When the window's width changes (maximised, say), the map and the compare panel keep their
    /// share of it: egui keeps a panel's width in points, which would leave a narrow strip of map
    /// beside a vast grid. Call before the panels are laid out, on the window's root `ui`.
    pub(super) fn keep_panel_shares(&mut self, ui: &egui::Ui) {
        let width = ui.available_width();
        let old = std::mem::replace(&mut self.window_width, width);
        if old <= 0.0 || (width - old).abs() < 1.0 {
            return;
        }
        for salt in SHARED_PANELS {
            let id = ui.scope_id().with(salt);
            if let Some(mut state) = egui::containers::panel::PanelState::load(ui.ctx(), id) {
                let share = state.outer_rect.width() / old;
                state.outer_rect.set_width(share * width);
                ui.ctx().data_mut(|d| d.insert_persisted(id, state));
            }
        }
    }

    pub(super) fn toolbar(&mut self, ui: &mut egui::Ui, commands: &mut Vec<Command>) {
        ui.horizontal(|ui| {
            ui.heading("lookalike");
            ui.separator();
            for (view, name) in [
                (View::LookAlikes, "Look-alikes"),
                (View::Duplicates, "Duplicates"),
            ] {
                if ui.selectable_label(self.view == view, name).clicked() && self.view != view {
                    commands.push(Command::ShowView(view));
                }
            }
            ui.separator();
            // One menu for every way to open a catalog: the toolbar keeps room at 1280 px.
            ui.menu_button("Catalog", |ui| {
                if ui
                    .button("Open a folder…")
                    .on_hover_text("Index a folder of photos")
                    .clicked()
                {
                    commands.push(Command::PickFolder);
                }
                if ui
                    .button("Open a shared catalog…")
                    .on_hover_text("A team's catalog in PostgreSQL (postgres://USER@HOST/DATABASE)")
                    .clicked()
                {
                    commands.push(Command::AskSharedCatalog);
                }
                if let Some(demo) = crate::paths::demo_catalog()
                    && ui
                        .button("The demo catalog")
                        .on_hover_text(demo.display().to_string())
                        .clicked()
                {
                    commands.push(Command::OpenFolder(demo));
                }
                if !self.settings.recent.is_empty() {
                    ui.separator();
                    ui.weak("Recent");
                    for place in &self.settings.recent {
                        let shared = crate::catalog::is_postgres_url(place);
                        let name = if shared {
                            place.display().to_string()
                        } else {
                            place
                                .file_name()
                                .map(|n| n.to_string_lossy().into_owned())
                                .unwrap_or_else(|| place.display().to_string())
                        };
                        if ui
                            .button(name)
                            .on_hover_text(place.display().to_string())
                            .clicked()
                        {
                            commands.push(if shared {
                                Command::BrowseIndex(place.clone())
                            } else {
                                Command::OpenFolder(place.clone())
                            });
                        }
                    }
                }
            });
            // Query tools only where there are queries.
            if self.view == View::LookAlikes {
                if ui.button("Photo… (Ctrl+O)").clicked() {
                    commands.push(Command::PickPhoto);
                }
                if ui.button("Paste (Ctrl+V)").clicked() {
                    commands.push(Command::Paste);
                }
                ui.separator();
                let catalog = self.catalog.clone();
                self.look_alikes
                    .filter_box(ui, catalog.as_deref(), commands);
                ui.separator();
                let k = ui.add(
                    egui::Slider::new(&mut self.settings.k, settings::MIN_K..=settings::MAX_K)
                        .text("look-alikes"),
                );
                if k.drag_stopped() || (k.changed() && !k.dragged()) {
                    commands.push(Command::Requery);
                }
            }
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                let icon = if self.settings.dark {
                    "Light theme"
                } else {
                    "Dark theme"
                };
                if ui.button(icon).clicked() {
                    commands.push(Command::SetDarkTheme(!self.settings.dark));
                }
            });
        });
    }

    /// What the status bar shows of the other panels' state.
    pub(super) fn status_shown(&self) -> status::Shown<'_> {
        status::Shown {
            model: match (&self.engine, &self.engine_model) {
                (Engine::Ready(e), _) => status::ModelState::Ready(e.manifest().label()),
                (Engine::Starting, m) => status::ModelState::Loading(m.as_ref().map(|m| m.label())),
                (Engine::Failed(_), _) => status::ModelState::Failed,
            },
            catalog: self.catalog.as_deref(),
            opening: self.folder.as_deref(),
            query_ms: self
                .query
                .current()
                .filter(|q| q.waiting_for.is_none())
                .map(|q| (q.embed_ms, q.search_ms)),
        }
    }

    pub(super) fn query_panel(&mut self, ui: &mut egui::Ui, commands: &mut Vec<Command>) {
        ui.heading("Query");
        if let Engine::Failed(e) = &self.engine {
            ui.colored_label(
                Color32::from_rgb(255, 110, 100),
                format!("The model could not be loaded: {e}"),
            );
            return;
        }
        let shown = self.look_alikes.hits().len();
        self.query.ui(
            ui,
            self.catalog.as_deref(),
            &mut self.thumbs,
            self.settings.colour,
            shown,
            commands,
        );
        if self.catalog.is_some() {
            let predicted = self
                .query
                .current()
                .and_then(|q| q.predictions.first().map(|p| p.label.clone()));
            self.learning
                .ui(ui, &self.settings, predicted.as_deref(), commands);
        }
        if let (Some((rank, h)), Some(c)) = (self.look_alikes.selected_hit(), &self.catalog) {
            ui.separator();
            let item = &c.items()[h.index];
            ui.label(RichText::new(format!("Selected: #{} · {:.3}", rank + 1, h.score)).strong());
            ui.label(RichText::new(super::results::card_title(c, h.index)).strong());
            for (k, v) in item.labels.iter().filter(|(_, v)| !v.is_empty()) {
                ui.label(format!("{}: {v}", crate::query::filter::human_column(k)));
            }
            ui.weak(c.abs_path(h.index).display().to_string());
            ui.label("Enter or double-click: find its look-alikes");
        }
    }

    /// The head learned from the catalog's labels: train it, and the search switches it enables.
    pub(super) fn results_panel(&mut self, ui: &mut egui::Ui, commands: &mut Vec<Command>) {
        let Some(catalog) = self.catalog.clone() else {
            ui.vertical_centered(|ui| {
                ui.add_space(ui.available_height() / 3.0);
                if self.folder.is_some() {
                    ui.spinner();
                    ui.label("Indexing the catalog: items appear here as they are ready.");
                    return;
                }
                if self.loading_catalog {
                    ui.spinner();
                    ui.label("Opening the catalog…");
                    return;
                }
                ui.heading("No catalog open");
                ui.label("A catalog is a folder of product photos. lookalike indexes it once, then finds look-alikes in it.");
                if let Some(demo) = crate::paths::demo_catalog()
                    && ui.button(RichText::new("Open the demo catalog").size(18.0)).clicked()
                {
                    commands.push(Command::OpenFolder(demo));
                }
                if ui.button("Open a folder…").clicked() {
                    commands.push(Command::PickFolder);
                }
                if ui.button("Open a shared catalog…").clicked() {
                    commands.push(Command::AskSharedCatalog);
                }
            });
            return;
        };
        if self.look_alikes.is_empty() {
            self.look_alikes
                .header(ui, &catalog, &self.settings, commands);
            let waiting = self
                .query
                .current()
                .is_some_and(|q| q.waiting_for.is_some());
            ui.vertical_centered(|ui| {
                ui.add_space(ui.available_height() / 3.0);
                if self.query.current().is_some() && !waiting {
                    ui.heading("No look-alike passes the filter");
                    ui.label("Clear the filter, or choose another value in its list (Pick…).");
                    return;
                }
                if waiting {
                    return;
                }
                ui.heading("Drop a photo to find its look-alikes");
                ui.label(format!(
                    "{} items in the catalog. Or double-click any point of the map.",
                    catalog.len()
                ));
            });
            return;
        }
        let linked = self.map.hovered();
        self.look_alikes.ui(
            ui,
            &catalog,
            &self.settings,
            linked,
            &mut self.thumbs,
            commands,
        );
    }

    /// Under the map's title: the neighbourhood layout being made, or why it is not there.
    fn layout_status(
        &mut self,
        ui: &mut egui::Ui,
        catalog: &Arc<Catalog>,
        commands: &mut Vec<Command>,
    ) {
        if self.settings.map_layout != MapLayout::Neighbourhoods || self.map.has_neighbourhoods() {
            return;
        }
        if let Some(done) = self.map.making() {
            // Wrapped, so the words never widen the panel for good while the layout is made.
            ui.horizontal_wrapped(|ui| {
                ui.add(
                    egui::ProgressBar::new(done)
                        .desired_width(160.0)
                        .show_percentage(),
                );
                ui.weak("laying out neighbourhoods; PCA until then");
            });
            return;
        }
        let auto = catalog.len() <= crate::indexer::INDEX_LAYOUT_MAX;
        if let Some(index) = &self.index_path
            && self.map.should_make(index)
            && auto
        {
            commands.push(Command::LayOut);
            return;
        }
        ui.horizontal_wrapped(|ui| {
            ui.weak("Showing PCA: this catalog has no neighbourhood map yet.");
            if ui
                .button("Make it")
                .on_hover_text("Fits the layout in the background and keeps it with the index")
                .clicked()
            {
                commands.push(Command::LayOut);
            }
        });
    }

    pub(super) fn map_panel(&mut self, ui: &mut egui::Ui, commands: &mut Vec<Command>) {
        self.map.set_layout(self.settings.map_layout);
        // Wrapped, so the hint never sets the panel's width.
        ui.horizontal_wrapped(|ui| {
            ui.heading("Map");
            for layout in MapLayout::ALL {
                let name = match layout {
                    MapLayout::Neighbourhoods => "Neighbourhoods",
                    MapLayout::Pca => "PCA",
                };
                if ui
                    .selectable_label(self.settings.map_layout == layout, name)
                    .on_hover_text(layout.describe())
                    .clicked()
                {
                    commands.push(Command::SetMapLayout(layout));
                }
            }
            if self.catalog.is_some() {
                ui.menu_button("Save", |ui| {
                    if ui
                        .button("This view as PNG")
                        .on_hover_text("The map as it is on screen: dots, photos, captions and legend")
                        .clicked()
                    {
                        commands.push(Command::ExportMap(MapExport::Png));
                    }
                    if ui
                        .button("The dots as SVG")
                        .on_hover_text("A drawing of the dots in view, to restyle for slides")
                        .clicked()
                    {
                        commands.push(Command::ExportMap(MapExport::Svg));
                    }
                });
                if self.presenting.is_some() {
                    if ui.button("Leave full screen").on_hover_text("Esc or F11").clicked() {
                        commands.push(Command::Present(false));
                    }
                } else if ui
                    .button("Present")
                    .on_hover_text("The map full screen with the query, in large text (F11)")
                    .clicked()
                {
                    commands.push(Command::Present(true));
                }
            }
            ui.weak("drag to pan · wheel to zoom · Shift+drag to select · double-click empty space to reset");
        });
        let Some(catalog) = self.catalog.clone() else {
            ui.label("The map of the catalog appears here.");
            return;
        };
        self.layout_status(ui, &catalog, commands);
        let results: Vec<usize> = self.look_alikes.hits().iter().map(|h| h.index).collect();
        let lead = self
            .query
            .current()
            .and_then(|q| q.regions.as_ref().and_then(|r| r.get(q.lead)).cloned());
        let query_point = lead.and_then(|r| self.map.place_query(&catalog, &r.vector));
        let selected = self.look_alikes.selected_hit().map(|(_, h)| h.index);
        let kept = self.look_alikes.kept(&catalog).map(|k| Arc::clone(&k.keep));
        let marks = Marks {
            kept,
            results: &results,
            query: query_point,
            linked: self.look_alikes.hovered(),
            selected,
            query_photo: self.query.current().and_then(|q| q.preview.clone()),
        };
        let events = self.map.show(ui, &catalog, &marks, &mut self.thumbs);
        if let Some((items, name)) = events.selected {
            commands.push(Command::SelectOnMap(items, name));
        } else if let Some(i) = events.double_clicked {
            commands.push(Command::QueryItem(i));
        } else if let Some(i) = events.clicked {
            match self.look_alikes.rank_of(i) {
                Some(rank) => commands.push(Command::Select(Some(rank))),
                None => commands.push(Command::QueryItem(i)),
            }
        }
    }
}
