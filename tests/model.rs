//! The real model: its weights are ImageNet's, random graphs are refused, and a missing
//! runtime or model is explained.

mod common;

use lookalike::embed::{Embedder, EngineOptions};
use lookalike::model::{available_models, find_model, imagenet_classes, top_classes};

fn top1(photo: &str) -> String {
    let (_, logits) = common::embedder()
        .embed_file(&common::known_photo(photo))
        .expect("embeds");
    let classes = imagenet_classes().expect("class names");
    classes[top_classes(&logits, 1)[0].0].clone()
}

#[test]
fn a_tabby_cat_is_seen_as_a_cat() {
    let class = top1("chelsea.png");
    assert!(
        [
            "tabby",
            "tiger cat",
            "Egyptian cat",
            "Persian cat",
            "Siamese cat"
        ]
        .contains(&class.as_str()),
        "chelsea.png classified as {class}"
    );
}

#[test]
fn an_espresso_is_seen_as_espresso() {
    assert_eq!(top1("coffee.png"), "espresso");
}

/// The larger backbones (Lite1 at 240 px, Lite2 at 260 px), converted by the same converter from
/// their own checkpoints, are real ImageNet models: they name the cat and the espresso as Lite0
/// does, and their embeddings of the same photo are their own (another network), not a copy.
#[test]
fn the_larger_backbones_are_real_imagenet_models_at_their_own_size() {
    let classes = imagenet_classes().expect("class names");
    let lite0 = common::embedder();
    let (cup0, _) = lite0
        .embed_file(&common::known_photo("coffee.png"))
        .unwrap();
    for (name, size) in [("efficientnet-lite1", 240), ("efficientnet-lite2", 260)] {
        let m = find_model(name).unwrap_or_else(|e| panic!("{name}: {e} (./run setup makes it)"));
        assert_eq!(m.input_size, size, "{name}");
        let e = Embedder::start(m, EngineOptions::default()).expect("starts");
        let top = |photo: &str| {
            let (v, logits) = e.embed_file(&common::known_photo(photo)).expect("embeds");
            assert_eq!(v.len(), 1280);
            (v, classes[top_classes(&logits, 1)[0].0].clone())
        };
        let (_, cat) = top("chelsea.png");
        assert!(
            ["tabby", "tiger cat", "Egyptian cat"].contains(&cat.as_str()),
            "{name}: chelsea.png classified as {cat}"
        );
        let (cup, espresso) = top("coffee.png");
        assert_eq!(espresso, "espresso", "{name}");
        // Same family, another network: its embedding space is not Lite0's.
        let across = lookalike::search::dot(&cup, &cup0);
        assert!(across < 0.9, "{name} embeds like Lite0 ({across})");
    }
}

#[test]
fn embeddings_are_unit_length_with_the_manifest_dims() {
    let e = common::embedder();
    let (v, logits) = e
        .embed_file(&common::known_photo("rocket.jpg"))
        .expect("embeds");
    assert_eq!(v.len(), e.manifest().dims);
    assert_eq!(logits.len(), 1000);
    let norm: f32 = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    assert!((norm - 1.0).abs() < 1e-4, "norm {norm}");
}

#[test]
fn different_photos_differ_and_the_same_photo_matches_itself() {
    let e = common::embedder();
    let (cat, _) = e.embed_file(&common::known_photo("chelsea.png")).unwrap();
    let (cat2, _) = e.embed_file(&common::known_photo("chelsea.png")).unwrap();
    let (cup, _) = e.embed_file(&common::known_photo("coffee.png")).unwrap();
    let sim = |a: &[f32], b: &[f32]| lookalike::search::dot(a, b);
    assert!(sim(&cat, &cat2) > 0.9999);
    assert!(
        sim(&cat, &cup) < 0.8,
        "a cat and a cup are not look-alikes: {}",
        sim(&cat, &cup)
    );
}

#[test]
fn a_graph_with_random_weights_is_never_usable_for_search() {
    let random = available_models()
        .unwrap()
        .into_iter()
        .find(|m| !m.real_weights)
        .expect("resnet50-random manifest");
    let err = Embedder::start(random, EngineOptions::default())
        .err()
        .expect("refused");
    assert!(err.to_string().contains("random weights"), "{err}");
}

#[test]
fn an_unknown_model_lists_the_available_ones() {
    let err = find_model("vgg-nonexistent").expect_err("unknown");
    assert!(err.to_string().contains("efficientnet-lite0"), "{err}");
}

#[test]
fn a_missing_model_file_says_to_run_setup() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("ghost.toml"),
        std::fs::read_to_string(common::project().join("models/efficientnet-lite0.toml"))
            .unwrap()
            .replace("name = \"efficientnet-lite0\"", "name = \"ghost\"")
            .replace("efficientnet-lite0.onnx", "ghost.onnx"),
    )
    .unwrap();
    let out = common::lookalike(dir.path())
        .env("LOOKALIKE_MODELS", dir.path())
        .env("LOOKALIKE_MODEL", "ghost")
        .args(["classify"])
        .arg(common::known_photo("coffee.png"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        err.contains("ghost.onnx") && err.contains("./run setup"),
        "{err}"
    );
}

#[test]
fn a_missing_runtime_says_where_it_looked_and_what_to_run() {
    let dir = tempfile::tempdir().unwrap();
    let out = common::lookalike(dir.path())
        .env("ORT_DYLIB_PATH", dir.path().join("libonnxruntime.so"))
        .args(["classify"])
        .arg(common::known_photo("coffee.png"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        err.contains("ONNX Runtime")
            && err.contains("./run setup")
            && err.contains("ORT_DYLIB_PATH"),
        "{err}"
    );
}

/// The int8 model (quantised at set-up) keeps what the float model sees: the same ImageNet classes,
/// embeddings within cosine 0.99 on catalog photos, and an index made with it finds a photo's copy.
#[test]
fn the_int8_model_agrees_with_the_float_model() {
    let int8 = Embedder::start(
        find_model("efficientnet-lite0-int8").expect("int8 model: run ./run setup"),
        EngineOptions::default(),
    )
    .expect("the int8 model loads");
    let classes = imagenet_classes().unwrap();
    let (_, logits) = int8.embed_file(&common::known_photo("coffee.png")).unwrap();
    assert_eq!(classes[top_classes(&logits, 1)[0].0], "espresso");

    let float = common::embedder();
    assert_eq!(float.manifest().name, "efficientnet-lite0");
    let photos: Vec<_> = common::demo_photos(2000).into_iter().step_by(40).collect();
    let cos: Vec<f32> = photos
        .iter()
        .map(|p| {
            let (a, _) = float.embed_file(p).unwrap();
            let (b, _) = int8.embed_file(p).unwrap();
            lookalike::search::dot(&a, &b)
        })
        .collect();
    let mean = cos.iter().sum::<f32>() / cos.len() as f32;
    let min = cos.iter().copied().fold(1.0, f32::min);
    assert!(
        mean >= 0.99 && min >= 0.95,
        "int8 vs float cosine over {} photos: mean {mean}, min {min}",
        cos.len()
    );
}

/// An index made with the int8 model answers the same on every x86-64 CPU. The same photos indexed
/// on an emulated CPU with AVX2 only (QEMU's Haswell: no AVX-512, no VNNI, where ONNX Runtime's
/// u8 x s8 products go through saturating 16-bit sums) get the embeddings they get here.
#[cfg(target_arch = "x86_64")]
#[test]
fn the_int8_model_gives_the_same_embeddings_on_a_cpu_without_vnni() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("catalog");
    common::copy_photos(
        &common::demo_photos(2000)
            .into_iter()
            .step_by(250)
            .collect::<Vec<_>>(),
        &root,
    );
    let here = dir.path().join("here.sqlite");
    common::cli_index_with(
        dir.path(),
        &root,
        &here,
        &["--model", "efficientnet-lite0-int8"],
    );

    let emulated = dir.path().join("avx2.sqlite");
    let out = std::process::Command::new(common::x86_emulator())
        .args(["-cpu", "Haswell", env!("CARGO_BIN_EXE_lookalike")])
        .args([
            "index",
            "--quiet",
            "--model",
            "efficientnet-lite0-int8",
            "--index",
        ])
        .arg(&emulated)
        .arg(&root)
        .env("LOOKALIKE_DATA_DIR", dir.path())
        .output()
        .expect("the emulator runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let (a, b) = (
        lookalike::catalog::Catalog::open(&here).unwrap(),
        lookalike::catalog::Catalog::open(&emulated).unwrap(),
    );
    assert_eq!((a.len(), b.len()), (8, 8));
    for i in 0..a.len() {
        let j = (0..b.len())
            .find(|&j| b.items()[j].path == a.items()[i].path)
            .unwrap();
        let cos = lookalike::search::dot(&a.vector(i), &b.vector(j));
        assert!(
            cos > 0.999,
            "{}: cosine {cos} between the int8 embeddings here and on an AVX2-only CPU",
            a.items()[i].path.display()
        );
    }
}

#[test]
fn a_catalog_indexed_with_the_int8_model_finds_a_copy_first() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("catalog");
    let photos = common::copy_photos(&common::demo_photos(30), &root);
    let db = dir.path().join("int8.sqlite");
    common::cli_index_with(
        dir.path(),
        &root,
        &db,
        &["--model", "efficientnet-lite0-int8"],
    );
    let copy = dir.path().join("copy.jpg");
    std::fs::copy(&photos[7], &copy).unwrap();
    let v = common::json_output(
        common::lookalike(dir.path())
            .args(["query", "--json", "-k", "3", "--index"])
            .arg(&db)
            .arg(&copy),
    );
    assert!(v["model"].as_str().unwrap().contains("int8"), "{v}");
    let first = &v["results"][0];
    assert!(
        first["path"]
            .as_str()
            .unwrap()
            .ends_with(photos[7].file_name().unwrap().to_str().unwrap())
            && first["score"].as_f64().unwrap() > 0.99,
        "{v}"
    );
}
