//! A shared catalog's vectors left on the server, searched there by pgvector.

use std::sync::atomic::{AtomicU32, Ordering};

use super::recall::{DEFAULT_RECALL, RecallCurve};
use super::*;
use crate::search::{Hit, Keep, RemoteVectors, VectorIndex, VectorKind};

/// Items whose neighbours one statement asks for.
const NEIGHBOUR_BATCH: usize = 500;

/// A shared catalog's vectors left on the server: searched by pgvector's HNSW index, rows fetched
/// when a whole-catalog computation (the map, duplicates, learning) needs them.
pub struct ServerVectors {
    store: Arc<PgStore>,
    /// Item ids in catalog order (ascending).
    ids: Vec<i64>,
    position: HashMap<i64, usize>,
    dims: usize,
    /// recall@10 by search width, measured when the index was built.
    curve: Option<RecallCurve>,
    /// The recall searches aim at (an f32's bits).
    target: AtomicU32,
}

impl ServerVectors {
    pub(super) fn new(
        store: Arc<PgStore>,
        ids: Vec<i64>,
        dims: usize,
        curve: Option<RecallCurve>,
    ) -> Self {
        let position = ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
        ServerVectors {
            store,
            ids,
            position,
            dims,
            curve,
            target: AtomicU32::new(DEFAULT_RECALL.to_bits()),
        }
    }

    /// The search width for the recall aimed at, and the recall measured there.
    fn width(&self) -> (usize, Option<f32>) {
        let target = f32::from_bits(self.target.load(Ordering::Relaxed));
        match &self.curve {
            Some(curve) => {
                let (ef, recall) = curve.ef_for(target);
                (ef, Some(recall))
            }
            None => (EF_SEARCH, None),
        }
    }
}

impl VectorIndex for ServerVectors {
    fn dims(&self) -> usize {
        self.dims
    }

    fn len(&self) -> usize {
        self.ids.len()
    }

    fn kind(&self) -> VectorKind {
        VectorKind::Server
    }

    fn bytes(&self) -> usize {
        self.ids.len() * 8
    }

    fn rows_into(&self, start: usize, out: &mut [f32]) {
        out.fill(0.0);
        let dims = self.dims;
        let n = out.len() / dims.max(1);
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

    fn expected_recall(&self) -> Option<f32> {
        self.width().1
    }

    fn top_k(&self, query: &[f32], k: usize, keep: &Keep) -> Vec<Hit> {
        // Ask for more than k (the filter may drop some), and more again while too few pass.
        let mut fetch = (k * 4).max(MIN_FETCH);
        let (ef, _) = self.width();
        loop {
            let found = match self.store.nearest(query, fetch, fetch.max(ef)) {
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

    fn remote(&self) -> Option<&dyn RemoteVectors> {
        Some(self)
    }
}

impl RemoteVectors for ServerVectors {
    fn neighbour_pairs(&self, m: usize, floor: f32) -> Result<Vec<(usize, usize)>> {
        let dims = self.dims;
        // The measured width for the recall aimed at, as for a search (each row asks m + 1: itself).
        let (ef, _) = self.width();
        let pairs = Mutex::new(Vec::with_capacity(self.ids.len() * m));
        // Batches of rows per statement, two statements at a time on connections of their own
        // (the server does the work).
        let batches: Vec<&[i64]> = self.ids.chunks(NEIGHBOUR_BATCH).collect();
        let next = std::sync::atomic::AtomicUsize::new(0);
        let worker = || -> Result<()> {
            let store =
                PgStore::new_connected(&self.store.location, &self.store.config, &self.store.tls);
            while let Some(ids) = batches.get(next.fetch_add(1, Ordering::Relaxed)) {
                let rows = store.with_client(|c, at| {
                    let mut tx = c.transaction().map_err(pg_err(at))?;
                    tx.batch_execute(&format!(
                        "SET LOCAL hnsw.ef_search = {}; SET LOCAL enable_seqscan = off",
                        ef.max(m + 1)
                    ))
                        .map_err(pg_err(at))?;
                    let rows = tx
                        .query_typed(
                            &format!(
                                "SELECT a.id, n.id FROM items a CROSS JOIN LATERAL (
                                     SELECT b.id, b.embedding::vector({dims}) <=> a.embedding::vector({dims}) AS d
                                     FROM items b
                                     ORDER BY b.embedding::vector({dims}) <=> a.embedding::vector({dims})
                                     LIMIT $2) n
                                 WHERE a.id = ANY($1) AND n.id <> a.id AND n.d <= $3"
                            ),
                            &[
                                (&ids.to_vec(), Type::INT8_ARRAY),
                                (&(m as i64 + 1), Type::INT8),
                                (&(1.0 - f64::from(floor)), Type::FLOAT8),
                            ],
                        )
                        .map_err(pg_err(at))?;
                    tx.commit().map_err(pg_err(at))?;
                    Ok(rows)
                })?;
                let found = rows.iter().filter_map(|r| {
                    let a = *self.position.get(&r.get::<_, i64>(0))?;
                    let b = *self.position.get(&r.get::<_, i64>(1))?;
                    Some((a.min(b), a.max(b)))
                });
                pairs
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .extend(found);
            }
            Ok(())
        };
        std::thread::scope(|s| {
            let workers: Vec<_> = (0..2).map(|_| s.spawn(worker)).collect();
            workers
                .into_iter()
                .map(|w| w.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                .collect::<Result<Vec<()>>>()
        })?;
        let mut pairs = pairs.into_inner().unwrap_or_else(|e| e.into_inner());
        pairs.sort_unstable();
        pairs.dedup();
        Ok(pairs)
    }

    fn cosines(&self, pairs: &[(usize, usize)]) -> Result<Vec<f32>> {
        let dims = self.dims;
        let mut out = Vec::with_capacity(pairs.len());
        for chunk in pairs.chunks(NEIGHBOUR_BATCH * 8) {
            let a: Vec<i64> = chunk.iter().map(|p| self.ids[p.0]).collect();
            let b: Vec<i64> = chunk.iter().map(|p| self.ids[p.1]).collect();
            let rows = self.store.with_client(|c, at| {
                c.query_typed(
                    &format!(
                        "SELECT (1 - (x.embedding::vector({dims}) <=> y.embedding::vector({dims})))::real
                         FROM unnest($1::bigint[], $2::bigint[]) WITH ORDINALITY AS p(a, b, n)
                         JOIN items x ON x.id = p.a JOIN items y ON y.id = p.b
                         ORDER BY p.n"
                    ),
                    &[(&a, Type::INT8_ARRAY), (&b, Type::INT8_ARRAY)],
                )
                .map_err(pg_err(at))
            })?;
            if rows.len() != chunk.len() {
                return Err(Error::BadIndex {
                    path: self.store.location.clone(),
                    message: "items were removed while looking for duplicates; try again".into(),
                });
            }
            out.extend(rows.iter().map(|r| r.get::<_, f32>(0)));
        }
        Ok(out)
    }

    fn aim_at_recall(&self, recall: f32) {
        self.target
            .store(recall.clamp(0.0, 1.0).to_bits(), Ordering::Relaxed);
    }
}
