//! The window: drop a photo, see its look-alikes with scores beside the catalog's map.
//!
//! The UI thread owns this state and never blocks: model loading, indexing, queries, thumbnails and
//! file dialogs run on named threads ([`jobs`]) that report back over a channel. The UI collects
//! [`Command`]s while drawing and applies them after.

mod commands;
mod compare;
mod dup_card;
mod dups_view;
mod file_picker;
mod history;
mod input;
mod jobs;
mod learning;
mod map_export;
mod map_pixels;
mod map_selection;
mod map_view;
mod messages;
mod pair_evidence;
mod panels;
mod query_panel;
mod query_photo;
mod results;
mod settings;
mod shared_dialog;
mod status;
mod thumbs;
mod watch;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use crossbeam_channel::Receiver;
use egui::Color32;

use crate::catalog::{Catalog, model_for_index};
use crate::embed::Embedder;
use crate::model::{ModelManifest, default_model};
pub use commands::Command;
pub use jobs::QueryInput;
use jobs::{Msg, Outbox, index_path_for};
use map_view::MapView;
use settings::Settings;
use thumbs::Thumbs;

/// How often the catalog is reloaded while indexing, so new items become searchable.
const RELOAD_WHILE_INDEXING: Duration = Duration::from_millis(2500);

/// Makes the embedder for a model (the window's seam for tests that need no ONNX model).
pub type EmbedderFactory =
    Arc<dyn Fn(ModelManifest) -> crate::Result<crate::embed::Embedder> + Send + Sync>;

/// How the window starts.
#[derive(Clone, Default)]
pub struct AppConfig {
    /// Open this catalog folder (else the one open last time).
    pub folder: Option<PathBuf>,
    /// Keep indexes here instead of the data folder (tests).
    pub index_dir: Option<PathBuf>,
    /// Use this model instead of the catalog's or the default (tests).
    pub model: Option<ModelManifest>,
    /// Read and write the remembered settings.
    pub persist: bool,
    /// Browse this index file as it is, without indexing its folder.
    pub index_file: Option<PathBuf>,
    /// Use the window's own file picker, not the system's dialog (also `LOOKALIKE_FILE_PICKER=builtin`).
    pub builtin_file_picker: bool,
    /// Make embedders with this instead of ONNX Runtime (tests).
    pub embedder: Option<EmbedderFactory>,
    /// Save map exports here (else the user's Pictures folder).
    pub export_dir: Option<PathBuf>,
}

enum Engine {
    Starting,
    Ready(Arc<Embedder>),
    Failed(String),
}

/// What the central area shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    LookAlikes,
    Duplicates,
}

pub struct LookalikeApp {
    config: AppConfig,
    settings: Settings,
    outbox: Outbox,
    inbox: Receiver<Msg>,
    engine: Engine,
    engine_model: Option<ModelManifest>,
    /// Start indexing once the engine for this folder is ready.
    index_when_ready: bool,
    folder: Option<PathBuf>,
    /// The open folder, watched for photos added, changed or removed.
    watch: Option<watch::FolderWatch>,
    index_path: Option<PathBuf>,
    catalog: Option<Arc<Catalog>>,
    loading_catalog: bool,
    learning: learning::Learning,
    view: View,
    /// Presenting the map full screen: the zoom factor to go back to.
    presenting: Option<f32>,
    dups: dups_view::DupsView,
    query: query_panel::QueryPanel,
    /// The window's own file picker, open when the system's dialog could not.
    picker: Option<file_picker::FilePicker>,
    /// The "Shared catalog…" dialog, while it is open.
    shared_dialog: Option<shared_dialog::SharedCatalogDialog>,
    /// A query asked for before the engine or the catalog was ready.
    waiting_input: Option<QueryInput>,
    look_alikes: results::LookAlikes,
    map: MapView,
    thumbs: Thumbs,
    status: status::Status,
    next_query: u64,
    /// The window's width at the last frame (see `keep_panel_shares`).
    window_width: f32,
}

/// Open the window (blocks until it closes).
pub fn run(config: AppConfig, renderer: eframe::Renderer) -> eframe::Result<()> {
    let options = eframe::NativeOptions {
        renderer,
        viewport: egui::ViewportBuilder::default()
            .with_title("lookalike")
            .with_app_id("lookalike")
            .with_inner_size([1400.0, 860.0])
            .with_min_inner_size([900.0, 560.0])
            .with_drag_and_drop(true),
        ..Default::default()
    };
    eframe::run_native(
        "lookalike",
        options,
        Box::new(move |cc| Ok(Box::new(LookalikeApp::new(cc, config)))),
    )
}

impl LookalikeApp {
    pub fn new(cc: &eframe::CreationContext<'_>, config: AppConfig) -> Self {
        let settings: Settings = if config.persist {
            cc.storage
                .and_then(|s| eframe::get_value(s, eframe::APP_KEY))
                .unwrap_or_default()
        } else {
            Settings::default()
        };
        cc.egui_ctx.set_theme(if settings.dark {
            egui::Theme::Dark
        } else {
            egui::Theme::Light
        });
        let (outbox, inbox) = Outbox::new(cc.egui_ctx.clone());
        let thumbs = Thumbs::new(outbox.clone());
        let mut app = LookalikeApp {
            settings,
            outbox,
            inbox,
            engine: Engine::Starting,
            engine_model: None,
            index_when_ready: false,
            folder: None,
            watch: None,
            index_path: None,
            catalog: None,
            loading_catalog: false,
            learning: learning::Learning::default(),
            view: View::LookAlikes,
            presenting: None,
            window_width: 0.0,
            dups: dups_view::DupsView::new(),
            query: query_panel::QueryPanel::default(),
            picker: None,
            shared_dialog: None,
            waiting_input: None,
            look_alikes: results::LookAlikes::default(),
            map: MapView::default(),
            thumbs,
            status: status::Status::default(),
            next_query: 0,
            config,
        };
        let start = app
            .config
            .folder
            .clone()
            .or_else(|| app.settings.last_folder.clone().filter(|p| p.is_dir()));
        if let Some(index) = app.config.index_file.clone() {
            // A password inside a postgres:// address stays in memory, out of the window's state.
            app.browse_index(crate::catalog::store_for(&index).location().to_path_buf());
            return app;
        }
        match start {
            Some(folder) => app.open_folder(folder),
            None => app.start_engine(
                app.config
                    .model
                    .clone()
                    .map(Ok)
                    .unwrap_or_else(default_model),
            ),
        }
        app
    }

    /// The open catalog, if any (tests read it).
    pub fn catalog(&self) -> Option<&Catalog> {
        self.catalog.as_deref()
    }

    /// The open catalog's map, if it has one (tests read it).
    pub fn map_points(&self) -> Option<&[[f32; 2]]> {
        self.map.points()
    }

    /// The layout the map draws now (tests read it).
    pub fn map_layout(&self) -> crate::map::MapLayout {
        self.map.shown_layout()
    }

    /// The items the grid shows (look-alikes, or a selection on the map), best first.
    pub fn grid_items(&self) -> Vec<usize> {
        self.look_alikes.hits().iter().map(|h| h.index).collect()
    }

    /// The side of the photos the map shows (None: it shows dots).
    pub fn map_photo_side(&self) -> Option<f32> {
        self.map.photo_side()
    }

    /// The map's legend and dots on screen, in points (what "Save ▸ This view as PNG" writes).
    pub fn map_area(&self) -> Option<egui::Rect> {
        self.map.shown_area()
    }

    /// Whether the map is presented full screen.
    pub fn presenting(&self) -> bool {
        self.presenting.is_some()
    }

    /// Whether the grid shows a selection made on the map.
    pub fn map_selection_shown(&self) -> bool {
        self.look_alikes.selection().is_some()
    }

    /// The head learned from the open catalog's labels, if any (tests read it).
    pub fn style(&self) -> Option<&crate::learn::StyleSpace> {
        self.learning.style().map(|s| s.as_ref())
    }

    /// How many earlier queries Back can return to.
    pub fn earlier_queries(&self) -> usize {
        self.query.earlier_count()
    }

    /// The files the last indexing run could not index, with why.
    pub fn index_failures(&self) -> &[(PathBuf, String)] {
        self.status.failures()
    }

    /// How many queries Forward can return to.
    pub fn later_queries(&self) -> usize {
        self.query.later_count()
    }

    /// The look-alikes grid as last drawn: cards a row and the thumbnails' side in points.
    pub fn grid_layout(&self) -> (usize, f32) {
        self.look_alikes.layout_shown()
    }

    /// How many catalog items the label filter keeps (None without a filter).
    pub fn filter_keeps(&self) -> Option<usize> {
        self.look_alikes.kept_count()
    }

    /// Whether background work is going on that the user would wait for.
    pub fn busy(&self) -> bool {
        matches!(self.engine, Engine::Starting)
            || self.loading_catalog
            || self.status.is_indexing()
            || self.learning.is_training()
            || self.dups.computing
            || self
                .query
                .current()
                .is_some_and(|q| q.waiting_for.is_some())
            || self.waiting_input.is_some()
            || self.watch.as_ref().is_some_and(|w| w.pending())
            || self.thumbs.pending()
    }

    /// The duplicate groups shown in the Duplicates view (empty until it has been opened).
    pub fn duplicate_groups(&self) -> &[crate::dups::Group] {
        &self.dups.groups
    }

    /// The large compare, when open: its zoom and how many of its two photos are shown.
    pub fn large_compare(&self) -> Option<(f32, usize)> {
        self.dups.large.as_ref().map(|l| {
            let shown = l
                .sides
                .iter()
                .filter(|s| matches!(s, compare::Side::Shown(..)))
                .count();
            (l.zoom, shown)
        })
    }

    /// Items marked in the Duplicates view.
    pub fn marked(&self) -> Vec<usize> {
        self.dups.marked.iter().copied().collect()
    }

    /// The message shown in the error banner.
    pub fn error(&self) -> Option<&str> {
        self.status.error()
    }

    /// How many catalog thumbnails are loaded (tests read it).
    pub fn thumbnails_loaded(&self) -> usize {
        self.thumbs.loaded()
    }

    /// Current look-alikes as (catalog item, score).
    pub fn results(&self) -> Vec<(usize, f32)> {
        self.look_alikes
            .hits()
            .iter()
            .map(|h| (h.index, h.score))
            .collect()
    }

    /// The box of the query photo searched by the user's choice (None: the whole photo and its
    /// automatic regions), in the photo's pixels.
    pub fn query_box(&self) -> Option<crate::query::Rect> {
        self.query.current().and_then(|q| q.given)
    }

    /// The kinds of item offered as regions of the query photo.
    pub fn suggested_kinds(&self) -> Vec<String> {
        self.query
            .current()
            .map(|q| q.suggestions.iter().map(|s| s.kind.clone()).collect())
            .unwrap_or_default()
    }

    /// Whether the map of an open catalog is shown and nothing is loading or indexing.
    pub fn map_is_shown(&self) -> bool {
        self.view == View::LookAlikes
            && self.settings.map_shown
            && !self.busy()
            && self
                .catalog
                .as_ref()
                .zip(self.map.map())
                .is_some_and(|(c, m)| m.len() == c.len() && !c.is_empty())
    }

    /// Move the map's view sideways by `fraction` of its width (what dragging it does).
    pub fn pan_map(&mut self, fraction: f32) {
        self.map.pan_by(fraction);
    }

    /// Zoom the map in by `factor` about the centre of its view (benchmarks).
    pub fn zoom_map(&mut self, factor: f32) {
        self.map.zoom_by(factor);
    }

    /// Where catalog item `i` is drawn on the map (for tests).
    pub fn map_position(&self, i: usize) -> Option<egui::Pos2> {
        self.map.screen_pos(i)
    }

    /// Ask for look-alikes of a photo file: what dropping it does.
    pub fn query_file(&mut self, path: PathBuf) {
        self.apply(Command::Query(QueryInput::File(path)));
    }

    /// Under each photo of the large compare: its name and colour (or file name), size and file.
    fn large_compare_captions(&self) -> [String; 2] {
        let (Some(catalog), Some(large)) = (&self.catalog, &self.dups.large) else {
            return Default::default();
        };
        large.items.map(|i| {
            let it = &catalog.items()[i];
            let title = crate::dups::product_title(catalog, i)
                .unwrap_or_else(|| it.path.display().to_string());
            format!(
                "{title}\n{} x {} · {:.1} KB · {}",
                it.width,
                it.height,
                it.size as f64 / 1024.0,
                it.path.display()
            )
        })
    }

    fn start_engine(&mut self, model: crate::Result<ModelManifest>) {
        match model {
            Ok(m) => {
                self.engine = Engine::Starting;
                self.engine_model = Some(m.clone());
                self.outbox.start_engine(m, self.config.embedder.clone());
            }
            Err(e) => self.engine = Engine::Failed(crate::error::describe(&e)),
        }
    }

    fn same_model(a: &ModelManifest, b: &ModelManifest) -> bool {
        a.name == b.name && a.pooling == b.pooling && a.resize == b.resize
    }

    /// Open an index for searching only: its folder is not scanned or indexed.
    fn browse_index(&mut self, index: PathBuf) {
        self.learning.cancel();
        self.status.cancel_indexing();
        if self.index_path.as_ref() != Some(&index) {
            self.query.forget_earlier();
            self.thumbs.clear();
            self.catalog = None;
            self.look_alikes.clear();
            self.folder = None;
        }
        self.watch = None;
        // A shared catalog's model is read with the catalog, off this thread (a server may be
        // slow to answer); the engine is restarted then if it differs.
        let model = match &self.config.model {
            Some(m) => Ok(m.clone()),
            None if crate::catalog::is_postgres_url(&index) => default_model(),
            None => model_for_index(&index, None),
        };
        self.start_engine(model);
        self.index_path = Some(index.clone());
        self.loading_catalog = true;
        self.outbox.load_catalog(index);
    }

    fn open_folder(&mut self, folder: PathBuf) {
        // A head being learned belongs to the catalog being closed.
        self.learning.cancel();
        if !folder.is_dir() {
            self.status
                .show_error(format!("{} is not a folder.", folder.display()));
            return;
        }
        // Earlier queries point at the items of the catalog being closed.
        self.query.forget_earlier();
        self.status.cancel_indexing();
        let index = index_path_for(&folder, self.config.index_dir.as_deref());
        if self.index_path.as_ref() != Some(&index) {
            self.thumbs.clear();
            self.catalog = None;
            self.look_alikes.clear();
        }
        self.settings.last_folder = Some(folder.clone());
        self.settings.opened(&folder);
        if self.watch.as_ref().is_none_or(|w| w.folder() != folder) {
            self.watch = match watch::FolderWatch::start(&folder, self.outbox.clone()) {
                Ok(w) => Some(w),
                Err(e) => {
                    log::warn!(
                        "{} is not watched (index it again to see new photos): {e}",
                        folder.display()
                    );
                    None
                }
            };
        }
        self.folder = Some(folder);
        self.index_path = Some(index.clone());
        if index.is_file() {
            self.loading_catalog = true;
            self.outbox.load_catalog(index.clone());
        }
        let model = match &self.config.model {
            Some(m) => Ok(m.clone()),
            None => model_for_index(&index, None),
        };
        match (&self.engine, &self.engine_model, &model) {
            (Engine::Ready(_), Some(current), Ok(wanted)) if Self::same_model(current, wanted) => {
                self.start_indexing()
            }
            _ => {
                self.index_when_ready = true;
                self.start_engine(model);
            }
        }
    }

    fn start_indexing(&mut self) {
        self.index_when_ready = false;
        let (Engine::Ready(embedder), Some(folder), Some(index)) =
            (&self.engine, &self.folder, &self.index_path)
        else {
            return;
        };
        let cancel = Arc::new(AtomicBool::new(false));
        self.outbox.index(
            folder.clone(),
            index.clone(),
            Arc::clone(embedder),
            Arc::clone(&cancel),
        );
        self.status.indexing_started(cancel);
    }
}

impl eframe::App for LookalikeApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        let ctx = ui.ctx().clone();
        self.receive(&ctx);
        let mut commands = Vec::new();
        self.keyboard(ui, &mut commands);
        // Changes in the watched folder are indexed once they settle.
        if let Some(w) = &mut self.watch
            && w.pending()
        {
            ctx.request_repaint_after(watch::SETTLE);
            if !self.status.is_indexing() && matches!(self.engine, Engine::Ready(_)) && w.take_due()
            {
                self.start_indexing();
            }
        }

        self.keep_panel_shares(ui);
        if self.presenting.is_none() {
            egui::Panel::top("toolbar").show(ui, |ui| self.toolbar(ui, &mut commands));
        }
        egui::Panel::bottom("status").show(ui, |ui| {
            let shown = self.status_shown();
            self.status.ui(ui, &shown, &mut commands)
        });
        match self.view {
            // Presenting: the query beside the map, the map taking the rest of the screen.
            View::LookAlikes if self.presenting.is_some() => {
                let query_width = (ui.available_width() * 0.2).clamp(240.0, 360.0);
                egui::Panel::left("query")
                    .resizable(true)
                    .default_size(query_width)
                    .show(ui, |ui| {
                        // Scrolls when the predictions and switches are taller than the window.
                        egui::ScrollArea::vertical()
                            .id_salt("query panel")
                            .auto_shrink([false, false])
                            .show(ui, |ui| self.query_panel(ui, &mut commands));
                    });
                egui::CentralPanel::default().show(ui, |ui| self.map_panel(ui, &mut commands));
            }
            View::LookAlikes => {
                // Wide enough to draw a box on the query photo, more so on large screens.
                let query_width = (ui.available_width() * 0.24).clamp(260.0, 440.0);
                egui::Panel::left("query")
                    .resizable(true)
                    .default_size(query_width)
                    .show(ui, |ui| {
                        // Scrolls when the predictions and switches are taller than the window.
                        egui::ScrollArea::vertical()
                            .id_salt("query panel")
                            .auto_shrink([false, false])
                            .show(ui, |ui| self.query_panel(ui, &mut commands));
                    });
                // The look-alikes get the larger share; the map can be dragged wider or hidden.
                if self.settings.map_shown {
                    let map_width = (ui.available_width() * 0.38).max(300.0);
                    egui::Panel::right("map")
                        .resizable(true)
                        .default_size(map_width)
                        .min_size(240.0)
                        .show(ui, |ui| self.map_panel(ui, &mut commands));
                }
                egui::CentralPanel::default().show(ui, |ui| self.results_panel(ui, &mut commands));
            }
            View::Duplicates if self.dups.large.is_some() => {
                let captions = self.large_compare_captions();
                egui::CentralPanel::default().show(ui, |ui| {
                    if let Some(large) = &mut self.dups.large {
                        large.ui(ui, captions, &mut commands)
                    }
                });
            }
            View::Duplicates => {
                egui::Panel::right("compare")
                    .resizable(true)
                    .min_size(380.0)
                    .default_size(460.0)
                    .show(ui, |ui| {
                        self.dups.compare_ui(
                            ui,
                            self.catalog.as_ref(),
                            &mut self.thumbs,
                            &mut commands,
                        )
                    });
                egui::CentralPanel::default().show(ui, |ui| {
                    self.dups
                        .groups_ui(ui, self.catalog.as_ref(), &mut self.thumbs, &mut commands)
                });
                self.dups.trash_dialog(&ctx, &mut commands);
            }
        }
        if let Some(picker) = &mut self.picker
            && let Some(picked) = picker.ui(&ctx)
        {
            commands.extend(picked);
            self.picker = None;
        }
        self.status.failures_window(&ctx, &mut commands);
        // The error floats over the panels, above the status bar: it does not push the layout.
        if self.status.error().is_some() {
            egui::Area::new(egui::Id::unique("error-banner"))
                .order(egui::Order::Foreground)
                .anchor(egui::Align2::CENTER_BOTTOM, egui::vec2(0.0, -36.0))
                .show(&ctx, |ui| {
                    egui::Frame::popup(ui.style()).show(ui, |ui| {
                        ui.set_max_width(ctx.content_rect().width() * 0.7);
                        self.status.error_ui(ui, &mut commands)
                    })
                });
        }
        if let Some(dialog) = &mut self.shared_dialog
            && let Some(done) = dialog.ui(&ctx)
        {
            commands.extend(done);
            self.shared_dialog = None;
        }

        if ui.input(|i| !i.raw.hovered_files.is_empty()) {
            let painter = ctx.layer_painter(egui::LayerId::new(
                egui::Order::Foreground,
                egui::Id::unique("drop-overlay"),
            ));
            let rect = ctx.content_rect();
            painter.rect_filled(rect, 0.0, Color32::from_black_alpha(160));
            painter.text(
                rect.center(),
                egui::Align2::CENTER_CENTER,
                "Drop a photo to find its look-alikes",
                egui::FontId::proportional(28.0),
                Color32::WHITE,
            );
        }
        for cmd in commands {
            self.apply(cmd);
        }
        if self.busy() {
            ctx.request_repaint_after(Duration::from_millis(100));
        }
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        if self.config.persist {
            eframe::set_value(storage, eframe::APP_KEY, &self.settings);
        }
    }
}

/// The renderer from `$LOOKALIKE_RENDERER` (glow or wgpu); glow by default (see README).
pub fn renderer_from_env() -> eframe::Renderer {
    match std::env::var("LOOKALIKE_RENDERER").as_deref() {
        Ok("wgpu") => eframe::Renderer::Wgpu,
        _ => eframe::Renderer::Glow,
    }
}
