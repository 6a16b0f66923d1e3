//! The catalog: a folder of photos, its index in SQLite, and the in-memory view used for search.

mod copy;
mod db;
mod indexer;
mod labels;
mod lookup;
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
pub use indexer::{IndexOptions, IndexReport, Progress, index_folder};
pub use labels::{LabelInterner, LabelSource, Labels, load_labels};
pub use lookup::{LearnedHead, Lookup, LookupOptions, Prediction};
pub use postgres::{DEFAULT_RECALL, PgStore, RecallCurve, is_postgres_url};
pub use scan::{ScannedFile, is_photo_name, physical_file, scan_folder};
pub use store::{CatalogStore, CatalogWriter, ItemWriter, SqliteStore, WriteGuard};
pub use vectors::{COMPACT_FROM, RemoteVectors, Storage, Vectors, sidecar_path};

use rayon::prelude::*;

use crate::embed::fingerprint::Fingerprint;
use crate::error::Result;
use crate::map::MapProjection;
use crate::model::{ModelManifest, Pooling, ResizePolicy, find_model};

/// Catalogs larger than this have their map plane fitted on this many evenly spaced items.
pub const MAP_FIT_ROWS: usize = 50_000;

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

/// An opened index: items and their embeddings as one row-major matrix, ready for search.
pub struct Catalog {
    /// Where the catalog is kept: thumbnails, fingerprints, the map and the head are read and saved there.
    pub store: Arc<dyn CatalogStore>,
    pub index_path: PathBuf,
    pub root: PathBuf,
    /// Name of the model that made the embeddings.
    pub model: String,
    pub dims: usize,
    /// Pooling and resize policy the embeddings were made with (queries must use the same).
    pub pooling: Pooling,
    pub resize: ResizePolicy,
    /// The label field shown beside results.
    pub label_field: String,
    pub items: Vec<Item>,
    /// `items.len() x dims` unit vectors: f32, or int8 for very large catalogs (see [`Storage`]).
    pub embeddings: Vectors,
    /// 2-D map coordinates (PCA) of each item; empty until computed.
    pub map: Vec<[f32; 2]>,
    /// The plane of the map, to place query photos on it.
    pub projection: Option<MapProjection>,
    /// The head learned from the catalog's labels, when one was trained for these embeddings.
    pub head: Option<Arc<dyn LearnedHead>>,
    /// `items.len() x head.proj_dims()` unit vectors in the head's style space; None without a head.
    pub style: Option<Vectors>,
    /// Items whose stored embedding is damaged (not finite or not of unit length): kept as zeros,
    /// which match nothing, until the next `index` embeds them again.
    pub damaged: Vec<usize>,
    /// Each item's colours for colour-aware ranking, read on first use (see [`Catalog::palettes`]).
    pub(crate) palettes: std::sync::OnceLock<Vec<Option<crate::search::colour::Palette>>>,
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
        let catalog = if storage.is_compact(db.count()?) {
            // The items from SQLite and the vectors from their file, read side by side.
            let version = db.items_version()?;
            let made = db
                .index_id()?
                .map(|index_id| vectors::Made { index_id, version });
            let file = sidecar_path(index_path);
            let (catalog, stored) = std::thread::scope(|s| {
                let stored = s.spawn(|| made.and_then(|m| vectors::read_sidecar(&file, m)));
                (db.load_catalog(false), stored.join().ok().flatten())
            });
            let mut catalog = catalog?;
            let ids: Vec<i64> = catalog.items.iter().map(|it| it.id).collect();
            let vectors = match stored {
                Some((stored_ids, two)) if stored_ids == ids && two.full.dims() == catalog.dims => {
                    two
                }
                _ => vectors::build_compact(db, &ids, catalog.dims, made)?,
            };
            catalog.embeddings = Vectors::Compact(vectors);
            catalog
        } else {
            db.load_catalog(true)?
        };
        Ok(catalog)
    }

    /// Use `head` for predictions and style-aware search.
    pub fn set_head(&mut self, head: Arc<dyn LearnedHead>) {
        self.style = Some(match &self.embeddings {
            Vectors::Full { data, .. } => Vectors::Full {
                dims: head.proj_dims(),
                data: head.style_all(data),
            },
            compact => {
                let mut rows = crate::search::compact::Int8Rows::empty(head.proj_dims());
                compact.for_each_block(|block| rows.extend_from(&head.style_all(block)));
                Vectors::Int8(rows)
            }
        });
        self.head = Some(head);
    }

    /// The model that made this index, set up exactly as it was (pooling, resize), to embed queries.
    pub fn query_model(&self) -> Result<ModelManifest> {
        Ok(find_model(&self.model)?.with_variant(self.pooling, self.resize))
    }

    /// Compute the 2-D map of the whole catalog and store it in the index. The plane is fitted on
    /// every item, or on an even sample of [`MAP_FIT_ROWS`] of a larger catalog.
    pub fn compute_map(&mut self) -> Result<()> {
        let n = self.len();
        let projection = if n <= MAP_FIT_ROWS {
            crate::map::pca_2d(&self.embeddings.to_f32(), self.dims)
        } else {
            let sample: Vec<f32> = (0..MAP_FIT_ROWS)
                .flat_map(|j| self.embeddings.row(j * n / MAP_FIT_ROWS).into_owned())
                .collect();
            crate::map::pca_2d(&sample, self.dims)
        };
        self.map = (0..n)
            .into_par_iter()
            .map_init(
                || vec![0.0f32; self.dims],
                |row, i| {
                    self.embeddings.row_into(i, row);
                    projection.project(row)
                },
            )
            .collect();
        let points: Vec<(i64, [f32; 2])> = self
            .items
            .iter()
            .zip(&self.map)
            .map(|(it, p)| (it.id, *p))
            .collect();
        self.store.save_map(&projection, &points)?;
        self.projection = Some(projection);
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The embedding of item `i` (dequantised in a compact catalog).
    pub fn vector(&self, i: usize) -> Cow<'_, [f32]> {
        self.embeddings.row(i)
    }

    /// The absolute path of item `i`.
    pub fn abs_path(&self, i: usize) -> PathBuf {
        self.root.join(&self.items[i].path)
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
    pub fn palettes(&self) -> Option<&[Option<crate::search::colour::Palette>]> {
        if self.embeddings.is_compact() {
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
