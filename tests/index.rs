//! The catalog index: only what changed is embedded, moves and duplicates reuse embeddings,
//! vanished files leave, and labels come from folders and labels.csv.

mod common;

use std::path::Path;
use std::sync::atomic::AtomicBool;

use lookalike::catalog::Catalog;
use lookalike::indexer::{IndexOptions, IndexReport, index_folder};
use lookalike::map::CatalogMap;

fn index(root: &Path, db: &Path) -> IndexReport {
    index_folder(
        root,
        db,
        common::embedder(),
        &IndexOptions {
            batch_size: 4,
            label_field: None,
            exclude: Vec::new(),
        },
        &AtomicBool::new(false),
        |_| {},
    )
    .expect("indexing runs")
}

/// Make the file look modified (new content, new size and time).
fn overwrite(path: &Path, with: &Path) {
    std::fs::write(path, std::fs::read(with).unwrap()).unwrap();
}

#[test]
fn only_new_changed_and_moved_files_are_embedded() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("catalog");
    let db = tmp.path().join("index.sqlite");
    let photos = common::demo_photos(8);
    let files = common::copy_photos(&photos[..6], &root.join("shirts"));

    let first = index(&root, &db);
    assert_eq!(
        (first.scanned, first.embedded, first.failures.len()),
        (6, 6, 0)
    );
    let cat = Catalog::open(&db).unwrap();
    assert_eq!(cat.len(), 6);
    let map = CatalogMap::load(&cat)
        .unwrap()
        .expect("the map is computed and stored with the index");
    assert_eq!(map.len(), 6);
    let q = map.place(&cat.vector(2));
    assert!(
        (q[0] - map.points[2][0]).abs() < 1e-4 && (q[1] - map.points[2][1]).abs() < 1e-4,
        "a query lands where its item is"
    );

    let again = index(&root, &db);
    assert_eq!(
        (again.embedded, again.unchanged, again.removed),
        (0, 6, 0),
        "nothing changed, nothing embedded"
    );

    overwrite(&files[0], &photos[7]);
    let modified = index(&root, &db);
    assert_eq!(
        (modified.embedded, modified.unchanged),
        (1, 5),
        "only the modified photo is embedded"
    );

    std::fs::remove_file(&files[1]).unwrap();
    let deleted = index(&root, &db);
    assert_eq!(
        (deleted.embedded, deleted.removed, deleted.items),
        (0, 1, 5)
    );

    std::fs::create_dir_all(root.join("moved")).unwrap();
    std::fs::rename(&files[2], root.join("moved/renamed.jpg")).unwrap();
    let moved = index(&root, &db);
    assert_eq!(
        (moved.embedded, moved.reused, moved.removed, moved.items),
        (0, 1, 1, 5),
        "a move reuses the embedding"
    );

    let cat = Catalog::open(&db).unwrap();
    let i = cat
        .items()
        .iter()
        .position(|it| it.path == Path::new("moved/renamed.jpg"))
        .expect("moved item is indexed");
    assert_eq!(cat.label(i), "moved", "the label follows the new folder");

    // The new photo added alongside is new content: embedded once.
    common::copy_photos(&photos[6..7], &root.join("shirts"));
    assert_eq!(index(&root, &db).embedded, 1);
}

#[test]
fn an_exact_copy_under_another_name_reuses_the_embedding_and_matches_perfectly() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("c");
    let db = tmp.path().join("i.sqlite");
    let files = common::copy_photos(&common::demo_photos(3), &root);
    index(&root, &db);
    std::fs::copy(&files[0], root.join("copy-of-first.jpg")).unwrap();
    let r = index(&root, &db);
    assert_eq!((r.embedded, r.reused), (0, 1));
    let cat = Catalog::open(&db).unwrap();
    let a = cat.find_path(&files[0]).unwrap();
    let b = cat.find_path(&root.join("copy-of-first.jpg")).unwrap();
    assert!(lookalike::search::dot(&cat.vector(a), &cat.vector(b)) > 0.9999);
}

#[test]
fn labels_csv_columns_become_labels_and_articletype_is_shown() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("c");
    let photos = common::demo_photos(4);
    common::copy_photos(&photos, &root.join("images"));
    // A labels.csv of the demo's form, restricted to these photos.
    let out = common::write_demo_labels(&photos, &root);

    let db = tmp.path().join("i.sqlite");
    index(&root, &db);
    let cat = Catalog::open(&db).unwrap();
    assert_eq!(cat.label_field(), "articleType");
    let first = cat
        .find_path(&root.join("images").join(photos[0].file_name().unwrap()))
        .unwrap();
    let expected = out[1].split(',').nth(4).unwrap();
    assert_eq!(cat.label(first), expected);
    assert!(cat.items()[first].labels.contains_key("baseColour"));
    assert_eq!(cat.items()[first].labels.get("folder"), Some("images"));
}

#[test]
fn a_missing_folder_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let err = index_folder(
        &tmp.path().join("nope"),
        &tmp.path().join("i.sqlite"),
        common::embedder(),
        &IndexOptions::default(),
        &AtomicBool::new(false),
        |_| {},
    )
    .expect_err("an error");
    assert!(
        err.to_string().contains("nope") && err.to_string().contains("does not exist"),
        "{err}"
    );
}

#[test]
fn cancelling_keeps_what_was_written_and_the_next_run_finishes() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("c");
    let db = tmp.path().join("i.sqlite");
    common::copy_photos(&common::demo_photos(20), &root);
    let cancel = AtomicBool::new(false);
    let opts = IndexOptions {
        batch_size: 4,
        label_field: None,
        exclude: Vec::new(),
    };
    let r = index_folder(&root, &db, common::embedder(), &opts, &cancel, |p| {
        if p.done >= 4 {
            cancel.store(true, std::sync::atomic::Ordering::Relaxed);
        }
    })
    .unwrap();
    assert!(r.cancelled);
    assert!(
        r.items >= 4 && r.items < 20,
        "stopped early with the finished batches kept: {}",
        r.items
    );
    let rest = index(&root, &db);
    assert_eq!(rest.items, 20);
    assert_eq!(
        rest.embedded,
        20 - r.items,
        "the second run embeds only the rest"
    );
}

/// `.lookalikeignore` (gitignore syntax) and `--exclude` leave paths out: an excluded folder is
/// not indexed, what was indexed before it was excluded leaves the index (the files stay), and a
/// pattern that cannot be read is named with its file.
#[test]
fn excluded_folders_and_patterns_are_not_indexed() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("catalog");
    let db = tmp.path().join("index.sqlite");
    let photos = common::demo_photos(9);
    common::copy_photos(&photos[..4], &root.join("shop"));
    let drafts = common::copy_photos(&photos[4..7], &root.join("drafts"));
    common::copy_photos(&photos[7..], &root.join("shop/raw"));
    let paths = |db: &Path| -> Vec<String> {
        let mut v: Vec<String> = Catalog::open(db)
            .unwrap()
            .items()
            .iter()
            .map(|it| it.path.display().to_string())
            .collect();
        v.sort();
        v
    };
    assert_eq!(index(&root, &db).items, 9);

    // Excluding a folder afterwards removes its items from the index, not its files.
    std::fs::write(
        root.join(".lookalikeignore"),
        "# drafts are not for sale\ndrafts/\n",
    )
    .unwrap();
    let r = index(&root, &db);
    assert_eq!((r.items, r.removed, r.embedded), (6, 3, 0));
    assert!(paths(&db).iter().all(|p| !p.starts_with("drafts")));
    assert!(
        drafts.iter().all(|f| f.is_file()),
        "excluded files are left alone"
    );

    // --exclude adds patterns of its own, here a folder at any depth.
    let r = index_folder(
        &root,
        &db,
        common::embedder(),
        &IndexOptions {
            exclude: vec!["raw/".into()],
            ..Default::default()
        },
        &AtomicBool::new(false),
        |_| {},
    )
    .unwrap();
    assert_eq!(r.items, 4);
    assert!(
        paths(&db)
            .iter()
            .all(|p| p.starts_with("shop/") && !p.contains("raw"))
    );

    // A pattern that cannot be read stops the run with its file named; the index is kept.
    std::fs::write(root.join(".lookalikeignore"), "{drafts,raw\n").unwrap();
    let err = index_folder(
        &root,
        &db,
        common::embedder(),
        &IndexOptions::default(),
        &AtomicBool::new(false),
        |_| {},
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains(".lookalikeignore") && err.contains("{drafts,raw"),
        "{err}"
    );
    assert_eq!(paths(&db).len(), 4);
}

#[test]
fn the_neighbourhood_map_is_kept_with_the_index_and_stays_put_when_a_photo_is_added() {
    use lookalike::map::NeighbourMap;
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("c");
    let db = tmp.path().join("i.sqlite");
    let photos = common::demo_photos(41);
    common::copy_photos(&photos[..40], &root);
    index(&root, &db);
    let cat = Catalog::open(&db).unwrap();
    let first = NeighbourMap::load(&cat)
        .unwrap()
        .expect("indexing lays out the neighbourhood map and stores it");
    assert_eq!(first.len(), 40);
    assert!(
        first
            .points
            .iter()
            .all(|p| p[0].is_finite() && p[1].is_finite())
    );
    // Opened again, it is read, not fitted again: the very same points.
    let again = NeighbourMap::load(&Catalog::open(&db).unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(again.points, first.points);

    // One photo more: the others keep their places, the new one lands among its nearest.
    common::copy_photos(&photos[40..41], &root);
    index(&root, &db);
    let cat = Catalog::open(&db).unwrap();
    let grown = NeighbourMap::load(&cat).unwrap().unwrap();
    assert_eq!(grown.len(), 41);
    let by_path = |c: &Catalog, m: &NeighbourMap, name: &std::ffi::OsStr| {
        let i = c
            .items()
            .iter()
            .position(|it| it.path.file_name() == Some(name))
            .unwrap();
        m.points[i]
    };
    let old_cat_points: Vec<[f32; 2]> = photos[..40]
        .iter()
        .map(|p| by_path(&cat, &grown, p.file_name().unwrap()))
        .collect();
    let mut old_sorted = first.points.clone();
    let mut kept = old_cat_points.clone();
    old_sorted.sort_by(|a, b| a.partial_cmp(b).unwrap());
    kept.sort_by(|a, b| a.partial_cmp(b).unwrap());
    assert_eq!(kept, old_sorted, "the items already laid out did not move");
    let new = by_path(&cat, &grown, photos[40].file_name().unwrap());
    let (lo, hi) = first
        .points
        .iter()
        .fold(([f32::MAX; 2], [f32::MIN; 2]), |(lo, hi), p| {
            (
                [lo[0].min(p[0]), lo[1].min(p[1])],
                [hi[0].max(p[0]), hi[1].max(p[1])],
            )
        });
    assert!(
        (lo[0]..=hi[0]).contains(&new[0]) && (lo[1]..=hi[1]).contains(&new[1]),
        "the new photo lands inside the map: {new:?}"
    );
    // A query photo lands among its nearest items: its own item's photo lands next to it.
    let i = cat
        .items()
        .iter()
        .position(|it| it.path.file_name() == photos[3].file_name())
        .unwrap();
    let at = grown.place(&cat, &cat.vector(i)).unwrap();
    let span = (hi[0] - lo[0]).max(hi[1] - lo[1]);
    let d = ((at[0] - grown.points[i][0]).powi(2) + (at[1] - grown.points[i][1]).powi(2)).sqrt();
    assert!(
        d < 0.25 * span,
        "query lands {d:.2} from its own item (map span {span:.1})"
    );
}
