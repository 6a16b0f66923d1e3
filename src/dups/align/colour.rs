//! Whether two aligned photos differ in colour over the garment: cell by cell, hue and chroma,
//! with the drift a change of exposure and contrast makes allowed (a brighter copy is no colour
//! variant; the same shot with the garment recoloured is).

use super::{BACKGROUND, FINE, Unpacked, distance};
use crate::dups::detail;

/// Cells per side for the colour comparison.
const CELLS: usize = 8;
/// Hue difference (CIELAB ΔH*) from which a cell's colour differs: another hue, at any chroma.
const CELL_HUE: f32 = 7.0;
/// Chroma difference from which a cell's colour differs, at least (a grey shirt against a red one)...
const CELL_CHROMA: f32 = 10.0;
/// ...and as a share of the larger chroma (more contrast scales chroma but keeps the hue).
const CELL_CHROMA_SHARE: f32 = 0.45;
/// Hue and chroma drift allowed per unit of lightness (L*) a cell's exposure moved.
const EXPOSURE_DRIFT: f32 = 0.5;
/// A cell's colour differs from this CIELAB distance (ΔE*ab, lightness included) when the overlay
/// is looked for in the colours: nothing but the stamp changed.
const CELL_DELTA_E: f32 = 10.0;
/// Histogram bins per CIELAB axis beside an overlay: L* 0..100, a* and b* -60..60 (beyond: the
/// last bins).
const HISTOGRAM_BINS: usize = 8;
/// A cell whose lightness moved more than this (L*)...
const CLIPPED_SHIFT: f32 = 5.0;
/// ...to at least this lightness is clipped towards white: its colour is not compared.
const NEAR_WHITE: f32 = 92.0;

/// A garment cell of the colour grid: where it is and its mean colour in both photos (L*, a*, b*).
struct Cell {
    x: usize,
    y: usize,
    own: [f32; 3],
    other: [f32; 3],
}

impl Unpacked {
    /// Share of garment cells whose mean chroma differs, and the extent of the differing ones.
    pub(super) fn colour_difference(&self, other: &Unpacked, aligned: &[[f32; 3]]) -> (f32, f32) {
        let exposure = Exposure::fit(&self.fine, aligned);
        let cells = self.garment_cells(other, aligned);
        let (mut x0, mut y0, mut x1, mut y1) = (CELLS, CELLS, 0, 0);
        let mut differing = 0usize;
        for c in &cells {
            if cell_colours_differ(c.own, c.other, exposure.shift(c.own[0])) {
                differing += 1;
                (x0, y0, x1, y1) = (x0.min(c.x), y0.min(c.y), x1.max(c.x + 1), y1.max(c.y + 1));
            }
        }
        if differing == 0 {
            return (0.0, 0.0);
        }
        let extent = ((x1 - x0) * (y1 - y0)) as f32 / (CELLS * CELLS) as f32;
        (differing as f32 / cells.len().max(1) as f32, extent)
    }

    /// How much of the colour differs beside an overlay: half the L1 distance of the two photos'
    /// CIELAB histograms of their garment pixels outside it (0 same, 1 disjoint). A stamp changes
    /// the photo under it and nothing else; another lens tint or a recoloured garment changes
    /// colour beside it too. The overlay is where the fine detail disagrees most (`overlay`, a
    /// rectangle of this photo's frame, 0..1: left, top, right, bottom) or where the colours
    /// of the cells do (a banner over a plain background, where this photo has no detail to
    /// disagree), each at most [`detail::OVERLAY`] of the frame: whichever leaves less.
    pub(super) fn colour_beside(
        &self,
        other: &Unpacked,
        aligned: &[[f32; 3]],
        overlay: Option<[f32; 4]>,
    ) -> f32 {
        let mut scores = vec![0f32; CELLS * CELLS];
        for c in self.garment_cells(other, aligned) {
            scores[c.y * CELLS + c.x] = if distance(&c.own, &c.other) > CELL_DELTA_E {
                1.0
            } else {
                -detail::OVERLAY_MATCH_WEIGHT
            };
        }
        let in_colour = detail::worst_rectangle(&scores, CELLS).map(|r| detail::in_frame(r, CELLS));
        [overlay, in_colour]
            .into_iter()
            .flatten()
            .map(|o| self.colour_outside(other, aligned, Some(o)))
            .fold(self.colour_outside(other, aligned, None), f32::min)
    }

    /// Half the L1 distance of the CIELAB histograms of the garment pixels of this photo and of
    /// `aligned` outside `overlay` (a rectangle of this photo's frame, 0..1).
    pub(super) fn colour_outside(
        &self,
        other: &Unpacked,
        aligned: &[[f32; 3]],
        overlay: Option<[f32; 4]>,
    ) -> f32 {
        let under = |i: usize| {
            let (u, v) = (
                ((i % FINE) as f32 + 0.5) / FINE as f32,
                ((i / FINE) as f32 + 0.5) / FINE as f32,
            );
            overlay.is_some_and(|[left, top, right, bottom]| {
                (left..=right).contains(&u) && (top..=bottom).contains(&v)
            })
        };
        // Each photo's garment; the second's background is its margin colour or the first's (a
        // screenshot's margin is the window's grey, the white around the product is no garment).
        let (mut own, mut seen) = (Histogram::default(), Histogram::default());
        for (i, (p, q)) in self.fine.iter().zip(aligned).enumerate() {
            if under(i) {
                continue;
            }
            if distance(p, &self.background) >= BACKGROUND {
                own.add(p);
            }
            if distance(q, &other.background) >= BACKGROUND
                && distance(q, &self.background) >= BACKGROUND
            {
                seen.add(q);
            }
        }
        own.distance(&seen)
    }

    /// The cells of the colour grid that are mostly garment (not background) in either photo.
    fn garment_cells(&self, other: &Unpacked, aligned: &[[f32; 3]]) -> Vec<Cell> {
        let side = FINE / CELLS;
        let mut cells = Vec::with_capacity(CELLS * CELLS);
        for cy in 0..CELLS {
            for cx in 0..CELLS {
                let (mut a, mut b, mut fg) = ([0f32; 3], [0f32; 3], 0usize);
                for y in cy * side..(cy + 1) * side {
                    for x in cx * side..(cx + 1) * side {
                        let (p, q) = (self.fine[y * FINE + x], aligned[y * FINE + x]);
                        for c in 0..3 {
                            a[c] += p[c];
                            b[c] += q[c];
                        }
                        let is_fg = distance(&p, &self.background) >= BACKGROUND
                            || distance(&q, &other.background) >= BACKGROUND;
                        fg += is_fg as usize;
                    }
                }
                if fg * 2 < side * side {
                    continue;
                }
                let n = (side * side) as f32;
                cells.push(Cell {
                    x: cx,
                    y: cy,
                    own: a.map(|v| v / n),
                    other: b.map(|v| v / n),
                });
            }
        }
        cells
    }
}

/// How a copy's exposure and contrast changed lightness: the straight line that best maps the
/// first photo's L* to the aligned second's over the whole frame. A colour variant changes the
/// garment's lightness alone, which one line over garment, skin and background does not follow.
#[derive(Debug, Clone, Copy)]
struct Exposure {
    slope: f32,
    offset: f32,
}

impl Exposure {
    fn fit(own: &[[f32; 3]], aligned: &[[f32; 3]]) -> Self {
        let n = own.len().max(1) as f32;
        let (mut sx, mut sy, mut sxx, mut sxy) = (0f32, 0f32, 0f32, 0f32);
        for (p, q) in own.iter().zip(aligned) {
            let (x, y) = (p[0], q[0]);
            sx += x;
            sy += y;
            sxx += x * x;
            sxy += x * y;
        }
        let (mx, my) = (sx / n, sy / n);
        let var = sxx / n - mx * mx;
        let slope = if var > 1.0 {
            ((sxy / n - mx * my) / var).clamp(0.5, 2.0)
        } else {
            1.0
        };
        Exposure {
            slope,
            offset: my - slope * mx,
        }
    }

    /// How far the change moves lightness `l` (L*), within what L* can be.
    fn shift(&self, l: f32) -> f32 {
        ((self.slope * l + self.offset).clamp(0.0, 100.0) - l).abs()
    }
}

/// Whether two cells' mean colours (L*, a*, b*) are different colours: another hue, or much more
/// or less colourful than contrast and exposure changes make. The more the photo's exposure moved
/// this cell's lightness (`exposure_shift`, L*, from the whole frame, not this cell alone), the
/// more its hue and chroma may drift (a channel clips: skin turns yellow); a cell brightened into
/// near-white has lost its chroma: it says nothing about colour.
fn cell_colours_differ(u: [f32; 3], v: [f32; 3], exposure_shift: f32) -> bool {
    let delta_l = (u[0] - v[0]).abs().min(exposure_shift);
    if delta_l > CLIPPED_SHIFT && u[0].max(v[0]) >= NEAR_WHITE {
        return false;
    }
    let (c1, c2) = (u[1].hypot(u[2]), v[1].hypot(v[2]));
    let delta_c = (c1 - c2).abs();
    let delta_e2 = (u[1] - v[1]).powi(2) + (u[2] - v[2]).powi(2);
    let delta_h = (delta_e2 - delta_c * delta_c).max(0.0).sqrt();
    let drift = EXPOSURE_DRIFT * delta_l;
    delta_h > CELL_HUE + drift
        || delta_c > (CELL_CHROMA + drift).max(CELL_CHROMA_SHARE * c1.max(c2))
}

/// A CIELAB colour histogram of a few hundred pixels, each shared between the eight bins around
/// it (trilinearly): a colour near a bin's edge moves little when a copy's resampling or JPEG moves
/// it across.
struct Histogram {
    weights: [f32; HISTOGRAM_BINS * HISTOGRAM_BINS * HISTOGRAM_BINS],
    total: f32,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            weights: [0.0; HISTOGRAM_BINS * HISTOGRAM_BINS * HISTOGRAM_BINS],
            total: 0.0,
        }
    }
}

impl Histogram {
    fn add(&mut self, p: &[f32; 3]) {
        let bins = HISTOGRAM_BINS as f32;
        // Position in bins (bin k's centre at k), and the two bins either side with their weights.
        let at = |v: f32, lo: f32, hi: f32| -> [(usize, f32); 2] {
            let x = ((v - lo) / (hi - lo) * bins - 0.5).clamp(0.0, bins - 1.0);
            let k = (x.floor() as usize).min(HISTOGRAM_BINS - 2);
            let f = x - k as f32;
            [(k, 1.0 - f), (k + 1, f)]
        };
        let (l, a, b) = (
            at(p[0], 0.0, 100.0),
            at(p[1], -60.0, 60.0),
            at(p[2], -60.0, 60.0),
        );
        for (x, wx) in l {
            for (y, wy) in a {
                for (z, wz) in b {
                    self.weights[(x * HISTOGRAM_BINS + y) * HISTOGRAM_BINS + z] += wx * wy * wz;
                }
            }
        }
        self.total += 1.0;
    }

    /// Half the L1 distance of the two as shares: 0 same, 1 disjoint (or either empty).
    fn distance(&self, other: &Histogram) -> f32 {
        if self.total == 0.0 || other.total == 0.0 {
            return if self.total == other.total { 0.0 } else { 1.0 };
        }
        let l1: f32 = self
            .weights
            .iter()
            .zip(&other.weights)
            .map(|(a, b)| (a / self.total - b / other.total).abs())
            .sum();
        l1 / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn histogram(colours: &[[f32; 3]]) -> Histogram {
        let mut h = Histogram::default();
        for c in colours {
            h.add(c);
        }
        h
    }

    #[test]
    fn a_colour_moved_across_a_bin_edge_moves_the_histogram_little() {
        // L* 25 is the edge between two bins of 12.5.
        let dark = histogram(&[[24.5, 2.0, -3.0]; 50]);
        let darker = histogram(&[[25.5, 2.0, -3.0]; 50]);
        assert!(dark.distance(&darker) < 0.1, "{}", dark.distance(&darker));
        let red = histogram(&[[50.0, 60.0, 40.0]; 50]);
        let blue = histogram(&[[30.0, 20.0, -60.0]; 50]);
        assert!((red.distance(&blue) - 1.0).abs() < 1e-4);
        assert_eq!(red.distance(&red), 0.0);
        assert_eq!(red.distance(&Histogram::default()), 1.0);
    }
}
