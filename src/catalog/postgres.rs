//! A shared catalog in PostgreSQL with the pgvector extension: one catalog for a team, indexed once
//! from any machine and searched from every laptop, thumbnails included (a laptop without the
//! photos still browses it).
//!
//! The schema is versioned ([`MIGRATIONS`]); items are keyed on their path relative to the catalog
//! folder, so several machines can index the same catalog at once (upserts), each with the photos
//! mounted at its own place. Embeddings are pgvector `vector`s with an HNSW cosine index, used by
//! [`PgStore::nearest`].
//!
//! Every statement is sent unnamed, with its parameter types given and only built-in types on the
//! wire (vectors cross as `real[]`): no prepared statements are left on the server, which poolers
//! in transaction mode (and PGlite's multiplexer, used by the tests) need.
//!
//! Passwords come from the URL, `PGPASSWORD` or `~/.pgpass` (`PGPASSFILE`), and are never part of
//! the location shown in messages or remembered in settings.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Arc, Mutex};

use postgres::fallible_iterator::FallibleIterator;
use postgres::types::Type;
use postgres::{Client, Config, error::SqlState};
use rayon::prelude::*;

use super::db::{Known, NewItem, StoredHead};
use super::store::{CatalogStore, CatalogWriter, ItemWriter, WriteGuard};
use super::vectors::{COMPACT_FROM, RemoteVectors, Storage, Vectors, compact_from_rows};
use super::{Catalog, Item, LabelInterner};
use crate::embed::fingerprint::Fingerprint;
use crate::error::{Error, Result};
use crate::map::MapProjection;
use crate::model::{Pooling, ResizePolicy};
use crate::search::Hit;
use crate::search::compact::Int8Rows;

/// Schema versions, in order: each step is applied once, in its own transaction.
const MIGRATIONS: &[&str] = &[
    // 1: the catalog.
    "CREATE TABLE meta(key text PRIMARY KEY, value text NOT NULL);
     CREATE TABLE items(
         id bigserial PRIMARY KEY,
         path bytea NOT NULL UNIQUE,          -- relative to the catalog folder
         size bigint NOT NULL,
         mtime_ns bigint NOT NULL,
         hash bytea NOT NULL,                 -- BLAKE3 of the file's bytes
         width integer NOT NULL,
         height integer NOT NULL,
         labels jsonb NOT NULL DEFAULT '{}',
         embedding vector NOT NULL,
         fingerprint bytea NOT NULL
     );
     CREATE INDEX items_hash ON items(hash);
     CREATE TABLE thumbs(item_id bigint PRIMARY KEY REFERENCES items(id) ON DELETE CASCADE, jpeg bytea NOT NULL);
     CREATE TABLE failures(path bytea PRIMARY KEY, reason text NOT NULL);
     CREATE TABLE map_points(item_id bigint PRIMARY KEY REFERENCES items(id) ON DELETE CASCADE,
                             x real NOT NULL, y real NOT NULL);
     CREATE TABLE heads(id integer PRIMARY KEY, layout text NOT NULL, weights bytea NOT NULL, report text NOT NULL);",
];

/// Drop the HNSW indexes of the embeddings (emptied catalogs fill faster without them, and another
/// model may have other dimensions); [`CatalogWriter::finish`] builds the index again.
const DROP_VECTOR_INDEXES: &str = "DO $$ DECLARE r record; BEGIN
    FOR r IN SELECT indexname FROM pg_indexes
             WHERE tablename = 'items' AND indexname LIKE 'items_embedding_cos_%' LOOP
        EXECUTE 'DROP INDEX ' || quote_ident(r.indexname);
    END LOOP;
END $$;";

/// pgvector's `hnsw.ef_search` at least (its candidate list): recall@10 against exact search
/// rises with it, and so does the time (see the benchmark in tests/bench/README.md).
const EF_SEARCH: usize = 100;

/// Rows a search asks pgvector for, at least: a filter (a kind, a label) is applied to them, and
/// more are asked for when too few pass.
const MIN_FETCH: usize = 100;

/// Whether `location` names a PostgreSQL catalog (`postgres://` or `postgresql://`).
pub fn is_postgres_url(location: &Path) -> bool {
    location
        .to_str()
        .is_some_and(|s| s.starts_with("postgres://") || s.starts_with("postgresql://"))
}

/// Passwords given inside an address, by the address without them: kept in this process's memory
/// only, so that everything else (the window, messages, settings) can use the redacted address.
static PASSWORDS: std::sync::LazyLock<Mutex<HashMap<String, String>>> =
    std::sync::LazyLock::new(Default::default);

/// A shared catalog in PostgreSQL.
pub struct PgStore {
    /// The URL without its password: what messages show and settings keep.
    location: PathBuf,
    config: Config,
    client: Mutex<Option<Client>>,
}

impl fmt::Debug for PgStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PgStore({})", self.location.display())
    }
}

impl PgStore {
    /// The store at `url` (nothing is opened yet). A URL that does not parse is reported on first use.
    pub fn new(url: &Path) -> Arc<Self> {
        let text = url.to_string_lossy();
        let (config, location) = match Config::from_str(&text) {
            Ok(config) => {
                let location = redacted(&text);
                if let Some(password) = config.get_password() {
                    PASSWORDS.lock().unwrap_or_else(|e| e.into_inner()).insert(
                        location.clone(),
                        String::from_utf8_lossy(password).into_owned(),
                    );
                }
                (config, location)
            }
            Err(_) => (Config::new(), redacted(&text)),
        };
        Arc::new(PgStore {
            location: PathBuf::from(location),
            config,
            client: Mutex::new(None),
        })
    }

    fn with_client<T>(&self, f: impl FnOnce(&mut Client, &Path) -> Result<T>) -> Result<T> {
        let mut held = self.client.lock().unwrap_or_else(|e| e.into_inner());
        if held.as_mut().is_some_and(|c| c.is_closed()) {
            *held = None;
        }
        let client = match &mut *held {
            Some(c) => c,
            empty => empty.insert(self.connect()?),
        };
        let out = f(client, &self.location);
        if out.is_err() && client.is_closed() {
            *held = None;
        }
        out
    }

    /// Connect, check pgvector and bring the schema up to date.
    fn connect(&self) -> Result<Client> {
        let location = self.location.to_string_lossy().into_owned();
        let url = location.clone();
        let mut config = self.config.clone();
        if config.get_hosts().is_empty() {
            return Err(Error::BadServerUrl {
                location,
                message: "expected postgres://USER@HOST[:PORT]/DATABASE".into(),
            });
        }
        if config.get_user().is_none() {
            let user = std::env::var("PGUSER")
                .or_else(|_| std::env::var("USER"))
                .unwrap_or_else(|_| "postgres".into());
            config.user(&user);
        }
        let given = PASSWORDS
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&location)
            .cloned();
        if config.get_password().is_none()
            && let Some(password) = given.or_else(|| password_for(&config))
        {
            config.password(password);
        }
        config.application_name("lookalike");
        config.connect_timeout(std::time::Duration::from_secs(10));
        let tls = native_tls::TlsConnector::new()
            .map(postgres_native_tls::MakeTlsConnector::new)
            .map_err(|e| Error::BadServerUrl {
                location: location.clone(),
                message: format!("cannot set up TLS: {e}"),
            })?;
        let mut client = config
            .connect(tls)
            .map_err(|e| connect_err(&url, config.get_user().unwrap_or(""), e))?;
        migrate(&mut client, &self.location)?;
        Ok(client)
    }

    /// The `k` items nearest to `query` (a unit vector) by cosine through pgvector's HNSW index,
    /// as (item id, cosine similarity), best first. `ef_search` trades speed for recall (40 is
    /// pgvector's default; recall@10 rises towards 1 as it grows).
    pub fn nearest(&self, query: &[f32], k: usize, ef_search: usize) -> Result<Vec<(i64, f32)>> {
        self.with_client(|c, at| {
            let dims = query.len();
            let mut tx = c.transaction().map_err(pg_err(at))?;
            // Past ef_search rows the index goes on scanning (pgvector 0.8's iterative scans).
            let ef = ef_search.clamp(1, 1000);
            let more = if k > ef {
                "; SET LOCAL hnsw.iterative_scan = strict_order"
            } else {
                ""
            };
            tx.batch_execute(&format!("SET LOCAL hnsw.ef_search = {ef}{more}"))
            .map_err(pg_err(at))?;
            let rows = tx
                .query_typed(
                    &format!(
                        "SELECT id, (embedding::vector({dims}) <=> $1::real[]::vector({dims}))::real
                         FROM items ORDER BY embedding::vector({dims}) <=> $1::real[]::vector({dims})
                         LIMIT $2"
                    ),
                    &[(&query, Type::FLOAT4_ARRAY), (&(k as i64), Type::INT8)],
                )
                .map_err(pg_err(at))?;
            tx.commit().map_err(pg_err(at))?;
            Ok(rows
                .iter()
                .map(|r| (r.get::<_, i64>(0), 1.0 - r.get::<_, f32>(1)))
                .collect())
        })
    }

    /// Whether searches of `dims`-dimensional vectors go through the HNSW index (the query plan).
    pub fn search_uses_index(&self, dims: usize) -> Result<bool> {
        self.with_client(|c, at| {
            let plan = c
                .simple_query(&format!(
                    "EXPLAIN SELECT id FROM items ORDER BY embedding::vector({dims}) <=>
                     array_fill(0.1::real, ARRAY[{dims}])::vector({dims}) LIMIT 10"
                ))
                .map_err(pg_err(at))?;
            Ok(plan.iter().any(|m| match m {
                postgres::SimpleQueryMessage::Row(r) => {
                    r.get(0).is_some_and(|l| l.contains("items_embedding_cos_"))
                }
                _ => false,
            }))
        })
    }

    fn meta(c: &mut Client, at: &Path, key: &str) -> Result<Option<String>> {
        c.query_typed_opt(
            "SELECT value FROM meta WHERE key = $1",
            &[(&key, Type::TEXT)],
        )
        .map(|r| r.map(|r| r.get(0)))
        .map_err(pg_err(at))
    }
}

impl CatalogStore for PgStore {
    fn location(&self) -> &Path {
        &self.location
    }

    fn load(&self, storage: Storage) -> Result<Catalog> {
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
            let projection: Option<MapProjection> = meta
                .get("map_projection")
                .and_then(|j| serde_json::from_str(j).ok());
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
            let mut map = Vec::with_capacity(count as usize);
            let mut map_complete = true;
            let mut rows = tx
                .query_typed_raw(
                    &format!(
                        "SELECT i.id, i.path, i.size, i.mtime_ns, i.width, i.height, i.labels::text,
                                {}, i.hash, m.x, m.y
                         FROM items i LEFT JOIN map_points m ON m.item_id = i.id ORDER BY i.id",
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
                match (r.get::<_, Option<f32>>(9), r.get::<_, Option<f32>>(10)) {
                    (Some(x), Some(y)) => map.push([x, y]),
                    _ => map_complete = false,
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
            if !map_complete {
                map.clear();
            }
            let store = PgStore::new_connected(&location, &self.config);
            let embeddings = if remote {
                let ids: Vec<i64> = items.iter().map(|it| it.id).collect();
                Vectors::Remote(Arc::new(ServerVectors::new(Arc::clone(&store), ids, dims)))
            } else if compact {
                rows8.extend_from(&block);
                Vectors::Compact(compact_from_rows(rows8))
            } else {
                Vectors::Full { dims, data: full }
            };
            Ok(Catalog {
                store,
                index_path: location.clone(),
                root,
                model,
                dims,
                pooling,
                resize,
                label_field,
                items,
                embeddings,
                map,
                projection,
                head: None,
                style: None,
                damaged,
                palettes: Default::default(),
            })
        })
    }

    fn thumbnail(&self, id: i64) -> Result<Option<Vec<u8>>> {
        self.with_client(|c, at| {
            c.query_typed_opt(
                "SELECT jpeg FROM thumbs WHERE item_id = $1",
                &[(&id, Type::INT8)],
            )
            .map(|r| r.map(|r| r.get(0)))
            .map_err(pg_err(at))
        })
    }

    fn fingerprints(&self) -> Result<HashMap<i64, Fingerprint>> {
        self.with_client(|c, at| {
            let rows = c
                .query_typed("SELECT id, fingerprint FROM items", &[])
                .map_err(pg_err(at))?;
            Ok(rows
                .iter()
                .filter_map(|r| Some((r.get(0), Fingerprint::from_bytes(r.get(1))?)))
                .collect())
        })
    }

    fn failures(&self) -> Result<Vec<(PathBuf, String)>> {
        self.with_client(|c, at| {
            let rows = c
                .query_typed("SELECT path, reason FROM failures ORDER BY path", &[])
                .map_err(pg_err(at))?;
            Ok(rows
                .iter()
                .map(|r| (path_from_bytes(r.get(0)), r.get(1)))
                .collect())
        })
    }

    /// Several machines may index a shared catalog at once (rows are upserted by path), so there
    /// is nothing to hold.
    fn lock_for_writing(&self) -> Result<WriteGuard> {
        Ok(Box::new(()))
    }

    fn save_map(&self, projection: &MapProjection, points: &[(i64, [f32; 2])]) -> Result<()> {
        let ids: Vec<i64> = points.iter().map(|p| p.0).collect();
        let xs: Vec<f32> = points.iter().map(|p| p.1[0]).collect();
        let ys: Vec<f32> = points.iter().map(|p| p.1[1]).collect();
        let plane = serde_json::to_string(projection).unwrap_or_default();
        self.with_client(|c, at| {
            let mut tx = c.transaction().map_err(pg_err(at))?;
            set_meta(&mut tx, at, "map_projection", &plane)?;
            tx.execute_typed("DELETE FROM map_points", &[])
                .map_err(pg_err(at))?;
            // Items deleted meanwhile by another machine are skipped, not an error.
            tx.execute_typed(
                "INSERT INTO map_points(item_id, x, y)
                 SELECT p.id, p.x, p.y FROM unnest($1::bigint[], $2::real[], $3::real[]) AS p(id, x, y)
                 JOIN items i ON i.id = p.id",
                &[
                    (&ids, Type::INT8_ARRAY),
                    (&xs, Type::FLOAT4_ARRAY),
                    (&ys, Type::FLOAT4_ARRAY),
                ],
            )
            .map_err(pg_err(at))?;
            tx.commit().map_err(pg_err(at))
        })
    }

    fn save_head(&self, head: &StoredHead) -> Result<()> {
        self.with_client(|c, at| {
            c.execute_typed(
                "INSERT INTO heads(id, layout, weights, report) VALUES(1, $1, $2, $3)
                 ON CONFLICT(id) DO UPDATE SET layout = $1, weights = $2, report = $3",
                &[
                    (&head.layout, Type::TEXT),
                    (&head.weights, Type::BYTEA),
                    (&head.report, Type::TEXT),
                ],
            )
            .map(drop)
            .map_err(pg_err(at))
        })
    }

    fn load_head(&self) -> Result<Option<StoredHead>> {
        self.with_client(|c, at| {
            c.query_typed_opt(
                "SELECT layout, weights, report FROM heads WHERE id = 1",
                &[],
            )
            .map(|r| {
                r.map(|r| StoredHead {
                    layout: r.get(0),
                    weights: r.get(1),
                    report: r.get(2),
                })
            })
            .map_err(pg_err(at))
        })
    }

    fn recorded_model(&self) -> Result<(String, Pooling, ResizePolicy)> {
        self.with_client(|c, at| {
            let model = Self::meta(c, at, "model")?.ok_or_else(|| bad(at, "no model recorded"))?;
            let pooling = Self::meta(c, at, "pooling")?.and_then(|p| Pooling::from_name(&p));
            let resize = Self::meta(c, at, "resize")?.and_then(|r| ResizePolicy::from_name(&r));
            match (pooling, resize) {
                (Some(p), Some(r)) => Ok((model, p, r)),
                _ => Err(bad(at, "no pooling or resize policy recorded")),
            }
        })
    }

    fn remove_all(&self) -> Result<()> {
        self.with_client(|c, at| {
            c.batch_execute(&format!(
                "TRUNCATE items, thumbs, failures, map_points, heads; DELETE FROM meta; {DROP_VECTOR_INDEXES}"
            ))
            .map_err(pg_err(at))
        })
    }

    fn open_writer(&self) -> Result<Box<dyn CatalogWriter>> {
        Ok(Box::new(PgWriter {
            client: self.connect()?,
            location: self.location.clone(),
        }))
    }

    fn is_shared(&self) -> bool {
        true
    }
}

impl PgStore {
    fn new_connected(location: &Path, config: &Config) -> Arc<Self> {
        Arc::new(PgStore {
            location: location.to_path_buf(),
            config: config.clone(),
            client: Mutex::new(None),
        })
    }
}

/// A shared catalog's vectors left on the server: searched by pgvector's HNSW index, rows fetched
/// when a whole-catalog computation (the map, duplicates, learning) needs them.
pub struct ServerVectors {
    store: Arc<PgStore>,
    /// Item ids in catalog order (ascending).
    ids: Vec<i64>,
    position: HashMap<i64, usize>,
    dims: usize,
}

impl ServerVectors {
    fn new(store: Arc<PgStore>, ids: Vec<i64>, dims: usize) -> Self {
        let position = ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
        ServerVectors {
            store,
            ids,
            position,
            dims,
        }
    }
}

impl RemoteVectors for ServerVectors {
    fn dims(&self) -> usize {
        self.dims
    }

    fn len(&self) -> usize {
        self.ids.len()
    }

    fn rows_into(&self, start: usize, n: usize, out: &mut [f32]) {
        out.fill(0.0);
        let dims = self.dims;
        for (chunk_start, ids) in (start..start + n)
            .step_by(4096)
            .map(|s| (s, &self.ids[s..(s + 4096).min(start + n)]))
        {
            let ids = ids.to_vec();
            let got = self.store.with_client(|c, at| {
                c.query_typed(
                    "SELECT id, embedding::real[] FROM items WHERE id = ANY($1)",
                    &[(&ids, Type::INT8_ARRAY)],
                )
                .map_err(pg_err(at))
            });
            match got {
                Ok(rows) => {
                    for r in rows {
                        let v: Vec<f32> = r.get(1);
                        if let Some(&i) = self.position.get(&r.get::<_, i64>(0))
                            && v.len() == dims
                        {
                            let at = (i - start) * dims;
                            out[at..at + dims].copy_from_slice(v.as_slice());
                        }
                    }
                }
                // Rows that cannot be read match nothing; the reason is logged.
                Err(e) => log::warn!(
                    "cannot read embeddings {chunk_start}..: {}",
                    crate::error::describe(&e)
                ),
            }
        }
    }

    fn top_k(&self, query: &[f32], k: usize, keep: &(dyn Fn(usize) -> bool + Sync)) -> Vec<Hit> {
        // Ask for more than k (the filter may drop some), and more again while too few pass.
        let mut fetch = (k * 4).max(MIN_FETCH);
        loop {
            let found = match self.store.nearest(query, fetch, fetch.max(EF_SEARCH)) {
                Ok(found) => found,
                Err(e) => {
                    log::warn!(
                        "search on the server failed: {}",
                        crate::error::describe(&e)
                    );
                    return Vec::new();
                }
            };
            let exhausted = found.len() < fetch || fetch >= self.ids.len();
            let hits: Vec<Hit> = found
                .into_iter()
                .filter_map(|(id, score)| {
                    let index = *self.position.get(&id)?;
                    keep(index).then_some(Hit { index, score })
                })
                .take(k)
                .collect();
            if hits.len() >= k || exhausted {
                return hits;
            }
            fetch *= 4;
        }
    }
}

/// An indexing run's own connection to a shared catalog.
struct PgWriter {
    client: Client,
    location: PathBuf,
}

impl CatalogWriter for PgWriter {
    fn meta(&mut self, key: &str) -> Result<Option<String>> {
        PgStore::meta(&mut self.client, &self.location, key)
    }

    fn set_meta(&mut self, key: &str, value: &str) -> Result<()> {
        set_meta(&mut self.client, &self.location, key, value)
    }

    fn clear_items(&mut self) -> Result<()> {
        self.client
            .batch_execute(&format!(
                "TRUNCATE items, thumbs, map_points; {DROP_VECTOR_INDEXES}"
            ))
            .map_err(pg_err(&self.location))
    }

    fn known_files(&mut self) -> Result<HashMap<PathBuf, Known>> {
        let rows = self
            .client
            .query_typed(
                "SELECT id, path, size, mtime_ns, labels::text, length(fingerprint) FROM items",
                &[],
            )
            .map_err(pg_err(&self.location))?;
        Ok(rows
            .iter()
            .map(|r| {
                (
                    path_from_bytes(r.get(1)),
                    Known {
                        id: r.get(0),
                        size: r.get::<_, i64>(2) as u64,
                        mtime_ns: r.get(3),
                        labels: r.get(4),
                        complete: r.get::<_, i32>(5) as usize == Fingerprint::BYTES,
                    },
                )
            })
            .collect())
    }

    fn known_hashes(&mut self) -> Result<HashMap<Vec<u8>, i64>> {
        let rows = self
            .client
            .query_typed(
                "SELECT hash, min(id) FROM items WHERE length(fingerprint) = $1 GROUP BY hash",
                &[(&(Fingerprint::BYTES as i32), Type::INT4)],
            )
            .map_err(pg_err(&self.location))?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    fn damaged_embeddings(&mut self, dims: usize) -> Result<Vec<i64>> {
        // Finite and of unit length is checked here, not in SQL: the same test as everywhere.
        let mut damaged = Vec::new();
        let mut rows = self
            .client
            .query_typed_raw(
                "SELECT id, embedding::real[] FROM items",
                std::iter::empty::<(i64, Type)>(),
            )
            .map_err(pg_err(&self.location))?;
        while let Some(r) = rows.next().map_err(pg_err(&self.location))? {
            let v: Vec<f32> = r.get(1);
            if v.len() != dims || !crate::embed::is_unit_vector(&v) {
                damaged.push(r.get(0));
            }
        }
        Ok(damaged)
    }

    fn count(&mut self) -> Result<usize> {
        self.client
            .query_typed_one("SELECT count(*) FROM items", &[])
            .map(|r| r.get::<_, i64>(0) as usize)
            .map_err(pg_err(&self.location))
    }

    fn write(&mut self, f: &mut dyn FnMut(&mut dyn ItemWriter) -> Result<()>) -> Result<()> {
        let at = self.location.clone();
        let tx = self.client.transaction().map_err(pg_err(&at))?;
        let mut w = PgItemWriter {
            tx,
            at: &at,
            pending: Pending::default(),
        };
        f(&mut w)?;
        w.flush()?;
        w.tx.commit().map_err(pg_err(&at))
    }

    fn finish(&mut self, dims: usize) -> Result<()> {
        // Built once the rows are in: much faster than growing the graph row by row, and much
        // faster again while the graph fits in maintenance_work_mem (raised for this session only).
        self.client
            .batch_execute(&format!(
                "SET maintenance_work_mem = '512MB';
                 CREATE INDEX IF NOT EXISTS items_embedding_cos_{dims} ON items
                 USING hnsw ((embedding::vector({dims})) vector_cosine_ops);
                 RESET maintenance_work_mem;"
            ))
            .map_err(pg_err(&self.location))
    }
}

/// Writes of one transaction. Upserted items wait in `pending` and go in one statement per batch
/// (three round trips a batch, not three an item: it matters over a network).
struct PgItemWriter<'a> {
    tx: postgres::Transaction<'a>,
    at: &'a Path,
    pending: Pending,
}

/// Upserted items not yet sent, column by column.
#[derive(Default)]
struct Pending {
    paths: Vec<Vec<u8>>,
    sizes: Vec<i64>,
    mtimes: Vec<i64>,
    hashes: Vec<Vec<u8>>,
    widths: Vec<i32>,
    heights: Vec<i32>,
    labels: Vec<String>,
    /// pgvector's text form, `[x,y,...]`: arrays of arrays cannot cross as one parameter.
    embeddings: Vec<String>,
    fingerprints: Vec<Vec<u8>>,
    thumbs: Vec<Vec<u8>>,
}

impl PgItemWriter<'_> {
    /// Send the pending upserts.
    fn flush(&mut self) -> Result<()> {
        if self.pending.paths.is_empty() {
            return Ok(());
        }
        let p = std::mem::take(&mut self.pending);
        self.tx
            .execute_typed(
                "INSERT INTO items(path, size, mtime_ns, hash, width, height, labels, embedding, fingerprint)
                 SELECT path, size, mtime_ns, hash, width, height, labels::jsonb, embedding::vector, fingerprint
                 FROM unnest($1::bytea[], $2::bigint[], $3::bigint[], $4::bytea[], $5::integer[],
                             $6::integer[], $7::text[], $8::text[], $9::bytea[])
                      AS t(path, size, mtime_ns, hash, width, height, labels, embedding, fingerprint)
                 ON CONFLICT(path) DO UPDATE SET size = excluded.size, mtime_ns = excluded.mtime_ns,
                    hash = excluded.hash, width = excluded.width, height = excluded.height,
                    labels = excluded.labels, embedding = excluded.embedding,
                    fingerprint = excluded.fingerprint",
                &[
                    (&p.paths, Type::BYTEA_ARRAY),
                    (&p.sizes, Type::INT8_ARRAY),
                    (&p.mtimes, Type::INT8_ARRAY),
                    (&p.hashes, Type::BYTEA_ARRAY),
                    (&p.widths, Type::INT4_ARRAY),
                    (&p.heights, Type::INT4_ARRAY),
                    (&p.labels, Type::TEXT_ARRAY),
                    (&p.embeddings, Type::TEXT_ARRAY),
                    (&p.fingerprints, Type::BYTEA_ARRAY),
                ],
            )
            .map_err(pg_err(self.at))?;
        self.tx
            .execute_typed(
                "INSERT INTO thumbs(item_id, jpeg)
                 SELECT i.id, t.jpeg FROM unnest($1::bytea[], $2::bytea[]) AS t(path, jpeg)
                 JOIN items i ON i.path = t.path
                 ON CONFLICT(item_id) DO UPDATE SET jpeg = excluded.jpeg",
                &[
                    (&p.paths, Type::BYTEA_ARRAY),
                    (&p.thumbs, Type::BYTEA_ARRAY),
                ],
            )
            .map_err(pg_err(self.at))?;
        self.tx
            .execute_typed(
                "DELETE FROM failures WHERE path = ANY($1)",
                &[(&p.paths, Type::BYTEA_ARRAY)],
            )
            .map_err(pg_err(self.at))?;
        Ok(())
    }
}

/// `v` in pgvector's text form; Rust prints each f32 so that it reads back exactly.
fn vector_text(v: &[f32]) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(v.len() * 12 + 2);
    out.push('[');
    for (i, x) in v.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, "{x}");
    }
    out.push(']');
    out
}

impl ItemWriter for PgItemWriter<'_> {
    fn upsert(&mut self, item: &NewItem) -> Result<()> {
        let p = &mut self.pending;
        p.paths.push(path_bytes(item.rel).to_vec());
        p.sizes.push(item.size as i64);
        p.mtimes.push(item.mtime_ns);
        p.hashes.push(item.hash.to_vec());
        p.widths.push(item.width as i32);
        p.heights.push(item.height as i32);
        p.labels.push(item.labels.to_string());
        p.embeddings.push(vector_text(item.embedding));
        p.fingerprints.push(item.fingerprint.to_bytes());
        p.thumbs.push(item.thumb.to_vec());
        Ok(())
    }

    fn copy_from(
        &mut self,
        source: i64,
        rel: &Path,
        size: u64,
        mtime_ns: i64,
        labels: &str,
    ) -> Result<i64> {
        self.flush()?;
        let row = self
            .tx
            .query_typed_opt(
                "INSERT INTO items(path, size, mtime_ns, hash, width, height, labels, embedding, fingerprint)
                 SELECT $1, $2, $3, hash, width, height, ($4::text)::jsonb, embedding, fingerprint
                 FROM items WHERE id = $5
                 ON CONFLICT(path) DO UPDATE SET size = excluded.size, mtime_ns = excluded.mtime_ns,
                    hash = excluded.hash, width = excluded.width, height = excluded.height,
                    labels = excluded.labels, embedding = excluded.embedding,
                    fingerprint = excluded.fingerprint
                 RETURNING id",
                &[
                    (&path_bytes(rel), Type::BYTEA),
                    (&(size as i64), Type::INT8),
                    (&mtime_ns, Type::INT8),
                    (&labels, Type::TEXT),
                    (&source, Type::INT8),
                ],
            )
            .map_err(pg_err(self.at))?;
        // Another machine removed the source meanwhile: embed the file on the next run.
        let Some(row) = row else {
            return self
                .record_failure(rel, "its copy was removed meanwhile; index again")
                .map(|()| 0);
        };
        let id: i64 = row.get(0);
        self.tx
            .execute_typed(
                "INSERT INTO thumbs(item_id, jpeg) SELECT $1, jpeg FROM thumbs WHERE item_id = $2
                 ON CONFLICT(item_id) DO UPDATE SET jpeg = excluded.jpeg",
                &[(&id, Type::INT8), (&source, Type::INT8)],
            )
            .map_err(pg_err(self.at))?;
        Ok(id)
    }

    fn set_labels(&mut self, id: i64, labels: &str) -> Result<()> {
        self.flush()?;
        self.tx
            .execute_typed(
                "UPDATE items SET labels = ($1::text)::jsonb WHERE id = $2",
                &[(&labels, Type::TEXT), (&id, Type::INT8)],
            )
            .map(drop)
            .map_err(pg_err(self.at))
    }

    fn remove(&mut self, id: i64) -> Result<()> {
        self.flush()?;
        self.tx
            .execute_typed("DELETE FROM items WHERE id = $1", &[(&id, Type::INT8)])
            .map(drop)
            .map_err(pg_err(self.at))
    }

    fn record_failure(&mut self, rel: &Path, reason: &str) -> Result<()> {
        self.flush()?;
        self.tx
            .execute_typed(
                "INSERT INTO failures(path, reason) VALUES($1, $2)
                 ON CONFLICT(path) DO UPDATE SET reason = excluded.reason",
                &[(&path_bytes(rel), Type::BYTEA), (&reason, Type::TEXT)],
            )
            .map(drop)
            .map_err(pg_err(self.at))
    }

    fn clear_failures(&mut self) -> Result<()> {
        self.flush()?;
        self.tx
            .execute_typed("DELETE FROM failures", &[])
            .map(drop)
            .map_err(pg_err(self.at))
    }
}

fn set_meta(c: &mut impl postgres::GenericClient, at: &Path, key: &str, value: &str) -> Result<()> {
    c.execute_typed(
        "INSERT INTO meta(key, value) VALUES($1, $2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        &[(&key, Type::TEXT), (&value, Type::TEXT)],
    )
    .map(drop)
    .map_err(pg_err(at))
}

/// Check for pgvector and apply the migrations this version knows and the database lacks; refuse
/// a schema newer than this version.
fn migrate(c: &mut Client, at: &Path) -> Result<()> {
    let location = at.to_string_lossy().into_owned();
    let has_vector = c
        .query_typed_opt(
            "SELECT 1 FROM pg_available_extensions WHERE name = 'vector'",
            &[],
        )
        .map_err(pg_err(at))?
        .is_some();
    if !has_vector {
        return Err(Error::NoPgvector { location });
    }
    c.batch_execute("CREATE EXTENSION IF NOT EXISTS vector")
        .map_err(|e| match e.code() {
            Some(&SqlState::INSUFFICIENT_PRIVILEGE) => Error::NoPgvector {
                location: location.clone(),
            },
            _ => pg_err(at)(e),
        })?;
    let mut tx = c.transaction().map_err(pg_err(at))?;
    // One migrating machine at a time; the others wait, then find the work done.
    tx.batch_execute(
        "SELECT pg_advisory_xact_lock(7262961343);
         CREATE TABLE IF NOT EXISTS lookalike_schema(version integer NOT NULL);",
    )
    .map_err(pg_err(at))?;
    let found: i32 = tx
        .query_typed_one(
            "SELECT coalesce(max(version), 0) FROM lookalike_schema",
            &[],
        )
        .map_err(pg_err(at))?
        .get(0);
    let known = MIGRATIONS.len() as i32;
    if found > known {
        return Err(Error::NewerSchema {
            location,
            found: found as u32,
            known: known as u32,
        });
    }
    for (version, step) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        tx.batch_execute(step).map_err(pg_err(at))?;
        tx.execute_typed(
            "INSERT INTO lookalike_schema(version) VALUES($1)",
            &[(&(version as i32 + 1), Type::INT4)],
        )
        .map_err(pg_err(at))?;
    }
    tx.commit().map_err(pg_err(at))
}

/// The password for `config` from `PGPASSWORD`, else the first matching line of `~/.pgpass`
/// (or `PGPASSFILE`): `host:port:database:user:password`, `*` matching anything.
fn password_for(config: &Config) -> Option<String> {
    if let Ok(p) = std::env::var("PGPASSWORD") {
        return Some(p);
    }
    let file = std::env::var_os("PGPASSFILE")
        .map(PathBuf::from)
        .or_else(|| directories::BaseDirs::new().map(|d| d.home_dir().join(".pgpass")))?;
    let text = std::fs::read_to_string(file).ok()?;
    let host = match config.get_hosts().first()? {
        postgres::config::Host::Tcp(h) => h.clone(),
        postgres::config::Host::Unix(p) => p.to_string_lossy().into_owned(),
    };
    let port = config
        .get_ports()
        .first()
        .copied()
        .unwrap_or(5432)
        .to_string();
    let db = config.get_dbname().or(config.get_user()).unwrap_or("");
    let want = [
        host.as_str(),
        port.as_str(),
        db,
        config.get_user().unwrap_or(""),
    ];
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .find_map(|line| {
            let fields = pgpass_fields(line);
            (fields.len() == 5
                && fields[..4]
                    .iter()
                    .zip(want)
                    .all(|(f, w)| f == "*" || f == w))
            .then(|| fields[4].clone())
        })
}

/// The fields of one `.pgpass` line: `:` separates, `\` escapes.
fn pgpass_fields(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(ch) = chars.next() {
        match ch {
            '\\' => fields
                .last_mut()
                .unwrap_or(&mut String::new())
                .extend(chars.next()),
            ':' => fields.push(String::new()),
            _ => fields.last_mut().unwrap_or(&mut String::new()).push(ch),
        }
    }
    fields
}

/// `url` with any password taken out.
fn redacted(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (authority, tail) = rest.split_at(rest.find(['/', '?']).unwrap_or(rest.len()));
    let mut out = format!("{scheme}://");
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            out.push_str(userinfo.split(':').next().unwrap_or(""));
            out.push('@');
            out.push_str(host);
        }
        None => out.push_str(authority),
    }
    // Query parameters may carry a password too.
    match tail.split_once('?') {
        Some((path, query)) => {
            let kept: Vec<&str> = query
                .split('&')
                .filter(|kv| !kv.starts_with("password="))
                .collect();
            out.push_str(path);
            if !kept.is_empty() {
                out.push('?');
                out.push_str(&kept.join("&"));
            }
        }
        None => out.push_str(tail),
    }
    out
}

fn connect_err(location: &str, user: &str, e: postgres::Error) -> Error {
    let location = location.to_string();
    match e.code() {
        Some(&SqlState::INVALID_PASSWORD)
        | Some(&SqlState::INVALID_AUTHORIZATION_SPECIFICATION) => Error::ServerAuth {
            location,
            user: user.to_string(),
            source: e,
        },
        Some(&SqlState::INVALID_CATALOG_NAME) => Error::Server {
            location,
            source: e,
        },
        _ if e.as_db_error().is_none() => Error::ServerUnreachable {
            location,
            source: e,
        },
        _ => Error::Server {
            location,
            source: e,
        },
    }
}

fn pg_err(at: &Path) -> impl Fn(postgres::Error) -> Error + '_ {
    move |source| {
        let location = at.to_string_lossy().into_owned();
        if source.is_closed() || source.as_db_error().is_none() && source.code().is_none() {
            Error::ServerUnreachable { location, source }
        } else {
            Error::Server { location, source }
        }
    }
}

fn bad(at: &Path, message: &str) -> Error {
    Error::BadIndex {
        path: at.to_path_buf(),
        message: message.to_string(),
    }
}

fn path_bytes(p: &Path) -> &[u8] {
    use std::os::unix::ffi::OsStrExt;
    p.as_os_str().as_bytes()
}

fn path_from_bytes(b: &[u8]) -> PathBuf {
    use std::os::unix::ffi::OsStrExt;
    PathBuf::from(std::ffi::OsStr::from_bytes(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_reach_the_location() {
        assert_eq!(
            redacted("postgres://ann:s3cret@db.shop:5432/catalog"),
            "postgres://ann@db.shop:5432/catalog"
        );
        assert_eq!(
            redacted("postgresql://ann@db/catalog?password=x&sslmode=require"),
            "postgresql://ann@db/catalog?sslmode=require"
        );
        assert_eq!(redacted("postgres://db/catalog"), "postgres://db/catalog");
    }

    #[test]
    fn pgpass_lines_split_on_unescaped_colons() {
        assert_eq!(
            pgpass_fields(r"db:5432:*:ann:pa\:ss"),
            vec!["db", "5432", "*", "ann", "pa:ss"]
        );
    }
}
