//! Commands from the UI, applied after the frame is laid out: queries, folders, toggles, training.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use super::file_picker::Purpose;
use super::input::path_from_text;
use super::jobs::Msg;
use super::query_panel::Query;
use super::{Engine, LookalikeApp, QueryInput, View};
use crate::query::LookupOptions;

/// Things the UI asks for while drawing; applied after the frame is laid out.
#[derive(Debug)]
pub enum Command {
    OpenFolder(PathBuf),
    /// Open the "Shared catalog…" dialog.
    AskSharedCatalog,
    /// Browse a catalog as it is, without indexing a folder: a shared catalog's postgres:// address.
    BrowseIndex(PathBuf),
    PickFolder,
    PickPhoto,
    Paste,
    PasteText(String),
    Query(QueryInput),
    QueryItem(usize),
    QuerySelectedResult(usize),
    Select(Option<usize>),
    Requery,
    /// Search the query's photo in this box (None: the whole photo and its automatic regions).
    SearchRegion(Option<crate::query::Rect>),
    Clear,
    CancelIndexing,
    Open(PathBuf),
    DismissError,
    /// Learn a head from the catalog's labels.
    TrainHead,
    SetStyleAware(bool),
    /// Weight of colour in the ranking (0 shape only, 1 colour only); the caller asks to requery.
    SetColour(f32),
    SetSameCategory(bool),
    /// Keep results to this category of the head's first column (None: the predicted one); turns
    /// the category filter on.
    ChooseCategory(Option<String>),
    ShowView(View),
    /// Mark or unmark a catalog item in the Duplicates view.
    ToggleMark(usize),
    /// Add an item to the side-by-side compare (the oldest of two leaves).
    Compare(usize),
    PickExportFile,
    /// Write the marked items as CSV to this file.
    ExportMarked(PathBuf),
    /// Ask to move the marked files to the trash (refused for the last copy of a group).
    TrashMarked,
    ConfirmTrash,
    CancelTrash,
    /// The members of this group are not duplicates of its keeper: never grouped again (kept in
    /// the index).
    NotDuplicates(usize),
    /// Mark every item of these groups but the keeper.
    MarkAllButKeeper(Vec<usize>),
    /// Mark every item of every group but the one `Keep` chooses (a preview: nothing moves yet).
    MarkByRule(crate::dups::Keep),
    /// Put back the files of the last move to the trash.
    UndoTrash,
    /// The two compared items large, zoomed and panned together.
    OpenLargeCompare,
    CloseLargeCompare,
    /// Show the pairs kept apart (said not to be duplicates) instead of the groups, or back.
    ShowKeptApart(bool),
    /// Take back "not duplicates" for this pair: it may be grouped again.
    NotApartAnyMore(usize, usize),
    /// Measure the open catalog's candidate duplicate pairs (once per catalog).
    FindDuplicates,
    SetDuplicateThreshold(f32),
    SetDarkTheme(bool),
    /// Back to the query before this one (its photo and region).
    Back,
    /// Forward again to the query Back left.
    Forward,
    /// Keep the look-alikes to the items this filter text keeps (see [`crate::query::LabelFilter`]).
    SetFilter(String),
    /// The cards' size against the size that fits the window.
    SetCardZoom(f32),
    /// The label columns cards show under their titles.
    SetCardFields(Vec<String>),
    ShowMap(bool),
    /// Lay the map out another way.
    SetMapLayout(crate::map::MapLayout),
    /// Make the neighbourhood layout of the open catalog, in the background.
    LayOut,
    /// Show these items, selected on the map (a lasso, or the caption named), in the grid.
    SelectOnMap(Vec<usize>, Option<String>),
    ClearMapSelection,
    /// Write the map as it is shown to a new file in the exports folder.
    ExportMap(super::map_export::MapExport),
    /// Show the map full screen with the query, in large text (or back to the usual window).
    Present(bool),
    /// List the files the last indexing run could not index.
    ShowIndexFailures,
    /// Index the open folder again (after fixing the files that could not be indexed).
    Reindex,
}

/// Text and photos are this much larger while presenting, for a projector.
const PRESENT_ZOOM: f32 = 1.4;

impl LookalikeApp {
    /// The grid shows `items`, selected on the map, with their labels counted.
    fn select_on_map(&mut self, items: Vec<usize>, name: Option<String>) {
        use super::map_selection::{SHOWN_AT_MOST, Selection, label_counts, ranked};
        let Some(catalog) = self.catalog.clone() else {
            return;
        };
        let items: Vec<usize> = items.into_iter().filter(|&i| i < catalog.len()).collect();
        if items.is_empty() {
            return;
        }
        let query = self
            .query
            .current()
            .and_then(|q| q.regions.as_ref().and_then(|r| r.get(q.lead)).cloned());
        let mut hits = ranked(
            &catalog,
            &items,
            query.as_ref().map(|r| r.vector.as_slice()),
        );
        hits.truncate(SHOWN_AT_MOST);
        let selection = Selection {
            title: name.unwrap_or_else(|| "a lasso".into()),
            total: items.len(),
            counts: label_counts(&catalog, &items, 6),
            by_query: query.is_some(),
            saved: Default::default(),
        };
        self.look_alikes.show_selection(selection, hits);
    }

    /// Write the map as shown to a new file in the exports folder; the status bar names it.
    fn export_map(&mut self, kind: super::map_export::MapExport) {
        use super::map_export::{MapExport, export_dir, new_file, write_png, write_svg};
        let Some(catalog) = &self.catalog else { return };
        let Some(dir) = export_dir(self.config.export_dir.as_deref()) else {
            self.status
                .show_error("The map could not be saved: there is no home folder to save it in.");
            return;
        };
        let name = catalog
            .root()
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "catalog".into());
        let path = new_file(&dir, &name, kind);
        match kind {
            MapExport::Png => {
                let Some(area) = self.map.shown_area().filter(|_| self.settings.map_shown) else {
                    self.status
                        .show_error("Show the map first (View ▸ Map), then save it.");
                    return;
                };
                let ctx = self.outbox.ctx().clone();
                let ppp = ctx.pixels_per_point();
                let outbox = self.outbox.clone();
                ctx.send_viewport_cmd(egui::ViewportCommand::Screenshot(
                    egui::ScreenshotCallback::new(move |shot| {
                        let done = write_png(&shot, area, ppp, &path).map(|_| path);
                        outbox.send(Msg::MapExported(done));
                    }),
                ));
            }
            MapExport::Svg => {
                let done = match self.map.svg(self.settings.dark) {
                    Some(text) => write_svg(&text, &path).map(|_| path),
                    None => Err("the map is not shown yet".into()),
                };
                self.outbox.send(Msg::MapExported(done));
            }
        }
    }

    /// Present the map: full screen, the map with the query, everything larger; or back.
    fn present(&mut self, on: bool) {
        if self.presenting.is_some() == on {
            return;
        }
        let ctx = self.outbox.ctx().clone();
        if on {
            self.presenting = Some(ctx.zoom_factor());
            ctx.set_zoom_factor(ctx.zoom_factor() * PRESENT_ZOOM);
            self.settings.map_shown = true;
        } else if let Some(zoom) = self.presenting.take() {
            ctx.set_zoom_factor(zoom);
        }
        ctx.send_viewport_cmd(egui::ViewportCommand::Fullscreen(on));
    }

    pub(super) fn apply(&mut self, cmd: Command) {
        match cmd {
            Command::OpenFolder(p) => self.open_folder(p),
            Command::AskSharedCatalog => {
                let last = self
                    .index_path
                    .as_ref()
                    .filter(|p| crate::catalog::is_postgres_url(p))
                    .or(self.settings.last_shared.as_ref())
                    .map(|p| p.display().to_string());
                self.shared_dialog = Some(super::shared_dialog::SharedCatalogDialog::new(last));
            }
            Command::BrowseIndex(p) => {
                // The address without its password from here on (it stays in memory only).
                let location = crate::catalog::store_for(&p).location().to_path_buf();
                if crate::catalog::is_postgres_url(&location) {
                    self.settings.last_shared = Some(location.clone());
                }
                self.settings.opened(&location);
                self.browse_index(location);
            }
            Command::PickFolder => self.pick(Purpose::Folder),
            Command::PickPhoto => self.pick(Purpose::Photo),
            Command::Paste => self.paste(),
            Command::PasteText(text) => match path_from_text(&text) {
                Ok(path) => self.run_query(QueryInput::File(path)),
                Err(why) => self.status.show_error(why),
            },
            Command::Query(input) => self.run_query(input),
            Command::QueryItem(i) => self.run_query(QueryInput::Item(i)),
            Command::QuerySelectedResult(rank) => {
                if let Some(h) = self.look_alikes.hit(rank) {
                    self.run_query(QueryInput::Item(h.index));
                }
            }
            Command::Select(s) => self.look_alikes.select(s),
            Command::Requery => {
                if let Some((v, own)) = self
                    .query
                    .current()
                    .and_then(|q| q.regions.clone().map(|v| (v, q.own_item)))
                {
                    self.run_query(QueryInput::Again(v, own));
                }
            }
            Command::SearchRegion(region) => {
                if let Some((photo, own)) = self
                    .query
                    .current()
                    .and_then(|q| q.photo.clone().map(|p| (p, q.own_item)))
                {
                    self.run_query(QueryInput::Region { photo, region, own });
                }
            }
            Command::Clear => {
                self.remember_query();
                self.query.replace(None);
                self.look_alikes.clear();
            }
            Command::CancelIndexing => {
                self.status.request_cancel();
            }
            Command::Open(p) => {
                if let Err(e) = open::that_detached(&p) {
                    self.status
                        .show_error(format!("Cannot open {}: {e}", p.display()));
                }
            }
            Command::DismissError => self.status.dismiss_error(),
            Command::TrainHead => self.train_head(),
            Command::ShowView(v) => self.view = v,
            Command::Back => self.go_back(),
            Command::Forward => self.go_forward(),
            Command::SetFilter(text) => {
                self.look_alikes.set_filter(text);
                self.apply(Command::Requery);
            }
            Command::SetCardZoom(z) => {
                self.settings.card_zoom = z.clamp(
                    super::settings::MIN_CARD_ZOOM,
                    super::settings::MAX_CARD_ZOOM,
                )
            }
            Command::SetCardFields(fields) => self.settings.card_fields = fields,
            Command::ShowMap(on) => self.settings.map_shown = on,
            Command::SetMapLayout(layout) => {
                self.settings.map_layout = layout;
                self.map.set_layout(layout);
            }
            Command::SelectOnMap(items, name) => self.select_on_map(items, name),
            Command::ClearMapSelection => self.look_alikes.clear_selection(),
            Command::ExportMap(kind) => self.export_map(kind),
            Command::Present(on) => self.present(on),
            Command::LayOut => {
                if let (Some(index), Some(catalog)) = (&self.index_path, &self.catalog)
                    && self.map.making().is_none()
                {
                    self.map.started_making(index.clone());
                    self.outbox.lay_out(index.clone(), Arc::clone(catalog));
                }
            }
            Command::ShowIndexFailures => self.status.show_failures(),
            Command::Reindex => {
                if !self.status.is_indexing() {
                    self.start_indexing();
                }
            }
            Command::FindDuplicates => {
                if let Some(catalog) = &self.catalog
                    && self.dups.candidates.is_none()
                    && !self.dups.computing
                {
                    self.dups.computing = true;
                    self.outbox.dup_candidates(Arc::clone(catalog));
                }
            }
            Command::SetDuplicateThreshold(t) => {
                self.dups.threshold = t;
                if let Some(catalog) = &self.catalog {
                    self.dups.regroup(catalog);
                }
            }
            Command::SetDarkTheme(dark) => {
                self.settings.dark = dark;
                self.outbox.ctx().set_theme(if dark {
                    egui::Theme::Dark
                } else {
                    egui::Theme::Light
                });
            }
            Command::ToggleMark(i) => {
                if !self.dups.marked.remove(&i) {
                    self.dups.marked.insert(i);
                }
            }
            Command::Compare(i) => {
                if !self.dups.compare.contains(&i) {
                    self.dups.compare.push(i);
                    if self.dups.compare.len() > 2 {
                        self.dups.compare.remove(0);
                    }
                }
            }
            Command::PickExportFile => self.pick(Purpose::Export),
            Command::ExportMarked(path) => self.export_marked(&path),
            Command::TrashMarked => self.ask_to_trash(),
            Command::ConfirmTrash => self.trash_marked(),
            Command::CancelTrash => self.dups.confirm_trash = None,
            Command::NotDuplicates(g) => self.not_duplicates(g),
            Command::OpenLargeCompare => self.open_large_compare(),
            Command::CloseLargeCompare => self.dups.large = None,
            Command::ShowKeptApart(show) => self.dups.show_apart = show,
            Command::NotApartAnyMore(a, b) => self.not_apart_any_more(a, b),
            Command::MarkAllButKeeper(groups) => {
                for g in groups {
                    if let Some(group) = self.dups.groups.get(g) {
                        self.dups.marked.extend(group.items[1..].iter().copied());
                    }
                }
            }
            Command::UndoTrash => self.undo_trash(),
            Command::MarkByRule(keep) => {
                if let Some(catalog) = &self.catalog {
                    self.dups.marked.clear();
                    for r in crate::dups::resolve(catalog, &self.dups.groups, &keep) {
                        self.dups.marked.extend(r.remove);
                    }
                }
            }
            Command::SetStyleAware(on) => {
                self.settings.style_aware = on;
                self.apply(Command::Requery);
            }
            Command::SetColour(w) => self.settings.colour = w.clamp(0.0, 1.0),
            Command::SetSameCategory(on) => {
                self.settings.same_category = on;
                self.apply(Command::Requery);
            }
            Command::ChooseCategory(label) => {
                self.learning.choose_category(label);
                self.settings.same_category = true;
                self.apply(Command::Requery);
            }
        }
    }

    /// Ask for a path: the system's dialog, or the window's own picker when asked to or when the
    /// dialog cannot open (see `Outbox::pick`).
    fn pick(&mut self, purpose: Purpose) {
        let builtin = self.config.builtin_file_picker
            || std::env::var("LOOKALIKE_FILE_PICKER").is_ok_and(|v| v == "builtin");
        if builtin {
            self.open_picker(purpose);
            return;
        }
        match purpose {
            Purpose::Photo => self.outbox.pick_photo(),
            Purpose::Folder => self.outbox.pick_folder(),
            Purpose::Export => self.outbox.pick_export_file(),
        }
    }

    /// Open the window's own picker, starting in the catalog's folder.
    pub(super) fn open_picker(&mut self, purpose: Purpose) {
        let start = self
            .folder
            .clone()
            .or_else(|| self.catalog.as_ref().map(|c| c.root().to_path_buf()));
        self.picker = Some(super::file_picker::FilePicker::new(
            purpose,
            start.as_deref(),
        ));
    }

    pub(super) fn run_query(&mut self, input: QueryInput) {
        self.status.dismiss_error();
        if matches!(
            input,
            QueryInput::File(_) | QueryInput::Pixels(_) | QueryInput::Item(_)
        ) {
            self.remember_query();
            // A new photo: the category filter follows its own prediction again.
            self.learning.choose_category(None);
        }
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
                    c.items()
                        .get(*i)
                        .map(|it| format!("{} ({})", c.label(*i), it.path.display()))
                })
                .unwrap_or_default(),
            QueryInput::Again(..) | QueryInput::Region { .. } => self
                .query
                .current()
                .map(|q| q.title.clone())
                .unwrap_or_default(),
        };
        let keep_preview = matches!(input, QueryInput::Again(..) | QueryInput::Region { .. });
        let preview = match (&input, &self.catalog) {
            (QueryInput::Again(..) | QueryInput::Region { .. }, _) => {
                self.query.current().and_then(|q| q.preview.clone())
            }
            (QueryInput::Item(i), Some(c)) => c
                .items()
                .get(*i)
                .and_then(|it| self.thumbs.get(c.store(), it.id).cloned()),
            _ => None,
        };
        let mut kept = self.query.replace(None).filter(|_| keep_preview);
        // A box being dragged stays in the user's hand while its live searches run.
        let editing = kept.as_mut().and_then(|q| q.editing.take());
        let given = match &input {
            QueryInput::Region { region, .. } => *region,
            _ => kept.as_ref().and_then(|q| q.given),
        };
        self.next_query += 1;
        let id = self.next_query;
        self.query.replace(Some(Query {
            title,
            preview,
            photo: kept.as_ref().and_then(|q| q.photo.clone()),
            regions: kept.as_ref().and_then(|q| q.regions.clone()),
            lead: kept.as_ref().map_or(0, |q| q.lead),
            given,
            suggestions: kept
                .as_ref()
                .map(|q| q.suggestions.clone())
                .unwrap_or_default(),
            editing,
            own_item: kept.as_ref().and_then(|q| q.own_item),
            waiting_for: Some(id),
            predictions: Vec::new(),
            embed_ms: kept.as_ref().map_or(0.0, |q| q.embed_ms),
            search_ms: 0.0,
        }));
        let (Engine::Ready(embedder), Some(catalog)) = (&self.engine, &self.catalog) else {
            match &self.engine {
                Engine::Failed(e) => {
                    self.status.show_error(e.clone());
                    self.query.replace(None);
                }
                _ if self.catalog.is_none()
                    && !self.loading_catalog
                    && !self.status.is_indexing() =>
                {
                    self.status.show_error(
                        "Open a catalog first: its items are what the look-alikes are chosen from.",
                    );
                    self.query.replace(None);
                }
                _ => self.waiting_input = Some(input),
            }
            return;
        };
        self.outbox.query(
            id,
            input,
            Arc::clone(embedder),
            super::jobs::Searched {
                catalog: Arc::clone(catalog),
                style: self.learning.style().cloned(),
            },
            LookupOptions {
                k: self.settings.k,
                style_aware: self.settings.style_aware,
                same_category: self.settings.same_category,
                chosen_category: self.learning.chosen_category(),
                colour: self.settings.colour,
                all_copies: false,
            },
            self.look_alikes.label_filter().clone(),
        );
    }

    fn train_head(&mut self) {
        let Some(catalog) = self.catalog.clone() else {
            return;
        };
        if self.learning.is_training() || self.status.is_indexing() {
            return;
        }
        let cancel = Arc::new(AtomicBool::new(false));
        self.learning.started(Arc::clone(&cancel));
        self.outbox.train_head(catalog, cancel);
    }

    /// Write the marked items of the Duplicates view as CSV to `path`.
    pub fn export_marked(&mut self, path: &std::path::Path) {
        let Some(catalog) = &self.catalog else { return };
        let marked: Vec<usize> = self.dups.marked.iter().copied().collect();
        match crate::dups::write_marked_csv(catalog, &self.dups.groups, &marked, path) {
            Ok(n) => self.status.note(Some(format!(
                "{n} marked items written to {}",
                path.display()
            ))),
            Err(e) => self
                .status
                .show_error(format!("Cannot export the marked items: {e}")),
        }
    }

    fn ask_to_trash(&mut self) {
        let Some(catalog) = &self.catalog else { return };
        let marked: Vec<usize> = self.dups.marked.iter().copied().collect();
        match crate::dups::trash_plan(catalog, &self.dups.groups, &marked) {
            Ok(files) => {
                self.dups.confirm_titles = marked
                    .iter()
                    .map(|&i| crate::dups::product_title(catalog, i))
                    .collect();
                self.dups.confirm_trash = Some(files);
            }
            Err(e) => self
                .status
                .show_error(format!("Not moved to the trash: {e}")),
        }
    }

    fn trash_marked(&mut self) {
        let Some(files) = self.dups.confirm_trash.take() else {
            return;
        };
        // Checked again on the disk: the folder may have changed while the dialog was open.
        if let Some(catalog) = &self.catalog {
            let marked: Vec<usize> = self.dups.marked.iter().copied().collect();
            if let Err(e) = crate::dups::trash_plan(catalog, &self.dups.groups, &marked) {
                self.status
                    .show_error(format!("Not moved to the trash: {e}"));
                return;
            }
        }
        match crate::dups::trash::move_to_trash(&files, &crate::dups::trash::log_path()) {
            Ok(()) => {
                self.status.note(Some(format!(
                    "{} files moved to the trash (Undo in Duplicates puts them back)",
                    files.len()
                )));
                self.dups.reset();
                self.dups.can_undo = true;
                // The index forgets the files that are gone.
                if self.folder.is_some() {
                    self.start_indexing();
                }
            }
            Err(e) => self.status.show_error(format!(
                "Cannot move the files to the trash: {}",
                crate::error::describe(&e)
            )),
        }
    }

    fn undo_trash(&mut self) {
        match crate::dups::trash::undo_last(&crate::dups::trash::log_path()) {
            Ok(files) => {
                self.status.note(Some(format!(
                    "{} files put back from the trash",
                    files.len()
                )));
                self.dups.reset();
                if self.folder.is_some() {
                    self.start_indexing();
                }
            }
            Err(e) => self.status.show_error(format!(
                "Cannot put the files back: {}",
                crate::error::describe(&e)
            )),
        }
    }

    /// The members of group `g` are not duplicates of its keeper: said to the store (by content, so
    /// it holds across re-indexing), and regrouped at once.
    fn not_duplicates(&mut self, g: usize) {
        let (Some(catalog), Some(group)) = (&self.catalog, self.dups.groups.get(g)) else {
            return;
        };
        let keeper = group.keeper();
        let pairs: Vec<(usize, usize)> = group.items[1..].iter().map(|&i| (keeper, i)).collect();
        if let Err(e) = crate::dups::decide_apart(catalog, &pairs, true) {
            self.status
                .show_error(format!("Not saved: {}", crate::error::describe(&e)));
            return;
        }
        self.dups.set_apart(&pairs, true);
        let catalog = catalog.clone();
        self.dups.regroup(&catalog);
        let n = pairs.len();
        self.status.note(Some(format!(
            "{n} {} kept apart: never suggested again (Kept apart… lists them)",
            if n == 1 { "pair" } else { "pairs" }
        )));
    }

    fn not_apart_any_more(&mut self, a: usize, b: usize) {
        let Some(catalog) = self.catalog.clone() else {
            return;
        };
        if let Err(e) = crate::dups::decide_apart(&catalog, &[(a, b)], false) {
            self.status
                .show_error(format!("Not saved: {}", crate::error::describe(&e)));
            return;
        }
        self.dups.set_apart(&[(a, b)], false);
        self.dups.regroup(&catalog);
        self.status.note(Some(
            "The pair may be suggested as duplicates again".to_string(),
        ));
    }

    /// The two compared items at full size, each read on its own thread.
    fn open_large_compare(&mut self) {
        let (Some(catalog), &[a, b]) = (self.catalog.clone(), &self.dups.compare[..]) else {
            return;
        };
        self.dups.large = Some(super::compare::LargeCompare::new([a, b]));
        for i in [a, b] {
            self.outbox.load_compare_photo(catalog.clone(), i);
        }
    }
}
