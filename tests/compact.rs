//! Large catalogs keep their vectors compact (int8 rows behind a two-stage search, in a file beside
//! the index). Forced here on a small real catalog: the look-alikes must be those of the f32
//! catalog, the file must be reused while the index is unchanged and rebuilt when it changes or
//! is damaged, and `lookalike query` must work on it.

mod common;

use std::path::Path;

use common::recall;
use lookalike::catalog::{Catalog, Storage, sidecar_path};
use lookalike::learn::StyleSpace;
use lookalike::query::{LookupOptions, look_alikes};

fn modified(p: &Path) -> std::time::SystemTime {
    std::fs::metadata(p).unwrap().modified().unwrap()
}

#[test]
fn a_compact_catalog_finds_the_same_look_alikes_and_keeps_its_vectors_file_in_step() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("catalog");
    let photos = common::demo_photos(301);
    common::copy_photos(&photos[..300], &root);
    let db = tmp.path().join("i.sqlite");
    common::cli_index(tmp.path(), &root, &db);
    let file = sidecar_path(&db);

    let full = Catalog::open_with(&db, Storage::Full).unwrap();
    assert!(!file.exists(), "an f32 catalog writes no vectors file");
    let compact = Catalog::open_with(&db, Storage::Compact).unwrap();
    assert!(compact.vectors().is_compact() && file.exists());
    let queries: Vec<usize> = (0..300).step_by(10).collect();
    let mut mean = 0.0;
    for &q in &queries {
        let v = full.vector(q);
        let exact = full.vectors().top_k(&v, 10, &|_| true);
        let approx = compact.vectors().top_k(&v, 10, &|_| true);
        assert_eq!(approx[0].index, q, "item {q} finds itself first");
        assert!((approx[0].score - 1.0).abs() < 0.01);
        mean += recall(&exact, &approx) / queries.len() as f64;
    }
    assert!(mean >= 0.9, "recall@10 against f32 {mean:.3}");
    let map = lookalike::map::CatalogMap::load(&compact).unwrap();
    assert_eq!(map.map(|m| m.len()), Some(300), "the map is there");

    // Opened again with the index unchanged: the file is read, not rewritten.
    let stamp = modified(&file);
    let again = Catalog::open_with(&db, Storage::Compact).unwrap();
    assert_eq!(modified(&file), stamp);
    let v = full.vector(7);
    assert_eq!(
        again.vectors().top_k(&v, 10, &|_| true),
        compact.vectors().top_k(&v, 10, &|_| true)
    );

    // A photo added and the folder indexed again (the indexer keeps the file in step): the new
    // photo is searchable, from the catalog and from `lookalike query`.
    std::fs::copy(&photos[300], root.join("new.jpg")).unwrap();
    let report = common::json_output(
        common::lookalike(tmp.path())
            .env("LOOKALIKE_VECTORS", "int8")
            .args(["index", "--json"])
            .arg(&root)
            .arg("--index")
            .arg(&db),
    );
    assert_eq!(report["items"], 301);
    let grown = Catalog::open_with(&db, Storage::Compact).unwrap();
    assert_eq!(grown.len(), 301);
    let new = grown.find_path(&root.join("new.jpg")).unwrap();
    let (v, _) = common::embedder().embed_file(&photos[300]).unwrap();
    assert_eq!(grown.vectors().top_k(&v, 1, &|_| true)[0].index, new);
    let outside = tmp.path().join("download.jpg");
    std::fs::copy(&photos[300], &outside).unwrap();
    let r = common::json_output(
        common::lookalike(tmp.path())
            .env("LOOKALIKE_VECTORS", "int8")
            .arg("query")
            .arg(&outside)
            .args(["-k", "3", "--json", "--index"])
            .arg(&db),
    );
    assert_eq!(r["vectors"], "int8");
    assert!(
        r["results"][0]["path"]
            .as_str()
            .unwrap()
            .ends_with("new.jpg")
    );
    assert!(r["results"][0]["score"].as_f64().unwrap() > 0.99);

    // A damaged file is not an error: the vectors are rebuilt from the index and saved whole.
    let len = std::fs::metadata(&file).unwrap().len();
    let f = std::fs::OpenOptions::new().write(true).open(&file).unwrap();
    f.set_len(len / 2).unwrap();
    drop(f);
    let mended = Catalog::open_with(&db, Storage::Compact).unwrap();
    assert_eq!(mended.vectors().top_k(&v, 1, &|_| true)[0].index, new);
    assert_eq!(std::fs::metadata(&file).unwrap().len(), len);
}

#[test]
fn a_compact_catalog_with_a_learned_head_ranks_by_style_and_keeps_the_predicted_category() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("catalog");
    let photos = common::demo_photos(300);
    common::copy_photos(&photos, &root);
    common::write_demo_labels(&photos, &root);
    let db = tmp.path().join("i.sqlite");
    common::cli_index(tmp.path(), &root, &db);
    let full = Catalog::open_with(&db, Storage::Full).unwrap();
    let columns = vec!["articleType".to_string()];
    let (head, _) = lookalike::learn::train_head(
        &full,
        &columns,
        &Default::default(),
        None,
        &Default::default(),
        |_| {},
    )
    .unwrap();
    let compact = Catalog::open_with(&db, Storage::Compact).unwrap();
    let head = std::sync::Arc::new(head);
    let compact_style = StyleSpace::new(head.clone(), &compact);
    let full_style = StyleSpace::new(head, &full);
    assert!(compact_style.vectors().is_compact());

    let style = LookupOptions {
        k: 10,
        style_aware: true,
        same_category: true,
        ..Default::default()
    };
    let mut mean = 0.0;
    let queries: Vec<usize> = (0..300).step_by(15).collect();
    for &q in &queries {
        let v = full.vector(q);
        let want = look_alikes(&full, Some(&full_style), &v, &style, &|i| i != q);
        let got = look_alikes(&compact, Some(&compact_style), &v, &style, &|i| i != q);
        assert_eq!(got.predictions[0].label, want.predictions[0].label);
        let predicted = got.predictions[0].label.as_str();
        assert!(
            got.hits
                .iter()
                .all(|h| compact.items()[h.index].labels.get("articleType") == Some(predicted)),
            "only the predicted category"
        );
        assert!(got.hits.iter().all(|h| h.index != q));
        mean += recall(&want.hits, &got.hits) / queries.len() as f64;
    }
    assert!(mean >= 0.85, "style-aware recall@10 against f32 {mean:.3}");
}

/// A vectors file is only ever used for the index it was made from, whole: one left over from an
/// index deleted and made again at the same path (same item count, same items version) is rebuilt,
/// and so is one with a flipped byte, and the look-alikes are those of the photos indexed now.
#[test]
fn a_vectors_file_from_another_index_or_with_a_flipped_byte_is_never_used() {
    let tmp = tempfile::tempdir().unwrap();
    let photos = common::demo_photos(80);
    let db = tmp.path().join("i.sqlite");
    let file = sidecar_path(&db);
    let index = |photos: &[std::path::PathBuf]| {
        let root = tmp.path().join("catalog");
        let _ = std::fs::remove_dir_all(&root);
        common::copy_photos(photos, &root);
        common::cli_index(tmp.path(), &root, &db);
    };
    let finds_itself = |cat: &Catalog| {
        let full = Catalog::open_with(&db, Storage::Full).unwrap();
        for q in (0..full.len()).step_by(7) {
            let hit = cat.vectors().top_k(&full.vector(q), 1, &|_| true)[0];
            assert!(
                hit.index == q && hit.score > 0.99,
                "item {q} ({}) found {} at {}",
                full.items()[q].path.display(),
                full.items()[hit.index].path.display(),
                hit.score
            );
        }
    };

    index(&photos[..40]);
    let first = Catalog::open_with(&db, Storage::Compact).unwrap();
    finds_itself(&first);
    let old = std::fs::read(&file).unwrap();

    // One byte flipped in the middle of the rows.
    let mut flipped = old.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0x40;
    std::fs::write(&file, &flipped).unwrap();
    finds_itself(&Catalog::open_with(&db, Storage::Compact).unwrap());
    assert_eq!(std::fs::read(&file).unwrap(), old, "rebuilt whole");

    // The index deleted and made again from other photos, the old file left beside it.
    for ext in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{ext}", db.display()));
    }
    index(&photos[40..]);
    std::fs::write(&file, &old).unwrap();
    finds_itself(&Catalog::open_with(&db, Storage::Compact).unwrap());
    assert_ne!(
        std::fs::read(&file).unwrap(),
        old,
        "the stale file was replaced"
    );
}

/// `LOOKALIKE_SIMD` forces an int8 kernel: every kernel this CPU has gives the same look-alikes
/// with the same scores (they compute the same integers), and `--json` says which one ran.
#[test]
fn every_int8_kernel_this_cpu_has_gives_the_same_look_alikes() {
    use lookalike::search::compact::Simd;
    let c = common::indexed_catalog(120);
    let query = |kernel: &str, photo: &Path| {
        common::json_output(
            common::lookalike(c.tmp.path())
                .env("LOOKALIKE_VECTORS", "int8")
                .env("LOOKALIKE_SIMD", kernel)
                .arg("query")
                .arg(photo)
                .args(["-k", "10", "--json", "--index"])
                .arg(&c.db),
        )
    };
    let kernels = Simd::available();
    assert!(kernels.contains(&Simd::Portable));
    // Photos from outside the catalog (a catalog item never finds itself): their copies come first.
    let originals = common::demo_photos(120);
    for photo in [&originals[3], &originals[77]] {
        let hits = |r: &serde_json::Value| -> Vec<(String, f64)> {
            r["results"]
                .as_array()
                .unwrap()
                .iter()
                .map(|h| {
                    let path = h["path"].as_str().unwrap().to_string();
                    (path, h["score"].as_f64().unwrap())
                })
                .collect()
        };
        let reference = query("portable", photo);
        assert_eq!(reference["vectors"], "int8");
        assert_eq!(reference["kernel"], "portable");
        assert_eq!(hits(&reference).len(), 10);
        let name = photo.file_name().unwrap().to_str().unwrap();
        assert!(
            hits(&reference)[0].0.ends_with(name),
            "{name} finds its copy first"
        );
        for k in &kernels {
            let r = query(k.name(), photo);
            assert_eq!(r["kernel"], k.name());
            assert_eq!(
                hits(&r),
                hits(&reference),
                "{k} against the portable kernel"
            );
        }
    }
}

/// A kernel that does not exist, or one the CPU lacks (an AVX2-only CPU emulated by QEMU asked for
/// AVX-512), is refused before anything runs: exit 2 and a message naming what the CPU can run.
/// The same emulated CPU answers with its AVX2 kernel as this one does.
#[test]
fn a_kernel_the_cpu_lacks_is_refused_with_what_it_can_run() {
    let c = common::indexed_catalog(40);
    let err = common::fails_with(
        common::lookalike(c.tmp.path())
            .env("LOOKALIKE_SIMD", "sse9")
            .arg("query")
            .arg(&c.photos[0])
            .arg("--index")
            .arg(&c.db),
        2,
    );
    assert!(
        err.contains("LOOKALIKE_SIMD=sse9") && err.contains("avx2") && err.contains("portable"),
        "{err}"
    );

    let emulated = |kernel: &str| {
        std::process::Command::new(common::x86_emulator())
            .args(["-cpu", "Haswell", env!("CARGO_BIN_EXE_lookalike")])
            .args(["query", "--json", "-k", "5", "--index"])
            .arg(&c.db)
            .arg(&c.photos[5])
            .env("LOOKALIKE_DATA_DIR", c.tmp.path())
            .env("LOOKALIKE_VECTORS", "int8")
            .env("LOOKALIKE_SIMD", kernel)
            .output()
            .expect("the emulator runs")
    };
    let out = emulated("avx512vnni");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("does not have those instructions") && err.contains("avx2, portable"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");

    let out = emulated("avx2");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let there: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let here = common::json_output(
        common::lookalike(c.tmp.path())
            .env("LOOKALIKE_VECTORS", "int8")
            .env("LOOKALIKE_SIMD", "avx2")
            .args(["query", "--json", "-k", "5", "--index"])
            .arg(&c.db)
            .arg(&c.photos[5]),
    );
    assert_eq!(there["kernel"], "avx2");
    let paths = |r: &serde_json::Value| -> Vec<String> {
        r["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["path"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(paths(&there), paths(&here));
}
