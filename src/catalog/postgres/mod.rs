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

mod connect;
mod load;
mod recall;
mod vectors;
mod writer;

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Arc, Mutex};

use postgres::fallible_iterator::FallibleIterator;
use postgres::types::Type;
use postgres::{Client, Config, error::SqlState};
use rayon::prelude::*;

use super::db::{Known, NewItem, StoredHead, path_bytes, path_from_bytes};
use super::store::{
    CatalogStore, CatalogWriter, ItemWriter, NotDuplicates, StoredMap, WriteGuard, unix_now,
};
use super::vectors::{COMPACT_FROM, Storage, compact_from_rows};
use super::{Catalog, Item, LabelInterner};
use crate::embed::fingerprint::Fingerprint;
use crate::error::{Error, Result};
use crate::model::{Pooling, ResizePolicy};
use crate::search::pca::MapProjection;
use connect::{TlsPolicy, migrate, password_for, redacted, split_tls, tls_connector};
pub use recall::{DEFAULT_RECALL, RecallCurve};
pub use vectors::ServerVectors;
use writer::PgWriter;

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
    // 2: the duplicate finder's decisions, by content hash (a <= b).
    "CREATE TABLE not_duplicates(a bytea NOT NULL, b bytea NOT NULL, decided bigint NOT NULL, PRIMARY KEY(a, b));",
    // 3: other map layouts (the neighbourhood layout), by name.
    "CREATE TABLE layout_points(layout text NOT NULL,
                                item_id bigint NOT NULL REFERENCES items(id) ON DELETE CASCADE,
                                x real NOT NULL, y real NOT NULL, PRIMARY KEY(layout, item_id));",
];

/// Drop the HNSW indexes of the embeddings (emptied catalogs fill faster without them, and another
/// model may have other dimensions); [`CatalogWriter::finish`] builds the index again.
const DROP_VECTOR_INDEXES: &str = "DO $$ DECLARE r record; BEGIN
    FOR r IN SELECT indexname FROM pg_indexes
             WHERE tablename = 'items' AND indexname LIKE 'items_embedding_cos_%' LOOP
        EXECUTE 'DROP INDEX ' || quote_ident(r.indexname);
    END LOOP;
END $$;";

/// pgvector's `hnsw.ef_search` for a catalog without a measured [`RecallCurve`]: recall@10
/// against exact search rises with it, and so does the time (tests/bench/README.md).
const EF_SEARCH: usize = 100;

/// The HNSW graph's `ef_construction` (candidates kept while linking each row when it is built).
const EF_CONSTRUCTION: usize = 128;

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
    tls: TlsPolicy,
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
        let (parsed, tls) = split_tls(&text);
        let (config, location) = match Config::from_str(&parsed) {
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
            tls,
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
        let tls = tls_connector(&self.tls, &location)?;
        let mut client = config
            .connect(tls)
            .map_err(|e| connect_err(&url, config.get_user().unwrap_or(""), e))?;
        migrate(&mut client, &self.location)?;
        Ok(client)
    }

    /// The `k` items nearest to `query` (a unit vector) by cosine through pgvector's HNSW index,
    /// as (item id, cosine similarity), best first. `ef_search` trades speed for recall (40 is
    /// pgvector's default; recall@10 rises towards 1 as it grows; see [`RecallCurve`]).
    pub fn nearest(&self, query: &[f32], k: usize, ef_search: usize) -> Result<Vec<(i64, f32)>> {
        self.with_client(|c, at| recall::search(c, at, query, k, Some(ef_search)))
    }

    /// The `k` items nearest to `query` by reading every row (no index): the truth the index's
    /// answers are measured against.
    pub fn nearest_exact(&self, query: &[f32], k: usize) -> Result<Vec<(i64, f32)>> {
        self.with_client(|c, at| recall::search(c, at, query, k, None))
    }

    /// The recall curve measured when the catalog's HNSW index was built (none for a catalog too
    /// small to measure or indexed by an older version).
    pub fn recall_curve(&self) -> Result<Option<RecallCurve>> {
        self.with_client(|c, at| {
            Ok(Self::meta(c, at, RecallCurve::KEY)?.and_then(|t| RecallCurve::parse(&t)))
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
        self.load_catalog(storage)
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

    fn load_map(&self) -> Result<Option<StoredMap>> {
        self.with_client(|c, at| {
            let Some(projection) = Self::meta(c, at, "map_projection")?
                .and_then(|j| serde_json::from_str::<MapProjection>(&j).ok())
            else {
                return Ok(None);
            };
            let points = c
                .query_typed("SELECT item_id, x, y FROM map_points", &[])
                .map_err(pg_err(at))?
                .iter()
                .map(|r| (r.get(0), [r.get(1), r.get(2)]))
                .collect();
            Ok(Some(StoredMap { projection, points }))
        })
    }

    fn save_layout(&self, name: &str, points: &[(i64, [f32; 2])]) -> Result<()> {
        let ids: Vec<i64> = points.iter().map(|p| p.0).collect();
        let xs: Vec<f32> = points.iter().map(|p| p.1[0]).collect();
        let ys: Vec<f32> = points.iter().map(|p| p.1[1]).collect();
        self.with_client(|c, at| {
            let mut tx = c.transaction().map_err(pg_err(at))?;
            tx.execute_typed(
                "DELETE FROM layout_points WHERE layout = $1",
                &[(&name, Type::TEXT)],
            )
            .map_err(pg_err(at))?;
            tx.execute_typed(
                "INSERT INTO layout_points(layout, item_id, x, y)
                 SELECT $1, p.id, p.x, p.y FROM unnest($2::bigint[], $3::real[], $4::real[]) AS p(id, x, y)
                 JOIN items i ON i.id = p.id",
                &[
                    (&name, Type::TEXT),
                    (&ids, Type::INT8_ARRAY),
                    (&xs, Type::FLOAT4_ARRAY),
                    (&ys, Type::FLOAT4_ARRAY),
                ],
            )
            .map_err(pg_err(at))?;
            tx.commit().map_err(pg_err(at))
        })
    }

    fn load_layout(&self, name: &str) -> Result<Vec<(i64, [f32; 2])>> {
        self.with_client(|c, at| {
            Ok(c.query_typed(
                "SELECT item_id, x, y FROM layout_points WHERE layout = $1",
                &[(&name, Type::TEXT)],
            )
            .map_err(pg_err(at))?
            .iter()
            .map(|r| (r.get(0), [r.get(1), r.get(2)]))
            .collect())
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

    fn not_duplicates(&self) -> Result<Vec<NotDuplicates>> {
        self.with_client(|c, at| {
            let rows = c
                .query_typed(
                    "SELECT a, b, decided FROM not_duplicates ORDER BY decided, a, b",
                    &[],
                )
                .map_err(pg_err(at))?;
            Ok(rows
                .iter()
                .map(|r| NotDuplicates {
                    a: r.get(0),
                    b: r.get(1),
                    decided: r.get(2),
                })
                .collect())
        })
    }

    fn set_not_duplicates(&self, pairs: &[(Vec<u8>, Vec<u8>)], apart: bool) -> Result<()> {
        let now = unix_now();
        self.with_client(|c, at| {
            let mut tx = c.transaction().map_err(pg_err(at))?;
            for (a, b) in pairs {
                let (a, b) = if a <= b { (a, b) } else { (b, a) };
                if apart {
                    tx.execute_typed(
                        "INSERT INTO not_duplicates(a, b, decided) VALUES($1, $2, $3)
                         ON CONFLICT(a, b) DO UPDATE SET decided = $3",
                        &[(a, Type::BYTEA), (b, Type::BYTEA), (&now, Type::INT8)],
                    )
                } else {
                    tx.execute_typed(
                        "DELETE FROM not_duplicates WHERE a = $1 AND b = $2",
                        &[(a, Type::BYTEA), (b, Type::BYTEA)],
                    )
                }
                .map_err(pg_err(at))?;
            }
            tx.commit().map_err(pg_err(at))
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

    fn stored_meta(&self, key: &str) -> Result<Option<String>> {
        self.with_client(|c, at| Self::meta(c, at, key))
    }

    fn remove_all(&self) -> Result<()> {
        self.with_client(|c, at| {
            c.batch_execute(&format!(
                "TRUNCATE items, thumbs, failures, map_points, layout_points, heads; DELETE FROM meta; {DROP_VECTOR_INDEXES}"
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
    fn new_connected(location: &Path, config: &Config, tls: &TlsPolicy) -> Arc<Self> {
        Arc::new(PgStore {
            location: location.to_path_buf(),
            config: config.clone(),
            tls: tls.clone(),
            client: Mutex::new(None),
        })
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
        // The server asked for a password and none was given.
        _ if e.as_db_error().is_none()
            && crate::error::describe(&e).contains("password missing") =>
        {
            Error::ServerAuth {
                location,
                user: user.to_string(),
                source: e,
            }
        }
        _ if e.as_db_error().is_none() && crate::error::describe(&e).contains("TLS") => {
            Error::ServerTls {
                location,
                problem: tls_problem(&e),
                source: e,
            }
        }
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

/// What went wrong with TLS, in a few words (the details follow in the error's chain).
fn tls_problem(e: &postgres::Error) -> String {
    let text = crate::error::describe(e);
    if text.contains("certificate verify failed") {
        "the server's certificate is not trusted".into()
    } else if text.contains("does not support TLS") {
        "the server does not offer TLS".into()
    } else {
        "the TLS handshake failed".into()
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
