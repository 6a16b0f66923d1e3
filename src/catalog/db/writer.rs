//! Writes to the index inside one transaction.

use std::path::Path;

use rusqlite::params;

use super::{NewItem, db_err, f32_bytes, path_bytes};
use crate::error::Result;

/// Writes inside one transaction.
pub struct Writer<'t> {
    pub(crate) tx: &'t rusqlite::Transaction<'t>,
    pub(crate) path: &'t Path,
}

impl Writer<'_> {
    /// Insert or replace the item at `item.rel`.
    pub fn upsert(&self, item: &NewItem) -> Result<i64> {
        let id: i64 = self
            .tx
            .query_row(
                "INSERT INTO items(path, size, mtime_ns, hash, width, height, labels, embedding, fingerprint)
                 VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                 ON CONFLICT(path) DO UPDATE SET size = ?2, mtime_ns = ?3, hash = ?4, width = ?5, height = ?6,
                    labels = ?7, embedding = ?8, fingerprint = ?9
                 RETURNING id",
                params![
                    path_bytes(item.rel),
                    item.size as i64,
                    item.mtime_ns,
                    item.hash,
                    item.width,
                    item.height,
                    item.labels,
                    f32_bytes(item.embedding),
                    item.fingerprint.to_bytes()
                ],
                |r| r.get(0),
            )
            .map_err(db_err(self.path))?;
        self.tx
            .execute(
                "INSERT OR REPLACE INTO thumbs(item_id, jpeg) VALUES(?1, ?2)",
                params![id, item.thumb],
            )
            .map_err(db_err(self.path))?;
        self.tx
            .execute(
                "DELETE FROM failures WHERE path = ?1",
                [path_bytes(item.rel)],
            )
            .map_err(db_err(self.path))?;
        Ok(id)
    }

    /// Record `rel` as a copy of the already indexed item `source` (same bytes: moved or duplicated).
    pub fn copy_from(
        &self,
        source: i64,
        rel: &Path,
        size: u64,
        mtime_ns: i64,
        labels: &str,
    ) -> Result<i64> {
        let id: i64 = self
            .tx
            .query_row(
                "INSERT INTO items(path, size, mtime_ns, hash, width, height, labels, embedding, fingerprint)
                 SELECT ?1, ?2, ?3, hash, width, height, ?4, embedding, fingerprint FROM items WHERE id = ?5
                 ON CONFLICT(path) DO UPDATE SET size = excluded.size, mtime_ns = excluded.mtime_ns,
                    hash = excluded.hash, width = excluded.width, height = excluded.height,
                    labels = excluded.labels, embedding = excluded.embedding,
                    fingerprint = excluded.fingerprint
                 RETURNING id",
                params![path_bytes(rel), size as i64, mtime_ns, labels, source],
                |r| r.get(0),
            )
            .map_err(db_err(self.path))?;
        self.tx
            .execute(
                "INSERT OR REPLACE INTO thumbs(item_id, jpeg) SELECT ?1, jpeg FROM thumbs WHERE item_id = ?2",
                params![id, source],
            )
            .map_err(db_err(self.path))?;
        Ok(id)
    }

    pub fn set_labels(&self, id: i64, labels: &str) -> Result<()> {
        self.tx
            .execute(
                "UPDATE items SET labels = ?1 WHERE id = ?2",
                params![labels, id],
            )
            .map(|_| ())
            .map_err(db_err(self.path))
    }

    pub fn remove(&self, id: i64) -> Result<()> {
        self.tx
            .execute("DELETE FROM items WHERE id = ?1", [id])
            .map_err(db_err(self.path))?;
        self.tx
            .execute("DELETE FROM thumbs WHERE item_id = ?1", [id])
            .and_then(|_| {
                self.tx
                    .execute("DELETE FROM layout_points WHERE item_id = ?1", [id])
            })
            .map(|_| ())
            .map_err(db_err(self.path))
    }

    pub fn record_failure(&self, rel: &Path, reason: &str) -> Result<()> {
        self.tx
            .execute(
                "INSERT OR REPLACE INTO failures(path, reason) VALUES(?1, ?2)",
                params![path_bytes(rel), reason],
            )
            .map(|_| ())
            .map_err(db_err(self.path))
    }

    pub fn clear_failures(&self) -> Result<()> {
        self.tx
            .execute("DELETE FROM failures", [])
            .map(|_| ())
            .map_err(db_err(self.path))
    }
}
