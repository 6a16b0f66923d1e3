//! The Duplicates view: groups of duplicate items as rows of thumbnails, a threshold slider with the
//! live number of groups, a side-by-side compare of two items, marking, CSV export and the trash.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;

use egui::{RichText, Sense, vec2};

use super::Command;
use super::thumbs::Thumbs;
use crate::catalog::Catalog;
use crate::dups::{Candidate, Group, Keep, Rule, group};

const THUMB: f32 = 96.0;
/// ...at most, on a large screen (cards grow with the width, about ten to a row).
const MAX_THUMB: f32 = 160.0;

/// What the Duplicates view holds.
#[derive(Default)]
pub struct DupsView {
    /// Candidate pairs of the open catalog, measured once; None until computed.
    pub candidates: Option<Arc<Vec<Candidate>>>,
    pub computing: bool,
    pub threshold: f32,
    /// Groups at `grouped_at` (regrouped when the slider moves).
    pub groups: Vec<Group>,
    grouped_at: Option<f32>,
    pub marked: BTreeSet<usize>,
    /// Up to two items shown side by side.
    pub compare: Vec<usize>,
    /// Files waiting for the user's yes to go to the trash.
    pub confirm_trash: Option<Vec<PathBuf>>,
    /// Name and colour of each file waiting for the trash, when the catalog's labels have them.
    pub confirm_titles: Vec<Option<String>>,
    /// A move to the trash was made in this session (Undo is offered).
    pub can_undo: bool,
    /// The two compared items large, zoomed together (instead of the groups).
    pub large: Option<super::compare::LargeCompare>,
    /// The pairs kept apart are listed instead of the groups.
    pub show_apart: bool,
    /// Side of a card's photo at the present width (see [`MAX_THUMB`]).
    card: f32,
}

impl DupsView {
    pub fn new() -> Self {
        DupsView {
            threshold: Rule::default().threshold,
            ..Default::default()
        }
    }

    /// Forget everything about the previous catalog.
    pub fn reset(&mut self) {
        *self = DupsView {
            threshold: self.threshold,
            can_undo: self.can_undo,
            ..DupsView::new()
        };
    }

    /// These pairs were said not to be duplicates (`apart`: never grouped again), or that was
    /// taken back.
    pub fn set_apart(&mut self, pairs: &[(usize, usize)], apart: bool) {
        if let Some(all) = &self.candidates {
            let mut all: Vec<Candidate> = all.as_ref().clone();
            for c in &mut all {
                if pairs.contains(&(c.a, c.b)) || pairs.contains(&(c.b, c.a)) {
                    c.decided_apart = apart;
                }
            }
            self.candidates = Some(Arc::new(all));
            self.grouped_at = None;
        }
    }

    /// Regroup when the threshold moved or the candidates arrived.
    pub fn regroup(&mut self, catalog: &Catalog) {
        let Some(pairs) = &self.candidates else {
            return;
        };
        if self.grouped_at == Some(self.threshold) {
            return;
        }
        self.groups = group(
            catalog,
            pairs,
            &Rule::default().with_threshold(self.threshold),
        );
        self.grouped_at = Some(self.threshold);
        self.marked
            .retain(|i| self.groups.iter().any(|g| g.items.contains(i)));
    }
}

/// The Duplicates view draws itself from its own state, the open catalog and the thumbnails; what
/// the user asks for goes out as commands.
impl DupsView {
    pub(super) fn groups_ui(
        &mut self,
        ui: &mut egui::Ui,
        catalog: Option<&Arc<Catalog>>,
        thumbs: &mut Thumbs,
        commands: &mut Vec<Command>,
    ) {
        let Some(catalog) = catalog.cloned() else {
            ui.label("Open a catalog to look for duplicates in it.");
            return;
        };
        if self.candidates.is_none() {
            if !self.computing {
                commands.push(Command::FindDuplicates);
            }
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label(format!("Comparing {} items…", catalog.len()));
            });
            return;
        }
        let in_groups: usize = self.groups.iter().map(|g| g.items.len()).sum();
        ui.horizontal(|ui| {
            ui.heading("Duplicates");
            let mut threshold = self.threshold;
            if ui.add(
                egui::Slider::new(&mut threshold, crate::dups::LOWEST_THRESHOLD..=0.99)
                    .step_by(0.01)
                    .text("threshold"),
            )
            .on_hover_text("Embedding similarity from which two items count as duplicates when their colours agree. Byte-identical files and near-identical perceptual hashes always count.")
            .changed()
            {
                commands.push(Command::SetDuplicateThreshold(threshold));
            }
            ui.label(
                RichText::new(format!(
                    "{} {}, {in_groups} {}",
                    self.groups.len(),
                    if self.groups.len() == 1 { "group" } else { "groups" },
                    if in_groups == 1 { "item" } else { "items" }
                ))
                .strong(),
            );
            ui.separator();
            let n = self.marked.len();
            if ui
                .add_enabled(n > 0, egui::Button::new(format!("Export marked ({n})…")))
                .clicked()
            {
                commands.push(Command::PickExportFile);
            }
            if ui
                .add_enabled(n > 0, egui::Button::new("Move marked to trash…"))
                .clicked()
            {
                commands.push(Command::TrashMarked);
            }
            ui.add_enabled_ui(!self.groups.is_empty(), |ui| {
                ui.menu_button("Mark all but…", |ui| {
                    for (label, keep) in [
                        ("the largest of each group", Keep::Largest),
                        ("the newest of each group", Keep::Newest),
                        ("the oldest of each group", Keep::Oldest),
                    ] {
                        if ui.button(label).clicked() {
                            commands.push(Command::MarkByRule(keep));
                            ui.close();
                        }
                    }
                    // A folder to keep copies in: the folder of the item last clicked to compare.
                    if let Some(folder) = self
                        .compare
                        .last()
                        .and_then(|&i| catalog.abs_path(i).parent().map(|p| p.to_path_buf()))
                    {
                        let shown = folder
                            .strip_prefix(catalog.root())
                            .map(|p| p.display().to_string())
                            .unwrap_or_default();
                        let shown = if shown.is_empty() { "the catalog's top folder".into() } else { shown };
                        if ui
                            .button(format!("the copy in {shown} (the compared item's folder)"))
                            .clicked()
                        {
                            commands.push(Command::MarkByRule(Keep::In(folder)));
                            ui.close();
                        }
                    }
                })
                .response
                .on_hover_text("Mark every copy but one in every group, by a rule; the marks show on the cards before anything moves");
            });
            let apart = self
                .candidates
                .as_ref()
                .map_or(0, |p| p.iter().filter(|c| c.decided_apart).count());
            if apart > 0 || self.show_apart {
                let label = if self.show_apart {
                    "Back to the groups".to_string()
                } else {
                    format!("Kept apart ({apart})…")
                };
                if ui
                    .button(label)
                    .on_hover_text("The pairs said not to be duplicates; each can be taken back")
                    .clicked()
                {
                    commands.push(Command::ShowKeptApart(!self.show_apart));
                }
            }
            if self.can_undo
                && ui
                    .button("Undo move to trash")
                    .on_hover_text("Put back the files of the last move to the trash")
                    .clicked()
            {
                commands.push(Command::UndoTrash);
            }
        });
        ui.separator();
        if self.show_apart {
            self.kept_apart_ui(ui, &catalog, thumbs, commands);
            return;
        }
        if self.groups.is_empty() {
            ui.label("No duplicates at this threshold.");
            return;
        }
        self.card = (ui.available_width() / 10.0).clamp(THUMB, MAX_THUMB);
        egui::ScrollArea::vertical()
            .auto_shrink([false, false])
            .show(ui, |ui| {
                for (n, g) in self.groups.iter().enumerate() {
                    let kind = if g.exact {
                        "byte-identical"
                    } else {
                        "near-duplicates"
                    };
                    ui.horizontal(|ui| {
                        ui.label(
                            RichText::new(format!(
                                "Group {} · {} items · {kind}",
                                n + 1,
                                g.items.len()
                            ))
                            .strong(),
                        );
                        if ui
                            .small_button("Mark all but the keeper")
                            .clicked()
                        {
                            commands.push(Command::MarkAllButKeeper(vec![n]));
                        }
                        if ui
                            .small_button("Not duplicates")
                            .on_hover_text("These are different products: never suggest this group again (kept in the index)")
                            .clicked()
                        {
                            commands.push(Command::NotDuplicates(n));
                        }
                    });
                    ui.horizontal_wrapped(|ui| {
                        for (k, &i) in g.items.iter().enumerate() {
                            let score = g.to_keeper(i).map_or(f32::NAN, |p| p.cosine);
                            super::dup_card::dup_card(ui, &catalog, i, k == 0, score, self, thumbs, commands);
                        }
                    });
                    ui.add_space(6.0);
                }
            });
    }

    /// The pairs said not to be duplicates, each with its photos, names and a way back.
    fn kept_apart_ui(
        &self,
        ui: &mut egui::Ui,
        catalog: &Arc<Catalog>,
        thumbs: &mut Thumbs,
        commands: &mut Vec<Command>,
    ) {
        let pairs: Vec<&Candidate> = self
            .candidates
            .iter()
            .flat_map(|p| p.iter())
            .filter(|c| c.decided_apart)
            .collect();
        let n = pairs.len();
        let what = if n == 1 { "pair" } else { "pairs" };
        ui.label(
            RichText::new(format!(
                "{n} {what} kept apart: never suggested as duplicates"
            ))
            .strong(),
        );
        if pairs.is_empty() {
            ui.label("None: \"Not duplicates\" on a group keeps its items apart.");
            return;
        }
        egui::ScrollArea::vertical()
            .auto_shrink([false, false])
            .show(ui, |ui| {
                for c in pairs {
                    ui.horizontal(|ui| {
                        for i in [c.a, c.b] {
                            let id = catalog.items()[i].id;
                            match thumbs.get(catalog.store(), id) {
                                Some(t) => {
                                    ui.add(egui::Image::from_texture(t).max_size(vec2(64.0, 64.0)));
                                }
                                None => {
                                    ui.allocate_exact_size(vec2(64.0, 64.0), Sense::hover());
                                }
                            }
                            ui.vertical(|ui| {
                                ui.set_width(180.0);
                                let name =
                                    crate::dups::product_title(catalog, i).unwrap_or_else(|| {
                                        catalog.items()[i].path.display().to_string()
                                    });
                                ui.add(egui::Label::new(name).truncate());
                                ui.weak(catalog.items()[i].path.display().to_string());
                            });
                        }
                        ui.label(format!("similarity {:.3}", c.cosine));
                        if ui
                            .button("Not apart any more")
                            .on_hover_text(
                                "Take back \"not duplicates\": the pair may be grouped again",
                            )
                            .clicked()
                        {
                            commands.push(Command::NotApartAnyMore(c.a, c.b));
                        }
                    });
                    ui.separator();
                }
            });
    }

    /// Two items side by side: photo, dimensions, file size, path, date.
    pub(super) fn compare_ui(
        &self,
        ui: &mut egui::Ui,
        catalog: Option<&Arc<Catalog>>,
        thumbs: &mut Thumbs,
        commands: &mut Vec<Command>,
    ) {
        let Some(catalog) = catalog.cloned() else {
            return;
        };
        ui.heading("Compare");
        if self.compare.is_empty() {
            ui.label("Click two items to compare them.");
            return;
        }
        ui.columns(self.compare.len().max(1), |cols| {
            for (col, &i) in cols.iter_mut().zip(&self.compare) {
                let it = &catalog.items()[i];
                if let Some(t) = thumbs.get(catalog.store(), it.id) {
                    col.add(
                        egui::Image::from_texture(t).max_size(vec2(col.available_width(), 220.0)),
                    );
                }
                if let Some(title) = crate::dups::product_title(&catalog, i) {
                    col.label(RichText::new(title).strong());
                }
                col.label(RichText::new(format!("{} x {}", it.width, it.height)).strong());
                col.label(format!("{:.1} KB", it.size as f64 / 1024.0));
                col.label(modified(it.mtime_ns));
                col.weak(catalog.abs_path(i).display().to_string());
            }
        });
        if let [a, b] = self.compare[..] {
            if ui
                .button("Compare large…")
                .on_hover_text("Both photos at full size, zoomed and panned together")
                .clicked()
            {
                commands.push(Command::OpenLargeCompare);
            }
            super::pair_evidence::evidence_ui(
                ui,
                &catalog,
                self.candidates.as_deref().map(|c| c.as_slice()),
                a,
                b,
            );
        }
    }

    /// Side of a card's photo now.
    pub(super) fn card_side(&self) -> f32 {
        self.card.max(THUMB)
    }

    /// The confirmation before moving files to the trash.
    pub(super) fn trash_dialog(&self, ctx: &egui::Context, commands: &mut Vec<Command>) {
        let Some(files) = &self.confirm_trash else {
            return;
        };
        egui::Modal::new(egui::Id::unique("confirm-trash")).show(ctx, |ui| {
            ui.heading(format!("Move {} files to the trash?", files.len()));
            egui::ScrollArea::vertical()
                .max_height(360.0)
                .show(ui, |ui| {
                    for (f, title) in files.iter().zip(&self.confirm_titles) {
                        match title {
                            Some(t) => ui.label(format!("{t} — {}", f.display())),
                            None => ui.label(f.display().to_string()),
                        };
                    }
                });
            ui.label("Undo in Duplicates puts them back.");
            ui.horizontal(|ui| {
                if ui.button("Move to trash").clicked() {
                    commands.push(Command::ConfirmTrash);
                }
                if ui.button("Cancel").clicked() {
                    commands.push(Command::CancelTrash);
                }
            });
        });
    }
}

/// A file's modification time as a date, from nanoseconds since the epoch.
fn modified(mtime_ns: i64) -> String {
    let days = mtime_ns.div_euclid(86_400_000_000_000);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + (m <= 2) as i64;
    format!("modified {y:04}-{m:02}-{d:02}")
}
