//! The learned head stored with the index (see [`crate::learn`]).

use rusqlite::{OptionalExtension, params};

use super::{IndexDb, db_err};
use crate::error::Result;

/// A stored head: its layout (JSON), weights, and training report (JSON).
pub struct StoredHead {
    pub layout: String,
    pub weights: Vec<u8>,
    pub report: String,
}

impl IndexDb {
    /// Store the head, replacing the one before.
    pub fn save_head(&self, head: &StoredHead) -> Result<()> {
        self.conn
            .execute(
                "INSERT INTO heads(id, layout, weights, report) VALUES(1, ?1, ?2, ?3)
                 ON CONFLICT(id) DO UPDATE SET layout = ?1, weights = ?2, report = ?3",
                params![head.layout, head.weights, head.report],
            )
            .map(drop)
            .map_err(db_err(&self.path))
    }

    pub fn load_head(&self) -> Result<Option<StoredHead>> {
        self.conn
            .query_row(
                "SELECT layout, weights, report FROM heads WHERE id = 1",
                [],
                |r| {
                    Ok(StoredHead {
                        layout: r.get(0)?,
                        weights: r.get(1)?,
                        report: r.get(2)?,
                    })
                },
            )
            .optional()
            .map_err(db_err(&self.path))
    }

    pub fn remove_head(&self) -> Result<()> {
        self.conn
            .execute("DELETE FROM heads", [])
            .map(drop)
            .map_err(db_err(&self.path))
    }
}
