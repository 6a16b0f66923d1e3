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
        match clipboard.get_text() {
            Ok(text) => match path_from_text(&text) {
                Ok(path) => self.run_query(QueryInput::File(path)),
                Err(why) => self.status.show_error(why),
            },
            Err(_) => self.status.show_error(NOTHING_TO_PASTE),
        }
    }

    pub(super) fn keyboard(&mut self, ui: &egui::Ui, commands: &mut Vec<Command>) {
        // The file picker has the keyboard while it is open (Esc closes it, not the query).
        if self.picker.is_some() {
            return;
        }
        let (open, paste, find, escape, back, forward, present) = ui.input_mut(|i| {
            (
                i.consume_key(Modifiers::COMMAND, Key::O),
                i.consume_key(Modifiers::COMMAND, Key::V),
                i.consume_key(Modifiers::COMMAND, Key::F),
                i.key_pressed(Key::Escape),
                i.consume_key(Modifiers::ALT, Key::ArrowLeft),
                i.consume_key(Modifiers::ALT, Key::ArrowRight),
                i.consume_key(Modifiers::NONE, Key::F11),
            )
        });
        if present && self.view == super::View::LookAlikes {
            commands.push(Command::Present(self.presenting.is_none()));
        }
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
            } else if self.look_alikes.selection().is_some() {
                commands.push(Command::ClearMapSelection);
            } else if self.presenting.is_some() {
                commands.push(Command::Present(false));
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

/// The photo pasted text names: a plain path, a `file://` URI (percent-encoded, as file managers
/// copy them), or the first photo of a `text/uri-list`; otherwise why it cannot be searched, in
/// words a user can act on.
pub(super) fn path_from_text(text: &str) -> Result<PathBuf, String> {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    if lines.is_empty() {
        return Err(NOTHING_TO_PASTE.into());
    }
    let mut first_problem = None;
    for line in &lines {
        if line.starts_with("http://") || line.starts_with("https://") {
            first_problem.get_or_insert_with(|| format!(
                "The clipboard holds a web address ({}), and lookalike does not download. Copy the image itself (right-click it, Copy Image), or save it and drop the file.",
                shorten(line)
            ));
            continue;
        }
        let path = match line.strip_prefix("file://") {
            // file:///home/a.jpg, file://localhost/home/a.jpg
            Some(rest) => PathBuf::from(percent_decoded(
                rest.strip_prefix("localhost").unwrap_or(rest),
            )),
            None => PathBuf::from(line),
        };
        if path.is_file() && crate::catalog::is_photo_name(&path) {
            return Ok(path);
        }
        first_problem.get_or_insert_with(|| {
            if path.is_file() {
                format!(
                    "{}: not a photo (lookalike reads JPEG, PNG, WebP, GIF, BMP and TIFF files).",
                    path.display()
                )
            } else if path.is_absolute() {
                format!(
                    "{}: no such file. Copy the photo again, or drop it on the window.",
                    path.display()
                )
            } else {
                NOTHING_TO_PASTE.to_string()
            }
        });
    }
    Err(first_problem.unwrap_or_else(|| NOTHING_TO_PASTE.into()))
}

/// `%20` and the like decoded (invalid escapes kept as written).
fn percent_decoded(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).copied().and_then(hex),
            bytes.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// At most 60 characters of `s`.
fn shorten(s: &str) -> String {
    if s.chars().count() <= 60 {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(59).collect::<String>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pasted_paths_uris_and_uri_lists_name_the_photo_or_say_why_not() {
        let dir = tempfile::tempdir().unwrap();
        let photo = dir.path().join("summer dress.jpg");
        std::fs::write(&photo, b"x").unwrap();
        let notes = dir.path().join("notes.txt");
        std::fs::write(&notes, b"x").unwrap();
        assert_eq!(
            path_from_text(&photo.display().to_string()),
            Ok(photo.clone())
        );
        let uri = format!("file://{}", photo.display()).replace(' ', "%20");
        assert_eq!(path_from_text(&uri), Ok(photo.clone()), "percent-encoded");
        let list = format!(
            "# copied by a file manager\r\nfile://{}\r\n{uri}\r\n",
            notes.display()
        );
        assert_eq!(
            path_from_text(&list),
            Ok(photo.clone()),
            "the first photo of a list"
        );
        let web = path_from_text("https://shop.example/dress.jpg").unwrap_err();
        assert!(
            web.contains("does not download") && web.contains("Copy Image"),
            "{web}"
        );
        let not_photo = path_from_text(&notes.display().to_string()).unwrap_err();
        assert!(not_photo.contains("notes.txt") && not_photo.contains("not a photo"));
        let gone = path_from_text("/nowhere/a.jpg").unwrap_err();
        assert!(gone.contains("/nowhere/a.jpg") && gone.contains("no such file"));
        assert_eq!(path_from_text("hello").unwrap_err(), NOTHING_TO_PASTE);
    }
}
