//! A shared catalog in a real PostgreSQL with pgvector (PGlite over the wire protocol, or the server
//! in LOOKALIKE_TEST_PG): indexing, queries, copying, several indexers at once, clear errors.

mod common;

use std::path::{Path, PathBuf};

use common::pg::{PgServer, SYSTEM_PASSWORD, SystemServer};
use common::{copy_photos, demo_photos, fails_with, json_output, lookalike, write_demo_labels};
use lookalike::catalog::{PgStore, Storage, store_for};

/// `n` demo photos with their labels in `dir`/catalog.
fn labelled_catalog(dir: &Path, n: usize) -> (PathBuf, Vec<PathBuf>) {
    let root = dir.join("catalog");
    let photos = copy_photos(&demo_photos(n), &root);
    write_demo_labels(&photos, &root);
    (root, photos)
}

fn index(data: &Path, root: &Path, index: &str) -> serde_json::Value {
    json_output(
        lookalike(data)
            .args(["index", "--quiet", "--json"])
            .arg(root)
            .args(["--index", index]),
    )
}

/// The (path relative to the catalog, score) of each look-alike of `photo`: `lookalike query` with
/// `extra` arguments, its vectors kept as `vectors` says (`LOOKALIKE_VECTORS`).
fn query(
    data: &Path,
    photo: &Path,
    index: &str,
    root: &Path,
    extra: &[&str],
    vectors: &str,
) -> Vec<(String, f64)> {
    let out = json_output(
        lookalike(data)
            .env("LOOKALIKE_VECTORS", vectors)
            .args(["query", "--json", "-k", "10"])
            .args(extra)
            .arg(photo)
            .args(["--index", index]),
    );
    out["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| {
            let path = PathBuf::from(r["path"].as_str().expect("path"));
            let rel = path.strip_prefix(root).unwrap_or(&path);
            (
                rel.to_string_lossy().into_owned(),
                r["score"].as_f64().expect("score"),
            )
        })
        .collect()
}

fn look_alikes(data: &Path, photo: &Path, index: &str, root: &Path) -> Vec<(String, f64)> {
    query(data, photo, index, root, &[], "auto")
}

/// `lookalike copy-index FROM TO`; what it printed.
fn copy_index(data: &Path, from: &str, to: &str) -> String {
    let out = lookalike(data)
        .args(["copy-index", from, to])
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn assert_same_results(a: &[(String, f64)], b: &[(String, f64)]) {
    assert_eq!(a.len(), b.len(), "{a:?}\n{b:?}");
    for (x, y) in a.iter().zip(b) {
        assert_eq!(x.0, y.0, "{a:?}\n{b:?}");
        assert!((x.1 - y.1).abs() < 1e-4, "{a:?}\n{b:?}");
    }
}

#[test]
fn a_shared_catalog_answers_like_a_local_index_and_keeps_thumbnails() {
    let pg = PgServer::start();
    let tmp = tempfile::tempdir().expect("temp dir");
    let (root, photos) = labelled_catalog(tmp.path(), 40);
    let local = tmp.path().join("local.sqlite");
    let local = local.to_str().expect("utf-8");

    let report = index(tmp.path(), &root, &pg.url);
    assert_eq!(report["items"], 40, "{report}");
    assert_eq!(report["embedded"], 40, "{report}");
    index(tmp.path(), &root, local);
    for photo in [&photos[3], &photos[17], &photos[31]] {
        assert_same_results(
            &look_alikes(tmp.path(), photo, &pg.url, &root),
            &look_alikes(tmp.path(), photo, local, &root),
        );
    }

    // Searched on the server (pgvector's HNSW index; what a catalog of 250,000 items or more
    // does): the same look-alikes at this size. (Large catalogs rank by shape alone, as compact
    // local ones do.)
    for photo in [&photos[3], &photos[17]] {
        let shape_only = ["--colour", "0"];
        let names = |v: Vec<(String, f64)>| v.into_iter().map(|(p, _)| p).collect::<Vec<_>>();
        assert_eq!(
            names(query(
                tmp.path(),
                photo,
                &pg.url,
                &root,
                &shape_only,
                "server"
            )),
            names(query(tmp.path(), photo, local, &root, &shape_only, "auto"))
        );
    }

    // The index build measured how wide a search must look for each recall, and a search on the
    // server says what recall it aims at; asking for an impossible one is refused.
    let curve = PgStore::new(Path::new(&pg.url))
        .recall_curve()
        .expect("reads")
        .expect("a recall curve is recorded with the index");
    assert_eq!(curve.items, 40, "{curve}");
    let out = json_output(
        lookalike(tmp.path())
            .env("LOOKALIKE_VECTORS", "server")
            .args(["query", "--json", "--recall", "0.99"])
            .arg(&photos[5])
            .args(["--index", &pg.url]),
    );
    assert_eq!(out["vectors"], "server", "{out}");
    let promised = out["expected_recall"].as_f64().expect("a recall");
    assert!(promised >= 0.99, "{promised}: 40 items are found exactly");
    let err = fails_with(
        lookalike(tmp.path())
            .args(["query", "--recall", "1.5"])
            .arg(&photos[5])
            .args(["--index", &pg.url]),
        2,
    );
    assert!(err.contains("recall between 0 and 1"), "{err}");

    // A second run finds nothing to do (labels compare by value, whatever the key order).
    let again = index(tmp.path(), &root, &pg.url);
    assert_eq!(again["unchanged"], 40, "{again}");
    assert_eq!(again["embedded"], 0, "{again}");

    // The catalog is whole in the database: labels, a map, and thumbnails for a laptop without the photos.
    let catalog = store_for(Path::new(&pg.url))
        .load(Storage::Auto)
        .expect("loads");
    assert_eq!(catalog.len(), 40);
    assert_eq!(catalog.label_field(), "articleType");
    assert!(
        catalog
            .items()
            .iter()
            .all(|it| it.labels.get("baseColour").is_some())
    );
    let map = lookalike::map::CatalogMap::load(&catalog).expect("reads");
    assert_eq!(map.map(|m| m.len()), Some(40), "the map is stored");
    let thumb = catalog.thumbnail(5).expect("reads").expect("a thumbnail");
    assert!(
        image::load_from_memory(&thumb).is_ok(),
        "the thumbnail is a photo"
    );

    // The HNSW index is there, and finds each item itself first.
    let mut client = postgres::Client::connect(&pg.url, postgres::NoTls).expect("connects");
    let indexes = client
        .simple_query("SELECT indexdef FROM pg_indexes WHERE tablename = 'items'")
        .expect("lists indexes");
    assert!(
        indexes.iter().any(|m| matches!(m, postgres::SimpleQueryMessage::Row(r)
            if r.get(0).is_some_and(|d| d.contains("USING hnsw") && d.contains("vector_cosine_ops")))),
        "no HNSW cosine index"
    );
    let store = PgStore::new(Path::new(&pg.url));
    for i in [0, 13, 29] {
        let hits = store.nearest(&catalog.vector(i), 5, 40).expect("searches");
        assert_eq!(hits[0].0, catalog.items()[i].id, "{hits:?}");
        assert!(hits[0].1 > 0.999, "{hits:?}");
        assert!(hits.windows(2).all(|w| w[0].1 >= w[1].1), "{hits:?}");
    }

    // A removed photo leaves the shared catalog on the next run.
    std::fs::remove_file(&photos[0]).expect("rm");
    let after = index(tmp.path(), &root, &pg.url);
    assert_eq!(after["removed"], 1, "{after}");
    assert_eq!(after["items"], 39, "{after}");
}

#[test]
fn copy_index_goes_to_postgres_and_back_unchanged() {
    let pg = PgServer::start();
    let tmp = tempfile::tempdir().expect("temp dir");
    let (root, photos) = labelled_catalog(tmp.path(), 30);
    let local = tmp.path().join("local.sqlite");
    let local = local.to_str().expect("utf-8");
    index(tmp.path(), &root, local);

    let said = copy_index(tmp.path(), local, &pg.url);
    assert!(said.contains("copied 30 items, the map"), "{said}");

    // Copying onto a catalog that holds items needs --replace: a team's catalog is not wiped by a slip.
    let err = fails_with(
        lookalike(tmp.path()).args(["copy-index", local, &pg.url]),
        1,
    );
    assert!(
        err.contains("already holds 30 items") && err.contains("--replace"),
        "{err}"
    );

    let back = tmp.path().join("back.sqlite");
    let back = back.to_str().expect("utf-8");
    copy_index(tmp.path(), &pg.url, back);

    for photo in [&photos[2], &photos[21]] {
        let original = look_alikes(tmp.path(), photo, local, &root);
        assert_same_results(&look_alikes(tmp.path(), photo, &pg.url, &root), &original);
        assert_same_results(&look_alikes(tmp.path(), photo, back, &root), &original);
    }
    // The copy back is a whole index: indexing the folder into it finds every photo unchanged.
    let again = index(tmp.path(), &root, back);
    assert_eq!(again["unchanged"], 30, "{again}");
    assert_eq!(again["embedded"], 0, "{again}");
}

#[test]
fn two_machines_indexing_one_shared_catalog_at_once_make_each_item_once() {
    let pg = PgServer::start();
    let tmp = tempfile::tempdir().expect("temp dir");
    // The same photos mounted at two places, as on two laptops.
    let (first, _) = labelled_catalog(&tmp.path().join("laptop-a"), 36);
    let (second, _) = labelled_catalog(&tmp.path().join("laptop-b"), 36);
    let run = |root: &Path| {
        lookalike(tmp.path())
            .args(["index", "--quiet", "--json"])
            .arg(root)
            .args(["--index", &pg.url, "--batch", "4"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("starts")
    };
    let (a, b) = (run(&first), run(&second));
    for child in [a, b] {
        let out = child.wait_with_output().expect("runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let catalog = store_for(Path::new(&pg.url))
        .load(Storage::Auto)
        .expect("loads");
    let mut paths: Vec<&Path> = catalog.items().iter().map(|it| it.path.as_path()).collect();
    paths.sort();
    paths.dedup();
    assert_eq!(catalog.len(), 36, "one row per photo");
    assert_eq!(paths.len(), 36, "no path twice");
    assert!(catalog.damaged().is_empty());
    // Either laptop finds nothing to embed again: a file whose copy on the other laptop has another
    // modification time is matched by its content hash.
    let again = index(tmp.path(), &second, &pg.url);
    assert_eq!(again["embedded"], 0, "{again}");
    assert_eq!(again["items"], 36, "{again}");
}

#[test]
fn server_problems_get_clear_errors_that_never_show_the_password() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let (root, photos) = labelled_catalog(tmp.path(), 3);

    // Nothing listens on the port.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let url = format!("postgres://ann:s3cret@127.0.0.1:{port}/catalog");
    let err = fails_with(
        lookalike(tmp.path())
            .arg("query")
            .arg(&photos[0])
            .args(["--index", &url]),
        1,
    );
    assert!(
        err.contains("cannot reach the shared catalog at postgres://ann@127.0.0.1"),
        "{err}"
    );
    assert!(!err.contains("s3cret"), "the password is shown: {err}");

    // PostgreSQL without pgvector.
    let bare = PgServer::pglite(&["--no-vector"]);
    let err = fails_with(
        lookalike(tmp.path())
            .arg("index")
            .arg(&root)
            .args(["--index", &bare.url]),
        1,
    );
    assert!(err.contains("has no pgvector extension"), "{err}");
    drop(bare);

    // A catalog made by a newer lookalike is left alone.
    let pg = PgServer::start();
    index(tmp.path(), &root, &pg.url);
    let mut client = postgres::Client::connect(&pg.url, postgres::NoTls).expect("connects");
    client
        .batch_execute("INSERT INTO lookalike_schema(version) VALUES (99)")
        .expect("inserts");
    let err = fails_with(
        lookalike(tmp.path())
            .arg("query")
            .arg(&photos[0])
            .args(["--index", &pg.url]),
        1,
    );
    assert!(
        err.contains("made by a newer lookalike (schema 99"),
        "{err}"
    );
}

#[test]
fn a_real_postgresql_checks_the_password_speaks_tls_and_names_what_is_missing() {
    // Debian's PostgreSQL: passwords checked (SCRAM), TLS with a self-signed certificate, and
    // no pgvector (which PGlite cannot show: it accepts any password and has no TLS).
    let server = SystemServer::start(true);
    let tmp = tempfile::tempdir().expect("temp dir");
    let (_root, photos) = labelled_catalog(tmp.path(), 1);
    let query = |url: &str, env: &[(&str, &str)]| {
        let mut c = lookalike(tmp.path());
        c.env_remove("PGPASSWORD")
            .env("PGPASSFILE", tmp.path().join("no-such-pgpass"));
        for (k, v) in env {
            c.env(k, v);
        }
        fails_with(c.arg("query").arg(&photos[0]).args(["--index", url]), 1)
    };

    // A wrong password, and none: the user is named with where a password goes, never the password.
    for env in [&[("PGPASSWORD", "wrong horse")][..], &[]] {
        let err = query(&server.url, env);
        assert!(
            err.contains("refused user 'lookalike'") && err.contains("PGPASSWORD"),
            "{err}"
        );
        assert!(!err.contains("wrong horse"), "the password is shown: {err}");
    }

    // The right password from a ~/.pgpass-style file gets in, over TLS although the certificate
    // is self-signed (as libpq's default sslmode does), and then the missing pgvector is named.
    let pgpass = tmp.path().join("pgpass");
    std::fs::write(
        &pgpass,
        format!("127.0.0.1:{}:*:lookalike:{SYSTEM_PASSWORD}\n", server.port),
    )
    .expect("pgpass");
    let pass = pgpass.to_str().expect("utf-8");
    let err = query(&server.url, &[("PGPASSFILE", pass)]);
    assert!(err.contains("has no pgvector extension"), "{err}");
    assert!(
        !err.contains(SYSTEM_PASSWORD),
        "the password is shown: {err}"
    );
    assert!(
        server
            .log()
            .contains("application_name=lookalike SSL enabled"),
        "the connection was not encrypted: {}",
        server.log()
    );

    // Checking the certificate: against the server's own, it passes; against another, the
    // failure is named as such.
    let cert = server.cert.as_ref().expect("a certificate");
    let checked = format!(
        "{}?sslmode=verify-full&sslrootcert={}",
        server.url,
        cert.display()
    );
    let err = query(&checked, &[("PGPASSFILE", pass)]);
    assert!(err.contains("has no pgvector extension"), "{err}");
    let stranger = format!("{}?sslmode=verify-ca", server.url);
    let err = query(&stranger, &[("PGPASSFILE", pass)]);
    assert!(
        err.contains("no secure connection to the shared catalog")
            && err.contains("certificate is not trusted"),
        "{err}"
    );

    // A server without TLS, when TLS is required.
    let plain = SystemServer::start(false);
    let err = query(&format!("{}?sslmode=require", plain.url), &[]);
    assert!(err.contains("the server does not offer TLS"), "{err}");
}

#[test]
fn duplicates_are_found_in_a_shared_catalog_kept_on_the_server() {
    let pg = PgServer::start();
    let tmp = tempfile::tempdir().expect("temp dir");
    let (root, photos) = labelled_catalog(tmp.path(), 16);
    // A re-encoded, smaller copy of one photo under another name.
    let img = image::open(&photos[6]).expect("decodes");
    let smaller = img.resize(
        img.width() * 4 / 5,
        img.height() * 4 / 5,
        image::imageops::FilterType::Triangle,
    );
    smaller
        .to_rgb8()
        .save(root.join("copy-of-six.jpg"))
        .expect("saves");
    index(tmp.path(), &root, &pg.url);
    let local = tmp.path().join("local.sqlite");
    let local = local.to_str().expect("utf-8");
    index(tmp.path(), &root, local);

    // Each group's file names, as `lookalike dups --json` gives them.
    let groups = |index: &str, vectors: &str| -> Vec<Vec<String>> {
        let out = json_output(
            lookalike(tmp.path())
                .env("LOOKALIKE_VECTORS", vectors)
                .args(["dups", "--json", "--index", index]),
        );
        out["groups"]
            .as_array()
            .expect("groups")
            .iter()
            .map(|g| {
                let mut names: Vec<String> = g["items"]
                    .as_array()
                    .expect("items")
                    .iter()
                    .map(|it| {
                        let p = PathBuf::from(it["path"].as_str().expect("path"));
                        p.file_name().expect("name").to_string_lossy().into_owned()
                    })
                    .collect();
                names.sort();
                names
            })
            .collect()
    };
    let on_server = groups(&pg.url, "server");
    let six = photos[6]
        .file_name()
        .expect("name")
        .to_string_lossy()
        .into_owned();
    let mut want = vec!["copy-of-six.jpg".to_string(), six];
    want.sort();
    assert_eq!(on_server, vec![want], "one group: the photo and its copy");
    assert_eq!(on_server, groups(local, "auto"), "as a local index finds");

    // "Not duplicates" said once is kept on the server for the whole team, and can be taken back.
    let decide = |verb: &str| {
        common::stdout_of(
            lookalike(tmp.path())
                .args(["dups", verb, "copy-of-six.jpg"])
                .arg(&photos[6])
                .args(["--index", &pg.url]),
        )
    };
    decide("ignore");
    assert!(
        groups(&pg.url, "server").is_empty(),
        "kept apart on the server"
    );
    assert_eq!(
        store_for(Path::new(&pg.url))
            .not_duplicates()
            .expect("reads")
            .len(),
        1
    );
    decide("unignore");
    assert_eq!(groups(&pg.url, "server").len(), 1, "grouped again");

    // The neighbours come from the server's index, and are each item's nearest by cosine.
    let remote = store_for(Path::new(&pg.url))
        .load(Storage::Server)
        .expect("loads");
    let Some(server) = remote.vectors().remote() else {
        panic!("vectors left on the server");
    };
    let full = store_for(Path::new(&pg.url))
        .load(Storage::Full)
        .expect("loads");
    let pairs = server.neighbour_pairs(3, -1.0).expect("neighbours");
    let mut exact = std::collections::BTreeSet::new();
    for i in 0..full.len() {
        let mut others: Vec<(f32, usize)> = (0..full.len())
            .filter(|&j| j != i)
            .map(|j| (lookalike::search::dot(&full.vector(i), &full.vector(j)), j))
            .collect();
        others.sort_by(|a, b| b.0.total_cmp(&a.0));
        exact.extend(others[..3].iter().map(|&(_, j)| (i.min(j), i.max(j))));
    }
    assert_eq!(
        pairs.into_iter().collect::<std::collections::BTreeSet<_>>(),
        exact
    );
    let some: Vec<(usize, usize)> = exact.iter().copied().take(10).collect();
    let cosines = server.cosines(&some).expect("cosines");
    for (&(a, b), c) in some.iter().zip(cosines) {
        let want = lookalike::search::dot(&full.vector(a), &full.vector(b));
        assert!((c - want).abs() < 1e-4, "{a} {b}: {c} vs {want}");
    }
}

#[test]
fn an_indexer_killed_mid_run_loses_at_most_its_batch_and_the_next_run_goes_on() {
    let pg = PgServer::start();
    let tmp = tempfile::tempdir().expect("temp dir");
    let (root, _) = labelled_catalog(tmp.path(), 40);
    let mut child = lookalike(tmp.path())
        .args(["index", "--quiet", "--batch", "2"])
        .arg(&root)
        .args(["--index", &pg.url])
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("starts");
    // Once some batches are in, the connection drops in the middle of the run. (Each look is a
    // connection of its own, as another laptop's would be.)
    let count = || -> i64 {
        postgres::Client::connect(&pg.url, postgres::NoTls)
            .and_then(|mut c| c.simple_query("SELECT count(*) FROM items"))
            .ok()
            .and_then(|rows| {
                rows.into_iter().find_map(|m| match m {
                    postgres::SimpleQueryMessage::Row(r) => r.get(0)?.parse().ok(),
                    _ => None,
                })
            })
            .unwrap_or(0)
    };
    let started = std::time::Instant::now();
    while count() < 6 {
        assert!(started.elapsed().as_secs() < 120, "indexing did not start");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    child.kill().expect("kills");
    child.wait().expect("ends");
    let kept = count();
    assert!((6..40).contains(&kept), "{kept} items kept");

    let report = index(tmp.path(), &root, &pg.url);
    assert_eq!(report["items"], 40, "{report}");
    let made =
        report["embedded"].as_i64().expect("embedded") + report["reused"].as_i64().expect("reused");
    assert_eq!(made, 40 - kept, "what was written stays: {report}");
    let catalog = store_for(Path::new(&pg.url))
        .load(Storage::Auto)
        .expect("loads");
    assert!(catalog.damaged().is_empty());
    assert_eq!(catalog.len(), 40);
}
