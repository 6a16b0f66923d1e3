//! Fingerprints of the items for the duplicate finder, read on demand (search does not need them).

use std::collections::HashMap;

use super::{IndexDb, db_err};
use crate::embed::fingerprint::Fingerprint;
use crate::error::Result;

impl IndexDb {
    /// The fingerprints of the items that have one, by item id.
    pub fn fingerprints(&self) -> Result<HashMap<i64, Fingerprint>> {
        let mut stmt = self
            .conn
            .prepare("SELECT id, fingerprint FROM items WHERE fingerprint IS NOT NULL")
            .map_err(db_err(&self.path))?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?)))
            .map_err(db_err(&self.path))?;
        let mut out = HashMap::new();
        for row in rows {
            let (id, blob) = row.map_err(db_err(&self.path))?;
            if let Some(f) = Fingerprint::from_bytes(&blob) {
                out.insert(id, f);
            }
        }
        Ok(out)
    }
}
