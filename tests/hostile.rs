//! Hostile input: decompression bombs within a memory budget, special and huge files refused at
//! once, one writer per index, damaged stored embeddings never searched.

mod common;
#[path = "common/photos.rs"]
mod photos;

use std::ffi::OsStr;
use std::path::Path;
use std::sync::atomic::AtomicBool;

use lookalike::catalog::Catalog;
use lookalike::indexer::{IndexOptions, index_folder};
use lookalike::query::{LookupOptions, look_alikes};

#[test]
fn indexing_a_folder_of_bombs_stays_within_the_memory_budget() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("catalog");
    common::copy_photos(&common::demo_photos(2), &root);
    // Two real 11000x11000 RGBA PNGs (0.4 MB each): 484 MB of pixels each once decoded. Each fits
    // the 1 GB budget alone, two at once do not, so they are decoded one after the other.
    photos::png_bomb(&root.join("bomb-a.png"), 11_000, 11_000, 90);
    photos::png_bomb(&root.join("bomb-b.png"), 11_000, 11_000, 160);
    // One that can never fit: refused from its header, before any pixel is decoded.
    photos::write(
        &root.join("bomb-huge.png"),
        &photos::png_header_claiming(20_000, 20_000),
    );
    let out = common::lookalike(tmp.path())
        .args(["index", "--quiet"])
        .arg(&root)
        .arg("--index")
        .arg(tmp.path().join("i.sqlite"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(
        err.contains("bomb-huge.png") && err.contains("20000x20000") && err.contains("MB"),
        "the refused bomb is named with its size: {err}"
    );
    assert!(
        !err.contains("bomb-a.png") && !err.contains("bomb-b.png"),
        "{err}"
    );
    let cat = Catalog::open(&tmp.path().join("i.sqlite")).unwrap();
    assert_eq!(cat.len(), 4, "both decodable bombs are indexed");
    let peak = common::peak_rss_mb(libc::RUSAGE_CHILDREN);
    assert!(
        peak < 1_300,
        "indexing peaked at {peak} MB (the budget is 1,024 MB for decoding)"
    );
}

#[test]
fn a_special_or_huge_file_is_refused_at_once_with_its_name() {
    let tmp = tempfile::tempdir().unwrap();
    let fifo = tmp.path().join("pipe.jpg");
    let status = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(status.success());
    // 2 GB each, sparse: a JPEG's first bytes, and plain text.
    let sparse = |name: &str, start: &[u8]| {
        let path = tmp.path().join(name);
        photos::write(&path, start);
        let file = std::fs::File::options().write(true).open(&path).unwrap();
        file.set_len(2 << 30).unwrap();
        path
    };
    let huge = sparse("huge.jpg", &[0xFF, 0xD8, 0xFF, 0xE0]);
    let junk = sparse("junk.jpg", b"plain text, not a photo");
    let cases: [(&Path, &str); 4] = [
        (Path::new("/dev/zero"), "a device"),
        (&fifo, "named pipe"),
        (&huge, "2048 MB"),
        (&junk, "not an image"),
    ];
    let c = common::indexed_catalog(1);
    for (path, says) in cases {
        let err = common::fails_with(
            common::lookalike(c.tmp.path())
                .arg("query")
                .arg(path)
                .arg("--index")
                .arg(&c.db),
            1,
        );
        assert!(
            err.contains(&*path.to_string_lossy()) && err.contains(says),
            "{}: {err}",
            path.display()
        );
    }
    assert!(c.photos[0].is_file());
}

#[test]
fn a_second_writer_is_told_who_is_writing_the_index() {
    let common::Indexed { tmp, root, db, .. } = common::indexed_catalog(2);
    // This test process is the writer now.
    let writing = lookalike::catalog::lock_for_writing(&db).unwrap();
    for args in [&["index"][..], &["train-head"]] {
        let mut cmd = common::lookalike(tmp.path());
        cmd.args(args);
        if args[0] == "index" {
            cmd.arg(&root);
        }
        let err = common::fails_with(cmd.arg("--index").arg(&db), 1);
        assert!(
            err.contains("being changed by another lookalike")
                && err.contains(&format!("process {}", std::process::id())),
            "{args:?}: {err}"
        );
    }
    // Readers are not blocked.
    let out = common::lookalike(tmp.path())
        .arg("query")
        .arg(common::demo_photos(1)[0].clone())
        .arg("--index")
        .arg(&db)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    drop(writing);
    common::cli_index(tmp.path(), &root, &db);
}

#[test]
fn a_damaged_stored_embedding_is_never_searched_and_is_embedded_again() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("catalog");
    let photos = common::copy_photos(&common::demo_photos(6), &root);
    let db = tmp.path().join("i.sqlite");
    let index = |expect_embedded: usize| {
        let report = index_folder(
            &root,
            &db,
            common::embedder(),
            &IndexOptions::default(),
            &AtomicBool::new(false),
            |_| {},
        )
        .unwrap();
        assert_eq!(report.embedded, expect_embedded, "{report:?}");
    };
    index(6);
    let clean = Catalog::open(&db).unwrap();
    assert!(clean.damaged().is_empty());
    // One infinity in one item, a NaN in another (a flipped byte in the file would do the same).
    let conn = rusqlite::Connection::open(&db).unwrap();
    let damage = |name: &OsStr, value: f32| {
        let blob: Vec<u8> = conn
            .query_row(
                "SELECT embedding FROM items WHERE path = ?1",
                [name.as_encoded_bytes()],
                |r| r.get(0),
            )
            .unwrap();
        let mut blob = blob;
        blob[40..44].copy_from_slice(&value.to_le_bytes());
        conn.execute(
            "UPDATE items SET embedding = ?1 WHERE path = ?2",
            rusqlite::params![blob, name.as_encoded_bytes()],
        )
        .unwrap();
    };
    damage(photos[0].file_name().unwrap(), f32::INFINITY);
    damage(photos[1].file_name().unwrap(), f32::NAN);
    drop(conn);

    let cat = Catalog::open(&db).unwrap();
    assert_eq!(cat.damaged().len(), 2);
    let broken: Vec<usize> = cat.damaged().to_vec();
    for q in 2..6 {
        let hits = look_alikes(
            &cat,
            None,
            &cat.vector(q),
            &LookupOptions::default(),
            &|_| true,
        );
        assert!(hits.hits.iter().all(|h| h.score.is_finite()));
        let top: Vec<usize> = hits.hits.iter().take(3).map(|h| h.index).collect();
        assert!(
            broken.iter().all(|b| !top.contains(b)),
            "a damaged item ranks among the first for query {q}: {top:?}"
        );
    }
    // The next run embeds exactly the two again; afterwards nothing is damaged.
    index(2);
    assert!(Catalog::open(&db).unwrap().damaged().is_empty());
}

#[test]
fn arguments_out_of_range_are_refused_with_exit_code_2() {
    let tmp = tempfile::tempdir().unwrap();
    let photo = common::demo_photos(1)[0].clone();
    let photo = photo.to_str().unwrap();
    for args in [
        &["index", "x", "--threads", "100000"][..],
        &["index", "x", "--model", "no-such-model"],
        &["index", "x", "--pooling", "median"],
        &["index", "x", "--batch", "0"],
        &["train-head", "--folds", "100000"],
        &["train-head", "--folds", "1"],
        &["train-head", "--epochs", "0"],
        &["train-head", "--dims", "0"],
        &["dups", "--threshold", "2"],
        &["dups", "--threshold", "NaN"],
        &["dups", "--threshold", "inf"],
        &["eval", "-k", "0"],
        &["query", photo, "-k", "0"],
        &["query", photo, "--colour", "1.5"],
    ] {
        let out = common::lookalike(tmp.path()).args(args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains("invalid value"), "{args:?}: {err}");
    }
}

#[test]
fn a_damaged_index_says_how_to_rebuild_it_and_rebuild_never_removes_a_photo() {
    let common::Indexed {
        tmp,
        root,
        photos,
        db,
    } = common::indexed_catalog(3);
    let len = std::fs::metadata(&db).unwrap().len();
    std::fs::File::options()
        .write(true)
        .open(&db)
        .unwrap()
        .set_len(len / 3)
        .unwrap();
    let _ = std::fs::remove_file(tmp.path().join("i.sqlite-wal"));
    let err = common::fails_with(
        common::lookalike(tmp.path())
            .arg("query")
            .arg(&photos[0])
            .arg("--index")
            .arg(&db),
        1,
    );
    assert!(
        err.contains("damaged") && err.contains("--rebuild"),
        "{err}"
    );

    // --rebuild on a photo given as the index by mistake: refused, the photo kept.
    let out = common::lookalike(tmp.path())
        .args(["index", "--quiet", "--rebuild"])
        .arg(&root)
        .arg("--index")
        .arg(&photos[1])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not an SQLite database"));
    assert_eq!(
        std::fs::read(&photos[1]).unwrap(),
        std::fs::read(common::demo_photos(3)[1].clone()).unwrap()
    );

    common::cli_index_with(tmp.path(), &root, &db, &["--rebuild"]);
    assert_eq!(Catalog::open(&db).unwrap().len(), 3);
}

#[test]
fn a_labels_file_with_a_bad_row_or_semicolons_still_labels_the_rest() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("catalog");
    let photos = common::copy_photos(&common::demo_photos(3), &root);
    let stem = |i: usize| photos[i].file_stem().unwrap().to_str().unwrap().to_string();
    let mut csv = format!("id;articleType;baseColour\n{};Shirts;Blue\n", stem(0)).into_bytes();
    csv.extend(format!("{};Caf", stem(1)).as_bytes());
    csv.extend(b"\xe9;Red\n");
    csv.extend(format!("{};Watches;Black\n", stem(2)).as_bytes());
    photos::write(&root.join("labels.csv"), &csv);
    let db = tmp.path().join("i.sqlite");
    let out = common::lookalike(tmp.path())
        .arg("index")
        .arg(&root)
        .arg("--index")
        .arg(&db)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("labels.csv") && err.contains("row 3") && err.contains("UTF-8"),
        "the skipped row is named: {err}"
    );
    let cat = Catalog::open(&db).unwrap();
    assert_eq!(cat.label_field(), "articleType");
    let label = |i: usize| cat.label(cat.find_path(&photos[i]).unwrap()).to_string();
    assert_eq!(
        (label(0).as_str(), label(2).as_str()),
        ("Shirts", "Watches")
    );

    // A label field the file does not have: an error that lists the ones it has.
    let out = common::lookalike(tmp.path())
        .args(["index", "--label-field", "colour"])
        .arg(&root)
        .arg("--index")
        .arg(&db)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("'colour'") && err.contains("baseColour"),
        "{err}"
    );
}

#[test]
fn a_file_name_with_a_newline_keeps_the_table_one_line_per_result() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("catalog");
    let photos = common::copy_photos(&common::demo_photos(3), &root);
    std::fs::rename(&photos[0], root.join("two\nlines.jpg")).unwrap();
    let db = tmp.path().join("i.sqlite");
    common::cli_index(tmp.path(), &root, &db);
    let out = common::lookalike(tmp.path())
        .arg("query")
        .arg(&photos[1])
        .args(["-k", "3", "--regions", "off", "--index"])
        .arg(&db)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    let rows: Vec<&str> = text
        .lines()
        .filter(|l| l.trim_start().starts_with(char::is_numeric))
        .collect();
    assert_eq!(rows.len(), 2, "{text}");
    assert!(text.contains("two\\nlines.jpg"), "{text}");
}
