//! The int8 model against the float one, on the same photos: forward pass, end-to-end indexing,
//! agreement of the embeddings, and retrieval precision on the catalog's labels.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::Result;

use lookalike::catalog::Catalog;
use lookalike::embed::{Embedder, EngineOptions};
use lookalike::model::find_model;

pub const MODEL: &str = "efficientnet-lite0-int8";

/// Cosine between the two catalogs' vectors of the same files: (mean, min, files compared).
fn agreement(float: &Catalog, int8: &Catalog) -> (f64, f64, usize) {
    let rows: HashMap<&Path, usize> = float
        .items()
        .iter()
        .enumerate()
        .map(|(j, it)| (it.path.as_path(), j))
        .collect();
    let cos: Vec<f64> = int8
        .items()
        .iter()
        .enumerate()
        .filter_map(|(i, it)| {
            let j = *rows.get(it.path.as_path())?;
            Some(lookalike::search::dot(&float.vector(j), &int8.vector(i)) as f64)
        })
        .collect();
    let mean = cos.iter().sum::<f64>() / cos.len().max(1) as f64;
    (mean, cos.iter().copied().fold(1.0, f64::min), cos.len())
}

/// Precision@10 of the catalog's shown label, leave-one-out; `None` without labels.
fn precision_at_10(cat: &Catalog) -> Option<(String, f64)> {
    let column = cat.label_field().to_string();
    let scores =
        lookalike::eval::evaluate(cat, std::slice::from_ref(&column), 10, None, 0.0).ok()?;
    scores.first().map(|s| (column, s.precision_at_k))
}

/// Prints the figures; returns the int8 model's end-to-end indexing rate.
#[allow(clippy::too_many_arguments)]
pub fn run(
    photos: &[PathBuf],
    catalog: &Path,
    float_db: &Path,
    float_forward: f64,
    float_index: f64,
    options: EngineOptions,
    batch: usize,
    work: &Path,
) -> Result<Option<f64>> {
    let model = match find_model(MODEL) {
        Ok(m) => m,
        Err(e) => {
            println!("int8 model: not measured ({e})");
            return Ok(None);
        }
    };
    let embedder = Embedder::start(model, options)?;
    println!("int8 figures on: {}", lookalike::cpu::describe());
    let forward = super::forward_rate(&embedder, photos, batch, photos.len() / batch)?;
    println!(
        "int8 model forward pass:                 {forward:8.1} images/s   = {:.2} x the float model",
        forward / float_forward
    );
    let db = work.join("bench-catalog-int8.sqlite");
    let (n, index_rate) = super::index_rate(&embedder, catalog, &db, batch)?;
    println!(
        "int8 end-to-end indexing ({n} photos):  {index_rate:8.1} images/s   = {:.2} x float indexing",
        index_rate / float_index
    );
    let (float, int8) = (Catalog::open(float_db)?, Catalog::open(&db)?);
    let (mean, min, compared) = agreement(&float, &int8);
    println!(
        "int8 vs float embeddings, cosine:        mean {mean:.4}, min {min:.4} ({compared} photos)"
    );
    if let (Some((col, pf)), Some((_, pi))) = (precision_at_10(&float), precision_at_10(&int8)) {
        println!(
            "precision@10 ({col}, leave-one-out):  float {pf:.3}, int8 {pi:.3} ({:+.3})",
            pi - pf
        );
    }
    Ok(Some(index_rate))
}
