//! The window, driven headless with egui_kittest: the real app state, a small real catalog that the
//! app indexes itself, and the real model end to end (tests about what the window does, not what
//! the model finds, use `open_fake`: an embedder of colours, no ONNX Runtime). Snapshots render on
//! the CPU (wgpu on lavapipe).

mod common;
#[path = "gui/tones.rs"]
mod tones;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use egui_kittest::kittest::Queryable;
use egui_kittest::{Harness, SnapshotOptions};
use lookalike::app::{AppConfig, LookalikeApp};

/// A file dropped on the window.
#[derive(Debug)]
struct Dropped(PathBuf);

impl egui::DroppedFile for Dropped {
    fn path(&self) -> &Path {
        &self.0
    }
    fn bytes(&self) -> Result<Vec<u8>, String> {
        std::fs::read(&self.0).map_err(|e| e.to_string())
    }
}

struct Fixture {
    _tmp: tempfile::TempDir,
    folder: PathBuf,
    index_dir: PathBuf,
    /// A copy of one catalog photo, outside the catalog.
    outside: PathBuf,
    original: PathBuf,
}

/// 40 demo photos with their labels.csv rows.
fn fixture() -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let folder = tmp.path().join("catalog");
    let photos = common::demo_photos(40);
    let files = common::copy_photos(&photos, &folder);
    common::write_demo_labels(&photos, &folder);
    let outside = tmp.path().join("from-a-shop.jpg");
    std::fs::copy(&files[5], &outside).unwrap();
    let index_dir = tmp.path().join("indexes");
    Fixture {
        _tmp: tmp,
        folder,
        index_dir,
        outside,
        original: files[5].clone(),
    }
}

fn harness(config: AppConfig) -> Harness<'static, LookalikeApp> {
    Harness::builder()
        .with_size([1400.0, 860.0])
        .wgpu()
        .build_eframe(move |cc| LookalikeApp::new(cc, config))
}

fn open(f: &Fixture) -> Harness<'static, LookalikeApp> {
    open_with(f, None)
}

/// [`open`] with an embedder that needs no model (see `common::fake_embedder`).
fn open_fake(f: &Fixture) -> Harness<'static, LookalikeApp> {
    open_with(f, Some(Arc::new(common::fake_embedder)))
}

fn open_with(
    f: &Fixture,
    embedder: Option<lookalike::app::EmbedderFactory>,
) -> Harness<'static, LookalikeApp> {
    let mut h = harness(AppConfig {
        folder: Some(f.folder.clone()),
        index_dir: Some(f.index_dir.clone()),
        embedder,
        ..Default::default()
    });
    settle(&mut h);
    assert_eq!(
        h.state().catalog().map(|c| c.len()),
        Some(40),
        "the app indexed and opened the catalog"
    );
    h
}

/// The app on `folder` (indexed into `index_dir`), in its Duplicates view once they are found.
fn open_duplicates(folder: &Path, index_dir: &Path) -> Harness<'static, LookalikeApp> {
    let mut h = harness(AppConfig {
        folder: Some(folder.to_path_buf()),
        index_dir: Some(index_dir.to_path_buf()),
        ..Default::default()
    });
    settle(&mut h);
    h.get_by_label("Duplicates").click();
    h.step();
    settle(&mut h);
    h
}

/// Step frames until the background work is done (the harness does not wait for other threads),
/// and stays done through a few more frames (thumbnails asked for by the last layout).
fn settle(h: &mut Harness<'static, LookalikeApp>) {
    let start = Instant::now();
    loop {
        h.step();
        if !h.state().busy() {
            // A few more frames for thumbnails and layout; done when nothing new started.
            for _ in 0..10 {
                std::thread::sleep(Duration::from_millis(20));
                h.step();
            }
            if !h.state().busy() {
                break;
            }
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "background work did not finish"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn drop_file(h: &mut Harness<'static, LookalikeApp>, path: &Path) {
    h.input_mut()
        .dropped_files
        .push(Arc::new(Dropped(path.to_path_buf())));
    h.step();
    settle(h);
}

#[test]
fn dropping_a_photo_shows_k_lookalikes_with_scores_and_labels() {
    let f = fixture();
    let mut h = open_fake(&f);
    drop_file(&mut h, &f.outside);
    let cards = h.get_all_by_label_contains("Look-alike ").count();
    assert_eq!(cards, 12, "the default K");
    let results = h.state().results();
    let cat = h.state().catalog().unwrap();
    let best = results[0].0;
    assert_eq!(
        cat.abs_path(best).file_name(),
        f.original.file_name(),
        "the copied photo's original is found"
    );
    assert!(
        results[0].1 > 0.999,
        "the original of a copied photo comes first"
    );
    // The card gives the product's name, its colour and its kind, and the score.
    let labels = &cat.items()[best].labels;
    // A copy of a catalog photo is a very close match.
    let label = format!(
        "Look-alike 1: {}, {} · {}, score {:.3}, very close",
        &labels["productDisplayName"],
        &labels["baseColour"],
        cat.label(best),
        results[0].1
    );
    h.get_by_label(&label);
    h.get_by_label_contains("Query: from-a-shop.jpg");
    h.get_by_label_contains("Query: embed");
}

#[test]
fn learning_from_labels_shows_the_predicted_label_and_can_keep_results_to_it() {
    let f = fixture();
    let mut h = open(&f);
    assert!(h.state().style().is_none());
    h.get_by_label("Learn from labels").click();
    h.step();
    settle(&mut h);
    assert!(
        h.state().style().is_some(),
        "the learned head is stored and the catalog reloaded with it"
    );
    // The first learned column is the one the category filter follows.
    let column = h.state().style().unwrap().column_names()[0].clone();
    drop_file(&mut h, &f.outside);
    let cat = h.state().catalog().unwrap();
    let original = cat.find_path(&f.original).unwrap();
    let truth = cat.items()[original].labels[column.as_str()].to_string();
    let words = lookalike::query::filter::human_column(&column).to_lowercase();
    h.get_by_label(&format!("Predicted {words}: {truth}"));
    // Cross-validated while learning: its accuracy in words, not a loss.
    h.get_by_label_contains(&format!("Predicts the {words} right "));

    // The panel scrolls to the switch (the predictions above it are tall).
    h.get_by_label(&format!("Only one {words}:")).scroll_to_me();
    h.run_steps(20);
    h.get_by_label(&format!("Only one {words}:")).click();
    h.step();
    settle(&mut h);
    // Each item's label in the column, read once (the catalog is the harness's).
    let label_of: Vec<Option<String>> = h
        .state()
        .catalog()
        .unwrap()
        .items()
        .iter()
        .map(|it| it.labels.get(column.as_str()).map(str::to_string))
        .collect();
    let results = h.state().results();
    assert!(!results.is_empty());
    for &(i, _) in &results {
        assert_eq!(label_of[i].as_deref(), Some(truth.as_str()));
    }

    // Another category chosen from the list: the grid changes to that one.
    let other = {
        let mut counts = std::collections::BTreeMap::<&str, usize>::new();
        for l in label_of.iter().flatten() {
            if *l != truth {
                *counts.entry(l.as_str()).or_default() += 1;
            }
        }
        let (l, _) = counts.into_iter().max_by_key(|&(_, n)| n).unwrap();
        l.to_string()
    };
    h.get_by_label(&format!("{truth} (predicted)"))
        .click_accesskit();
    h.run_steps(4);
    h.get_by_label(&other).hover();
    h.run_steps(4);
    h.get_by_label(&other).click();
    h.step();
    settle(&mut h);
    let chosen = h.state().results();
    assert!(!chosen.is_empty());
    assert_ne!(chosen, results, "the grid changed");
    for &(i, _) in &chosen {
        assert_eq!(label_of[i].as_deref(), Some(other.as_str()));
    }
    // A new photo follows its own prediction again.
    drop_file(&mut h, &f.outside);
    h.get_by_label(&format!("{truth} (predicted)"));
    for (i, _) in h.state().results() {
        assert_eq!(label_of[i].as_deref(), Some(truth.as_str()));
    }
}

#[test]
fn a_selected_result_becomes_the_query_with_enter_and_the_filter_narrows_the_grid() {
    let f = fixture();
    let mut h = open_fake(&f);
    drop_file(&mut h, &f.outside);
    let second = h.state().results()[1].0;
    h.get_by_label_contains("Look-alike 2:").click();
    h.run_steps(2);
    h.get_by_label_contains("Selected: #2");
    h.key_press(egui::Key::Enter);
    settle(&mut h);
    let cat = h.state().catalog().unwrap();
    let title = format!(
        "Query: {} ({})",
        cat.label(second),
        cat.items()[second].path.display()
    );
    h.get_by_label(&title);
    assert!(
        !h.state().results().iter().any(|(i, _)| *i == second),
        "an item is not its own look-alike"
    );

    // Filter by the gender of the current best look-alike, exactly: "Men" keeps no "Women".
    let cat = h.state().catalog().unwrap();
    let genders: Vec<String> = (0..cat.len())
        .map(|i| {
            cat.items()[i]
                .labels
                .get("gender")
                .unwrap_or("")
                .to_string()
        })
        .collect();
    let gender = |i: usize| genders[i].clone();
    let wanted = gender(h.state().results()[0].0);
    let with_gender = (0..genders.len()).filter(|&i| gender(i) == wanted).count();
    let shown_before = h.state().results();
    h.get_by_label("Filter:").click();
    h.step();
    h.get_by_label("Filter:")
        .type_text(&format!("gender = {}", wanted.to_lowercase()));
    h.step();
    settle(&mut h);
    let results = h.state().results();
    assert!(
        !results.is_empty() && results.len() <= (with_gender - 1).min(12),
        "{} results for gender {wanted}",
        results.len()
    );
    assert!(results.iter().all(|(i, _)| gender(*i) == wanted));
    assert_ne!(results, shown_before, "the filter changed the grid");
    // The filter says it is on and how many items it keeps.
    assert_eq!(h.state().filter_keeps(), Some(with_gender));
    h.get_by_label(&format!("{with_gender} of 40"));
    h.get_by_label_contains("Filter on: gender =");
    // Esc leaves the filter box and keeps the query and its results.
    h.key_press(egui::Key::Escape);
    h.run_steps(2);
    assert_eq!(
        h.state().results(),
        results,
        "Esc in the filter keeps the results"
    );
    assert!(h.state().earlier_queries() > 0);
    h.get_by_label(&title);
    // Clearing the filter gives the whole catalog back.
    h.get_by_label("Clear filter").click();
    settle(&mut h);
    assert_eq!(h.state().filter_keeps(), None);
    assert!(
        h.state()
            .results()
            .iter()
            .any(|(i, _)| gender(*i) != wanted)
    );
}

/// The filter's list of columns and values: choosing a value keeps exactly those items.
#[test]
fn choosing_a_value_from_the_filter_list_keeps_those_items() {
    let f = fixture();
    let mut h = open_fake(&f);
    drop_file(&mut h, &f.outside);
    let cat = h.state().catalog().unwrap();
    let colours: Vec<String> = (0..cat.len())
        .map(|i| {
            cat.items()[i]
                .labels
                .get("baseColour")
                .unwrap_or("")
                .to_string()
        })
        .collect();
    let colour = |i: usize| colours[i].clone();
    // The most common colour of the catalog is the first value listed.
    let mut counts: std::collections::HashMap<String, usize> = Default::default();
    for i in 0..colours.len() {
        *counts.entry(colour(i)).or_default() += 1;
    }
    let (top, n) = counts
        .into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))
        .unwrap();
    h.get_by_label("Pick…").click();
    h.run_steps(2);
    h.get_by_role_and_label(egui::accesskit::Role::Button, "Colour")
        .hover();
    h.run_steps(4);
    h.get_by_role_and_label(egui::accesskit::Role::Button, "Colour")
        .click();
    h.run_steps(4);
    h.get_by_label(&format!("{top} ({n})")).click();
    settle(&mut h);
    assert_eq!(h.state().filter_keeps(), Some(n));
    let results = h.state().results();
    assert!(!results.is_empty());
    assert!(
        results.iter().all(|(i, _)| colour(*i) == top),
        "only {top} items"
    );
    h.get_by_label_contains(&format!("Filter on: baseColour = {top}"));
}

/// The look-alikes use the window: at 1280x720 three columns or more, at 1920x1080 larger cards
/// that still all fit; Ctrl+wheel makes them larger; hiding the map gives its room to them.
#[test]
fn the_look_alikes_take_the_room_the_window_gives_them() {
    let f = fixture();
    let mut sizes = Vec::new();
    let mut snapshots = egui_kittest::SnapshotResults::new();
    for (w, hgt, name) in [
        (1280.0, 720.0, "results_1280x720"),
        (1920.0, 1080.0, "results_1920x1080"),
    ] {
        let mut h = Harness::builder().with_size([w, hgt]).wgpu().build_eframe({
            let config = AppConfig {
                folder: Some(f.folder.clone()),
                index_dir: Some(f.index_dir.clone()),
                embedder: Some(Arc::new(common::fake_embedder)),
                ..Default::default()
            };
            move |cc| LookalikeApp::new(cc, config)
        });
        settle(&mut h);
        drop_file(&mut h, &f.outside);
        let (columns, thumb) = h.state().grid_layout();
        assert!(columns >= 3, "{columns} columns at {w}x{hgt}");
        sizes.push((columns, thumb));
        h.snapshot_options(name, &snapshot_options());
        if w > 1900.0 {
            // Ctrl+wheel over the grid: larger cards, fewer a row.
            let card = h.get_by_label_contains("Look-alike 1:").rect().center();
            h.hover_at(card);
            h.event(egui::Event::Zoom(1.6));
            h.run_steps(3);
            let (zoomed_columns, zoomed) = h.state().grid_layout();
            assert!(
                zoomed > thumb * 1.4 && zoomed_columns < columns,
                "{zoomed} {zoomed_columns}"
            );
            // Hiding the map gives the cards its width.
            h.get_by_label("Hide map").click();
            h.run_steps(3);
            assert!(!h.state().map_is_shown());
            assert!(h.state().grid_layout().0 > zoomed_columns);
            h.get_by_label("Show map").click();
            h.run_steps(3);
        }
        snapshots.extend(h.take_snapshot_results());
    }
    assert!(
        sizes[1].1 > sizes[0].1 * 1.2,
        "larger cards on a larger window: {sizes:?}"
    );
}

/// Maximising the window (1400 to 2100 points wide): the map keeps its share of the width, not a
/// strip beside a vast grid; the query panel keeps its width.
#[test]
fn a_maximised_window_keeps_the_maps_share() {
    let f = fixture();
    let mut h = open_fake(&f);
    let left =
        |h: &Harness<'static, LookalikeApp>, label: &str| h.get_by_label(label).rect().left();
    let (map, grid) = (left(&h, "Map"), left(&h, "Hide map"));
    let share = (1400.0 - map) / 1400.0;
    assert!(share > 0.2, "the map starts with {share:.2} of the window");
    h.set_size(egui::vec2(2100.0, 860.0));
    h.run_steps(4);
    let wider = (2100.0 - left(&h, "Map")) / 2100.0;
    assert!(
        (wider - share).abs() < 0.02,
        "the map had {share:.2} of the window, {wider:.2} once maximised"
    );
    assert!(
        (left(&h, "Hide map") - grid).abs() < 2.0,
        "the query panel keeps its width"
    );
}

#[test]
fn hovering_a_map_point_shows_its_label_and_path() {
    let f = fixture();
    let mut h = open_fake(&f);
    let cat = h.state().catalog().unwrap();
    let map = h.state().map_points().expect("the map is shown").to_vec();
    assert_eq!(map.len(), 40);
    // The point farthest from the others, so no neighbour is nearer the pointer.
    let i = (0..cat.len())
        .max_by(|&a, &b| {
            let d = |x: usize| {
                (0..cat.len())
                    .filter(|&y| y != x)
                    .map(|y| (map[x][0] - map[y][0]).powi(2) + (map[x][1] - map[y][1]).powi(2))
                    .fold(f32::MAX, f32::min)
            };
            d(a).total_cmp(&d(b))
        })
        .unwrap();
    let text = format!("{} — {}", cat.label(i), cat.items()[i].path.display());
    let pos = h.state().map_position(i).expect("the map was drawn");
    h.hover_at(pos);
    // Tooltips open after a short delay of frames.
    h.run_steps(60);
    h.get_by_label(&text);
}

#[test]
fn a_broken_photo_shows_an_error_and_the_window_keeps_working() {
    let f = fixture();
    let mut h = open_fake(&f);
    let bad = f.index_dir.join("notes.jpg");
    std::fs::create_dir_all(&f.index_dir).unwrap();
    std::fs::write(&bad, "shopping list").unwrap();
    drop_file(&mut h, &bad);
    h.get_by_label_contains("notes.jpg: not an image");
    drop_file(&mut h, &f.outside);
    assert_eq!(h.state().results().len(), 12, "the next query works");
    assert!(
        h.state().error().is_none(),
        "a new query clears the old error"
    );
}

#[test]
fn a_missing_model_is_explained_instead_of_crashing() {
    let f = fixture();
    let mut ghost = lookalike::model::default_model().unwrap();
    ghost.file = "missing-model.onnx".into();
    let mut h = harness(AppConfig {
        folder: Some(f.folder.clone()),
        index_dir: Some(f.index_dir.clone()),
        model: Some(ghost),
        ..Default::default()
    });
    settle(&mut h);
    h.get_by_label_contains("Run `./run setup`");
    drop_file(&mut h, &f.outside);
    assert!(h.state().results().is_empty());
}

#[test]
fn with_no_catalog_the_window_says_what_to_do() {
    let tmp = tempfile::tempdir().unwrap();
    let mut h = harness(AppConfig {
        index_dir: Some(tmp.path().to_path_buf()),
        ..Default::default()
    });
    settle(&mut h);
    h.get_by_label("No catalog open");
    h.get_by_label("Open the demo catalog");
    h.snapshot_options("no_catalog", &snapshot_options());
}

#[test]
fn snapshot_of_a_query_with_its_lookalikes_and_the_map() {
    let f = fixture();
    let mut h = open(&f);
    drop_file(&mut h, &f.outside);
    // Once more: sharper thumbnails asked for by the last layout arrive before the picture.
    settle(&mut h);
    h.snapshot_options("query_results_and_map", &snapshot_options());
}

fn snapshot_options() -> SnapshotOptions {
    // The app's own rendering on lavapipe. The slack covers the query's timing digits in the status
    // bar (a few dozen pixels each); a layout change moves many thousands.
    SnapshotOptions::new().threshold(1.0).max_failed_pixels(600)
}

#[test]
fn pasting_an_image_copied_from_a_web_page_finds_its_lookalikes() {
    let f = fixture();
    let mut h = open(&f);
    // What the window system delivers for Ctrl+V with an image on the clipboard.
    let rgba = image::open(&f.original).unwrap().into_rgba8();
    let img = egui::ColorImage::from_rgba_unmultiplied(
        [rgba.width() as usize, rgba.height() as usize],
        rgba.as_raw(),
    );
    h.event(egui::Event::PasteImage(Arc::new(img)));
    h.step();
    settle(&mut h);
    h.get_by_label("Query: pasted image");
    let results = h.state().results();
    let cat = h.state().catalog().unwrap();
    assert_eq!(
        cat.abs_path(results[0].0).file_name(),
        f.original.file_name(),
        "the pasted product is found first"
    );
    assert!(results[0].1 > 0.98, "score {}", results[0].1);
}

#[test]
fn the_duplicates_view_groups_copies_exports_marked_items_and_keeps_the_last_copy() {
    let tmp = tempfile::tempdir().unwrap();
    let folder = tmp.path().join("catalog");
    let photos = common::demo_photos(20);
    common::copy_photos(&photos, &folder);
    std::fs::copy(&photos[0], folder.join("again.jpg")).unwrap();
    let rgb = lookalike::embed::load_photo(&photos[3]).unwrap().rgb;
    std::fs::write(
        folder.join("mirrored.jpg"),
        common::transform::Transform::Mirror.apply(&rgb),
    )
    .unwrap();
    let mut h = open_duplicates(&folder, &tmp.path().join("indexes"));
    assert_eq!(h.state().duplicate_groups().len(), 2);
    h.get_by_label_contains("2 groups, 4 items");
    h.get_by_label("Duplicate again.jpg");
    // Before the compare panel shows paths (a temp dir) and dates, which change from run to run.
    h.snapshot_options("duplicates_view", &snapshot_options());
    h.get_by_label("Duplicate mirrored.jpg").click();
    h.step();
    h.get_by_label(&format!(
        "Duplicate {}",
        photos[3].file_name().unwrap().to_string_lossy()
    ))
    .click();
    settle(&mut h);
    h.get_by_label_contains("Embedding similarity");

    // Large: both photos at full size, one wheel zooms both, Esc closes and the groups stay.
    h.get_by_label("Compare large…").click();
    h.step();
    settle(&mut h);
    assert_eq!(h.state().large_compare(), Some((1.0, 2)));
    let centre = h.ctx.content_rect().center();
    h.input_mut()
        .events
        .push(egui::Event::PointerMoved(centre - egui::vec2(200.0, 0.0)));
    for _ in 0..3 {
        h.input_mut().events.push(egui::Event::MouseWheel {
            unit: egui::MouseWheelUnit::Point,
            delta: egui::vec2(0.0, 50.0),
            phase: egui::TouchPhase::Move,
            source: egui::MouseWheelSource::Unknown,
            modifiers: egui::Modifiers::NONE,
        });
        h.run_steps(4);
    }
    let (zoom, _) = h.state().large_compare().unwrap();
    assert!(zoom > 1.3, "zoom {zoom}");
    h.key_press(egui::Key::Escape);
    h.run_steps(2);
    assert_eq!(h.state().large_compare(), None);
    assert_eq!(h.state().duplicate_groups().len(), 2);

    // Mark the byte-identical copy and export: the CSV lists it with its keeper.
    h.get_by_label("Mark again.jpg").click();
    h.step();
    assert_eq!(h.state().marked().len(), 1);
    let csv = tmp.path().join("marked.csv");
    h.state_mut().export_marked(&csv);
    let text = std::fs::read_to_string(&csv).unwrap();
    assert_eq!(text.lines().count(), 2, "{text}");
    assert!(text.contains("again.jpg"), "{text}");

    // Marking the other copy too: the trash refuses, naming the files, and nothing is deleted.
    let first = photos[0]
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    h.get_by_label(&format!("Mark {first}")).click();
    h.step();
    h.get_by_label("Move marked to trash…").click();
    h.run_steps(2);
    let err = h.state().error().unwrap_or_default().to_string();
    assert!(
        err.contains("keep at least one") && err.contains("again.jpg"),
        "{err}"
    );
    assert!(folder.join("again.jpg").exists() && folder.join(&first).exists());

    // "Mark all but…" the largest: one of each group marked, never a keeper.
    h.get_by_label("Mark all but…").click();
    h.run_steps(2);
    h.get_by_label("the largest of each group").click();
    h.run_steps(2);
    let groups = h.state().duplicate_groups().to_vec();
    let marked = h.state().marked();
    assert_eq!(marked.len(), 2, "{marked:?}");
    assert!(groups.iter().all(|g| !marked.contains(&g.keeper())));

    // "Not duplicates" on a group: it goes, and the decision is kept in the index.
    let kept_apart = groups[0].items.clone();
    h.get_all_by_label("Not duplicates").next().unwrap().click();
    h.run_steps(2);
    assert_eq!(h.state().duplicate_groups().len(), 1);
    assert!(
        h.state().duplicate_groups()[0].items != kept_apart,
        "the other group stays"
    );
    let cat = h.state().catalog().unwrap();
    assert_eq!(cat.store().not_duplicates().unwrap().len(), 1);

    // Listed, and taken back: the group comes back and the index forgets the decision.
    h.get_by_label("Kept apart (1)…").click();
    h.run_steps(2);
    h.get_by_label_contains("1 pair kept apart: never suggested as duplicates");
    h.get_by_label("Not apart any more").click();
    h.run_steps(2);
    assert_eq!(h.state().duplicate_groups().len(), 2);
    let cat = h.state().catalog().unwrap();
    assert!(cat.store().not_duplicates().unwrap().is_empty());
}

fn button(pos: egui::Pos2, pressed: bool) -> egui::Event {
    egui::Event::PointerButton {
        pos,
        button: egui::PointerButton::Primary,
        pressed,
        modifiers: egui::Modifiers::NONE,
    }
}

/// Press the primary button at `from` and move to `to` in a few steps, keeping it down.
fn press_and_move(h: &mut Harness<'static, LookalikeApp>, from: egui::Pos2, to: egui::Pos2) {
    h.input_mut().events.push(egui::Event::PointerMoved(from));
    h.step();
    h.input_mut().events.push(button(from, true));
    h.step();
    for t in [0.25, 0.5, 0.75, 1.0] {
        h.input_mut()
            .events
            .push(egui::Event::PointerMoved(from + (to - from) * t));
        h.step();
    }
}

fn release(h: &mut Harness<'static, LookalikeApp>, at: egui::Pos2) {
    h.input_mut().events.push(button(at, false));
    h.step();
}

/// A street photo with a T-shirt on the left and a shoe on the right: the window offers both kinds
/// as regions, a box dragged around one garment gives its look-alikes, Esc drops the box but keeps
/// the query, and clicking a suggested region searches it.
#[test]
fn a_box_dragged_on_a_street_photo_searches_that_garment() {
    let f = fixture();
    let mut h = open(&f);
    let cat = h.state().catalog().unwrap();
    let of_kind = |k: &str| {
        (0..cat.len())
            .find(|&i| cat.label(i) == k)
            .map(|i| cat.abs_path(i))
            .unwrap()
    };
    let (tee, shoe) = (of_kind("Tshirts"), of_kind("Casual Shoes"));
    let mut scene = image::open(common::scenes::scene_photo("grass.png"))
        .unwrap()
        .to_rgb8();
    let (w, hgt) = scene.dimensions();
    let side = (w / 2).min(hgt / 2);
    let mut boxes = Vec::new();
    for (item, x) in [(&tee, 0), (&shoe, w / 2)] {
        let cut = common::scenes::cut_out(item).unwrap();
        scene = common::scenes::compose_at(&cut, &scene, x, hgt / 4, side);
        let (cw, ch) = cut.rgb.dimensions();
        let s = side as f32 / cw.max(ch) as f32;
        boxes.push([x as f32, (hgt / 4) as f32, cw as f32 * s, ch as f32 * s]);
    }
    let street = f.index_dir.join("street.png");
    std::fs::create_dir_all(&f.index_dir).unwrap();
    scene.save(&street).unwrap();
    drop_file(&mut h, &street);
    let kinds = h.state().suggested_kinds();
    assert!(
        kinds.contains(&"Tshirts".to_string()) && kinds.contains(&"Casual Shoes".to_string()),
        "{kinds:?}"
    );
    let first = h.state().results()[0].0;

    // A box around the shoe, dragged on the photo: the shoe's original comes first.
    let photo = h
        .get_by_label("Query photo: drag a box around the garment to search it")
        .rect();
    let at = |x: f32, y: f32| {
        photo.min
            + egui::vec2(
                x / w as f32 * photo.width(),
                y / hgt as f32 * photo.height(),
            )
    };
    // Around the garment whose kind the automatic results do not show.
    let cat = h.state().catalog().unwrap();
    let (target, kind, [x, y, bw, bh]) = if cat.label(first) == "Tshirts" {
        (shoe.clone(), "Casual Shoes", boxes[1])
    } else {
        (tee.clone(), "Tshirts", boxes[0])
    };
    // Results follow the box while it is still being dragged...
    press_and_move(&mut h, at(x, y), at(x + bw, y + bh));
    // The first live search (of the box as it was a quarter of the way) answers, then the box
    // as it is now is searched.
    settle(&mut h);
    settle(&mut h);
    let cat = h.state().catalog().unwrap();
    assert_eq!(
        cat.abs_path(h.state().results()[0].0),
        target,
        "live results while the button is down"
    );
    // ...and the box stays the query's region when it is released.
    release(&mut h, at(x + bw, y + bh));
    settle(&mut h);
    assert!(
        h.state().query_box().is_some(),
        "the box is the query's region"
    );
    let cat = h.state().catalog().unwrap();
    let best = h.state().results()[0].0;
    assert_eq!(
        cat.abs_path(best),
        target,
        "the boxed garment is found first"
    );
    assert_eq!(cat.label(best), kind);

    // Esc drops the box, not the query.
    h.key_press(egui::Key::Escape);
    settle(&mut h);
    assert!(h.state().query_box().is_none());
    h.get_by_label("Query: street.png");
    assert_eq!(
        h.state().results()[0].0,
        first,
        "back to the automatic regions"
    );
    // Esc again, with nothing left to close: the query stays.
    h.key_press(egui::Key::Escape);
    settle(&mut h);
    h.get_by_label("Query: street.png");
    assert_eq!(h.state().results()[0].0, first);

    // A suggested region, clicked, is searched alone.
    h.get_by_label(&format!("Search the {kind} in the photo"))
        .click();
    settle(&mut h);
    assert!(h.state().query_box().is_some());
    let cat = h.state().catalog().unwrap();
    assert_eq!(cat.label(h.state().results()[0].0), kind);
    let boxed = h.state().query_box();
    let boxed_results = h.state().results();

    // Another photo replaces the query; Back (Alt+Left) returns to the street photo, its box and
    // its look-alikes, without losing them.
    drop_file(&mut h, &f.outside);
    assert!(h.state().query_box().is_none());
    assert_eq!(h.state().earlier_queries(), 1);
    h.key_press_modifiers(egui::Modifiers::ALT, egui::Key::ArrowLeft);
    settle(&mut h);
    h.get_by_label("Query: street.png");
    assert_eq!(
        h.state().query_box(),
        boxed,
        "the region comes back with the query"
    );
    assert_eq!(h.state().results(), boxed_results);
    assert_eq!(h.state().earlier_queries(), 0);
    // Forward (Alt+Right) returns to the photo Back left.
    assert_eq!(h.state().later_queries(), 1);
    h.key_press_modifiers(egui::Modifiers::ALT, egui::Key::ArrowRight);
    settle(&mut h);
    h.get_by_label("Query: from-a-shop.jpg");
    assert!(h.state().query_box().is_none());
    assert_eq!(h.state().earlier_queries(), 1);
    h.get_by_label("Back").click();
    settle(&mut h);
    h.get_by_label("Query: street.png");
}

/// Without a system file dialog (no desktop portal), Ctrl+O opens the window's own picker: it
/// starts in the catalog's folder, refuses a path that is not a photo and says why, and searches
/// the photo typed or clicked.
#[test]
fn the_own_file_picker_opens_a_photo_when_the_system_dialog_cannot() {
    let f = fixture();
    let mut h = harness(AppConfig {
        folder: Some(f.folder.clone()),
        index_dir: Some(f.index_dir.clone()),
        builtin_file_picker: true,
        ..Default::default()
    });
    settle(&mut h);
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::O);
    h.step();
    h.step();
    h.get_by_label("Find look-alikes of a photo");
    // The catalog's photos are listed.
    let name = f
        .original
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    h.get_by_label(&name);

    // A path that is no photo: the picker stays, with the reason.
    h.get_by_label("Path:").focus();
    h.step();
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.get_by_label("Path:").type_text("/no/such/photo.jpg");
    h.step();
    h.get_by_label("Search").click();
    h.step();
    h.step();
    h.get_by_label_contains("is not a photo file");

    // The photo from outside the catalog, typed: its original comes first.
    h.get_by_label("Path:").focus();
    h.step();
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.get_by_label("Path:")
        .type_text(&f.outside.to_string_lossy());
    h.step();
    h.get_by_label("Search").click();
    h.step();
    settle(&mut h);
    assert!(
        h.query_by_label("Find look-alikes of a photo").is_none(),
        "the picker closed"
    );
    let cat = h.state().catalog().unwrap();
    assert_eq!(cat.abs_path(h.state().results()[0].0), f.original);
}

#[test]
fn a_shared_catalog_opens_from_its_address_and_browses_without_the_photos() {
    let f = fixture();
    let pg = common::pg::PgServer::start();
    common::cli_index(f.index_dir.parent().unwrap(), &f.folder, Path::new(&pg.url));
    // This laptop has no copy of the catalog's photos.
    std::fs::remove_dir_all(&f.folder).unwrap();
    let mut h = harness(AppConfig {
        index_dir: Some(f.index_dir.clone()),
        ..Default::default()
    });
    settle(&mut h);
    // On the empty window, and in the Catalog menu.
    h.get_by_label("Catalog").click();
    h.step();
    h.step();
    assert_eq!(h.get_all_by_label("Open a shared catalog…").count(), 2);
    h.get_all_by_label("Open a shared catalog…")
        .next()
        .unwrap()
        .click();
    for _ in 0..3 {
        h.step();
    }
    h.get_by_label("Address:").focus();
    h.step();
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    // A password typed into the address is used, and never kept or shown.
    let with_password = pg.url.replacen("postgres@", "postgres:s3cret@", 1);
    h.get_by_label("Address:").type_text(&with_password);
    h.step();
    h.get_by_label("Open").click();
    h.step();
    settle(&mut h);
    let cat = h.state().catalog().expect("the shared catalog opened");
    assert_eq!(cat.len(), 40);
    assert!(!cat.location().to_string_lossy().contains("s3cret"));
    assert!(h.query_by_label_contains("s3cret").is_none());

    drop_file(&mut h, &f.outside);
    assert_eq!(h.get_all_by_label_contains("Look-alike ").count(), 12);
    let results = h.state().results();
    assert!(
        results[0].1 > 0.999,
        "the original comes first: {results:?}"
    );
    // Thumbnails come from the database: the grid shows pictures, not placeholders.
    for _ in 0..20 {
        h.step();
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        h.state().thumbnails_loaded() >= 12,
        "thumbnails from the database"
    );
}

/// Step frames until `done` holds (background work the harness does not wait for).
fn wait_for(
    h: &mut Harness<'static, LookalikeApp>,
    what: &str,
    done: impl Fn(&LookalikeApp) -> bool,
) {
    let start = Instant::now();
    while !done(h.state()) {
        assert!(start.elapsed() < Duration::from_secs(90), "{what}");
        h.step();
        std::thread::sleep(Duration::from_millis(30));
    }
    settle(h);
}

/// The open folder is watched: a photo copied into it becomes searchable without a click, one
/// removed leaves the catalog, and a file that cannot be indexed is listed with why and Retry.
#[test]
fn a_photo_copied_into_the_open_folder_becomes_searchable_without_a_click() {
    let f = fixture();
    let mut h = open_fake(&f);
    let new = common::demo_photos(41)[40].clone();
    let copied = f.folder.join("new-arrival.jpg");
    std::fs::copy(&new, &copied).unwrap();
    wait_for(&mut h, "the copied photo was not indexed", |app| {
        app.catalog().map(|c| c.len()) == Some(41)
    });
    drop_file(&mut h, &new);
    let cat = h.state().catalog().unwrap();
    assert_eq!(
        cat.items()[h.state().results()[0].0].path,
        Path::new("new-arrival.jpg"),
        "the new photo is found"
    );

    std::fs::remove_file(&copied).unwrap();
    wait_for(&mut h, "the removed photo stayed in the catalog", |app| {
        app.catalog().map(|c| c.len()) == Some(40)
    });

    std::fs::write(f.folder.join("torn.jpg"), b"\xff\xd8\xff\xe0 cut off").unwrap();
    wait_for(&mut h, "the broken photo was not tried", |app| {
        app.index_failures().len() == 1
    });
    h.get_by_label("1 file could not be indexed…").click();
    h.run_steps(3);
    h.get_by_label_contains("1 file is left out of the catalog");
    h.get_by_label_contains("torn.jpg");
    h.get_by_label("Retry").click();
    settle(&mut h);
    assert_eq!(
        h.state().index_failures().len(),
        1,
        "still broken, still listed"
    );
    assert_eq!(h.state().catalog().map(|c| c.len()), Some(40));
}

/// Copies of a photo take one card, with a badge, and the grid still shows K different photos.
#[test]
fn copies_of_a_photo_take_one_card_with_a_badge() {
    let f = fixture();
    let mut h = open_fake(&f);
    std::fs::copy(&f.original, f.folder.join("same-photo-again.jpg")).unwrap();
    wait_for(&mut h, "the copy was not indexed", |app| {
        app.catalog().map(|c| c.len()) == Some(41)
    });
    drop_file(&mut h, &f.outside);
    assert_eq!(h.get_all_by_label_contains("Look-alike ").count(), 12);
    let first = h.state().results()[0].0;
    let badge = h.get_by_label_contains(", +1 copy");
    assert!(
        format!("{badge:?}").contains("Look-alike 1:"),
        "the badge is on the first card"
    );
    let cat = h.state().catalog().unwrap();
    let shown: Vec<String> = h
        .state()
        .results()
        .iter()
        .map(|(i, _)| cat.items()[*i].path.display().to_string())
        .collect();
    let original = f
        .original
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    assert_eq!(
        shown
            .iter()
            .filter(|p| **p == original || *p == "same-photo-again.jpg")
            .count(),
        1,
        "one card for the photo and its copy: {shown:?}"
    );
    assert!(
        shown[0] == original || shown[0] == "same-photo-again.jpg",
        "{first}"
    );
}

/// Items whose points lie inside `r` on screen, and whether any lies within `margin` of its edge.
fn inside(h: &Harness<'static, LookalikeApp>, r: egui::Rect, margin: f32) -> (Vec<usize>, bool) {
    let n = h.state().catalog().unwrap().len();
    let mut items = Vec::new();
    let mut near_edge = false;
    for i in 0..n {
        let p = h.state().map_position(i).unwrap();
        if r.expand(margin).contains(p) && !r.shrink(margin).contains(p) {
            near_edge = true;
        }
        if r.contains(p) {
            items.push(i);
        }
    }
    (items, near_edge)
}

/// Shift+drag a lasso around a box of the map: the grid shows exactly the items inside it with
/// their label counts; Esc brings the look-alikes back.
#[test]
fn a_lasso_on_the_map_shows_the_items_inside_it_and_esc_goes_back() {
    let f = fixture();
    let mut h = open_fake(&f);
    drop_file(&mut h, &f.outside);
    let look_alikes = h.state().grid_items();
    assert_eq!(look_alikes.len(), 12);
    let area = h.state().map_area().expect("the map is drawn");
    // A box around some of the items, with none on its edge.
    let n = h.state().catalog().unwrap().len();
    let mut chosen = None;
    'find: for i in 0..n {
        let c = h.state().map_position(i).unwrap();
        for half in [40.0, 60.0, 90.0] {
            let r = egui::Rect::from_center_size(c, egui::vec2(2.0 * half, 2.0 * half));
            if !area.shrink(4.0).contains_rect(r) {
                continue;
            }
            let (items, near_edge) = inside(&h, r, 3.0);
            if !near_edge && (3..n / 2).contains(&items.len()) {
                chosen = Some((r, items));
                break 'find;
            }
        }
    }
    let (r, mut expected) = chosen.expect("a box of a few items on the map");
    h.event(egui::Event::ModifiersChanged(egui::Modifiers::SHIFT));
    press_and_move(&mut h, r.left_top(), r.right_top());
    for to in [
        r.right_bottom(),
        r.left_bottom(),
        r.left_top() + egui::vec2(0.0, 1.0),
    ] {
        h.input_mut().events.push(egui::Event::PointerMoved(to));
        h.step();
    }
    release(&mut h, r.left_top());
    h.event(egui::Event::ModifiersChanged(egui::Modifiers::NONE));
    settle(&mut h);
    assert!(h.state().map_selection_shown());
    let mut shown = h.state().grid_items();
    shown.sort_unstable();
    expected.sort_unstable();
    assert_eq!(shown, expected, "the grid shows what the lasso enclosed");
    h.get_by_label(&format!(
        "Selected on the map: a lasso ({} items)",
        expected.len()
    ));
    // Its labels are counted, the most common first.
    let cat = h.state().catalog().unwrap();
    let mut counts = std::collections::BTreeMap::<&str, usize>::new();
    for &i in &expected {
        *counts.entry(cat.label(i)).or_default() += 1;
    }
    let (top, n) = counts
        .iter()
        .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
        .unwrap();
    h.get_by_label_contains(&format!("{top} {n}"));
    h.key_press(egui::Key::Escape);
    settle(&mut h);
    assert!(!h.state().map_selection_shown());
    assert_eq!(
        h.state().grid_items(),
        look_alikes,
        "the look-alikes are back"
    );
}

/// Zooming in on the map turns its dots into the items' photos, larger the further it zooms.
#[test]
fn zooming_in_on_the_map_shows_the_photos() {
    let f = fixture();
    let mut h = open_fake(&f);
    let before = h.state().map_photo_side();
    let area = h.state().map_area().unwrap();
    // Zoom about the densest part: the item with the most others within 40 points.
    let n = h.state().catalog().unwrap().len();
    let at: Vec<egui::Pos2> = (0..n).map(|i| h.state().map_position(i).unwrap()).collect();
    let centre = *at
        .iter()
        .max_by_key(|a| at.iter().filter(|b| a.distance(**b) < 40.0).count())
        .unwrap();
    let mut sides = Vec::new();
    for _ in 0..3 {
        h.hover_at(centre);
        h.event(egui::Event::MouseWheel {
            unit: egui::MouseWheelUnit::Point,
            delta: egui::vec2(0.0, 250.0),
            phase: egui::TouchPhase::Move,
            source: egui::MouseWheelSource::Wheel,
            modifiers: egui::Modifiers::NONE,
        });
        settle(&mut h);
        sides.push(h.state().map_photo_side());
    }
    let last = sides
        .last()
        .copied()
        .flatten()
        .expect("photos once zoomed in");
    assert!(
        before.is_none_or(|b| last > b),
        "the photos grow with the zoom: {before:?} then {sides:?}"
    );
    assert!(area.contains(centre));
    // The pointer off the map, so no tooltip covers it.
    h.hover_at(egui::pos2(area.min.x - 200.0, area.center().y));
    settle(&mut h);
    h.snapshot_options("map_zoomed_in_photos", &snapshot_options());
}

/// "Save" writes the map as shown: a PNG of the view's size that is not blank, and an SVG with a
/// dot for every item in view; the status bar names the file.
#[test]
fn the_map_view_is_saved_as_png_and_svg() {
    let f = fixture();
    let exports = f.index_dir.join("exports");
    std::fs::create_dir_all(&exports).unwrap();
    let mut h = harness(AppConfig {
        folder: Some(f.folder.clone()),
        index_dir: Some(f.index_dir.clone()),
        embedder: Some(Arc::new(common::fake_embedder)),
        export_dir: Some(exports.clone()),
        ..Default::default()
    });
    settle(&mut h);
    let area = h.state().map_area().expect("the map is drawn");
    h.get_by_label("Save").click();
    h.run_steps(2);
    h.get_by_label("This view as PNG").click();
    settle(&mut h);
    let png = exports.join("lookalike map - catalog.png");
    h.get_by_label_contains(&format!("The map was saved as {}", png.display()));
    let image = image::open(&png).unwrap().to_rgb8();
    let ppp = h.ctx.pixels_per_point();
    let (w, h_) = (area.width() * ppp, area.height() * ppp);
    assert!(
        (image.width() as f32 - w).abs() <= 1.0 && (image.height() as f32 - h_).abs() <= 1.0,
        "the PNG ({} x {}) is the map's part of the window ({w} x {h_})",
        image.width(),
        image.height()
    );
    let colours: std::collections::HashSet<[u8; 3]> = image.pixels().map(|p| p.0).collect();
    assert!(
        colours.len() > 50,
        "the PNG shows the map: {} colours",
        colours.len()
    );

    h.get_by_label("Save").click();
    h.run_steps(2);
    h.get_by_label("The dots as SVG").click();
    settle(&mut h);
    let svg = std::fs::read_to_string(exports.join("lookalike map - catalog.svg")).unwrap();
    assert_eq!(svg.matches("<circle").count(), 40, "a dot per item");
    assert!(svg.starts_with("<svg"));
}

/// The map switches between its layouts; "Present" gives the map the window and Esc gives it back.
#[test]
fn the_map_switches_layouts_and_presents_full_screen() {
    let f = fixture();
    let mut h = open_fake(&f);
    assert_eq!(
        h.state().map_layout(),
        lookalike::map::MapLayout::Neighbourhoods
    );
    let neighbourhoods = h.state().map_points().unwrap().to_vec();
    h.get_by_label("PCA").click();
    settle(&mut h);
    assert_eq!(h.state().map_layout(), lookalike::map::MapLayout::Pca);
    assert_ne!(h.state().map_points().unwrap(), neighbourhoods.as_slice());
    h.get_by_label("Neighbourhoods").click();
    settle(&mut h);
    assert_eq!(h.state().map_points().unwrap(), neighbourhoods.as_slice());

    let usual = h.state().map_area().unwrap();
    h.get_by_label("Present").click();
    settle(&mut h);
    assert!(h.state().presenting());
    let presented = h.state().map_area().unwrap();
    assert!(
        presented.width() > usual.width() * 1.3,
        "the map takes the window: {usual:?} then {presented:?}"
    );
    h.key_press(egui::Key::Escape);
    settle(&mut h);
    assert!(!h.state().presenting());
}
