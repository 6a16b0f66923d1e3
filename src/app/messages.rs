//! Messages from the background threads: the engine, the catalog, indexing progress, query results.

use std::sync::Arc;

use egui::TextureOptions;

use super::jobs::{Msg, QueryOutcome};
use super::{Command, Engine, LookalikeApp, QueryInput, RELOAD_WHILE_INDEXING};
use crate::catalog::Catalog;

impl LookalikeApp {
    pub(super) fn receive(&mut self, ctx: &egui::Context) {
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
                        Ok(opened) => {
                            self.learning.set_catalog(opened.learnable, opened.style);
                            self.map.set_map(opened.map, opened.neighbourhoods);
                            self.catalog_loaded(opened.catalog)
                        }
                        Err(e) => self.status.show_error(e),
                    }
                }
                Msg::IndexProgress(p) => {
                    // A catalog large enough to be compact rebuilds its vectors file on each
                    // load: it is reloaded once, when indexing ends.
                    let can_reload = !self.loading_catalog
                        && !self
                            .catalog
                            .as_ref()
                            .is_some_and(|c| c.vectors().is_compact());
                    if self
                        .status
                        .indexing_progress(p, RELOAD_WHILE_INDEXING, can_reload)
                        && let Some(index) = &self.index_path
                    {
                        self.loading_catalog = true;
                        self.outbox.load_catalog(index.clone());
                    }
                }
                Msg::LayoutProgress { index, done } => self.map.making_progress(&index, done),
                Msg::LayoutDone {
                    index,
                    items,
                    result,
                } => {
                    let current = self.index_path.as_ref() == Some(&index)
                        && self.catalog.as_ref().map(|c| c.len()) == Some(items);
                    match result {
                        Ok(layout) if current => self.map.set_neighbourhoods(layout),
                        Ok(_) => {}
                        Err(e) => self
                            .status
                            .show_error(format!("The neighbourhood map could not be made: {e}")),
                    }
                    self.map.stopped_making(&index, current);
                }
                Msg::MapExported(result) => match result {
                    Ok(path) => self
                        .status
                        .note(Some(format!("The map was saved as {}", path.display()))),
                    Err(e) => self.status.show_error(format!(
                        "The map could not be saved: {e}. Check that the folder exists and is writable."
                    )),
                },
                Msg::IndexDone(result) => {
                    self.status.indexing_ended();
                    match result {
                        Ok(r) => {
                            // The status bar offers the list of failures, with their reasons.
                            self.status.note(None);
                            self.status.set_failures(r.failures);
                            if let Some(index) = &self.index_path {
                                self.loading_catalog = true;
                                self.outbox.load_catalog(index.clone());
                            }
                        }
                        Err(e) => self.status.show_error(format!("Indexing failed: {e}")),
                    }
                }
                Msg::Query { id, result } => self.query_done(ctx, id, result),
                Msg::Thumb { id, image } => {
                    self.thumbs.answered();
                    if let Some(img) = image {
                        self.thumbs.arrived(ctx, id, img);
                    }
                }
                Msg::FolderChanged(folder) => {
                    if let Some(w) = &mut self.watch
                        && w.folder() == folder
                    {
                        w.changed();
                    }
                }
                Msg::LargeThumb { id, image } => {
                    self.thumbs.answered();
                    if let Some(img) = image {
                        self.thumbs.arrived_large(ctx, id, img);
                    }
                }
                Msg::ComparePhoto { item, image } => {
                    if let Some(large) = &mut self.dups.large {
                        large.arrived(ctx, item, image);
                    }
                }
                Msg::PickedFolder(p) => self.apply(Command::OpenFolder(p)),
                Msg::PickedPhoto(p) => self.apply(Command::Query(QueryInput::File(p))),
                Msg::DupCandidates {
                    index,
                    items,
                    pairs,
                } => {
                    // Pairs measured on an older state of the catalog are dropped.
                    if self.index_path.as_ref() == Some(&index)
                        && self.catalog.as_ref().map(|c| c.len()) == Some(items)
                    {
                        self.dups.candidates = Some(pairs);
                        if let Some(catalog) = &self.catalog {
                            self.dups.regroup(catalog);
                        }
                    }
                    self.dups.computing = false;
                }
                Msg::JobNotStarted(e) => {
                    if matches!(self.engine, Engine::Starting) {
                        self.engine = Engine::Failed(e.clone());
                    }
                    self.loading_catalog = false;
                    self.status.indexing_ended();
                    self.learning.ended();
                    self.dups.computing = false;
                    if let Some(q) = self.query.current_mut() {
                        q.waiting_for = None;
                    }
                    self.waiting_input = None;
                    self.status.show_error(e);
                }
                Msg::DupsFailed(e) => {
                    self.dups.computing = false;
                    self.status.show_error(e);
                }
                Msg::PickedExportFile(p) => self.apply(Command::ExportMarked(p)),
                Msg::PickerUnavailable(purpose) => self.open_picker(purpose),
                Msg::TrainProgress(done) => self.learning.progress(done),
                Msg::TrainDone(result) => {
                    self.learning.ended();
                    match result {
                        // Reload: the catalog picks up the stored head, and the query runs again with it.
                        Ok(index) if self.index_path.as_ref() == Some(&index) => {
                            self.loading_catalog = true;
                            self.outbox.load_catalog(index);
                        }
                        Ok(_) => {}
                        Err(e) => self.status.show_error(e),
                    }
                }
            }
        }
    }

    pub(super) fn catalog_loaded(&mut self, cat: Arc<Catalog>) {
        // Queries must be embedded exactly as the catalog was.
        if self.config.model.is_none()
            && let Ok(wanted) = cat.query_model()
            && !self
                .engine_model
                .as_ref()
                .is_some_and(|m| Self::same_model(m, &wanted))
            && !self.status.is_indexing()
        {
            self.start_engine(Ok(wanted));
        }
        let requery = self
            .query
            .current()
            .and_then(|q| q.regions.clone().map(|v| (v, q.own_item)));
        // Duplicates are measured again on the new catalog, when the view is open.
        self.dups.reset();
        // Items shown keep their places by their ids: the catalog indexed again may have gained or
        // lost items before them (a photo added to the watched folder), and those gone leave.
        if let Some(old) = &self.catalog {
            let by_id: std::collections::HashMap<i64, usize> = cat
                .items()
                .iter()
                .enumerate()
                .map(|(i, it)| (it.id, i))
                .collect();
            let moved = |i: usize| old.items().get(i).and_then(|it| by_id.get(&it.id)).copied();
            self.look_alikes.remap(&moved);
            self.query.remap(&moved);
        }
        self.catalog = Some(cat);
        if let Some(input) = self.waiting_input.take() {
            self.apply(Command::Query(input));
        } else if let Some((v, own)) = requery {
            self.apply(Command::Query(QueryInput::Again(v, own)));
        }
    }

    pub(super) fn query_done(
        &mut self,
        ctx: &egui::Context,
        id: u64,
        result: Result<QueryOutcome, String>,
    ) {
        let Some(q) = self.query.current_mut() else {
            return;
        };
        if q.waiting_for != Some(id) {
            return; // superseded by a newer query
        }
        q.waiting_for = None;
        match result {
            Ok(out) => {
                if let Some(img) = out.preview {
                    q.preview = Some(ctx.load_texture("query-photo", img, TextureOptions::LINEAR));
                }
                if out.photo.is_some() {
                    q.photo = out.photo;
                    q.given = out.given;
                }
                q.regions = Some(out.regions);
                q.lead = out.answer.lead;
                q.suggestions = out.answer.suggestions;
                q.own_item = out.own_item;
                q.predictions = out.answer.predictions;
                if let Some(ms) = out.embed_ms {
                    q.embed_ms = ms;
                }
                q.search_ms = out.search_ms;
                self.look_alikes.show_hits(
                    out.answer.hits.iter().map(|h| h.hit).collect(),
                    out.answer.copies,
                    out.answer.strength,
                );
            }
            Err(e) => {
                self.status.show_error(e);
                self.look_alikes.clear();
            }
        }
    }
}
