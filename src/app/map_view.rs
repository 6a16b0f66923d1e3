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

/// Distinct colours for the most common labels; the rest are grey.
const PALETTE: [Color32; 11] = [
    Color32::from_rgb(230, 25, 75),
    Color32::from_rgb(60, 180, 75),
    Color32::from_rgb(255, 225, 25),
    Color32::from_rgb(0, 130, 200),
    Color32::from_rgb(245, 130, 48),
    Color32::from_rgb(145, 30, 180),
    Color32::from_rgb(70, 240, 240),
    Color32::from_rgb(240, 50, 230),
    Color32::from_rgb(210, 245, 60),
    Color32::from_rgb(250, 190, 212),
    Color32::from_rgb(0, 128, 128),
];
const OTHER: Color32 = Color32::from_rgb(128, 128, 128);
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
    last_rect: Option<Rect>,
    /// The item under the pointer, as of the last frame.
    hovered: Option<usize>,
}

/// What is marked on the map.
pub struct Marks<'a> {
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
        ui.horizontal_wrapped(|ui| {
            for (label, color, count) in &palette.legend {
                let (r, _) = ui.allocate_exact_size(vec2(10.0, 10.0), Sense::hover());
                ui.painter().rect_filled(r, 2.0, *color);
                ui.label(format!("{label} ({count})"));
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
            let factor = zoom * (scroll / 200.0).exp();
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

        self.redraw_if_needed(ui, catalog, &map, rect, view);
        if let Some(tex) = &self.texture {
            painter.image(
                tex.id(),
                rect,
                Rect::from_min_max(pos2(0.0, 0.0), pos2(1.0, 1.0)),
                Color32::WHITE,
            );
        }

        let at = |i: usize| to_screen(points[i], rect, view);
        let ring = |p: Pos2, r: f32, c: Color32| {
            painter.circle_stroke(p, r + 1.5, Stroke::new(1.5, Color32::BLACK));
            painter.circle_stroke(p, r, Stroke::new(2.0, c));
        };
        for &i in marks.results.iter().rev() {
            ring(at(i), 5.0, Color32::WHITE);
        }
        if let Some(i) = marks.selected {
            ring(at(i), 8.0, Color32::from_rgb(90, 170, 255));
        }
        if let Some(i) = marks.linked {
            ring(at(i), 10.0, Color32::YELLOW);
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
            ring(at(i), 7.0, Color32::YELLOW);
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
        rect: Rect,
        view: Rect,
    ) {
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
        };
        if self.drawn.as_ref() == Some(&key) && self.texture.is_some() {
            return;
        }
        let palette = self.palette.as_ref().expect("palette");
        let image = draw_points(&map.points, &palette.colors, size, view);
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
