//! The duplicates view on a brighter, more contrasted copy: the original is the suggested keeper,
//! and the compare panel says which photo is the other brightened.

use super::{common, open_duplicates, settle};
use egui_kittest::kittest::Queryable;

#[test]
fn a_brighter_copy_is_grouped_behind_its_original_and_the_panel_names_the_edit() {
    let tmp = tempfile::tempdir().unwrap();
    let folder = tmp.path().join("catalog");
    common::copy_photos(&common::demo_photos(12), &folder);
    // A light blue shirt, brightened until it clips near white (a larger file than its original).
    let original = common::demo_catalog().join("images").join("17580.jpg");
    std::fs::copy(&original, folder.join("17580.jpg")).unwrap();
    let rgb = lookalike::embed::load_photo(&original).unwrap().rgb;
    let brighter = common::transform::Transform::Recolour.apply(&rgb);
    std::fs::write(folder.join("brighter.jpg"), brighter).unwrap();
    let mut h = open_duplicates(&folder, &tmp.path().join("indexes"));
    let groups = h.state().duplicate_groups();
    let cat = h.state().catalog().unwrap();
    let name = |i: usize| cat.items()[i].path.display().to_string();
    let group = groups
        .iter()
        .find(|g| g.items.iter().any(|&i| name(i) == "brighter.jpg"))
        .expect("the brighter copy is grouped");
    assert_eq!(
        name(group.keeper()),
        "17580.jpg",
        "the original is the keeper"
    );
    // Clicked copy first: the panel still says which is the brightened one.
    h.get_by_label("Duplicate brighter.jpg").click();
    h.step();
    h.get_by_label("Duplicate 17580.jpg").click();
    settle(&mut h);
    h.get_by_label_contains("Tones: brighter.jpg is 17580.jpg brighter, with more contrast");
}
