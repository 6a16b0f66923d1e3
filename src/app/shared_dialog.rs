//! "Shared catalog…": open a team's catalog in PostgreSQL by its address. A password typed into the
//! address is kept for this session only (never in settings); PGPASSWORD and ~/.pgpass work too.

use std::path::PathBuf;

use super::Command;

/// The dialog's state: the address being typed.
pub struct SharedCatalogDialog {
    url: String,
    problem: Option<String>,
    /// The address field has been given the keyboard focus (once, when the dialog opens).
    focused: bool,
}

impl SharedCatalogDialog {
    /// The dialog, filled with `start` (the shared catalog open last, or $LOOKALIKE_INDEX).
    pub fn new(start: Option<String>) -> Self {
        SharedCatalogDialog {
            url: start.unwrap_or_default(),
            problem: None,
            focused: false,
        }
    }

    /// Draw the dialog; the commands to apply once the user is done (opened or cancelled).
    pub fn ui(&mut self, ctx: &egui::Context) -> Option<Vec<Command>> {
        let mut done = None;
        egui::Window::new("Open a shared catalog")
            .collapsible(false)
            .resizable(false)
            .anchor(egui::Align2::CENTER_CENTER, egui::Vec2::ZERO)
            .show(ctx, |ui| {
                ui.label("A team's catalog in PostgreSQL with pgvector, indexed once for everyone:");
                let edit = ui
                    .horizontal(|ui| {
                        let label = ui.label("Address:");
                        ui.add(
                            egui::TextEdit::singleline(&mut self.url)
                                .desired_width(420.0)
                                .hint_text("postgres://USER@HOST/DATABASE"),
                        )
                        .labelled_by(label.id)
                    })
                    .inner;
                if !self.focused {
                    edit.request_focus();
                    self.focused = true;
                }
                ui.weak("The password comes from PGPASSWORD or ~/.pgpass, or type it into the address (kept until you close lookalike).");
                if let Some(problem) = &self.problem {
                    ui.colored_label(egui::Color32::from_rgb(255, 110, 100), problem);
                }
                let enter = edit.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
                ui.horizontal(|ui| {
                    if ui.button("Open").clicked() || enter {
                        let url = self.url.trim();
                        if crate::catalog::is_postgres_url(std::path::Path::new(url)) {
                            done = Some(vec![Command::BrowseIndex(PathBuf::from(url))]);
                        } else {
                            self.problem = Some(
                                "The address starts with postgres:// (for example postgres://ann@db.shop/catalog)."
                                    .into(),
                            );
                        }
                    }
                    if ui.button("Cancel").clicked() || ui.input(|i| i.key_pressed(egui::Key::Escape)) {
                        done = Some(Vec::new());
                    }
                });
            });
        done
    }
}
