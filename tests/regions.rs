//! Region search: a garment in a real-world photo. Catalog products are pasted onto real cluttered
//! photos (tests/common/scenes.rs); the automatic regions must find the original where the whole
//! photo does not, a given region must search exactly that part, studio shots stay searched whole,
//! and bad regions get a clear error.

mod common;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use common::scenes::{self, HELD_OUT_SCENES, Scene};
use lookalike::catalog::Catalog;
use lookalike::embed::Photo;
use lookalike::query::LookupOptions;
use lookalike::query::{
    Rect, RegionArg, RegionMode, embed_regions, is_studio_shot, search_regions,
};

struct Fixture {
    _tmp: tempfile::TempDir,
    db: PathBuf,
    photos: Vec<PathBuf>,
    catalog: Catalog,
}

/// 400 demo photos with their labels, indexed once for the whole test binary.
fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("catalog");
        let photos = common::copy_photos(
            &common::demo_photos(2000)
                .into_iter()
                .step_by(5)
                .collect::<Vec<_>>(),
            &root,
        );
        common::write_demo_labels(&photos, &root);
        let db = tmp.path().join("i.sqlite");
        common::cli_index(tmp.path(), &root, &db);
        let catalog = Catalog::open(&db).unwrap();
        Fixture {
            _tmp: tmp,
            db,
            photos,
            catalog,
        }
    })
}

fn search(scene: &image::RgbImage, mode: RegionMode) -> Vec<PathBuf> {
    let f = fixture();
    let photo = Photo::from_rgb(scene.clone());
    let regions = embed_regions(common::embedder(), &photo, mode).unwrap();
    let answer = search_regions(
        &f.catalog,
        None,
        &regions,
        &LookupOptions {
            k: 10,
            ..Default::default()
        },
        &|_| true,
    );
    answer
        .hits
        .iter()
        .map(|h| f.catalog.abs_path(h.hit.index))
        .collect()
}

fn found(results: &[PathBuf], original: &Path) -> bool {
    results
        .iter()
        .any(|p| p.file_name() == original.file_name())
}

#[test]
fn a_garment_pasted_on_a_real_scene_is_found_by_the_automatic_regions() {
    let f = fixture();
    let cases = scenes::street_scenes(&f.photos, &HELD_OUT_SCENES, 16, 7);
    assert_eq!(cases.len(), 16);
    let (mut auto, mut whole, mut boxed) = (0, 0, 0);
    for (original, Scene { rgb, truth }) in &cases {
        auto += found(&search(rgb, RegionMode::Auto), original) as usize;
        whole += found(&search(rgb, RegionMode::Whole), original) as usize;
        let [x, y, w, h] = truth.map(|v| v as f32);
        let truth = RegionArg::pixels(Rect { x, y, w, h });
        boxed += found(&search(rgb, RegionMode::Given(truth)), original) as usize;
    }
    eprintln!(
        "original in the top 10 of 16 scenes: automatic {auto}, whole photo {whole}, true box {boxed}"
    );
    assert!(
        auto >= 12,
        "automatic regions found {auto} of 16 (whole photo {whole})"
    );
    assert!(auto > whole, "automatic {auto} vs whole photo {whole}");
    assert!(boxed >= 13, "the true box found {boxed} of 16");
}

#[test]
fn studio_shots_are_searched_whole_and_scenes_are_not() {
    let f = fixture();
    let studio = f
        .photos
        .iter()
        .take(150)
        .filter(|p| is_studio_shot(&image::open(p).unwrap().to_rgb8()))
        .count();
    assert!(
        studio >= 145,
        "{studio} of 150 catalog photos taken for studio shots"
    );
    for (_, scene) in scenes::street_scenes(&f.photos, &HELD_OUT_SCENES, 10, 3) {
        assert!(!is_studio_shot(&scene.rgb));
    }
    // A studio shot gives exactly what the whole photo gives.
    let rgb = image::open(&f.photos[11]).unwrap().to_rgb8();
    assert_eq!(
        search(&rgb, RegionMode::Auto),
        search(&rgb, RegionMode::Whole)
    );
}

#[test]
fn a_given_region_searches_what_a_cropped_file_would() {
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    let (_, scene) = scenes::street_scenes(&f.photos, &HELD_OUT_SCENES, 1, 11).remove(0);
    let [x, y, w, h] = scene.truth;
    let scene_file = dir.path().join("street.png");
    scene.rgb.save(&scene_file).unwrap();
    let crop_file = dir.path().join("crop.png");
    image::imageops::crop_imm(&scene.rgb, x, y, w, h)
        .to_image()
        .save(&crop_file)
        .unwrap();

    let photo = Photo::from_rgb(scene.rgb.clone());
    let arg: RegionArg = format!("{x},{y},{w},{h}").parse().unwrap();
    let region = embed_regions(common::embedder(), &photo, RegionMode::Given(arg)).unwrap();
    let (crop, _) = common::embedder().embed_file(&crop_file).unwrap();
    let cos = lookalike::search::dot(&region[0].vector, &crop);
    assert!(cos > 0.99, "region vs cropped file: cosine {cos}");

    // The command line: --region on the scene answers as the cropped file does.
    let query = |args: &[&str], photo: &Path| {
        common::json_output(
            common::lookalike(dir.path())
                .arg("query")
                .arg(photo)
                .args(["--json", "-k", "5", "--index"])
                .arg(&f.db)
                .args(args),
        )
    };
    let paths = |v: &serde_json::Value| -> Vec<String> {
        v["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["path"].as_str().unwrap().to_string())
            .collect()
    };
    let boxed = query(&["--region", &format!("{x},{y},{w},{h}")], &scene_file);
    // (The cropped file searched whole: its cut edges are the scene's, not a studio's white.)
    assert_eq!(
        paths(&boxed)[..3],
        paths(&query(&["--regions", "off"], &crop_file))[..3]
    );
    assert_eq!(boxed["regions"].as_array().unwrap().len(), 1);
    assert_eq!(boxed["regions"][0]["w"].as_f64().unwrap(), w as f64);
    // Fractions of the photo work the same.
    let (sw, sh) = scene.rgb.dimensions();
    let fr = format!(
        "{},{},{},{}",
        x as f32 / sw as f32,
        y as f32 / sh as f32,
        w as f32 / sw as f32,
        h as f32 / sh as f32
    );
    assert_eq!(
        paths(&query(&["--region", &fr], &scene_file))[..3],
        paths(&boxed)[..3]
    );
    // Automatic regions say which region matched each result.
    let auto = query(&[], &scene_file);
    assert!(auto["regions"].as_array().unwrap().len() > 10, "{auto:#}");
    let n = auto["regions"].as_array().unwrap().len() as u64;
    assert!(
        auto["results"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["region"].as_u64().unwrap() < n)
    );
}

#[test]
fn bad_regions_get_a_clear_error_naming_what_to_do() {
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    let run = |region: &str| {
        let out = common::lookalike(dir.path())
            .arg("query")
            .arg(&f.photos[0])
            .args(["--index"])
            .arg(&f.db)
            .args(["--region", region])
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, err) = run("5000,10,50,50");
    assert_eq!(code, Some(1));
    assert!(
        err.contains("outside the photo") && err.contains(&*f.photos[0].to_string_lossy()),
        "{err}"
    );
    for (bad, says) in [
        ("10,10,0,50", "no area"),
        ("-10,10,50,50", "negative"),
        ("10,10,50", "four numbers"),
    ] {
        let (code, err) = run(bad);
        assert_eq!(code, Some(2), "{bad}: {err}");
        assert!(err.contains(says), "{bad}: {err}");
    }
}

#[test]
fn a_photo_with_two_kinds_of_item_offers_each_kind_apart() {
    let f = fixture();
    let kind = |p: &Path| {
        let i = f.catalog.find_path(p).unwrap();
        f.catalog.label(i).to_string()
    };
    let shoe = f.photos.iter().find(|p| kind(p) == "Casual Shoes").unwrap();
    let top = f.photos.iter().find(|p| kind(p) == "Tshirts").unwrap();
    // The T-shirt on the left half of a scene, the shoe on the right.
    let mut canvas = image::open(scenes::scene_photo("grass.png"))
        .unwrap()
        .to_rgb8();
    let (w, h) = canvas.dimensions();
    for (item, x) in [(top, 0), (shoe, w / 2)] {
        let cut = scenes::cut_out(item).unwrap();
        canvas = scenes::compose_at(&cut, &canvas, x, h / 4, (w / 2).min(h / 2));
    }
    let photo = Photo::from_rgb(canvas);
    let regions = embed_regions(common::embedder(), &photo, RegionMode::Auto).unwrap();
    let answer = search_regions(
        &f.catalog,
        None,
        &regions,
        &LookupOptions::default(),
        &|_| true,
    );
    let kinds: Vec<&str> = answer.suggestions.iter().map(|s| s.kind.as_str()).collect();
    assert!(
        kinds.contains(&"Tshirts") && kinds.contains(&"Casual Shoes"),
        "suggested kinds {kinds:?}"
    );
    // The results keep to one kind.
    let lead = &answer.suggestions[0].kind;
    let same = answer
        .hits
        .iter()
        .filter(|h| f.catalog.label(h.hit.index) == lead)
        .count();
    assert!(
        same * 2 > answer.hits.len(),
        "{same} of {} results are {lead}",
        answer.hits.len()
    );
}
