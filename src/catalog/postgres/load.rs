//! Reading a whole shared catalog in one read-only snapshot: its items and labels, and its vectors
//! in memory (f32 or int8) or left on the server.

use super::*;
use crate::search::compact::Int8Rows;
use crate::search::{F32Rows, Vectors};

impl PgStore {
    /// The catalog for search, its vectors kept as `storage` says (see [`CatalogStore::load`]).
    pub(super) fn load_catalog(&self, storage: Storage) -> Result<Catalog> {
        let location = self.location.clone();
        self.with_client(|c, at| {
            let mut tx = c
                .build_transaction()
                .isolation_level(postgres::IsolationLevel::RepeatableRead)
                .read_only(true)
                .start()
                .map_err(pg_err(at))?;
            let meta: HashMap<String, String> = tx
                .query_typed("SELECT key, value FROM meta", &[])
                .map_err(pg_err(at))?
                .iter()
                .map(|r| (r.get(0), r.get(1)))
                .collect();
            let need = |k: &str| {
                meta.get(k).cloned().ok_or_else(|| Error::BadIndex {
                    path: at.to_path_buf(),
                    message: format!("no '{k}' recorded; index a folder into it first"),
                })
            };
            let root = PathBuf::from(need("root")?);
            let model = need("model")?;
            let dims: usize = need("dims")?.parse().map_err(|_| bad(at, "bad dims"))?;
            let pooling =
                Pooling::from_name(&need("pooling")?).ok_or_else(|| bad(at, "bad pooling"))?;
            let resize = ResizePolicy::from_name(&need("resize")?)
                .ok_or_else(|| bad(at, "bad resize policy"))?;
            let label_field = meta.get("label_field").cloned().unwrap_or("folder".into());
            let count: i64 = tx
                .query_typed_one("SELECT count(*) FROM items", &[])
                .map_err(pg_err(at))?
                .get(0);
            // A large shared catalog stays on the server, which searches it; a smaller one is
            // read whole, as a local index is, for the fastest exact search.
            let remote = match storage {
                Storage::Server => true,
                Storage::Auto => count as usize >= COMPACT_FROM,
                Storage::Full | Storage::Compact => false,
            };
            let compact = !remote && storage.is_compact(count as usize);

            let mut items = Vec::with_capacity(count as usize);
            let mut labels_json = Vec::with_capacity(count as usize);
            let mut full = Vec::new();
            let mut rows8 = Int8Rows::empty(dims);
            let mut block = Vec::new();
            let mut damaged = Vec::new();
            let mut rows = tx
                .query_typed_raw(
                    &format!(
                        "SELECT i.id, i.path, i.size, i.mtime_ns, i.width, i.height, i.labels::text,
                                {}, i.hash
                         FROM items i ORDER BY i.id",
                        if remote { "NULL::real[]" } else { "i.embedding::real[]" }
                    ),
                    std::iter::empty::<(i64, Type)>(),
                )
                .map_err(pg_err(at))?;
            while let Some(r) = rows.next().map_err(pg_err(at))? {
                if !remote {
                    let embedding: Vec<f32> = r.get(7);
                    let v = embedding.as_slice();
                    let start = if compact { block.len() } else { full.len() };
                    let out = if compact { &mut block } else { &mut full };
                    if v.len() == dims && crate::embed::is_unit_vector(v) {
                        out.extend_from_slice(v);
                    } else {
                        damaged.push(items.len());
                        out.resize(start + dims, 0.0);
                    }
                }
                if compact && block.len() >= 8192 * dims {
                    rows8.extend_from(&block);
                    block.clear();
                }
                items.push(Item {
                    id: r.get(0),
                    path: path_from_bytes(r.get(1)),
                    size: r.get::<_, i64>(2) as u64,
                    mtime_ns: r.get(3),
                    width: r.get::<_, i32>(4) as u32,
                    height: r.get::<_, i32>(5) as u32,
                    hash: r.get(8),
                    labels: Default::default(),
                });
                labels_json.push(r.get::<_, String>(6));
            }
            drop(rows);
            tx.commit().map_err(pg_err(at))?;
            let labels: Vec<_> = labels_json
                .par_chunks(16_384)
                .map(|share| {
                    let mut interner = LabelInterner::default();
                    share
                        .iter()
                        .map(|j| interner.from_json(j))
                        .collect::<Vec<_>>()
                })
                .flatten()
                .collect();
            for (item, l) in items.iter_mut().zip(labels) {
                item.labels = l;
            }
            let store = PgStore::new_connected(&location, &self.config, &self.tls);
            let vectors: Vectors = if remote {
                let ids: Vec<i64> = items.iter().map(|it| it.id).collect();
                let curve = meta
                    .get(recall::RecallCurve::KEY)
                    .and_then(|t| recall::RecallCurve::parse(t));
                Box::new(ServerVectors::new(Arc::clone(&store), ids, dims, curve))
            } else if compact {
                rows8.extend_from(&block);
                Box::new(compact_from_rows(rows8))
            } else {
                Box::new(F32Rows::new(dims, full))
            };
            Ok(Catalog {
                store,
                root,
                model,
                pooling,
                resize,
                label_field,
                items,
                vectors,
                damaged,
                palettes: Default::default(),
                strength: Default::default(),
            })
        })
    }
}
