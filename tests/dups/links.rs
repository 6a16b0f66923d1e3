//! Links in a catalog: a linked folder and a hard link are other names of the same files.

use lookalike::catalog::Catalog;
use lookalike::dups::{Rule, find_duplicates, trash_plan};

use crate::common;

/// A folder linked inside the catalog and a hard link are other names of the same files, never
/// copies: dups offers nothing for the trash, and the trash refuses a plan that would remove the
/// real file while keeping a link to it.
#[cfg(unix)]
#[test]
fn links_are_one_file_and_never_offered_for_the_trash() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("catalog");
    let photos = common::copy_photos(&common::demo_photos(2000)[..2], &root.join("photos"));
    std::os::unix::fs::symlink("photos", root.join("mirror")).unwrap();
    std::fs::hard_link(&photos[0], root.join("hard.jpg")).unwrap();
    let db = tmp.path().join("i.sqlite");
    let v = common::json_output(
        common::lookalike(tmp.path())
            .args(["index", "--json", "--index"])
            .arg(&db)
            .arg(&root),
    );
    assert_eq!(
        (v["items"].as_u64(), v["aliases"].as_u64()),
        (Some(2), Some(3)),
        "{v:#}"
    );
    let cat = Catalog::open(&db).unwrap();
    let mut paths: Vec<String> = (0..cat.len())
        .map(|i| cat.items()[i].path.to_string_lossy().into_owned())
        .collect();
    paths.sort();
    // The linked folder's names are never items; of two hard links (both real names) the shorter.
    let second = format!(
        "photos/{}",
        photos[1].file_name().unwrap().to_string_lossy()
    );
    assert_eq!(
        paths,
        vec!["hard.jpg".to_string(), second],
        "the real names are the items"
    );
    let v = common::json_output(
        common::lookalike(tmp.path())
            .args(["dups", "--json", "--index"])
            .arg(&db),
    );
    assert_eq!(v["groups"].as_array().unwrap().len(), 0, "{v:#}");

    // An index that still lists a link beside the real file (made before links were merged, or the
    // folder changed since): the trash refuses to remove the real file and keep the link.
    let copy = root.join("copy.jpg");
    std::fs::copy(&photos[1], &copy).unwrap();
    common::cli_index(tmp.path(), &root, &db);
    let cat = Catalog::open(&db).unwrap();
    let groups = find_duplicates(&cat, &Rule::default()).unwrap();
    let g = groups
        .iter()
        .find(|g| g.items.len() == 2)
        .expect("copy.jpg and its original");
    let real = *g
        .items
        .iter()
        .find(|&&i| cat.items()[i].path.starts_with("photos"))
        .unwrap();
    let other = *g.items.iter().find(|&&i| i != real).unwrap();
    std::fs::remove_file(&copy).unwrap();
    std::os::unix::fs::symlink(cat.abs_path(real), &copy).unwrap();
    let err = trash_plan(&cat, &groups, &[real]).unwrap_err();
    assert!(err.to_string().contains("last real copy"), "{err}");
    assert!(
        err.to_string()
            .contains(&*cat.abs_path(other).to_string_lossy()),
        "{err}"
    );
    // Marking the link itself is fine: the real file stays.
    assert_eq!(
        trash_plan(&cat, &groups, &[other]).unwrap(),
        vec![cat.abs_path(other)]
    );
}
