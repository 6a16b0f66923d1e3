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

/// A system PostgreSQL (Debian's `postgresql` package: no pgvector), started by this test in a
/// folder of its own: a password-checked user (`lookalike`, password [`SYSTEM_PASSWORD`]) and,
/// with `tls`, a self-signed certificate for 127.0.0.1 and connections logged (to see TLS in use).
pub struct SystemServer {
    /// `postgres://lookalike@127.0.0.1:PORT/postgres`, without the password.
    pub url: String,
    pub port: u16,
    /// The server's certificate (PEM), when started with TLS.
    pub cert: Option<std::path::PathBuf>,
    dir: tempfile::TempDir,
    bin: std::path::PathBuf,
}

pub const SYSTEM_PASSWORD: &str = "correct horse";

impl SystemServer {
    pub fn start(tls: bool) -> SystemServer {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .ok()
            .and_then(|d| {
                d.flatten()
                    .map(|e| e.path().join("bin"))
                    .find(|b| b.join("initdb").exists())
            })
            .expect("PostgreSQL is not installed: apt-get install postgresql (.ci/run does)");
        let dir = tempfile::tempdir().expect("temp dir");
        let data = dir.path().join("data");
        std::fs::write(dir.path().join("pw"), SYSTEM_PASSWORD).expect("pw");
        let cert = tls.then(|| {
            let (crt, key) = (dir.path().join("server.crt"), dir.path().join("server.key"));
            let ok = Command::new("openssl")
                .args([
                    "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                ])
                .args([
                    "-subj",
                    "/CN=127.0.0.1",
                    "-addext",
                    "subjectAltName=IP:127.0.0.1",
                ])
                .arg("-keyout")
                .arg(&key)
                .arg("-out")
                .arg(&crt)
                .stderr(Stdio::null())
                .status()
                .expect("openssl runs");
            assert!(ok.success(), "openssl req failed");
            crt
        });
        // PostgreSQL refuses to run as root: as root, the server runs as the package's user.
        let root = running_as_root();
        if root {
            chown_postgres(dir.path());
        }
        let run = |program: &str| {
            let mut c = if root {
                let mut c = Command::new("runuser");
                c.args(["-u", "postgres", "--"]).arg(bin.join(program));
                c
            } else {
                Command::new(bin.join(program))
            };
            c.stdout(Stdio::null());
            c
        };
        let ok = run("initdb")
            .arg("-D")
            .arg(&data)
            .args([
                "-U",
                "lookalike",
                "--auth=scram-sha-256",
                "--no-sync",
                "-E",
                "UTF8",
            ])
            .arg(format!("--pwfile={}", dir.path().join("pw").display()))
            .status()
            .expect("initdb runs");
        assert!(ok.success(), "initdb failed");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c log_connections=on",
            dir.path().display()
        );
        if let Some(crt) = &cert {
            options += &format!(
                " -c ssl=on -c ssl_cert_file={} -c ssl_key_file={}",
                crt.display(),
                dir.path().join("server.key").display()
            );
        }
        let ok = run("pg_ctl")
            .arg("-D")
            .arg(&data)
            .args(["-o", &options, "-w", "-l"])
            .arg(dir.path().join("log"))
            .arg("start")
            .status()
            .expect("pg_ctl runs");
        assert!(
            ok.success(),
            "the server did not start: {}",
            std::fs::read_to_string(dir.path().join("log")).unwrap_or_default()
        );
        SystemServer {
            url: format!("postgres://lookalike@127.0.0.1:{port}/postgres"),
            port,
            cert,
            dir,
            bin,
        }
    }

    /// What the server logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("log")).unwrap_or_default()
    }
}

impl Drop for SystemServer {
    fn drop(&mut self) {
        let mut c = if running_as_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"])
                .arg(self.bin.join("pg_ctl"));
            c
        } else {
            Command::new(self.bin.join("pg_ctl"))
        };
        let _ = c
            .arg("-D")
            .arg(self.dir.path().join("data"))
            .args(["-m", "immediate", "stop"])
            .stdout(Stdio::null())
            .status();
    }
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

fn chown_postgres(dir: &std::path::Path) {
    let ok = Command::new("chown")
        .args(["-R", "postgres:postgres"])
        .arg(dir)
        .status()
        .expect("chown runs");
    assert!(ok.success(), "chown failed");
}
