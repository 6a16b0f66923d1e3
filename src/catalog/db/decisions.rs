//! The duplicate finder's decisions kept with the index: pairs of photos the user said are not
//! duplicates, by content hash, so they survive re-indexing, renames and moves.

use rusqlite::params;

use super::{IndexDb, db_err};
use crate::catalog::NotDuplicates;
use crate::error::Result;

const TABLE: &str = "CREATE TABLE IF NOT EXISTS not_duplicates(
    a BLOB NOT NULL, b BLOB NOT NULL,  -- content hashes, a <= b
    decided INTEGER NOT NULL,          -- seconds since 1970
    PRIMARY KEY(a, b))";

impl IndexDb {
    /// Every pair decided not to be duplicates, oldest decision first (none in an index from before
    /// decisions existed).
    pub fn not_duplicates(&self) -> Result<Vec<NotDuplicates>> {
        let exists: bool = self
            .conn
            .query_row(
                "SELECT count(*) > 0 FROM sqlite_master WHERE name = 'not_duplicates'",
                [],
                |r| r.get(0),
            )
            .map_err(db_err(&self.path))?;
        if !exists {
            return Ok(Vec::new());
        }
        let mut stmt = self
            .conn
            .prepare("SELECT a, b, decided FROM not_duplicates ORDER BY decided, a, b")
            .map_err(db_err(&self.path))?;
        stmt.query_map([], |r| {
            Ok(NotDuplicates {
                a: r.get(0)?,
                b: r.get(1)?,
                decided: r.get(2)?,
            })
        })
        .and_then(|rows| rows.collect())
        .map_err(db_err(&self.path))
    }

    /// Record that each pair is not duplicates (`apart`), or forget that decision.
    pub fn set_not_duplicates(
        &mut self,
        pairs: &[(Vec<u8>, Vec<u8>)],
        apart: bool,
        now: i64,
    ) -> Result<()> {
        let tx = self.conn.transaction().map_err(db_err(&self.path))?;
        tx.execute_batch(TABLE).map_err(db_err(&self.path))?;
        for (a, b) in pairs {
            let (a, b) = if a <= b { (a, b) } else { (b, a) };
            if apart {
                tx.execute(
                    "INSERT INTO not_duplicates(a, b, decided) VALUES(?1, ?2, ?3)
                     ON CONFLICT(a, b) DO UPDATE SET decided = ?3",
                    params![a, b, now],
                )
            } else {
                tx.execute(
                    "DELETE FROM not_duplicates WHERE a = ?1 AND b = ?2",
                    params![a, b],
                )
            }
            .map_err(db_err(&self.path))?;
        }
        tx.commit().map_err(db_err(&self.path))
    }
}
