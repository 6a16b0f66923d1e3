//! The street benchmark of region search: demo catalog products cut out and pasted onto real
//! cluttered photos (tests/common/scenes.rs), searched as a whole photo, with the automatic
//! regions, and with the true box, against the catalog that holds the originals. Prints exact-item
//! recall@10, articleType precision@10 and query times, on scenes the design used and on scenes it
//! did not; then studio shots (catalog photos) with and without automatic regions.
//!
//!   cargo bench --bench street [-- --scenes 100 --model efficientnet-lite0-int8]

#[path = "../common/mod.rs"]
mod common;

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use common::scenes::{DESIGN_SCENES, HELD_OUT_SCENES, street_scenes};
use lookalike::catalog::Catalog;
use lookalike::embed::{Embedder, EngineOptions, Photo};
use lookalike::indexer::{IndexOptions, index_folder};
use lookalike::model::{default_model, find_model};
use lookalike::query::LookupOptions;
use lookalike::query::{
    Rect, RegionArg, RegionMode, embed_regions, look_alikes_many, search_regions,
};
use lookalike::search::top_k_many;

struct Tally {
    found: usize,
    precision: f64,
    ms: Vec<f64>,
}

impl Tally {
    fn new() -> Self {
        Tally {
            found: 0,
            precision: 0.0,
            ms: Vec::new(),
        }
    }
    fn line(&self, name: &str, n: usize) -> String {
        let mut ms = self.ms.clone();
        ms.sort_by(f64::total_cmp);
        let time = if ms.iter().all(|&t| t == 0.0) {
            String::new() // measured inside another row's query
        } else {
            format!(
                "   query median {:6.1} ms  p95 {:6.1} ms",
                ms[ms.len() / 2],
                ms[(ms.len() * 95 / 100).min(ms.len() - 1)]
            )
        };
        format!(
            "{name:<18} recall@10 {:.3}   articleType P@10 {:.3}{time}",
            self.found as f64 / n as f64,
            self.precision / n as f64,
        )
    }
}

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn main() {
    let n: usize = arg("--scenes").map_or(100, |s| s.parse().expect("--scenes N"));
    let model = match arg("--model") {
        Some(m) => find_model(&m).expect("model"),
        None => default_model().expect("a model: run ./run setup"),
    };
    let embedder = Embedder::start(model.clone(), EngineOptions::default()).expect("model loads");
    let demo = common::demo_catalog();
    let work = common::project().join(".cache/bench");
    std::fs::create_dir_all(&work).unwrap();
    let db = work.join(format!("street-{}.sqlite", model.name));
    index_folder(
        &demo,
        &db,
        &embedder,
        &IndexOptions::default(),
        &AtomicBool::new(false),
        |_| {},
    )
    .expect("indexing the demo catalog");
    let catalog = Catalog::open(&db).unwrap();
    println!(
        "street benchmark: {} items, model {}, cpu {}",
        catalog.len(),
        model.label(),
        lookalike::cpu::describe()
    );
    let photos: Vec<PathBuf> = (0..catalog.len()).map(|i| catalog.abs_path(i)).collect();
    let opts = LookupOptions {
        k: 10,
        ..Default::default()
    };
    let kind = |i: usize| {
        catalog.items()[i]
            .labels
            .get("articleType")
            .unwrap_or_default()
            .to_string()
    };

    for (title, scenes, seed) in [
        ("scenes the design used", &DESIGN_SCENES[..], 1),
        ("held-out scenes", &HELD_OUT_SCENES[..], 2),
    ] {
        let cases = street_scenes(&photos, scenes, n, seed);
        let mut tallies = [Tally::new(), Tally::new(), Tally::new(), Tally::new()];
        for (original, scene) in &cases {
            let target = catalog
                .find_path(original)
                .expect("original in the catalog");
            let [x, y, w, h] = scene.truth.map(|v| v as f32);
            let modes = [
                RegionMode::Whole,
                RegionMode::Auto,
                RegionMode::Given(RegionArg::pixels(Rect { x, y, w, h })),
            ];
            // For comparison: every region fused, whatever kind of item it matches.
            let photo = Photo::from_rgb(scene.rgb.clone());
            let regions = embed_regions(&embedder, &photo, RegionMode::Auto).unwrap();
            let queries: Vec<&[f32]> = regions.iter().map(|r| r.vector.as_slice()).collect();
            let mut fused: Vec<lookalike::search::Hit> =
                look_alikes_many(&catalog, None, &queries, &opts, &|_| true)
                    .into_iter()
                    .flat_map(|l| l.hits)
                    .collect();
            fused.sort_by(|a, b| b.score.total_cmp(&a.score));
            let mut top = Vec::new();
            for h in fused {
                if !top.contains(&h.index) && top.len() < 10 {
                    top.push(h.index);
                }
            }
            tallies[3].ms.push(0.0);
            tallies[3].found += top.contains(&target) as usize;
            tallies[3].precision += top.iter().filter(|&&i| kind(i) == kind(target)).count() as f64
                / top.len().max(1) as f64;
            for (mode, tally) in modes.into_iter().zip(&mut tallies) {
                let t = Instant::now();
                let photo = Photo::from_rgb(scene.rgb.clone());
                let regions = embed_regions(&embedder, &photo, mode).unwrap();
                let answer = search_regions(&catalog, None, &regions, &opts, &|_| true);
                tally.ms.push(t.elapsed().as_secs_f64() * 1e3);
                let top: Vec<usize> = answer.hits.iter().map(|h| h.hit.index).collect();
                // The original counts as found when it is a copy folded into a card shown.
                let shown_copies = answer.copies.iter().flatten();
                tally.found += (top.contains(&target)
                    || shown_copies.into_iter().any(|&c| c == target))
                    as usize;
                tally.precision += top.iter().filter(|&&i| kind(i) == kind(target)).count() as f64
                    / top.len().max(1) as f64;
            }
        }
        println!("\n{title} ({} scenes: {}):", cases.len(), scenes.join(", "));
        for (name, t) in [
            "whole photo",
            "automatic regions",
            "true box",
            "all kinds fused",
        ]
        .iter()
        .zip(&tallies)
        {
            println!("  {}", t.line(name, cases.len()));
        }
    }

    // Studio shots: catalog photos as queries (leave-one-out), with and without automatic regions.
    let mut tallies = [Tally::new(), Tally::new()];
    for i in (0..catalog.len()).step_by(10) {
        let rgb = image::open(catalog.abs_path(i)).unwrap().to_rgb8();
        for (mode, tally) in [RegionMode::Whole, RegionMode::Auto]
            .into_iter()
            .zip(&mut tallies)
        {
            let t = Instant::now();
            let photo = Photo::from_rgb(rgb.clone());
            let regions = embed_regions(&embedder, &photo, mode).unwrap();
            let answer = search_regions(&catalog, None, &regions, &opts, &|j| j != i);
            tally.ms.push(t.elapsed().as_secs_f64() * 1e3);
            let top: Vec<usize> = answer.hits.iter().map(|h| h.hit.index).collect();
            tally.precision += top.iter().filter(|&&j| kind(j) == kind(i)).count() as f64 / 10.0;
        }
    }
    let studio = catalog.len().div_ceil(10);
    println!("\nstudio shots ({studio} catalog photos, leave-one-out):");
    for (name, t) in ["whole photo", "automatic regions"].iter().zip(&tallies) {
        println!(
            "  {}",
            t.line(name, studio).replace("recall@10 0.000   ", "")
        );
    }

    // The search part at 7,500 items: the catalog's rows repeated with noise, all regions at once.
    let dims = catalog.dims();
    let base = catalog.vectors().to_f32();
    let mut rng = fastrand::Rng::with_seed(5);
    let rows: Vec<f32> = (0..7_500 * dims)
        .map(|j| base[j % base.len()] + 0.01 * (rng.f32() - 0.5))
        .collect();
    let queries: Vec<Vec<f32>> = (0..26).map(|r| catalog.vector(r * 7).to_vec()).collect();
    let refs: Vec<&[f32]> = queries.iter().map(Vec::as_slice).collect();
    let mut ms: Vec<f64> = (0..30)
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(top_k_many(&rows, dims, &refs, 10, |_| true));
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    ms.sort_by(f64::total_cmp);
    println!(
        "\nsearch of 26 region vectors over 7,500 items (one pass): median {:.1} ms",
        ms[ms.len() / 2]
    );
}
