//! How a catalog keeps its embeddings in memory (a [`crate::search::VectorIndex`]). Ordinary
//! catalogs keep them as f32 rows and search them exactly. Very large ones (a million photos would
//! need 5 GB of f32) keep int8 rows with a two-stage index instead, in a file beside the index
//! that is mapped into memory when the catalog opens rather than read from a million SQLite rows.
//!
//! The file (`<index>.vectors`) is a cache: it names the index it was made from (its random id) and
//! the version of its items, ends with a CRC-32 of everything before, and is rebuilt from the f32
//! embeddings in SQLite whenever either differs or it is damaged.

use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use super::db::IndexDb;
use crate::error::{Error, Result, io_err};
use crate::search::compact::{Int8Rows, MappedFile, TwoStage, read_u64};

/// Catalogs with at least this many items are kept compact when nothing else is asked for: below
/// it, f32 rows take under 1.3 GB (at 1280 dims) and exact search stays under 50 ms.
pub const COMPACT_FROM: usize = 250_000;
/// Dimensions of the two-stage index's pre-filter.
const REDUCED_DIMS: usize = 128;
/// Rows its principal axes are fitted on.
const AXES_SAMPLE: usize = 5_000;
/// Pre-filter candidates re-ranked with the full int8 rows (recall@10 0.997 at a million items).
const CANDIDATES: usize = 2_000;
/// Rows read from SQLite and quantised at a time while building the compact rows.
const BLOCK: usize = 8_192;
const MAGIC: &[u8; 8] = b"LKVECT03";

/// What a vectors file was made from: the index's random id and its items version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Made {
    pub index_id: u128,
    pub version: u64,
}

/// A writer that keeps a CRC-32 of the bytes through it.
struct Checked<T> {
    inner: T,
    crc: crc32fast::Hasher,
}

impl<T> Checked<T> {
    fn new(inner: T) -> Self {
        Checked {
            inner,
            crc: crc32fast::Hasher::new(),
        }
    }
}

impl<W: Write> Write for Checked<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.crc.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// How to keep a catalog's embeddings in memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Storage {
    /// f32 below [`COMPACT_FROM`] items, compact from there.
    Auto,
    /// f32 rows, exact search.
    Full,
    /// int8 rows and the two-stage index.
    Compact,
    /// Left on the server, which searches them (a shared catalog's pgvector index); a local index
    /// keeps them as for `Auto`.
    Server,
}

impl Storage {
    /// `$LOOKALIKE_VECTORS`: `f32`, `int8`, or anything else for automatic.
    pub fn from_env() -> Self {
        match std::env::var("LOOKALIKE_VECTORS").as_deref() {
            Ok("f32") => Storage::Full,
            Ok("int8") => Storage::Compact,
            Ok("server") => Storage::Server,
            _ => Storage::Auto,
        }
    }

    pub(crate) fn is_compact(self, items: usize) -> bool {
        match self {
            Storage::Auto | Storage::Server => items >= COMPACT_FROM,
            Storage::Full => false,
            Storage::Compact => true,
        }
    }
}

/// The file beside `index` that holds its compact vectors.
pub fn sidecar_path(index: &Path) -> PathBuf {
    let mut name = index.as_os_str().to_owned();
    name.push(".vectors");
    PathBuf::from(name)
}

/// The compact vectors of the items `ids` (in this order) of `db`, as `made` (none for an older
/// index opened read-only), built from the f32 embeddings and saved beside the index for the next open.
pub(crate) fn build_compact(
    db: &IndexDb,
    ids: &[i64],
    dims: usize,
    made: Option<Made>,
) -> Result<TwoStage> {
    let file = sidecar_path(&db.path);
    let mut rows = Int8Rows::empty(dims);
    db.embedding_blocks(dims, BLOCK, |block| rows.extend_from(block))?;
    if rows.len() != ids.len() {
        return Err(Error::BadIndex {
            path: db.path.clone(),
            message: format!(
                "{} embeddings for {} items; index the folder again",
                rows.len(),
                ids.len()
            ),
        });
    }
    let two = compact_from_rows(rows);
    // A folder we cannot write to still gets a working catalog, only a slower next open.
    if let Some(made) = made
        && let Some(_writing) = super::db::try_lock_for_writing(&db.path)
        && let Err(e) = write_sidecar(&file, made, ids, &two)
    {
        log::warn!("could not save {}: {e}", file.display());
    }
    Ok(two)
}

/// The two-stage index over int8 `rows`.
pub(crate) fn compact_from_rows(rows: Int8Rows) -> TwoStage {
    // No larger than the shortlist: every row is re-ranked anyway, so no pre-filter.
    let reduced = if rows.len() > CANDIDATES {
        REDUCED_DIMS.min(rows.dims())
    } else {
        0
    };
    TwoStage::build(rows, reduced, AXES_SAMPLE, CANDIDATES)
}

/// The item ids and compact vectors saved in `file`, if it was made as `made` and is whole (its
/// length and checksum agree). The file is mapped, not read: its rows stay in the page cache and
/// come into memory as searches touch them.
pub(crate) fn read_sidecar(file: &Path, made: Made) -> Option<(Vec<i64>, TwoStage)> {
    let f = std::fs::File::open(file).ok()?;
    // SAFETY: the file is a cache of ours that is never changed in place: it is written whole
    // beside the index and renamed over the old one, which stays intact for existing maps.
    let map = unsafe { memmap2::MmapOptions::new().map(&f) }.ok()?;
    let len = map.len().checked_sub(4)?;
    if !checksum_matches(&map, len) {
        return None;
    }
    let mut r = &map[..len];
    let mut magic = [0u8; 8];
    r.read_exact(&mut magic).ok()?;
    let mut id = [0u8; 16];
    r.read_exact(&mut id).ok()?;
    if &magic != MAGIC
        || u128::from_le_bytes(id) != made.index_id
        || read_u64(&mut r).ok()? != made.version
    {
        return None;
    }
    let n = read_u64(&mut r).ok()? as usize;
    let head = 8usize.checked_mul(n)?.checked_add(40)?;
    if head > len {
        return None;
    }
    let mut ids = vec![0i64; n];
    r.read_exact(bytemuck::cast_slice_mut(&mut ids)).ok()?;
    let mut rows = MappedFile::new(std::sync::Arc::new(map), head);
    let two = TwoStage::read_mapped(&mut rows, (len - head) as u64).ok()?;
    (two.full.len() == n && rows.position() == len).then_some((ids, two))
}

/// Whether the map's last 4 bytes (little endian) are the CRC-32 of the `len` before them,
/// computed in parallel. Each stretch checked is given back to the page cache at once (the file
/// is read whole here, and most of it is touched again only as searches need it), so the check
/// does not bring the whole file into the process at the same time.
fn checksum_matches(map: &memmap2::Mmap, len: usize) -> bool {
    use rayon::prelude::*;
    const CHUNK: usize = 64 << 20;
    let crc = (0..len.div_ceil(CHUNK))
        .into_par_iter()
        .map(|c| {
            let (start, end) = (c * CHUNK, ((c + 1) * CHUNK).min(len));
            let mut h = crc32fast::Hasher::new();
            h.update(&map[start..end]);
            // SAFETY: the mapping is read-only and shared, of a file never changed in place (see
            // `read_sidecar`): a page given back is read again, unchanged, when next touched. CHUNK
            // is a multiple of the page size, so `start` is page-aligned.
            #[cfg(unix)]
            let _ = unsafe {
                map.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, start, end - start)
            };
            h
        })
        .reduce_with(|mut a, b| {
            a.combine(&b);
            a
        })
        .unwrap_or_default()
        .finalize();
    map[len..] == crc.to_le_bytes()
}

fn write_sidecar(file: &Path, made: Made, ids: &[i64], two: &TwoStage) -> Result<()> {
    let mut tmp = file.as_os_str().to_owned();
    tmp.push(".part");
    let tmp = PathBuf::from(tmp);
    let write = || -> std::io::Result<()> {
        let mut w = Checked::new(BufWriter::with_capacity(
            1 << 20,
            std::fs::File::create(&tmp)?,
        ));
        w.write_all(MAGIC)?;
        w.write_all(&made.index_id.to_le_bytes())?;
        w.write_all(&made.version.to_le_bytes())?;
        w.write_all(&(ids.len() as u64).to_le_bytes())?;
        w.write_all(bytemuck::cast_slice(ids))?;
        two.write_to(&mut w)?;
        let crc = w.crc.finalize();
        let mut out = w.inner;
        out.write_all(&crc.to_le_bytes())?;
        out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        std::fs::rename(&tmp, file)
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        io_err(file)(e)
    })
}
