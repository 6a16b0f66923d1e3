//! `lookalike train-head`: a head learned from a catalog's labels, stored with the index, used by
//! `query` for predicted labels, style-aware ranking and the category filter.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// articleType of every demo photo, by file stem.
fn article_types() -> HashMap<String, String> {
    let mut r = csv::Reader::from_path(common::demo_catalog().join("labels.csv")).unwrap();
    let h = r.headers().unwrap().clone();
    let col = h.iter().position(|c| c == "articleType").unwrap();
    r.records()
        .map(|rec| {
            let rec = rec.unwrap();
            (rec[0].to_string(), rec[col].to_string())
        })
        .collect()
}

fn query_json(data: &Path, db: &Path, photo: &Path, extra: &[&str]) -> serde_json::Value {
    common::json_output(
        common::lookalike(data)
            .args(["query", "--json", "-k", "8"])
            .args(extra)
            .arg(photo)
            .arg("--index")
            .arg(db),
    )
}

#[test]
fn a_head_learned_from_labels_predicts_new_photos_and_filters_results() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("catalog");
    let all = common::demo_photos(2000);
    let (catalog, rest) = all.split_at(400);
    common::copy_photos(catalog, &root);
    common::write_demo_labels(catalog, &root);
    let db = tmp.path().join("i.sqlite");
    common::cli_index(tmp.path(), &root, &db);

    let report = common::json_output(
        common::lookalike(tmp.path())
            .args(["train-head", "--folds", "3", "--json", "--index"])
            .arg(&db),
    );
    assert_eq!(report["columns"][0], "articleType", "{report}");
    let cv = report["cross_validation"]["columns"].as_array().unwrap();
    let figures = |c: &str| cv.iter().find(|f| f["column"] == c).unwrap().clone();
    // Held-out items: the head names their master category nearly always, their article type
    // (about 40 kinds here) mostly.
    let master = figures("masterCategory");
    assert!(master["head_accuracy"].as_f64().unwrap() > 0.9, "{master}");
    let article = figures("articleType");
    assert!(
        article["head_accuracy"].as_f64().unwrap() > 0.6,
        "{article}"
    );
    assert!(
        article["learned_precision"].as_f64().unwrap() > 0.5,
        "style-space precision@10: {article}"
    );
    // Honest confidence: on held-out folds, calibration lowers the article type's calibration
    // error (a temperature chosen without the fold it is scored on) and brings it near zero.
    let (raw, calibrated) = (
        article["ece_uncalibrated"].as_f64().unwrap(),
        article["ece_calibrated"].as_f64().unwrap(),
    );
    assert!(calibrated < raw, "ECE {raw} -> {calibrated}");
    assert!(calibrated < 0.1, "ECE {raw} -> {calibrated}");

    // New photos, not in the catalog, of four common kinds: the predicted articleType is right for most.
    let kinds = article_types();
    let wanted = ["Tshirts", "Watches", "Casual Shoes", "Handbags"];
    let queries: Vec<(PathBuf, String)> = wanted
        .iter()
        .flat_map(|w| {
            rest.iter()
                .filter(|p| kinds[&p.file_stem().unwrap().to_string_lossy().into_owned()] == *w)
                .take(2)
                .map(|p| (p.clone(), w.to_string()))
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(queries.len(), 8);
    let mut right = 0;
    for (photo, truth) in &queries {
        let v = query_json(tmp.path(), &db, photo, &[]);
        let p = &v["predicted"][0];
        assert_eq!(p["column"], "articleType");
        let conf = p["confidence"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&conf));
        // The top three labels, most probable first, the others no likelier than the first.
        let others = p["alternatives"].as_array().unwrap();
        assert_eq!(others.len(), 2, "{p}");
        let mut last = conf;
        for o in others {
            let c = o["confidence"].as_f64().unwrap();
            assert!(c <= last + 1e-6 && o["label"] != p["label"], "{p}");
            last = c;
        }
        right += (p["label"] == truth.as_str()) as usize;
    }
    assert!(right >= 6, "{right}/8 new photos labelled right");

    // The category filter keeps only items of the predicted type; style-aware ranking returns as many.
    let (shoe, _) = &queries[4];
    let v = query_json(tmp.path(), &db, shoe, &["--same-category"]);
    let predicted = v["predicted"][0]["label"].as_str().unwrap().to_string();
    let results = v["results"].as_array().unwrap();
    assert!(!results.is_empty());
    for r in results {
        assert_eq!(r["labels"]["articleType"], predicted.as_str(), "{r}");
    }
    let styled = query_json(tmp.path(), &db, shoe, &["--style"]);
    assert_eq!(styled["results"].as_array().unwrap().len(), 8);
    assert_eq!(
        styled["results"][0]["labels"]["articleType"],
        predicted.as_str()
    );
}

#[test]
fn train_head_refuses_a_catalog_without_labels_and_says_what_to_do() {
    let common::Indexed { tmp, db, .. } = common::indexed_catalog(6);
    let err = common::fails_with(
        common::lookalike(tmp.path())
            .args(["train-head", "--index"])
            .arg(&db),
        1,
    );
    assert!(
        err.contains("no label column") && err.contains("labels.csv"),
        "{err}"
    );
    // And querying with --style says it needs a head first.
    let out = common::lookalike(tmp.path())
        .args(["query", "--style", "--index"])
        .arg(&db)
        .arg(common::demo_photos(1)[0].clone())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("train-head"), "{err}");
}
