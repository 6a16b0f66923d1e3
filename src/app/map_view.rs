//! The catalog map: every item as a dot at its PCA position, coloured by label, with the query and
//! its look-alikes marked. Dots are drawn on the CPU into one texture, redrawn only when the view,
//! the size or the catalog changes; only the few marks on top are egui shapes.

use egui::{
    Color32, Pos2, Rect, Sense, Stroke, TextureHandle, TextureOptions, Ui, Vec2, pos2, vec2,
};

use super::map_pixels::draw_points;
use super::thumbs::Thumbs;
use std::sync::Arc;

use crate::catalog::Catalog;
use crate::map::CatalogMap;

/// Colours for the most common labels, the rest dark grey: Okabe and Ito's palette for colour-blind
/// readers (its black left out: the map's background is dark) and Paul Tol's light pink and pale
/// blue, which stay apart from it under protanopia, deuteranopia and tritanopia (see the test).
const PALETTE: [Color32; 9] = [
    Color32::from_rgb(230, 159, 0),   // orange
    Color32::from_rgb(86, 180, 233),  // sky blue
    Color32::from_rgb(0, 158, 115),   // bluish green
    Color32::from_rgb(240, 228, 66),  // yellow
    Color32::from_rgb(0, 114, 178),   // blue
    Color32::from_rgb(213, 94, 0),    // vermilion
    Color32::from_rgb(204, 121, 167), // reddish purple
    Color32::from_rgb(255, 170, 187), // pink
    Color32::from_rgb(153, 221, 255), // pale blue
];
const OTHER: Color32 = Color32::from_rgb(90, 90, 90);
/// Items the filter leaves out: faint.
const LEFT_OUT: Color32 = Color32::from_rgba_premultiplied(40, 40, 40, 70);
/// The wheel zooms by e^(points / this): about 9% a notch, so a few notches do not lose the user.
const WHEEL_POINTS_PER_E: f32 = 560.0;
/// The view is at most this much larger than the catalog's bounds, and at least this much smaller.
const MAX_ZOOM_OUT: f32 = 3.0;
const MAX_ZOOM_IN: f32 = 2000.0;
const QUERY: Color32 = Color32::from_rgb(255, 255, 255);
/// Hover picks the nearest dot within this many points of the pointer.
const PICK_RADIUS: f32 = 8.0;

/// Colours of one catalog and its map.
struct Palette {
    catalog: *const Catalog,
    map: *const CatalogMap,
    colors: Vec<Color32>,
    legend: Vec<(String, Color32, usize)>,
    bounds: Rect,
}

#[derive(PartialEq)]
struct DrawKey {
    catalog: *const Catalog,
    map: *const CatalogMap,
    view: [u32; 4],
    size: [usize; 2],
    /// The filter's kept items (their address; 0 without a filter).
    kept: usize,
}

/// The points in drawing order with a filter on: those it leaves out first, faint, under the kept.
struct Filtered {
    kept: usize,
    points: Vec<[f32; 2]>,
    colors: Vec<Color32>,
}

#[derive(Default)]
pub struct MapView {
    /// The catalog's map, when it has one for every item.
    map: Option<Arc<CatalogMap>>,
    /// The visible part of the map in data coordinates; `None` fits the whole catalog.
    view: Option<Rect>,
    texture: Option<TextureHandle>,
    drawn: Option<DrawKey>,
    palette: Option<Palette>,
    filtered: Option<Filtered>,
    last_rect: Option<Rect>,
    /// The item under the pointer, as of the last frame.
    hovered: Option<usize>,
}

/// What is marked on the map.
pub struct Marks<'a> {
    /// Which items the label filter keeps (None: no filter); the others are drawn faint.
    pub kept: Option<Arc<Vec<bool>>>,
    /// Items of the current look-alikes, best first.
    pub results: &'a [usize],
    /// Where the query photo falls.
    pub query: Option<[f32; 2]>,
    /// An item hovered in the results grid.
    pub linked: Option<usize>,
    pub selected: Option<usize>,
}

/// What the user did on the map this frame.
#[derive(Default)]
pub struct MapEvents {
    pub clicked: Option<usize>,
    pub double_clicked: Option<usize>,
}

impl MapView {
    /// The catalog item under the pointer on the map.
    pub fn hovered(&self) -> Option<usize> {
        self.hovered
    }

    /// Show `map` (the map of the catalog just opened; None: it has none yet).
    pub fn set_map(&mut self, map: Option<CatalogMap>) {
        self.map = map.map(Arc::new);
    }

    /// The map shown, if any.
    pub fn map(&self) -> Option<&CatalogMap> {
        self.map.as_deref()
    }

    /// Move the view sideways by `fraction` of its width.
    pub fn pan_by(&mut self, fraction: f32) {
        if let Some(bounds) = self.palette.as_ref().map(|p| p.bounds) {
            let view = self.view.unwrap_or(bounds);
            self.view = Some(view.translate(vec2(view.width() * fraction, 0.0)));
        }
    }

    /// Where item `i` was drawn in the last frame (for tests that hover it).
    pub fn screen_pos(&self, i: usize) -> Option<Pos2> {
        let rect = self.last_rect?;
        let view = self.view.or(self.palette.as_ref().map(|p| p.bounds))?;
        Some(to_screen(*self.map.as_ref()?.points.get(i)?, rect, view))
    }

    pub fn show(
        &mut self,
        ui: &mut Ui,
        catalog: &Catalog,
        marks: &Marks,
        thumbs: &mut Thumbs,
    ) -> MapEvents {
        self.hovered = None;
        let Some(map) = self
            .map
            .clone()
            .filter(|m| m.len() == catalog.len() && !catalog.is_empty())
        else {
            ui.centered_and_justified(|ui| ui.label("The map appears when indexing finishes."));
            return MapEvents::default();
        };
        let points = map.points.as_slice();
        self.ensure_palette(catalog, &map);
        let palette = self.palette.as_ref().expect("palette was just made");
        // The legend wraps between entries, never inside one: each is one allocation.
        ui.horizontal_wrapped(|ui| {
            for (label, color, count) in &palette.legend {
                let font = egui::TextStyle::Body.resolve(ui.style());
                let text_color = ui.visuals().text_color();
                let galley =
                    ui.painter()
                        .layout_no_wrap(format!("{label} ({count})"), font, text_color);
                let size = vec2(14.0 + galley.size().x, galley.size().y.max(12.0));
                let (r, _) = ui.allocate_exact_size(size, Sense::hover());
                let square =
                    Rect::from_center_size(pos2(r.min.x + 5.0, r.center().y), vec2(10.0, 10.0));
                ui.painter().rect_filled(square, 2.0, *color);
                ui.painter()
                    .galley(pos2(r.min.x + 14.0, r.min.y), galley, text_color);
            }
        });
        let (response, painter) = ui.allocate_painter(ui.available_size(), Sense::click_and_drag());
        let rect = response.rect;
        self.last_rect = Some(rect);
        let bounds = palette.bounds;
        let mut view = self.view.unwrap_or(bounds);

        // Pan by dragging, zoom with the wheel or a pinch around the pointer.
        if response.dragged() {
            let d = response.drag_delta();
            view = view.translate(vec2(
                -d.x * view.width() / rect.width(),
                d.y * view.height() / rect.height(),
            ));
            self.view = Some(view);
        }
        if let Some(pointer) = response.hover_pos() {
            let (scroll, zoom) = ui.input(|i| (i.smooth_scroll_delta.y, i.zoom_delta()));
            let mut factor = zoom * (scroll / WHEEL_POINTS_PER_E).exp();
            // Not out past a few times the catalog, nor in past single items.
            let width = view.width() / factor;
            if width > bounds.width() * MAX_ZOOM_OUT {
                factor = view.width() / (bounds.width() * MAX_ZOOM_OUT);
            } else if width < bounds.width() / MAX_ZOOM_IN {
                factor = view.width() / (bounds.width() / MAX_ZOOM_IN);
            }
            if (factor - 1.0).abs() > 1e-4 {
                let at = to_data(pointer, rect, view);
                let scale = 1.0 / factor;
                view = Rect::from_min_max(
                    pos2(
                        at.x - (at.x - view.min.x) * scale,
                        at.y - (at.y - view.min.y) * scale,
                    ),
                    pos2(
                        at.x + (view.max.x - at.x) * scale,
                        at.y + (view.max.y - at.y) * scale,
                    ),
                );
                self.view = Some(view);
            }
        }
        if response.double_clicked() && nearest(points, rect, view, response.hover_pos()).is_none()
        {
            self.view = None;
            view = bounds;
        }

        self.redraw_if_needed(ui, catalog, &map, marks.kept.as_ref(), rect, view);
        if let Some(tex) = &self.texture {
            painter.image(
                tex.id(),
                rect,
                Rect::from_min_max(pos2(0.0, 0.0), pos2(1.0, 1.0)),
                Color32::WHITE,
            );
        }

        // Marks of items the map does not have (yet) are not drawn.
        let ring = |i: usize, r: f32, c: Color32| {
            let Some(&p) = points.get(i) else { return };
            let p = to_screen(p, rect, view);
            painter.circle_stroke(p, r + 1.5, Stroke::new(1.5, Color32::BLACK));
            painter.circle_stroke(p, r, Stroke::new(2.0, c));
        };
        for &i in marks.results.iter().rev() {
            ring(i, 5.0, Color32::WHITE);
        }
        if let Some(i) = marks.selected {
            ring(i, 8.0, Color32::from_rgb(90, 170, 255));
        }
        if let Some(i) = marks.linked {
            ring(i, 10.0, Color32::YELLOW);
        }
        if let Some(q) = marks.query {
            let p = to_screen(q, rect, view);
            let d = 8.0;
            let diamond = vec![
                pos2(p.x, p.y - d),
                pos2(p.x + d, p.y),
                pos2(p.x, p.y + d),
                pos2(p.x - d, p.y),
            ];
            painter.add(egui::Shape::convex_polygon(
                diamond,
                QUERY,
                Stroke::new(2.0, Color32::BLACK),
            ));
        }

        let hovered = nearest(points, rect, view, response.hover_pos());
        self.hovered = hovered;
        let mut events = MapEvents::default();
        if let Some(i) = hovered {
            ring(i, 7.0, Color32::YELLOW);
            if response.clicked() {
                events.clicked = Some(i);
            }
            if response.double_clicked() {
                events.double_clicked = Some(i);
            }
            let item = &catalog.items()[i];
            let tex = thumbs.get(catalog.store(), item.id).cloned();
            let text = format!("{} — {}", catalog.label(i), item.path.display());
            response.on_hover_ui_at_pointer(|ui| {
                if let Some(t) = tex {
                    ui.add(egui::Image::from_texture(&t).max_size(vec2(128.0, 128.0)));
                }
                ui.label(text);
                ui.weak("click: select · double-click: find its look-alikes");
            });
        }
        events
    }

    fn ensure_palette(&mut self, catalog: &Catalog, map: &CatalogMap) {
        if self
            .palette
            .as_ref()
            .is_some_and(|p| std::ptr::eq(p.catalog, catalog) && std::ptr::eq(p.map, map))
        {
            return;
        }
        let mut counts: std::collections::HashMap<&str, usize> = Default::default();
        for i in 0..catalog.len() {
            *counts.entry(catalog.label(i)).or_default() += 1;
        }
        let mut ranked: Vec<(&str, usize)> = counts.into_iter().collect();
        ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        let color_of: std::collections::HashMap<&str, Color32> = ranked
            .iter()
            .zip(PALETTE)
            .map(|((l, _), c)| (*l, c))
            .collect();
        let colors = (0..catalog.len())
            .map(|i| *color_of.get(catalog.label(i)).unwrap_or(&OTHER))
            .collect();
        let mut legend: Vec<(String, Color32, usize)> = ranked
            .iter()
            .take(PALETTE.len())
            .map(|(l, n)| {
                (
                    if l.is_empty() {
                        "(no label)".to_string()
                    } else {
                        l.to_string()
                    },
                    color_of[l],
                    *n,
                )
            })
            .collect();
        let others: usize = ranked.iter().skip(PALETTE.len()).map(|(_, n)| n).sum();
        if others > 0 {
            legend.push(("other".into(), OTHER, others));
        }
        let bounds = bounds_of(&map.points);
        self.palette = Some(Palette {
            catalog,
            map,
            colors,
            legend,
            bounds,
        });
        self.view = None;
    }

    fn redraw_if_needed(
        &mut self,
        ui: &Ui,
        catalog: &Catalog,
        map: &CatalogMap,
        kept: Option<&Arc<Vec<bool>>>,
        rect: Rect,
        view: Rect,
    ) {
        let kept_key = kept.map_or(0, |k| Arc::as_ptr(k) as usize);
        let ppp = ui.ctx().pixels_per_point();
        let size = [
            (rect.width() * ppp).max(1.0) as usize,
            (rect.height() * ppp).max(1.0) as usize,
        ];
        let key = DrawKey {
            catalog,
            map,
            view: [
                view.min.x.to_bits(),
                view.min.y.to_bits(),
                view.max.x.to_bits(),
                view.max.y.to_bits(),
            ],
            size,
            kept: kept_key,
        };
        if self.drawn.as_ref() == Some(&key) && self.texture.is_some() {
            return;
        }
        let palette = self.palette.as_ref().expect("palette");
        let image = match kept {
            Some(kept) => {
                if self.filtered.as_ref().is_none_or(|f| f.kept != kept_key) {
                    self.filtered = Some(filtered(&map.points, &palette.colors, kept, kept_key));
                }
                let f = self.filtered.as_ref().expect("just made");
                draw_points(&f.points, &f.colors, size, view)
            }
            None => {
                self.filtered = None;
                draw_points(&map.points, &palette.colors, size, view)
            }
        };
        match &mut self.texture {
            Some(t) => t.set(image, TextureOptions::NEAREST),
            None => {
                self.texture = Some(ui.ctx().load_texture(
                    "catalog-map",
                    image,
                    TextureOptions::NEAREST,
                ))
            }
        }
        self.drawn = Some(key);
    }
}

/// The points in drawing order for a filter: the left-out ones first and faint, the kept ones in
/// their colours on top.
fn filtered(points: &[[f32; 2]], colors: &[Color32], kept: &[bool], key: usize) -> Filtered {
    let order = (0..points.len())
        .filter(|&i| !kept.get(i).copied().unwrap_or(false))
        .chain((0..points.len()).filter(|&i| kept.get(i).copied().unwrap_or(false)));
    let (points, colors) = order
        .map(|i| {
            let keep = kept.get(i).copied().unwrap_or(false);
            (points[i], if keep { colors[i] } else { LEFT_OUT })
        })
        .unzip();
    Filtered {
        kept: key,
        points,
        colors,
    }
}

fn to_screen(p: [f32; 2], rect: Rect, view: Rect) -> Pos2 {
    pos2(
        rect.min.x + (p[0] - view.min.x) / view.width() * rect.width(),
        rect.min.y + (view.max.y - p[1]) / view.height() * rect.height(),
    )
}

fn to_data(p: Pos2, rect: Rect, view: Rect) -> Pos2 {
    pos2(
        view.min.x + (p.x - rect.min.x) / rect.width() * view.width(),
        view.max.y - (p.y - rect.min.y) / rect.height() * view.height(),
    )
}

/// The item nearest to the pointer, within `PICK_RADIUS` points.
fn nearest(points: &[[f32; 2]], rect: Rect, view: Rect, pointer: Option<Pos2>) -> Option<usize> {
    let pointer = pointer?;
    let mut best = (PICK_RADIUS * PICK_RADIUS, None);
    for (i, p) in points.iter().enumerate() {
        let d = to_screen(*p, rect, view).distance_sq(pointer);
        if d < best.0 {
            best = (d, Some(i));
        }
    }
    best.1
}

/// The data rectangle that shows the whole map, with a margin.
fn bounds_of(map: &[[f32; 2]]) -> Rect {
    let (mut min, mut max) = (pos2(f32::MAX, f32::MAX), pos2(f32::MIN, f32::MIN));
    for p in map {
        min = min.min(pos2(p[0], p[1]));
        max = max.max(pos2(p[0], p[1]));
    }
    Rect::from_min_max(min, max).expand2(((max - min) * 0.05).max(Vec2::splat(1e-3)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Colour vision deficiencies at full severity on linear RGB (Machado, Oliveira and Fernandes,
    /// 2009), and normal vision.
    const VISION: [(&str, [[f32; 3]; 3]); 4] = [
        (
            "normal",
            [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]],
        ),
        (
            "protanopia",
            [
                [0.152286, 1.052583, -0.204868],
                [0.114503, 0.786281, 0.099216],
                [-0.003882, -0.048116, 1.051998],
            ],
        ),
        (
            "deuteranopia",
            [
                [0.367322, 0.860646, -0.227968],
                [0.280085, 0.672501, 0.047413],
                [-0.011820, 0.042940, 0.968881],
            ],
        ),
        (
            "tritanopia",
            [
                [1.255528, -0.076749, -0.178779],
                [-0.078411, 0.930809, 0.147602],
                [0.004733, 0.691367, 0.303900],
            ],
        ),
    ];

    fn seen(c: Color32, m: &[[f32; 3]; 3]) -> [f32; 3] {
        let lin = |v: u8| {
            let v = v as f32 / 255.0;
            if v <= 0.04045 {
                v / 12.92
            } else {
                ((v + 0.055) / 1.055).powf(2.4)
            }
        };
        let enc = |v: f32| {
            let v = v.clamp(0.0, 1.0);
            let s = if v <= 0.003_130_8 {
                12.92 * v
            } else {
                1.055 * v.powf(1.0 / 2.4) - 0.055
            };
            (s * 255.0).round() as u8
        };
        let rgb = [lin(c.r()), lin(c.g()), lin(c.b())];
        let out: [u8; 3] = std::array::from_fn(|i| enc((0..3).map(|j| m[i][j] * rgb[j]).sum()));
        crate::dups::align::lab(out)
    }

    /// The smallest CIELAB distance between two of these colours, for any of the visions.
    fn closest(colors: &[Color32]) -> (f32, &'static str) {
        let mut worst = (f32::MAX, "");
        for (name, m) in &VISION {
            for (i, a) in colors.iter().enumerate() {
                for b in &colors[i + 1..] {
                    let (x, y) = (seen(*a, m), seen(*b, m));
                    let d = (0..3).map(|k| (x[k] - y[k]).powi(2)).sum::<f32>().sqrt();
                    if d < worst.0 {
                        worst = (d, name);
                    }
                }
            }
        }
        worst
    }

    #[test]
    fn the_label_colours_stay_apart_for_colour_blind_readers() {
        let mut colors = PALETTE.to_vec();
        colors.push(OTHER);
        let (d, vision) = closest(&colors);
        assert!(d > 12.0, "two label colours {d:.1} apart under {vision}");
        // The palette before (yellow next to yellow-green, teal next to grey) did not.
        let before = [
            (230, 25, 75),
            (60, 180, 75),
            (255, 225, 25),
            (0, 130, 200),
            (245, 130, 48),
            (145, 30, 180),
            (70, 240, 240),
            (240, 50, 230),
            (210, 245, 60),
            (250, 190, 212),
            (0, 128, 128),
            (128, 128, 128),
        ]
        .map(|(r, g, b)| Color32::from_rgb(r, g, b));
        assert!(closest(&before).0 < 12.0);
    }

    #[test]
    fn a_filter_draws_the_left_out_items_first_and_faint() {
        let points = [[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]];
        let colors = [PALETTE[0], PALETTE[1], PALETTE[2]];
        let f = filtered(&points, &colors, &[true, false, true], 1);
        assert_eq!(f.points, vec![[1.0, 1.0], [0.0, 0.0], [2.0, 2.0]]);
        assert_eq!(f.colors, vec![LEFT_OUT, PALETTE[0], PALETTE[2]]);
    }
}
