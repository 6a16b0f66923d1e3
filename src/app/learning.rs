//! Learning from the catalog's labels: the panel's section (learn, progress, the switches that use
//! the head) and the state of a head being learned.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use egui::RichText;

use super::Command;
use super::settings::Settings;
use crate::learn::StyleSpace;

/// A head being learned.
struct Training {
    done: f32,
    cancel: Arc<AtomicBool>,
}

/// The learning section of the query panel.
#[derive(Default)]
pub struct Learning {
    /// Label columns of the open catalog a head can learn.
    columns: Vec<String>,
    /// What was learned from them (the head and the catalog in its style space), once learned.
    style: Option<Arc<StyleSpace>>,
    training: Option<Training>,
}

impl Learning {
    /// A catalog was opened: these are its columns a head can learn, and what was learned from
    /// them before.
    pub fn set_catalog(&mut self, columns: Vec<String>, style: Option<Arc<StyleSpace>>) {
        self.columns = columns;
        self.style = style;
    }

    /// The head learned for the open catalog, with the catalog in its style space.
    pub fn style(&self) -> Option<&Arc<StyleSpace>> {
        self.style.as_ref()
    }

    pub fn is_training(&self) -> bool {
        self.training.is_some()
    }

    /// Learning started; `cancel` stops it.
    pub fn started(&mut self, cancel: Arc<AtomicBool>) {
        self.training = Some(Training { done: 0.0, cancel });
    }

    pub fn progress(&mut self, done: f32) {
        if let Some(t) = &mut self.training {
            t.done = done;
        }
    }

    /// Learning ended (done, failed or never started).
    pub fn ended(&mut self) {
        self.training = None;
    }

    /// Stop learning (the catalog it belongs to is being closed).
    pub fn cancel(&mut self) {
        if let Some(t) = self.training.take() {
            t.cancel.store(true, Ordering::Relaxed);
        }
    }

    /// The panel's section: a button to learn, progress while learning, then the switches that
    /// use what was learned.
    pub fn ui(&self, ui: &mut egui::Ui, settings: &Settings, commands: &mut Vec<Command>) {
        ui.separator();
        ui.label(RichText::new("Learn from the catalog's labels").strong());
        if let Some(t) = &self.training {
            ui.add(
                egui::ProgressBar::new(t.done)
                    .desired_width(ui.available_width().min(260.0))
                    .text(format!("Learning… {:.0}%", t.done * 100.0)),
            );
            return;
        }
        let columns = &self.columns;
        match &self.style {
            None if columns.is_empty() => {
                ui.weak("No labels to learn from: put a labels.csv beside the photos, or sort them into folders by label, and index again.");
                return;
            }
            None => {
                if ui
                    .button("Learn from labels")
                    .on_hover_text(format!(
                        "Train a small head on {} in a few seconds: predicted labels for each query, style-aware ranking, and a category filter.",
                        human(columns)
                    ))
                    .clicked()
                {
                    commands.push(Command::TrainHead);
                }
            }
            Some(head) => {
                ui.weak(format!("Learned: {}", human(&head.column_names())));
                if ui.small_button("Learn again").clicked() {
                    commands.push(Command::TrainHead);
                }
            }
        }
        let has_head = self.style.is_some();
        // Without a head the switches are off, whatever was chosen for another catalog.
        let mut style = settings.style_aware && has_head;
        if ui
            .add_enabled(has_head, egui::Checkbox::new(&mut style, "Style-aware ranking"))
            .on_hover_text("Rank in the space learned from the labels: items sharing category, colour and usage come first.")
            .changed()
        {
            commands.push(Command::SetStyleAware(style));
        }
        let category = self
            .style
            .as_ref()
            .and_then(|h| h.column_names().into_iter().next())
            .map(|c| crate::query::filter::human_column(&c).to_lowercase())
            .unwrap_or_else(|| "category".into());
        let mut same = settings.same_category && has_head;
        if ui
            .add_enabled(
                has_head,
                egui::Checkbox::new(&mut same, format!("Only the predicted {category}")),
            )
            .changed()
        {
            commands.push(Command::SetSameCategory(same));
        }
    }
}

/// Label columns in words, "Article type, Colour".
fn human(columns: &[String]) -> String {
    columns
        .iter()
        .map(|c| crate::query::filter::human_column(c))
        .collect::<Vec<_>>()
        .join(", ")
}
