//! A catalog with broken and unusual files: each broken one gets a clear error naming it,
//! and every good photo is still indexed.

mod common;
#[path = "common/photos.rs"]
mod photos;

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::sync::atomic::AtomicBool;

use lookalike::catalog::Catalog;
use lookalike::indexer::{IndexOptions, index_folder};

#[test]
fn broken_files_are_reported_by_name_and_the_rest_is_indexed() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("catalog");
    let good = common::copy_photos(&common::demo_photos(4), &root);
    let w = |name: &str, bytes: &[u8]| photos::write(&root.join(name), bytes);
    let real = std::fs::read(&good[0]).unwrap();

    // Broken: each must fail with a reason a user can act on.
    w("empty.jpg", b"");
    w("truncated.jpg", &real[..real.len() / 2]);
    w("notes.jpg", b"This is a text file with a photo's name.\n");
    w("bomb.png", &photos::png_header_claiming(100_000, 100_000));
    std::os::unix::fs::symlink(root.join("gone.jpg"), root.join("dangling.jpg")).unwrap();
    // Unusual but valid: must be indexed.
    w(
        "print-cmyk.jpg",
        &photos::cmyk_jpeg(64, 48, [10, 200, 30, 5]),
    );
    w("deep-16bit.png", &photos::png16(40, 30));
    w("animated.gif", &photos::animated_gif(30, 30));
    let odd_name = OsStr::from_bytes(b"caf\xe9-latin1.jpg");
    std::fs::copy(&good[1], root.join(odd_name)).unwrap();
    // Not photos: ignored without complaint.
    w("labels-notes.txt", b"hello");
    w(".hidden.jpg", b"not looked at");

    let db = tmp.path().join("index.sqlite");
    let report = index_folder(
        &root,
        &db,
        common::embedder(),
        &IndexOptions::default(),
        &AtomicBool::new(false),
        |_| {},
    )
    .expect("a run with bad files still completes");

    let reason = |name: &str| {
        report
            .failures
            .iter()
            .find(|(p, _)| p.file_name() == Some(OsStr::new(name)))
            .map(|(_, r)| r.clone())
            .unwrap_or_else(|| panic!("{name} should be reported; failures: {:?}", report.failures))
    };
    assert!(reason("empty.jpg").contains("empty"));
    assert!(reason("truncated.jpg").contains("truncated"));
    assert!(reason("notes.jpg").contains("not an image"));
    assert!(reason("bomb.png").contains("100000x100000"));
    assert!(!reason("dangling.jpg").is_empty());
    assert_eq!(report.failures.len(), 5, "{:?}", report.failures);

    let cat = Catalog::open(&db).unwrap();
    assert_eq!(
        cat.len(),
        4 + 4,
        "4 demo photos, CMYK, 16-bit, GIF and the non-UTF-8 name"
    );
    assert!(cat.find_path(&root.join(odd_name)).is_some());
    let failures = cat.store().failures().unwrap();
    assert_eq!(
        failures.len(),
        5,
        "failures are kept in the index for the window to show"
    );
}

#[test]
fn the_command_line_names_each_failure_and_exits_with_3() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("catalog");
    common::copy_photos(&common::demo_photos(2), &root);
    photos::write(&root.join("broken.jpg"), b"not a jpeg");
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
        err.contains("broken.jpg") && err.contains("not an image"),
        "{err}"
    );
}
