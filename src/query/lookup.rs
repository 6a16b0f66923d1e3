//! Looking up a query in a catalog: the plain embedding search, or with the style space learned
//! from its labels (predicted labels, style-aware search, results kept to a category).

use crate::catalog::Catalog;
use crate::learn::{Prediction, StyleSpace};
use crate::search::{Hit, Keep};

/// How to search.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LookupOptions {
    /// How many look-alikes.
    pub k: usize,
    /// Rank in the head's style space instead of the raw embedding space (needs a head).
    pub style_aware: bool,
    /// Keep only items whose label in the head's first column is the predicted one (needs a head).
    pub same_category: bool,
    /// With `same_category`: keep this class of the head's first column instead of the predicted
    /// one (the user chose it).
    pub chosen_category: Option<usize>,
    /// Weight of colour agreement in the ranking, 0 (shape only) to 1 (colour only); used by the
    /// query service (see [`crate::search::colour`]).
    pub colour: f32,
    /// List copies of an item (byte-identical or near-identical photos, see
    /// [`crate::dups::copies_among`]) as look-alikes of their own; by default the query service
    /// shows each once, with its copies beside it.
    pub all_copies: bool,
}

impl Default for LookupOptions {
    fn default() -> Self {
        LookupOptions {
            k: 12,
            style_aware: false,
            same_category: false,
            chosen_category: None,
            colour: crate::search::colour::DEFAULT_COLOUR_WEIGHT,
            all_copies: false,
        }
    }
}

/// The look-alikes of a query and, with a head, its predicted labels.
#[derive(Debug, Clone, Default)]
pub struct Lookup {
    pub hits: Vec<Hit>,
    pub predictions: Vec<Prediction>,
}

/// The look-alikes of `query` (an embedding of `catalog`'s model) among the items `keep` lets
/// through, ranked in `style` when it is given and asked for.
pub fn look_alikes(
    catalog: &Catalog,
    style: Option<&StyleSpace>,
    query: &[f32],
    opts: &LookupOptions,
    keep: &Keep,
) -> Lookup {
    let Some(style) = style else {
        return Lookup {
            hits: catalog.vectors().top_k(query, opts.k, keep),
            predictions: Vec::new(),
        };
    };
    let predictions = style.predict(query);
    let first = style.head().columns.first();
    let chosen = opts
        .chosen_category
        .and_then(|c| Some((first?.name.as_str(), first?.classes.get(c)?.as_str())));
    let category = chosen
        .or_else(|| {
            predictions
                .first()
                .map(|p| (p.column.as_str(), p.label.as_str()))
        })
        .filter(|_| opts.same_category);
    let keep = |i: usize| {
        keep(i)
            && category
                .is_none_or(|(column, label)| catalog.item(i).labels.get(column) == Some(label))
    };
    let hits = if opts.style_aware {
        style.vectors().top_k(&style.project(query), opts.k, &keep)
    } else {
        catalog.vectors().top_k(query, opts.k, &keep)
    };
    Lookup { hits, predictions }
}

/// [`look_alikes`] for several queries (the regions of one photo), reading the catalog's vectors
/// once for all of them where the search allows.
pub fn look_alikes_many(
    catalog: &Catalog,
    style: Option<&StyleSpace>,
    queries: &[&[f32]],
    opts: &LookupOptions,
    keep: &Keep,
) -> Vec<Lookup> {
    match style {
        // Each query keeps to its own predicted category: one search each.
        Some(_) if opts.same_category => queries
            .iter()
            .map(|q| look_alikes(catalog, style, q, opts, keep))
            .collect(),
        Some(style) => {
            let hits = if opts.style_aware {
                let projected: Vec<Vec<f32>> = queries.iter().map(|q| style.project(q)).collect();
                let refs: Vec<&[f32]> = projected.iter().map(Vec::as_slice).collect();
                style.vectors().top_k_many(&refs, opts.k, keep)
            } else {
                catalog.vectors().top_k_many(queries, opts.k, keep)
            };
            hits.into_iter()
                .zip(queries)
                .map(|(hits, q)| Lookup {
                    hits,
                    predictions: style.predict(q),
                })
                .collect()
        }
        None => catalog
            .vectors()
            .top_k_many(queries, opts.k, keep)
            .into_iter()
            .map(|hits| Lookup {
                hits,
                predictions: Vec::new(),
            })
            .collect(),
    }
}
