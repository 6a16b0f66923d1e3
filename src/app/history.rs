//! Earlier queries: Back (Alt+Left) returns to the one before, with its photo and its region.

use std::sync::Arc;

use egui::TextureHandle;

use super::{LookalikeApp, Query, QueryInput};

/// A query the user left for another one, to go back to: its photo, the region searched in it and
/// the regions' embeddings (so going back needs no model run).
pub(super) struct Earlier {
    title: String,
    preview: Option<TextureHandle>,
    photo: Option<Arc<crate::embed::Photo>>,
    regions: Arc<Vec<crate::query::EmbeddedRegion>>,
    lead: usize,
    given: Option<crate::query::Rect>,
    suggestions: Vec<crate::query::Suggestion>,
    own_item: Option<usize>,
}

/// Queries kept to go back to.
const EARLIER_KEPT: usize = 20;

impl LookalikeApp {
    /// Keep the current query (with the region searched in it) to come back to.
    pub(super) fn remember_query(&mut self) {
        let Some(q) = &self.query else { return };
        let Some(regions) = q.regions.clone() else {
            return;
        };
        self.earlier.push(Earlier {
            title: q.title.clone(),
            preview: q.preview.clone(),
            photo: q.photo.clone(),
            regions,
            lead: q.lead,
            given: q.given,
            suggestions: q.suggestions.clone(),
            own_item: q.own_item,
        });
        if self.earlier.len() > EARLIER_KEPT {
            self.earlier.remove(0);
        }
    }

    /// Show the query before this one again: its photo, its region, its look-alikes.
    pub(super) fn go_back(&mut self) {
        let Some(e) = self.earlier.pop() else { return };
        self.query = Some(Query {
            title: e.title,
            preview: e.preview,
            photo: e.photo,
            regions: Some(Arc::clone(&e.regions)),
            lead: e.lead,
            given: e.given,
            suggestions: e.suggestions,
            editing: None,
            own_item: e.own_item,
            waiting_for: None,
            predictions: Vec::new(),
            embed_ms: 0.0,
            search_ms: 0.0,
        });
        self.run_query(QueryInput::Again(e.regions, e.own_item));
    }
}
