//! Indexing a catalog folder into its store (the use case both front ends call): embed new and changed photos only, reuse embeddings of moved and
//! duplicated files, drop vanished ones. Decoding (rayon, on a `decoder` thread) overlaps inference
//! (the `embedder` thread), and each batch is written in its own transaction.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use crossbeam_channel::{Receiver, bounded};
use rayon::prelude::*;

use crate::catalog::{
    CatalogWriter, Exclusions, NewItem, ScannedFile, Storage, load_labels, model_variant,
    scan_folder, store_for,
};
use crate::embed::fingerprint::{Fingerprint, fingerprint};
use crate::embed::preprocess::{decode_photo_for, model_input, thumbnail_jpeg};
use crate::embed::{Embedder, Embeddings};
use crate::embed::{is_unit_vector, read_photo_file};
use crate::error::{Error, PhotoError, Result};
use crate::model::ModelManifest;

/// How to index.
#[derive(Debug, Clone)]
pub struct IndexOptions {
    /// Photos per model run.
    pub batch_size: usize,
    /// The label field to show beside results (default: a well-known labels.csv column, else the folder).
    pub label_field: Option<String>,
    /// Paths to leave out (gitignore patterns, relative to the folder), besides those of the
    /// folder's `.lookalikeignore`; items indexed before that they name are removed.
    pub exclude: Vec<String>,
}

impl Default for IndexOptions {
    fn default() -> Self {
        IndexOptions {
            batch_size: 16,
            label_field: None,
            exclude: Vec::new(),
        }
    }
}

/// Progress of the photos that need embedding.
#[derive(Debug, Clone, Copy, Default)]
pub struct Progress {
    pub done: usize,
    pub total: usize,
    pub failed: usize,
}

/// What an indexing run did.
#[derive(Debug, Clone, Default)]
pub struct IndexReport {
    /// Photos found in the folder.
    pub scanned: usize,
    /// Other names (symbolic or hard links) of photos already found: one physical file is one item.
    pub aliases: usize,
    /// Photos whose size and modification time had not changed.
    pub unchanged: usize,
    /// Photos run through the model.
    pub embedded: usize,
    /// Photos whose embedding was copied from an identical file already indexed (moved or duplicated).
    pub reused: usize,
    /// Index entries whose files are gone.
    pub removed: usize,
    /// Files that could not be indexed, with the reason.
    pub failures: Vec<(PathBuf, String)>,
    /// Problems that cost no photo (rows of labels.csv skipped, ...).
    pub warnings: Vec<String>,
    pub cancelled: bool,
    pub seconds: f64,
    /// Items in the index after the run.
    pub items: usize,
}

/// The answer of the embedding thread for one batch.
type EmbeddingJob = Receiver<Result<Embeddings>>;

enum Prepared {
    Embed {
        file: ScannedFile,
        hash: blake3::Hash,
        width: u32,
        height: u32,
        input: Vec<f32>,
        thumb: Vec<u8>,
        /// Boxed: a kilobyte, and most `Prepared` values are reuses or failures.
        fingerprint: Box<Fingerprint>,
    },
    Reuse {
        file: ScannedFile,
        source: i64,
    },
    Failed {
        file: ScannedFile,
        reason: String,
    },
}

/// Bring the index at `index_path` up to date with the photos in `root`.
///
/// `cancel` stops the run after the batch in flight; what was written stays. `progress` is called
/// after every batch.
pub fn index_folder(
    root: &Path,
    index_path: &Path,
    embedder: &Embedder,
    options: &IndexOptions,
    cancel: &AtomicBool,
    mut progress: impl FnMut(&Progress),
) -> Result<IndexReport> {
    let started = Instant::now();
    if !root.is_dir() {
        return Err(Error::NoCatalog {
            path: root.to_path_buf(),
        });
    }
    let root = root.canonicalize().map_err(crate::error::io_err(root))?;
    let model = embedder.manifest();
    let store = store_for(index_path);
    let _writing = store.lock_for_writing()?;
    let mut db = store.open_writer()?;
    prepare_meta(&mut *db, &root, model, store.is_shared())?;

    let labels = load_labels(&root)?;
    if let Some(asked) = &options.label_field
        && asked != "folder"
        && !labels.columns.contains(asked)
    {
        return Err(Error::UnknownLabelField {
            asked: asked.clone(),
            available: std::iter::once("folder")
                .chain(labels.columns.iter().map(String::as_str))
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    let label_field = match (&options.label_field, db.meta("label_field")?) {
        (Some(asked), _) => asked.clone(),
        (None, Some(kept)) => kept,
        (None, None) => labels.default_field(None),
    };
    db.set_meta("label_field", &label_field)?;

    let exclusions = Exclusions::for_folder(&root, &options.exclude)?;
    let (files, problems) = scan_folder(&root, &exclusions);
    let mut known = db.known_files()?;
    let mut hashes = db.known_hashes()?;
    // A damaged stored embedding is embedded again, and never copied to an identical file.
    let damaged: HashSet<i64> = db.damaged_embeddings(model.dims)?.into_iter().collect();
    if !damaged.is_empty() {
        known
            .values_mut()
            .filter(|k| damaged.contains(&k.id))
            .for_each(|k| k.complete = false);
        hashes.retain(|_, id| !damaged.contains(id));
    }
    let mut report = IndexReport {
        scanned: files.len(),
        aliases: files.iter().map(|f| f.aliases.len()).sum(),
        warnings: labels.warnings.clone(),
        ..Default::default()
    };

    let present: HashSet<PathBuf> = files.iter().map(|f| f.rel.clone()).collect();
    let mut todo = Vec::new();
    let mut relabel = Vec::new();
    let mut labels_json = HashMap::new();
    for file in files {
        let json =
            serde_json::to_string(&labels.labels_for(&file.rel)).unwrap_or_else(|_| "{}".into());
        match known.get(&file.rel) {
            Some(k) if k.complete && k.size == file.size && k.mtime_ns == file.mtime_ns => {
                report.unchanged += 1;
                if k.labels != json {
                    relabel.push((k.id, json));
                }
            }
            _ => {
                labels_json.insert(file.rel.clone(), json);
                todo.push(file);
            }
        }
    }
    let vanished: Vec<i64> = known
        .iter()
        .filter(|(p, _)| !present.contains(*p))
        .map(|(_, k)| k.id)
        .collect();

    db.write(&mut |w| {
        w.clear_failures()?;
        for (id, json) in &relabel {
            w.set_labels(*id, json)?;
        }
        for (path, reason) in &problems {
            w.record_failure(path.strip_prefix(&root).unwrap_or(path), reason)?;
        }
        Ok(())
    })?;
    report.failures.extend(problems);

    let mut state = Progress {
        done: 0,
        total: todo.len(),
        failed: 0,
    };
    progress(&state);
    let batch = options.batch_size.max(1);
    std::thread::scope(|s| -> Result<()> {
        let (tx, rx) = bounded::<Vec<Prepared>>(2);
        let todo = &todo;
        let hashes = &hashes;
        std::thread::Builder::new()
            .name("decoder".into())
            .spawn_scoped(s, move || {
                for chunk in todo.chunks(batch) {
                    if cancel.load(Ordering::Relaxed) {
                        break;
                    }
                    let prepared = chunk
                        .par_iter()
                        .map(|f| prepare(f, hashes, model))
                        .collect();
                    if tx.send(prepared).is_err() {
                        break;
                    }
                }
            })
            .map_err(crate::error::io_err("decoder thread"))?;

        let mut pending: Option<(Vec<Prepared>, Option<EmbeddingJob>)> = None;
        for mut chunk in rx.iter() {
            let mut input = Vec::new();
            let mut count = 0;
            for p in chunk.iter_mut() {
                if let Prepared::Embed { input: i, .. } = p {
                    input.append(i);
                    count += 1;
                }
            }
            let job = if count > 0 {
                Some(embedder.submit(input, count)?)
            } else {
                None
            };
            if let Some((done, job)) = pending.take() {
                write_batch(&mut *db, done, job, &labels_json, &mut report, &mut state)?;
                progress(&state);
            }
            pending = Some((chunk, job));
            if cancel.load(Ordering::Relaxed) {
                break;
            }
        }
        if let Some((done, job)) = pending.take() {
            write_batch(&mut *db, done, job, &labels_json, &mut report, &mut state)?;
            progress(&state);
        }
        Ok(())
    })?;

    report.cancelled = cancel.load(Ordering::Relaxed);
    if !report.cancelled {
        db.write(&mut |w| vanished.iter().try_for_each(|id| w.remove(*id)))?;
        report.removed = vanished.len();
    }
    report.items = db.count()?;
    if !report.cancelled {
        db.finish(model.dims)?;
        // The map is part of the index: recompute it when the catalog changed or it is missing.
        drop(db);
        let catalog = store.load(Storage::from_env())?;
        let changed = report.embedded + report.reused + report.removed > 0;
        if changed || crate::map::CatalogMap::load(&catalog)?.is_none() {
            crate::map::CatalogMap::compute(&catalog)?;
        }
        if changed {
            crate::map::NeighbourMap::keep_current(&catalog, INDEX_LAYOUT_MAX)?;
        }
        // So are the bands of match strength, measured on the catalog's own neighbours.
        use crate::search::strength::{META_KEY, MatchStrength, SAMPLE};
        if (changed || store.stored_meta(META_KEY)?.is_none())
            && let Some(s) = MatchStrength::measure(catalog.vectors(), catalog.palettes(), SAMPLE)
        {
            store.open_writer()?.set_meta(META_KEY, &s.to_meta())?;
        }
    }
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

/// Catalogs up to this size get their neighbourhood layout when indexed (a few seconds); larger
/// ones when the window first shows it.
pub const INDEX_LAYOUT_MAX: usize = 100_000;

/// Record root and model; a different model or folder makes every embedding stale (in a shared
/// catalog only a different model: each machine has the photos at its own place).
fn prepare_meta(
    db: &mut dyn CatalogWriter,
    root: &Path,
    model: &ModelManifest,
    shared: bool,
) -> Result<()> {
    let root_s = root.to_string_lossy();
    let variant = model_variant(&model.name, model.pooling, model.resize);
    let same = (shared || db.meta("root")?.as_deref() == Some(&root_s))
        && db.meta("model_variant")?.as_deref() == Some(&variant);
    if !same {
        db.clear_items()?;
    }
    db.set_meta("root", &root_s)?;
    db.set_meta("model", &model.name)?;
    db.set_meta("model_variant", &variant)?;
    db.set_meta("pooling", model.pooling.name())?;
    db.set_meta("resize", resize_name(model))?;
    db.set_meta("dims", &model.dims.to_string())?;
    Ok(())
}

fn resize_name(m: &ModelManifest) -> &'static str {
    m.resize.name()
}

/// What decides whether stored embeddings can be reused: the model and how it was set up.
fn prepare(file: &ScannedFile, hashes: &HashMap<Vec<u8>, i64>, model: &ModelManifest) -> Prepared {
    let fail = |e: PhotoError| Prepared::Failed {
        file: file.clone(),
        reason: e.to_string(),
    };
    let bytes = match read_photo_file(&file.abs) {
        Ok(b) => b,
        Err(e) => return fail(e),
    };
    let hash = blake3::hash(&bytes);
    if let Some(&source) = hashes.get(hash.as_bytes().as_slice()) {
        return Prepared::Reuse {
            file: file.clone(),
            source,
        };
    }
    match decode_photo_for(&bytes, model) {
        Ok(photo) => Prepared::Embed {
            file: file.clone(),
            hash,
            width: photo.width(),
            height: photo.height(),
            input: model_input(&photo, model),
            thumb: thumbnail_jpeg(&photo),
            fingerprint: Box::new(fingerprint(&photo.rgb)),
        },
        Err(e) => fail(e),
    }
}

fn write_batch(
    db: &mut dyn CatalogWriter,
    chunk: Vec<Prepared>,
    job: Option<EmbeddingJob>,
    labels: &HashMap<PathBuf, String>,
    report: &mut IndexReport,
    state: &mut Progress,
) -> Result<()> {
    let vectors = match job {
        Some(rx) => rx.recv().map_err(|_| Error::EngineStopped)??.vectors,
        None => Vec::new(),
    };
    let mut vectors = vectors.into_iter().peekable();
    // Embeddings are checked before they are stored: a broken model output is a failure.
    let chunk: Vec<(Prepared, Option<Vec<f32>>)> = chunk
        .into_iter()
        .map(|p| match p {
            Prepared::Embed { file, .. } if matches!(vectors.peek(), Some(v) if !is_unit_vector(v)) => {
                vectors.next();
                let reason = "the model gave an invalid embedding (not finite): it was not indexed";
                (Prepared::Failed { file, reason: reason.into() }, None)
            }
            p @ Prepared::Embed { .. } => (p, vectors.next()),
            other => (other, None),
        })
        .collect();
    db.write(&mut |w| {
        for (p, embedding) in &chunk {
            match p {
                Prepared::Embed {
                    file,
                    hash,
                    width,
                    height,
                    thumb,
                    fingerprint,
                    ..
                } => {
                    let embedding = embedding.as_ref().ok_or(Error::EngineStopped)?;
                    w.upsert(&NewItem {
                        rel: &file.rel,
                        size: file.size,
                        mtime_ns: file.mtime_ns,
                        hash: hash.as_bytes(),
                        width: *width,
                        height: *height,
                        labels: labels.get(&file.rel).map(String::as_str).unwrap_or("{}"),
                        embedding,
                        fingerprint: **fingerprint,
                        thumb,
                    })?;
                }
                Prepared::Reuse { file, source } => {
                    let l = labels.get(&file.rel).map(String::as_str).unwrap_or("{}");
                    w.copy_from(*source, &file.rel, file.size, file.mtime_ns, l)?;
                }
                Prepared::Failed { file, reason } => w.record_failure(&file.rel, reason)?,
            }
        }
        Ok(())
    })?;
    for (p, _) in chunk {
        state.done += 1;
        match p {
            Prepared::Embed { .. } => report.embedded += 1,
            Prepared::Reuse { .. } => report.reused += 1,
            Prepared::Failed { file, reason } => {
                state.failed += 1;
                report.failures.push((file.abs, reason));
            }
        }
    }
    Ok(())
}
