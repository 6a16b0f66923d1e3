//! `lookalike eval`: retrieval quality figures on a labelled catalog, and a clear refusal without labels.

mod common;

#[test]
fn eval_reports_precision_well_above_chance_on_the_labelled_demo_photos() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("catalog");
    common::copy_photos(&common::demo_photos(300), &root);
    std::fs::copy(
        common::demo_catalog().join("labels.csv"),
        root.join("labels.csv"),
    )
    .unwrap();
    // An exact duplicate of a photo under another name: it must not count as a found look-alike.
    let first = common::demo_photos(1)[0].clone();
    std::fs::copy(&first, root.join("duplicate.jpg")).unwrap();
    let db = tmp.path().join("i.sqlite");
    common::cli_index(tmp.path(), &root, &db);
    let out = common::lookalike(tmp.path())
        .args([
            "eval",
            "--label",
            "masterCategory",
            "--label",
            "articleType",
            "--json",
            "--index",
        ])
        .arg(&db)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let labels = v["results"][0]["labels"].as_array().unwrap();
    for l in labels {
        let (p, chance, map) = (
            l["precision_at_k"].as_f64().unwrap(),
            l["chance"].as_f64().unwrap(),
            l["map_at_k"].as_f64().unwrap(),
        );
        assert!(
            p > chance + 0.3,
            "{}: P@10 {p:.3} vs chance {chance:.3}",
            l["column"]
        );
        assert!(map > 0.0 && map <= 1.0);
    }
    assert!(
        labels[0]["precision_at_k"].as_f64().unwrap() > 0.85,
        "masterCategory is easy: {}",
        labels[0]
    );
}

/// `eval --map`: on the map that keeps neighbourhoods, an item's nearest points share its article
/// type far more often than on the PCA plane.
#[test]
fn the_neighbourhood_map_keeps_article_types_together_better_than_pca() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("catalog");
    let photos = common::demo_photos(300);
    common::copy_photos(&photos, &root);
    common::write_demo_labels(&photos, &root);
    let db = tmp.path().join("i.sqlite");
    common::cli_index(tmp.path(), &root, &db);
    let v = common::json_output(
        common::lookalike(tmp.path())
            .args([
                "eval",
                "--map",
                "--label",
                "articleType",
                "--json",
                "--index",
            ])
            .arg(&db),
    );
    let agreement = |layout: &str| {
        let m = v["map"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["layout"] == layout)
            .unwrap_or_else(|| panic!("no {layout} in {}", v["map"]));
        m["agreement"][0]["agreement"].as_f64().unwrap()
    };
    let (pca, neighbourhoods) = (agreement("pca"), agreement("neighbourhoods"));
    assert!(
        neighbourhoods > pca + 0.1 && neighbourhoods > 0.55,
        "10-NN article type agreement on the map: PCA {pca:.3}, neighbourhoods {neighbourhoods:.3}"
    );
}

#[test]
fn eval_refuses_a_catalog_without_labels_and_says_why() {
    let common::Indexed { tmp, db, .. } = common::indexed_catalog(5);
    let err = common::fails_with(
        common::lookalike(tmp.path())
            .args(["eval", "--index"])
            .arg(&db),
        1,
    );
    assert!(
        err.contains("no label columns") && err.contains("labels.csv"),
        "{err}"
    );
    let out = common::lookalike(tmp.path())
        .args(["eval", "--label", "articleType", "--index"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("no item has a 'articleType' label"));
}

/// Colour-aware ranking, as `query` ranks by default: more results share the query's colour, and
/// about as many its kind of item, as with shape alone.
#[test]
fn colour_aware_ranking_finds_more_of_the_same_colour_and_keeps_the_kind() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("catalog");
    let photos = common::demo_photos(600);
    common::copy_photos(&photos, &root);
    common::write_demo_labels(&photos, &root);
    let db = tmp.path().join("i.sqlite");
    common::cli_index(tmp.path(), &root, &db);
    let precision = |colour: Option<&str>| {
        let mut cmd = common::lookalike(tmp.path());
        cmd.args([
            "eval",
            "--label",
            "articleType",
            "--label",
            "baseColour",
            "--json",
        ]);
        if let Some(w) = colour {
            cmd.args(["--colour", w]);
        }
        let v = common::json_output(cmd.arg("--index").arg(&db));
        let labels = v["results"][0]["labels"].as_array().unwrap().clone();
        let p = |i: usize| labels[i]["precision_at_k"].as_f64().unwrap();
        (p(0), p(1))
    };
    let (kind_shape, colour_shape) = precision(Some("0"));
    let (kind, colour) = precision(None);
    assert!(
        colour > colour_shape + 0.03,
        "baseColour P@10 {colour:.3} by default vs {colour_shape:.3} by shape alone"
    );
    assert!(
        kind > kind_shape - 0.02,
        "articleType P@10 {kind:.3} by default vs {kind_shape:.3} by shape alone"
    );
}
