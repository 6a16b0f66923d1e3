//! A card of the Duplicates view: an item's photo (click to compare), its product name and colour,
//! and its mark with its score to the keeper.

use egui::{Color32, RichText, Sense, Stroke, vec2};

use super::Command;
use super::dups_view::DupsView;
use super::thumbs::Thumbs;
use crate::catalog::Catalog;

#[allow(clippy::too_many_arguments)]
pub(super) fn dup_card(
    ui: &mut egui::Ui,
    catalog: &Catalog,
    i: usize,
    keeper: bool,
    score: f32,
    view: &DupsView,
    thumbs: &mut Thumbs,
    commands: &mut Vec<Command>,
) {
    let it = &catalog.items()[i];
    let name = it.path.display().to_string();
    ui.vertical(|ui| {
        let side = view.card_side();
        ui.set_width(side + 8.0);
        let (rect, response) = ui.allocate_exact_size(vec2(side, side), Sense::click());
        response.widget_info(|| {
            egui::WidgetInfo::labeled(egui::Role::Button, true, format!("Duplicate {name}"))
        });
        let compared = view.compare.contains(&i);
        let stroke = if compared {
            Stroke::new(3.0, Color32::YELLOW)
        } else {
            Stroke::new(1.0, ui.visuals().widgets.noninteractive.bg_stroke.color)
        };
        if let Some(t) = thumbs.get(catalog.store(), it.id) {
            egui::Image::from_texture(t).paint_at(ui, rect.shrink(2.0));
        }
        ui.painter()
            .rect_stroke(rect, 4.0, stroke, egui::StrokeKind::Inside);
        if response.clicked() {
            commands.push(Command::Compare(i));
        }
        response.on_hover_text(format!(
            "{name}\n{} x {} · {} bytes",
            it.width, it.height, it.size
        ));
        // The product's name (cut to the card) and, on a line of its own, its colour.
        if let Some(name) = it
            .labels
            .get("productDisplayName")
            .filter(|n| !n.is_empty())
        {
            ui.add(egui::Label::new(RichText::new(name).small()).truncate())
                .on_hover_text(name);
        }
        if let Some(colour) = crate::dups::colour_label(catalog, i) {
            ui.add(egui::Label::new(RichText::new(colour).small().strong()).truncate());
        }
        let mut marked = view.marked.contains(&i);
        let label = if keeper {
            format!("keep · {}x{}", it.width, it.height)
        } else {
            format!("{score:.3} to keeper")
        };
        let check = ui.checkbox(&mut marked, label);
        check.widget_info(|| {
            egui::WidgetInfo::selected(egui::Role::CheckBox, true, marked, format!("Mark {name}"))
        });
        if check.changed() {
            commands.push(Command::ToggleMark(i));
        }
    });
}
