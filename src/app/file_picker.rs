//! The window's own file picker, for when the system's dialog cannot open (no xdg-desktop-portal,
//! as on many minimal desktops and over remote sessions): a path to type or paste, and the
//! folders and photos of the current folder to click through.

use std::path::{Path, PathBuf};

use egui::RichText;

use super::Command;
use super::jobs::QueryInput;

/// What the picked path is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// A photo to find look-alikes of.
    Photo,
    /// A catalog folder to open.
    Folder,
    /// The CSV file to export the marked items to.
    Export,
}

impl Purpose {
    fn title(self) -> &'static str {
        match self {
            Purpose::Photo => "Find look-alikes of a photo",
            Purpose::Folder => "Open a catalog folder",
            Purpose::Export => "Export the marked items",
        }
    }
}

/// The picker's state: the folder shown, what is typed, the folder's entries.
pub struct FilePicker {
    purpose: Purpose,
    folder: PathBuf,
    typed: String,
    entries: Vec<(String, bool)>,
    problem: Option<String>,
}

/// Entries listed at most (a folder of 100,000 photos stays responsive).
const LISTED: usize = 2_000;

impl FilePicker {
    pub fn new(purpose: Purpose, start: Option<&Path>) -> Self {
        let folder = start
            .filter(|p| p.is_dir())
            .map(Path::to_path_buf)
            .or_else(|| directories::UserDirs::new().map(|u| u.home_dir().to_path_buf()))
            .unwrap_or_else(|| PathBuf::from("/"));
        let typed = match purpose {
            Purpose::Export => folder.join("marked.csv").display().to_string(),
            _ => folder.display().to_string(),
        };
        let mut picker = FilePicker {
            purpose,
            folder: PathBuf::new(),
            typed,
            entries: Vec::new(),
            problem: None,
        };
        picker.show_folder(folder);
        picker
    }

    fn show_folder(&mut self, folder: PathBuf) {
        match std::fs::read_dir(&folder) {
            Ok(dir) => {
                let mut entries: Vec<(String, bool)> = dir
                    .filter_map(|e| e.ok())
                    .filter_map(|e| {
                        let name = e.file_name().to_string_lossy().into_owned();
                        let is_dir = e.path().is_dir();
                        let shown = !name.starts_with('.')
                            && (is_dir
                                || (self.purpose == Purpose::Photo
                                    && crate::catalog::is_photo_name(&e.path())));
                        shown.then_some((name, is_dir))
                    })
                    .take(LISTED)
                    .collect();
                entries.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
                self.entries = entries;
                if self.purpose != Purpose::Export {
                    self.typed = folder.display().to_string();
                } else if let Some(name) = Path::new(&self.typed).file_name() {
                    self.typed = folder.join(name).display().to_string();
                }
                self.folder = folder;
                self.problem = None;
            }
            Err(e) => self.problem = Some(format!("Cannot list {}: {e}", folder.display())),
        }
    }

    /// Draw the picker; `Some(command)` when the user picked (or `Some(None)` when they closed it).
    pub fn ui(&mut self, ctx: &egui::Context) -> Option<Option<Command>> {
        let mut outcome = None;
        egui::Modal::new(egui::Id::unique("file-picker")).show(ctx, |ui| {
            ui.set_width(560.0);
            ui.heading(self.purpose.title());
            ui.weak("The system's file dialog is not available here: type or paste a path, or click through the folders.");
            let typed = ui
                .horizontal(|ui| {
                    let label = ui.label("Path:");
                    ui.add(
                        egui::TextEdit::singleline(&mut self.typed)
                            .desired_width(f32::INFINITY)
                            .hint_text("/path/to/photo.jpg"),
                    )
                    .labelled_by(label.id)
                })
                .inner;
            let entered = typed.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
            ui.horizontal(|ui| {
                if ui.button("Up").clicked()
                    && let Some(parent) = self.folder.parent()
                {
                    self.show_folder(parent.to_path_buf());
                }
                ui.label(RichText::new(self.folder.display().to_string()).strong());
            });
            egui::ScrollArea::vertical()
                .max_height(320.0)
                .auto_shrink([false, true])
                .show(ui, |ui| {
                    let mut open = None;
                    for (name, is_dir) in &self.entries {
                        let label = if *is_dir {
                            format!("{name}/")
                        } else {
                            name.clone()
                        };
                        let r = ui.selectable_label(false, label);
                        if r.double_clicked() || (*is_dir && r.clicked()) {
                            open = Some((self.folder.join(name), *is_dir));
                        } else if r.clicked() {
                            self.typed = self.folder.join(name).display().to_string();
                        }
                    }
                    if self.entries.is_empty() {
                        ui.weak("Nothing to pick in this folder.");
                    }
                    match open {
                        Some((dir, true)) => self.show_folder(dir),
                        Some((file, false)) => outcome = self.pick(&file).map(Some),
                        None => {}
                    }
                });
            if let Some(p) = &self.problem {
                ui.colored_label(ui.visuals().error_fg_color, p);
            }
            ui.horizontal(|ui| {
                let verb = match self.purpose {
                    Purpose::Photo => "Search",
                    Purpose::Folder => "Open this folder",
                    Purpose::Export => "Export",
                };
                if ui.button(verb).clicked() || entered {
                    let path = PathBuf::from(self.typed.trim());
                    if path.is_dir() && self.purpose == Purpose::Photo {
                        self.show_folder(path);
                    } else {
                        outcome = self.pick(&path).map(Some);
                    }
                }
                if ui.button("Cancel").clicked() || ui.input(|i| i.key_pressed(egui::Key::Escape)) {
                    outcome = Some(None);
                }
            });
        });
        outcome
    }

    /// The command for `path`, or None (and a reason shown, the picker staying open) when it does
    /// not fit the purpose.
    fn pick(&mut self, path: &Path) -> Option<Command> {
        let ok = match self.purpose {
            Purpose::Photo => path.is_file(),
            Purpose::Folder => path.is_dir(),
            Purpose::Export => path.parent().is_some_and(Path::is_dir) && !path.is_dir(),
        };
        if !ok {
            self.problem = Some(match self.purpose {
                Purpose::Photo => format!("{} is not a photo file.", path.display()),
                Purpose::Folder => format!("{} is not a folder.", path.display()),
                Purpose::Export => format!("Cannot write {} (no such folder).", path.display()),
            });
            return None;
        }
        Some(match self.purpose {
            Purpose::Photo => Command::Query(QueryInput::File(path.to_path_buf())),
            Purpose::Folder => Command::OpenFolder(path.to_path_buf()),
            Purpose::Export => Command::ExportMarked(path.to_path_buf()),
        })
    }
}
