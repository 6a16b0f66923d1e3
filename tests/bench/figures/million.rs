//! A million items: compact int8 storage, exact and two-stage search, open time, memory and the
//! map's projection. The vectors are synthetic but drawn from the real catalog's embeddings: each
//! is a random point between two real embeddings plus a little noise, so the spectrum and the
//! neighbourhoods are those of real photos, not of random directions.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Result;

use crate::common::recall;
use lookalike::catalog::{COMPACT_FROM, Catalog, NewItem, copy_catalog, sidecar_path, store_for};
use lookalike::embed::Embedder;
use lookalike::map::MAP_FIT_ROWS;
use lookalike::search::compact::{Int8Rows, Simd, TwoStage};
use lookalike::search::{Hit, top_k};

const QUERIES: usize = 30;
const REDUCED_DIMS: usize = 128;
/// Rows the pre-filter's axes are fitted on.
const PCA_SAMPLE: usize = 5_000;
/// Candidates re-ranked, tried in turn: recall against latency.
const CANDIDATES: [usize; 3] = [1000, 2000, 4000];

/// Row `i` of the synthetic catalog, from the real embeddings `base` (`m x dims`); returns the
/// real item it lies nearer to.
fn synthetic(base: &[f32], dims: usize, i: u64, out: &mut [f32]) -> usize {
    let mut rng = fastrand::Rng::with_seed(i.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xA5A5);
    let m = base.len() / dims;
    let (a, b) = (rng.usize(..m), rng.usize(..m));
    let t = rng.f32() * 0.5;
    let (va, vb) = (&base[a * dims..][..dims], &base[b * dims..][..dims]);
    for j in 0..dims {
        let noise = (rng.f32() - 0.5) * 0.01;
        out[j] = (1.0 - t) * va[j] + t * vb[j] + noise;
    }
    lookalike::embed::l2_normalize(out);
    a
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Median milliseconds of `search` over the queries, and its hits for each.
fn timed(queries: &[Vec<f32>], search: impl Fn(&[f32]) -> Vec<Hit>) -> (f64, Vec<Vec<Hit>>) {
    let mut times = Vec::new();
    let mut hits = Vec::new();
    for q in queries {
        let t = Instant::now();
        hits.push(search(q));
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    (median(times), hits)
}

fn mean_recall(exact: &[Vec<Hit>], approx: &[Vec<Hit>]) -> f64 {
    exact
        .iter()
        .zip(approx)
        .map(|(e, a)| recall(e, a))
        .sum::<f64>()
        / exact.len() as f64
}

pub fn run(real: &Catalog, n: usize, work: &Path, embedder: &Embedder) -> Result<()> {
    let dims = real.dims();
    let base = &*real.vectors().to_f32();

    // int8 against f32 on the real catalog: does quantising the rows change the look-alikes?
    let rows = Int8Rows::quantise(base, dims);
    let picks: Vec<usize> = (0..real.len())
        .step_by((real.len() / QUERIES).max(1))
        .collect();
    let r: f64 = picks
        .iter()
        .map(|&i| {
            let f = top_k(base, dims, &real.vector(i), 10, |_| true);
            recall(&f, &rows.top_k(&real.vector(i), 10))
        })
        .sum::<f64>()
        / picks.len() as f64;
    println!(
        "int8 rows vs f32 on the {} real items: recall@10 {r:.3}",
        real.len()
    );

    let before = super::rss_mib();
    let t = Instant::now();
    let rows = Int8Rows::quantise_with(n, dims, |i, out| {
        synthetic(base, dims, i as u64, out);
    });
    println!(
        "{n} synthetic items (between pairs of real embeddings): made and quantised in {:.1} s, {:.0} MB ({:.0} MB as f32)",
        t.elapsed().as_secs_f64(),
        rows.bytes() as f64 / 1e6,
        (n * dims * 4) as f64 / 1e6
    );
    let file = work.join("million.i8");
    rows.save(&file)?;
    drop(rows);
    let t = Instant::now();
    let rows = Int8Rows::load(&file)?;
    println!(
        "open (read the int8 rows from disk, page cache warm): {:.0} ms",
        t.elapsed().as_secs_f64() * 1e3
    );

    let queries: Vec<Vec<f32>> = (0..QUERIES)
        .map(|j| {
            let mut v = vec![0.0f32; dims];
            synthetic(base, dims, (n + j) as u64, &mut v);
            v
        })
        .collect();
    let kernels = Simd::available();
    println!(
        "int8 kernels on this CPU: {} (searches use {}; LOOKALIKE_SIMD=NAME forces one)",
        kernels
            .iter()
            .map(|k| k.name())
            .collect::<Vec<_>>()
            .join(", "),
        Simd::chosen()
    );
    let mut exact = Vec::new();
    for &simd in &kernels {
        let (ms, hits) = timed(&queries, |q| rows.top_k_with(q, 10, simd));
        println!("exact search (int8, all rows, 2 threads), {simd:>10}: {ms:.1} ms median");
        exact = hits;
    }

    // The pre-filter scanned whole (as before the cells), for comparison.
    let t = Instant::now();
    let mut two = TwoStage::build_with_cells(rows, REDUCED_DIMS, PCA_SAMPLE, CANDIDATES[0], None);
    println!(
        "two-stage index, whole pre-filter ({REDUCED_DIMS}-d PCA fitted on {PCA_SAMPLE} rows, {:.0} MB more): built in {:.1} s",
        two.reduced.bytes() as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );
    for c in CANDIDATES {
        two.candidates = c;
        let (two_ms, approx) = timed(&queries, |q| two.top_k(q, 10));
        println!(
            "  whole pre-filter, {c} candidates re-ranked: {two_ms:.1} ms median, recall@10 {:.3} against exact",
            mean_recall(&exact, &approx)
        );
    }
    drop(two);

    // The pre-filter in cells, as catalogs of this size keep it.
    let rows = Int8Rows::load(&file)?;
    let t = Instant::now();
    let two = TwoStage::build(rows, REDUCED_DIMS, PCA_SAMPLE, CANDIDATES[1]);
    let build_s = t.elapsed().as_secs_f64();
    let cells = two.cells.as_ref().expect("a million rows get cells");
    println!(
        "two-stage index in {} cells: built in {build_s:.1} s (cells, assignment and the recall curve included); scans {} cells per query, chosen for recall@10 {} on the catalog's own rows",
        cells.len(),
        cells.probe,
        lookalike::search::compact::TARGET_RECALL
    );
    println!(
        "  recall@10 by cells scanned, measured at build: {}",
        cells
            .curve
            .iter()
            .map(|(p, r)| format!("{p}: {r:.3}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    for probe in [cells.probe / 2, cells.probe, cells.probe * 2]
        .into_iter()
        .filter(|&p| p > 0)
    {
        let (ms, approx) = timed(&queries, |q| two.top_k_probing(q, 10, probe));
        println!(
            "  {probe} cells scanned: {ms:.1} ms median, recall@10 {:.3} against exact",
            mean_recall(&exact, &approx)
        );
    }
    for &simd in &kernels {
        let mut times = Vec::new();
        let mut approx = Vec::new();
        for q in &queries {
            let t = Instant::now();
            approx.push(two.top_k_with(q, 10, simd));
            times.push(t.elapsed().as_secs_f64() * 1e3);
        }
        let p50 = median(times.clone());
        times.sort_by(f64::total_cmp);
        let p95 = times[(times.len() - 1) * 95 / 100];
        println!(
            "  two-stage search in cells, {simd:>10}: {p50:.1} ms median, p95 {p95:.1} ms, recall@10 {:.3} against exact",
            mean_recall(&exact, &approx)
        );
    }
    let rss = super::rss_mib();
    println!(
        "resident memory: {rss:.0} MiB (+{:.0} MiB for the million items)",
        rss - before
    );

    // The map: axes from a sample (the PCA of 20,000 rows), then every row projected.
    let t = Instant::now();
    let sample: Vec<f32> = (0..20_000)
        .flat_map(|j| {
            let mut v = vec![0.0f32; dims];
            two.full.dequantise(j * (n / 20_000).max(1) % n, &mut v);
            v
        })
        .collect();
    let map = lookalike::map::pca_2d(&sample, dims);
    let fit = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let points: Vec<[f32; 2]> = {
        use rayon::prelude::*;
        (0..n)
            .into_par_iter()
            .map_init(
                || vec![0.0f32; dims],
                |v, i| {
                    two.full.dequantise(i, v);
                    map.project(v)
                },
            )
            .collect()
    };
    std::hint::black_box(&points);
    println!(
        "map of {n} items: PCA axes from 20,000 rows {fit:.1} s + projection of all {:.1} s",
        t.elapsed().as_secs_f64()
    );
    drop(points);
    // The neighbourhood map: fitted on an even sample of 20,000 rows, every other row placed among
    // its nearest sampled rows.
    let t = Instant::now();
    let points = lookalike::map::neighbourhoods::fit_rows(
        n,
        dims,
        &|i, out| two.full.dequantise(i, out),
        &|_| {},
    );
    std::hint::black_box(&points);
    println!(
        "neighbourhood map of {n} items (fitted on {} rows, the rest placed): {:.1} s",
        lookalike::map::neighbourhoods::LAYOUT_FIT_ROWS.min(n),
        t.elapsed().as_secs_f64()
    );
    drop((two, points));
    let _ = std::fs::remove_file(&file);
    println!();
    if n < COMPACT_FROM.max(real.len()) {
        println!(
            "(a real index of {n} items would not be compact: use --million {COMPACT_FROM} or more)"
        );
        return Ok(());
    }
    whole_index(real, base, n, work, embedder)
}

/// The same million as a real index (SQLite, plus its compact vectors file) opened and queried
/// through the catalog, as `lookalike query` and the window do: the real catalog's items and
/// thumbnails, filled up with synthetic items.
fn whole_index(
    real: &Catalog,
    base: &[f32],
    n: usize,
    work: &Path,
    embedder: &Embedder,
) -> Result<()> {
    let db = work.join(format!("bench-{n}.sqlite"));
    let made = db.is_file()
        && store_for(&db)
            .open_writer()
            .and_then(|mut w| w.count())
            .ok()
            == Some(n);
    if made {
        println!("reusing the {n}-item index {}", db.display());
    } else {
        let t = Instant::now();
        fill_index(real, base, n, &db)?;
        println!(
            "a {n}-item index: the {} real items and {} synthetic ones written to SQLite in {:.0} s ({:.1} GB)",
            real.len(),
            n - real.len(),
            t.elapsed().as_secs_f64(),
            std::fs::metadata(&db)?.len() as f64 / 1e9
        );
    }
    let t = Instant::now();
    let cat = Catalog::open(&db)?;
    if !made {
        println!(
            "first open: every f32 embedding read from SQLite, quantised, the two-stage index built and saved ({:.0} MB): {:.1} s (indexing does this at its end)",
            std::fs::metadata(sidecar_path(&db))?.len() as f64 / 1e6,
            t.elapsed().as_secs_f64()
        );
        let t = Instant::now();
        lookalike::map::CatalogMap::compute(&cat)?;
        println!(
            "map of {n} items: plane fitted on {MAP_FIT_ROWS} of them, all projected and stored: {:.1} s",
            t.elapsed().as_secs_f64()
        );
    }
    drop(cat);
    let before = super::rss_mib();
    let t = Instant::now();
    let cat = Catalog::open(&db)?;
    let open_ms = t.elapsed().as_secs_f64() * 1e3;
    let rss = super::rss_mib();
    anyhow::ensure!(
        cat.vectors().is_compact(),
        "a {n}-item catalog should open compact"
    );
    println!(
        "index open at {n} items (items from SQLite, vectors from the compact file, page cache warm): {open_ms:.0} ms; resident memory +{:.0} MiB for the open catalog ({rss:.0} MiB for the whole benchmark process)",
        rss - before
    );
    let queries: Vec<PathBuf> = (0..25)
        .map(|i| real.abs_path(i * real.len() / 25))
        .collect();
    let l = super::query_latency(embedder, &cat, &queries)?;
    println!(
        "query at {n} items (photo embedded, then two-stage search): {:.1} ms median ({:.1} embed + {:.1} search), p95 {:.1} ms",
        l.total_p50, l.embed_ms, l.search_ms, l.total_p95
    );
    let first_is_self = queries
        .iter()
        .filter(|q| {
            embedder.embed_file(q).ok().is_some_and(|(v, _)| {
                let hits = cat.vectors().top_k(&v, 1, &|_| true);
                hits.first().map(|h| cat.abs_path(h.index)) == Some(q.to_path_buf())
            })
        })
        .count();
    println!(
        "  each query photo found itself first among the {n}: {first_is_self} of {}",
        queries.len()
    );
    Ok(())
}

/// Write a `n`-item index at `db`: a copy of the real catalog's, then synthetic items, each with
/// the labels of the real item it lies nearer to.
fn fill_index(real: &Catalog, base: &[f32], n: usize, db: &Path) -> Result<()> {
    for f in [db.to_path_buf(), sidecar_path(db)] {
        let _ = std::fs::remove_file(f);
    }
    let store = store_for(db);
    copy_catalog(real.store().as_ref(), store.as_ref(), true, |_, _| {})?;
    let mut idx = store.open_writer()?;
    let labels: Vec<String> = real
        .items()
        .iter()
        .map(|it| serde_json::to_string(&it.labels).unwrap_or_else(|_| "{}".into()))
        .collect();
    let dims = real.dims();
    const BATCH: usize = 50_000;
    for start in (real.len()..n).step_by(BATCH) {
        idx.write(&mut |w| {
            let mut v = vec![0.0f32; dims];
            for i in start..(start + BATCH).min(n) {
                let parent = synthetic(base, dims, i as u64, &mut v);
                let rel = PathBuf::from(format!("synthetic/{i:07}.jpg"));
                w.upsert(&NewItem {
                    rel: &rel,
                    size: 0,
                    mtime_ns: 0,
                    hash: &(i as u64).to_le_bytes(),
                    width: 0,
                    height: 0,
                    labels: &labels[parent],
                    embedding: &v,
                    fingerprint: Default::default(),
                    thumb: &[],
                })?;
            }
            Ok(())
        })?;
    }
    Ok(())
}
