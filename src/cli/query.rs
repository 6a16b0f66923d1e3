//! `lookalike query` and `lookalike classify`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Args;

use lookalike::embed::{Embedder, EngineOptions, read_photo_file};
use lookalike::learn::StyleSpace;
use lookalike::model::{default_model, find_model, imagenet_classes, top_classes};
use lookalike::query::LookupOptions;
use lookalike::query::{RegionArg, RegionMode, decode_query_photo, embed_regions, search_regions};
use lookalike::search::VectorKind;
use lookalike::search::compact::Simd;

/// Whether to look for the garment in regions of a scene.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Regions {
    /// The whole photo and, for a scene (not a studio shot), candidate regions.
    Auto,
    /// The whole photo only.
    Off,
}

#[derive(Args)]
pub struct QueryArgs {
    /// The photo to find look-alikes of (inside or outside the catalog).
    pub photo: PathBuf,
    /// The index: a file, or a shared catalog's postgres://USER@HOST/DB (default: the last
    /// catalog indexed).
    #[arg(long, env = "LOOKALIKE_INDEX")]
    pub index: Option<PathBuf>,
    /// How many look-alikes to show.
    #[arg(short, default_value_t = 12, value_parser = super::ranges::count(1, 10_000))]
    pub k: usize,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Rank in the style space learned from the catalog's labels (after `lookalike train-head`).
    #[arg(long)]
    pub style: bool,
    /// Keep only items of the predicted category (after `lookalike train-head`).
    #[arg(long)]
    pub same_category: bool,
    /// Weight of colour in the ranking: 0 shape only, 1 colour only.
    #[arg(long, value_name = "W", default_value_t = lookalike::search::colour::DEFAULT_COLOUR_WEIGHT, value_parser = super::ranges::weight)]
    pub colour: f32,
    /// ONNX Runtime threads (0: all cores).
    #[arg(long, default_value_t = 0, value_parser = super::ranges::count(0, 1024))]
    pub threads: usize,
    /// Search only this region of the photo: X,Y,W,H in pixels, or in fractions of the width and
    /// height when all four are at most 1.
    #[arg(long, value_name = "X,Y,W,H", allow_hyphen_values = true)]
    pub region: Option<RegionArg>,
    /// Candidate regions of a scene (auto), or the whole photo only (off).
    #[arg(long, value_enum, default_value_t = Regions::Auto)]
    pub regions: Regions,
    /// The share of the exact 10 best a search on a shared catalog's server should find: higher
    /// is slower (catalogs searched in memory are always exact).
    #[arg(long, value_name = "R", default_value_t = lookalike::catalog::DEFAULT_RECALL, value_parser = super::ranges::recall)]
    pub recall: f32,
}

pub fn run(a: QueryArgs) -> Result<ExitCode> {
    let index = super::resolve_index(a.index)?;
    let catalog = super::open_catalog(&index)?;
    if let Some(server) = catalog.vectors().remote() {
        server.aim_at_recall(a.recall);
    }
    let style = StyleSpace::stored(&catalog)
        .with_context(|| format!("reading the learned head of {}", index.display()))?;
    let embedder = Embedder::start(
        catalog.query_model()?,
        EngineOptions {
            intra_threads: a.threads,
        },
    )?;

    if (a.style || a.same_category) && style.is_none() {
        anyhow::bail!(
            "--style and --same-category need a head learned from the catalog's labels: run `lookalike train-head --index {}` first",
            index.display()
        );
    }
    let t0 = Instant::now();
    let bytes = read_photo_file(&a.photo)
        .with_context(|| format!("{}: cannot use it as a photo", a.photo.display()))?;
    let photo = decode_query_photo(&bytes, embedder.manifest())
        .with_context(|| format!("{}: cannot use it as a photo", a.photo.display()))?;
    let mode = match (a.region, a.regions) {
        (Some(r), _) => RegionMode::Given(r),
        (None, Regions::Auto) => RegionMode::Auto,
        (None, Regions::Off) => RegionMode::Whole,
    };
    let regions = embed_regions(&embedder, &photo, mode)
        .with_context(|| format!("{}: cannot search it", a.photo.display()))?;
    let embed_ms = t0.elapsed().as_secs_f64() * 1e3;
    // A photo of the catalog itself is not its own look-alike.
    let own = catalog.find_path(&a.photo);
    let t1 = Instant::now();
    let opts = LookupOptions {
        k: a.k,
        style_aware: a.style,
        same_category: a.same_category,
        colour: a.colour,
    };
    let answer = search_regions(&catalog, style.as_ref(), &regions, &opts, &|i| {
        Some(i) != own
    });
    let search_ms = t1.elapsed().as_secs_f64() * 1e3;
    let (hits, predictions) = (&answer.hits, &answer.predictions);
    let automatic = regions.iter().filter(|r| r.automatic).count();

    let model = embedder.manifest().label();
    if a.json {
        let rect = |i: usize| {
            let r = regions[i].rect;
            serde_json::json!({"x": r.x, "y": r.y, "w": r.w, "h": r.h, "automatic": regions[i].automatic})
        };
        let results: Vec<_> = hits
            .iter()
            .enumerate()
            .map(|(r, h)| {
                serde_json::json!({
                    "rank": r + 1, "score": h.hit.score, "path": catalog.abs_path(h.hit.index).to_string_lossy(),
                    "label": catalog.label(h.hit.index), "labels": catalog.items()[h.hit.index].labels,
                    "region": h.region,
                })
            })
            .collect();
        let suggestions: Vec<_> = answer
            .suggestions
            .iter()
            .map(|s| {
                serde_json::json!({
                    "kind": s.kind, "region": s.region, "score": s.best.score,
                    "best": catalog.abs_path(s.best.index).to_string_lossy(),
                })
            })
            .collect();
        let out = serde_json::json!({
            "query": a.photo.to_string_lossy(), "model": model, "dims": catalog.dims(), "items": catalog.len(),
            "vectors": catalog.vectors().kind().name(),
            "expected_recall": catalog.vectors().expected_recall(),
            "kernel": catalog.vectors().is_compact().then(|| Simd::chosen().name()),
            "width": photo.width, "height": photo.height,
            "regions": (0..regions.len()).map(rect).collect::<Vec<_>>(), "lead_region": answer.lead,
            "suggestions": suggestions,
            "embed_ms": embed_ms, "search_ms": search_ms, "predicted": predictions, "results": results,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "Look-alikes of {} among {} items  [{model}{}; embed {embed_ms:.0} ms, search {search_ms:.1} ms]",
        a.photo.display(),
        catalog.len(),
        match (
            catalog.vectors().kind(),
            catalog.vectors().expected_recall()
        ) {
            (VectorKind::Server, Some(r)) =>
                format!(", searched on the server, recall@10 {r:.2} measured"),
            (VectorKind::Server, None) => ", searched on the server".into(),
            (VectorKind::F32, _) => String::new(),
            _ => format!(", int8 vectors, {} kernel", Simd::chosen()),
        }
    );
    let lead = regions[answer.lead].rect;
    if automatic > 0 {
        println!(
            "A scene: searched the whole photo and {automatic} regions; results from the region {:.0},{:.0},{:.0},{:.0}",
            lead.x, lead.y, lead.w, lead.h
        );
        let others: Vec<String> = answer
            .suggestions
            .iter()
            .filter(|s| s.region != answer.lead)
            .map(|s| {
                let r = regions[s.region].rect;
                format!(
                    "{} (--region {:.0},{:.0},{:.0},{:.0})",
                    s.kind, r.x, r.y, r.w, r.h
                )
            })
            .collect();
        if !others.is_empty() {
            println!("Also in the photo: {}", others.join(", "));
        }
    } else if a.region.is_some() {
        println!(
            "Searched the region {:.0},{:.0},{:.0},{:.0} of {} x {} pixels",
            lead.x, lead.y, lead.w, lead.h, photo.width, photo.height
        );
    }
    if !predictions.is_empty() {
        let words: Vec<String> = predictions
            .iter()
            .map(|p| format!("{} {} ({:.0}%)", p.column, p.label, p.confidence * 100.0))
            .collect();
        println!("Predicted: {}", words.join(", "));
    }
    println!(
        "{:>4}  {:>6}  {:<20}  path",
        "rank",
        "score",
        catalog.label_field()
    );
    for (r, h) in hits.iter().enumerate() {
        println!(
            "{:>4}  {:>6.3}  {:<20}  {}",
            r + 1,
            h.hit.score,
            catalog.label(h.hit.index),
            super::shown(&catalog.abs_path(h.hit.index))
        );
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Args)]
pub struct ClassifyArgs {
    /// The photo.
    pub photo: PathBuf,
    /// Model to use (see `lookalike models`).
    #[arg(long, value_parser = super::ranges::model)]
    pub model: Option<String>,
    /// How many classes to show.
    #[arg(long, default_value_t = 5, value_parser = super::ranges::count(1, 1000))]
    pub top: usize,
    #[arg(long)]
    pub json: bool,
}

pub fn classify(a: ClassifyArgs) -> Result<ExitCode> {
    let manifest = match &a.model {
        Some(name) => find_model(name)?,
        None => default_model()?,
    };
    let classes = imagenet_classes()?;
    let embedder = Embedder::start(manifest, EngineOptions::default())?;
    let (_, logits) = embedder.embed_file(&a.photo)?;
    let top = top_classes(&logits, a.top);
    if a.json {
        let v: Vec<_> = top
            .iter()
            .map(|(i, p)| serde_json::json!({"class": classes.get(*i), "index": i, "probability": p}))
            .collect();
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        for (i, p) in top {
            println!(
                "{:>6.1}%  {}",
                p * 100.0,
                classes.get(i).map(String::as_str).unwrap_or("?")
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
