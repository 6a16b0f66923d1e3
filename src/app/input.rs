//! Input that is not a click: keyboard shortcuts, dropped files and the clipboard.

use std::path::PathBuf;
use std::sync::Arc;

use egui::{Key, Modifiers};

use super::{Command, LookalikeApp, QueryInput};

impl LookalikeApp {
    /// Ctrl+V: an image copied from a web page, or a copied photo file.
    pub(super) fn paste(&mut self) {
        let mut clipboard = match arboard::Clipboard::new() {
            Ok(c) => c,
            Err(e) => {
                self.status
                    .show_error(format!("The clipboard is not available: {e}"));
                return;
            }
        };
        if let Ok(img) = clipboard.get_image() {
            let rgb = rgba_on_white(img.width, img.height, &img.bytes, false);
            self.run_query(QueryInput::Pixels(Arc::new(rgb)));
            return;
        }
        if let Ok(text) = clipboard.get_text()
            && let Some(path) = path_from_text(&text)
        {
            self.run_query(QueryInput::File(path));
            return;
        }
        self.status.show_error(NOTHING_TO_PASTE);
    }

    pub(super) fn keyboard(&mut self, ui: &egui::Ui, commands: &mut Vec<Command>) {
        // The file picker has the keyboard while it is open (Esc closes it, not the query).
        if self.picker.is_some() {
            return;
        }
        let (open, paste, find, escape, back, forward) = ui.input_mut(|i| {
            (
                i.consume_key(Modifiers::COMMAND, Key::O),
                i.consume_key(Modifiers::COMMAND, Key::V),
                i.consume_key(Modifiers::COMMAND, Key::F),
                i.key_pressed(Key::Escape),
                i.consume_key(Modifiers::ALT, Key::ArrowLeft),
                i.consume_key(Modifiers::ALT, Key::ArrowRight),
            )
        });
        // The window system turns Ctrl+V into paste events: an image, or text (a copied file's path).
        let filter_focused = self.look_alikes.filter_has_focus(ui.ctx());
        for event in ui.input(|i| i.events.clone()) {
            match event {
                egui::Event::PasteImage(img) => {
                    commands.push(Command::Query(QueryInput::Pixels(Arc::new(on_white(&img)))))
                }
                egui::Event::Paste(text) if !filter_focused => {
                    commands.push(Command::PasteText(text))
                }
                _ => {}
            }
        }
        if open {
            commands.push(Command::PickPhoto);
        }
        if paste {
            commands.push(Command::Paste);
        }
        if back {
            commands.push(Command::Back);
        }
        if forward {
            commands.push(Command::Forward);
        }
        if find {
            self.look_alikes.focus_filter(ui.ctx());
        }
        if let Some(large) = &mut self.dups.large
            && self.view == super::View::Duplicates
        {
            large.keys(ui.ctx());
            if escape {
                commands.push(Command::CloseLargeCompare);
            }
            return;
        }
        if escape {
            if self.look_alikes.filter_has_focus(ui.ctx()) {
                self.look_alikes.leave_filter(ui.ctx());
            } else if self.look_alikes.selected().is_some() {
                commands.push(Command::Select(None));
            } else if let Some(q) = self.query.current_mut()
                && (q.editing.is_some() || q.given.is_some())
            {
                // Esc in the box editor drops the box, not the query.
                if q.editing.take().is_none() {
                    commands.push(Command::SearchRegion(None));
                }
            }
            // With nothing to close, Esc does nothing: the query goes only by the Clear button
            // (a pasted photo has no file to bring it back from).
        }
        for f in ui.input(|i| i.raw.dropped_files.clone()) {
            commands.push(Command::Query(QueryInput::File(f.path().to_path_buf())));
        }
    }
}

pub(super) const NOTHING_TO_PASTE: &str = "The clipboard holds no image. Copy an image (right-click it on a web page, Copy Image), or a photo file, then press Ctrl+V.";

/// A pasted image as RGB on white (product photos sit on white).
fn on_white(img: &egui::ColorImage) -> image::RgbImage {
    let bytes: Vec<u8> = img.pixels.iter().flat_map(|c| c.to_array()).collect();
    rgba_on_white(img.size[0], img.size[1], &bytes, true)
}

/// RGBA bytes (alpha premultiplied or not) composited on white.
fn rgba_on_white(width: usize, height: usize, rgba: &[u8], premultiplied: bool) -> image::RgbImage {
    let mut out = image::RgbImage::new(width as u32, height as u32);
    for (o, p) in out.pixels_mut().zip(rgba.chunks_exact(4)) {
        let a = p[3] as u32;
        let c = |v: u8| {
            let v = if premultiplied {
                v as u32
            } else {
                v as u32 * a / 255
            };
            (v + 255 - a).min(255) as u8
        };
        *o = image::Rgb([c(p[0]), c(p[1]), c(p[2])]);
    }
    out
}

/// A photo path from pasted text: a plain path or a `file://` URI.
pub(super) fn path_from_text(text: &str) -> Option<PathBuf> {
    let line = text.lines().next()?.trim();
    let p = PathBuf::from(line.strip_prefix("file://").unwrap_or(line));
    (p.is_file() && crate::catalog::is_photo_name(&p)).then_some(p)
}
