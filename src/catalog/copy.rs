//! Copying a whole catalog from one store to another: a local index into a shared PostgreSQL
//! catalog and back (`lookalike copy-index`).

use std::collections::HashMap;
use std::path::Path;

use super::store::{CatalogStore, NEIGHBOURHOOD_LAYOUT};
use super::{NewItem, Storage};
use crate::error::{Error, Result};

/// Items written per transaction.
const BATCH: usize = 256;

/// What a copy did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct CopyReport {
    pub items: usize,
    /// Items left out because their stored embedding is damaged (`lookalike index` makes them again).
    pub damaged: usize,
    pub failures: usize,
    pub map: bool,
    pub head: bool,
}

/// Copy every item of `from` (embedding, thumbnail, fingerprint, labels), its failures, map and
/// learned head into `to`. `to` must be empty unless `replace`, which empties it first.
/// `progress(done, total)` is called after every batch.
pub fn copy_catalog(
    from: &dyn CatalogStore,
    to: &dyn CatalogStore,
    replace: bool,
    mut progress: impl FnMut(usize, usize),
) -> Result<CopyReport> {
    let catalog = from.load(Storage::Full)?;
    let prints = from.fingerprints()?;
    let failures = from.failures()?;
    let head = from.load_head()?;

    let _writing = to.lock_for_writing()?;
    let mut w = to.open_writer()?;
    let there = w.count()?;
    if there > 0 {
        if !replace {
            return Err(Error::TargetNotEmpty {
                location: to.location().to_path_buf(),
                items: there,
            });
        }
        drop(w);
        to.remove_all()?;
        w = to.open_writer()?;
    }
    let variant = super::model_variant(&catalog.model, catalog.pooling, catalog.resize);
    for (key, value) in [
        ("root", catalog.root.to_string_lossy().into_owned()),
        ("model", catalog.model.clone()),
        ("model_variant", variant),
        ("pooling", catalog.pooling.name().to_string()),
        ("resize", catalog.resize.name().to_string()),
        ("dims", catalog.dims().to_string()),
        ("label_field", catalog.label_field.clone()),
    ] {
        w.set_meta(key, &value)?;
    }

    let mut report = CopyReport {
        damaged: catalog.damaged.len(),
        ..Default::default()
    };
    let sound: Vec<usize> = (0..catalog.len())
        .filter(|i| catalog.damaged.binary_search(i).is_err())
        .collect();
    for chunk in sound.chunks(BATCH) {
        let thumbs = chunk
            .iter()
            .map(|&i| from.thumbnail(catalog.items[i].id))
            .collect::<Result<Vec<_>>>()?;
        w.write(&mut |iw| {
            for (&i, thumb) in chunk.iter().zip(&thumbs) {
                let item = &catalog.items[i];
                let labels = serde_json::to_string(&item.labels).unwrap_or_else(|_| "{}".into());
                iw.upsert(&NewItem {
                    rel: &item.path,
                    size: item.size,
                    mtime_ns: item.mtime_ns,
                    hash: &item.hash,
                    width: item.width,
                    height: item.height,
                    labels: &labels,
                    embedding: &catalog.vector(i),
                    fingerprint: prints.get(&item.id).copied().unwrap_or_default(),
                    thumb: thumb.as_deref().unwrap_or_default(),
                })?;
            }
            Ok(())
        })?;
        report.items += chunk.len();
        progress(report.items, sound.len());
    }
    w.write(&mut |iw| {
        failures
            .iter()
            .try_for_each(|(path, reason)| iw.record_failure(path, reason))
    })?;
    report.failures = failures.len();
    w.finish(catalog.dims())?;
    let new_ids = w.known_files()?;
    drop(w);

    let path_of: HashMap<i64, &Path> = catalog
        .items()
        .iter()
        .map(|it| (it.id, it.path.as_path()))
        .collect();
    let renumbered = |points: &[(i64, [f32; 2])]| -> Vec<(i64, [f32; 2])> {
        points
            .iter()
            .filter_map(|(id, p)| Some((new_ids.get(*path_of.get(id)?)?.id, *p)))
            .collect()
    };
    if let Some(map) = catalog.store().load_map()? {
        to.save_map(&map.projection, &renumbered(&map.points))?;
        report.map = true;
    }
    let layout = catalog.store().load_layout(NEIGHBOURHOOD_LAYOUT)?;
    if !layout.is_empty() {
        to.save_layout(NEIGHBOURHOOD_LAYOUT, &renumbered(&layout))?;
    }
    if let Some(head) = &head {
        to.save_head(head)?;
        report.head = true;
    }
    Ok(report)
}
