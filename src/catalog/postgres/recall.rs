//! How wide pgvector's HNSW search must look for a given recall, measured on the catalog itself
//! when its index is built: a search then asks for a recall (0.95 unless told), not for a knob
//! whose right value depends on the catalog's size and spread.

use super::*;

/// `hnsw.ef_search` values measured, in rising order (pgvector allows up to 1000).
const EF_STEPS: [usize; 6] = [40, 100, 200, 400, 700, 1000];
/// Probe queries per measurement: half are catalog items (their own row left out of the answer,
/// as a new photo of a catalogued product), half lie halfway between two random items.
const PROBES: usize = 48;
/// Results compared per probe.
const K: usize = 10;
/// A curve is measured again once the catalog's size has moved by more than this share.
const STALE_SHARE: f64 = 0.1;

/// The recall a search aims at unless told otherwise (`query --recall`).
pub const DEFAULT_RECALL: f32 = 0.95;

/// recall@10 against exact search at each measured `hnsw.ef_search`, for a catalog of `items`.
#[derive(Debug, Clone, PartialEq)]
pub struct RecallCurve {
    pub items: usize,
    pub points: Vec<(usize, f32)>,
}

impl RecallCurve {
    /// The meta key it is kept under.
    pub const KEY: &'static str = "search_recall";

    /// Parse `items=N ef:recall ef:recall ...` (what [`fmt::Display`] writes).
    pub fn parse(text: &str) -> Option<Self> {
        let mut words = text.split_whitespace();
        let items = words.next()?.strip_prefix("items=")?.parse().ok()?;
        let points = words
            .map(|w| {
                let (ef, r) = w.split_once(':')?;
                Some((ef.parse().ok()?, r.parse().ok()?))
            })
            .collect::<Option<Vec<(usize, f32)>>>()?;
        (!points.is_empty()).then_some(RecallCurve { items, points })
    }

    /// The smallest measured `ef_search` that reached `recall`, and the recall measured there;
    /// the best measured when none did.
    pub fn ef_for(&self, recall: f32) -> (usize, f32) {
        self.points
            .iter()
            .copied()
            .find(|&(_, r)| r >= recall)
            .or_else(|| {
                self.points
                    .iter()
                    .copied()
                    .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)))
            })
            .unwrap_or((EF_SEARCH, 0.0))
    }

    fn is_current(&self, items: usize) -> bool {
        let moved = (items as f64 - self.items as f64).abs();
        moved <= STALE_SHARE * self.items.max(1) as f64
    }
}

impl fmt::Display for RecallCurve {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "items={}", self.items)?;
        for (ef, r) in &self.points {
            write!(f, " {ef}:{r:.3}")?;
        }
        Ok(())
    }
}

/// The `k` items nearest to `query` by cosine, as (item id, similarity), best first: through the
/// HNSW index looking at `ef_search` candidates, or exactly (every row) when it is `None`.
pub(super) fn search(
    c: &mut Client,
    at: &Path,
    query: &[f32],
    k: usize,
    ef_search: Option<usize>,
) -> Result<Vec<(i64, f32)>> {
    let dims = query.len();
    let mut tx = c.transaction().map_err(pg_err(at))?;
    // A wide search must still go through the index: pgvector 0.8 prices a scan by ef_search, so
    // from about 700 the planner would rather read every row (1.6 s at 100,000 items on PGlite).
    let settings = match ef_search.map(|ef| ef.clamp(1, 1000)) {
        // Past ef_search rows the index goes on scanning (pgvector 0.8's iterative scans).
        Some(ef) => format!(
            "SET LOCAL hnsw.ef_search = {ef}; SET LOCAL enable_seqscan = off{}",
            if k > ef {
                "; SET LOCAL hnsw.iterative_scan = strict_order"
            } else {
                ""
            }
        ),
        None => "SET LOCAL enable_indexscan = off; SET LOCAL enable_bitmapscan = off".into(),
    };
    tx.batch_execute(&settings).map_err(pg_err(at))?;
    let rows = tx
        .query_typed(
            &format!(
                "SELECT id, (embedding::vector({dims}) <=> $1::real[]::vector({dims}))::real
                 FROM items ORDER BY embedding::vector({dims}) <=> $1::real[]::vector({dims})
                 LIMIT $2"
            ),
            &[(&query, Type::FLOAT4_ARRAY), (&(k as i64), Type::INT8)],
        )
        .map_err(pg_err(at))?;
    tx.commit().map_err(pg_err(at))?;
    Ok(rows
        .iter()
        .map(|r| (r.get::<_, i64>(0), 1.0 - r.get::<_, f32>(1)))
        .collect())
}

/// The catalog's recall curve, measured again when it has none or its size has moved; `None`
/// when the catalog is too small to measure (it is then searched in memory anyway).
pub(super) fn measure_if_stale(c: &mut Client, at: &Path) -> Result<Option<RecallCurve>> {
    let items = c
        .query_typed_one("SELECT count(*) FROM items", &[])
        .map_err(pg_err(at))?
        .get::<_, i64>(0) as usize;
    if items <= K + 1 {
        return Ok(None);
    }
    if let Some(curve) =
        PgStore::meta(c, at, RecallCurve::KEY)?.and_then(|t| RecallCurve::parse(&t))
        && curve.is_current(items)
    {
        return Ok(Some(curve));
    }
    let curve = measure(c, at, items)?;
    log::info!(
        "search on {}: recall@10 by hnsw.ef_search: {curve}",
        at.display()
    );
    set_meta(c, at, RecallCurve::KEY, &curve.to_string())?;
    Ok(Some(curve))
}

fn measure(c: &mut Client, at: &Path, items: usize) -> Result<RecallCurve> {
    // Random items, the same ones each time for the same catalog (a seeded random order).
    let mut tx = c.transaction().map_err(pg_err(at))?;
    tx.batch_execute("SELECT setseed(0.42)")
        .map_err(pg_err(at))?;
    let rows = tx
        .query_typed(
            "SELECT id, embedding::real[] FROM items ORDER BY random() LIMIT $1",
            &[(&(PROBES as i64 * 3 / 2), Type::INT8)],
        )
        .map_err(pg_err(at))?;
    tx.commit().map_err(pg_err(at))?;
    let sample: Vec<(i64, Vec<f32>)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    let half = sample.len() * 2 / 3;
    let mut probes: Vec<(Option<i64>, Vec<f32>)> = sample[..half / 2]
        .iter()
        .map(|(id, v)| (Some(*id), v.clone()))
        .collect();
    for (a, b) in sample[half / 2..half].iter().zip(&sample[half..]) {
        let mut mid: Vec<f32> = a.1.iter().zip(&b.1).map(|(x, y)| x + y).collect();
        crate::embed::l2_normalize(&mut mid);
        probes.push((None, mid));
    }
    // What each probe should find: its exact nearest items, its own row left out.
    let answer = |found: Vec<(i64, f32)>, own: Option<i64>| -> Vec<i64> {
        found
            .into_iter()
            .map(|(id, _)| id)
            .filter(|id| Some(*id) != own)
            .take(K)
            .collect()
    };
    let mut exact = Vec::with_capacity(probes.len());
    for (own, q) in &probes {
        exact.push(answer(search(c, at, q, K + 1, None)?, *own));
    }
    let mut points = Vec::new();
    for ef in EF_STEPS {
        let mut found = 0usize;
        let mut wanted = 0usize;
        for ((own, q), truth) in probes.iter().zip(&exact) {
            let got = answer(search(c, at, q, K + 1, Some(ef))?, *own);
            found += got.iter().filter(|id| truth.contains(id)).count();
            wanted += truth.len();
        }
        let recall = found as f32 / wanted.max(1) as f32;
        points.push((ef, recall));
        // Wider searches cannot do better than all of it.
        if recall >= 0.999 {
            break;
        }
    }
    Ok(RecallCurve { items, points })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn curves_round_trip_and_pick_the_smallest_ef_that_reaches_the_recall() {
        let curve = RecallCurve {
            items: 100_000,
            points: vec![(40, 0.91), (100, 0.94), (200, 0.96), (400, 0.98)],
        };
        let back = RecallCurve::parse(&curve.to_string()).expect("parses");
        assert_eq!(back.items, 100_000);
        assert_eq!(back.ef_for(0.95), (200, 0.96));
        assert_eq!(back.ef_for(0.9), (40, 0.91));
        // Out of reach: the best measured.
        assert_eq!(back.ef_for(0.995), (400, 0.98));
        assert!(back.is_current(105_000) && !back.is_current(120_000));
        assert_eq!(RecallCurve::parse("40:0.9"), None);
        assert_eq!(RecallCurve::parse("items=5"), None);
    }
}
