//! The duplicate tests' catalog: demo photos, transformed copies of some, colour variants of
//! others, same-pose pairs of distinct products and a byte-identical copy.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use lookalike::catalog::Catalog;
use lookalike::embed::load_photo;

use crate::common;
use crate::common::transform::Transform;

/// Demo photo ids of one articleType and colour.
fn ids_of(article: &str, colour: &str) -> Vec<String> {
    let mut r = csv::Reader::from_path(common::demo_catalog().join("labels.csv")).unwrap();
    let h = r.headers().unwrap().clone();
    let at = h.iter().position(|c| c == "articleType").unwrap();
    let bc = h.iter().position(|c| c == "baseColour").unwrap();
    r.records()
        .map(|rec| rec.unwrap())
        .filter(|rec| &rec[at] == article && &rec[bc] == colour)
        .map(|rec| rec[0].to_string())
        .collect()
}

pub fn demo_image(id: &str) -> PathBuf {
    common::demo_catalog()
        .join("images")
        .join(format!("{id}.jpg"))
}

pub struct Built {
    pub tmp: tempfile::TempDir,
    pub catalog: Catalog,
    /// copy file name -> (original file name, how it was made)
    pub copies: HashMap<String, (String, Transform)>,
    /// variant file name -> original file name
    pub variants: Vec<(String, String)>,
    pub white_tees: Vec<String>,
}

/// Two demo products each, photographed on the same model in the same pose and framing: two
/// sweaters (Black, Navy Blue), a V-neck and a turtleneck top (both Black), two blue T-shirts with
/// other prints. Alike enough by the embedding and colour histograms that they were grouped before
/// the fine detail was compared (this catalog has no labels to tell them apart).
pub const SAME_POSE_OTHER_PRODUCT: [(&str, &str); 3] =
    [("13827", "13828"), ("19618", "19634"), ("17932", "18004")];

/// Demo photos full of detail (a plaid backpack, a printed kurta) that a banner across them leaves
/// only 60-75% matching once aligned: found by the detail beside the banner. And a sandal, low and
/// wide, whose banner lies on the white ground beside it: a third of the copy's colour.
pub const BANNERED: [&str; 3] = ["20928", "12083", "13143"];

/// Demo photos whose brighter, more contrasted copy differs in colour by histogram (0.35-0.46)
/// and by hash (14-22 bits): a sneaker, and a light blue shirt clipped near white. Found once the
/// tone edit between them is undone.
pub const BRIGHTENED: [&str; 2] = ["17042", "17580"];

/// Two demo products each whose fine detail lines up as one shot, in other colours beside any
/// overlay: a blue and a black shirt on one model (grouped before the colours beside an overlay
/// were compared: this catalog has no labels to tell them apart), sunglasses with another lens
/// tint (low and wide: their fine detail counts only when those colours agree).
pub const SAME_SHOT_OTHER_COLOUR: [(&str, &str); 2] = [("17554", "17564"), ("17596", "17603")];

/// A catalog of 80 demo photos, every white T-shirt of the demo, one transformed copy of fourteen
/// of the photos (each kind once), banner copies of [`BANNERED`] and brighter ones of
/// [`BRIGHTENED`], colour variants of three others (their garment recoloured: other
/// products), and a byte-identical copy under another name.
pub fn build() -> Built {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("catalog");
    let photos: Vec<PathBuf> = common::demo_photos(2000).into_iter().step_by(25).collect();
    common::copy_photos(&photos, &root);
    let white_tees: Vec<String> = ids_of("Tshirts", "White");
    let same_pose = SAME_POSE_OTHER_PRODUCT
        .iter()
        .chain(&SAME_SHOT_OTHER_COLOUR)
        .flat_map(|(a, b)| [a, b]);
    for id in white_tees
        .iter()
        .map(String::as_str)
        .chain(same_pose.copied())
    {
        std::fs::copy(demo_image(id), root.join(format!("{id}.jpg"))).unwrap();
    }
    let mut copies = HashMap::new();
    for (n, t) in Transform::ALL.iter().enumerate() {
        let original = &photos[n * 5 + 3];
        let rgb = load_photo(original).unwrap().rgb;
        let name = format!("listing-{n}.jpg");
        std::fs::write(root.join(&name), t.apply(&rgb)).unwrap();
        let on = original.file_name().unwrap().to_string_lossy().into_owned();
        copies.insert(name, (on, *t));
    }
    let stamped = BANNERED.map(|id| (id, "bannered", Transform::Text));
    let brightened = BRIGHTENED.map(|id| (id, "brightened", Transform::Recolour));
    for (id, how, t) in stamped.into_iter().chain(brightened) {
        let original = demo_image(id);
        std::fs::copy(&original, root.join(format!("{id}.jpg"))).unwrap();
        let rgb = load_photo(&original).unwrap().rgb;
        let name = format!("{how}-{id}.jpg");
        std::fs::write(root.join(&name), t.apply(&rgb)).unwrap();
        copies.insert(name, (format!("{id}.jpg"), t));
    }
    let mut variants = Vec::new();
    // Photos no copy was made of, from the end.
    for (_, original) in photos.iter().enumerate().rev().filter(|(k, _)| k % 5 != 3) {
        let rgb = load_photo(original).unwrap().rgb;
        if variants.len() < 3
            && let Some(jpeg) = common::transform::colour_variant(&rgb, 130.0)
        {
            let name = format!("other-colour-{}.jpg", variants.len());
            std::fs::write(root.join(&name), jpeg).unwrap();
            variants.push((
                name,
                original.file_name().unwrap().to_string_lossy().into_owned(),
            ));
        }
    }
    assert_eq!(
        variants.len(),
        3,
        "colourful enough demo photos for variants"
    );
    std::fs::copy(&photos[1], root.join("same-bytes-other-name.jpg")).unwrap();
    let db = tmp.path().join("i.sqlite");
    common::cli_index(tmp.path(), &root, &db);
    Built {
        catalog: Catalog::open(&db).unwrap(),
        tmp,
        copies,
        variants,
        white_tees,
    }
}

pub fn index_of(cat: &Catalog, name: &str) -> usize {
    cat.items()
        .iter()
        .position(|it| it.path == Path::new(name))
        .unwrap_or_else(|| panic!("{name} in the catalog"))
}
