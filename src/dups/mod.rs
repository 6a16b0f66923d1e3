//! The duplicate finder for catalog staff: the same product photographed twice, re-encoded,
//! resized, cropped, mirrored, recoloured or stamped with text.
//!
//! Two signals, because each misses what the other catches: the CNN embedding (robust to flips,
//! crops, overlays and colour changes, but drifting on small or blocky copies) and a perceptual
//! hash (robust to resizing and recompression, but not to crops), and a colour histogram to tell
//! apart different garments the CNN finds alike (same model, same pose). Candidate pairs come from
//! [`candidates`]; a [`Rule`] decides which pairs are duplicates; connected components of those
//! pairs are the groups. Changing the rule regroups without measuring anything again.

mod candidates;

use std::path::PathBuf;

use serde::Serialize;

pub use crate::embed::fingerprint::{Fingerprint, HASH_BITS, fingerprint};
pub use candidates::{Candidate, CandidateOptions, Embeddings, candidates};

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

impl Default for Rule {
    /// Chosen on the transformed-copies benchmark (`cargo bench --bench figures -- dups`); see the README.
    fn default() -> Self {
        Rule {
            threshold: 0.91,
            max_colour_distance: 0.16,
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

    /// Whether this pair is a duplicate.
    pub fn accepts(&self, c: &Candidate) -> bool {
        c.exact
            || c.hash_distance <= self.max_hash_distance
            || c.cosine >= self.sure_cosine
            || (c.cosine >= self.threshold && c.colour_distance <= self.max_colour_distance)
    }
}

/// A group of duplicates.
#[derive(Debug, Clone, Serialize)]
pub struct Group {
    /// Catalog item indices, the suggested keeper first.
    pub items: Vec<usize>,
    /// The pairs that joined the group.
    pub pairs: Vec<Candidate>,
    /// Every item is byte-identical to the others.
    pub exact: bool,
}

impl Group {
    pub fn keeper(&self) -> usize {
        self.items[0]
    }
}

impl Serialize for Candidate {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Pair", 6)?;
        st.serialize_field("a", &self.a)?;
        st.serialize_field("b", &self.b)?;
        st.serialize_field("cosine", &self.cosine)?;
        st.serialize_field("hash_distance", &self.hash_distance)?;
        st.serialize_field("colour_distance", &self.colour_distance)?;
        st.serialize_field("exact", &self.exact)?;
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
    candidates(embeddings, &prints, &content, opts)
}

/// Groups of duplicates: connected components of the pairs `rule` accepts, largest first; in each,
/// the suggested keeper (largest resolution, then largest file, then shortest path) comes first.
pub fn group(catalog: &Catalog, pairs: &[Candidate], rule: &Rule) -> Vec<Group> {
    group_by(catalog, pairs, |c| rule.accepts(c))
}

/// Groups of the pairs `accept` lets through (see [`group`]).
pub fn group_by(
    catalog: &Catalog,
    pairs: &[Candidate],
    accept: impl Fn(&Candidate) -> bool,
) -> Vec<Group> {
    let accepted: Vec<&Candidate> = pairs.iter().filter(|c| accept(c)).collect();
    let mut parent: Vec<usize> = (0..catalog.len()).collect();
    fn root(p: &mut [usize], mut i: usize) -> usize {
        while p[i] != i {
            p[i] = p[p[i]];
            i = p[i];
        }
        i
    }
    for c in &accepted {
        let (ra, rb) = (root(&mut parent, c.a), root(&mut parent, c.b));
        if ra != rb {
            parent[ra.max(rb)] = ra.min(rb);
        }
    }
    let mut members: std::collections::BTreeMap<usize, Vec<usize>> = Default::default();
    for i in 0..catalog.len() {
        let r = root(&mut parent, i);
        members.entry(r).or_default().push(i);
    }
    let mut edges: std::collections::HashMap<usize, Vec<Candidate>> = Default::default();
    for c in accepted {
        edges.entry(root(&mut parent, c.a)).or_default().push(*c);
    }
    let mut groups: Vec<Group> = members
        .into_iter()
        .filter(|(_, m)| m.len() > 1)
        .map(|(r, mut items)| {
            items.sort_by_key(|&i| keeper_rank(catalog, i));
            let exact = items
                .iter()
                .all(|&i| catalog.items()[i].hash == catalog.items()[items[0]].hash);
            Group {
                items,
                pairs: edges.remove(&r).unwrap_or_default(),
                exact,
            }
        })
        .collect();
    groups.sort_by(|a, b| {
        b.items
            .len()
            .cmp(&a.items.len())
            .then(a.items.cmp(&b.items))
    });
    groups
}

/// Sort key: the best copy to keep first.
fn keeper_rank(
    catalog: &Catalog,
    i: usize,
) -> (
    std::cmp::Reverse<u64>,
    std::cmp::Reverse<u64>,
    usize,
    PathBuf,
) {
    let it = &catalog.items()[i];
    (
        std::cmp::Reverse(it.width as u64 * it.height as u64),
        std::cmp::Reverse(it.size),
        it.path.as_os_str().len(),
        it.path.clone(),
    )
}

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
