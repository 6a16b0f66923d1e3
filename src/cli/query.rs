//! `lookalike query` and `lookalike classify`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Args;

use lookalike::embed::{Embedder, EngineOptions, read_photo_file};
use lookalike::learn::StyleSpace;
use lookalike::model::{default_model, find_model, imagenet_classes, top_classes};
use lookalike::query::{LabelFilter, LookupOptions};
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
    /// The photos to find look-alikes of (inside or outside the catalog); a folder stands for
    /// the photos in it. The model is loaded once for all of them.
    #[arg(required = true, value_name = "PHOTO")]
    pub photos: Vec<PathBuf>,
    /// The index: a file, or a shared catalog's postgres://USER@HOST/DB (default: the last
    /// catalog indexed).
    #[arg(long, env = "LOOKALIKE_INDEX")]
    pub index: Option<PathBuf>,
    /// How many look-alikes to show.
    #[arg(short, default_value_t = 12, value_parser = super::ranges::count(1, 10_000))]
    pub k: usize,
    /// Print JSON instead of a table (one object per line for several photos).
    #[arg(long, conflicts_with = "csv")]
    pub json: bool,
    /// Print CSV: a row per look-alike (query, rank, score, label, path).
    #[arg(long)]
    pub csv: bool,
    /// Keep only items whose labels pass this filter: `gender = Men` is exact, a word must start
    /// a word of some label; terms separated by commas must all hold.
    #[arg(long = "where", value_name = "FILTER")]
    pub filter: Option<String>,
    /// List copies of an item (byte-identical or near-identical photos) as look-alikes of their
    /// own; by default each is shown once, with its copies ("copies" in JSON).
    #[arg(long)]
    pub all_copies: bool,
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

/// The photos the arguments name: files as given, folders as the photos in them (sorted).
fn photos_named(args: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut photos = Vec::new();
    for a in args {
        if a.is_dir() {
            let mut inside: Vec<PathBuf> = walkdir::WalkDir::new(a)
                .follow_links(true)
                .into_iter()
                .filter_map(|e| e.ok())
                .filter(|e| e.file_type().is_file() && lookalike::catalog::is_photo_name(e.path()))
                .map(|e| e.into_path())
                .collect();
            inside.sort();
            if inside.is_empty() {
                anyhow::bail!("{}: a folder with no photos in it", a.display());
            }
            photos.extend(inside);
        } else {
            photos.push(a.clone());
        }
    }
    Ok(photos)
}

/// What one photo's query found, for the printers.
struct Found {
    photo: PathBuf,
    width: u32,
    height: u32,
    regions: Vec<lookalike::query::EmbeddedRegion>,
    answer: lookalike::query::Answer,
    embed_ms: f64,
    search_ms: f64,
}

/// What every photo is searched with.
struct Searcher<'a> {
    catalog: &'a lookalike::catalog::Catalog,
    style: Option<&'a StyleSpace>,
    embedder: &'a Embedder,
    mode: RegionMode,
    opts: LookupOptions,
    filter: LabelFilter,
}

impl Searcher<'_> {
    fn search(&self, path: &std::path::Path) -> Result<Found> {
        let t0 = Instant::now();
        let bytes = read_photo_file(path)
            .with_context(|| format!("{}: cannot use it as a photo", path.display()))?;
        let photo = decode_query_photo(&bytes, self.embedder.manifest())
            .with_context(|| format!("{}: cannot use it as a photo", path.display()))?;
        let regions = embed_regions(self.embedder, &photo, self.mode)
            .with_context(|| format!("{}: cannot search it", path.display()))?;
        let embed_ms = t0.elapsed().as_secs_f64() * 1e3;
        // A photo of the catalog itself is not its own look-alike.
        let own = self.catalog.find_path(path);
        let t1 = Instant::now();
        let catalog = self.catalog;
        let answer = search_regions(catalog, self.style, &regions, &self.opts, &|i| {
            Some(i) != own
                && (self.filter.is_empty() || self.filter.matches(&catalog.item(i).labels))
        });
        Ok(Found {
            photo: path.to_path_buf(),
            width: photo.width,
            height: photo.height,
            regions,
            answer,
            embed_ms,
            search_ms: t1.elapsed().as_secs_f64() * 1e3,
        })
    }
}

pub fn run(a: QueryArgs) -> Result<ExitCode> {
    let photos = photos_named(&a.photos)?;
    let index = super::resolve_index(a.index.clone())?;
    // The model starts (ONNX Runtime builds its session) while the catalog opens: a one-shot
    // query waits for the slower of the two, not for both.
    let options = EngineOptions {
        intra_threads: a.threads,
    };
    let (catalog, early) = std::thread::scope(|s| {
        let early = s.spawn(|| {
            let m = lookalike::catalog::model_for_index(&index, None).ok()?;
            Embedder::start(m.clone(), options).ok().map(|e| (m, e))
        });
        let catalog = super::open_catalog(&index);
        // The colours the ranking blends in are read meanwhile too (from every fingerprint).
        if let Ok(c) = &catalog
            && a.colour > 0.0
        {
            c.palettes();
        }
        (catalog, early.join().ok().flatten())
    });
    let catalog = catalog?;
    let wanted = catalog.query_model()?;
    let embedder = match early {
        Some((m, e))
            if m.name == wanted.name
                && m.pooling == wanted.pooling
                && m.resize == wanted.resize =>
        {
            e
        }
        _ => Embedder::start(wanted, options)?,
    };
    if let Some(server) = catalog.vectors().remote() {
        server.aim_at_recall(a.recall);
    }
    let style = StyleSpace::stored(&catalog)
        .with_context(|| format!("reading the learned head of {}", index.display()))?;
    if (a.style || a.same_category) && style.is_none() {
        anyhow::bail!(
            "--style and --same-category need a head learned from the catalog's labels: run `lookalike train-head --index {}` first",
            index.display()
        );
    }
    let filter = LabelFilter::parse(a.filter.as_deref().unwrap_or(""));
    let columns = catalog.label_columns();
    let unknown = filter.unknown_columns(columns.iter().copied());
    if !unknown.is_empty() {
        anyhow::bail!(
            "--where names no column of the catalog ({}): its columns are {}",
            unknown.join(", "),
            columns.join(", ")
        );
    }
    let searcher = Searcher {
        catalog: &catalog,
        style: style.as_ref(),
        embedder: &embedder,
        mode: match (a.region, a.regions) {
            (Some(r), _) => RegionMode::Given(r),
            (None, Regions::Auto) => RegionMode::Auto,
            (None, Regions::Off) => RegionMode::Whole,
        },
        opts: LookupOptions {
            k: a.k,
            style_aware: a.style,
            same_category: a.same_category,
            chosen_category: None,
            colour: a.colour,
            all_copies: a.all_copies,
        },
        filter,
    };
    // One photo: its error is the command's. Several: each error is said and the others go on.
    if photos.len() == 1 {
        let found = searcher.search(&photos[0])?;
        print_found(&searcher, &found, &a, Layout::Single)?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut failed = 0;
    if a.csv {
        println!("query,rank,score,label,path");
    }
    for (n, photo) in photos.iter().enumerate() {
        match searcher.search(photo) {
            Ok(found) => {
                if !a.json && !a.csv && n > 0 {
                    println!();
                }
                print_found(&searcher, &found, &a, Layout::Many)?
            }
            Err(e) => {
                failed += 1;
                let why = crate::describe(&e);
                eprintln!("lookalike: {why}");
                if a.json {
                    let line = serde_json::json!({"query": photo.to_string_lossy(), "error": why});
                    println!("{line}");
                }
            }
        }
    }
    if failed > 0 {
        eprintln!(
            "{failed} of {} photos could not be searched (see above)",
            photos.len()
        );
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

/// One photo's answer alone (pretty JSON), or one of several (a JSON line each).
#[derive(Clone, Copy, PartialEq)]
enum Layout {
    Single,
    Many,
}

fn print_found(s: &Searcher, f: &Found, a: &QueryArgs, layout: Layout) -> Result<()> {
    let catalog = s.catalog;
    let (regions, answer) = (&f.regions, &f.answer);
    let (hits, predictions) = (&answer.hits, &answer.predictions);
    let automatic = regions.iter().filter(|r| r.automatic).count();
    let (embed_ms, search_ms) = (f.embed_ms, f.search_ms);
    let model = s.embedder.manifest().label();
    if a.csv {
        let mut out = csv::Writer::from_writer(std::io::stdout().lock());
        if layout == Layout::Single {
            out.write_record(["query", "rank", "score", "label", "path"])?;
        }
        for (r, h) in hits.iter().enumerate() {
            out.write_record([
                f.photo.to_string_lossy().as_ref(),
                &(r + 1).to_string(),
                &format!("{:.4}", h.hit.score),
                catalog.label(h.hit.index),
                catalog.abs_path(h.hit.index).to_string_lossy().as_ref(),
            ])?;
        }
        out.flush()?;
        return Ok(());
    }
    if a.json {
        let rect = |i: usize| {
            let r = regions[i].rect;
            serde_json::json!({"x": r.x, "y": r.y, "w": r.w, "h": r.h, "automatic": regions[i].automatic})
        };
        let results: Vec<_> = hits
            .iter()
            .enumerate()
            .map(|(r, h)| {
                let copies: Vec<String> = answer
                    .copies
                    .get(r)
                    .into_iter()
                    .flatten()
                    .map(|&c| catalog.abs_path(c).to_string_lossy().into_owned())
                    .collect();
                serde_json::json!({
                    "rank": r + 1, "score": h.hit.score, "path": catalog.abs_path(h.hit.index).to_string_lossy(),
                    "label": catalog.label(h.hit.index), "labels": catalog.items()[h.hit.index].labels,
                    "region": h.region, "copies": copies,
                    "match": answer.strength.get(r).copied().flatten().map(|b| b.words()),
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
            "query": f.photo.to_string_lossy(), "model": model, "dims": catalog.dims(), "items": catalog.len(),
            "vectors": catalog.vectors().kind().name(),
            "expected_recall": catalog.vectors().expected_recall(),
            "kernel": catalog.vectors().is_compact().then(|| Simd::chosen().name()),
            "width": f.width, "height": f.height,
            "regions": (0..regions.len()).map(rect).collect::<Vec<_>>(), "lead_region": answer.lead,
            "suggestions": suggestions,
            "embed_ms": embed_ms, "search_ms": search_ms, "predicted": predictions, "results": results,
        });
        match layout {
            Layout::Single => println!("{}", serde_json::to_string_pretty(&out)?),
            Layout::Many => println!("{}", serde_json::to_string(&out)?),
        }
        return Ok(());
    }
    println!(
        "Look-alikes of {} among {} items  [{model}{}; embed {embed_ms:.0} ms, search {search_ms:.1} ms]",
        f.photo.display(),
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
            lead.x, lead.y, lead.w, lead.h, f.width, f.height
        );
    }
    if !s.filter.is_empty() {
        println!(
            "Only items where {}",
            a.filter.as_deref().unwrap_or("").trim()
        );
    }
    if !predictions.is_empty() {
        let words: Vec<String> = predictions
            .iter()
            .map(|p| {
                let others: Vec<String> = p
                    .alternatives
                    .iter()
                    .map(|o| format!("{} {:.0}%", o.label, o.confidence * 100.0))
                    .collect();
                let column = lookalike::query::filter::human_column(&p.column);
                let best = format!("{column} {} {:.0}%", p.label, p.confidence * 100.0);
                match others.is_empty() {
                    true => best,
                    false => format!("{best} (or {})", others.join(", ")),
                }
            })
            .collect();
        println!("Predicted: {}", words.join("; "));
    }
    if hits.is_empty() {
        println!("No look-alike passes the filter.");
        return Ok(());
    }
    println!(
        "{:>4}  {:>6}  {:<15}  {:<20}  path",
        "rank",
        "score",
        "match",
        catalog.label_field()
    );
    for (r, h) in hits.iter().enumerate() {
        let copies = answer.copies.get(r).map_or(0, Vec::len);
        let strength = answer.strength.get(r).copied().flatten();
        println!(
            "{:>4}  {:>6.3}  {:<15}  {:<20}  {}{}",
            r + 1,
            h.hit.score,
            strength.map_or("", |b| b.words()),
            catalog.label(h.hit.index),
            super::shown(&catalog.abs_path(h.hit.index)),
            match copies {
                0 => String::new(),
                1 => "  (+1 copy)".into(),
                n => format!("  (+{n} copies)"),
            }
        );
    }
    Ok(())
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
