//! `lookalike eval`: leave-one-out retrieval quality of an index, per label column.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Result;
use clap::Args;

use lookalike::catalog::Catalog;
use lookalike::eval::evaluate;
use lookalike::search::pca::principal_components;

#[derive(Args)]
pub struct EvalArgs {
    /// The index: a file, or a shared catalog's postgres://USER@HOST/DB (default: the last
    /// catalog indexed).
    #[arg(long, env = "LOOKALIKE_INDEX")]
    pub index: Option<PathBuf>,
    /// Label columns to evaluate (repeatable; default: every column with 2 to n/10 distinct values).
    #[arg(long = "label")]
    pub labels: Vec<String>,
    /// Rank cut-off.
    #[arg(short, default_value_t = 10, value_parser = super::ranges::count(1, 1000))]
    pub k: usize,
    /// Also evaluate PCA-whitened embeddings with this many components, fitted on the catalog itself.
    #[arg(long, value_parser = super::ranges::count(1, 4096))]
    pub whiten: Option<usize>,
    #[arg(long)]
    pub json: bool,
    /// Weight of colour in the ranking (as `query --colour`): 0 shape only, 1 colour only.
    #[arg(long, value_name = "W", default_value_t = lookalike::search::colour::DEFAULT_COLOUR_WEIGHT, value_parser = super::ranges::weight)]
    pub colour: f32,
    /// Also measure the map: how often an item's k nearest on the map share its label, on the
    /// PCA plane and on the neighbourhood layout (fitted now and timed; nothing is saved).
    #[arg(long)]
    pub map: bool,
}

/// The map's 2-D neighbour agreement for one layout.
struct MapRow {
    layout: &'static str,
    seconds: f64,
    /// (column, agreement)
    agreement: Vec<(String, f64)>,
}

/// Items the map's agreement is measured on (each against every point).
const MAP_SAMPLE: usize = 5_000;

fn map_rows(cat: &Catalog, columns: &[String], k: usize) -> Result<Vec<MapRow>> {
    use lookalike::map::{CatalogMap, neighbour_agreement, neighbourhoods};
    let t = Instant::now();
    let vectors = cat.vectors();
    let pca = if cat.len() <= lookalike::map::MAP_FIT_ROWS {
        lookalike::map::pca_2d(&vectors.to_f32(), cat.dims())
    } else {
        CatalogMap::load(cat)?
            .map(|m| m.projection)
            .ok_or_else(|| anyhow::anyhow!("the catalog has no map: index it again"))?
    };
    let pca_points: Vec<[f32; 2]> = (0..cat.len())
        .map(|i| pca.project(&vectors.row(i)))
        .collect();
    let pca_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let layout = neighbourhoods::fit_catalog(cat, &|_| {});
    let layout_s = t.elapsed().as_secs_f64();
    let agreement = |points: &[[f32; 2]]| -> Vec<(String, f64)> {
        columns
            .iter()
            .map(|c| {
                let labels: Vec<Option<&str>> =
                    cat.items().iter().map(|it| it.labels.get(c)).collect();
                (
                    c.clone(),
                    neighbour_agreement(points, &labels, k, MAP_SAMPLE),
                )
            })
            .collect()
    };
    Ok(vec![
        MapRow {
            layout: "pca",
            seconds: pca_s,
            agreement: agreement(&pca_points),
        },
        MapRow {
            layout: "neighbourhoods",
            seconds: layout_s,
            agreement: agreement(&layout),
        },
    ])
}

/// Label columns worth evaluating: more than one value, and not nearly one value per item.
fn default_columns(cat: &Catalog) -> Vec<String> {
    let mut columns: Vec<String> = cat
        .items()
        .iter()
        .flat_map(|it| it.labels.iter().map(|(k, _)| k.to_string()))
        .collect();
    columns.sort();
    columns.dedup();
    let max = (cat.len() / 10).max(50);
    columns
        .into_iter()
        .filter(|c| {
            let mut values: Vec<&str> = cat
                .items()
                .iter()
                .filter_map(|it| it.labels.get(c))
                .collect();
            values.sort_unstable();
            values.dedup();
            (2..=max).contains(&values.len())
        })
        .collect()
}

pub fn run(a: EvalArgs) -> Result<ExitCode> {
    let index = super::resolve_index(a.index)?;
    let cat = super::open_catalog(&index)?;
    let columns = if a.labels.is_empty() {
        default_columns(&cat)
    } else {
        a.labels.clone()
    };
    if columns.is_empty() {
        anyhow::bail!(
            "{} has no label columns to evaluate: put a labels.csv in the catalog folder (or sort photos into folders by label) and index it again",
            cat.root().display()
        );
    }
    let t = Instant::now();
    let mut rows = vec![(
        "embeddings".to_string(),
        evaluate(&cat, &columns, a.k, None, a.colour)?,
    )];
    let eval_s = t.elapsed().as_secs_f64();
    if let Some(n) = a.whiten {
        let pc = principal_components(&cat.vectors().to_f32(), cat.dims(), n);
        let whitened: Vec<f32> = (0..cat.len())
            .flat_map(|i| pc.whiten(&cat.vector(i)))
            .collect();
        let dims = pc.axes.len();
        rows.push((
            format!("PCA-whitened ({dims})"),
            evaluate(&cat, &columns, a.k, Some((&whitened, dims)), a.colour)?,
        ));
    }
    let maps = if a.map {
        map_rows(&cat, &columns, a.k)?
    } else {
        Vec::new()
    };
    let model = format!(
        "{} ({}-d, {} pooling, {})",
        cat.model(),
        cat.dims(),
        cat.pooling().name(),
        cat.resize().name()
    );
    if a.json {
        let out = serde_json::json!({
            "index": index.to_string_lossy(), "model": model, "items": cat.len(), "k": a.k,
            "results": rows.iter().map(|(name, s)| serde_json::json!({"space": name, "labels": s})).collect::<Vec<_>>(),
            "map": maps.iter().map(|m| serde_json::json!({
                "layout": m.layout, "seconds": m.seconds,
                "agreement": m.agreement.iter().map(|(c, v)| serde_json::json!({"column": c, "agreement": v})).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "Leave-one-out retrieval on {} items, {model}, k = {} ({eval_s:.1} s)",
        cat.len(),
        a.k
    );
    println!(
        "{:<22} {:<16} {:>8} {:>7} {:>9} {:>8} {:>8}",
        "space", "label", "queries", "labels", "chance", "P@k", "mAP@k"
    );
    for (name, scores) in &rows {
        for s in scores {
            println!(
                "{:<22} {:<16} {:>8} {:>7} {:>9.3} {:>8.3} {:>8.3}",
                name,
                s.column,
                s.queries,
                s.distinct_labels,
                s.chance,
                s.precision_at_k,
                s.map_at_k
            );
        }
    }
    if !maps.is_empty() {
        println!(
            "\nThe map: how often an item's {} nearest on the map share its label (up to {MAP_SAMPLE} items asked)",
            a.k
        );
        println!(
            "{:<22} {:<16} {:>9} {:>9}",
            "layout", "label", "agreement", "seconds"
        );
        for m in &maps {
            for (c, v) in &m.agreement {
                println!("{:<22} {:<16} {:>9.3} {:>9.1}", m.layout, c, v, m.seconds);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
