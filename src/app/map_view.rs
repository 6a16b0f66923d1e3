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
use crate::map::captions::{Caption, captions, lassoed};
use crate::map::{CatalogMap, MapLayout, NeighbourMap};

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
/// At most this many photos are drawn at once: with more in view, dots.
const PHOTOS_UP_TO: usize = 300;
/// The photos' side on the map, in points: they appear once the items in view are this far apart
/// (the median distance to the nearest other), and grow with it as the view zooms in.
const PHOTO_MIN: f32 = 28.0;
const PHOTO_MAX: f32 = 120.0;
/// Captions are written while the view shows at least this share of the map's width.
const CAPTIONS_FROM: f32 = 0.45;
/// Neighbourhoods the map is cut into for captions.
const CAPTION_GROUPS: usize = 24;

/// Colours of one catalog and its map.
struct Palette {
    catalog: *const Catalog,
    points: *const [f32; 2],
    colors: Vec<Color32>,
    legend: Vec<(String, Color32, usize)>,
    bounds: Rect,
}

#[derive(PartialEq)]
struct DrawKey {
    catalog: *const Catalog,
    points: *const [f32; 2],
    view: [u32; 4],
    size: [usize; 2],
    /// The filter's kept items (their address; 0 without a filter).
    kept: usize,
}

/// The points in drawing order with a filter on: those it leaves out first, faint, under the kept.
struct Filtered {
    kept: usize,
    /// The layout's points they were taken from.
    source: *const [f32; 2],
    points: Vec<[f32; 2]>,
    colors: Vec<Color32>,
}

#[derive(Default)]
pub struct MapView {
    /// The catalog's PCA map, when it has one for every item.
    map: Option<Arc<CatalogMap>>,
    /// Its neighbourhood layout, when it has one.
    neighbourhoods: Option<Arc<NeighbourMap>>,
    /// The layout the user asked for (the PCA map is shown while the other is made).
    layout: MapLayout,
    /// Where the query lands on the layout shown: (layout, query vector's address, point).
    query_at: Option<(MapLayout, usize, Option<[f32; 2]>)>,
    /// The neighbourhood layout being made: for which index, and how far it is.
    making: Option<(std::path::PathBuf, f32)>,
    /// The index whose layout was made (or tried) since it was opened: not started again.
    tried: Option<std::path::PathBuf>,
    /// The lasso being drawn (Shift+drag), in data coordinates.
    lasso: Option<Vec<[f32; 2]>>,
    /// Captions of the map drawn: for which catalog and points.
    captions: Option<(*const Catalog, *const [f32; 2], Vec<Caption>)>,
    /// The visible part of the map in data coordinates; `None` fits the whole catalog.
    view: Option<Rect>,
    texture: Option<TextureHandle>,
    drawn: Option<DrawKey>,
    palette: Option<Palette>,
    filtered: Option<Filtered>,
    last_rect: Option<Rect>,
    /// The legend and the map together, as of the last frame (what an export shows).
    last_area: Option<Rect>,
    /// The item under the pointer, as of the last frame.
    hovered: Option<usize>,
    /// The side of the photos drawn in the last frame (None: dots).
    photo_side: Option<f32>,
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
    /// The query's photo, shown where it lands once the map shows photos.
    pub query_photo: Option<TextureHandle>,
}

/// What the user did on the map this frame.
#[derive(Default)]
pub struct MapEvents {
    pub clicked: Option<usize>,
    pub double_clicked: Option<usize>,
    /// Items the user selected on the map: inside a lasso, or a caption's neighbourhood (with
    /// what it is called).
    pub selected: Option<(Vec<usize>, Option<String>)>,
}

impl MapView {
    /// The catalog item under the pointer on the map.
    pub fn hovered(&self) -> Option<usize> {
        self.hovered
    }

    /// Show the maps of the catalog just opened (None: it has none yet).
    pub fn set_map(&mut self, map: Option<CatalogMap>, neighbourhoods: Option<NeighbourMap>) {
        self.map = map.map(Arc::new);
        self.neighbourhoods = neighbourhoods.map(Arc::new);
        self.query_at = None;
        self.tried = None;
    }

    /// How far the neighbourhood layout being made is (None: none is).
    pub fn making(&self) -> Option<f32> {
        self.making.as_ref().map(|m| m.1)
    }

    pub fn started_making(&mut self, index: std::path::PathBuf) {
        self.tried = Some(index.clone());
        self.making = Some((index, 0.0));
    }

    pub fn making_progress(&mut self, index: &std::path::Path, done: f32) {
        if let Some(m) = self.making.as_mut().filter(|m| m.0 == index) {
            m.1 = done;
        }
    }

    /// The job for `index` ended; `current`: its catalog is still the one open.
    pub fn stopped_making(&mut self, index: &std::path::Path, current: bool) {
        if self.making.as_ref().is_some_and(|m| m.0 == index) {
            self.making = None;
        }
        if !current {
            self.tried = None;
        }
    }

    /// Whether the window should make the neighbourhood layout of the catalog at `index` now:
    /// asked for, missing, not being made nor tried since the catalog opened.
    pub fn should_make(&self, index: &std::path::Path) -> bool {
        self.layout == MapLayout::Neighbourhoods
            && self.neighbourhoods.is_none()
            && self.making.is_none()
            && self.tried.as_deref() != Some(index)
    }

    /// The neighbourhood layout just made for the open catalog.
    pub fn set_neighbourhoods(&mut self, layout: NeighbourMap) {
        self.neighbourhoods = Some(Arc::new(layout));
        self.query_at = None;
    }

    /// The PCA map, if any.
    pub fn map(&self) -> Option<&CatalogMap> {
        self.map.as_deref()
    }

    /// Whether the open catalog has its neighbourhood layout.
    pub fn has_neighbourhoods(&self) -> bool {
        self.neighbourhoods.is_some()
    }

    pub fn set_layout(&mut self, layout: MapLayout) {
        self.layout = layout;
    }

    /// The layout drawn now: the one asked for, or PCA while it is not there.
    pub fn shown_layout(&self) -> MapLayout {
        match (self.layout, &self.neighbourhoods) {
            (MapLayout::Neighbourhoods, Some(_)) => MapLayout::Neighbourhoods,
            _ => MapLayout::Pca,
        }
    }

    /// Every item's point on the layout drawn now.
    pub fn points(&self) -> Option<&[[f32; 2]]> {
        match self.shown_layout() {
            MapLayout::Neighbourhoods => self.neighbourhoods.as_ref().map(|m| m.points.as_slice()),
            MapLayout::Pca => self.map.as_ref().map(|m| m.points.as_slice()),
        }
    }

    /// Where the query vector `v` lands on the layout drawn now (worked out once per query).
    pub fn place_query(&mut self, catalog: &Catalog, v: &[f32]) -> Option<[f32; 2]> {
        let layout = self.shown_layout();
        let key = v.as_ptr() as usize;
        if let Some((l, k, at)) = self.query_at
            && l == layout
            && k == key
        {
            return at;
        }
        let at = match layout {
            MapLayout::Pca => self.map.as_ref().map(|m| m.place(v)),
            MapLayout::Neighbourhoods => self
                .neighbourhoods
                .as_ref()
                .filter(|m| m.len() == catalog.len())
                .and_then(|m| m.place(catalog, v)),
        };
        self.query_at = Some((layout, key, at));
        at
    }

    /// Move the view sideways by `fraction` of its width.
    pub fn pan_by(&mut self, fraction: f32) {
        if let Some(bounds) = self.palette.as_ref().map(|p| p.bounds) {
            let view = self.view.unwrap_or(bounds);
            self.view = Some(view.translate(vec2(view.width() * fraction, 0.0)));
        }
    }

    /// The side of the photos the map showed in the last frame (None: it showed dots).
    pub fn photo_side(&self) -> Option<f32> {
        self.photo_side
    }

    /// The legend and the map as drawn in the last frame, in points.
    pub fn shown_area(&self) -> Option<Rect> {
        self.last_area
    }

    /// The dots in view as an SVG drawing of the map's size on screen, with its captions (when
    /// shown) and legend.
    pub fn svg(&self, dark: bool) -> Option<String> {
        let palette = self.palette.as_ref()?;
        let rect = self.last_rect?;
        let points = self.points()?;
        let view = self.view.unwrap_or(palette.bounds);
        let captions: Vec<(String, [f32; 2])> = match &self.captions {
            Some(c)
                if std::ptr::eq(c.1, points.as_ptr())
                    && view.width() >= palette.bounds.width() * CAPTIONS_FROM =>
            {
                c.2.iter().map(|c| (c.label.clone(), c.at)).collect()
            }
            _ => Vec::new(),
        };
        let rgb = |c: &Color32| [c.r(), c.g(), c.b()];
        let (points, colors): (Vec<[f32; 2]>, Vec<[u8; 3]>) = match &self.filtered {
            Some(f) if std::ptr::eq(f.source, points.as_ptr()) => {
                (f.points.clone(), f.colors.iter().map(rgb).collect())
            }
            _ => (points.to_vec(), palette.colors.iter().map(rgb).collect()),
        };
        let legend: Vec<(String, [u8; 3], usize)> = palette
            .legend
            .iter()
            .map(|(l, c, n)| (l.clone(), rgb(c), *n))
            .collect();
        let svg_view = crate::map::svg::SvgView {
            view: [view.min.x, view.min.y, view.max.x, view.max.y],
            size: [rect.width(), rect.height()],
            dark,
        };
        Some(crate::map::svg::svg(
            &points, &colors, &svg_view, &captions, &legend,
        ))
    }

    /// Zoom the view in by `factor` about its centre.
    pub fn zoom_by(&mut self, factor: f32) {
        if let Some(bounds) = self.palette.as_ref().map(|p| p.bounds) {
            let view = self.view.unwrap_or(bounds);
            self.view = Some(Rect::from_center_size(view.center(), view.size() / factor));
        }
    }

    /// Where item `i` was drawn in the last frame (for tests that hover it).
    pub fn screen_pos(&self, i: usize) -> Option<Pos2> {
        let rect = self.last_rect?;
        let view = self.view.or(self.palette.as_ref().map(|p| p.bounds))?;
        Some(to_screen(*self.points()?.get(i)?, rect, view))
    }

    pub fn show(
        &mut self,
        ui: &mut Ui,
        catalog: &Catalog,
        marks: &Marks,
        thumbs: &mut Thumbs,
    ) -> MapEvents {
        self.hovered = None;
        let Some(held) = self
            .held()
            .filter(|m| m.points().len() == catalog.len() && !catalog.is_empty())
        else {
            ui.centered_and_justified(|ui| ui.label("The map appears when indexing finishes."));
            return MapEvents::default();
        };
        let points = held.points();
        self.ensure_palette(catalog, points);
        let palette = self.palette.as_ref().expect("palette was just made");
        let top = ui.cursor().min;
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
        self.last_area = Some(Rect::from_min_max(pos2(rect.min.x, top.y), rect.max));
        let bounds = palette.bounds;
        let mut view = self.view.unwrap_or(bounds);

        // Shift+drag draws a lasso; dragging pans; the wheel or a pinch zooms about the pointer.
        let mut events = MapEvents::default();
        if response.drag_started() && ui.input(|i| i.modifiers.shift) {
            // From where the button went down, not where the drag was recognised.
            let start = ui.input(|i| i.pointer.press_origin());
            self.lasso = Some(
                start
                    .map(|p| to_data(p, rect, view))
                    .map(|d| vec![[d.x, d.y]])
                    .unwrap_or_default(),
            );
        }
        if let Some(lasso) = &mut self.lasso {
            if let Some(p) = response.interact_pointer_pos() {
                let d = to_data(p, rect, view);
                lasso.push([d.x, d.y]);
            }
            if response.drag_stopped() || !response.dragged() {
                let lasso = self.lasso.take().unwrap_or_default();
                let items = lassoed(points, &lasso);
                if !items.is_empty() {
                    events.selected = Some((items, None));
                }
            }
        } else if response.dragged() {
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
        if response.double_clicked()
            && nearest(points, rect, view, response.hover_pos(), PICK_RADIUS).is_none()
        {
            self.view = None;
            view = bounds;
        }

        self.redraw_if_needed(ui, catalog, points, marks.kept.as_ref(), rect, view);
        if let Some(tex) = &self.texture {
            painter.image(
                tex.id(),
                rect,
                Rect::from_min_max(pos2(0.0, 0.0), pos2(1.0, 1.0)),
                Color32::WHITE,
            );
        }

        let photos = self.photos_shown(ui, catalog, points, rect, view, thumbs);
        self.photo_side = photos;
        let pick = photos.map_or(PICK_RADIUS, |side| side / 2.0);
        if photos.is_none() && view.width() >= bounds.width() * CAPTIONS_FROM {
            let clicked = response
                .clicked()
                .then(|| response.interact_pointer_pos())
                .flatten();
            if let Some(c) = self.draw_captions(ui, &painter, catalog, points, rect, view, clicked)
            {
                events.selected = Some((c.items.clone(), Some(c.label.clone())));
            }
        }
        if let Some(lasso) = &self.lasso {
            let line: Vec<Pos2> = lasso.iter().map(|p| to_screen(*p, rect, view)).collect();
            painter.add(egui::Shape::closed_line(
                line,
                Stroke::new(2.0, Color32::WHITE),
            ));
        }

        // Marks of items the map does not have (yet) are not drawn.
        // Over photos, a mark frames the photo; over dots, it rings the dot.
        let ring = |i: usize, r: f32, c: Color32| {
            let Some(&p) = points.get(i) else { return };
            let p = to_screen(p, rect, view);
            match photos {
                Some(side) => {
                    let frame = Rect::from_center_size(p, Vec2::splat(side + r));
                    let outer = egui::StrokeKind::Outside;
                    painter.rect_stroke(frame, 3.0, Stroke::new(3.0, c), outer);
                    painter.rect_stroke(
                        frame.expand(3.0),
                        3.0,
                        Stroke::new(1.0, Color32::BLACK),
                        outer,
                    );
                }
                None => {
                    painter.circle_stroke(p, r + 1.5, Stroke::new(1.5, Color32::BLACK));
                    painter.circle_stroke(p, r, Stroke::new(2.0, c));
                }
            }
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
        if let (Some(q), Some(side), Some(photo)) = (marks.query, photos, &marks.query_photo) {
            let p = to_screen(q, rect, view);
            let r = fit_in(photo.size_vec2(), p, side * 1.4);
            painter.rect_filled(r.expand(3.0), 3.0, QUERY);
            painter.image(photo.id(), r, full_uv(), Color32::WHITE);
        } else if let Some(q) = marks.query {
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

        let hovered = nearest(points, rect, view, response.hover_pos(), pick);
        self.hovered = hovered;
        if let Some(i) = hovered.filter(|_| events.selected.is_none()) {
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

    /// Zoomed in to few items, each drawn as its photo; returns the photos' side (None: dots).
    fn photos_shown(
        &self,
        ui: &Ui,
        catalog: &Catalog,
        points: &[[f32; 2]],
        rect: Rect,
        view: Rect,
        thumbs: &mut Thumbs,
    ) -> Option<f32> {
        let mut visible = Vec::new();
        for (i, p) in points.iter().enumerate() {
            if view.contains(pos2(p[0], p[1])) {
                visible.push(i);
                if visible.len() > PHOTOS_UP_TO {
                    return None;
                }
            }
        }
        let at: Vec<Pos2> = visible
            .iter()
            .map(|&i| to_screen(points[i], rect, view))
            .collect();
        let side = photo_side(&at)?;
        let painter = ui.painter_at(rect);
        let colors = self.palette.as_ref().map(|p| &p.colors);
        for i in visible {
            let at = to_screen(points[i], rect, view);
            let color = colors.and_then(|c| c.get(i).copied()).unwrap_or(OTHER);
            match thumbs.get(catalog.store(), catalog.items()[i].id) {
                Some(t) => {
                    let r = fit_in(t.size_vec2(), at, side);
                    painter.rect_filled(r.expand(2.0), 2.0, color);
                    painter.image(t.id(), r, full_uv(), Color32::WHITE);
                }
                None => {
                    let r = Rect::from_center_size(at, Vec2::splat(side * 0.8));
                    painter.rect_stroke(r, 2.0, Stroke::new(2.0, color), egui::StrokeKind::Inside);
                }
            }
        }
        Some(side)
    }

    /// Write the neighbourhoods' captions; returns the caption clicked at `clicked`, if any.
    #[allow(clippy::too_many_arguments)]
    fn draw_captions(
        &mut self,
        ui: &Ui,
        painter: &egui::Painter,
        catalog: &Catalog,
        points: &[[f32; 2]],
        rect: Rect,
        view: Rect,
        clicked: Option<Pos2>,
    ) -> Option<&Caption> {
        if !self
            .captions
            .as_ref()
            .is_some_and(|c| std::ptr::eq(c.0, catalog) && std::ptr::eq(c.1, points.as_ptr()))
        {
            let labels: Vec<&str> = (0..catalog.len()).map(|i| catalog.label(i)).collect();
            let mut found = captions(points, &labels, CAPTION_GROUPS);
            // The largest neighbourhoods first: where captions would overlap, theirs are drawn.
            found.sort_by_key(|c| std::cmp::Reverse(c.items.len()));
            self.captions = Some((catalog, points.as_ptr(), found));
        }
        let found = &self.captions.as_ref()?.2;
        let font = egui::FontId::proportional(egui::TextStyle::Body.resolve(ui.style()).size + 1.0);
        let pointer = ui.input(|i| i.pointer.hover_pos());
        let mut hit = None;
        let mut drawn: Vec<Rect> = Vec::new();
        for (j, c) in found.iter().enumerate() {
            let at = to_screen(c.at, rect, view);
            if !rect.contains(at) {
                continue;
            }
            let galley = painter.layout_no_wrap(c.label.clone(), font.clone(), Color32::WHITE);
            let mut r = Rect::from_center_size(at, galley.size()).expand2(vec2(5.0, 2.0));
            // Whole inside the map, not cut at its edge, and not over another caption.
            r = r.translate(vec2(
                (rect.left() - r.left()).max(0.0) + (rect.right() - r.right()).min(0.0),
                (rect.top() - r.top()).max(0.0) + (rect.bottom() - r.bottom()).min(0.0),
            ));
            if drawn.iter().any(|d| d.intersects(r)) {
                continue;
            }
            drawn.push(r);
            let over = pointer.is_some_and(|p| r.contains(p));
            let fill = if over {
                Color32::from_rgba_unmultiplied(40, 70, 120, 230)
            } else {
                Color32::from_rgba_unmultiplied(0, 0, 0, 170)
            };
            painter.rect_filled(r, 4.0, fill);
            painter.galley(r.min + vec2(5.0, 2.0), galley, Color32::WHITE);
            if clicked.is_some_and(|p| r.contains(p)) {
                hit = Some(j);
            }
        }
        hit.map(|j| &found[j])
    }

    /// The map drawn now, held apart from `self`.
    fn held(&self) -> Option<Held> {
        match self.shown_layout() {
            MapLayout::Neighbourhoods => self.neighbourhoods.clone().map(Held::Neighbourhoods),
            MapLayout::Pca => self.map.clone().map(Held::Pca),
        }
    }

    fn ensure_palette(&mut self, catalog: &Catalog, points: &[[f32; 2]]) {
        if self.palette.as_ref().is_some_and(|p| {
            std::ptr::eq(p.catalog, catalog) && std::ptr::eq(p.points, points.as_ptr())
        }) {
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
        let bounds = bounds_of(points);
        self.palette = Some(Palette {
            catalog,
            points: points.as_ptr(),
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
        points: &[[f32; 2]],
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
            points: points.as_ptr(),
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
                if self
                    .filtered
                    .as_ref()
                    .is_none_or(|f| f.kept != kept_key || f.source != points.as_ptr())
                {
                    self.filtered = Some(filtered(points, &palette.colors, kept, kept_key));
                }
                let f = self.filtered.as_ref().expect("just made");
                draw_points(&f.points, &f.colors, size, view)
            }
            None => {
                self.filtered = None;
                draw_points(points, &palette.colors, size, view)
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

/// A map's points, held while it is drawn.
enum Held {
    Pca(Arc<CatalogMap>),
    Neighbourhoods(Arc<NeighbourMap>),
}

impl Held {
    fn points(&self) -> &[[f32; 2]] {
        match self {
            Held::Pca(m) => &m.points,
            Held::Neighbourhoods(m) => &m.points,
        }
    }
}

/// The points in drawing order for a filter: the left-out ones first and faint, the kept ones in
/// their colours on top.
fn filtered(points: &[[f32; 2]], colors: &[Color32], kept: &[bool], key: usize) -> Filtered {
    let source = points.as_ptr();
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
        source,
        points,
        colors,
    }
}

/// The side the photos at these screen positions get: the median distance from each to its
/// nearest neighbour, so that most do not cover each other; None while that is too small.
fn photo_side(at: &[Pos2]) -> Option<f32> {
    match at.len() {
        0 => return None,
        1 => return Some(PHOTO_MAX),
        _ => {}
    }
    let mut nearest: Vec<f32> = at
        .iter()
        .enumerate()
        .map(|(i, a)| {
            at.iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .map(|(_, b)| a.distance_sq(*b))
                .fold(f32::MAX, f32::min)
                .sqrt()
        })
        .collect();
    let mid = nearest.len() / 2;
    let (_, median, _) = nearest.select_nth_unstable_by(mid, f32::total_cmp);
    let side = *median * 0.95;
    (side >= PHOTO_MIN * 0.8).then(|| side.clamp(PHOTO_MIN, PHOTO_MAX))
}

/// A rectangle of `size`'s shape, at most `side` long, centred on `at`.
fn fit_in(size: Vec2, at: Pos2, side: f32) -> Rect {
    let scale = side / size.x.max(size.y).max(1.0);
    Rect::from_center_size(at, size * scale)
}

fn full_uv() -> Rect {
    Rect::from_min_max(pos2(0.0, 0.0), pos2(1.0, 1.0))
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

/// The item nearest to the pointer, within `radius` points.
fn nearest(
    points: &[[f32; 2]],
    rect: Rect,
    view: Rect,
    pointer: Option<Pos2>,
    radius: f32,
) -> Option<usize> {
    let pointer = pointer?;
    let mut best = (radius * radius, None);
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
    fn photos_appear_when_the_items_in_view_are_far_enough_apart_and_grow_with_the_zoom() {
        let grid = |step: f32| -> Vec<Pos2> {
            (0..100)
                .map(|i| pos2((i % 10) as f32 * step, (i / 10) as f32 * step))
                .collect()
        };
        assert_eq!(photo_side(&grid(10.0)), None, "crowded: dots");
        let near = photo_side(&grid(40.0)).unwrap();
        let far = photo_side(&grid(80.0)).unwrap();
        assert!(near >= PHOTO_MIN && far > near && far <= PHOTO_MAX);
        assert_eq!(photo_side(&grid(1000.0)), Some(PHOTO_MAX));
        assert_eq!(photo_side(&[pos2(1.0, 1.0)]), Some(PHOTO_MAX));
        assert_eq!(photo_side(&[]), None);
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
