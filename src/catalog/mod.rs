//! The catalog: a folder of photos, where its index is kept (an SQLite file or a shared
//! PostgreSQL catalog, behind [`CatalogStore`]), and the in-memory view used for search.

mod copy;
mod db;
mod labels;
mod postgres;
mod scan;
mod store;
mod vectors;

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use copy::{CopyReport, copy_catalog};
pub(crate) use db::f32_bytes;
pub use db::{
    IndexDb, Known, NewItem, StoredHead, WriteLock, lock_for_writing, lock_path, remove_index,
};
pub use labels::{LabelInterner, LabelSource, Labels, load_labels};
pub use postgres::{DEFAULT_RECALL, PgStore, RecallCurve, is_postgres_url};
pub use scan::{
    BadPattern, Exclusions, IGNORE_FILE, ScannedFile, is_photo_name, physical_file, scan_folder,
};
pub use store::{
    CatalogStore, CatalogWriter, ItemWriter, NEIGHBOURHOOD_LAYOUT, NotDuplicates, SqliteStore,
    StoredMap, WriteGuard, unix_now,
};
pub use vectors::{COMPACT_FROM, Storage, sidecar_path};

use crate::embed::fingerprint::Fingerprint;
use crate::error::Result;
use crate::model::{ModelManifest, Pooling, ResizePolicy, find_model};
use crate::search::{VectorIndex, Vectors};

/// One photo of the catalog, as the index knows it.
#[derive(Debug, Clone)]
pub struct Item {
    pub id: i64,
    /// Path relative to the catalog folder.
    pub path: PathBuf,
    pub size: u64,
    pub mtime_ns: i64,
    pub width: u32,
    pub height: u32,
    /// BLAKE3 of the file's bytes: equal hashes are byte-identical files.
    pub hash: Vec<u8>,
    /// Label fields: `folder`, and the columns of `labels.csv` when there is one.
    pub labels: Labels,
}

/// An opened catalog: its items and their embeddings, ready for search. What is computed from it
/// (the map, a head learned from its labels) is kept beside it, by [`crate::map`] and
/// [`crate::learn`].
pub struct Catalog {
    /// Where the catalog is kept: thumbnails and fingerprints are read from there.
    store: Arc<dyn CatalogStore>,
    /// The folder of photos the items' paths are relative to.
    root: PathBuf,
    /// Name of the model that made the embeddings.
    model: String,
    /// Pooling and resize policy the embeddings were made with (queries must use the same).
    pooling: Pooling,
    resize: ResizePolicy,
    /// The label field shown beside results.
    label_field: String,
    items: Vec<Item>,
    /// `items.len() x dims` unit vectors: f32, or int8 for very large catalogs (see [`Storage`]).
    vectors: Vectors,
    /// Items whose stored embedding is damaged (not finite or not of unit length): kept as zeros,
    /// which match nothing, until the next `index` embeds them again.
    damaged: Vec<usize>,
    /// Each item's colours for colour-aware ranking, read on first use (see [`Catalog::palettes`]).
    palettes: std::sync::OnceLock<Vec<Option<crate::search::colour::Palette>>>,
    /// The bands of match strength indexing measured (read on first use).
    strength: std::sync::OnceLock<Option<crate::search::strength::MatchStrength>>,
}

impl Catalog {
    /// Load an index written by [`index_folder`], its vectors kept as `$LOOKALIKE_VECTORS` says
    /// (by default f32 below [`COMPACT_FROM`] items, int8 from there).
    pub fn open(index_path: &Path) -> Result<Self> {
        Self::open_with(index_path, Storage::from_env())
    }

    /// Load an index, its vectors kept as `storage` says.
    pub fn open_with(index_path: &Path, storage: Storage) -> Result<Self> {
        store_for(index_path).load(storage)
    }

    pub(crate) fn load(db: &IndexDb, index_path: &Path, storage: Storage) -> Result<Self> {
        if !storage.is_compact(db.count()?) {
            return db.load_catalog(true);
        }
        // The items from SQLite and the vectors from their file, read side by side.
        let version = db.items_version()?;
        let made = db
            .index_id()?
            .map(|index_id| vectors::Made { index_id, version });
        let file = sidecar_path(index_path);
        let started = std::time::Instant::now();
        let (catalog, stored) = std::thread::scope(|s| {
            let stored = s.spawn(|| {
                let stored = made.and_then(|m| vectors::read_sidecar(&file, m));
                log::debug!("vectors file mapped and checked in {:?}", started.elapsed());
                stored
            });
            let catalog = db.load_catalog(false);
            log::debug!("items read from SQLite in {:?}", started.elapsed());
            (catalog, stored.join().ok().flatten())
        });
        let mut catalog = catalog?;
        let ids: Vec<i64> = catalog.items.iter().map(|it| it.id).collect();
        let dims = catalog.dims();
        catalog.vectors = match stored {
            Some((stored_ids, two)) if stored_ids == ids && two.full.dims() == dims => {
                Box::new(two)
            }
            _ => Box::new(vectors::build_compact(db, &ids, dims, made)?),
        };
        Ok(catalog)
    }

    /// The model that made this index, set up exactly as it was (pooling, resize), to embed queries.
    pub fn query_model(&self) -> Result<ModelManifest> {
        Ok(find_model(&self.model)?.with_variant(self.pooling, self.resize))
    }

    /// Where the catalog is kept.
    pub fn store(&self) -> &Arc<dyn CatalogStore> {
        &self.store
    }

    /// The index file or database address the catalog was opened from.
    pub fn location(&self) -> &Path {
        self.store.location()
    }

    /// The folder of photos.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The name of the model that made the embeddings.
    pub fn model(&self) -> &str {
        &self.model
    }

    pub fn pooling(&self) -> Pooling {
        self.pooling
    }

    pub fn resize(&self) -> ResizePolicy {
        self.resize
    }

    /// Dimensions of the embeddings.
    pub fn dims(&self) -> usize {
        self.vectors.dims()
    }

    /// The label column shown beside results.
    pub fn label_field(&self) -> &str {
        &self.label_field
    }

    /// Every item, in the catalog's order (the rows of [`Catalog::vectors`]).
    pub fn items(&self) -> &[Item] {
        &self.items
    }

    /// Item `i`.
    pub fn item(&self, i: usize) -> &Item {
        &self.items[i]
    }

    /// The embeddings, one row per item.
    pub fn vectors(&self) -> &dyn VectorIndex {
        self.vectors.as_ref()
    }

    /// Items whose stored embedding is damaged (searched as zeros: they match nothing).
    pub fn damaged(&self) -> &[usize] {
        &self.damaged
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The embedding of item `i` (dequantised in a compact catalog).
    pub fn vector(&self, i: usize) -> Cow<'_, [f32]> {
        self.vectors.row(i)
    }

    /// The absolute path of item `i`.
    pub fn abs_path(&self, i: usize) -> PathBuf {
        self.root.join(&self.items[i].path)
    }

    /// The catalog's label columns, by name (those of its first item: every item of one folder
    /// has the same columns).
    pub fn label_columns(&self) -> Vec<&str> {
        self.items
            .first()
            .map(|it| it.labels.iter().map(|(k, _)| k).collect())
            .unwrap_or_default()
    }

    /// The shown label of item `i` ("" when it has none).
    pub fn label(&self, i: usize) -> &str {
        self.items[i].labels.get(&self.label_field).unwrap_or("")
    }

    /// Every item's label in `column` (None when it has none or an empty one).
    pub fn labels_of(&self, column: &str) -> Vec<Option<&str>> {
        self.items
            .iter()
            .map(|it| it.labels.get(column).filter(|l| !l.is_empty()))
            .collect()
    }

    /// The item whose file is `path`, if it is in the catalog.
    pub fn find_path(&self, path: &Path) -> Option<usize> {
        let abs = path.canonicalize().ok()?;
        let root = self.root.canonicalize().ok()?;
        let rel = abs.strip_prefix(&root).ok()?;
        self.items.iter().position(|it| it.path == rel)
    }

    /// Every item's fingerprint for the duplicate finder, in item order (None for items indexed
    /// before fingerprints existed). Read on demand: search does not need them.
    pub fn fingerprints(&self) -> Result<Vec<Option<Fingerprint>>> {
        let by_id = self.store.fingerprints()?;
        Ok(self
            .items
            .iter()
            .map(|it| by_id.get(&it.id).copied())
            .collect())
    }

    /// Every item's colour palette for colour-aware ranking, read from the store on first use;
    /// None for a compact catalog (a million items' colours are not kept in memory) or when the
    /// store cannot give them.
    /// How strong a match of a given cosine is in this catalog (None for an index made before
    /// it was measured: indexing again measures it).
    pub fn match_strength(&self) -> Option<crate::search::strength::MatchStrength> {
        *self.strength.get_or_init(|| {
            self.store
                .stored_meta(crate::search::strength::META_KEY)
                .ok()
                .flatten()
                .and_then(|m| crate::search::strength::MatchStrength::from_meta(&m))
        })
    }

    pub fn palettes(&self) -> Option<&[Option<crate::search::colour::Palette>]> {
        if self.vectors.is_compact() {
            return None;
        }
        let all = self.palettes.get_or_init(|| match self.fingerprints() {
            Ok(prints) => prints
                .iter()
                .map(|f| {
                    f.as_ref()
                        .map(|f| crate::search::colour::Palette::new(&f.colours))
                })
                .collect(),
            Err(e) => {
                log::warn!("no colour-aware ranking: {}", crate::error::describe(&e));
                Vec::new()
            }
        });
        (all.len() == self.len()).then_some(all.as_slice())
    }

    /// The stored JPEG thumbnail of item `i`.
    pub fn thumbnail(&self, i: usize) -> Result<Option<Vec<u8>>> {
        self.store.thumbnail(self.items[i].id)
    }
}

/// The store of the catalog at `location` (what `--index` names): a shared catalog in PostgreSQL
/// for a `postgres://` URL, else an SQLite index file.
pub fn store_for(location: &Path) -> Arc<dyn CatalogStore> {
    if is_postgres_url(location) {
        PgStore::new(location)
    } else {
        SqliteStore::new(location)
    }
}

/// How a catalog records the model its embeddings were made with (its `model_variant`): an
/// embedding is comparable only with one made the same way.
pub(crate) fn model_variant(model: &str, pooling: Pooling, resize: ResizePolicy) -> String {
    format!("{model}|{}|{}", pooling.name(), resize.name())
}

/// The model to index `index_path` with: the one asked for; else the model the index was made with
/// (so an update never silently re-embeds everything); else the default model.
pub fn model_for_index(index_path: &Path, asked: Option<&str>) -> Result<ModelManifest> {
    if let Some(name) = asked {
        return find_model(name);
    }
    if let Ok(cat) = store_for(index_path).recorded_model()
        && let Ok(m) = find_model(&cat.0)
    {
        return Ok(m.with_variant(cat.1, cat.2));
    }
    crate::model::default_model()
}
