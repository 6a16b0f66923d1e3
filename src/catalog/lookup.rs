//! Looking up a query in a catalog: the plain embedding search, or with the learned head
//! (predicted labels, style-aware search, results kept to the predicted category).

use serde::Serialize;

use super::Catalog;
use crate::search::Hit;

/// A predicted label of a photo.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Prediction {
    pub column: String,
    pub label: String,
    /// Softmax probability of `label`, 0..1.
    pub confidence: f32,
}

/// What search needs of a head learned from the catalog's labels (see `crate::learn`, which trains
/// one and implements this): the style space, and predicted labels.
pub trait LearnedHead: Send + Sync {
    /// The label columns it predicts, most important first.
    fn column_names(&self) -> Vec<String>;
    /// Dimensions of the style space.
    fn proj_dims(&self) -> usize;
    /// One embedding in the style space (a unit vector).
    fn style(&self, v: &[f32]) -> Vec<f32>;
    /// Row-major embeddings in the style space.
    fn style_all(&self, embeddings: &[f32]) -> Vec<f32>;
    /// The predicted label of each column, with its confidence.
    fn predict(&self, v: &[f32]) -> Vec<Prediction>;
}

/// How to search.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LookupOptions {
    /// How many look-alikes.
    pub k: usize,
    /// Rank in the head's style space instead of the raw embedding space (needs a head).
    pub style_aware: bool,
    /// Keep only items whose label in the head's first column is the predicted one (needs a head).
    pub same_category: bool,
    /// Weight of colour agreement in the ranking, 0 (shape only) to 1 (colour only); used by the
    /// query service (see [`crate::search::colour`]).
    pub colour: f32,
}

impl Default for LookupOptions {
    fn default() -> Self {
        LookupOptions {
            k: 12,
            style_aware: false,
            same_category: false,
            colour: crate::search::colour::DEFAULT_COLOUR_WEIGHT,
        }
    }
}

/// The look-alikes of a query and, with a head, its predicted labels.
#[derive(Debug, Clone, Default)]
pub struct Lookup {
    pub hits: Vec<Hit>,
    pub predictions: Vec<Prediction>,
}

impl Catalog {
    /// The look-alikes of `query` (an embedding of this catalog's model) among the items `keep` lets through.
    pub fn look_alikes(
        &self,
        query: &[f32],
        opts: &LookupOptions,
        keep: impl Fn(usize) -> bool + Sync,
    ) -> Lookup {
        let Some(head) = &self.head else {
            return Lookup {
                hits: self.embeddings.top_k(query, opts.k, keep),
                predictions: Vec::new(),
            };
        };
        let predictions = head.predict(query);
        let category = predictions
            .first()
            .filter(|_| opts.same_category)
            .map(|p| (p.column.as_str(), p.label.as_str()));
        let keep = |i: usize| {
            keep(i)
                && category
                    .is_none_or(|(column, label)| self.items[i].labels.get(column) == Some(label))
        };
        let hits = match &self.style {
            Some(style) if opts.style_aware => style.top_k(&head.style(query), opts.k, keep),
            _ => self.embeddings.top_k(query, opts.k, keep),
        };
        Lookup { hits, predictions }
    }

    /// [`Catalog::look_alikes`] for several queries (the regions of one photo), reading the
    /// catalog's vectors once for all of them where the search allows.
    pub fn look_alikes_many(
        &self,
        queries: &[&[f32]],
        opts: &LookupOptions,
        keep: impl Fn(usize) -> bool + Sync,
    ) -> Vec<Lookup> {
        match &self.head {
            // Each query keeps to its own predicted category: one search each.
            Some(_) if opts.same_category => queries
                .iter()
                .map(|q| self.look_alikes(q, opts, &keep))
                .collect(),
            Some(head) => {
                let hits = match &self.style {
                    Some(style) if opts.style_aware => {
                        let projected: Vec<Vec<f32>> =
                            queries.iter().map(|q| head.style(q)).collect();
                        let refs: Vec<&[f32]> = projected.iter().map(Vec::as_slice).collect();
                        style.top_k_many(&refs, opts.k, keep)
                    }
                    _ => self.embeddings.top_k_many(queries, opts.k, keep),
                };
                hits.into_iter()
                    .zip(queries)
                    .map(|(hits, q)| Lookup {
                        hits,
                        predictions: head.predict(q),
                    })
                    .collect()
            }
            None => self
                .embeddings
                .top_k_many(queries, opts.k, keep)
                .into_iter()
                .map(|hits| Lookup {
                    hits,
                    predictions: Vec::new(),
                })
                .collect(),
        }
    }
}
