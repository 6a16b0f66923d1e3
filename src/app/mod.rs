//! The window: drop a photo, see its look-alikes with scores beside the catalog's map.
//!
//! The UI thread owns this state and never blocks: model loading, indexing, queries, thumbnails and
//! file dialogs run on named threads ([`jobs`]) that report back over a channel. The UI collects
//! [`Command`]s while drawing and applies them after.

mod jobs;
mod map_view;
mod results;
mod settings;
mod thumbs;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;
use egui::{Color32, Key, Modifiers, RichText, TextureHandle, TextureOptions};

use crate::catalog::{Catalog, Progress, model_for_index};
use crate::embed::Embedder;
use crate::model::{ModelManifest, default_model};
use crate::search::Hit;
pub use jobs::QueryInput;
use jobs::{Msg, Outbox, QueryOutcome, index_path_for};
use map_view::{MapView, Marks};
use settings::Settings;
use thumbs::Thumbs;

/// How often the catalog is reloaded while indexing, so new items become searchable.
const RELOAD_WHILE_INDEXING: Duration = Duration::from_millis(2500);

/// How the window starts.
#[derive(Debug, Clone, Default)]
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
    /// Pan the map every frame for this many frames, print the frame rate, and close (measurement).
    pub pan_frames: Option<u64>,
}

/// Things the UI asks for while drawing; applied after the frame is laid out.
#[derive(Debug)]
pub enum Command {
    OpenFolder(PathBuf),
    PickFolder,
    PickPhoto,
    Paste,
    PasteText(String),
    Query(QueryInput),
    QueryItem(usize),
    QuerySelectedResult(usize),
    Select(Option<usize>),
    Requery,
    Clear,
    CancelIndexing,
    Open(PathBuf),
    DismissError,
}

enum Engine {
    Starting,
    Ready(Arc<Embedder>),
    Failed(String),
}

struct Query {
    /// What the user asked with, in words ("shirt.jpg", "pasted image", an item's label).
    title: String,
    preview: Option<TextureHandle>,
    vector: Option<Arc<Vec<f32>>>,
    own_item: Option<usize>,
    waiting_for: Option<u64>,
    embed_ms: f64,
    search_ms: f64,
}

struct Indexing {
    progress: Progress,
    cancel: Arc<AtomicBool>,
    started: Instant,
    last_reload: Instant,
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
    index_path: Option<PathBuf>,
    catalog: Option<Arc<Catalog>>,
    loading_catalog: bool,
    indexing: Option<Indexing>,
    last_index_note: Option<String>,
    query: Option<Query>,
    /// A query asked for before the engine or the catalog was ready.
    waiting_input: Option<QueryInput>,
    results: Vec<Hit>,
    selected: Option<usize>,
    hovered_in_grid: Option<usize>,
    hovered_on_map: Option<usize>,
    filter: String,
    filter_id: egui::Id,
    map: MapView,
    thumbs: Thumbs,
    error: Option<String>,
    next_query: u64,
    /// Frames panned so far and when the panning started (see `AppConfig::pan_frames`).
    panned: (u64, Option<Instant>),
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
            index_path: None,
            catalog: None,
            loading_catalog: false,
            indexing: None,
            last_index_note: None,
            query: None,
            waiting_input: None,
            results: Vec::new(),
            selected: None,
            hovered_in_grid: None,
            hovered_on_map: None,
            filter: String::new(),
            filter_id: egui::Id::unique("label-filter"),
            map: MapView::default(),
            thumbs,
            error: None,
            next_query: 0,
            panned: (0, None),
            config,
        };
        let start = app
            .config
            .folder
            .clone()
            .or_else(|| app.settings.last_folder.clone().filter(|p| p.is_dir()));
        if let Some(index) = app.config.index_file.clone() {
            app.browse_index(index);
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

    /// Whether background work is going on that the user would wait for.
    pub fn busy(&self) -> bool {
        matches!(self.engine, Engine::Starting)
            || self.loading_catalog
            || self.indexing.is_some()
            || self.query.as_ref().is_some_and(|q| q.waiting_for.is_some())
            || self.waiting_input.is_some()
    }

    /// The message shown in the error banner.
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    /// Current look-alikes as (catalog item, score).
    pub fn results(&self) -> Vec<(usize, f32)> {
        self.results.iter().map(|h| (h.index, h.score)).collect()
    }

    /// Where catalog item `i` is drawn on the map (for tests).
    pub fn map_position(&self, i: usize) -> Option<egui::Pos2> {
        self.map.screen_pos(self.catalog.as_deref()?, i)
    }

    /// Ask for look-alikes of a photo file: what dropping it does.
    pub fn query_file(&mut self, path: PathBuf) {
        self.apply(Command::Query(QueryInput::File(path)));
    }

    fn start_engine(&mut self, model: crate::Result<ModelManifest>) {
        match model {
            Ok(m) => {
                self.engine = Engine::Starting;
                self.engine_model = Some(m.clone());
                self.outbox.start_engine(m);
            }
            Err(e) => self.engine = Engine::Failed(e.to_string()),
        }
    }

    fn same_model(a: &ModelManifest, b: &ModelManifest) -> bool {
        a.name == b.name && a.pooling == b.pooling && a.resize == b.resize
    }

    /// Open an index for searching only: its folder is not scanned or indexed.
    fn browse_index(&mut self, index: PathBuf) {
        let model = match &self.config.model {
            Some(m) => Ok(m.clone()),
            None => model_for_index(&index, None),
        };
        self.start_engine(model);
        self.index_path = Some(index.clone());
        self.loading_catalog = true;
        self.outbox.load_catalog(index);
    }

    fn open_folder(&mut self, folder: PathBuf) {
        if !folder.is_dir() {
            self.error = Some(format!("{} is not a folder.", folder.display()));
            return;
        }
        if let Some(ix) = self.indexing.take() {
            ix.cancel.store(true, Ordering::Relaxed);
        }
        let index = index_path_for(&folder, self.config.index_dir.as_deref());
        if self.index_path.as_ref() != Some(&index) {
            self.thumbs.clear();
            self.catalog = None;
            self.results.clear();
            self.selected = None;
        }
        self.settings.last_folder = Some(folder.clone());
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
        let now = Instant::now();
        self.indexing = Some(Indexing {
            progress: Progress::default(),
            cancel,
            started: now,
            last_reload: now,
        });
    }

    fn receive(&mut self, ctx: &egui::Context) {
        while let Ok(msg) = self.inbox.try_recv() {
            match msg {
                Msg::Engine { model, result } => {
                    if !self
                        .engine_model
                        .as_ref()
                        .is_some_and(|m| Self::same_model(m, &model))
                    {
                        continue; // an older request
                    }
                    match result {
                        Ok(e) => {
                            self.engine = Engine::Ready(e);
                            if self.index_when_ready {
                                self.start_indexing();
                            }
                            if let Some(input) = self.waiting_input.take() {
                                self.apply(Command::Query(input));
                            }
                        }
                        Err(e) => {
                            self.engine = Engine::Failed(e);
                            self.waiting_input = None;
                        }
                    }
                }
                Msg::Catalog { index, result } => {
                    if self.index_path.as_ref() != Some(&index) {
                        continue;
                    }
                    self.loading_catalog = false;
                    match result {
                        Ok(cat) => self.catalog_loaded(cat),
                        Err(e) => self.error = Some(e),
                    }
                }
                Msg::IndexProgress(p) => {
                    if let Some(ix) = &mut self.indexing {
                        ix.progress = p;
                        if ix.last_reload.elapsed() > RELOAD_WHILE_INDEXING
                            && !self.loading_catalog
                            && p.done > 0
                        {
                            ix.last_reload = Instant::now();
                            if let Some(index) = &self.index_path {
                                self.loading_catalog = true;
                                self.outbox.load_catalog(index.clone());
                            }
                        }
                    }
                }
                Msg::IndexDone(result) => {
                    self.indexing = None;
                    match result {
                        Ok(r) => {
                            self.last_index_note = (!r.failures.is_empty()).then(|| {
                                format!(
                                    "{} files could not be indexed (first: {}: {})",
                                    r.failures.len(),
                                    r.failures[0].0.display(),
                                    r.failures[0].1
                                )
                            });
                            if let Some(index) = &self.index_path {
                                self.loading_catalog = true;
                                self.outbox.load_catalog(index.clone());
                            }
                        }
                        Err(e) => self.error = Some(format!("Indexing failed: {e}")),
                    }
                }
                Msg::Query { id, result } => self.query_done(ctx, id, result),
                Msg::Thumb { id, image } => {
                    if let Some(img) = image {
                        self.thumbs.arrived(ctx, id, img);
                    }
                }
                Msg::PickedFolder(p) => self.apply(Command::OpenFolder(p)),
                Msg::PickedPhoto(p) => self.apply(Command::Query(QueryInput::File(p))),
            }
        }
    }

    fn catalog_loaded(&mut self, cat: Arc<Catalog>) {
        // Queries must be embedded exactly as the catalog was.
        if self.config.model.is_none()
            && let Ok(wanted) = cat.query_model()
            && !self
                .engine_model
                .as_ref()
                .is_some_and(|m| Self::same_model(m, &wanted))
            && self.indexing.is_none()
        {
            self.start_engine(Ok(wanted));
        }
        let requery = self
            .query
            .as_ref()
            .and_then(|q| q.vector.clone().map(|v| (v, q.own_item)));
        self.catalog = Some(cat);
        if let Some(input) = self.waiting_input.take() {
            self.apply(Command::Query(input));
        } else if let Some((v, own)) = requery {
            self.apply(Command::Query(QueryInput::Again(v, own)));
        }
    }

    fn query_done(&mut self, ctx: &egui::Context, id: u64, result: Result<QueryOutcome, String>) {
        let Some(q) = &mut self.query else { return };
        if q.waiting_for != Some(id) {
            return; // superseded by a newer query
        }
        q.waiting_for = None;
        match result {
            Ok(out) => {
                if let Some(img) = out.preview {
                    q.preview = Some(ctx.load_texture("query-photo", img, TextureOptions::LINEAR));
                }
                q.vector = Some(out.vector);
                q.own_item = out.own_item;
                if let Some(ms) = out.embed_ms {
                    q.embed_ms = ms;
                }
                q.search_ms = out.search_ms;
                self.results = out.hits;
                self.selected = None;
            }
            Err(e) => {
                self.error = Some(e);
                self.results.clear();
            }
        }
    }

    fn apply(&mut self, cmd: Command) {
        match cmd {
            Command::OpenFolder(p) => self.open_folder(p),
            Command::PickFolder => self.outbox.pick_folder(),
            Command::PickPhoto => self.outbox.pick_photo(),
            Command::Paste => self.paste(),
            Command::PasteText(text) => match path_from_text(&text) {
                Some(path) => self.run_query(QueryInput::File(path)),
                None => self.error = Some(NOTHING_TO_PASTE.into()),
            },
            Command::Query(input) => self.run_query(input),
            Command::QueryItem(i) => self.run_query(QueryInput::Item(i)),
            Command::QuerySelectedResult(rank) => {
                if let Some(h) = self.results.get(rank) {
                    self.run_query(QueryInput::Item(h.index));
                }
            }
            Command::Select(s) => self.selected = s,
            Command::Requery => {
                if let Some((v, own)) = self
                    .query
                    .as_ref()
                    .and_then(|q| q.vector.clone().map(|v| (v, q.own_item)))
                {
                    self.run_query(QueryInput::Again(v, own));
                }
            }
            Command::Clear => {
                self.query = None;
                self.results.clear();
                self.selected = None;
            }
            Command::CancelIndexing => {
                if let Some(ix) = &self.indexing {
                    ix.cancel.store(true, Ordering::Relaxed);
                }
            }
            Command::Open(p) => {
                if let Err(e) = open::that_detached(&p) {
                    self.error = Some(format!("Cannot open {}: {e}", p.display()));
                }
            }
            Command::DismissError => self.error = None,
        }
    }

    fn run_query(&mut self, input: QueryInput) {
        self.error = None;
        let title = match &input {
            QueryInput::File(p) => p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            QueryInput::Pixels(_) => "pasted image".to_string(),
            QueryInput::Item(i) => self
                .catalog
                .as_ref()
                .and_then(|c| {
                    c.items
                        .get(*i)
                        .map(|it| format!("{} ({})", c.label(*i), it.path.display()))
                })
                .unwrap_or_default(),
            QueryInput::Again(..) => self
                .query
                .as_ref()
                .map(|q| q.title.clone())
                .unwrap_or_default(),
        };
        let keep_preview = matches!(input, QueryInput::Again(..));
        let preview = match (&input, &self.catalog) {
            (QueryInput::Again(..), _) => self.query.as_ref().and_then(|q| q.preview.clone()),
            (QueryInput::Item(i), Some(c)) => c
                .items
                .get(*i)
                .and_then(|it| self.thumbs.get(&c.index_path, it.id).cloned()),
            _ => None,
        };
        let (old_embed, old_vector) = match (&self.query, keep_preview) {
            (Some(q), true) => (q.embed_ms, q.vector.clone()),
            _ => (0.0, None),
        };
        self.next_query += 1;
        let id = self.next_query;
        self.query = Some(Query {
            title,
            preview,
            vector: old_vector,
            own_item: None,
            waiting_for: Some(id),
            embed_ms: old_embed,
            search_ms: 0.0,
        });
        let (Engine::Ready(embedder), Some(catalog)) = (&self.engine, &self.catalog) else {
            match &self.engine {
                Engine::Failed(e) => {
                    self.error = Some(e.clone());
                    self.query = None;
                }
                _ if self.catalog.is_none() && !self.loading_catalog && self.indexing.is_none() => {
                    self.error = Some(
                        "Open a catalog first: its items are what the look-alikes are chosen from."
                            .into(),
                    );
                    self.query = None;
                }
                _ => self.waiting_input = Some(input),
            }
            return;
        };
        self.outbox.query(
            id,
            input,
            Arc::clone(embedder),
            Arc::clone(catalog),
            self.settings.k,
            self.filter.clone(),
        );
    }

    /// Ctrl+V: an image copied from a web page, or a copied photo file.
    fn paste(&mut self) {
        let mut clipboard = match arboard::Clipboard::new() {
            Ok(c) => c,
            Err(e) => {
                self.error = Some(format!("The clipboard is not available: {e}"));
                return;
            }
        };
        if let Ok(img) = clipboard.get_image() {
            let rgb = rgba_on_white(img.width, img.height, &img.bytes, false);
            self.run_query(QueryInput::Pixels(Arc::new(rgb)));
            return;
        }
        if let Ok(text) = clipboard.get_text()
            && let Some(path) = path_from_text(&text)
        {
            self.run_query(QueryInput::File(path));
            return;
        }
        self.error = Some(NOTHING_TO_PASTE.into());
    }

    fn keyboard(&mut self, ui: &egui::Ui, commands: &mut Vec<Command>) {
        let (open, paste, find, escape) = ui.input_mut(|i| {
            (
                i.consume_key(Modifiers::COMMAND, Key::O),
                i.consume_key(Modifiers::COMMAND, Key::V),
                i.consume_key(Modifiers::COMMAND, Key::F),
                i.key_pressed(Key::Escape),
            )
        });
        // The window system turns Ctrl+V into paste events: an image, or text (a copied file's path).
        let filter_focused = ui.ctx().memory(|m| m.has_focus(self.filter_id));
        for event in ui.input(|i| i.events.clone()) {
            match event {
                egui::Event::PasteImage(img) => {
                    commands.push(Command::Query(QueryInput::Pixels(Arc::new(on_white(&img)))))
                }
                egui::Event::Paste(text) if !filter_focused => {
                    commands.push(Command::PasteText(text))
                }
                _ => {}
            }
        }
        if open {
            commands.push(Command::PickPhoto);
        }
        if paste {
            commands.push(Command::Paste);
        }
        if find {
            ui.ctx().memory_mut(|m| m.request_focus(self.filter_id));
        }
        if escape {
            if ui.ctx().memory(|m| m.has_focus(self.filter_id)) {
                ui.ctx().memory_mut(|m| m.surrender_focus(self.filter_id));
            } else if self.selected.is_some() {
                commands.push(Command::Select(None));
            } else {
                commands.push(Command::Clear);
            }
        }
        for f in ui.input(|i| i.raw.dropped_files.clone()) {
            commands.push(Command::Query(QueryInput::File(f.path().to_path_buf())));
        }
    }
}

const NOTHING_TO_PASTE: &str = "The clipboard holds no image. Copy an image (right-click it on a web page, Copy Image), or a photo file, then press Ctrl+V.";

/// A pasted image as RGB on white (product photos sit on white).
fn on_white(img: &egui::ColorImage) -> image::RgbImage {
    let bytes: Vec<u8> = img.pixels.iter().flat_map(|c| c.to_array()).collect();
    rgba_on_white(img.size[0], img.size[1], &bytes, true)
}

/// RGBA bytes (alpha premultiplied or not) composited on white.
fn rgba_on_white(width: usize, height: usize, rgba: &[u8], premultiplied: bool) -> image::RgbImage {
    let mut out = image::RgbImage::new(width as u32, height as u32);
    for (o, p) in out.pixels_mut().zip(rgba.chunks_exact(4)) {
        let a = p[3] as u32;
        let c = |v: u8| {
            let v = if premultiplied {
                v as u32
            } else {
                v as u32 * a / 255
            };
            (v + 255 - a).min(255) as u8
        };
        *o = image::Rgb([c(p[0]), c(p[1]), c(p[2])]);
    }
    out
}

/// A photo path from pasted text: a plain path or a `file://` URI.
fn path_from_text(text: &str) -> Option<PathBuf> {
    let line = text.lines().next()?.trim();
    let p = PathBuf::from(line.strip_prefix("file://").unwrap_or(line));
    (p.is_file() && crate::catalog::is_photo_name(&p)).then_some(p)
}

impl eframe::App for LookalikeApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        let ctx = ui.ctx().clone();
        self.receive(&ctx);
        let mut commands = Vec::new();
        self.keyboard(ui, &mut commands);

        egui::Panel::top("toolbar").show(ui, |ui| self.toolbar(ui, &mut commands));
        egui::Panel::bottom("status").show(ui, |ui| self.status_bar(ui, &mut commands));
        if let Some(e) = self.error.clone() {
            egui::Panel::top("error").show(ui, |ui| {
                ui.horizontal(|ui| {
                    ui.colored_label(Color32::from_rgb(255, 110, 100), RichText::new(&e).strong());
                    if ui.small_button("Dismiss").clicked() {
                        commands.push(Command::DismissError);
                    }
                });
            });
        }
        egui::Panel::left("query")
            .resizable(true)
            .default_size(260.0)
            .show(ui, |ui| self.query_panel(ui, &mut commands));
        let map_width = (ui.available_width() * 0.42).max(320.0);
        egui::Panel::right("map")
            .resizable(true)
            .default_size(map_width)
            .show(ui, |ui| self.map_panel(ui, &mut commands));
        egui::CentralPanel::default().show(ui, |ui| self.results_panel(ui, &mut commands));

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
        self.pan_measurement(&ctx);
        if self.busy() {
            ctx.request_repaint_after(Duration::from_millis(100));
        }
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        if self.config.pan_frames.is_some() {
            return;
        }
        if self.config.persist {
            eframe::set_value(storage, eframe::APP_KEY, &self.settings);
        }
    }
}

impl LookalikeApp {
    /// Pan the map each frame once the catalog is shown; report frames per second at the end.
    fn pan_measurement(&mut self, ctx: &egui::Context) {
        let Some(frames) = self.config.pan_frames else {
            return;
        };
        if self.catalog.as_ref().is_none_or(|c| c.map.is_empty()) || self.busy() {
            return;
        }
        let (done, start) = &mut self.panned;
        let start = *start.get_or_insert_with(Instant::now);
        *done += 1;
        self.map.pan_by(0.004);
        if *done == frames {
            let secs = start.elapsed().as_secs_f64();
            let points = self.catalog.as_ref().map(|c| c.len()).unwrap_or(0);
            println!(
                "map panning: {frames} frames with {points} points in {secs:.2} s = {:.1} frames/s",
                frames as f64 / secs
            );
            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
        }
        ctx.request_repaint();
    }

    fn toolbar(&mut self, ui: &mut egui::Ui, commands: &mut Vec<Command>) {
        ui.horizontal(|ui| {
            ui.heading("lookalike");
            ui.separator();
            if ui
                .button("Open catalog…")
                .on_hover_text("Index a folder of photos")
                .clicked()
            {
                commands.push(Command::PickFolder);
            }
            if let Some(demo) = crate::paths::demo_catalog()
                && self.folder.as_deref() != Some(demo.as_path())
                && ui
                    .button("Demo catalog")
                    .on_hover_text(demo.display().to_string())
                    .clicked()
            {
                commands.push(Command::OpenFolder(demo));
            }
            if ui.button("Photo… (Ctrl+O)").clicked() {
                commands.push(Command::PickPhoto);
            }
            if ui.button("Paste (Ctrl+V)").clicked() {
                commands.push(Command::Paste);
            }
            ui.separator();
            let filter_label = ui.label("Filter:");
            let edit = egui::TextEdit::singleline(&mut self.filter)
                .id(self.filter_id)
                .hint_text("label (Ctrl+F)")
                .desired_width(140.0);
            if ui.add(edit).labelled_by(filter_label.id).changed() {
                commands.push(Command::Requery);
            }
            ui.separator();
            let k = ui.add(
                egui::Slider::new(&mut self.settings.k, settings::MIN_K..=settings::MAX_K)
                    .text("look-alikes"),
            );
            if k.drag_stopped() || (k.changed() && !k.dragged()) {
                commands.push(Command::Requery);
            }
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                let icon = if self.settings.dark {
                    "Light theme"
                } else {
                    "Dark theme"
                };
                if ui.button(icon).clicked() {
                    self.settings.dark = !self.settings.dark;
                    ui.ctx().set_theme(if self.settings.dark {
                        egui::Theme::Dark
                    } else {
                        egui::Theme::Light
                    });
                }
            });
        });
    }

    fn status_bar(&mut self, ui: &mut egui::Ui, commands: &mut Vec<Command>) {
        ui.horizontal(|ui| {
            match (&self.engine, &self.engine_model) {
                (Engine::Ready(e), _) => ui.label(format!("Model: {}", e.manifest().label())),
                (Engine::Starting, Some(m)) => ui.label(format!("Loading {}…", m.label())),
                (Engine::Starting, None) => ui.label("Loading the model…"),
                (Engine::Failed(_), _) => {
                    ui.colored_label(Color32::from_rgb(255, 110, 100), "No model")
                }
            };
            ui.separator();
            match (&self.catalog, &self.folder) {
                (Some(c), _) => {
                    let name = c
                        .root
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    ui.label(format!("{} items in {name}", c.len()))
                        .on_hover_text(c.root.display().to_string())
                }
                (None, Some(f)) => ui.label(format!("Opening {}…", f.display())),
                (None, None) => ui.label("No catalog"),
            };
            if let Some(q) = &self.query
                && q.waiting_for.is_none()
            {
                ui.separator();
                ui.label(format!(
                    "Query: embed {:.0} ms, search {:.1} ms",
                    q.embed_ms, q.search_ms
                ));
            }
            if let Some(ix) = &self.indexing {
                ui.separator();
                let p = ix.progress;
                let secs = ix.started.elapsed().as_secs_f64();
                let rate = p.done as f64 / secs.max(1e-3);
                let eta = if rate > 0.0 {
                    (p.total - p.done) as f64 / rate
                } else {
                    0.0
                };
                let frac = if p.total > 0 {
                    p.done as f32 / p.total as f32
                } else {
                    0.0
                };
                ui.add(
                    egui::ProgressBar::new(frac)
                        .desired_width(220.0)
                        .text(format!(
                            "Indexing {}/{} · {rate:.0}/s · ETA {eta:.0} s",
                            p.done, p.total
                        )),
                );
                if ui.button("Cancel").clicked() {
                    commands.push(Command::CancelIndexing);
                }
            } else if let Some(note) = &self.last_index_note {
                ui.separator();
                ui.colored_label(Color32::from_rgb(230, 180, 80), note);
            }
        });
    }

    fn query_panel(&mut self, ui: &mut egui::Ui, commands: &mut Vec<Command>) {
        ui.heading("Query");
        if let Engine::Failed(e) = &self.engine {
            ui.colored_label(
                Color32::from_rgb(255, 110, 100),
                format!("The model could not be loaded: {e}"),
            );
            return;
        }
        match &self.query {
            None => {
                ui.label("Drop a photo here, press Ctrl+O to pick one, or Ctrl+V to paste an image copied from a shop's web page.");
                ui.label("Double-click a look-alike or a map point to search from it.");
            }
            Some(q) => {
                ui.label(RichText::new(&q.title).strong()).widget_info(|| {
                    egui::WidgetInfo::labeled(
                        egui::Role::Label,
                        true,
                        format!("Query: {}", q.title),
                    )
                });
                if let Some(t) = &q.preview {
                    ui.add(
                        egui::Image::from_texture(t)
                            .max_size(egui::vec2(ui.available_width(), 320.0)),
                    );
                }
                if q.waiting_for.is_some() {
                    ui.horizontal(|ui| {
                        ui.spinner();
                        ui.label("Finding look-alikes…");
                    });
                } else if let Some(c) = &self.catalog {
                    ui.label(format!(
                        "{} look-alikes among {} items",
                        self.results.len(),
                        c.len()
                    ));
                }
                if ui.button("Clear (Esc)").clicked() {
                    commands.push(Command::Clear);
                }
            }
        }
        if let (Some(rank), Some(c)) = (self.selected, &self.catalog)
            && let Some(h) = self.results.get(rank)
        {
            ui.separator();
            let item = &c.items[h.index];
            ui.label(RichText::new(format!("Selected: #{} · {:.3}", rank + 1, h.score)).strong());
            for (k, v) in &item.labels {
                ui.label(format!("{k}: {v}"));
            }
            ui.weak(c.abs_path(h.index).display().to_string());
            ui.label("Enter or double-click: find its look-alikes");
        }
    }

    fn results_panel(&mut self, ui: &mut egui::Ui, commands: &mut Vec<Command>) {
        let Some(catalog) = self.catalog.clone() else {
            ui.vertical_centered(|ui| {
                ui.add_space(ui.available_height() / 3.0);
                if self.folder.is_some() {
                    ui.spinner();
                    ui.label("Indexing the catalog: items appear here as they are ready.");
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
            });
            return;
        };
        if self.results.is_empty() {
            ui.vertical_centered(|ui| {
                ui.add_space(ui.available_height() / 3.0);
                ui.heading("Drop a photo to find its look-alikes");
                ui.label(format!(
                    "{} items in the catalog. Or double-click any point of the map.",
                    catalog.len()
                ));
            });
            return;
        }
        results::keyboard(ui, self.results.len(), self.selected, commands);
        let linked = self.hovered_on_map;
        self.hovered_in_grid = results::grid(
            ui,
            &catalog,
            &self.results,
            self.selected,
            linked,
            &mut self.thumbs,
            commands,
        );
    }

    fn map_panel(&mut self, ui: &mut egui::Ui, commands: &mut Vec<Command>) {
        ui.horizontal(|ui| {
            ui.heading("Map");
            ui.weak("PCA of all embeddings · drag to pan · scroll to zoom · double-click empty space to reset");
        });
        let Some(catalog) = self.catalog.clone() else {
            ui.label("The map of the catalog appears here.");
            return;
        };
        let results: Vec<usize> = self.results.iter().map(|h| h.index).collect();
        let query_point = self
            .query
            .as_ref()
            .and_then(|q| q.vector.as_ref())
            .zip(catalog.projection.as_ref())
            .map(|(v, p)| p.project(v));
        let selected = self
            .selected
            .and_then(|r| self.results.get(r))
            .map(|h| h.index);
        let marks = Marks {
            results: &results,
            query: query_point,
            linked: self.hovered_in_grid,
            selected,
        };
        let events = self.map.show(ui, &catalog, &marks, &mut self.thumbs);
        self.hovered_on_map = events.hovered;
        if let Some(i) = events.double_clicked {
            commands.push(Command::QueryItem(i));
        } else if let Some(i) = events.clicked {
            match self.results.iter().position(|h| h.index == i) {
                Some(rank) => commands.push(Command::Select(Some(rank))),
                None => commands.push(Command::QueryItem(i)),
            }
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
