//! Indexing into a shared catalog: its own connection, and each batch's writes in one transaction,
//! upserts sent in one statement.

use super::*;

/// An indexing run's own connection to a shared catalog.
pub(super) struct PgWriter {
    pub(super) client: Client,
    pub(super) location: PathBuf,
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
                "TRUNCATE items, thumbs, map_points, layout_points; {DROP_VECTOR_INDEXES}"
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
                        labels: canonical_json(r.get(4)),
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
        // ef_construction 128 (pgvector's default is 64): a better graph, for a higher recall at
        // the same search width (tests/bench/README.md).
        self.client
            .batch_execute(&format!(
                "SET maintenance_work_mem = '512MB';
                 CREATE INDEX IF NOT EXISTS items_embedding_cos_{dims} ON items
                 USING hnsw ((embedding::vector({dims})) vector_cosine_ops)
                 WITH (m = 16, ef_construction = {EF_CONSTRUCTION});
                 RESET maintenance_work_mem;"
            ))
            .map_err(pg_err(&self.location))?;
        recall::measure_if_stale(&mut self.client, &self.location).map(drop)
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

/// JSONB as text (its own key order and spacing) in serde_json's compact form with sorted keys: the
/// form the indexer writes labels in, so unchanged labels compare equal.
fn canonical_json(jsonb: &str) -> String {
    serde_json::from_str::<serde_json::Value>(jsonb)
        .map(|v| v.to_string())
        .unwrap_or_else(|_| jsonb.to_string())
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
