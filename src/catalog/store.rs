//! Where a catalog is kept, behind one trait: what the layers above the catalog (search, the map,
//! the duplicate finder, the learned head, the window) read and save, without knowing the storage.
//! Today's implementation is the SQLite index file with its vectors file; a shared PostgreSQL
//! catalog is a second implementation of the same trait.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::db::{
    IndexDb, Known, NewItem, StoredHead, Writer, lock_for_writing, try_lock_for_writing,
};
use super::{Catalog, Storage};
use crate::embed::fingerprint::Fingerprint;
use crate::error::Result;
use crate::model::{Pooling, ResizePolicy};
use crate::search::pca::MapProjection;

/// Held while this process changes a store; dropping it lets other writers in.
pub type WriteGuard = Box<dyn Send>;

/// The catalog map as a store keeps it: the plane, and the points of the items it was made for.
#[derive(Debug, Clone)]
pub struct StoredMap {
    pub projection: MapProjection,
    /// (item id, point), in no particular order.
    pub points: Vec<(i64, [f32; 2])>,
}

/// The name the neighbourhood layout of the map is kept under (see `map::neighbourhoods`).
pub const NEIGHBOURHOOD_LAYOUT: &str = "neighbourhoods";

/// Two photos the user said are not duplicates, by content hash (`a <= b`): the decision holds for
/// those bytes wherever they are and whatever they are called, across re-indexing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotDuplicates {
    pub a: Vec<u8>,
    pub b: Vec<u8>,
    /// When it was decided, in seconds since 1970.
    pub decided: i64,
}

/// Seconds since 1970, now.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

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
    /// The map saved with the catalog, if any (see [`crate::map::CatalogMap`]).
    fn load_map(&self) -> Result<Option<StoredMap>>;
    /// Save the points of another map layout (`name`: the neighbourhood layout), replacing the
    /// earlier ones; skipped, as the map, while another process writes the catalog.
    fn save_layout(&self, name: &str, points: &[(i64, [f32; 2])]) -> Result<()>;
    /// The points of layout `name` saved with the catalog, (item id, point) in no order.
    fn load_layout(&self, name: &str) -> Result<Vec<(i64, [f32; 2])>>;
    /// Save the learned head, replacing the one before.
    fn save_head(&self, head: &StoredHead) -> Result<()>;
    /// The learned head saved with the catalog, if any.
    fn load_head(&self) -> Result<Option<StoredHead>>;
    /// Every pair decided not to be duplicates, oldest first.
    fn not_duplicates(&self) -> Result<Vec<NotDuplicates>>;
    /// Record that each pair (of content hashes) is not duplicates, or with `apart` false forget it.
    fn set_not_duplicates(&self, pairs: &[(Vec<u8>, Vec<u8>)], apart: bool) -> Result<()>;
    /// The model, pooling and resize policy the catalog was indexed with.
    fn recorded_model(&self) -> Result<(String, Pooling, ResizePolicy)>;
    /// A value the index keeps in its metadata (what indexing measured, say).
    fn stored_meta(&self, key: &str) -> Result<Option<String>>;
    /// Delete the whole catalog (to make it again from nothing); the caller holds the write lock.
    fn remove_all(&self) -> Result<()>;
    /// Open the catalog for indexing, creating it when it does not exist yet.
    fn open_writer(&self) -> Result<Box<dyn CatalogWriter>>;
    /// Shared by several machines (each with the photos at its own place): the catalog is keyed
    /// on paths relative to the folder, and indexing from another folder path keeps the items.
    fn is_shared(&self) -> bool {
        false
    }
}

/// The writing half of a store: what indexing reads and writes.
pub trait CatalogWriter: Send {
    fn meta(&mut self, key: &str) -> Result<Option<String>>;
    fn set_meta(&mut self, key: &str, value: &str) -> Result<()>;
    /// Forget every item (when the model changes, all embeddings must be made again).
    fn clear_items(&mut self) -> Result<()>;
    /// What the catalog knows of each path.
    fn known_files(&mut self) -> Result<HashMap<PathBuf, Known>>;
    /// Content hash -> item id, to reuse embeddings of moved files and exact duplicates.
    fn known_hashes(&mut self) -> Result<HashMap<Vec<u8>, i64>>;
    /// Items whose stored embedding is damaged, for the indexer to embed again.
    fn damaged_embeddings(&mut self, dims: usize) -> Result<Vec<i64>>;
    fn count(&mut self) -> Result<usize>;
    /// Run `f` in one transaction: all of its writes land, or none.
    fn write(&mut self, f: &mut dyn FnMut(&mut dyn ItemWriter) -> Result<()>) -> Result<()>;
    /// After a whole indexing run of `dims`-dimensional embeddings: build what search needs.
    fn finish(&mut self, _dims: usize) -> Result<()> {
        Ok(())
    }
}

/// Writes inside one transaction of a [`CatalogWriter`].
pub trait ItemWriter {
    /// Insert or replace the item at `item.rel` (a store may send it with the rest of the batch).
    fn upsert(&mut self, item: &NewItem) -> Result<()>;
    /// Record `rel` as a copy of the already indexed item `source` (same bytes: moved or duplicated).
    fn copy_from(
        &mut self,
        source: i64,
        rel: &Path,
        size: u64,
        mtime_ns: i64,
        labels: &str,
    ) -> Result<i64>;
    fn set_labels(&mut self, id: i64, labels: &str) -> Result<()>;
    fn remove(&mut self, id: i64) -> Result<()>;
    fn record_failure(&mut self, rel: &Path, reason: &str) -> Result<()>;
    fn clear_failures(&mut self) -> Result<()>;
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

    fn load_map(&self) -> Result<Option<StoredMap>> {
        self.with_db(|db| db.load_map())
    }

    fn save_layout(&self, name: &str, points: &[(i64, [f32; 2])]) -> Result<()> {
        match try_lock_for_writing(&self.path) {
            Some(_writing) => self.with_db(|db| db.save_layout(name, points)),
            None => Ok(()),
        }
    }

    fn load_layout(&self, name: &str) -> Result<Vec<(i64, [f32; 2])>> {
        self.with_db(|db| db.load_layout(name))
    }

    fn save_head(&self, head: &StoredHead) -> Result<()> {
        let _writing = lock_for_writing(&self.path)?;
        self.with_db(|db| db.save_head(head))
    }

    fn load_head(&self) -> Result<Option<StoredHead>> {
        self.with_db(|db| db.load_head())
    }

    fn not_duplicates(&self) -> Result<Vec<NotDuplicates>> {
        self.with_db(|db| db.not_duplicates())
    }

    fn set_not_duplicates(&self, pairs: &[(Vec<u8>, Vec<u8>)], apart: bool) -> Result<()> {
        let _writing = lock_for_writing(&self.path)?;
        self.with_db(|db| db.set_not_duplicates(pairs, apart, unix_now()))
    }

    fn recorded_model(&self) -> Result<(String, Pooling, ResizePolicy)> {
        IndexDb::open_existing(&self.path)?.load_catalog_meta()
    }

    fn stored_meta(&self, key: &str) -> Result<Option<String>> {
        self.with_db(|db| db.meta(key))
    }

    fn remove_all(&self) -> Result<()> {
        *self.db.lock().unwrap_or_else(|e| e.into_inner()) = None;
        super::db::remove_index(&self.path)
    }

    fn open_writer(&self) -> Result<Box<dyn CatalogWriter>> {
        Ok(Box::new(IndexDb::open_or_create(&self.path)?))
    }
}

impl CatalogWriter for IndexDb {
    fn meta(&mut self, key: &str) -> Result<Option<String>> {
        IndexDb::meta(self, key)
    }
    fn set_meta(&mut self, key: &str, value: &str) -> Result<()> {
        IndexDb::set_meta(self, key, value)
    }
    fn clear_items(&mut self) -> Result<()> {
        IndexDb::clear_items(self)
    }
    fn known_files(&mut self) -> Result<HashMap<PathBuf, Known>> {
        IndexDb::known_files(self)
    }
    fn known_hashes(&mut self) -> Result<HashMap<Vec<u8>, i64>> {
        IndexDb::known_hashes(self)
    }
    fn damaged_embeddings(&mut self, dims: usize) -> Result<Vec<i64>> {
        IndexDb::damaged_embeddings(self, dims)
    }
    fn count(&mut self) -> Result<usize> {
        IndexDb::count(self)
    }
    fn write(&mut self, f: &mut dyn FnMut(&mut dyn ItemWriter) -> Result<()>) -> Result<()> {
        self.transaction(|w| {
            f(&mut Writer {
                tx: w.tx,
                path: w.path,
            })
        })
    }
}

impl ItemWriter for Writer<'_> {
    fn upsert(&mut self, item: &NewItem) -> Result<()> {
        Writer::upsert(self, item).map(drop)
    }
    fn copy_from(
        &mut self,
        source: i64,
        rel: &Path,
        size: u64,
        mtime_ns: i64,
        labels: &str,
    ) -> Result<i64> {
        Writer::copy_from(self, source, rel, size, mtime_ns, labels)
    }
    fn set_labels(&mut self, id: i64, labels: &str) -> Result<()> {
        Writer::set_labels(self, id, labels)
    }
    fn remove(&mut self, id: i64) -> Result<()> {
        Writer::remove(self, id)
    }
    fn record_failure(&mut self, rel: &Path, reason: &str) -> Result<()> {
        Writer::record_failure(self, rel, reason)
    }
    fn clear_failures(&mut self) -> Result<()> {
        Writer::clear_failures(self)
    }
}
