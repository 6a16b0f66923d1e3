//! The query panel: the query (its photo, the region searched, what the head predicts) and the
//! queries before it, which Back (Alt+Left) returns to with their photo and region, and those
//! after it that Back left, which Forward (Alt+Right) returns to.

use std::sync::Arc;

use egui::{RichText, TextureHandle};

use super::thumbs::Thumbs;
use super::{Command, query_photo};
use crate::catalog::Catalog;

/// The query shown.
pub(super) struct Query {
    /// What the user asked with, in words ("shirt.jpg", "pasted image", an item's label).
    pub(super) title: String,
    pub(super) preview: Option<TextureHandle>,
    /// The photo, upright: what regions are cut from.
    pub(super) photo: Option<Arc<crate::embed::Photo>>,
    /// The regions searched; the results come from `lead` (and regions of its kind).
    pub(super) regions: Option<Arc<Vec<crate::query::EmbeddedRegion>>>,
    pub(super) lead: usize,
    /// The box the user drew (or picked from the suggestions); None: automatic.
    pub(super) given: Option<crate::query::Rect>,
    /// Kinds of item found in other regions of the photo.
    pub(super) suggestions: Vec<crate::query::Suggestion>,
    /// The box being drawn on the photo.
    pub(super) editing: Option<query_photo::BoxEdit>,
    pub(super) own_item: Option<usize>,
    /// Labels the catalog's head predicts for the query.
    pub(super) predictions: Vec<crate::learn::Prediction>,
    pub(super) waiting_for: Option<u64>,
    pub(super) embed_ms: f64,
    pub(super) search_ms: f64,
}

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

/// The query panel's state: the query shown and the ones before it.
#[derive(Default)]
pub(super) struct QueryPanel {
    current: Option<Query>,
    /// Earlier queries, the latest last.
    earlier: Vec<Earlier>,
    /// Queries Back left, the one left last at the end.
    later: Vec<Earlier>,
}

impl QueryPanel {
    pub fn current(&self) -> Option<&Query> {
        self.current.as_ref()
    }

    pub fn current_mut(&mut self) -> Option<&mut Query> {
        self.current.as_mut()
    }

    /// Show `query` instead (None: no query); gives back the one shown before.
    pub fn replace(&mut self, query: Option<Query>) -> Option<Query> {
        std::mem::replace(&mut self.current, query)
    }

    /// Earlier queries Back can return to.
    pub fn earlier_count(&self) -> usize {
        self.earlier.len()
    }

    /// The catalog changed: item `i` is now at `moved(i)`, or gone (None).
    pub fn remap(&mut self, moved: &dyn Fn(usize) -> Option<usize>) {
        if let Some(q) = &mut self.current {
            q.own_item = q.own_item.and_then(moved);
        }
        for e in self.earlier.iter_mut().chain(self.later.iter_mut()) {
            e.own_item = e.own_item.and_then(moved);
        }
    }

    /// Queries Forward can return to.
    pub fn later_count(&self) -> usize {
        self.later.len()
    }

    /// Forget the earlier and later queries (they point at the items of a catalog being closed).
    pub fn forget_earlier(&mut self) {
        self.earlier.clear();
        self.later.clear();
    }

    /// The current query as one to come back to (None while it has no embedding yet).
    fn current_as_earlier(&self) -> Option<Earlier> {
        let q = self.current.as_ref()?;
        Some(Earlier {
            title: q.title.clone(),
            preview: q.preview.clone(),
            photo: q.photo.clone(),
            regions: q.regions.clone()?,
            lead: q.lead,
            given: q.given,
            suggestions: q.suggestions.clone(),
            own_item: q.own_item,
        })
    }

    /// Keep the current query (with the region searched in it) to come back to, before another
    /// one replaces it: the queries Back left are then no longer ahead.
    pub fn remember(&mut self) {
        let Some(e) = self.current_as_earlier() else {
            return;
        };
        self.earlier.push(e);
        if self.earlier.len() > EARLIER_KEPT {
            self.earlier.remove(0);
        }
        self.later.clear();
    }

    /// Show the query before this one again (its photo and region); gives what to search again:
    /// its regions' embeddings (no model run) and its own catalog item. The current one is kept
    /// for Forward.
    pub fn back(&mut self) -> Option<(Arc<Vec<crate::query::EmbeddedRegion>>, Option<usize>)> {
        let e = self.earlier.pop()?;
        if let Some(now) = self.current_as_earlier() {
            self.later.push(now);
        }
        Some(self.show_again(e))
    }

    /// Show the query Back left again.
    pub fn forward(&mut self) -> Option<(Arc<Vec<crate::query::EmbeddedRegion>>, Option<usize>)> {
        let e = self.later.pop()?;
        if let Some(now) = self.current_as_earlier() {
            self.earlier.push(now);
        }
        Some(self.show_again(e))
    }

    fn show_again(
        &mut self,
        e: Earlier,
    ) -> (Arc<Vec<crate::query::EmbeddedRegion>>, Option<usize>) {
        self.current = Some(Query {
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
        (e.regions, e.own_item)
    }

    /// The panel: the query photo with its box, what it found and predicts, the colour weight
    /// (`colour`), Back and Clear; `shown` look-alikes are on the grid.
    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        catalog: Option<&Catalog>,
        thumbs: &mut Thumbs,
        colour: f32,
        shown: usize,
        commands: &mut Vec<Command>,
    ) {
        let has_earlier = !self.earlier.is_empty();
        let has_later = !self.later.is_empty();
        match &mut self.current {
            None => {
                ui.label("Drop a photo here, press Ctrl+O to pick one, or Ctrl+V to paste an image copied from a shop's web page.");
                ui.label("Double-click a look-alike or a map point to search from it.");
                if has_earlier
                    && ui
                        .button("Back (Alt+Left)")
                        .on_hover_text("The query before, with its region")
                        .clicked()
                {
                    commands.push(Command::Back);
                }
            }
            Some(q) => {
                ui.label(RichText::new(&q.title).strong()).widget_info(|| {
                    egui::WidgetInfo::labeled(
                        egui::Role::Label,
                        true,
                        format!("Query: {}", q.title),
                    )
                });
                super::query_photo::show(ui, q, catalog, thumbs, commands);
                if q.given.is_some() {
                    ui.horizontal(|ui| {
                        ui.weak("Searching the box.");
                        if ui
                            .button("Whole photo (Esc)")
                            .on_hover_text("Search the whole photo again (and, for a scene, its automatic regions)")
                            .clicked()
                        {
                            commands.push(Command::SearchRegion(None));
                        }
                    });
                } else if q.photo.is_some() && q.preview.is_some() {
                    ui.weak("Drag a box on the photo to search one garment.");
                }
                if q.waiting_for.is_some() {
                    ui.horizontal(|ui| {
                        ui.spinner();
                        ui.label("Finding look-alikes…");
                    });
                } else if let Some(c) = catalog {
                    let n = shown;
                    ui.label(format!(
                        "{n} look-{} among {} items",
                        if n == 1 { "alike" } else { "alikes" },
                        c.len()
                    ));
                }
                ui.horizontal(|ui| {
                    ui.label("Shape");
                    let mut colour = colour;
                    let r = ui
                        .add(
                            egui::Slider::new(&mut colour, 0.0..=1.0)
                                .show_value(false)
                                .step_by(0.01),
                        )
                        .on_hover_text("How much colour counts in the ranking: to the left, items of the same shape and kind whatever their colour; to the right, items of the same colours first.");
                    ui.label("Colour");
                    if r.changed() {
                        commands.push(Command::SetColour(colour));
                    }
                    if r.drag_stopped() || (r.changed() && !r.dragged()) {
                        commands.push(Command::Requery);
                    }
                });
                if !q.predictions.is_empty() {
                    ui.label(RichText::new("Looks like").strong());
                    egui::Grid::new("predictions")
                        .num_columns(3)
                        .show(ui, |ui| {
                            for p in &q.predictions {
                                ui.weak(crate::query::filter::human_column(&p.column));
                                ui.label(&p.label).widget_info(|| {
                                    egui::WidgetInfo::labeled(
                                        egui::Role::Label,
                                        true,
                                        format!(
                                            "Predicted {}: {}",
                                            crate::query::filter::human_column(&p.column)
                                                .to_lowercase(),
                                            p.label
                                        ),
                                    )
                                });
                                ui.add(
                                    egui::ProgressBar::new(p.confidence)
                                        .desired_width(70.0)
                                        .text(format!("{:.0}%", p.confidence * 100.0)),
                                );
                                ui.end_row();
                                // The runners-up, so a wrong first guess shows what else it may be.
                                // Those under 1% say nothing and would only lengthen the list.
                                let likely: Vec<_> = p
                                    .alternatives
                                    .iter()
                                    .filter(|o| o.confidence >= 0.01)
                                    .collect();
                                if !likely.is_empty() {
                                    ui.label("");
                                    let others: Vec<String> = likely
                                        .iter()
                                        .map(|o| {
                                            format!("{} {:.0}%", o.label, o.confidence * 100.0)
                                        })
                                        .collect();
                                    ui.weak(format!("or {}", others.join(", ")));
                                    ui.end_row();
                                }
                            }
                        });
                }
                ui.horizontal(|ui| {
                    if ui
                        .add_enabled(has_earlier, egui::Button::new("Back"))
                        .on_hover_text("The query before this one, with its region (Alt+Left)")
                        .clicked()
                    {
                        commands.push(Command::Back);
                    }
                    if ui
                        .add_enabled(has_later, egui::Button::new("Forward"))
                        .on_hover_text("The query Back left (Alt+Right)")
                        .clicked()
                    {
                        commands.push(Command::Forward);
                    }
                    if ui.button("Clear").clicked() {
                        commands.push(Command::Clear);
                    }
                });
            }
        }
    }
}
