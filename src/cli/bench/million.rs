//! A million items: compact int8 storage, exact and two-stage search, open time, memory and the
//! map's projection. The vectors are synthetic but drawn from the real catalog's embeddings: each
//! is a random point between two real embeddings plus a little noise, so the spectrum and the
//! neighbourhoods are those of real photos, not of random directions.

use std::path::Path;
use std::time::Instant;

use anyhow::Result;

use lookalike::catalog::Catalog;
use lookalike::search::compact::{Int8Rows, TwoStage, recall};
use lookalike::search::{Hit, top_k};

const QUERIES: usize = 30;
const REDUCED_DIMS: usize = 128;
/// Rows the pre-filter's axes are fitted on.
const PCA_SAMPLE: usize = 5_000;
/// Candidates re-ranked, tried in turn: recall against latency.
const CANDIDATES: [usize; 3] = [1000, 2000, 4000];

/// Row `i` of the synthetic catalog, from the real embeddings `base` (`m x dims`).
fn synthetic(base: &[f32], dims: usize, i: u64, out: &mut [f32]) {
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

pub fn run(real: &Catalog, n: usize, work: &Path) -> Result<()> {
    let dims = real.dims;
    let base = &real.embeddings;

    // int8 against f32 on the real catalog: does quantising the rows change the look-alikes?
    let rows = Int8Rows::quantise(base, dims);
    let picks: Vec<usize> = (0..real.len())
        .step_by((real.len() / QUERIES).max(1))
        .collect();
    let r: f64 = picks
        .iter()
        .map(|&i| {
            let f = top_k(base, dims, real.vector(i), 10, |_| true);
            recall(&f, &rows.top_k(real.vector(i), 10))
        })
        .sum::<f64>()
        / picks.len() as f64;
    println!(
        "int8 rows vs f32 on the {} real items: recall@10 {r:.3}",
        real.len()
    );

    let before = super::rss_mib();
    let t = Instant::now();
    let rows = Int8Rows::quantise_with(n, dims, |i, out| synthetic(base, dims, i as u64, out));
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
    let (exact_ms, exact) = timed(&queries, |q| rows.top_k(q, 10));
    println!("exact search (int8, all rows, 2 threads): {exact_ms:.1} ms median");

    let t = Instant::now();
    let mut two = TwoStage::build(rows, REDUCED_DIMS, PCA_SAMPLE, CANDIDATES[0]);
    println!(
        "two-stage index ({REDUCED_DIMS}-d PCA pre-filter fitted on {PCA_SAMPLE} rows, {:.0} MB more): built in {:.1} s",
        two.reduced.bytes() as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );
    for c in CANDIDATES {
        two.candidates = c;
        let (two_ms, approx) = timed(&queries, |q| two.top_k(q, 10));
        println!(
            "two-stage search ({c} candidates re-ranked): {two_ms:.1} ms median, recall@10 {:.3} against exact",
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
    let _ = std::fs::remove_file(&file);
    Ok(())
}
