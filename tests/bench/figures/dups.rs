//! `lookalike bench-dups`: the duplicate finder measured on a catalog with known duplicates.
//!
//! Real product photos are copied into a work folder together with transformed copies of some of
//! them (re-encoded, downscaled, cropped, mirrored, recoloured, rotated, stamped with text); the
//! folder is indexed, and every grouping rule is scored by pair precision, recall and F1 against
//! the known pairs (byte-identical photos already in the source count as known pairs too).

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Args;

use crate::common::transform::Transform;

#[path = "dups_files.rs"]
mod files;
#[path = "dups_truth.rs"]
mod truth;
use lookalike::catalog::{Catalog, scan_folder};
use lookalike::dups::{CandidateOptions, HASH_BITS, Rule, catalog_candidates};
use lookalike::embed::{Embedder, EngineOptions, load_photo};
use lookalike::indexer::{IndexOptions, index_folder};
use lookalike::model::default_model;
use truth::{Score, Truth, groups_of};

#[derive(Args)]
pub struct BenchDupsArgs {
    /// A folder of real photos (default: the demo catalog).
    #[arg(long)]
    pub photos: Option<PathBuf>,
    /// Original photos in the benchmark catalog.
    #[arg(long, default_value_t = 500)]
    pub originals: usize,
    /// Transformed copies mixed in (each of a different original, the kinds in turn).
    #[arg(long, default_value_t = 160)]
    pub copies: usize,
    /// Colour variants mixed in (an original's garment recoloured): not duplicates, must stay apart.
    #[arg(long, default_value_t = 40)]
    pub variants: usize,
    /// Where to write the catalog (default: a temp folder); kept, so other tools can be run on it.
    #[arg(long)]
    pub work_dir: Option<PathBuf>,
    /// Write every candidate pair with its signals and whether it is a known duplicate (CSV).
    #[arg(long)]
    pub dump: Option<PathBuf>,
    /// Also score a czkawka_cli run: a file it wrote with `image -f FILE` on this catalog.
    #[arg(long)]
    pub czkawka_result: Option<PathBuf>,
}

pub fn run(a: BenchDupsArgs) -> Result<ExitCode> {
    let source = match &a.photos {
        Some(p) => p.clone(),
        None => lookalike::paths::demo_catalog()
            .context("no demo catalog here: pass --photos FOLDER")?
            .join("images"),
    };
    let tmp = tempfile::tempdir()?;
    let work = a
        .work_dir
        .clone()
        .unwrap_or_else(|| tmp.path().to_path_buf());
    let root = work.join("catalog");
    if root.exists() {
        std::fs::remove_dir_all(&root).with_context(|| format!("clearing {}", root.display()))?;
    }
    std::fs::create_dir_all(&root)?;

    // Originals spread over the source; copies of every few originals, the transforms in turn.
    let mut all: Vec<PathBuf> = scan_folder(&source, &lookalike::catalog::Exclusions::none())
        .0
        .into_iter()
        .map(|f| f.abs)
        .collect();
    all.sort();
    let step = (all.len() / a.originals.max(1)).max(1);
    let originals: Vec<PathBuf> = all
        .iter()
        .step_by(step)
        .take(a.originals)
        .cloned()
        .collect();
    let every = (originals.len() / a.copies.max(1)).max(1);
    let mut copy_of: HashMap<String, (String, Transform)> = HashMap::new();
    for o in &originals {
        std::fs::copy(o, root.join(o.file_name().unwrap_or_default()))?;
    }
    for (n, o) in originals.iter().step_by(every).take(a.copies).enumerate() {
        let t = Transform::ALL[n % Transform::ALL.len()];
        let photo = load_photo(o).with_context(|| format!("{}", o.display()))?;
        let name = format!("copy-{n:04}.jpg");
        std::fs::write(root.join(&name), t.apply(&photo.rgb))?;
        let original = o
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        copy_of.insert(name, (original, t));
    }
    // Colour variants of originals that have no copy (their own products: known not duplicates).
    let mut variant_of: HashMap<String, String> = HashMap::new();
    for o in originals.iter().skip(every / 2 + 1).step_by(every.max(2)) {
        if variant_of.len() >= a.variants {
            break;
        }
        let photo = load_photo(o).with_context(|| format!("{}", o.display()))?;
        let degrees = [120.0, 200.0, 60.0][variant_of.len() % 3];
        if let Some(jpeg) = crate::common::transform::colour_variant(&photo.rgb, degrees) {
            let name = format!("variant-{:04}.jpg", variant_of.len());
            std::fs::write(root.join(&name), jpeg)?;
            variant_of.insert(
                name,
                o.file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned(),
            );
        }
    }
    // The source's colour labels, when it has them (labels.csv beside or above the photos).
    let colour_of: HashMap<String, String> = source_colours(&source);

    let embedder = Embedder::start(default_model()?, EngineOptions::default())?;
    let index = work.join("bench-dups.sqlite");
    let _ = std::fs::remove_file(&index);
    let t0 = Instant::now();
    index_folder(
        &root,
        &index,
        &embedder,
        &IndexOptions::default(),
        &AtomicBool::new(false),
        |_| {},
    )?;
    let index_s = t0.elapsed().as_secs_f64();
    let catalog = Catalog::open(&index)?;

    // Known groups: each copy with its original, and byte-identical files.
    let name_of = |i: usize| catalog.items()[i].path.to_string_lossy().into_owned();
    let by_name: HashMap<String, usize> = (0..catalog.len()).map(|i| (name_of(i), i)).collect();
    let mut component: Vec<usize> = (0..catalog.len()).collect();
    let mut by_hash: HashMap<&[u8], usize> = HashMap::new();
    for (i, c) in component.iter_mut().enumerate() {
        *c = *by_hash
            .entry(catalog.items()[i].hash.as_slice())
            .or_insert(i);
    }
    for (copy, (original, _)) in &copy_of {
        component[by_name[copy]] = component[by_name[original]];
    }
    let mut sizes: HashMap<usize, usize> = HashMap::new();
    for &c in &component {
        *sizes.entry(c).or_default() += 1;
    }
    let truth = Truth {
        pairs: sizes.values().map(|n| n * (n - 1) / 2).sum(),
        component,
    };

    let t1 = Instant::now();
    let pairs = catalog_candidates(&catalog, &CandidateOptions::default())?;
    let candidates_s = t1.elapsed().as_secs_f64();

    if let Some(path) = &a.dump {
        files::write_dump(path, &pairs, &name_of, |x, y| {
            truth.component[x] == truth.component[y]
        })?;
    }
    println!(
        "Duplicate benchmark: {} originals + {} transformed copies + {} colour variants = {} items ({} known duplicate pairs); indexed in {index_s:.1} s; {} candidate pairs in {candidates_s:.2} s",
        originals.len(),
        copy_of.len(),
        variant_of.len(),
        catalog.len(),
        truth.pairs,
        pairs.len()
    );
    println!("catalog kept at {}", root.display());
    println!(
        "\n{:<44} {:>9} {:>7} {:>6} {:>6}",
        "method", "precision", "recall", "F1", "pairs"
    );
    let show = |name: &str, s: Score| {
        println!(
            "{name:<44} {:>9.3} {:>7.3} {:>6.3} {:>6}",
            s.precision, s.recall, s.f1, s.predicted
        )
    };
    let thresholds: Vec<f32> = (70..=99).map(|t| t as f32 / 100.0).collect();
    let best_by = |f: &dyn Fn(f32) -> Score| {
        thresholds
            .iter()
            .map(|&t| (t, f(t)))
            .max_by(|x, y| x.1.f1.total_cmp(&y.1.f1))
            .unwrap_or((0.0, Score::default()))
    };
    let (t, s) =
        best_by(&|t| truth.score(&groups_of(&catalog, &pairs, |c| c.exact || c.cosine >= t)));
    show(&format!("embedding only, best (cos >= {t:.2})"), s);
    let (h, s) = (0..=HASH_BITS / 2)
        .map(|h| {
            (
                h,
                truth.score(&groups_of(&catalog, &pairs, |c| {
                    c.exact || c.hash_distance <= h
                })),
            )
        })
        .max_by(|x, y| x.1.f1.total_cmp(&y.1.f1))
        .unwrap_or_default();
    show(&format!("perceptual hash only, best (<= {h} bits)"), s);
    let default = Rule::default();
    let s = truth.score(&groups_of(&catalog, &pairs, |c| default.accepts(c)));
    show(
        &format!("combined, default (t = {:.2})", default.threshold),
        s,
    );
    let (t, s) = best_by(&|t| {
        let r = default.with_threshold(t);
        truth.score(&groups_of(&catalog, &pairs, |c| r.accepts(c)))
    });
    show(&format!("combined, best threshold (t = {t:.2})"), s);
    // The whole rule, searched (to choose the defaults; beware of fitting one benchmark).
    let mut best = (default, Score::default());
    for colour in [0.08, 0.12, 0.16, 0.20, 0.24, 0.28, 0.32] {
        for sure in [0.95, 0.96, 0.97, 0.98, 0.99] {
            for hash in [16, 20, 24, 28] {
                for &t in thresholds.iter().filter(|&&t| t >= 0.8) {
                    let r = Rule {
                        threshold: t,
                        max_colour_distance: colour,
                        sure_cosine: sure,
                        max_hash_distance: hash,
                    };
                    let s = truth.score(&groups_of(&catalog, &pairs, |c| r.accepts(c)));
                    if s.f1 > best.1.f1 {
                        best = (r, s);
                    }
                }
            }
        }
    }
    show(
        &format!(
            "combined, best rule (t {:.2}, col {:.2}, sure {:.2}, hash {})",
            best.0.threshold,
            best.0.max_colour_distance,
            best.0.sure_cosine,
            best.0.max_hash_distance
        ),
        best.1,
    );

    // Which copies the default rule finds, by kind.
    let groups = groups_of(&catalog, &pairs, |c| default.accepts(c));
    let mut group_of: HashMap<usize, usize> = HashMap::new();
    for (g, items) in groups.iter().enumerate() {
        for &i in items {
            group_of.insert(i, g);
        }
    }
    println!("\nCopies found by the default rule, by kind:");
    for t in Transform::ALL {
        let copies: Vec<(&String, &String)> = copy_of
            .iter()
            .filter(|(_, (_, k))| *k == t)
            .map(|(c, (o, _))| (c, o))
            .collect();
        let (found, mut missed): (Vec<_>, Vec<_>) = copies.iter().partition(|(c, o)| {
            let (a, b) = (by_name[*c], by_name[*o]);
            group_of
                .get(&a)
                .is_some_and(|g| group_of.get(&b) == Some(g))
        });
        let found = found.len();
        missed.sort();
        let cos: Vec<f32> = copies
            .iter()
            .filter_map(|(c, o)| {
                let (a, b) = (by_name[*c], by_name[*o]);
                pairs
                    .iter()
                    .find(|p| (p.a, p.b) == (a.min(b), a.max(b)))
                    .map(|p| p.cosine)
            })
            .collect();
        let min = cos.iter().copied().fold(f32::NAN, f32::min);
        println!(
            "  {:<22} {found:>3}/{:<3}  (lowest cosine to its original {min:.3})",
            t.name(),
            copies.len()
        );
        if !missed.is_empty() {
            let names: Vec<String> = missed.iter().map(|(c, o)| format!("{c} ({o})")).collect();
            println!("      missed: {}", names.join(", "));
        }
    }
    // Distinct products that look alike must not be grouped.
    let originals_set: HashSet<usize> = originals
        .iter()
        .filter_map(|o| {
            by_name
                .get(
                    &o.file_name()
                        .unwrap_or_default()
                        .to_string_lossy()
                        .into_owned(),
                )
                .copied()
        })
        .collect();
    let wrong: Vec<(usize, usize)> = groups
        .iter()
        .flat_map(|g| {
            g.iter()
                .flat_map(|&a| g.iter().map(move |&b| (a, b)))
                .filter(|&(a, b)| a < b && truth.component[a] != truth.component[b])
                .collect::<Vec<_>>()
        })
        .filter(|(a, b)| originals_set.contains(a) && originals_set.contains(b))
        .collect();
    println!(
        "\nDistinct originals grouped together by the default rule: {} pairs{}",
        wrong.len(),
        wrong
            .iter()
            .take(5)
            .map(|&(a, b)| format!("\n  {} + {}", name_of(a), name_of(b)))
            .collect::<String>()
    );

    let variants_grouped: Vec<&String> = variant_of
        .iter()
        .filter(|(v, o)| {
            let (a, b) = (by_name[*v], by_name[*o]);
            group_of
                .get(&a)
                .is_some_and(|g| group_of.get(&b) == Some(g))
        })
        .map(|(v, _)| v)
        .collect();
    println!(
        "Colour variants grouped with their original by the default rule: {} of {}{}",
        variants_grouped.len(),
        variant_of.len(),
        variants_grouped
            .iter()
            .take(5)
            .map(|v| format!("\n  {v} + {}", variant_of[*v]))
            .collect::<String>()
    );
    if !colour_of.is_empty() {
        let colour = |i: usize| colour_of.get(name_of(i).trim_end_matches(".jpg"));
        let differing: Vec<(usize, usize)> = wrong
            .iter()
            .copied()
            .filter(|&(a, b)| !catalog.items()[a].hash.eq(&catalog.items()[b].hash))
            .filter(|&(a, b)| matches!((colour(a), colour(b)), (Some(x), Some(y)) if x != y))
            .collect();
        println!(
            "Grouped pairs of originals whose colour labels differ (byte-identical aside): {}{}",
            differing.len(),
            differing
                .iter()
                .take(8)
                .map(|&(a, b)| format!(
                    "\n  {} ({}) + {} ({})",
                    name_of(a),
                    colour(a).map_or("?", |c| c),
                    name_of(b),
                    colour(b).map_or("?", |c| c)
                ))
                .collect::<String>()
        );
    }

    if let Some(file) = &a.czkawka_result {
        let groups = files::czkawka_groups(file, &root, &by_name)?;
        show("czkawka_cli (from --czkawka-result)", truth.score(&groups));
    }
    Ok(ExitCode::SUCCESS)
}

/// baseColour by photo id (file stem) from a labels.csv beside or above `photos`.
fn source_colours(photos: &Path) -> HashMap<String, String> {
    let Some(csv) = [photos.join("labels.csv"), photos.join("../labels.csv")]
        .into_iter()
        .find(|p| p.is_file())
    else {
        return HashMap::new();
    };
    let Ok(mut r) = csv::Reader::from_path(&csv) else {
        return HashMap::new();
    };
    let Ok(h) = r.headers().cloned() else {
        return HashMap::new();
    };
    let (Some(id), Some(colour)) = (
        h.iter().position(|c| c == "id"),
        h.iter().position(|c| c == "baseColour"),
    ) else {
        return HashMap::new();
    };
    r.records()
        .filter_map(|rec| rec.ok())
        .map(|rec| (rec[id].to_string(), rec[colour].to_string()))
        .collect()
}
