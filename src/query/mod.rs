//! The query service: what the command line and the window both call to find the look-alikes of a
//! photo, of a region of it, or of its automatic candidate regions.
//!
//! A query is two steps, so the window can search again (another K, a filter) without embedding
//! again: [`embed_regions`] turns the photo into one vector per region searched, and
//! [`search_regions`] searches the catalog with them and fuses the answers per catalog item (its
//! best region wins), keeping the results to one kind of item and offering the other kinds found
//! in the photo as suggestions.

pub mod filter;
mod lookup;
pub mod regions;

use std::collections::HashMap;

use rayon::prelude::*;

pub use crate::error::RegionError;
pub use filter::LabelFilter;
pub use lookup::{Lookup, LookupOptions, look_alikes, look_alikes_many};
pub use regions::{Rect, RegionArg, candidate_windows, is_studio_shot};

use crate::catalog::Catalog;
use crate::embed::preprocess::{fit_square, to_chw};
use crate::embed::{Embedder, Photo};
use crate::error::{Error, Result};
use crate::learn::{Prediction, StyleSpace};
use crate::model::ModelManifest;
use crate::search::Hit;

/// Which part of the photo to search.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RegionMode {
    /// The whole photo.
    Whole,
    /// One region the user gave.
    Given(RegionArg),
    /// The whole photo and, when it is a scene rather than a studio shot, candidate regions.
    Auto,
}

/// A part of the photo, embedded.
#[derive(Debug, Clone)]
pub struct EmbeddedRegion {
    /// In the photo's own pixels.
    pub rect: Rect,
    pub vector: Vec<f32>,
    /// Found by the automatic search (not the whole photo, not the user's region).
    pub automatic: bool,
    /// The region's colours, for colour-aware ranking (None: rank by shape alone).
    pub colours: Option<Box<crate::embed::fingerprint::ColourHistogram>>,
}

/// Regions smaller than this share of the model's input side are enlarged from too few pixels to
/// be worth a search: the photo is decoded large enough that the smallest window has at least it.
const SMALLEST_WINDOW: f32 = 0.4;

/// The model input size at which to decode a query photo, so that its regions keep enough pixels.
pub fn decode_size_for_regions(m: &ModelManifest) -> u32 {
    (m.input_size as f32 / SMALLEST_WINDOW).ceil() as u32
}

/// Decode a query photo's bytes, large enough for its regions (see [`decode_size_for_regions`]).
pub fn decode_query_photo(
    bytes: &[u8],
    m: &ModelManifest,
) -> std::result::Result<Photo, crate::error::PhotoError> {
    let mut large = m.clone();
    large.input_size = decode_size_for_regions(m);
    crate::embed::decode_photo_for(bytes, &large)
}

/// The rectangles `mode` asks to search in `photo`: the first is the region that leads (the whole
/// photo, or the user's), then the automatic ones.
pub fn regions_to_search(
    photo: &Photo,
    mode: RegionMode,
) -> std::result::Result<Vec<(Rect, bool)>, RegionError> {
    let whole = Rect::whole(photo.width, photo.height);
    Ok(match mode {
        RegionMode::Whole => vec![(whole, false)],
        RegionMode::Given(arg) => vec![(arg.resolve(photo.width, photo.height)?, false)],
        RegionMode::Auto if is_studio_shot(&photo.rgb) => vec![(whole, false)],
        RegionMode::Auto => std::iter::once((whole, false))
            .chain(
                candidate_windows(photo.width, photo.height)
                    .into_iter()
                    .map(|r| (r, true)),
            )
            .collect(),
    })
}

/// Embed the parts of `photo` that `mode` asks for, in one batch through the model.
pub fn embed_regions(
    embedder: &Embedder,
    photo: &Photo,
    mode: RegionMode,
) -> Result<Vec<EmbeddedRegion>> {
    let rects = regions_to_search(photo, mode).map_err(Error::Region)?;
    let m = embedder.manifest();
    let side = m.input_size as usize;
    let scale = photo.rgb.width() as f32 / photo.width.max(1) as f32;
    let mut input = vec![0.0f32; rects.len() * 3 * side * side];
    let colours: Vec<Box<crate::embed::fingerprint::ColourHistogram>> = input
        .par_chunks_mut(3 * side * side)
        .zip(&rects)
        .map(|(out, (rect, _))| {
            let (x, y, w, h) = rect.to_pixels(scale, photo.rgb.width(), photo.rgb.height());
            let crop = image::imageops::crop_imm(&photo.rgb, x, y, w, h).to_image();
            let square = fit_square(&crop, m.input_size, m.resize, m.crop_fraction);
            to_chw(&square, m.mean, m.std, out);
            Box::new(crate::embed::fingerprint::colour_histogram(&crop))
        })
        .collect();
    let out = embedder.run(input, rects.len())?;
    Ok(rects
        .into_iter()
        .zip(out.vectors)
        .zip(colours)
        .map(|(((rect, automatic), vector), colours)| EmbeddedRegion {
            rect,
            vector,
            automatic,
            colours: Some(colours),
        })
        .collect())
}

/// A look-alike and the region of the query it matched.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RegionHit {
    pub hit: Hit,
    /// Index into the regions searched.
    pub region: usize,
}

/// A kind of item found in the photo apart from the results shown: a region to search alone.
#[derive(Debug, Clone, PartialEq)]
pub struct Suggestion {
    /// Index into the regions searched.
    pub region: usize,
    /// The kind of item it matches (the catalog's shown label of its best match, or the head's
    /// prediction).
    pub kind: String,
    /// Its best match.
    pub best: Hit,
}

/// The answer to a query.
#[derive(Debug, Clone, Default)]
pub struct Answer {
    /// Best first: each catalog item once, with its best region's score.
    pub hits: Vec<RegionHit>,
    /// The region whose results lead (its kind is the results' kind).
    pub lead: usize,
    /// Other kinds of item found in the photo, best first, the results' own kind first.
    pub suggestions: Vec<Suggestion>,
    /// What the learned head predicts for the leading region (empty without a head).
    pub predictions: Vec<Prediction>,
    /// For each hit, the catalog items that are copies of it (shown once, as that hit; empty
    /// with [`LookupOptions::all_copies`]).
    pub copies: Vec<Vec<usize>>,
    /// For each hit, how strong a match it is in this catalog (by the cosine of its embedding
    /// with its region's, see [`crate::search::strength`]); None when the index has no bands.
    pub strength: Vec<Option<crate::search::strength::Band>>,
}

/// Results searched beyond K so that K remain once copies are folded into one.
const COPY_SLACK: usize = 8;

/// How far below the best region's top score another kind of item may be to be suggested.
const SUGGESTION_MARGIN: f32 = 0.12;
/// At most this many kinds are suggested.
const MAX_SUGGESTIONS: usize = 4;

/// Search the catalog (in `style`, when given and asked for) with every region and fuse: each item
/// scores as its best region. With
/// automatic regions, the results keep to the kind of item of the best-matching region, and the
/// other kinds become [`Answer::suggestions`].
pub fn search_regions(
    catalog: &Catalog,
    style: Option<&StyleSpace>,
    regions: &[EmbeddedRegion],
    opts: &LookupOptions,
    keep: &crate::search::Keep,
) -> Answer {
    if regions.is_empty() {
        return Answer::default();
    }
    if opts.all_copies {
        return search_for(catalog, style, regions, opts, keep, opts.k);
    }
    // A few more than K, so that K remain once copies are folded together; many more when a
    // photo has so many copies that fewer than K different ones were among them.
    let mut want = opts.k + COPY_SLACK;
    loop {
        let answer = search_for(catalog, style, regions, opts, keep, want);
        let folded: usize = answer.copies.iter().map(Vec::len).sum();
        if answer.hits.len() >= opts.k || answer.hits.len() + folded < want || want >= MAX_WANT {
            return answer;
        }
        want = (want * 8).min(MAX_WANT);
    }
}

/// The most results searched to find K different photos among copies.
const MAX_WANT: usize = 2_000;

/// [`search_regions`] with `want` results searched before copies are folded.
fn search_for(
    catalog: &Catalog,
    style: Option<&StyleSpace>,
    regions: &[EmbeddedRegion],
    opts: &LookupOptions,
    keep: &crate::search::Keep,
    want: usize,
) -> Answer {
    let queries: Vec<&[f32]> = regions.iter().map(|r| r.vector.as_slice()).collect();
    // Colour-aware ranking: more candidates by shape, re-ranked with their colours.
    let palettes = (opts.colour > 0.0).then(|| catalog.palettes()).flatten();
    let wide = LookupOptions {
        k: if palettes.is_some() {
            want.max(crate::search::colour::RERANKED)
        } else {
            want
        },
        ..*opts
    };
    let mut lookups = look_alikes_many(catalog, style, &queries, &wide, keep);
    for (lookup, region) in lookups.iter_mut().zip(regions) {
        match (palettes, &region.colours) {
            (Some(p), Some(c)) => {
                crate::search::colour::rerank(&mut lookup.hits, c, p, opts.colour, want)
            }
            _ => lookup.hits.truncate(want),
        }
    }
    // The kind of item each region matches: the head's prediction, else its best match's label.
    let kinds: Vec<Option<String>> = lookups
        .iter()
        .map(|l| match l.predictions.first() {
            Some(p) => Some(p.label.clone()),
            None => l.hits.first().map(|h| catalog.label(h.index).to_string()),
        })
        .collect();
    // The leading region: the one with the best top score.
    let top = |r: usize| lookups[r].hits.first().map_or(f32::MIN, |h| h.score);
    let lead = (0..regions.len())
        .max_by(|&a, &b| top(a).total_cmp(&top(b)).then(b.cmp(&a)))
        .unwrap_or(0);
    let automatic = regions.iter().any(|r| r.automatic);
    let lead_kind = &kinds[lead];
    // With automatic regions, only those of the lead's kind are fused into the results.
    let fused_regions: Vec<usize> = (0..regions.len())
        .filter(|&r| !automatic || &kinds[r] == lead_kind)
        .collect();
    let mut best: HashMap<usize, RegionHit> = HashMap::new();
    for &r in &fused_regions {
        for h in &lookups[r].hits {
            let e = best
                .entry(h.index)
                .or_insert(RegionHit { hit: *h, region: r });
            if h.score > e.hit.score {
                *e = RegionHit { hit: *h, region: r };
            }
        }
    }
    let mut hits: Vec<RegionHit> = best.into_values().collect();
    hits.sort_by(|a, b| {
        b.hit
            .score
            .total_cmp(&a.hit.score)
            .then(a.hit.index.cmp(&b.hit.index))
    });
    hits.truncate(want);
    let (hits, copies) = fold_copies(catalog, hits, opts);
    // The bands follow the scores shown (colour blended in when it was); a style-space score is
    // another measure, left without a band.
    let colour = if palettes.is_some() { opts.colour } else { 0.0 };
    let strength = match catalog.match_strength() {
        Some(s) if !opts.style_aware => hits
            .iter()
            .map(|h| Some(s.band_blended(h.hit.score, colour)))
            .collect(),
        _ => vec![None; hits.len()],
    };

    let mut suggestions: Vec<Suggestion> = Vec::new();
    if automatic {
        let floor = top(lead) - SUGGESTION_MARGIN;
        let mut order: Vec<usize> = (0..regions.len())
            .filter(|&r| regions[r].automatic || r == lead)
            .collect();
        order.sort_by(|&a, &b| top(b).total_cmp(&top(a)).then(a.cmp(&b)));
        for r in order {
            let (Some(kind), Some(&best)) = (kinds[r].clone(), lookups[r].hits.first()) else {
                continue;
            };
            if best.score < floor || suggestions.iter().any(|s| s.kind == kind) {
                continue;
            }
            suggestions.push(Suggestion {
                region: r,
                kind,
                best,
            });
            if suggestions.len() == MAX_SUGGESTIONS {
                break;
            }
        }
    }
    Answer {
        hits,
        lead,
        suggestions,
        predictions: lookups[lead].predictions.clone(),
        copies,
        strength,
    }
}

/// The first K hits that are no copy of a better one, each with its copies (see
/// [`crate::dups::copies_among`]); all K hits as they are with `all_copies`.
fn fold_copies(
    catalog: &Catalog,
    mut hits: Vec<RegionHit>,
    opts: &LookupOptions,
) -> (Vec<RegionHit>, Vec<Vec<usize>>) {
    if opts.all_copies {
        hits.truncate(opts.k);
        let none = vec![Vec::new(); hits.len()];
        return (hits, none);
    }
    let ranked: Vec<usize> = hits.iter().map(|h| h.hit.index).collect();
    let groups = match crate::dups::copies_among(catalog, &ranked) {
        Ok(g) => g,
        Err(e) => {
            log::warn!("copies among the results not folded: {e}");
            (0..ranked.len()).map(|x| (x, Vec::new())).collect()
        }
    };
    groups
        .into_iter()
        .take(opts.k)
        .map(|(lead, copies)| (hits[lead], copies.into_iter().map(|y| ranked[y]).collect()))
        .unzip()
}
