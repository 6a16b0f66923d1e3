//! Where a catalog is kept, behind one trait: what the layers above the catalog (search, the map,
//! the duplicate finder, the learned head, the window) read and save, without knowing the storage.
//! Today's implementation is the SQLite index file with its vectors file; a shared PostgreSQL
//! catalog is a second implementation of the same trait.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::db::{IndexDb, StoredHead, lock_for_writing, try_lock_for_writing};
use super::{Catalog, Storage};
use crate::embed::fingerprint::Fingerprint;
use crate::error::Result;
use crate::map::MapProjection;

/// Held while this process changes a store; dropping it lets other writers in.
pub type WriteGuard = Box<dyn Send>;

/// A catalog's storage: items, labels, embeddings, thumbnails, fingerprints, the map, the learned
/// head and the files that failed.
pub trait CatalogStore: Send + Sync + fmt::Debug {
    /// Where the catalog is (a file path or a database URL), for messages and to tell catalogs apart.
    fn location(&self) -> &Path;
    /// Read the whole catalog for search, its vectors kept as `storage` says.
    fn load(&self, storage: Storage) -> Result<Catalog>;
    /// The stored JPEG thumbnail of item `id`.
    fn thumbnail(&self, id: i64) -> Result<Option<Vec<u8>>>;
    /// Every item's duplicate-finder fingerprint, by item id.
    fn fingerprints(&self) -> Result<HashMap<i64, Fingerprint>>;
    /// The files that could not be indexed, with the reason.
    fn failures(&self) -> Result<Vec<(PathBuf, String)>>;
    /// Become the one writer, or say who is.
    fn lock_for_writing(&self) -> Result<WriteGuard>;
    /// Save the map's plane and every item's point; skipped (it is a cache) while another process
    /// writes the catalog.
    fn save_map(&self, projection: &MapProjection, points: &[(i64, [f32; 2])]) -> Result<()>;
    /// Save the learned head, replacing the one before.
    fn save_head(&self, head: &StoredHead) -> Result<()>;
    /// The learned head saved with the catalog, if any.
    fn load_head(&self) -> Result<Option<StoredHead>>;
}

/// The store of a local catalog: an SQLite index file, with its vectors file beside it. The
/// connection is opened on first use and kept.
pub struct SqliteStore {
    path: PathBuf,
    db: Mutex<Option<IndexDb>>,
}

impl SqliteStore {
    /// The store of the index file at `path` (nothing is opened yet).
    pub fn new(path: &Path) -> Arc<Self> {
        Arc::new(SqliteStore {
            path: path.to_path_buf(),
            db: Mutex::new(None),
        })
    }

    fn with_db<T>(&self, f: impl FnOnce(&mut IndexDb) -> Result<T>) -> Result<T> {
        let mut db = self.db.lock().unwrap_or_else(|e| e.into_inner());
        match &mut *db {
            Some(db) => f(db),
            empty => f(empty.insert(IndexDb::open_existing(&self.path)?)),
        }
    }
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SqliteStore({})", self.path.display())
    }
}

impl CatalogStore for SqliteStore {
    fn location(&self) -> &Path {
        &self.path
    }

    fn load(&self, storage: Storage) -> Result<Catalog> {
        // A connection of its own: one snapshot for every read, so an indexing run writing
        // meanwhile cannot make the items, their version and their vectors disagree.
        let db = IndexDb::open_existing(&self.path)?;
        db.read_snapshot(|db| Catalog::load(db, &self.path, storage))
    }

    fn thumbnail(&self, id: i64) -> Result<Option<Vec<u8>>> {
        self.with_db(|db| db.thumbnail(id))
    }

    fn fingerprints(&self) -> Result<HashMap<i64, Fingerprint>> {
        self.with_db(|db| db.fingerprints())
    }

    fn failures(&self) -> Result<Vec<(PathBuf, String)>> {
        self.with_db(|db| db.failures())
    }

    fn lock_for_writing(&self) -> Result<WriteGuard> {
        Ok(Box::new(lock_for_writing(&self.path)?))
    }

    fn save_map(&self, projection: &MapProjection, points: &[(i64, [f32; 2])]) -> Result<()> {
        match try_lock_for_writing(&self.path) {
            Some(_writing) => self.with_db(|db| db.save_map(projection, points)),
            None => Ok(()),
        }
    }

    fn save_head(&self, head: &StoredHead) -> Result<()> {
        let _writing = lock_for_writing(&self.path)?;
        self.with_db(|db| db.save_head(head))
    }

    fn load_head(&self) -> Result<Option<StoredHead>> {
        self.with_db(|db| db.load_head())
    }
}
