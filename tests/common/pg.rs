//! A real PostgreSQL with pgvector for the shared-catalog tests: PGlite (PostgreSQL compiled to
//! WebAssembly) behind the wire protocol, started by tests/pg/server.mjs with the npm packages
//! `./run setup` installs into .cache/pglite. `LOOKALIKE_TEST_PG` names a real server instead.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use super::project;

/// A server for one test; stopped when dropped.
pub struct PgServer {
    pub url: String,
    child: Option<Child>,
}

impl PgServer {
    /// A fresh, empty database with pgvector available.
    pub fn start() -> PgServer {
        match std::env::var("LOOKALIKE_TEST_PG") {
            Ok(url) => fresh_database(&url),
            Err(_) => Self::pglite(&[]),
        }
    }

    /// A PGlite server started with `flags` (`--no-vector`: PostgreSQL without pgvector).
    pub fn pglite(flags: &[&str]) -> PgServer {
        let dir = project().join(".cache/pglite");
        assert!(
            dir.join("node_modules/@electric-sql/pglite-socket")
                .is_dir(),
            "PGlite is missing from {}: run ./run setup (needs node and npm), or set LOOKALIKE_TEST_PG",
            dir.display()
        );
        // Node resolves the packages from the script's folder.
        std::fs::copy(
            project().join("tests/pg/server.mjs"),
            dir.join("server.mjs"),
        )
        .expect("copy server.mjs");
        let mut child = Command::new("node")
            .arg(dir.join("server.mjs"))
            .arg("memory://")
            .args(flags)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("node runs");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("the server's first line");
        let port: u16 = line
            .trim()
            .strip_prefix("ready ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("PGlite did not start: {line:?}"));
        PgServer {
            url: format!("postgres://postgres@127.0.0.1:{port}/postgres"),
            child: Some(child),
        }
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A new database on the real server at `url`, for one test.
fn fresh_database(url: &str) -> PgServer {
    let name = format!("lookalike_test_{:x}", fastrand::u64(..));
    postgres::Client::connect(url, postgres::NoTls)
        .and_then(|mut c| c.batch_execute(&format!("CREATE DATABASE {name}")))
        .unwrap_or_else(|e| panic!("cannot create a database on {url}: {e}"));
    let base = url.rsplit_once('/').map_or(url, |(base, _)| base);
    PgServer {
        url: format!("{base}/{name}"),
        child: None,
    }
}
