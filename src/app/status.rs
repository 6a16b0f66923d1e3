//! What the window is doing and what went wrong: the status bar (model, catalog, last query,
//! indexing progress with Cancel, the last note) and the error line above the panels. The panel
//! owns indexing's progress, the note and the error; the rest it is shown by the app.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use egui::{Color32, RichText};

use super::Command;
use crate::catalog::Catalog;
use crate::indexer::Progress;
use crate::search::VectorKind;

const ERROR: Color32 = Color32::from_rgb(255, 110, 100);
const NOTE: Color32 = Color32::from_rgb(230, 180, 80);

/// An indexing run going on in the background.
struct Indexing {
    progress: Progress,
    cancel: Arc<AtomicBool>,
    started: Instant,
    last_reload: Instant,
}

/// The model's state, as the status bar says it.
pub enum ModelState {
    Ready(String),
    Loading(Option<String>),
    Failed,
}

/// What the rest of the window tells the status bar this frame.
pub struct Shown<'a> {
    pub model: ModelState,
    pub catalog: Option<&'a Catalog>,
    /// The folder being opened while there is no catalog yet.
    pub opening: Option<&'a Path>,
    /// The last query's embed and search times, in ms.
    pub query_ms: Option<(f64, f64)>,
}

#[derive(Default)]
pub struct Status {
    indexing: Option<Indexing>,
    /// The last thing worth saying that is not an error ("3 files could not be indexed").
    note: Option<String>,
    /// Shown above the panels until dismissed.
    error: Option<String>,
    /// The files the last indexing run could not index, with why.
    failures: Vec<(PathBuf, String)>,
    failures_open: bool,
}

impl Status {
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    pub fn show_error(&mut self, message: impl Into<String>) {
        self.error = Some(message.into());
    }

    pub fn dismiss_error(&mut self) {
        self.error = None;
    }

    pub fn note(&mut self, note: Option<String>) {
        self.note = note;
    }

    /// The files the last indexing run could not index (the list keeps its window open).
    pub fn set_failures(&mut self, failures: Vec<(PathBuf, String)>) {
        self.failures_open &= !failures.is_empty();
        self.failures = failures;
    }

    pub fn show_failures(&mut self) {
        self.failures_open = !self.failures.is_empty();
    }

    pub fn failures(&self) -> &[(PathBuf, String)] {
        &self.failures
    }

    /// The list of files that could not be indexed, with their reasons and Retry.
    pub fn failures_window(&mut self, ctx: &egui::Context, commands: &mut Vec<Command>) {
        if !self.failures_open {
            return;
        }
        let mut open = true;
        egui::Window::new("Photos that could not be indexed")
            .open(&mut open)
            .default_width(640.0)
            .show(ctx, |ui| {
                ui.label(format!(
                    "{} {} left out of the catalog. Fix or replace them, then Retry; the others stay indexed.",
                    self.failures.len(),
                    if self.failures.len() == 1 { "file is" } else { "files are" }
                ));
                egui::ScrollArea::vertical().max_height(360.0).show(ui, |ui| {
                    egui::Grid::new("failures").striped(true).show(ui, |ui| {
                        for (path, why) in &self.failures {
                            ui.label(path.display().to_string());
                            ui.weak(why);
                            ui.end_row();
                        }
                    });
                });
                ui.horizontal(|ui| {
                    let idle = self.indexing.is_none();
                    if ui.add_enabled(idle, egui::Button::new("Retry")).clicked() {
                        commands.push(Command::Reindex);
                    }
                    if ui.button("Close").clicked() {
                        self.failures_open = false;
                    }
                });
            });
        self.failures_open &= open;
    }

    pub fn is_indexing(&self) -> bool {
        self.indexing.is_some()
    }

    /// Indexing started; `cancel` stops it.
    pub fn indexing_started(&mut self, cancel: Arc<AtomicBool>) {
        let now = Instant::now();
        self.indexing = Some(Indexing {
            progress: Progress::default(),
            cancel,
            started: now,
            last_reload: now,
        });
    }

    /// Indexing got this far; true when the catalog should be reloaded now (when `can_reload`,
    /// at most every `reload_every`), so the items indexed so far become searchable.
    pub fn indexing_progress(
        &mut self,
        p: Progress,
        reload_every: Duration,
        can_reload: bool,
    ) -> bool {
        let Some(ix) = &mut self.indexing else {
            return false;
        };
        ix.progress = p;
        if can_reload && p.done > 0 && ix.last_reload.elapsed() > reload_every {
            ix.last_reload = Instant::now();
            return true;
        }
        false
    }

    /// Indexing ended (done, failed, or never started).
    pub fn indexing_ended(&mut self) {
        self.indexing = None;
    }

    /// Ask indexing to stop; its progress stays shown until it has.
    pub fn request_cancel(&mut self) {
        if let Some(ix) = &self.indexing {
            ix.cancel.store(true, Ordering::Relaxed);
        }
    }

    /// Stop indexing and forget it (the catalog it writes is being closed).
    pub fn cancel_indexing(&mut self) {
        if let Some(ix) = self.indexing.take() {
            ix.cancel.store(true, Ordering::Relaxed);
        }
    }

    /// The error line, when there is an error.
    pub fn error_ui(&self, ui: &mut egui::Ui, commands: &mut Vec<Command>) {
        let Some(e) = &self.error else { return };
        ui.horizontal_wrapped(|ui| {
            ui.colored_label(ERROR, RichText::new(e).strong());
            if ui.small_button("Dismiss").clicked() {
                commands.push(Command::DismissError);
            }
        });
    }

    /// The status bar.
    pub fn ui(&self, ui: &mut egui::Ui, shown: &Shown, commands: &mut Vec<Command>) {
        ui.horizontal(|ui| {
            match &shown.model {
                ModelState::Ready(label) => ui.label(format!("Model: {label}")),
                ModelState::Loading(Some(label)) => ui.label(format!("Loading {label}…")),
                ModelState::Loading(None) => ui.label("Loading the model…"),
                ModelState::Failed => ui.colored_label(ERROR, "No model"),
            };
            ui.separator();
            match (shown.catalog, shown.opening) {
                (Some(c), _) => catalog_summary(ui, c),
                (None, Some(f)) => ui.label(format!("Opening {}…", f.display())),
                (None, None) => ui.label("No catalog"),
            };
            if let Some((embed, search)) = shown.query_ms {
                ui.separator();
                ui.label(format!("Query: embed {embed:.0} ms, search {search:.1} ms"));
            }
            if let Some(ix) = &self.indexing {
                ui.separator();
                progress_ui(ui, ix);
                if ui.button("Cancel").clicked() {
                    commands.push(Command::CancelIndexing);
                }
            } else if !self.failures.is_empty() {
                ui.separator();
                let n = self.failures.len();
                let files = if n == 1 { "file" } else { "files" };
                if ui
                    .button(format!("{n} {files} could not be indexed…"))
                    .on_hover_text("The files that could not be indexed, with why, and Retry")
                    .clicked()
                {
                    commands.push(Command::ShowIndexFailures);
                }
            } else if let Some(note) = &self.note {
                ui.separator();
                ui.colored_label(NOTE, note);
            }
        });
    }
}

/// "2,000 items in fashion-products", and how its vectors are searched when not exactly in memory.
fn catalog_summary(ui: &mut egui::Ui, c: &Catalog) -> egui::Response {
    let name = if c.store().is_shared() {
        format!("the shared catalog {}", c.location().display())
    } else {
        c.root()
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    let vectors = c.vectors();
    let (kept, detail) = match (vectors.kind(), vectors.expected_recall()) {
        (VectorKind::Server, Some(r)) => (
            format!(" (searched on the server, recall@10 {r:.2})"),
            "\nIts vectors stay on the server, which searches them",
        ),
        (VectorKind::Server, None) => (
            " (searched on the server)".into(),
            "\nIts vectors stay on the server, which searches them",
        ),
        (VectorKind::F32, _) => (String::new(), ""),
        _ => (
            " (int8)".into(),
            "\nA large catalog: its vectors are kept as int8, searched in two stages",
        ),
    };
    ui.label(format!("{} items in {name}{kept}", c.len()))
        .on_hover_text(format!("{}{detail}", c.root().display()))
}

fn progress_ui(ui: &mut egui::Ui, ix: &Indexing) {
    let p = ix.progress;
    let secs = ix.started.elapsed().as_secs_f64();
    let rate = p.done as f64 / secs.max(1e-3);
    let eta = if rate > 0.0 {
        (p.total - p.done) as f64 / rate
    } else {
        0.0
    };
    let frac = if p.total > 0 {
        p.done as f32 / p.total as f32
    } else {
        0.0
    };
    ui.add(
        egui::ProgressBar::new(frac)
            .desired_width(220.0)
            .text(format!(
                "Indexing {}/{} · {rate:.0}/s · ETA {eta:.0} s",
                p.done, p.total
            )),
    );
}
