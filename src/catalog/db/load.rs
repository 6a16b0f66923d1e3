//! Reading a whole catalog out of the index, fast enough for a million items.

use std::path::{Path, PathBuf};

use super::{IndexDb, bad, db_err, path_from_bytes};
use crate::catalog::{Catalog, Item, LabelInterner, Labels, StoredMap};
use crate::error::Result;
use crate::model::{Pooling, ResizePolicy};
use crate::search::F32Rows;

/// Items whose labels one parallel task parses when a catalog opens.
const LABELS_PER_TASK: usize = 16_384;
/// Shares of labels handed to the thread pool and not yet parsed, at most.
const LABEL_SHARES_IN_FLIGHT: usize = 4;

impl IndexDb {
    /// The stored map: its plane and every item's point.
    pub fn load_map(&self) -> Result<Option<StoredMap>> {
        let Some(projection) = self
            .meta("map_projection")?
            .and_then(|j| serde_json::from_str(&j).ok())
        else {
            return Ok(None);
        };
        let mut stmt = self
            .conn
            .prepare("SELECT item_id, x, y FROM map_points")
            .map_err(db_err(&self.path))?;
        let points = stmt
            .query_map([], |r| {
                Ok((
                    r.get(0)?,
                    [r.get::<_, f64>(1)? as f32, r.get::<_, f64>(2)? as f32],
                ))
            })
            .and_then(|rows| rows.collect())
            .map_err(db_err(&self.path))?;
        Ok(Some(StoredMap { projection, points }))
    }

    /// Load every item, with its embedding for search when `embeddings` (else the catalog's
    /// vectors are left empty, for [`super::vectors`] to fill).
    pub fn load_catalog(&self, embeddings: bool) -> Result<Catalog> {
        let need = |k: &str| -> Result<String> {
            self.meta(k)?.ok_or_else(|| {
                bad(
                    &self.path,
                    format!("no '{k}' recorded; index the folder again"),
                )
            })
        };
        let root = PathBuf::from(need("root")?);
        let model = need("model")?;
        let dims: usize = need("dims")?
            .parse()
            .map_err(|_| bad(&self.path, "bad dims".into()))?;
        let pooling = self
            .meta("pooling")?
            .and_then(|p| Pooling::from_name(&p))
            .ok_or_else(|| bad(&self.path, "no pooling recorded".into()))?;
        let resize = self
            .meta("resize")?
            .and_then(|p| ResizePolicy::from_name(&p))
            .ok_or_else(|| bad(&self.path, "no resize policy recorded".into()))?;
        let label_field = self.meta("label_field")?.unwrap_or_else(|| "folder".into());
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT id, path, size, mtime_ns, width, height, labels, {}, hash FROM items ORDER BY id",
                if embeddings { "embedding" } else { "NULL" }
            ))
            .map_err(db_err(&self.path))?;
        let mut rows = stmt.query([]).map_err(db_err(&self.path))?;
        let mut items = Vec::new();
        let mut embeddings_out = Vec::new();
        let mut damaged = Vec::new();
        // Labels are parsed by the thread pool a share at a time while SQLite reads on, each share
        // with its own interner. At most `LABEL_SHARES_IN_FLIGHT` wait for the pool; past that the
        // reading thread parses the next share itself, so unparsed JSON never piles up.
        let (parsed_tx, parsed) = std::sync::mpsc::channel();
        let mut done = Vec::new();
        let mut pending = Vec::with_capacity(LABELS_PER_TASK);
        let mut shares = 0;
        fn parse(json: &[String]) -> Vec<Labels> {
            let mut interner = LabelInterner::default();
            json.iter().map(|j| interner.from_json(j)).collect()
        }
        rayon::in_place_scope(|scope| -> Result<()> {
            let mut hand_over = |json: Vec<String>, share: usize| {
                done.extend(parsed.try_iter());
                if share - done.len() >= LABEL_SHARES_IN_FLIGHT {
                    done.push((share, parse(&json)));
                } else {
                    let tx = parsed_tx.clone();
                    scope.spawn(move |_| {
                        let _ = tx.send((share, parse(&json)));
                    });
                }
            };
            while let Some(r) = rows.next().map_err(db_err(&self.path))? {
                let get = |e| db_err(&self.path)(e);
                if embeddings {
                    let blob = r
                        .get_ref(7)
                        .and_then(|v| v.as_blob().map_err(Into::into))
                        .map_err(get)?;
                    if !push_embedding(&self.path, blob, dims, &mut embeddings_out)? {
                        damaged.push(items.len());
                    }
                }
                items.push(Item {
                    id: r.get(0).map_err(get)?,
                    path: path_from_bytes(
                        r.get_ref(1)
                            .and_then(|v| v.as_blob().map_err(Into::into))
                            .map_err(get)?,
                    ),
                    size: r.get::<_, i64>(2).map_err(get)? as u64,
                    mtime_ns: r.get(3).map_err(get)?,
                    width: r.get(4).map_err(get)?,
                    height: r.get(5).map_err(get)?,
                    hash: r.get(8).map_err(get)?,
                    labels: Default::default(),
                });
                pending.push(r.get::<_, String>(6).map_err(get)?);
                if pending.len() == LABELS_PER_TASK {
                    hand_over(std::mem::take(&mut pending), shares);
                    shares += 1;
                }
            }
            if !pending.is_empty() {
                hand_over(std::mem::take(&mut pending), shares);
            }
            Ok(())
        })?;
        drop(parsed_tx);
        for (share, labels) in done.into_iter().chain(parsed) {
            for (item, labels) in items[share * LABELS_PER_TASK..].iter_mut().zip(labels) {
                item.labels = labels;
            }
        }
        Ok(Catalog {
            store: crate::catalog::SqliteStore::new(&self.path),
            root,
            model,
            pooling,
            resize,
            label_field,
            items,
            vectors: Box::new(F32Rows::new(dims, embeddings_out)),
            damaged,
            palettes: Default::default(),
        })
    }
}

/// Add one stored embedding blob to `out`, refusing one of the wrong length. A damaged one (not
/// finite, not of unit length) is added as zeros, which match nothing, and `false` returned.
pub(super) fn push_embedding(
    path: &Path,
    blob: &[u8],
    dims: usize,
    out: &mut Vec<f32>,
) -> Result<bool> {
    if blob.len() != dims * 4 {
        return Err(bad(
            path,
            format!(
                "an embedding has {} bytes, expected {}; index the folder again",
                blob.len(),
                dims * 4
            ),
        ));
    }
    let start = out.len();
    out.extend(
        blob.chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
    );
    let sound = crate::embed::is_unit_vector(&out[start..]);
    if !sound {
        out[start..].fill(0.0);
    }
    Ok(sound)
}
