//! The index file: SQLite in WAL mode, written in transactions so a crash loses at most one batch.

use std::collections::HashMap;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

mod decisions;
mod fingerprints;
mod head;
mod load;
mod lock;
mod repair;
mod writer;

pub use head::StoredHead;
pub use lock::{WriteLock, lock_for_writing, lock_path, try_lock_for_writing};
pub use repair::remove_index;
use repair::{diagnose, immutable_uri, writable};
pub use writer::Writer;

use load::push_embedding;

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};

use crate::embed::fingerprint::Fingerprint;
use crate::error::{Error, Result};
use crate::model::{Pooling, ResizePolicy};
use crate::search::pca::MapProjection;

const SCHEMA_VERSION: &str = "1";

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS items(
    id INTEGER PRIMARY KEY,
    path BLOB NOT NULL UNIQUE,      -- relative to the catalog folder; raw bytes, names need not be UTF-8
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    hash BLOB NOT NULL,             -- BLAKE3 of the file's bytes
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    labels TEXT NOT NULL,           -- JSON object of label fields
    embedding BLOB NOT NULL,        -- dims x f32, little-endian, unit length
    fingerprint BLOB                -- perceptual hash and colour histogram (dups); NULL in indexes from before it
);
CREATE INDEX IF NOT EXISTS items_hash ON items(hash);
-- Every column a catalog opens with, so opening reads this index and not the rows' embeddings
CREATE INDEX IF NOT EXISTS items_listing ON items(id, path, size, mtime_ns, width, height, hash, labels);
CREATE TABLE IF NOT EXISTS thumbs(item_id INTEGER PRIMARY KEY, jpeg BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS failures(path BLOB PRIMARY KEY, reason TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS map_points(item_id INTEGER PRIMARY KEY, x REAL NOT NULL, y REAL NOT NULL);
-- Other map layouts (the neighbourhood layout), by name
CREATE TABLE IF NOT EXISTS layout_points(
    layout TEXT NOT NULL,
    item_id INTEGER NOT NULL,
    x REAL NOT NULL,
    y REAL NOT NULL,
    PRIMARY KEY(layout, item_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS heads(
    id INTEGER PRIMARY KEY CHECK (id = 1), -- one learned head per index
    layout TEXT NOT NULL,           -- JSON: shapes, label columns and classes
    weights BLOB NOT NULL,          -- f32 little-endian
    report TEXT NOT NULL            -- JSON: how it was trained and its cross-validated figures
);
";

/// What the index remembers of a file, to decide whether to embed it again.
#[derive(Debug, Clone)]
pub struct Known {
    pub id: i64,
    pub size: u64,
    pub mtime_ns: i64,
    pub labels: String,
    /// Every column is filled, in this version's format (false for items indexed before the
    /// fingerprint existed or changed).
    pub complete: bool,
}

/// A new or changed item to write.
pub struct NewItem<'a> {
    pub rel: &'a Path,
    pub size: u64,
    pub mtime_ns: i64,
    pub hash: &'a [u8],
    pub width: u32,
    pub height: u32,
    pub labels: &'a str,
    pub embedding: &'a [f32],
    pub fingerprint: Fingerprint,
    pub thumb: &'a [u8],
}

/// An open index file.
pub struct IndexDb {
    pub path: PathBuf,
    conn: Connection,
}

pub(crate) fn path_bytes(p: &Path) -> &[u8] {
    p.as_os_str().as_bytes()
}

pub(crate) fn path_from_bytes(b: &[u8]) -> PathBuf {
    PathBuf::from(std::ffi::OsStr::from_bytes(b))
}

pub(crate) fn f32_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

impl IndexDb {
    /// Open or create an index file.
    pub fn open_or_create(path: &Path) -> Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(crate::error::io_err(dir))?;
        }
        let conn = Connection::open(path).map_err(|e| diagnose(path, e))?;
        let db = IndexDb {
            path: path.to_path_buf(),
            conn,
        };
        db.conn
            .execute_batch(
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;",
            )
            .map_err(|e| diagnose(path, e))?;
        db.conn
            .execute_batch(SCHEMA)
            .map_err(|e| diagnose(path, e))?;
        db.add_missing_columns()?;
        match db.meta("schema")? {
            None => db.set_meta("schema", SCHEMA_VERSION)?,
            Some(v) if v == SCHEMA_VERSION => {}
            Some(v) => {
                return Err(bad(
                    path,
                    format!("schema version {v}, this program reads {SCHEMA_VERSION}"),
                ));
            }
        }
        db.ensure_index_id()?;
        Ok(db)
    }

    /// A random id made when the index is created (or first opened by a version that has ids):
    /// a file made from another index, even one re-made at the same path with the same items
    /// version, never passes for this one's.
    fn ensure_index_id(&self) -> Result<()> {
        if self.meta("index_id")?.is_none() {
            let id = format!("{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..));
            self.conn
                .execute(
                    "INSERT OR IGNORE INTO meta(key, value) VALUES('index_id', ?1)",
                    [id],
                )
                .map_err(db_err(&self.path))?;
        }
        Ok(())
    }

    /// The index's random id (see [`IndexDb::ensure_index_id`]); `None` for an older index opened
    /// read-only, whose vectors file is then rebuilt on every open.
    pub fn index_id(&self) -> Result<Option<u128>> {
        Ok(self
            .meta("index_id")?
            .and_then(|v| u128::from_str_radix(&v, 16).ok()))
    }

    /// Open an index that must already exist.
    pub fn open_existing(path: &Path) -> Result<Self> {
        if !path.is_file() {
            return Err(Error::Io {
                path: path.to_path_buf(),
                source: std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "no index here; run `lookalike index FOLDER` first",
                ),
            });
        }
        // On a read-only disk (or without write permission) the index is read as it is: SQLite
        // cannot make its shared-memory file there, so it is opened immutable.
        let read_only = !writable(path);
        let conn = if read_only {
            Connection::open_with_flags(
                immutable_uri(path),
                OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_URI,
            )
        } else {
            Connection::open(path)
        }
        .map_err(|e| diagnose(path, e))?;
        conn.execute_batch("PRAGMA busy_timeout=5000;")
            .map_err(|e| diagnose(path, e))?;
        let db = IndexDb {
            path: path.to_path_buf(),
            conn,
        };
        match db.meta("schema") {
            Ok(Some(v)) if v == SCHEMA_VERSION => {}
            Ok(Some(v)) => {
                return Err(bad(
                    path,
                    format!("schema version {v}, this program reads {SCHEMA_VERSION}"),
                ));
            }
            Ok(None) => return Err(bad(path, "no schema version recorded".into())),
            Err(Error::Db { source, .. }) => return Err(diagnose(path, source)),
            Err(e) => return Err(e),
        }
        if read_only {
            return Ok(db);
        }
        // Indexes from before a table was added get it now (every statement is IF NOT EXISTS).
        db.conn.execute_batch(SCHEMA).map_err(db_err(path))?;
        db.add_missing_columns()?;
        db.ensure_index_id()?;
        Ok(db)
    }

    /// A second connection to an index `open_existing` has opened, only to read it (see
    /// [`IndexDb::read_items`]).
    fn open_reader(path: &Path) -> Result<Self> {
        let conn = if writable(path) {
            Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
        } else {
            Connection::open_with_flags(
                immutable_uri(path),
                OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_URI,
            )
        }
        .map_err(|e| diagnose(path, e))?;
        conn.execute_batch("PRAGMA busy_timeout=5000;")
            .map_err(|e| diagnose(path, e))?;
        Ok(IndexDb {
            path: path.to_path_buf(),
            conn,
        })
    }

    /// Columns added to `items` after version 1 was released: older indexes get them empty, and
    /// the next indexing run fills them (see [`Known::complete`]).
    fn add_missing_columns(&self) -> Result<()> {
        let mut stmt = self
            .conn
            .prepare("SELECT name FROM pragma_table_info('items')")
            .map_err(db_err(&self.path))?;
        let have: Vec<String> = stmt
            .query_map([], |r| r.get(0))
            .and_then(|rows| rows.collect())
            .map_err(db_err(&self.path))?;
        for column in ["fingerprint"] {
            if !have.iter().any(|c| c == column) {
                self.conn
                    .execute_batch(&format!("ALTER TABLE items ADD COLUMN {column} BLOB"))
                    .map_err(db_err(&self.path))?;
            }
        }
        Ok(())
    }

    pub fn meta(&self, key: &str) -> Result<Option<String>> {
        self.conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()
            .map_err(db_err(&self.path))
    }

    pub fn set_meta(&self, key: &str, value: &str) -> Result<()> {
        self.conn
            .execute("INSERT INTO meta(key, value) VALUES(?1, ?2) ON CONFLICT(key) DO UPDATE SET value = ?2", [key, value])
            .map(|_| ())
            .map_err(db_err(&self.path))
    }

    /// Forget every item (when the model changes, all embeddings must be made again).
    pub fn clear_items(&self) -> Result<()> {
        self.conn
            .execute_batch("DELETE FROM items; DELETE FROM thumbs; DELETE FROM layout_points;")
            .and_then(|()| bump_items_version(&self.conn))
            .map_err(db_err(&self.path))
    }

    /// What the index knows of each path.
    pub fn known_files(&self) -> Result<HashMap<PathBuf, Known>> {
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT id, path, size, mtime_ns, labels, length(fingerprint) IS {} FROM items",
                Fingerprint::BYTES
            ))
            .map_err(db_err(&self.path))?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    path_from_bytes(&r.get::<_, Vec<u8>>(1)?),
                    Known {
                        id: r.get(0)?,
                        size: r.get::<_, i64>(2)? as u64,
                        mtime_ns: r.get(3)?,
                        labels: r.get(4)?,
                        complete: r.get(5)?,
                    },
                ))
            })
            .map_err(db_err(&self.path))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(db_err(&self.path))
    }

    /// Content hash -> item id, to reuse embeddings of moved files and exact duplicates.
    pub fn known_hashes(&self) -> Result<HashMap<Vec<u8>, i64>> {
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT hash, id FROM items WHERE length(fingerprint) IS {}",
                Fingerprint::BYTES
            ))
            .map_err(db_err(&self.path))?;
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(db_err(&self.path))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(db_err(&self.path))
    }

    /// Run `f` in one transaction: all of its writes land, or none.
    pub fn transaction<T>(&mut self, f: impl FnOnce(&Writer) -> Result<T>) -> Result<T> {
        let path = self.path.clone();
        let tx = self.conn.transaction().map_err(db_err(&path))?;
        let out = f(&Writer {
            tx: &tx,
            path: &path,
        })?;
        bump_items_version(&tx).map_err(db_err(&path))?;
        tx.commit().map_err(db_err(&path))?;
        Ok(out)
    }

    /// Run `f` inside one read transaction: every read in it sees the index as it was at the first.
    pub fn read_snapshot<T>(&self, f: impl FnOnce(&Self) -> Result<T>) -> Result<T> {
        self.conn
            .execute_batch("BEGIN")
            .map_err(db_err(&self.path))?;
        let out = f(self);
        // Only reads happened: ending the transaction cannot lose anything.
        let _ = self.conn.execute_batch("COMMIT");
        out
    }

    /// A number that changes with every write to the items: what the compact vectors file
    /// beside the index was made from.
    pub fn items_version(&self) -> Result<u64> {
        Ok(self
            .meta("items_version")?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0))
    }

    /// Every item's embedding in id order, `block` rows at a time (`rows x dims` f32), so a huge
    /// catalog can be turned into compact vectors without holding it all as f32.
    pub fn embedding_blocks(
        &self,
        dims: usize,
        block: usize,
        mut f: impl FnMut(&[f32]),
    ) -> Result<()> {
        let mut stmt = self
            .conn
            .prepare("SELECT embedding FROM items ORDER BY id")
            .map_err(db_err(&self.path))?;
        let mut rows = stmt.query([]).map_err(db_err(&self.path))?;
        let mut buf = Vec::with_capacity(block * dims);
        while let Some(r) = rows.next().map_err(db_err(&self.path))? {
            let blob = r
                .get_ref(0)
                .and_then(|v| v.as_blob().map_err(Into::into))
                .map_err(db_err(&self.path))?;
            push_embedding(&self.path, blob, dims, &mut buf)?;
            if buf.len() == block * dims {
                f(&buf);
                buf.clear();
            }
        }
        if !buf.is_empty() {
            f(&buf);
        }
        Ok(())
    }

    /// The items whose stored embedding is damaged (not finite, not of unit length, or of the
    /// wrong size), for the indexer to embed again.
    pub fn damaged_embeddings(&self, dims: usize) -> Result<Vec<i64>> {
        let mut stmt = self
            .conn
            .prepare("SELECT id, embedding FROM items")
            .map_err(db_err(&self.path))?;
        let mut rows = stmt.query([]).map_err(db_err(&self.path))?;
        let mut damaged = Vec::new();
        let mut buf = Vec::with_capacity(dims);
        while let Some(r) = rows.next().map_err(db_err(&self.path))? {
            let blob = r.get_ref(1).ok().and_then(|v| v.as_blob().ok());
            buf.clear();
            let sound = blob
                .is_some_and(|b| push_embedding(&self.path, b, dims, &mut buf).unwrap_or(false));
            if !sound {
                damaged.push(r.get(0).map_err(db_err(&self.path))?);
            }
        }
        Ok(damaged)
    }

    pub fn thumbnail(&self, id: i64) -> Result<Option<Vec<u8>>> {
        self.conn
            .query_row("SELECT jpeg FROM thumbs WHERE item_id = ?1", [id], |r| {
                r.get(0)
            })
            .optional()
            .map_err(db_err(&self.path))
    }

    /// Failures recorded by the last indexing run.
    pub fn failures(&self) -> Result<Vec<(PathBuf, String)>> {
        let mut stmt = self
            .conn
            .prepare("SELECT path, reason FROM failures ORDER BY path")
            .map_err(db_err(&self.path))?;
        let rows = stmt
            .query_map([], |r| {
                Ok((path_from_bytes(&r.get::<_, Vec<u8>>(0)?), r.get(1)?))
            })
            .map_err(db_err(&self.path))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(db_err(&self.path))
    }

    pub fn count(&self) -> Result<usize> {
        self.conn
            .query_row("SELECT COUNT(*) FROM items", [], |r| r.get::<_, i64>(0))
            .map(|n| n as usize)
            .map_err(db_err(&self.path))
    }

    /// Store the map coordinates of items (replacing all earlier ones).
    pub fn save_map(
        &mut self,
        projection: &MapProjection,
        points: &[(i64, [f32; 2])],
    ) -> Result<()> {
        let path = self.path.clone();
        self.set_meta(
            "map_projection",
            &serde_json::to_string(projection).unwrap_or_default(),
        )?;
        let tx = self.conn.transaction().map_err(db_err(&path))?;
        tx.execute("DELETE FROM map_points", [])
            .map_err(db_err(&path))?;
        {
            let mut stmt = tx
                .prepare("INSERT INTO map_points(item_id, x, y) VALUES(?1, ?2, ?3)")
                .map_err(db_err(&path))?;
            for (id, [x, y]) in points {
                stmt.execute(params![id, *x as f64, *y as f64])
                    .map_err(db_err(&path))?;
            }
        }
        tx.commit().map_err(db_err(&path))
    }

    /// Store the points of layout `name` (replacing its earlier ones).
    pub fn save_layout(&mut self, name: &str, points: &[(i64, [f32; 2])]) -> Result<()> {
        let path = self.path.clone();
        let tx = self.conn.transaction().map_err(db_err(&path))?;
        tx.execute("DELETE FROM layout_points WHERE layout = ?1", [name])
            .map_err(db_err(&path))?;
        {
            let mut stmt = tx
                .prepare("INSERT INTO layout_points(layout, item_id, x, y) VALUES(?1, ?2, ?3, ?4)")
                .map_err(db_err(&path))?;
            for (id, [x, y]) in points {
                stmt.execute(params![name, id, *x as f64, *y as f64])
                    .map_err(db_err(&path))?;
            }
        }
        tx.commit().map_err(db_err(&path))
    }

    /// The model, pooling and resize policy recorded in the index.
    pub fn load_catalog_meta(&self) -> Result<(String, Pooling, ResizePolicy)> {
        let model = self
            .meta("model")?
            .ok_or_else(|| bad(&self.path, "no model recorded".into()))?;
        let pooling = self.meta("pooling")?.and_then(|p| Pooling::from_name(&p));
        let resize = self
            .meta("resize")?
            .and_then(|p| ResizePolicy::from_name(&p));
        match (pooling, resize) {
            (Some(p), Some(r)) => Ok((model, p, r)),
            _ => Err(bad(
                &self.path,
                "no pooling or resize policy recorded".into(),
            )),
        }
    }
}

/// Count one more write to the items (see [`IndexDb::items_version`]).
fn bump_items_version(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO meta(key, value) VALUES('items_version', '1')
         ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1",
        [],
    )
    .map(drop)
}

fn db_err(path: &Path) -> impl Fn(rusqlite::Error) -> Error + '_ {
    move |source| Error::Db {
        path: path.to_path_buf(),
        source,
    }
}

fn bad(path: &Path, message: String) -> Error {
    Error::BadIndex {
        path: path.to_path_buf(),
        message,
    }
}
