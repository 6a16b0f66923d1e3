//! A shared catalog in PostgreSQL with pgvector: indexing real photos into it against into SQLite,
//! loading synthetic rows at scale (drawn from the real embeddings, as the million-item figures
//! are), building the HNSW index, and searching it: recall@10 against exact search and latency for
//! several `hnsw.ef_search` values. Against PGlite (PostgreSQL in WebAssembly, one thread) unless
//! `--url` names a real server: PGlite's times are an upper bound.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Args;

use crate::common::pg::PgServer;
use crate::common::{copy_photos, demo_photos, recall};
use lookalike::catalog::{CatalogStore, NewItem, PgStore, Storage, store_for};
use lookalike::embed::fingerprint::Fingerprint;
use lookalike::embed::{Embedder, EngineOptions};
use lookalike::indexer::{IndexOptions, index_folder};
use lookalike::search::{Hit, top_k};

#[derive(Args)]
pub struct PgArgs {
    /// Synthetic items for the search figures.
    #[arg(long, default_value_t = 100_000)]
    pub items: usize,
    /// Real demo photos indexed into PostgreSQL and into SQLite for the throughput figure.
    #[arg(long, default_value_t = 400)]
    pub photos: usize,
    /// Queries for recall and latency.
    #[arg(long, default_value_t = 50)]
    pub queries: usize,
    /// A real server (a database lookalike may fill); default: PGlite started here.
    #[arg(long)]
    pub url: Option<String>,
    /// Also time the duplicate finder's neighbour pairs found by the server (every item's 8
    /// nearest through the HNSW index) and their recall against exact neighbours.
    #[arg(long)]
    pub dups: bool,
}

const EF: [usize; 6] = [40, 100, 200, 400, 700, 1000];
const BATCH: usize = 1_000;

/// Row `i` of the synthetic catalog: a random point between two real embeddings plus a little noise.
fn synthetic(base: &[f32], dims: usize, i: u64, out: &mut [f32]) {
    let mut rng = fastrand::Rng::with_seed(i.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x5A5A);
    let m = base.len() / dims;
    let (a, b) = (rng.usize(..m), rng.usize(..m));
    let t = rng.f32() * 0.5;
    for j in 0..dims {
        let noise = (rng.f32() - 0.5) * 0.01;
        out[j] = (1.0 - t) * base[a * dims + j] + t * base[b * dims + j] + noise;
    }
    lookalike::embed::l2_normalize(out);
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

pub fn run(a: PgArgs) -> Result<std::process::ExitCode> {
    println!("CPU: {}", lookalike::cpu::describe());
    let tmp = tempfile::tempdir()?;
    let server = match &a.url {
        Some(_) => None,
        None => Some(PgServer::pglite(&[])),
    };
    let url = a
        .url
        .clone()
        .unwrap_or_else(|| server.as_ref().map(|s| s.url.clone()).unwrap_or_default());
    println!(
        "server: {}",
        if server.is_some() {
            "PGlite 0.5.14 (PostgreSQL 18 in WebAssembly, one thread) with pgvector 0.8"
        } else {
            "the one given"
        }
    );

    // Real photos, the same model, into both stores.
    let embedder = Embedder::start(lookalike::model::default_model()?, EngineOptions::default())?;
    let root = tmp.path().join("photos");
    copy_photos(&demo_photos(a.photos), &root);
    let rate = |index: &Path| -> Result<f64> {
        let t = Instant::now();
        let r = index_folder(
            &root,
            index,
            &embedder,
            &IndexOptions::default(),
            &AtomicBool::new(false),
            |_| {},
        )?;
        Ok(r.embedded as f64 / t.elapsed().as_secs_f64())
    };
    let sqlite = rate(&tmp.path().join("i.sqlite"))?;
    let pg_url = PathBuf::from(&url);
    let pg = rate(&pg_url)?;
    println!(
        "indexing {} demo photos: SQLite {sqlite:.1} photos/s, PostgreSQL {pg:.1} photos/s ({:.2}x)",
        a.photos,
        pg / sqlite
    );

    // The search figures on synthetic rows drawn from the real embeddings.
    let real = store_for(&pg_url).load(Storage::Full)?;
    let dims = real.dims();
    let base = real.vectors().to_f32().into_owned();
    let store = PgStore::new(&pg_url);
    store.remove_all()?;
    let mut w = store.open_writer()?;
    for (key, value) in [
        ("root", "/synthetic".to_string()),
        ("model", real.model().to_string()),
        ("pooling", real.pooling().name().to_string()),
        ("resize", real.resize().name().to_string()),
        ("dims", dims.to_string()),
    ] {
        w.set_meta(key, &value)?;
    }
    let t = Instant::now();
    let mut all = vec![0.0f32; a.items * dims];
    let fingerprint = Fingerprint::default();
    for start in (0..a.items).step_by(BATCH) {
        let end = (start + BATCH).min(a.items);
        for i in start..end {
            synthetic(&base, dims, i as u64, &mut all[i * dims..(i + 1) * dims]);
        }
        w.write(&mut |iw| {
            for i in start..end {
                let rel = PathBuf::from(format!("s/{i}.jpg"));
                iw.upsert(&NewItem {
                    rel: &rel,
                    size: 0,
                    mtime_ns: 0,
                    hash: &(i as u64).to_le_bytes(),
                    width: 1,
                    height: 1,
                    labels: "{}",
                    embedding: &all[i * dims..(i + 1) * dims],
                    fingerprint,
                    thumb: &[],
                })?;
            }
            Ok(())
        })?;
    }
    let load_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    w.finish(dims)?;
    let build_s = t.elapsed().as_secs_f64();
    drop(w);
    println!(
        "{} synthetic items: written in {load_s:.1} s ({:.0} rows/s), HNSW index (m 16, ef_construction 128) built and its recall measured in {build_s:.1} s; searches use it: {}",
        a.items,
        a.items as f64 / load_s,
        store.search_uses_index(dims)?
    );

    let curve = store
        .recall_curve()?
        .context("no recall curve recorded with the index")?;
    println!("recall@10 by ef_search, measured by the index build on its own probes: {curve}");

    // Queries, not rows of the catalog: half are real embeddings with a little noise, half lie
    // halfway between two real embeddings (harder: no dense cluster around them).
    let ids: Vec<i64> = store_for(&pg_url)
        .load(Storage::Server)?
        .items()
        .iter()
        .map(|it| it.id)
        .collect();
    let mut rng = fastrand::Rng::with_seed(7);
    let queries: Vec<Vec<f32>> = (0..a.queries)
        .map(|n| {
            let m = base.len() / dims;
            let (j, l) = (rng.usize(..m), rng.usize(..m));
            let mut q: Vec<f32> = (0..dims)
                .map(|d| {
                    let x = base[j * dims + d];
                    if n % 2 == 0 {
                        x + (rng.f32() - 0.5) * 0.02
                    } else {
                        0.5 * (x + base[l * dims + d])
                    }
                })
                .collect();
            lookalike::embed::l2_normalize(&mut q);
            q
        })
        .collect();
    let exact: Vec<Vec<Hit>> = queries
        .iter()
        .map(|q| top_k(&all, dims, q, 10, |_| true))
        .collect();
    println!("| ef_search | recall@10 | median ms | p95 ms |");
    println!("|---|---|---|---|");
    let mut measured = Vec::new();
    for ef in EF {
        let mut times = Vec::new();
        let mut r = 0.0;
        for (q, e) in queries.iter().zip(&exact) {
            let t = Instant::now();
            let found = store.nearest(q, 10, ef).context("pgvector search")?;
            times.push(t.elapsed().as_secs_f64() * 1e3);
            let hits: Vec<Hit> = found
                .iter()
                .filter_map(|(id, score)| {
                    Some(Hit {
                        index: ids.binary_search(id).ok()?,
                        score: *score,
                    })
                })
                .collect();
            r += recall(e, &hits);
        }
        let p95 = {
            let mut t = times.clone();
            t.sort_by(f64::total_cmp);
            t[(t.len() * 95 / 100).min(t.len() - 1)]
        };
        let r = r / queries.len() as f64;
        measured.push((ef, r));
        println!("| {ef} | {r:.3} | {:.1} | {p95:.1} |", median(times));
    }
    // A search asks for a recall; the width comes from the build's own probes. Does the recall
    // asked for hold on these queries (which the build never saw)?
    for target in [0.9, 0.95, 0.99] {
        let (ef, promised) = curve.ef_for(target);
        let got = measured
            .iter()
            .find(|m| m.0 == ef)
            .map_or(f64::NAN, |m| m.1);
        println!(
            "asked for recall {target}: ef_search {ef} (probes {promised:.3}), these queries {got:.3}"
        );
    }
    if a.dups {
        duplicate_neighbours(&pg_url, &all, dims)?;
    }
    Ok(std::process::ExitCode::SUCCESS)
}

/// The duplicate finder's neighbour pairs on a catalog kept on the server: time, and the share of
/// 500 sampled items' exact 8 nearest neighbours (cosine >= 0.5) that the pairs hold.
fn duplicate_neighbours(url: &Path, all: &[f32], dims: usize) -> Result<()> {
    let catalog = store_for(url).load(Storage::Server)?;
    let Some(server) = catalog.vectors().remote() else {
        anyhow::bail!("the vectors were not left on the server");
    };
    let t = Instant::now();
    let pairs: std::collections::HashSet<(usize, usize)> =
        server.neighbour_pairs(8, 0.5)?.into_iter().collect();
    let took = t.elapsed().as_secs_f64();
    let n = all.len() / dims;
    let (mut found, mut wanted) = (0usize, 0usize);
    for i in (0..n).step_by((n / 500).max(1)) {
        let exact = top_k(all, dims, &all[i * dims..(i + 1) * dims], 9, |j| j != i);
        for h in exact.iter().filter(|h| h.score >= 0.5).take(8) {
            wanted += 1;
            found += pairs.contains(&(i.min(h.index), i.max(h.index))) as usize;
        }
    }
    println!(
        "duplicates on the server: {} neighbour pairs of {n} items in {took:.1} s ({:.0} items/s), recall of the exact 8 nearest {:.3}",
        pairs.len(),
        n as f64 / took,
        found as f64 / wanted.max(1) as f64
    );
    Ok(())
}
