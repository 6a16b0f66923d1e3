//! Whether two aligned photos differ in colour over the garment: cell by cell, hue and chroma,
//! with the drift a change of exposure and contrast makes allowed (a brighter copy is no colour
//! variant; the same shot with the garment recoloured is).

use super::{BACKGROUND, FINE, Unpacked, distance};

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
/// A cell whose lightness moved more than this (L*)...
const CLIPPED_SHIFT: f32 = 5.0;
/// ...to at least this lightness is clipped towards white: its colour is not compared.
const NEAR_WHITE: f32 = 92.0;

impl Unpacked {
    /// Share of garment cells whose mean chroma differs, and the extent of the differing ones.
    pub(super) fn colour_difference(&self, other: &Unpacked, aligned: &[[f32; 3]]) -> (f32, f32) {
        let exposure = Exposure::fit(&self.fine, aligned);
        let side = FINE / CELLS;
        let (mut garment, mut differing) = (0usize, 0usize);
        let (mut x0, mut y0, mut x1, mut y1) = (CELLS, CELLS, 0, 0);
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
                garment += 1;
                let n = (side * side) as f32;
                let (u, v) = (a.map(|v| v / n), b.map(|v| v / n));
                if cell_colours_differ(u, v, exposure.shift(u[0])) {
                    differing += 1;
                    (x0, y0, x1, y1) = (x0.min(cx), y0.min(cy), x1.max(cx + 1), y1.max(cy + 1));
                }
            }
        }
        if differing == 0 {
            return (0.0, 0.0);
        }
        let extent = ((x1 - x0) * (y1 - y0)) as f32 / (CELLS * CELLS) as f32;
        (differing as f32 / garment.max(1) as f32, extent)
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
