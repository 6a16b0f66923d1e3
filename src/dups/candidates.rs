//! Candidate pairs for the duplicate finder, with every signal measured on them.
//!
//! All pairs of a large catalog cannot each get a full-length cosine in time (70,000 items are 2.4
//! billion pairs), so: embeddings are projected onto their leading principal components (fitted on a
//! sample), each item keeps its nearest neighbours in that reduced space (a blocked matrix product,
//! in parallel), and those pairs are re-checked with the full embeddings. Perceptual hashes are
//! compared within buckets of equal chunks (see [`hash_pairs`]), and byte-identical files pair by
//! content hash. A shared catalog whose vectors stay on its server gets its neighbours and cosines
//! from the server's index instead ([`Embeddings::Server`]): no vectors cross the network.

use std::collections::{HashMap, HashSet};

use ndarray::{Array2, ArrayView2, Axis, s};
use rayon::prelude::*;

use crate::embed::fingerprint::Fingerprint;
use crate::search::RemoteVectors;
use crate::search::dot;

/// Rows of the reduced matrix multiplied at once.
const BLOCK: usize = 1024;
/// Items the principal components are fitted on.
const PCA_SAMPLE: usize = 8192;

/// How candidates are gathered.
#[derive(Debug, Clone, Copy)]
pub struct CandidateOptions {
    /// Nearest neighbours each item keeps (in the reduced space).
    pub neighbours: usize,
    /// Neighbours below this reduced-space cosine are not kept.
    pub floor: f32,
    /// Principal components of the reduced space (0: use the full embeddings).
    pub reduced_dims: usize,
    /// Pairs whose perceptual hashes differ in at most this many bits are kept.
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
            max_hash_distance: 24,
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
        Embeddings::Local { rows, dims } => pairs.extend(neighbour_pairs(rows, dims, n, opts)),
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
            exact: content[a] == content[b],
            pixels: None,
            decided_apart: false,
            colours_labelled_apart: false,
        })
        .collect())
}

/// Pairs (a < b) of each item with its nearest neighbours in the reduced space.
fn neighbour_pairs(
    embeddings: &[f32],
    dims: usize,
    n: usize,
    opts: &CandidateOptions,
) -> Vec<(usize, usize)> {
    if n < 2 || opts.neighbours == 0 {
        return Vec::new();
    }
    let x = ArrayView2::from_shape((n, dims), embeddings).expect("n x dims");
    let reduced = if opts.reduced_dims > 0 && opts.reduced_dims < dims {
        reduce(x, opts.reduced_dims)
    } else {
        x.to_owned()
    };
    let m = opts.neighbours;
    (0..n.div_ceil(BLOCK))
        .into_par_iter()
        .flat_map_iter(|blk| {
            let start = blk * BLOCK;
            let end = (start + BLOCK).min(n);
            let rows = reduced.slice(s![start..end, ..]);
            let scores = rows.dot(&reduced.t());
            let mut out = Vec::new();
            for (r, row) in scores.axis_iter(Axis(0)).enumerate() {
                let i = start + r;
                let mut best: Vec<(f32, usize)> = Vec::with_capacity(m + 1);
                for (j, &sc) in row.iter().enumerate() {
                    if j == i || sc < opts.floor {
                        continue;
                    }
                    if best.len() < m || sc > best[best.len() - 1].0 {
                        let pos = best.partition_point(|b| b.0 >= sc);
                        best.insert(pos, (sc, j));
                        best.truncate(m);
                    }
                }
                out.extend(best.into_iter().map(|(_, j)| (i.min(j), i.max(j))));
            }
            out
        })
        .collect()
}

/// Project rows onto the leading `k` principal components (fitted on an even sample of rows) and
/// make them unit length again, so reduced dot products approximate cosines.
fn reduce(x: ArrayView2<f32>, k: usize) -> Array2<f32> {
    let n = x.nrows();
    let step = n.div_ceil(PCA_SAMPLE).max(1);
    let sample: Vec<usize> = (0..n).step_by(step).collect();
    let xs = x.select(Axis(0), &sample);
    let mean = xs.mean_axis(Axis(0)).expect("a sample");
    let centred = &xs - &mean.view().insert_axis(Axis(0));
    let cov = centred.t().dot(&centred);
    // Subspace iteration on the covariance: a few rounds reach the leading components well enough
    // for a pre-filter (the pairs are re-checked with full embeddings).
    let d = cov.nrows();
    let mut rng = fastrand::Rng::with_seed(11);
    let mut basis = Array2::from_shape_simple_fn((d, k), || rng.f32() - 0.5);
    for _ in 0..8 {
        basis = cov.dot(&basis);
        orthonormalise_columns(&mut basis);
    }
    let mut out = (&x - &mean.view().insert_axis(Axis(0))).dot(&basis);
    for mut r in out.axis_iter_mut(Axis(0)) {
        let norm = r.dot(&r).sqrt();
        if norm > 0.0 {
            r /= norm;
        }
    }
    out
}

fn orthonormalise_columns(m: &mut Array2<f32>) {
    for j in 0..m.ncols() {
        for _ in 0..2 {
            for i in 0..j {
                let (done, mut rest) = m.view_mut().split_at(Axis(1), j);
                let proj = done.column(i).dot(&rest.column(0));
                rest.column_mut(0).scaled_add(-proj, &done.column(i));
            }
        }
        let mut c = m.column_mut(j);
        let norm = c.dot(&c).sqrt().max(1e-12);
        c /= norm;
    }
}

/// Pairs (a < b) whose perceptual hashes are within `max` bits, plain or mirrored.
///
/// Not all pairs: the bits are cut into `max + 1` chunks, and two hashes within `max` bits agree
/// exactly on at least one chunk (pigeonhole), so only items sharing a chunk value are compared.
fn hash_pairs(prints: &[Option<Fingerprint>], max: u32, max_trimmed: u32) -> Vec<(usize, usize)> {
    let bits = super::HASH_BITS as usize;
    let chunks_of = |max: u32| (max as usize + 1).min(bits);
    let (plain_chunks, trimmed_chunks) = (chunks_of(max), chunks_of(max_trimmed));
    let chunk_of = |words: &[u64], c: usize, chunks: usize| -> u64 {
        let (from, to) = (c * bits / chunks, (c + 1) * bits / chunks);
        (from..to).fold(0u64, |v, b| (v << 1) | ((words[b / 64] >> (b % 64)) & 1))
    };
    let items: Vec<(usize, Fingerprint)> = prints
        .iter()
        .enumerate()
        .filter_map(|(i, h)| h.map(|h| (i, h)))
        .collect();
    // Per chunk: chunk value of the plain hash -> positions in `items`; then the same of the
    // trimmed hash (two photos within `max` bits on either share a chunk of that one).
    let kinds: Vec<(usize, bool)> = (0..plain_chunks)
        .map(|c| (c, false))
        .chain((0..trimmed_chunks).map(|c| (c, true)))
        .collect();
    let buckets: Vec<(HashMap<u64, Vec<u32>>, usize, bool)> = kinds
        .into_par_iter()
        .map(|(c, trimmed)| {
            let chunks = if trimmed {
                trimmed_chunks
            } else {
                plain_chunks
            };
            let mut m: HashMap<u64, Vec<u32>> = HashMap::new();
            for (x, (_, f)) in items.iter().enumerate() {
                let words = if trimmed { &f.trimmed } else { &f.plain };
                m.entry(chunk_of(words, c, chunks))
                    .or_default()
                    .push(x as u32);
            }
            (m, c, trimmed)
        })
        .collect();
    let items = &items;
    items
        .par_iter()
        .enumerate()
        .flat_map_iter(|(x, (a, fa))| {
            let mut found = HashSet::new();
            for (bucket, c, trimmed) in &buckets {
                let (c, chunks) = (
                    *c,
                    if *trimmed {
                        trimmed_chunks
                    } else {
                        plain_chunks
                    },
                );
                let own = if *trimmed {
                    [&fa.trimmed, &fa.trimmed_mirrored]
                } else {
                    [&fa.plain, &fa.mirrored]
                };
                for words in own {
                    let Some(others) = bucket.get(&chunk_of(words, c, chunks)) else {
                        continue;
                    };
                    for &y in others {
                        let y = y as usize;
                        if y > x
                            && !found.contains(&y)
                            && fa.hash_distance(&items[y].1) <= max.max(max_trimmed)
                        {
                            found.insert(y);
                        }
                    }
                }
            }
            found
                .into_iter()
                .map(move |y| (*a, items[y].0))
                .collect::<Vec<_>>()
        })
        .collect()
}
