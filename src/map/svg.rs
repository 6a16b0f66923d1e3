//! The map's dots as an SVG drawing for slides: every point in view as a circle in its label's
//! colour, the captions and the legend as text an editor can restyle.

use std::fmt::Write;

/// What the drawing shows: the part of the map in view, and how large.
pub struct SvgView {
    /// min x, min y, max x, max y in map coordinates.
    pub view: [f32; 4],
    /// Width and height of the drawing, in pixels.
    pub size: [f32; 2],
    pub dark: bool,
}

/// The SVG text of `points` (coloured by `colors`, RGB) in `view`, with `captions` (text, map
/// position) and a `legend` (label, colour, count) in the top left corner.
pub fn svg(
    points: &[[f32; 2]],
    colors: &[[u8; 3]],
    view: &SvgView,
    captions: &[(String, [f32; 2])],
    legend: &[(String, [u8; 3], usize)],
) -> String {
    let [x0, y0, x1, y1] = view.view;
    let [w, h] = view.size;
    let sx = w / (x1 - x0).max(f32::MIN_POSITIVE);
    let sy = h / (y1 - y0).max(f32::MIN_POSITIVE);
    let screen = |p: [f32; 2]| ((p[0] - x0) * sx, (y1 - p[1]) * sy);
    let r = if points.len() < 5_000 { 2.5 } else { 1.2 };
    let (bg, fg) = if view.dark {
        ("#1b1b1b", "#f0f0f0")
    } else {
        ("#ffffff", "#202020")
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w:.0}" height="{h:.0}" viewBox="0 0 {w:.0} {h:.0}" font-family="sans-serif">"#
    );
    let _ = writeln!(out, r#"<rect width="100%" height="100%" fill="{bg}"/>"#);
    let _ = writeln!(out, r#"<g id="points" stroke="none">"#);
    for (p, c) in points.iter().zip(colors) {
        if p[0] < x0 || p[0] > x1 || p[1] < y0 || p[1] > y1 {
            continue;
        }
        let (x, y) = screen(*p);
        let _ = writeln!(
            out,
            r##"<circle cx="{x:.1}" cy="{y:.1}" r="{r}" fill="#{:02x}{:02x}{:02x}"/>"##,
            c[0], c[1], c[2]
        );
    }
    let _ = writeln!(out, "</g>");
    let _ = writeln!(
        out,
        r#"<g id="captions" font-size="15" text-anchor="middle" fill="{fg}">"#
    );
    for (text, at) in captions {
        let (x, y) = screen(*at);
        if (0.0..=w).contains(&x) && (0.0..=h).contains(&y) {
            let _ = writeln!(
                out,
                r#"<text x="{x:.1}" y="{y:.1}">{}</text>"#,
                escape(text)
            );
        }
    }
    let _ = writeln!(out, "</g>");
    let _ = writeln!(out, r#"<g id="legend" font-size="13" fill="{fg}">"#);
    for (i, (label, c, n)) in legend.iter().enumerate() {
        let y = 18.0 + i as f32 * 18.0;
        let _ = writeln!(
            out,
            r##"<rect x="10" y="{:.0}" width="10" height="10" fill="#{:02x}{:02x}{:02x}"/><text x="26" y="{y:.0}">{} ({n})</text>"##,
            y - 9.0,
            c[0],
            c[1],
            c[2],
            escape(label)
        );
    }
    let _ = writeln!(out, "</g>\n</svg>");
    out
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_the_points_in_view_with_their_colours_and_escaped_text() {
        let view = SvgView {
            view: [0.0, 0.0, 10.0, 10.0],
            size: [200.0, 100.0],
            dark: true,
        };
        let out = svg(
            &[[5.0, 5.0], [20.0, 5.0]],
            &[[255, 0, 16], [0, 0, 0]],
            &view,
            &[("Shirts & Tops".into(), [5.0, 5.0])],
            &[("Shirts".into(), [255, 0, 16], 1)],
        );
        assert_eq!(
            out.matches("<circle").count(),
            1,
            "the point out of view is left out"
        );
        assert!(out.contains(r##"cx="100.0" cy="50.0" r="2.5" fill="#ff0010""##));
        assert!(out.contains("Shirts &amp; Tops"));
        assert!(out.contains("Shirts (1)"));
        assert!(out.starts_with("<svg") && out.trim_end().ends_with("</svg>"));
    }
}
