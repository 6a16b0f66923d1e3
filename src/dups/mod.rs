//! The duplicate finder for catalog staff: the same product photographed twice, re-encoded,
//! resized, cropped, mirrored, recoloured or stamped with text.
//!
//! Two signals, because each misses what the other catches: the CNN embedding (robust to flips,
//! crops, overlays and colour changes, but drifting on small or blocky copies) and a perceptual
//! hash (robust to resizing and recompression, but not to crops), and a colour histogram to tell
//! apart different garments the CNN finds alike (same model, same pose). Candidate pairs come from
//! [`candidates`]; a [`Rule`] decides which pairs are duplicates; [`group`] gathers them around
//! keepers. Changing the rule regroups without measuring anything again.

mod affine;
pub mod align;
mod candidates;
mod copies;
pub mod detail;
mod groups;
mod nearest;
mod pixels;
mod resolve;
pub mod trash;

use std::path::PathBuf;

use serde::Serialize;

pub use crate::embed::fingerprint::{Fingerprint, HASH_BITS, fingerprint};
pub use candidates::{Candidate, CandidateOptions, Embeddings, candidates};
pub use copies::copies_among;
pub use groups::{Group, group, group_by};
pub use pixels::check_pixels;
pub use resolve::{Keep, Resolution, resolve};

use crate::catalog::{Catalog, physical_file};

/// When a candidate pair counts as a duplicate: byte-identical; or perceptual hashes nearly equal;
/// or the embedding alike and the colours alike; or the embedding nearly equal.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Rule {
    /// Embedding cosine from which a pair is a duplicate when its colours agree too (the slider).
    pub threshold: f32,
    /// ...colours agree: at most this share of colour differs.
    pub max_colour_distance: f32,
    /// Embedding cosine that makes a duplicate on its own.
    pub sure_cosine: f32,
    /// Perceptual hashes at most this many bits apart make a duplicate on their own.
    pub max_hash_distance: u32,
}

/// Embedding cosine a pair of near-equal hashes needs (the lowest of a real copy in the benchmark,
/// shrunk to 40% and re-encoded at quality 30, is 0.50).
pub const HASH_MIN_COSINE: f32 = 0.4;

/// Label columns that name an item's colour (compared without case).
const COLOUR_COLUMNS: [&str; 4] = ["basecolour", "basecolor", "colour", "color"];

/// Item `i`'s colour label, if the catalog's labels have one.
pub fn colour_label(catalog: &Catalog, i: usize) -> Option<&str> {
    catalog.items()[i]
        .labels
        .iter()
        .find(|(k, v)| !v.is_empty() && COLOUR_COLUMNS.iter().any(|c| c.eq_ignore_ascii_case(k)))
        .map(|(_, v)| v)
}

/// "Red & White Striped Shirt · Red": item `i`'s product name and colour from its labels (None
/// without them), for cards, the compare view, the trash confirmation and `dups` output.
pub fn product_title(catalog: &Catalog, i: usize) -> Option<String> {
    let parts: Vec<&str> = catalog.items()[i]
        .labels
        .get("productDisplayName")
        .filter(|v| !v.is_empty())
        .into_iter()
        .chain(colour_label(catalog, i))
        .collect();
    (!parts.is_empty()).then(|| parts.join(" · "))
}

impl Default for Rule {
    /// Chosen on the transformed-copies benchmark (`cargo bench --bench figures -- dups`); see the README.
    fn default() -> Self {
        Rule {
            threshold: 0.91,
            max_colour_distance: COLOURS_AGREE,
            sure_cosine: 0.97,
            max_hash_distance: 20,
        }
    }
}

impl Rule {
    pub fn with_threshold(self, threshold: f32) -> Self {
        Rule {
            threshold,
            sure_cosine: self.sure_cosine.max(threshold),
            ..self
        }
    }

    /// Whether this pair is a duplicate: not decided apart by the user, and byte-identical, or alike
    /// by the signals or one shot by its fine detail, and neither a colour variant by its pixels,
    /// nor two shots by its fine detail, nor labelled in two colours.
    pub fn accepts(&self, c: &Candidate) -> bool {
        !c.decided_apart
            && (c.exact
                || ((self.alike(c) || same_shot(c))
                    && !c.colours_labelled_apart
                    && !c.pixels.is_some_and(|p| {
                        p.colour_variant() || p.detail.is_some_and(|d| d.other_shot())
                    })))
    }

    /// Whether the embedding, hash and colours alone make this pair a duplicate. Near-equal hashes
    /// count only with some likeness of content too: two nearly blank photos (a white top on white,
    /// cufflinks on white) have near-equal hashes.
    pub fn alike(&self, c: &Candidate) -> bool {
        (c.hash_distance <= self.max_hash_distance && c.cosine >= HASH_MIN_COSINE)
            || c.cosine >= self.sure_cosine
            || (c.cosine >= self.threshold && c.colour_distance <= self.max_colour_distance)
    }
}

/// Embedding cosine from which a pair whose colours differ is checked for a tone edit between
/// them (brightness, contrast), as for the fine detail: such a copy drifts down to 0.89 in the
/// benchmark, to 0.81 for a green shirt of the demo. Its histogram moves by up to 0.76, beyond
/// what [`DETAIL_MAX_COLOUR_DISTANCE`] lets the detail decide.
pub const TONED_MIN_COSINE: f32 = DETAIL_MIN_COSINE;
/// ...and whose perceptual hashes are at most this many bits apart: a tone edit keeps the signs of
/// the lightness's frequencies but where it clipped (the benchmark's brighter copies are 6-32 bits
/// apart; of the 7,753 other pairs from cosine 0.75 whose colours differ, 344 are within 48).
pub const TONED_MAX_HASH_DISTANCE: u32 = 48;
/// ...and its fine detail decides when, with the edit undone, at most this share of its garment
/// cells differs in colour (one cell, where JPEG or the alignment moved an edge) and its whole
/// colours agree (a garment recoloured in a small part of the frame, briefs on a model, leaves
/// the whole histogram alike, not its cells).
const TONED_CELLS_DIFFER: f32 = 0.03;

/// Whether the pixels found a tone edit between the pair (brightness, contrast) that explains
/// its colours: see [`align::tone`].
fn toned_colours_agree(cosine: f32, p: &align::PixelCheck) -> bool {
    cosine >= TONED_MIN_COSINE
        && p.colour_differs <= TONED_CELLS_DIFFER
        && p.toned_colour_distance.is_some_and(|d| d <= COLOURS_AGREE)
}

/// Embedding cosine from which a pair's fine detail is compared, and can make it a duplicate (the
/// lowest of a copy with a text banner or in a screenshot in the benchmark is 0.78; under 0.8, only
/// when the colours agree beside an overlay at the coarse alignment already).
pub const DETAIL_MIN_COSINE: f32 = 0.75;
/// ...when at most this share of colour differs (a banner or a window's chrome adds colour; a
/// product in another colour changes most of it).
pub const DETAIL_MAX_COLOUR_DISTANCE: f32 = 0.4;

/// ...or this share, when one of the two is a low, wide item (see [`align::Pixels::broad`]).
pub const NARROW_MAX_COLOUR_DISTANCE: f32 = 0.2;

/// Share of colour (by histogram) up to which two photos' colours agree with no overlay to
/// explain the rest (the default rule's [`Rule::max_colour_distance`]).
pub const COLOURS_AGREE: f32 = 0.16;

/// Whether a pair's fine detail was compared (see [`wants_detail`], or its colours agree once a
/// tone edit between the two is undone: see [`TONED_MIN_COSINE`]) and shows one shot, and its
/// colours agree, or agree beside what was laid over one of them (a banner, a sticker: the same
/// detail in another colour is a colour variant; a box of ties with another tie in it is
/// another product).
pub fn same_shot(c: &Candidate) -> bool {
    (wants_detail(c) || c.pixels.is_some_and(|p| toned_colours_agree(c.cosine, &p)))
        && c.pixels
            .and_then(|p| p.detail)
            .is_some_and(|d| d.same_shot())
        && colours_beside_overlay(c).is_none_or(|x| x <= align::BESIDE_OVERLAY_COLOUR)
}

/// How much of the colour differs beside an overlay, when a pair one shot by its fine detail
/// differs by more than [`COLOURS_AGREE`] in its whole colours (an overlay must explain that);
/// None when its colours agree anyway or its detail says no. 1 when not measured.
pub fn colours_beside_overlay(c: &Candidate) -> Option<f32> {
    let p = c.pixels?;
    (p.detail.is_some_and(|d| d.same_shot()) && c.colour_distance > COLOURS_AGREE)
        .then(|| p.colour_beside_overlay.unwrap_or(1.0))
}

/// Whether a pair is close enough for its fine detail to decide it.
fn wants_detail(c: &Candidate) -> bool {
    !c.exact && c.cosine >= DETAIL_MIN_COSINE && c.colour_distance <= DETAIL_MAX_COLOUR_DISTANCE
}

impl Serialize for Candidate {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Pair", 9)?;
        st.serialize_field("a", &self.a)?;
        st.serialize_field("b", &self.b)?;
        st.serialize_field("cosine", &self.cosine)?;
        st.serialize_field("hash_distance", &self.hash_distance)?;
        st.serialize_field("colour_distance", &self.colour_distance)?;
        st.serialize_field("exact", &self.exact)?;
        st.serialize_field("pixels", &self.pixels)?;
        st.serialize_field("decided_apart", &self.decided_apart)?;
        st.serialize_field("colours_labelled_apart", &self.colours_labelled_apart)?;
        st.end()
    }
}

/// The candidate pairs of a catalog (see [`candidates`]).
pub fn catalog_candidates(
    catalog: &Catalog,
    opts: &CandidateOptions,
) -> crate::Result<Vec<Candidate>> {
    let prints = catalog.fingerprints()?;
    let content: Vec<&[u8]> = catalog
        .items()
        .iter()
        .map(|it| it.hash.as_slice())
        .collect();
    let local;
    let embeddings = match catalog.vectors().remote() {
        Some(server) => Embeddings::Server(server),
        None => {
            local = catalog.vectors().to_f32();
            Embeddings::Local {
                rows: &local,
                dims: catalog.dims(),
            }
        }
    };
    let mut pairs = candidates(embeddings, &prints, &content, opts)?;
    check_pixels(catalog, &mut pairs)?;
    let colours: Vec<Option<&str>> = (0..catalog.len())
        .map(|i| colour_label(catalog, i))
        .collect();
    let decided = catalog.store().not_duplicates()?;
    let apart: std::collections::HashSet<(&[u8], &[u8])> = decided
        .iter()
        .map(|d| (d.a.as_slice(), d.b.as_slice()))
        .collect();
    for c in &mut pairs {
        c.colours_labelled_apart = matches!(
            (colours[c.a], colours[c.b]),
            (Some(x), Some(y)) if !x.eq_ignore_ascii_case(y)
        );
        if !apart.is_empty() {
            let (a, b) = (content[c.a], content[c.b]);
            c.decided_apart = apart.contains(&if a <= b { (a, b) } else { (b, a) });
        }
    }
    Ok(pairs)
}

/// Say that items `a` and `b` of `catalog` are not duplicates (or, with `apart` false, take that
/// back); kept in the catalog's store by content hash.
pub fn decide_apart(catalog: &Catalog, pairs: &[(usize, usize)], apart: bool) -> crate::Result<()> {
    let hashes: Vec<(Vec<u8>, Vec<u8>)> = pairs
        .iter()
        .map(|&(a, b)| {
            (
                catalog.items()[a].hash.clone(),
                catalog.items()[b].hash.clone(),
            )
        })
        .collect();
    catalog.store().set_not_duplicates(&hashes, apart)
}

/// The lowest threshold the window's slider offers: pairs a rule at it could accept get their
/// pixels compared.
pub const LOWEST_THRESHOLD: f32 = 0.80;

/// Find the duplicate groups of a catalog with the default candidates and `rule`.
pub fn find_duplicates(catalog: &Catalog, rule: &Rule) -> crate::Result<Vec<Group>> {
    Ok(group(
        catalog,
        &catalog_candidates(catalog, &CandidateOptions::default())?,
        rule,
    ))
}

/// Why some marked files may not go to the trash.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrashRefused {
    /// Every copy of a group is marked.
    #[error("every copy of a group is marked ({}): keep at least one", join_paths(.0))]
    LastCopy(Vec<PathBuf>),
    /// What stays of a group is missing now, or is the marked file itself under another name.
    #[error(
        "{} would remove the last real copy of its group: what stays ({}) is gone or is the same file under another name (a link); keep one of them",
        .marked.display(), join_paths(.kept)
    )]
    NoRealCopyKept { marked: PathBuf, kept: Vec<PathBuf> },
}

fn join_paths(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The files to move to the trash for the `marked` items. Refused when, in any group, no real file
/// would stay: every item marked, or what stays missing now or the same physical file as a marked
/// one (checked on the disk now, links followed, not from the index).
pub fn trash_plan(
    catalog: &Catalog,
    groups: &[Group],
    marked: &[usize],
) -> Result<Vec<PathBuf>, TrashRefused> {
    // Trashing a path that is itself a link removes the link only; any other path (even through a
    // linked folder) takes its physical file.
    let marked_files: Vec<_> = marked
        .iter()
        .map(|&i| {
            let path = catalog.abs_path(i);
            let is_link = std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_symlink());
            (i, if is_link { None } else { physical_file(&path) })
        })
        .collect();
    for g in groups {
        let Some((first, _)) = marked_files.iter().find(|(i, _)| g.items.contains(i)) else {
            continue;
        };
        let kept: Vec<usize> = g
            .items
            .iter()
            .copied()
            .filter(|i| !marked.contains(i))
            .collect();
        if kept.is_empty() {
            return Err(TrashRefused::LastCopy(
                g.items.iter().map(|&i| catalog.abs_path(i)).collect(),
            ));
        }
        let gone: Vec<_> = marked_files
            .iter()
            .filter(|(i, _)| g.items.contains(i))
            .filter_map(|(_, id)| id.as_ref())
            .collect();
        let a_real_copy_stays = kept
            .iter()
            .any(|&i| physical_file(&catalog.abs_path(i)).is_some_and(|id| !gone.contains(&&id)));
        if !a_real_copy_stays {
            return Err(TrashRefused::NoRealCopyKept {
                marked: catalog.abs_path(*first),
                kept: kept.iter().map(|&i| catalog.abs_path(i)).collect(),
            });
        }
    }
    Ok(marked.iter().map(|&i| catalog.abs_path(i)).collect())
}

/// Write the marked items as CSV: path, group, keeper path, width, height, bytes.
pub fn write_marked_csv(
    catalog: &Catalog,
    groups: &[Group],
    marked: &[usize],
    out: &std::path::Path,
) -> crate::Result<usize> {
    let mut w = csv::Writer::from_path(out).map_err(|e| crate::Error::Io {
        path: out.to_path_buf(),
        source: std::io::Error::other(e),
    })?;
    let io = |e: csv::Error| crate::Error::Io {
        path: out.to_path_buf(),
        source: std::io::Error::other(e),
    };
    w.write_record(["path", "group", "keeper", "width", "height", "bytes"])
        .map_err(io)?;
    let mut n = 0;
    for &i in marked {
        let g = groups.iter().position(|g| g.items.contains(&i));
        let it = &catalog.items()[i];
        w.write_record([
            catalog.abs_path(i).display().to_string(),
            g.map(|g| (g + 1).to_string()).unwrap_or_default(),
            g.map(|g| catalog.abs_path(groups[g].keeper()).display().to_string())
                .unwrap_or_default(),
            it.width.to_string(),
            it.height.to_string(),
            it.size.to_string(),
        ])
        .map_err(io)?;
        n += 1;
    }
    w.flush().map_err(|e| crate::Error::Io {
        path: out.to_path_buf(),
        source: e,
    })?;
    Ok(n)
}
