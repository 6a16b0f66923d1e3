//! A shared catalog's vectors left on the server, searched there by pgvector.

use super::*;
use crate::search::Hit;

/// A shared catalog's vectors left on the server: searched by pgvector's HNSW index, rows fetched
/// when a whole-catalog computation (the map, duplicates, learning) needs them.
pub struct ServerVectors {
    store: Arc<PgStore>,
    /// Item ids in catalog order (ascending).
    ids: Vec<i64>,
    position: HashMap<i64, usize>,
    dims: usize,
}

impl ServerVectors {
    pub(super) fn new(store: Arc<PgStore>, ids: Vec<i64>, dims: usize) -> Self {
        let position = ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
        ServerVectors {
            store,
            ids,
            position,
            dims,
        }
    }
}

impl RemoteVectors for ServerVectors {
    fn dims(&self) -> usize {
        self.dims
    }

    fn len(&self) -> usize {
        self.ids.len()
    }

    fn rows_into(&self, start: usize, n: usize, out: &mut [f32]) {
        out.fill(0.0);
        let dims = self.dims;
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

    fn top_k(&self, query: &[f32], k: usize, keep: &(dyn Fn(usize) -> bool + Sync)) -> Vec<Hit> {
        // Ask for more than k (the filter may drop some), and more again while too few pass.
        let mut fetch = (k * 4).max(MIN_FETCH);
        loop {
            let found = match self.store.nearest(query, fetch, fetch.max(EF_SEARCH)) {
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
}
