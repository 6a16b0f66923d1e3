//! A photo's small planes seen through a window of another's: bilinear sampling.

use super::Window;

/// Two pixels mixed, `f` of the second.
pub(super) fn mix(p: [f32; 3], q: [f32; 3], f: f32) -> [f32; 3] {
    std::array::from_fn(|c| p[c] + (q[c] - p[c]) * f)
}

/// One axis of a window's sampling: for each output pixel, the two source pixels and the weight of
/// the second, or None outside the photo.
fn axis(n: usize, from: f32, length: f32, mirrored: bool) -> Vec<Option<(usize, usize, f32)>> {
    let last = (n - 1) as f32;
    (0..n)
        .map(|i| {
            let mut u = from + (i as f32 + 0.5) / n as f32 * length;
            if mirrored {
                u = 1.0 - u;
            }
            let x = u * n as f32 - 0.5;
            if x < -0.5 || x > last + 0.5 {
                return None;
            }
            let x = x.clamp(0.0, last);
            let x0 = x.floor() as usize;
            Some((x0, (x0 + 1).min(n - 1), x - x0 as f32))
        })
        .collect()
}

/// The lightness plane `src` (`n x n`) seen through `w` (outside the photo: `outside`).
pub(super) fn sample_lightness(src: &[f32], n: usize, w: &Window, outside: f32) -> Vec<f32> {
    sample_with(src, n, w, outside, |p, q, f| p + (q - p) * f)
}

/// The `n x n` image `src` seen through `w`, bilinearly (`lerp(a, b, t)` mixes two pixels),
/// `outside` beyond the photo's edges.
pub(super) fn sample_with<P: Copy>(
    src: &[P],
    n: usize,
    w: &Window,
    outside: P,
    lerp: impl Fn(P, P, f32) -> P,
) -> Vec<P> {
    let xs = axis(n, w.x, w.width, w.mirrored);
    let ys = axis(n, w.y, w.height, false);
    let mut out = Vec::with_capacity(n * n);
    for y in &ys {
        let Some((y0, y1, fy)) = *y else {
            out.extend(std::iter::repeat_n(outside, n));
            continue;
        };
        let (r0, r1) = (&src[y0 * n..(y0 + 1) * n], &src[y1 * n..(y1 + 1) * n]);
        for x in &xs {
            out.push(match *x {
                Some((x0, x1, fx)) => lerp(lerp(r0[x0], r0[x1], fx), lerp(r1[x0], r1[x1], fx), fy),
                None => outside,
            });
        }
    }
    out
}
