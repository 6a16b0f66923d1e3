//! `lookalike bench`: figures, not a timed test. Measures on real photos, side by side in one run:
//! the bare model forward pass, end-to-end indexing, query latency, index open time and memory.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::Args;

use lookalike::catalog::{Catalog, scan_folder};
use lookalike::embed::{Embedder, EngineOptions, load_photo, model_input};
use lookalike::indexer::{IndexOptions, index_folder};
use lookalike::model::{ModelManifest, available_models, default_model};

pub mod backbones;
mod decode;
mod int8;
mod million;
mod mnist;

#[derive(Args)]
pub struct BenchArgs {
    /// A folder of real photos (default: the demo catalog).
    #[arg(long)]
    pub catalog: Option<PathBuf>,
    /// Photos per model run, for both the forward pass and indexing.
    #[arg(long, default_value_t = 16)]
    pub batch: usize,
    /// ONNX Runtime threads (0: all cores).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Fashion-MNIST catalog size for the scale figures (0 to skip).
    #[arg(long, default_value_t = 70_000)]
    pub mnist: usize,
    /// Embed every Fashion-MNIST image for real (slow: minutes); otherwise `--mnist-embed` of them
    /// are embedded and the rest of the index is filled with perturbed copies of their vectors.
    #[arg(long)]
    pub mnist_full: bool,
    /// Fashion-MNIST images embedded for the throughput figure.
    #[arg(long, default_value_t = 2_000)]
    pub mnist_embed: usize,
    /// Where to put the temporary indexes and images (default: a temp folder).
    #[arg(long)]
    pub work_dir: Option<PathBuf>,
    /// Synthetic catalog size for the compact-storage figures (0 to skip).
    #[arg(long, default_value_t = 1_000_000)]
    pub million: usize,
    /// Only the million-item figures (with `--work-dir`, the indexes made by an earlier run are reused).
    #[arg(long)]
    pub only_million: bool,
    /// The Python peer's figures (JSON from tests/peer/python_peer.py; `./run bench` makes it) to
    /// print lookalike's figures as ratios to.
    #[arg(long)]
    pub peer: Option<PathBuf>,
}

/// The Python peer's figures, as tests/peer/python_peer.py prints them.
#[derive(serde::Deserialize)]
struct Peer {
    photos: usize,
    index_images_per_s: f64,
    query_ms_median: f64,
    scale: usize,
    query_ms_median_at_scale: f64,
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}

/// The folder a benchmark writes into: `dir`, or a temporary one (kept alive by the guard).
pub(crate) fn work_folder(dir: &Option<PathBuf>) -> Result<(tempfile::TempDir, PathBuf)> {
    let tmp = tempfile::tempdir()?;
    let work = dir.clone().unwrap_or_else(|| tmp.path().to_path_buf());
    std::fs::create_dir_all(&work)?;
    Ok((tmp, work))
}

/// The demo catalog beside this checkout.
pub(crate) fn demo_catalog() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/fashion-products")
}

pub(crate) fn percentile(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * p).round() as usize]
}

/// Resident memory of this process (VmRSS, MiB).
fn rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

/// Images per second of the bare forward pass on ready tensors.
pub(crate) fn forward_rate(
    embedder: &Embedder,
    photos: &[PathBuf],
    batch: usize,
    rounds: usize,
) -> Result<f64> {
    let m = embedder.manifest();
    let inputs: Vec<f32> = photos
        .iter()
        .take(batch)
        .map(|p| load_photo(p).map(|ph| model_input(&ph, m)))
        .collect::<Result<Vec<_>, _>>()?
        .concat();
    embedder.run(inputs.clone(), batch)?; // warm-up
    let t = Instant::now();
    for _ in 0..rounds {
        embedder.run(inputs.clone(), batch)?;
    }
    Ok((batch * rounds) as f64 / t.elapsed().as_secs_f64())
}

struct Latency {
    embed_ms: f64,
    search_ms: f64,
    total_p50: f64,
    total_p95: f64,
}

fn query_latency(embedder: &Embedder, cat: &Catalog, queries: &[PathBuf]) -> Result<Latency> {
    let (mut e, mut s, mut tot) = (vec![], vec![], vec![]);
    for q in queries {
        let t0 = Instant::now();
        let (v, _) = embedder.embed_file(q)?;
        let t1 = Instant::now();
        let hits = cat.vectors().top_k(&v, 12, &|_| true);
        std::hint::black_box(hits);
        e.push(t1.duration_since(t0).as_secs_f64() * 1e3);
        s.push(ms(t1));
        tot.push(ms(t0));
    }
    Ok(Latency {
        embed_ms: percentile(&mut e, 0.5),
        search_ms: percentile(&mut s, 0.5),
        total_p50: percentile(&mut tot, 0.5),
        total_p95: percentile(&mut tot, 0.95),
    })
}

pub(crate) fn index_rate(
    embedder: &Embedder,
    root: &Path,
    db: &Path,
    batch: usize,
) -> Result<(usize, f64)> {
    let _ = std::fs::remove_file(db);
    let opts = IndexOptions {
        batch_size: batch,
        label_field: None,
        exclude: Vec::new(),
    };
    let r = index_folder(root, db, embedder, &opts, &AtomicBool::new(false), |_| {})?;
    if !r.failures.is_empty() {
        eprintln!("  ({} files failed to index)", r.failures.len());
    }
    Ok((r.embedded, r.embedded as f64 / r.seconds))
}

pub fn run(a: BenchArgs) -> Result<ExitCode> {
    let peer: Option<Peer> = match &a.peer {
        Some(p) => Some(
            serde_json::from_slice(&std::fs::read(p).with_context(|| p.display().to_string())?)
                .with_context(|| format!("{}: not the peer's JSON", p.display()))?,
        ),
        None => None,
    };
    let (_tmp, work) = work_folder(&a.work_dir)?;
    let catalog = a.catalog.clone().unwrap_or_else(demo_catalog);
    let (files, _) = scan_folder(&catalog, &lookalike::catalog::Exclusions::none());
    if files.len() < a.batch * 2 {
        bail!(
            "{} has {} photos; the benchmark needs a folder of real photos (--catalog)",
            catalog.display(),
            files.len()
        );
    }
    let photos: Vec<PathBuf> = files.iter().map(|f| f.abs.clone()).collect();
    let model = default_model()?;
    let options = EngineOptions {
        intra_threads: a.threads,
    };
    println!(
        "lookalike bench: {} cores, model {}, batch {}",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
        model.label(),
        a.batch
    );
    println!("cpu: {}", lookalike::cpu::describe());
    println!("catalog: {} ({} photos)\n", catalog.display(), photos.len());

    let embedder = Embedder::start(model.clone(), options)?;
    if a.only_million {
        let db = work.join("bench-catalog.sqlite");
        if !db.exists() {
            index_rate(&embedder, &catalog, &db, a.batch)?;
        }
        million::run(&Catalog::open(&db)?, a.million.max(1), &work, &embedder)?;
        return Ok(ExitCode::SUCCESS);
    }
    let forward = forward_rate(&embedder, &photos, a.batch, photos.len() / a.batch)?;
    println!("model forward pass (ready tensors):      {forward:8.1} images/s");
    let t = Instant::now();
    let sample = &photos[..photos.len().min(500)];
    for p in sample {
        let bytes = std::fs::read(p)?;
        std::hint::black_box(blake3::hash(&bytes));
        let photo = lookalike::embed::decode_photo_for(&bytes, &model)
            .map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?;
        std::hint::black_box((
            model_input(&photo, &model),
            lookalike::embed::preprocess::thumbnail_jpeg(&photo),
        ));
    }
    let prep_ms = ms(t) / sample.len() as f64;
    println!(
        "preprocessing per photo, one core:      {prep_ms:8.2} ms (read, hash, decode, fit, normalise, thumbnail)"
    );
    let db = work.join("bench-catalog.sqlite");
    let (n, rate) = index_rate(&embedder, &catalog, &db, a.batch)?;
    println!(
        "end-to-end indexing ({n} photos):       {rate:8.1} images/s   = {:.2} x the forward pass",
        rate / forward
    );

    let t = Instant::now();
    let cat = Catalog::open(&db)?;
    let open_ms = ms(t);
    let queries: Vec<PathBuf> = photos
        .iter()
        .step_by(photos.len() / 25)
        .take(25)
        .cloned()
        .collect();
    let l = query_latency(&embedder, &cat, &queries)?;
    println!(
        "query at {:>6} items: {:6.1} ms median ({:.1} embed + {:.2} search), p95 {:.1} ms; index open {open_ms:.0} ms",
        cat.len(),
        l.total_p50,
        l.embed_ms,
        l.search_ms,
        l.total_p95
    );

    println!();
    let int8 = int8::run(
        &photos, &catalog, &db, forward, rate, options, a.batch, &work,
    )?;
    println!();
    decode::run(&photos, &model)?;
    println!();

    if let Some(r50) = available_models()?
        .into_iter()
        .find(|m: &ModelManifest| m.name.starts_with("resnet50") && m.is_installed())
    {
        let e = Embedder::start_any(r50.clone(), options)?;
        let f = forward_rate(&e, &photos, a.batch, 10)?;
        println!(
            "for reference, {} forward pass: {f:.1} images/s",
            r50.label()
        );
    }

    if a.million > 0 {
        println!();
        million::run(&cat, a.million, &work, &embedder)?;
    }
    let at_scale = if a.mnist > 0 {
        println!();
        Some(mnist_scale(&a, &embedder, &work)?)
    } else {
        None
    };
    if let Some(p) = peer {
        println!(
            "\nagainst the Python peer (PIL + onnxruntime one photo at a time + scikit-learn brute force; same model, {} photos):",
            p.photos
        );
        println!(
            "  indexing, float model: {rate:.1} vs {:.1} images/s = {:.2} x the peer",
            p.index_images_per_s,
            rate / p.index_images_per_s
        );
        if let Some(q) = int8 {
            println!(
                "  indexing, int8 model:  {q:.1} vs {:.1} images/s = {:.2} x the peer (which runs the float model)",
                p.index_images_per_s,
                q / p.index_images_per_s
            );
        }
        println!(
            "  query at {} items: {:.1} vs {:.1} ms median = {:.1} x lower",
            cat.len(),
            l.total_p50,
            p.query_ms_median,
            p.query_ms_median / l.total_p50
        );
        if let Some((n, q)) = at_scale {
            println!(
                "  query at {n} items (peer: {} items): {:.1} vs {:.1} ms median = {:.1} x lower",
                p.scale,
                q.total_p50,
                p.query_ms_median_at_scale,
                p.query_ms_median_at_scale / q.total_p50
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Fashion-MNIST (Debian's dataset-fashion-mnist), upscaled by the normal pipeline: throughput on
/// tiny greyscale images, and query latency, open time and memory at catalog scale.
fn mnist_scale(a: &BenchArgs, embedder: &Embedder, work: &Path) -> Result<(usize, Latency)> {
    let images =
        mnist::load(a.mnist).context("Fashion-MNIST: apt-get install dataset-fashion-mnist")?;
    let dir = work.join("fashion-mnist");
    let embed_n = if a.mnist_full {
        images.len()
    } else {
        a.mnist_embed.min(images.len())
    };
    let t = Instant::now();
    let written = mnist::write_pngs(&images[..embed_n], &dir)?;
    println!(
        "Fashion-MNIST: wrote {written} PNGs in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let db = work.join("bench-mnist.sqlite");
    let (n, rate) = index_rate(embedder, &dir, &db, a.batch)?;
    println!("end-to-end indexing ({n} Fashion-MNIST PNGs, upscaled to 224): {rate:.1} images/s");

    if n < images.len() {
        // Fill the index to full size with perturbed copies: search and open cost depend on the
        // number of rows and dims, not on what the vectors say.
        let mut idx = lookalike::catalog::store_for(&db).open_writer()?;
        let base = Catalog::open(&db)?;
        let prints = base.fingerprints()?;
        let extra = images.len() - n;
        idx.write(&mut |w| {
            let noise = |i: usize, j: usize| ((i * 31 + j * 17) % 97) as f32 / 97.0 * 0.02 - 0.01;
            for i in 0..extra {
                let src = i % base.len();
                let mut v: Vec<f32> = base
                    .vector(src)
                    .iter()
                    .enumerate()
                    .map(|(j, x)| x + noise(i, j))
                    .collect();
                lookalike::embed::l2_normalize(&mut v);
                let rel = PathBuf::from(format!("synthetic/{i}.png"));
                w.upsert(&lookalike::catalog::NewItem {
                    rel: &rel,
                    size: 0,
                    mtime_ns: 0,
                    hash: format!("synthetic{i}").as_bytes(),
                    width: 28,
                    height: 28,
                    labels: "{}",
                    embedding: &v,
                    fingerprint: prints[src].unwrap_or_default(),
                    thumb: &[],
                })?;
            }
            Ok(())
        })?;
        println!(
            "  (index filled to {} rows with {extra} perturbed copies of those vectors; use --mnist-full to embed all)",
            images.len()
        );
    }
    let full = Catalog::open(&db)?;
    let t = Instant::now();
    lookalike::map::CatalogMap::compute(&full)?;
    println!(
        "map (PCA) of {} items: {:.2} s",
        full.len(),
        t.elapsed().as_secs_f64()
    );
    drop(full);
    let before = rss_mib();
    let t = Instant::now();
    let cat = Catalog::open(&db)?;
    let open_ms = ms(t);
    let rss = rss_mib();
    let queries: Vec<PathBuf> = (0..25)
        .map(|i| {
            dir.join(mnist::rel_path(
                i * (n / 25).max(1),
                images[i * (n / 25).max(1)].label,
            ))
        })
        .collect();
    let l = query_latency(embedder, &cat, &queries)?;
    println!(
        "query at {:>6} items: {:6.1} ms median ({:.1} embed + {:.2} search), p95 {:.1} ms",
        cat.len(),
        l.total_p50,
        l.embed_ms,
        l.search_ms,
        l.total_p95
    );
    println!(
        "index open at {} items: {open_ms:.0} ms; resident memory {rss:.0} MiB (+{:.0} MiB for the open catalog)",
        cat.len(),
        rss - before
    );
    Ok((cat.len(), l))
}
