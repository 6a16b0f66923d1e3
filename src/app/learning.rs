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
    /// The category the user chose to keep results to, instead of the predicted one (until the
    /// next photo).
    chosen: Option<String>,
}

impl Learning {
    /// A catalog was opened: these are its columns a head can learn, and what was learned from
    /// them before.
    pub fn set_catalog(&mut self, columns: Vec<String>, style: Option<Arc<StyleSpace>>) {
        self.columns = columns;
        self.style = style;
        self.chosen = None;
    }

    /// Keep results to this category (None: the predicted one).
    pub fn choose_category(&mut self, label: Option<String>) {
        self.chosen = label;
    }

    /// The chosen category as a class of the head's first column, for the search.
    pub fn chosen_category(&self) -> Option<usize> {
        let label = self.chosen.as_deref()?;
        let column = self.style.as_ref()?.head().columns.first()?;
        column.classes.iter().position(|c| c == label)
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
    /// use what was learned. `predicted` is the current query's predicted category.
    pub fn ui(
        &self,
        ui: &mut egui::Ui,
        settings: &Settings,
        predicted: Option<&str>,
        commands: &mut Vec<Command>,
    ) {
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
                if let Some(words) = crate::learn::accuracy_in_words(head.head()) {
                    ui.label(words);
                }
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
        let Some(column) = self.style.as_ref().and_then(|h| h.head().columns.first()) else {
            let mut off = false;
            ui.add_enabled(false, egui::Checkbox::new(&mut off, "Only one category"));
            return;
        };
        let words = crate::query::filter::human_column(&column.name).to_lowercase();
        ui.horizontal_wrapped(|ui| {
            let mut same = settings.same_category;
            if ui
                .checkbox(&mut same, format!("Only one {words}:"))
                .on_hover_text(format!(
                    "Keep the look-alikes to one {words}: the predicted one, or the one you choose."
                ))
                .changed()
            {
                commands.push(Command::SetSameCategory(same));
            }
            let predicted = match predicted {
                Some(p) => format!("{p} (predicted)"),
                None => "The predicted one".into(),
            };
            let shown = self.chosen.clone().unwrap_or_else(|| predicted.clone());
            let r = egui::ComboBox::from_id_salt("category choice")
                .selected_text(shown.clone())
                .width(150.0)
                .height(320.0)
                .show_ui(ui, |ui| {
                    if ui
                        .selectable_label(self.chosen.is_none(), predicted)
                        .clicked()
                    {
                        commands.push(Command::ChooseCategory(None));
                    }
                    for class in &column.classes {
                        let on = self.chosen.as_deref() == Some(class.as_str());
                        if ui.selectable_label(on, class).clicked() {
                            commands.push(Command::ChooseCategory(Some(class.clone())));
                        }
                    }
                });
            r.response
                .widget_info(|| egui::WidgetInfo::labeled(egui::Role::ComboBox, true, &shown));
        });
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
