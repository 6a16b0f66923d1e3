//! Candidate pairs for the duplicate finder, with every signal measured on them.
//!
//! All pairs of a large catalog cannot each get a full-length cosine in time (70,000 items are 2.4
//! billion pairs), so: embeddings are projected onto their leading principal components (fitted on a
//! sample), each item keeps its nearest neighbours in that reduced space (see [`super::nearest`]),
//! and those pairs are re-checked with the full embeddings. Perceptual hashes are
//! compared within buckets of equal chunks (see [`hash_pairs`]), and byte-identical files pair by
//! content hash. A shared catalog whose vectors stay on its server gets its neighbours and cosines
//! from the server's index instead ([`Embeddings::Server`]): no vectors cross the network.

use std::collections::{HashMap, HashSet};

use rayon::prelude::*;

use crate::embed::fingerprint::{Fingerprint, PHashes};
use crate::search::RemoteVectors;
use crate::search::dot;

/// How candidates are gathered.
#[derive(Debug, Clone, Copy)]
pub struct CandidateOptions {
    /// Nearest neighbours each item keeps (in the reduced space).
    pub neighbours: usize,
    /// Neighbours below this reduced-space cosine are not kept.
    pub floor: f32,
    /// Principal components of the reduced space (0: use the full embeddings).
    pub reduced_dims: usize,
    /// Pairs whose perceptual hashes differ in at most this many bits are kept (more bits cost
    /// more: the search compares pairs that share one of `max + 1` chunks of the hash).
    pub max_hash_distance: u32,
    /// ...and pairs whose trimmed hashes differ in at most this many (tighter: trimmed photos of
    /// plain backgrounds, Fashion-MNIST's say, share more chunks, and each shared chunk costs).
    pub max_trimmed_hash_distance: u32,
}

impl Default for CandidateOptions {
    fn default() -> Self {
        CandidateOptions {
            neighbours: 8,
            floor: 0.5,
            reduced_dims: 128,
            // The rule's own bound: hashes further apart never make a duplicate on their own.
            max_hash_distance: 20,
            max_trimmed_hash_distance: 20,
        }
    }
}

/// One candidate pair and its signals.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Candidate {
    pub a: usize,
    pub b: usize,
    /// Cosine of the full embeddings.
    pub cosine: f32,
    /// Differing pHash bits (mirror-invariant); all of them when a fingerprint is missing.
    pub hash_distance: u32,
    /// Share of colour that differs, 0..1 (1 when a fingerprint is missing).
    pub colour_distance: f32,
    /// Colour `a` has beyond `b` less colour `b` has beyond `a` (see
    /// [`Fingerprint::extra_colour`]): positive when `a` is `b` with something laid over it.
    pub extra_colour: f32,
    /// The two files are byte-identical.
    pub exact: bool,
    /// The two photos compared pixel by pixel (see [`super::align`]); None when not compared
    /// (byte-identical, too far apart to be duplicates, or no thumbnail).
    pub pixels: Option<super::align::PixelCheck>,
    /// The user said these two are not duplicates (kept in the index): never grouped again.
    pub decided_apart: bool,
    /// The catalog's labels give the two different colours (evidence of two products).
    pub colours_labelled_apart: bool,
}

/// Where the items' embeddings are.
#[derive(Clone, Copy)]
pub enum Embeddings<'a> {
    /// In memory: `n x dims` unit rows.
    Local { rows: &'a [f32], dims: usize },
    /// Kept by a server, which finds each item's neighbours with its own index.
    Server(&'a dyn RemoteVectors),
}

/// Gather the candidate pairs of `n` items from their embeddings, fingerprints and content hashes.
pub fn candidates(
    embeddings: Embeddings,
    prints: &[Option<Fingerprint>],
    content: &[&[u8]],
    opts: &CandidateOptions,
) -> crate::Result<Vec<Candidate>> {
    let n = content.len();
    let mut pairs: HashSet<(usize, usize)> = HashSet::new();
    let mut by_content: HashMap<&[u8], Vec<usize>> = HashMap::new();
    for (i, h) in content.iter().enumerate() {
        by_content.entry(h).or_default().push(i);
    }
    for members in by_content.values().filter(|m| m.len() > 1) {
        for (x, &a) in members.iter().enumerate() {
            for &b in &members[x + 1..] {
                pairs.insert((a, b));
            }
        }
    }
    match embeddings {
        Embeddings::Local { rows, dims } => {
            pairs.extend(super::nearest::neighbour_pairs(rows, dims, n, opts))
        }
        Embeddings::Server(server) if opts.neighbours > 0 => {
            pairs.extend(server.neighbour_pairs(opts.neighbours, opts.floor)?)
        }
        Embeddings::Server(_) => {}
    }
    pairs.extend(hash_pairs(
        prints,
        opts.max_hash_distance,
        opts.max_trimmed_hash_distance,
    ));
    let mut pairs: Vec<(usize, usize)> = pairs.into_iter().collect();
    pairs.sort_unstable();
    let cosines: Vec<f32> = match embeddings {
        Embeddings::Local { rows, dims } => pairs
            .par_iter()
            .map(|&(a, b)| {
                dot(
                    &rows[a * dims..(a + 1) * dims],
                    &rows[b * dims..(b + 1) * dims],
                )
            })
            .collect(),
        Embeddings::Server(server) => server.cosines(&pairs)?,
    };
    Ok(pairs
        .into_par_iter()
        .zip(cosines)
        .map(|((a, b), cosine)| Candidate {
            a,
            b,
            cosine,
            hash_distance: match (&prints[a], &prints[b]) {
                (Some(x), Some(y)) => x.hash_distance(y),
                _ => super::HASH_BITS,
            },
            colour_distance: match (&prints[a], &prints[b]) {
                (Some(x), Some(y)) => x.colour_distance(y),
                _ => 1.0,
            },
            extra_colour: match (&prints[a], &prints[b]) {
                (Some(x), Some(y)) => x.extra_colour(y),
                _ => 0.0,
            },
            exact: content[a] == content[b],
            pixels: None,
            decided_apart: false,
            colours_labelled_apart: false,
        })
        .collect())
}

/// Pairs (a < b) whose perceptual hashes are within `max` bits, plain or mirrored.
///
/// Not all pairs: the bits are cut into `max + 1` chunks, and two hashes within `max` bits agree
/// exactly on at least one chunk (pigeonhole), so only items sharing a chunk value are compared.
/// Each pair is compared once, however many chunks it shares (photos on plain backgrounds share
/// most), and only the hashes are read.
fn hash_pairs(prints: &[Option<Fingerprint>], max: u32, max_trimmed: u32) -> Vec<(usize, usize)> {
    let bits = super::HASH_BITS as usize;
    let chunks_of = |max: u32| (max as usize + 1).min(bits);
    let (plain_chunks, trimmed_chunks) = (chunks_of(max), chunks_of(max_trimmed));
    // Chunk c holds every `chunks`-th bit from bit c: neighbouring frequencies agree on most photos
    // of one kind (garments centred on a plain background), so chunks of consecutive bits would put
    // most of a catalog in a few buckets.
    let chunk_of = |words: &[u64], c: usize, chunks: usize| -> u64 {
        (c..bits)
            .step_by(chunks)
            .fold(0u64, |v, b| (v << 1) | ((words[b / 64] >> (b % 64)) & 1))
    };
    let (ids, items): (Vec<usize>, Vec<PHashes>) = prints
        .iter()
        .enumerate()
        .filter_map(|(i, h)| h.as_ref().map(|h| (i, h.hashes)))
        .unzip();
    // Per chunk: chunk value of the plain hash -> positions in `items`, ascending; then the same of
    // the trimmed hash (two photos within `max` bits on either share a chunk of that one).
    let kinds: Vec<Chunk> = (0..plain_chunks)
        .map(|c| Chunk {
            index: c,
            of: plain_chunks,
            trimmed: false,
        })
        .chain((0..trimmed_chunks).map(|c| Chunk {
            index: c,
            of: trimmed_chunks,
            trimmed: true,
        }))
        .collect();
    let buckets: Vec<(Chunk, HashMap<u64, Vec<u32>>)> = kinds
        .into_par_iter()
        .map(|k| {
            let mut m: HashMap<u64, Vec<u32>> = HashMap::new();
            for (x, h) in items.iter().enumerate() {
                let words = if k.trimmed { &h.trimmed } else { &h.plain };
                m.entry(chunk_of(words, k.index, k.of))
                    .or_default()
                    .push(x as u32);
            }
            (k, m)
        })
        .collect();
    let (items, ids) = (&items, &ids);
    let within = max.max(max_trimmed);
    items
        .par_iter()
        .enumerate()
        // Per worker: the item each other item was last compared with, so a pair sharing many
        // chunks is compared once.
        .map_init(
            || vec![u32::MAX; items.len()],
            |compared, (x, ha)| {
                let mut found = Vec::new();
                for (k, bucket) in &buckets {
                    let own = if k.trimmed {
                        [&ha.trimmed, &ha.trimmed_mirrored]
                    } else {
                        [&ha.plain, &ha.mirrored]
                    };
                    for words in own {
                        let Some(others) = bucket.get(&chunk_of(words, k.index, k.of)) else {
                            continue;
                        };
                        let after = others.partition_point(|&y| y as usize <= x);
                        for &y in &others[after..] {
                            let seen = &mut compared[y as usize];
                            if *seen != x as u32 {
                                *seen = x as u32;
                                if ha.distance(&items[y as usize]) <= within {
                                    found.push((ids[x], ids[y as usize]));
                                }
                            }
                        }
                    }
                }
                found
            },
        )
        .flatten_iter()
        .collect()
}

/// One of the chunks a hash is cut into: chunk `index` of `of`, of the whole or the trimmed hash.
#[derive(Clone, Copy)]
struct Chunk {
    index: usize,
    of: usize,
    trimmed: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::embed::fingerprint::HASH_BITS;

    #[test]
    fn hash_pairs_are_every_pair_within_the_bound() {
        // Families of hashes a few bits apart, whole or trimmed (copies), and unrelated ones.
        let mut rng = fastrand::Rng::with_seed(3);
        let words = |rng: &mut fastrand::Rng| std::array::from_fn(|_| rng.u64(..));
        let mut prints: Vec<Option<Fingerprint>> = Vec::new();
        for _ in 0..300 {
            let base = Fingerprint {
                hashes: PHashes {
                    plain: words(&mut rng),
                    mirrored: words(&mut rng),
                    trimmed: words(&mut rng),
                    trimmed_mirrored: words(&mut rng),
                },
                ..Fingerprint::default()
            };
            for _ in 0..rng.usize(1..5) {
                let mut f = base;
                for _ in 0..rng.u32(0..40) {
                    let b = rng.usize(..HASH_BITS as usize);
                    let flip = |w: &mut [u64; 4]| w[b / 64] ^= 1 << (b % 64);
                    if rng.bool() {
                        flip(&mut f.hashes.plain)
                    } else {
                        flip(&mut f.hashes.trimmed)
                    }
                }
                prints.push(Some(f));
            }
            if rng.bool() {
                prints.push(None);
            }
        }
        let found: HashSet<(usize, usize)> = hash_pairs(&prints, 20, 20).into_iter().collect();
        let mut expected = HashSet::new();
        for a in 0..prints.len() {
            for b in a + 1..prints.len() {
                if let (Some(x), Some(y)) = (&prints[a], &prints[b])
                    && x.hash_distance(y) <= 20
                {
                    expected.insert((a, b));
                }
            }
        }
        assert!(expected.len() > 100, "a test with pairs to find");
        assert_eq!(found, expected);
    }
}
