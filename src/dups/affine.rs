//! An affine map between two photos' planes, refined by Gauss-Newton on lightness
//! (Lucas-Kanade): what lines up a copy to the pixel once the coarse search came close.

/// An affine map from the first photo's detail pixels to the second's: with the first's pixel
/// centre in -1..1 coordinates `(s, t)`, the second's pixel is `(m[0] s + m[1] t + m[4], m[2] s +
/// m[3] t + m[5])`. Refined by Gauss-Newton on lightness (Lucas-Kanade), which undoes a small
/// rotation, a crop or a scale the coarse search only came close to.
#[derive(Debug, Clone, Copy)]
pub(super) struct Affine([f32; 6]);

impl Affine {
    /// The map through three points of the first plane, in -1..1 coordinates: where its centre
    /// `(0, 0)`, `(1, 0)` and `(0, 1)` fall in the second's pixels.
    pub(super) fn through(o: (f32, f32), right: (f32, f32), down: (f32, f32)) -> Self {
        Affine([
            right.0 - o.0,
            down.0 - o.0,
            right.1 - o.1,
            down.1 - o.1,
            o.0,
            o.1,
        ])
    }

    /// This map with the first photo's content turned by `degrees` about its centre first; the
    /// content is `aspect` times as wide as high, squeezed to the square plane, so a turn of the
    /// photo is a turn in the plane only when `aspect` is 1.
    pub(super) fn turned(self, degrees: f32, aspect: f32) -> Self {
        let (sin, cos) = degrees.to_radians().sin_cos();
        // In the plane: stretch to the content's shape, turn, squeeze back.
        let (r10, r01) = (sin * aspect, -sin / aspect);
        let m = self.0;
        Affine([
            m[0] * cos + m[1] * r10,
            m[0] * r01 + m[1] * cos,
            m[2] * cos + m[3] * r10,
            m[2] * r01 + m[3] * cos,
            m[4],
            m[5],
        ])
    }

    /// The same map between planes of half the size.
    pub(super) fn halved(self) -> Self {
        let m = self.0;
        Affine([
            m[0] / 2.0,
            m[1] / 2.0,
            m[2] / 2.0,
            m[3] / 2.0,
            (m[4] + 0.5) / 2.0 - 0.5,
            (m[5] + 0.5) / 2.0 - 0.5,
        ])
    }

    /// The map from the second photo's `n x n` pixels back to the first's (None when it folds the
    /// plane flat).
    pub(super) fn inverse(self, n: usize) -> Option<Self> {
        let m = self.0;
        let det = m[0] * m[3] - m[1] * m[2];
        if det.abs() < 1e-6 {
            return None;
        }
        // Pixel x of either plane lies at (n / 2) s + c in the centred coordinate s.
        let (h, c) = (n as f32 / 2.0, (n as f32 - 1.0) / 2.0);
        let inv = [m[3] / det, -m[1] / det, -m[2] / det, m[0] / det];
        let (dx, dy) = (c - m[4], c - m[5]);
        Some(Affine([
            h * h * inv[0],
            h * h * inv[1],
            h * h * inv[2],
            h * h * inv[3],
            h * (inv[0] * dx + inv[1] * dy) + c,
            h * (inv[2] * dx + inv[3] * dy) + c,
        ]))
    }

    /// The same map between planes of twice the size.
    pub(super) fn doubled(self) -> Self {
        let m = self.0;
        Affine([
            m[0] * 2.0,
            m[1] * 2.0,
            m[2] * 2.0,
            m[3] * 2.0,
            (m[4] + 0.5) * 2.0 - 0.5,
            (m[5] + 0.5) * 2.0 - 0.5,
        ])
    }

    pub(super) fn apply(&self, i: usize, j: usize, n: usize) -> (f32, f32) {
        let m = &self.0;
        let (s, t) = (centred(i, n), centred(j, n));
        (m[0] * s + m[1] * t + m[4], m[2] * s + m[3] * t + m[5])
    }

    /// Point `(u, v)` of the first photo's frame (0..1) in the second's frame, on `n x n` planes.
    pub(super) fn frame_point(&self, u: f32, v: f32, n: usize) -> (f32, f32) {
        let m = &self.0;
        let (s, t) = (u * 2.0 - 1.0, v * 2.0 - 1.0);
        let (x, y) = (m[0] * s + m[1] * t + m[4], m[2] * s + m[3] * t + m[5]);
        ((x + 0.5) / n as f32, (y + 0.5) / n as f32)
    }

    /// `src` (`n x n`) seen through this map (outside it: `outside`).
    pub(super) fn warp(&self, src: &[f32], n: usize, outside: f32) -> Vec<f32> {
        let mut out = Vec::with_capacity(n * n);
        for j in 0..n {
            for i in 0..n {
                let (x, y) = self.apply(i, j, n);
                out.push(bilinear(src, n, x, y).unwrap_or(outside));
            }
        }
        out
    }

    /// Gauss-Newton steps that make `other` seen through the map match `own` (up to gain and
    /// offset of lightness), pixels that disagree much (a stamp) down-weighted.
    pub(super) fn refined(self, own: &[f32], other: &[f32], n: usize, steps: usize) -> Self {
        // Lightness and its gradients side by side: one lookup reads all three.
        let (gx, gy) = gradients(other, n);
        let planes: Vec<[f32; 3]> = (0..n * n).map(|k| [other[k], gx[k], gy[k]]).collect();
        let at: Vec<f32> = (0..n).map(|i| centred(i, n)).collect();
        let mut m = self;
        let mut rows = Vec::with_capacity(n * n);
        for _ in 0..steps {
            rows.clear();
            for j in 0..n {
                for i in 0..n {
                    let (x, y) = m.apply(i, j, n);
                    if let Some([b, dx, dy]) = bilinear(&planes, n, x, y) {
                        rows.push((i, j, own[j * n + i], b, dx, dy));
                    }
                }
            }
            if rows.len() < n * n / 4 {
                break;
            }
            // Lightness gain and offset that best map the second onto the first.
            let k = rows.len() as f32;
            let (ma, mb) = (
                rows.iter().map(|r| r.2).sum::<f32>() / k,
                rows.iter().map(|r| r.3).sum::<f32>() / k,
            );
            let (mut ab, mut bb) = (0f32, 0f32);
            for r in &rows {
                ab += (r.2 - ma) * (r.3 - mb);
                bb += (r.3 - mb).powi(2);
            }
            let gain = if bb > 1e-3 {
                (ab / bb).clamp(0.3, 3.0)
            } else {
                1.0
            };
            let errors: Vec<f32> = rows.iter().map(|r| gain * (r.3 - mb) + ma - r.2).collect();
            let mut abs: Vec<f32> = errors.iter().map(|e| e.abs()).collect();
            let mid = abs.len() / 2;
            let mad = *abs.select_nth_unstable_by(mid, f32::total_cmp).1;
            let huber = (2.5 * mad).max(1.0);
            // The upper triangle of h is summed; the lower mirrors it.
            let (mut h, mut g) = ([[0f32; 6]; 6], [0f32; 6]);
            for (r, e) in rows.iter().zip(&errors) {
                let (dx, dy) = (gain * r.4, gain * r.5);
                if dx.abs() + dy.abs() < 0.05 {
                    continue; // flat here: says nothing about where it lies
                }
                let (s, t) = (at[r.0], at[r.1]);
                let jac = [dx * s, dx * t, dy * s, dy * t, dx, dy];
                let wgt = if e.abs() <= huber {
                    1.0
                } else {
                    huber / e.abs()
                };
                for a in 0..6 {
                    let wa = wgt * jac[a];
                    g[a] += wa * e;
                    for b in a..6 {
                        h[a][b] += wa * jac[b];
                    }
                }
            }
            // The lower triangle mirrors the upper; the diagonal a little damped
            // (Levenberg-Marquardt), so a flat direction does not throw the map off.
            let h: [[f32; 6]; 6] = std::array::from_fn(|a| {
                std::array::from_fn(|b| match a.cmp(&b) {
                    std::cmp::Ordering::Less => h[a][b],
                    std::cmp::Ordering::Equal => h[a][a] * 1.01 + 1e-3,
                    std::cmp::Ordering::Greater => h[b][a],
                })
            });
            let Some(step) = solve6(h, g.map(|v| -v)) else {
                break;
            };
            for (v, d) in m.0.iter_mut().zip(step) {
                *v += d;
            }
            if step.iter().map(|v| v.abs()).fold(0.0, f32::max) < 0.01 {
                break;
            }
        }
        m
    }
}

/// Pixel `i` of `n` in -1..1 coordinates.
pub(super) fn centred(i: usize, n: usize) -> f32 {
    (i as f32 + 0.5) / n as f32 * 2.0 - 1.0
}

/// Plane `src` (`n x n`, of values or of several values per pixel) at `(x, y)`, bilinearly;
/// None outside.
#[inline]
pub(super) fn bilinear<P: Lerp>(src: &[P], n: usize, x: f32, y: f32) -> Option<P> {
    let last = (n - 1) as f32;
    if !(0.0..=last).contains(&x) || !(0.0..=last).contains(&y) {
        return None;
    }
    let (x0, y0) = (x as usize, y as usize);
    let (x1, y1) = ((x0 + 1).min(n - 1), (y0 + 1).min(n - 1));
    let (fx, fy) = (x - x0 as f32, y - y0 as f32);
    let top = src[y0 * n + x0].lerp(src[y0 * n + x1], fx);
    let bottom = src[y1 * n + x0].lerp(src[y1 * n + x1], fx);
    Some(top.lerp(bottom, fy))
}

/// A pixel's value(s), interpolated linearly.
pub(super) trait Lerp: Copy {
    /// `self` moved share `f` of the way to `to`.
    fn lerp(self, to: Self, f: f32) -> Self;
}

impl Lerp for f32 {
    #[inline]
    fn lerp(self, to: f32, f: f32) -> f32 {
        self + (to - self) * f
    }
}

impl Lerp for [f32; 3] {
    #[inline]
    fn lerp(self, to: [f32; 3], f: f32) -> [f32; 3] {
        std::array::from_fn(|c| self[c] + (to[c] - self[c]) * f)
    }
}

/// Horizontal and vertical central differences of plane `src` (`n x n`).
fn gradients(src: &[f32], n: usize) -> (Vec<f32>, Vec<f32>) {
    let mut gx = vec![0f32; n * n];
    let mut gy = vec![0f32; n * n];
    for y in 0..n {
        for x in 0..n {
            let (l, r) = (x.saturating_sub(1), (x + 1).min(n - 1));
            let (u, d) = (y.saturating_sub(1), (y + 1).min(n - 1));
            gx[y * n + x] = (src[y * n + r] - src[y * n + l]) / (r - l) as f32;
            gy[y * n + x] = (src[d * n + x] - src[u * n + x]) / (d - u) as f32;
        }
    }
    (gx, gy)
}

/// `h x = g` for a 6 x 6 system, by Gaussian elimination with partial pivoting.
fn solve6(mut h: [[f32; 6]; 6], mut g: [f32; 6]) -> Option<[f32; 6]> {
    for c in 0..6 {
        let p = (c..6).max_by(|&a, &b| h[a][c].abs().total_cmp(&h[b][c].abs()))?;
        if h[p][c].abs() < 1e-9 {
            return None;
        }
        h.swap(c, p);
        g.swap(c, p);
        for r in c + 1..6 {
            let f = h[r][c] / h[c][c];
            let pivot = h[c];
            for (v, p) in h[r][c..].iter_mut().zip(&pivot[c..]) {
                *v -= f * p;
            }
            g[r] -= f * g[c];
        }
    }
    let mut x = [0f32; 6];
    for c in (0..6).rev() {
        let s: f32 = (c + 1..6).map(|k| h[c][k] * x[k]).sum();
        x[c] = (g[c] - s) / h[c][c];
    }
    Some(x)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dups::detail::DETAIL;

    #[test]
    fn a_turn_of_a_wide_photo_keeps_its_lengths() {
        // A frame twice as wide as high, squeezed to the square plane: a quarter turn takes the
        // right edge's centre (2 units from the centre) to 2 units below it, the bottom edge's
        // centre (1 unit) to 1 unit left of it.
        let Affine(m) = Affine([1.0, 0.0, 0.0, 1.0, 0.0, 0.0]).turned(90.0, 2.0);
        let in_plane = |s: f32, t: f32| (m[0] * s + m[1] * t, m[2] * s + m[3] * t);
        let (x, y) = in_plane(1.0, 0.0);
        assert!((x * 2.0).abs() < 1e-5 && (y - 2.0).abs() < 1e-5, "{x} {y}");
        let (x, y) = in_plane(0.0, 1.0);
        assert!((x * 2.0 + 1.0).abs() < 1e-5 && y.abs() < 1e-5, "{x} {y}");
    }

    #[test]
    fn a_map_and_its_inverse_take_a_pixel_home() {
        // Turned, scaled, mirrored and shifted: each pixel of the first goes to the second and back.
        let m = Affine([-30.0, 12.0, 8.0, 41.0, 50.0, 44.0]);
        let back = m.inverse(DETAIL).expect("an invertible map");
        for (i, j) in [(0, 0), (95, 3), (40, 70)] {
            let (x, y) = m.apply(i, j, DETAIL);
            let (u, v) = (centred_inverse(x, DETAIL), centred_inverse(y, DETAIL));
            let (i2, j2) = (
                back.0[0] * u + back.0[1] * v + back.0[4],
                back.0[2] * u + back.0[3] * v + back.0[5],
            );
            assert!(
                (i2 - i as f32).abs() < 1e-2 && (j2 - j as f32).abs() < 1e-2,
                "{i},{j}: {i2},{j2}"
            );
        }
        assert!(
            Affine([1.0, 2.0, 2.0, 4.0, 0.0, 0.0])
                .inverse(DETAIL)
                .is_none()
        );
    }

    /// The centred coordinate of pixel position `x` of `n` (any real x, unlike [`centred`]).
    fn centred_inverse(x: f32, n: usize) -> f32 {
        (x + 0.5) / n as f32 * 2.0 - 1.0
    }

    #[test]
    fn a_six_by_six_system_is_solved() {
        let mut h = [[0f32; 6]; 6];
        for (a, row) in h.iter_mut().enumerate() {
            for (b, v) in row.iter_mut().enumerate() {
                *v = if a == b {
                    4.0
                } else {
                    1.0 / (1 + a + b) as f32
                };
            }
        }
        let x = [1.0, -2.0, 0.5, 3.0, 0.0, -1.0];
        let g: [f32; 6] = std::array::from_fn(|a| (0..6).map(|b| h[a][b] * x[b]).sum());
        let solved = solve6(h, g).expect("not singular");
        for (s, x) in solved.iter().zip(x) {
            assert!((s - x).abs() < 1e-4, "{solved:?}");
        }
    }
}
