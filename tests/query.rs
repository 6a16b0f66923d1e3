//! `lookalike query` end to end: real photos, real index, the look-alikes a user would expect.

mod common;

use std::path::Path;

use serde_json::Value;

fn query(data: &Path, photo: &Path, db: Option<&Path>, k: usize) -> Value {
    let mut c = common::lookalike(data);
    c.arg("query")
        .arg(photo)
        .args(["-k", &k.to_string(), "--json"]);
    if let Some(db) = db {
        c.arg("--index").arg(db);
    }
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn a_copy_from_outside_finds_its_original_first_and_an_item_never_finds_itself() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("catalog");
    let files = common::copy_photos(&common::demo_photos(40), &root);
    let db = tmp.path().join("i.sqlite");
    common::cli_index(tmp.path(), &root, &db);

    // A photo outside the catalog that is a copy of item 5 (a user's download of the same product).
    let outside = tmp.path().join("download.jpg");
    std::fs::copy(&files[5], &outside).unwrap();
    let r = query(tmp.path(), &outside, Some(&db), 5);
    let results = r["results"].as_array().unwrap();
    assert_eq!(results.len(), 5);
    assert!(
        results[0]["path"]
            .as_str()
            .unwrap()
            .ends_with(files[5].file_name().unwrap().to_str().unwrap())
    );
    assert!(results[0]["score"].as_f64().unwrap() > 0.999);
    let scores: Vec<f64> = results
        .iter()
        .map(|h| h["score"].as_f64().unwrap())
        .collect();
    assert!(
        scores.windows(2).all(|w| w[0] >= w[1]),
        "best first: {scores:?}"
    );
    assert!(
        r["model"].as_str().unwrap().contains("EfficientNet-Lite0") && r["dims"] == 1280,
        "the model is shown"
    );

    // The catalog item itself: excluded from its own look-alikes. (No --index: the last one indexed.)
    let r = query(tmp.path(), &files[5], None, 39);
    let paths: Vec<&str> = r["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths.len(), 39);
    assert!(
        !paths
            .iter()
            .any(|p| p.ends_with(files[5].file_name().unwrap().to_str().unwrap()))
    );
}

#[test]
fn look_alikes_mostly_share_the_querys_category() {
    // 300 labelled demo photos; each of 40 queries' top 5 should mostly be of its own masterCategory
    // (Apparel, Footwear, Accessories...), far above what chance would give.
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("catalog");
    let photos = common::demo_photos(300);
    common::copy_photos(&photos, &root);
    std::fs::copy(
        common::demo_catalog().join("labels.csv"),
        root.join("labels.csv"),
    )
    .unwrap();
    let db = tmp.path().join("i.sqlite");
    common::cli_index(tmp.path(), &root, &db);
    let cat = lookalike::catalog::Catalog::open(&db).unwrap();
    let category = |i: usize| {
        cat.items()[i]
            .labels
            .get("masterCategory")
            .map(str::to_string)
            .unwrap_or_default()
    };
    let (mut same, mut total, mut chance) = (0, 0, 0.0);
    for q in (0..cat.len()).step_by(cat.len() / 40) {
        let hits = cat.vectors().top_k(&cat.vector(q), 5, &|i| i != q);
        same += hits
            .iter()
            .filter(|h| category(h.index) == category(q))
            .count();
        total += hits.len();
        chance += (0..cat.len())
            .filter(|&i| category(i) == category(q))
            .count() as f64
            / cat.len() as f64;
    }
    let precision = same as f64 / total as f64;
    let chance = chance / (total / 5) as f64;
    assert!(
        precision > 0.85 && precision > chance + 0.3,
        "precision@5 {precision:.2}, chance {chance:.2}"
    );
}

#[test]
fn querying_before_indexing_says_what_to_do() {
    let tmp = tempfile::tempdir().unwrap();
    let out = common::lookalike(tmp.path())
        .arg("query")
        .arg(common::known_photo("coffee.png"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("lookalike index"));
}

#[test]
fn a_broken_query_photo_is_named_in_the_error() {
    let common::Indexed { tmp, db, .. } = common::indexed_catalog(3);
    let bad = tmp.path().join("oops.jpg");
    std::fs::write(&bad, "<html>not a photo</html>").unwrap();
    let err = common::fails_with(
        common::lookalike(tmp.path())
            .arg("query")
            .arg(&bad)
            .arg("--index")
            .arg(&db),
        1,
    );
    assert!(
        err.contains("oops.jpg") && err.contains("not an image"),
        "{err}"
    );
}

/// Several photos and a folder in one command: one answer per photo (JSON lines or CSV rows), a
/// broken photo named and the others still answered, and `--where` keeping exact labels.
#[test]
fn several_photos_and_a_folder_get_one_answer_each_and_where_keeps_exact_labels() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("catalog");
    let photos = common::demo_photos(40);
    let files = common::copy_photos(&photos, &root);
    common::write_demo_labels(&photos, &root);
    let db = tmp.path().join("i.sqlite");
    common::cli_index(tmp.path(), &root, &db);
    // Two downloads in a folder, and one catalog photo named by its path.
    let downloads = tmp.path().join("downloads");
    std::fs::create_dir_all(&downloads).unwrap();
    std::fs::copy(&files[3], downloads.join("a.jpg")).unwrap();
    std::fs::copy(&files[7], downloads.join("b.jpg")).unwrap();
    let run = |extra: &[&str], args: &[&Path]| {
        let mut c = common::lookalike(tmp.path());
        c.args(["query", "-k", "4", "--index"])
            .arg(&db)
            .args(extra)
            .args(args);
        c.output().unwrap()
    };
    let out = run(&["--json"], &[&files[10], &downloads]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object a line"))
        .collect();
    assert_eq!(lines.len(), 3, "one answer per photo");
    let first = |v: &Value| v["results"][0]["path"].as_str().unwrap().to_string();
    let name = |p: &Path| p.file_name().unwrap().to_str().unwrap().to_string();
    assert!(
        lines[0]["query"]
            .as_str()
            .unwrap()
            .ends_with(&name(&files[10]))
    );
    assert!(!first(&lines[0]).ends_with(&name(&files[10])), "not itself");
    assert!(
        first(&lines[1]).ends_with(&name(&files[3])),
        "a.jpg finds its original"
    );
    assert!(
        first(&lines[2]).ends_with(&name(&files[7])),
        "b.jpg finds its original"
    );

    // CSV: a header, then k rows per photo.
    let out = run(&["--csv"], &[&downloads]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let rows: Vec<&str> = text.lines().collect();
    assert_eq!(rows[0], "query,rank,score,label,path");
    assert_eq!(rows.len(), 1 + 2 * 4, "{text}");

    // A broken photo among them is named; the others are still answered.
    let bad = tmp.path().join("notes.jpg");
    std::fs::write(&bad, "shopping list").unwrap();
    let out = run(&["--json"], &[&bad, &files[10]]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("notes.jpg") && err.contains("1 of 2 photos"),
        "{err}"
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let answered: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(answered[0]["error"].as_str().unwrap().contains("notes.jpg"));
    assert_eq!(answered[1]["results"].as_array().unwrap().len(), 4);

    // --where gender = Men keeps exactly the men's items, not the women's.
    let r = query_with(
        tmp.path(),
        &files[10],
        &db,
        &["--where", "gender = men", "-k", "30"],
    );
    let results = r["results"].as_array().unwrap();
    let men = (0..40)
        .filter(|&i| {
            lookalike::catalog::Catalog::open(&db).unwrap().items()[i]
                .labels
                .get("gender")
                == Some("Men")
        })
        .count();
    assert!(!results.is_empty() && results.len() <= men);
    assert!(
        results.iter().all(|h| h["labels"]["gender"] == "Men"),
        "{results:?}"
    );
    // A column the catalog does not have is refused, with the columns it has.
    let err = common::fails_with(
        common::lookalike(tmp.path())
            .args(["query", "--where", "colr = Red", "--index"])
            .arg(&db)
            .arg(&files[10]),
        1,
    );
    assert!(err.contains("colr") && err.contains("baseColour"), "{err}");
}

fn query_with(data: &Path, photo: &Path, db: &Path, extra: &[&str]) -> Value {
    common::json_output(
        common::lookalike(data)
            .arg("query")
            .arg(photo)
            .arg("--json")
            .arg("--index")
            .arg(db)
            .args(extra),
    )
}

/// Copies of one photo (the same bytes under another name, a re-encoded JPEG) take one place
/// among the look-alikes, with the others listed as its copies; a colour variant of it is another
/// product and keeps its own place; `--all-copies` lists every copy on its own.
#[test]
fn copies_of_a_photo_take_one_place_and_a_colour_variant_keeps_its_own() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("catalog");
    let files = common::copy_photos(&common::demo_photos(40), &root);
    // A colourful photo, so that a colour variant of it can be made.
    let (original, variant) = files
        .iter()
        .find_map(|f| {
            let rgb = lookalike::embed::load_photo(f).unwrap().rgb;
            common::transform::colour_variant(&rgb, 130.0).map(|v| (f.clone(), v))
        })
        .expect("a colourful demo photo");
    let rgb = lookalike::embed::load_photo(&original).unwrap().rgb;
    std::fs::copy(&original, root.join("again.jpg")).unwrap();
    std::fs::write(
        root.join("reencoded.jpg"),
        common::transform::encode_jpeg(&rgb, 85),
    )
    .unwrap();
    std::fs::write(root.join("other-colour.jpg"), variant).unwrap();
    let db = tmp.path().join("i.sqlite");
    common::cli_index(tmp.path(), &root, &db);
    let outside = tmp.path().join("download.jpg");
    std::fs::copy(&original, &outside).unwrap();
    let name = |v: &Value| {
        Path::new(v.as_str().unwrap())
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned()
    };
    let copies_of_it = [
        name(&Value::from(original.to_string_lossy().as_ref())),
        "again.jpg".to_string(),
        "reencoded.jpg".to_string(),
    ];

    let r = query_with(tmp.path(), &outside, &db, &["-k", "8"]);
    let results = r["results"].as_array().unwrap();
    assert_eq!(results.len(), 8, "K places, each a different photo");
    let shown: Vec<String> = results.iter().map(|h| name(&h["path"])).collect();
    assert!(copies_of_it.contains(&shown[0]), "{shown:?}");
    let mut folded: Vec<String> = results[0]["copies"]
        .as_array()
        .unwrap()
        .iter()
        .map(name)
        .collect();
    folded.push(shown[0].clone());
    folded.sort();
    let mut expected = copies_of_it.to_vec();
    expected.sort();
    assert_eq!(
        folded, expected,
        "the first card holds the photo and its two copies"
    );
    assert!(
        shown[1..].iter().all(|s| !copies_of_it.contains(s)),
        "no copy takes a place of its own: {shown:?}"
    );
    assert!(
        shown.contains(&"other-colour.jpg".to_string()),
        "the colour variant is another product, listed on its own: {shown:?}"
    );

    let r = query_with(tmp.path(), &outside, &db, &["-k", "8", "--all-copies"]);
    let shown: Vec<String> = r["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| name(&h["path"]))
        .collect();
    assert!(
        copies_of_it.iter().all(|c| shown[..3].contains(c)),
        "{shown:?}"
    );
}

/// Every look-alike says how strong a match it is in this catalog: a copy of a catalog photo is
/// very close, an espresso cup is at best loosely related to the catalog's clothes.
#[test]
fn matches_say_how_strong_they_are() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("catalog");
    let files = common::copy_photos(&common::demo_photos(60), &root);
    let db = tmp.path().join("i.sqlite");
    common::cli_index(tmp.path(), &root, &db);
    let outside = tmp.path().join("download.jpg");
    std::fs::copy(&files[7], &outside).unwrap();
    let r = query_with(tmp.path(), &outside, &db, &["-k", "20"]);
    let bands: Vec<&str> = r["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["match"].as_str().expect("a band"))
        .collect();
    assert_eq!(bands[0], "very close", "{bands:?}");
    assert!(
        bands.windows(2).all(|w| rank(w[0]) <= rank(w[1])),
        "best first: {bands:?}"
    );
    assert_ne!(bands[19], "very close", "{bands:?}");
    let cup = query_with(
        tmp.path(),
        &common::known_photo("coffee.png"),
        &db,
        &["-k", "3", "--colour", "0"],
    );
    assert_eq!(
        cup["results"][0]["match"], "loosely related",
        "{}",
        cup["results"][0]
    );
}

fn rank(band: &str) -> usize {
    ["very close", "similar", "loosely related"]
        .iter()
        .position(|b| *b == band)
        .unwrap()
}

/// A photo with more copies than K places still leaves K different photos among the look-alikes.
#[test]
fn many_copies_of_one_photo_still_leave_k_different_look_alikes() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("catalog");
    let files = common::copy_photos(&common::demo_photos(30), &root);
    for n in 0..15 {
        std::fs::copy(&files[3], root.join(format!("copy-{n}.jpg"))).unwrap();
    }
    let db = tmp.path().join("i.sqlite");
    common::cli_index(tmp.path(), &root, &db);
    let outside = tmp.path().join("download.jpg");
    std::fs::copy(&files[3], &outside).unwrap();
    let r = query_with(tmp.path(), &outside, &db, &["-k", "5"]);
    let results = r["results"].as_array().unwrap();
    assert_eq!(results.len(), 5, "five different photos");
    assert_eq!(results[0]["copies"].as_array().unwrap().len(), 15);
    assert!(
        results[1..]
            .iter()
            .all(|h| h["copies"].as_array().unwrap().is_empty())
    );
}
