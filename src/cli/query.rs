//! `lookalike query` and `lookalike classify`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Args;

use lookalike::catalog::{Catalog, Lookup, LookupOptions};
use lookalike::embed::{Embedder, EngineOptions};
use lookalike::model::{default_model, find_model, imagenet_classes, top_classes};

#[derive(Args)]
pub struct QueryArgs {
    /// The photo to find look-alikes of (inside or outside the catalog).
    pub photo: PathBuf,
    /// The index file (default: the last catalog indexed).
    #[arg(long)]
    pub index: Option<PathBuf>,
    /// How many look-alikes to show.
    #[arg(short, default_value_t = 12)]
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
    /// ONNX Runtime threads (0: all cores).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
}

pub fn run(a: QueryArgs) -> Result<ExitCode> {
    let index = super::resolve_index(a.index)?;
    let catalog =
        Catalog::open(&index).with_context(|| format!("opening the index {}", index.display()))?;
    let embedder = Embedder::start(
        catalog.query_model()?,
        EngineOptions {
            intra_threads: a.threads,
        },
    )?;

    let t0 = Instant::now();
    let (query, _) = embedder.embed_file(&a.photo)?;
    let embed_ms = t0.elapsed().as_secs_f64() * 1e3;
    // A photo of the catalog itself is not its own look-alike.
    let own = catalog.find_path(&a.photo);
    let t1 = Instant::now();
    if (a.style || a.same_category) && catalog.head.is_none() {
        anyhow::bail!(
            "--style and --same-category need a head learned from the catalog's labels: run `lookalike train-head --index {}` first",
            index.display()
        );
    }
    let opts = LookupOptions {
        k: a.k,
        style_aware: a.style,
        same_category: a.same_category,
    };
    let Lookup { hits, predictions } = catalog.look_alikes(&query, &opts, |i| Some(i) != own);
    let search_ms = t1.elapsed().as_secs_f64() * 1e3;

    let model = embedder.manifest().label();
    if a.json {
        let results: Vec<_> = hits
            .iter()
            .enumerate()
            .map(|(r, h)| {
                serde_json::json!({
                    "rank": r + 1, "score": h.score, "path": catalog.abs_path(h.index).to_string_lossy(),
                    "label": catalog.label(h.index), "labels": catalog.items[h.index].labels,
                })
            })
            .collect();
        let out = serde_json::json!({
            "query": a.photo.to_string_lossy(), "model": model, "dims": catalog.dims, "items": catalog.len(),
            "vectors": if catalog.embeddings.is_compact() { "int8" } else { "f32" },
            "embed_ms": embed_ms, "search_ms": search_ms, "predicted": predictions, "results": results,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "Look-alikes of {} among {} items  [{model}{}; embed {embed_ms:.0} ms, search {search_ms:.1} ms]",
        a.photo.display(),
        catalog.len(),
        if catalog.embeddings.is_compact() {
            ", int8 vectors"
        } else {
            ""
        }
    );
    if !predictions.is_empty() {
        let words: Vec<String> = predictions
            .iter()
            .map(|p| format!("{} {} ({:.0}%)", p.column, p.label, p.confidence * 100.0))
            .collect();
        println!("Predicted: {}", words.join(", "));
    }
    println!(
        "{:>4}  {:>6}  {:<20}  path",
        "rank", "score", catalog.label_field
    );
    for (r, h) in hits.iter().enumerate() {
        println!(
            "{:>4}  {:>6.3}  {:<20}  {}",
            r + 1,
            h.score,
            catalog.label(h.index),
            catalog.abs_path(h.index).display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Args)]
pub struct ClassifyArgs {
    /// The photo.
    pub photo: PathBuf,
    /// Model to use (see `lookalike models`).
    #[arg(long)]
    pub model: Option<String>,
    /// How many classes to show.
    #[arg(long, default_value_t = 5)]
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
