//! Reading a whole catalog out of the index, fast enough for a million items.

use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::{IndexDb, bad, db_err, path_from_bytes};
use crate::catalog::{Catalog, Item, LabelInterner, StoredMap};
use crate::error::Result;
use crate::model::{Pooling, ResizePolicy};
use crate::search::F32Rows;

/// From this many items a catalog is read in ranges of ids side by side, one connection each.
const READ_IN_RANGES_FROM: usize = 100_000;

/// Items read from the index, in id order.
#[derive(Default)]
struct ReadItems {
    items: Vec<Item>,
    /// `items.len() x dims` when embeddings were read, else empty.
    embeddings: Vec<f32>,
    /// Positions in `items` of damaged embeddings (kept as zeros).
    damaged: Vec<usize>,
}

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

    /// The stored points of layout `name` (none when it was never saved).
    pub fn load_layout(&self, name: &str) -> Result<Vec<(i64, [f32; 2])>> {
        let mut stmt = self
            .conn
            .prepare("SELECT item_id, x, y FROM layout_points WHERE layout = ?1")
            .map_err(db_err(&self.path))?;
        stmt.query_map([name], |r| {
            Ok((
                r.get(0)?,
                [r.get::<_, f64>(1)? as f32, r.get::<_, f64>(2)? as f32],
            ))
        })
        .and_then(|rows| rows.collect())
        .map_err(db_err(&self.path))
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
        let read = self.read_items(embeddings, dims)?;
        Ok(Catalog {
            store: crate::catalog::SqliteStore::new(&self.path),
            root,
            model,
            pooling,
            resize,
            label_field,
            items: read.items,
            vectors: Box::new(F32Rows::new(dims, read.embeddings)),
            damaged: read.damaged,
            palettes: Default::default(),
            strength: Default::default(),
        })
    }
}

impl IndexDb {
    /// Every item, in id order. A large index is read in as many ranges of ids as there are
    /// threads, side by side, each on a connection of its own; they are used only when each saw the
    /// items version this connection's snapshot sees (every write to the items changes it), so
    /// the catalog is one snapshot, as if read alone. Otherwise it is read here, alone.
    fn read_items(&self, embeddings: bool, dims: usize) -> Result<ReadItems> {
        let n = self.count()?;
        let ranges = rayon::current_num_threads().min(n / READ_IN_RANGES_FROM);
        self.read_in_ranges(ranges, n, embeddings, dims)
    }

    /// [`IndexDb::read_items`] in `ranges` ranges; `n` items are expected.
    fn read_in_ranges(
        &self,
        ranges: usize,
        n: usize,
        embeddings: bool,
        dims: usize,
    ) -> Result<ReadItems> {
        if ranges >= 2 {
            let (lo, hi): (i64, i64) = self
                .conn
                .query_row("SELECT MIN(id), MAX(id) FROM items", [], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .map_err(db_err(&self.path))?;
            let version = self.items_version()?;
            let step = (hi - lo) / ranges as i64 + 1;
            let path = self.path.as_path();
            let parts: Vec<Result<Option<ReadItems>>> = (0..ranges as i64)
                .into_par_iter()
                .map(|r| {
                    let reader = IndexDb::open_reader(path)?;
                    reader.read_snapshot(|reader| {
                        if reader.items_version()? != version {
                            return Ok(None);
                        }
                        let from = lo + r * step;
                        reader
                            .read_range(from, from + step, embeddings, dims)
                            .map(Some)
                    })
                })
                .collect();
            if let Some(parts) = parts.into_iter().collect::<Result<Option<Vec<_>>>>()? {
                let mut all = ReadItems {
                    items: Vec::with_capacity(n),
                    embeddings: Vec::with_capacity(if embeddings { n * dims } else { 0 }),
                    damaged: Vec::new(),
                };
                for mut part in parts {
                    let offset = all.items.len();
                    all.damaged.extend(part.damaged.iter().map(|d| d + offset));
                    all.items.append(&mut part.items);
                    all.embeddings.append(&mut part.embeddings);
                }
                return Ok(all);
            }
            log::debug!("the index changed while it was read in ranges; reading it again alone");
        }
        self.read_range(i64::MIN, i64::MAX, embeddings, dims)
    }

    /// The items with ids in `from..to`, their labels parsed on the way.
    fn read_range(&self, from: i64, to: i64, embeddings: bool, dims: usize) -> Result<ReadItems> {
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT id, path, size, mtime_ns, width, height, labels, {}, hash FROM items
                 WHERE id >= ?1 AND id < ?2 ORDER BY id",
                if embeddings { "embedding" } else { "NULL" }
            ))
            .map_err(db_err(&self.path))?;
        let mut rows = stmt.query([from, to]).map_err(db_err(&self.path))?;
        let mut out = ReadItems::default();
        let mut interner = LabelInterner::default();
        let get = db_err(&self.path);
        while let Some(r) = rows.next().map_err(&get)? {
            if embeddings {
                let blob = r
                    .get_ref(7)
                    .and_then(|v| v.as_blob().map_err(Into::into))
                    .map_err(&get)?;
                if !push_embedding(&self.path, blob, dims, &mut out.embeddings)? {
                    out.damaged.push(out.items.len());
                }
            }
            let text = |i| {
                r.get_ref(i)
                    .and_then(|v| v.as_str().map_err(Into::into))
                    .map_err(&get)
            };
            out.items.push(Item {
                id: r.get(0).map_err(&get)?,
                path: path_from_bytes(
                    r.get_ref(1)
                        .and_then(|v| v.as_blob().map_err(Into::into))
                        .map_err(&get)?,
                ),
                size: r.get::<_, i64>(2).map_err(&get)? as u64,
                mtime_ns: r.get(3).map_err(&get)?,
                width: r.get(4).map_err(&get)?,
                height: r.get(5).map_err(&get)?,
                hash: r.get(8).map_err(&get)?,
                labels: interner.from_json(text(6)?),
            });
        }
        Ok(out)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::db::NewItem;

    /// An index of `n` items with 4-d embeddings and labels, some with escapes in them.
    fn index_of(n: usize, dir: &Path) -> IndexDb {
        let mut db = IndexDb::open_or_create(&dir.join("i.sqlite")).unwrap();
        db.transaction(|w| {
            for i in 0..n {
                let a = (i as f32 * 0.37).sin();
                let v = [a, (1.0 - a * a).sqrt(), 0.0, 0.0];
                let labels = if i % 3 == 0 {
                    format!(
                        r#"{{"articleType":"Shirt {}","name":"a \"quoted\" {i}"}}"#,
                        i % 7
                    )
                } else {
                    format!(r#"{{"articleType":"Shirt {}","folder":"f"}}"#, i % 7)
                };
                w.upsert(&NewItem {
                    rel: Path::new(&format!("p/{i}.jpg")),
                    size: i as u64,
                    mtime_ns: i as i64,
                    hash: &[i as u8; 32],
                    width: 10,
                    height: 20,
                    labels: &labels,
                    embedding: &v,
                    fingerprint: Default::default(),
                    thumb: b"jpeg",
                })?;
            }
            Ok(())
        })
        .unwrap();
        db
    }

    #[test]
    fn items_read_in_ranges_side_by_side_are_the_items_read_alone() {
        let dir = tempfile::tempdir().unwrap();
        let db = index_of(1000, dir.path());
        let alone = db.read_in_ranges(1, 1000, true, 4).unwrap();
        assert_eq!(alone.items.len(), 1000);
        assert_eq!(alone.items[0].labels.get("name"), Some(r#"a "quoted" 0"#));
        assert_eq!(alone.items[1].labels.get("folder"), Some("f"));
        for ranges in [2, 3, 7] {
            let side_by_side = db
                .read_snapshot(|db| db.read_in_ranges(ranges, 1000, true, 4))
                .unwrap();
            let ids = |r: &ReadItems| r.items.iter().map(|it| it.id).collect::<Vec<_>>();
            assert_eq!(ids(&side_by_side), ids(&alone), "{ranges} ranges");
            for (a, b) in side_by_side.items.iter().zip(&alone.items) {
                assert_eq!((&a.path, &a.labels, &a.hash), (&b.path, &b.labels, &b.hash));
            }
            assert_eq!(side_by_side.embeddings, alone.embeddings);
        }
    }
}
