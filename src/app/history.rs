//! Earlier queries: Back (Alt+Left) returns to the one before, with its photo and its region, and
//! Forward (Alt+Right) to the one Back left (the queries are kept by the query panel,
//! [`super::query_panel::QueryPanel`]).

use super::{LookalikeApp, QueryInput};

impl LookalikeApp {
    /// Keep the current query (with the region searched in it) to come back to; a new query ends
    /// the queries Forward could go to.
    pub(super) fn remember_query(&mut self) {
        self.query.remember();
    }

    /// Show the query before this one again: its photo, its region, its look-alikes.
    pub(super) fn go_back(&mut self) {
        if let Some((regions, own)) = self.query.back() {
            self.run_query(QueryInput::Again(regions, own));
        }
    }

    /// Show the query Back left again.
    pub(super) fn go_forward(&mut self) {
        if let Some((regions, own)) = self.query.forward() {
            self.run_query(QueryInput::Again(regions, own));
        }
    }
}
