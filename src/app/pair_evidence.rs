//! What the duplicate finder's signals say about two compared items, in words: the embedding,
//! the perceptual hash and the colours, the pixels aligned, the fine detail, and the labels.

use crate::catalog::Catalog;
use crate::dups::Candidate;

/// The evidence on items `a` and `b` of `catalog` (their candidate pair among `candidates`, when
/// measured), a line each.
pub(super) fn evidence_ui(
    ui: &mut egui::Ui,
    catalog: &Catalog,
    candidates: Option<&[Candidate]>,
    a: usize,
    b: usize,
) {
    let cos = crate::search::dot(&catalog.vector(a), &catalog.vector(b));
    let mut line = format!("Embedding similarity {cos:.3}");
    let pair = (a.min(b), a.max(b));
    let candidate = candidates.and_then(|p| p.iter().find(|c| (c.a, c.b) == pair));
    if let Some(c) = candidate {
        line += &format!(
            " · perceptual hash {} bits apart · colours {:.0}% apart",
            c.hash_distance,
            c.colour_distance * 100.0
        );
    }
    if catalog.items()[a].hash == catalog.items()[b].hash {
        line += " · byte-identical";
    }
    ui.label(line);
    if let Some(p) = candidate.and_then(|c| c.pixels) {
        let verdict = if p.colour_variant() {
            "the same shot in another colour: a colour variant, not a duplicate"
        } else if p.structure >= crate::dups::align::ALIGNED {
            "the shapes line up and the colours agree"
        } else {
            "too different to align"
        };
        ui.label(format!(
            "Pixels aligned{}: {verdict} ({:.0}% of the garment differs in colour)",
            if p.mirrored { " (mirrored)" } else { "" },
            p.colour_differs * 100.0
        ));
        if let (Some(t), Some(c)) = (p.tone, candidate) {
            // The copy is the side the edit clipped (what it lost), whichever was clicked first.
            use crate::dups::align::tone::Edited;
            let (original, copy, t) = match t.edited() {
                Some(Edited::First(back)) => (c.b, c.a, back),
                Some(Edited::Second(_)) | None => (c.a, c.b, t),
            };
            let name = |i: usize| catalog.items()[i].path.display().to_string();
            ui.label(format!(
                "Tones: {} is {} {}: colours compared with that undone",
                name(copy),
                name(original),
                tone_words(&t)
            ));
        }
        match p.detail {
            Some(d) if d.textured < crate::dups::detail::TEXTURED => {
                ui.weak(format!(
                    "Fine detail: too plain to tell one shot from another ({:.0}% of the frame has texture)",
                    d.textured * 100.0
                ));
            }
            Some(d) if d.overlaid() => {
                ui.label(format!(
                    "Fine detail: {:.0}% of it matches once aligned to the pixel, {:.0}% beside an overlay (a banner, a sticker): one shot (a copy)",
                    d.agrees * 100.0,
                    d.agrees_beside * 100.0,
                ));
            }
            Some(d) => {
                ui.label(format!(
                    "Fine detail: {:.0}% of it matches once aligned to the pixel: {}",
                    d.agrees * 100.0,
                    if d.same_shot() {
                        "one shot (a copy)"
                    } else if d.other_shot() {
                        "two shots of the same pose, not a duplicate"
                    } else {
                        "not enough to call it one shot"
                    }
                ));
            }
            None if !p.colour_variant() && p.structure >= crate::dups::align::ALIGNED => {
                ui.weak("The same pose shot twice lines up too: Compare large… shows the details.");
            }
            None => {}
        }
        // One shot by its detail (lightness only) in colours that differ: an overlay must explain
        // them (see dups::same_shot).
        if let Some(beside) = candidate.and_then(crate::dups::colours_beside_overlay) {
            if beside <= crate::dups::align::BESIDE_OVERLAY_COLOUR {
                ui.label(if p.tone.is_some() {
                    format!(
                        "Colours with the tone edit undone: {:.0}% apart: the edit (and anything laid over it) is all that differs",
                        beside * 100.0
                    )
                } else {
                    format!(
                        "Colours beside the overlay: {:.0}% apart: what was laid over it is all that differs",
                        beside * 100.0
                    )
                });
            } else {
                ui.colored_label(
                    ui.visuals().warn_fg_color,
                    format!(
                        "Colours beside any overlay: {:.0}% apart: the same shot in another colour, not a duplicate",
                        beside * 100.0
                    ),
                );
            }
        }
    }
    let colour = |i: usize| crate::dups::colour_label(catalog, i);
    if let (Some(x), Some(y)) = (colour(a), colour(b))
        && !x.eq_ignore_ascii_case(y)
    {
        ui.colored_label(
            ui.visuals().warn_fg_color,
            format!("Labelled in different colours, {x} and {y}: two products, not grouped"),
        );
    }
}

/// A tone edit in words: "brighter, with more contrast (each channel x1.44 +22)".
fn tone_words(t: &crate::dups::align::tone::Tone) -> String {
    // Where mid-grey goes says lighter or darker; the gain says the contrast.
    let mid = t.level(127.5) - 127.5;
    let light = if mid > 3.0 {
        "brighter"
    } else if mid < -3.0 {
        "darker"
    } else {
        "as bright"
    };
    let contrast = if t.gain > 1.05 {
        ", with more contrast"
    } else if t.gain < 0.95 {
        ", with less contrast"
    } else {
        ""
    };
    format!(
        "{light}{contrast} (each channel x{:.2} {:+.0})",
        t.gain, t.offset
    )
}
