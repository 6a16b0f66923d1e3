//! `figures -- backbones`: every installed ImageNet backbone side by side on one labelled catalog,
//! to choose the default by numbers. Per backbone: the bare forward pass, end-to-end indexing, one
//! photo's embedding and a query at 70,000 items; precision@10 and mAP@10 of every label column
//! (shape alone and with the default colour weight), the head learned from the labels
//! (cross-validated, with label smoothing 0.1), and two test-time augmentations: each photo averaged with its mirror image,
//! and with a zoomed centre crop (a second scale).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Result, bail};
use clap::Args;
use image::{RgbImage, imageops};

use lookalike::catalog::{Catalog, scan_folder};
use lookalike::embed::{Embedder, EngineOptions, Photo, load_photo, model_input};
use lookalike::eval::{LabelScore, evaluate};
use lookalike::learn::{TrainOptions, cross_validate, learnable_columns, targets_for};
use lookalike::model::{ModelManifest, find_model};
use lookalike::search::colour::DEFAULT_COLOUR_WEIGHT;
use lookalike::search::{F32Rows, VectorIndex};

use super::{demo_catalog, forward_rate, index_rate, percentile, work_folder};

/// The backbones compared, smallest first; those not installed are named and skipped.
const BACKBONES: [&str; 6] = [
    "efficientnet-lite0",
    "efficientnet-lite0-int8",
    "efficientnet-lite1",
    "efficientnet-lite1-int8",
    "efficientnet-lite2",
    "efficientnet-lite2-int8",
];

/// Items of the catalog the query latency is measured at.
const SCALE: usize = 70_000;

#[derive(Args)]
pub struct BackboneArgs {
    /// A labelled folder of photos (default: the demo catalog).
    #[arg(long)]
    pub catalog: Option<PathBuf>,
    /// Only these backbones (repeatable; default: every installed one of the EfficientNet-Lite family).
    #[arg(long = "model")]
    pub models: Vec<String>,
    /// Photos per model run.
    #[arg(long, default_value_t = 16)]
    pub batch: usize,
    /// Label columns (repeatable; default: the learnable ones).
    #[arg(long = "label")]
    pub labels: Vec<String>,
    /// Skip the test-time augmentations (each embeds the catalog once more).
    #[arg(long)]
    pub no_augment: bool,
    /// Where to put the indexes (default: a temp folder).
    #[arg(long)]
    pub work_dir: Option<PathBuf>,
}

/// One backbone's figures.
struct Row {
    name: String,
    /// The index made with it.
    db: PathBuf,
    forward: f64,
    indexing: f64,
    embed_ms: f64,
    query_ms: f64,
    shape: Vec<LabelScore>,
    colour: Vec<LabelScore>,
    learned: Vec<(String, f64)>,
    flip: Vec<LabelScore>,
    zoom: Vec<LabelScore>,
}

pub fn run(a: BackboneArgs) -> Result<ExitCode> {
    let root = a.catalog.clone().unwrap_or_else(demo_catalog);
    if !root.is_dir() {
        bail!("no catalog folder at {}", root.display());
    }
    let (_tmp, work) = work_folder(&a.work_dir)?;
    let (files, _) = scan_folder(&root, &lookalike::catalog::Exclusions::none());
    let photos: Vec<PathBuf> = files.into_iter().map(|f| f.abs).collect();
    println!("{}", lookalike::cpu::describe());
    println!("catalog: {} ({} photos)", root.display(), photos.len());

    let names: Vec<String> = if a.models.is_empty() {
        BACKBONES.iter().map(|s| s.to_string()).collect()
    } else {
        a.models.clone()
    };
    let mut search_ms = None;
    let mut rows = Vec::new();
    for name in &names {
        let manifest = match find_model(name) {
            Ok(m) => m,
            Err(e) => {
                println!("{name}: skipped ({e}; `./run setup-backbones` makes every backbone)");
                continue;
            }
        };
        println!("{} ({} px)", manifest.display_name, manifest.input_size);
        let embedder = Embedder::start(manifest.clone(), EngineOptions::default())?;
        let forward = forward_rate(&embedder, &photos, a.batch, 120 / a.batch.max(1))?;
        let db = work.join(format!("{name}.sqlite"));
        let (_, indexing) = index_rate(&embedder, &root, &db, a.batch)?;
        let catalog = Catalog::open(&db)?;
        let columns = if a.labels.is_empty() {
            learnable_columns(&catalog)
        } else {
            a.labels.clone()
        };
        let embed_ms = embed_latency(&embedder, &photos)?;
        // The same for every backbone of the same width: measured once.
        let search = *search_ms.get_or_insert_with(|| search_latency(&catalog));
        let shape = evaluate(&catalog, &columns, 10, None, 0.0)?;
        let colour = evaluate(&catalog, &columns, 10, None, DEFAULT_COLOUR_WEIGHT)?;
        let targets: Vec<_> = columns.iter().map(|c| targets_for(&catalog, c)).collect();
        // The head as `train-head --label-smoothing 0.1` trains it: its style space ranks best.
        let head_options = TrainOptions {
            label_smoothing: 0.1,
            ..TrainOptions::default()
        };
        let cv = cross_validate(&catalog, &targets, &head_options, 5, 10, |_, _| true);
        let learned = cv
            .columns
            .iter()
            .map(|c| (c.column.clone(), c.learned_precision))
            .collect();
        let (flip, zoom) = if a.no_augment {
            (Vec::new(), Vec::new())
        } else {
            let flipped = augmented(&embedder, &catalog, a.batch, |rgb| {
                imageops::flip_horizontal(rgb)
            })?;
            let zoomed = augmented(&embedder, &catalog, a.batch, centre_crop)?;
            (
                evaluate(
                    &catalog,
                    &columns,
                    10,
                    Some((&flipped, catalog.dims())),
                    0.0,
                )?,
                evaluate(&catalog, &columns, 10, Some((&zoomed, catalog.dims())), 0.0)?,
            )
        };
        let row = Row {
            name: manifest.display_name.clone(),
            db,
            forward,
            indexing,
            embed_ms,
            query_ms: embed_ms + search,
            shape,
            colour,
            learned,
            flip,
            zoom,
        };
        print_row(&row);
        rows.push(row);
    }
    if rows.is_empty() {
        bail!("no backbone installed: run ./run setup");
    }
    print_table(&rows, search_ms.unwrap_or(f64::NAN));
    let first = &rows[0];
    if let Some(ceiling) = colour_ceiling(&Catalog::open(&first.db)?, "articleType", "baseColour") {
        println!(
            "colour ceiling ({}): baseColour P@10 {ceiling:.3} when every item of the query's own article type comes first, ranked by colour agreement (an oracle of the kind)",
            first.name
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Precision@10 of `colour` when the items sharing the query's `kind` label come first (an oracle
/// that never mistakes the kind), each group ranked by colour agreement with the query: the most
/// any re-ranking with these colour histograms can reach while keeping the kind.
fn colour_ceiling(catalog: &Catalog, kind: &str, colour: &str) -> Option<f64> {
    let palettes = catalog.palettes()?;
    let kinds = catalog.labels_of(kind);
    let colours = catalog.labels_of(colour);
    let mut sum = 0.0;
    let mut queries = 0usize;
    for q in 0..catalog.len() {
        let (Some(c), Some(own)) = (colours[q], palettes[q].as_ref()) else {
            continue;
        };
        if colours.iter().filter(|&&x| x == Some(c)).count() < 2 {
            continue;
        }
        let h = own.histogram();
        let mut ranked: Vec<(bool, f32, usize)> = (0..catalog.len())
            .filter(|&i| i != q && catalog.items()[i].hash != catalog.items()[q].hash)
            .map(|i| {
                let agreement = palettes[i].as_ref().map_or(0.0, |p| p.agreement(&h));
                (kinds[i].is_some() && kinds[i] == kinds[q], agreement, i)
            })
            .collect();
        ranked.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.total_cmp(&a.1)).then(a.2.cmp(&b.2)));
        let hits = ranked
            .iter()
            .take(10)
            .filter(|r| colours[r.2] == Some(c))
            .count();
        sum += hits as f64 / 10.0;
        queries += 1;
    }
    (queries > 0).then(|| sum / queries as f64)
}

/// Median milliseconds to embed one photo (decode, fit, forward pass), as a query does.
fn embed_latency(embedder: &Embedder, photos: &[PathBuf]) -> Result<f64> {
    let mut times = Vec::new();
    embedder.embed_file(&photos[0])?;
    for p in photos.iter().step_by((photos.len() / 25).max(1)).take(25) {
        let t = Instant::now();
        embedder.embed_file(p)?;
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    Ok(percentile(&mut times, 0.5))
}

/// Median milliseconds of an exact search among 70,000 items (the catalog's vectors, each
/// repeated with a small perturbation): the same for every backbone of the same width.
fn search_latency(catalog: &Catalog) -> f64 {
    let dims = catalog.dims();
    let base = catalog.vectors().to_f32();
    let mut rng = fastrand::Rng::with_seed(11);
    let mut data = Vec::with_capacity(SCALE * dims);
    for i in 0..SCALE {
        let row = &base[(i % catalog.len()) * dims..][..dims];
        let mut v: Vec<f32> = row.iter().map(|x| x + (rng.f32() - 0.5) * 0.02).collect();
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
        v.iter_mut().for_each(|x| *x /= norm);
        data.extend_from_slice(&v);
    }
    let rows = F32Rows::new(dims, data);
    let mut times = Vec::new();
    for q in 0..25 {
        let query = catalog.vector(q * 7 % catalog.len()).into_owned();
        let t = Instant::now();
        std::hint::black_box(rows.top_k(&query, 12, &|_| true));
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    percentile(&mut times, 0.5)
}

/// The centre 80% of a photo: the same garment a step closer (a second scale).
fn centre_crop(rgb: &RgbImage) -> RgbImage {
    let (w, h) = rgb.dimensions();
    let (cw, ch) = ((w * 4 / 5).max(1), (h * 4 / 5).max(1));
    imageops::crop_imm(rgb, (w - cw) / 2, (h - ch) / 2, cw, ch).to_image()
}

/// Every catalog item's embedding averaged with the embedding of its photo transformed by `f`
/// (unit rows, `items x dims`).
fn augmented(
    embedder: &Embedder,
    catalog: &Catalog,
    batch: usize,
    f: impl Fn(&RgbImage) -> RgbImage,
) -> Result<Vec<f32>> {
    let m: &ModelManifest = embedder.manifest();
    let dims = catalog.dims();
    let mut out = Vec::with_capacity(catalog.len() * dims);
    let items = catalog.items();
    for (start, chunk) in items
        .chunks(batch.max(1))
        .enumerate()
        .map(|(b, c)| (b * batch, c))
    {
        let mut input = Vec::new();
        for it in chunk {
            let photo = load_photo(&catalog.root().join(&it.path))?;
            input.extend(model_input(&Photo::from_rgb(f(&photo.rgb)), m));
        }
        let e = embedder.run(input, chunk.len())?;
        for (j, v) in e.vectors.iter().enumerate() {
            let plain = catalog.vector(start + j);
            let mut sum: Vec<f32> = plain.iter().zip(v).map(|(a, b)| a + b).collect();
            let norm = sum.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
            sum.iter_mut().for_each(|x| *x /= norm);
            out.extend(sum);
        }
    }
    Ok(out)
}

fn precision(scores: &[LabelScore], column: &str) -> Option<(f64, f64)> {
    scores
        .iter()
        .find(|s| s.column == column)
        .map(|s| (s.precision_at_k, s.map_at_k))
}

fn print_row(r: &Row) {
    println!(
        "  forward pass {:.1} images/s, indexing {:.1} images/s, one photo embedded in {:.1} ms",
        r.forward, r.indexing, r.embed_ms
    );
    println!(
        "  {:<16} {:>13} {:>13} {:>8} {:>13} {:>13}",
        "label", "P@10 / mAP", "with colour", "learned", "flip", "zoom"
    );
    for s in &r.shape {
        let c = &s.column;
        let pair =
            |v: Option<(f64, f64)>| v.map_or("-".to_string(), |(p, m)| format!("{p:.3} / {m:.3}"));
        let learned = r
            .learned
            .iter()
            .find(|(n, _)| n == c)
            .map_or("-".to_string(), |(_, p)| format!("{p:.3}"));
        println!(
            "  {:<16} {:>13} {:>13} {:>8} {:>13} {:>13}",
            c,
            pair(Some((s.precision_at_k, s.map_at_k))),
            pair(precision(&r.colour, c)),
            learned,
            pair(precision(&r.flip, c)),
            pair(precision(&r.zoom, c)),
        );
    }
}

/// The summary: one line per backbone, the columns a stylist notices first.
fn print_table(rows: &[Row], search_ms: f64) {
    println!();
    println!("search among {SCALE} items (exact, f32): {search_ms:.1} ms median");
    println!(
        "| backbone | forward images/s | indexing images/s | query at {SCALE} (ms) | articleType P@10 | with colour: articleType / baseColour | learned articleType | flip | zoom |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for r in rows {
        let p = |s: &[LabelScore], c: &str| {
            precision(s, c).map_or("-".into(), |(p, _)| format!("{p:.3}"))
        };
        let learned = r
            .learned
            .iter()
            .find(|(n, _)| n == "articleType")
            .map_or("-".to_string(), |(_, p)| format!("{p:.3}"));
        println!(
            "| {} | {:.0} | {:.0} | {:.1} | {} | {} / {} | {} | {} | {} |",
            r.name,
            r.forward,
            r.indexing,
            r.query_ms,
            p(&r.shape, "articleType"),
            p(&r.colour, "articleType"),
            p(&r.colour, "baseColour"),
            learned,
            p(&r.flip, "articleType"),
            p(&r.zoom, "articleType"),
        );
    }
}
