//! Where one photo's frame falls in another's: the coarse search's windows (mirror, scale, shift)
//! and the map they give the fine detail.

use super::Affine;

/// Where the first photo's frame falls in the second's, in the second's (trimmed) unit square.
#[derive(Debug, Clone, Copy)]
pub(super) struct Window {
    pub(super) x: f32,
    pub(super) y: f32,
    pub(super) width: f32,
    pub(super) height: f32,
    pub(super) mirrored: bool,
}

impl Window {
    /// The window over the same part of the second photo, read the other way round.
    pub(super) fn mirror_twin(&self) -> Window {
        Window {
            x: 1.0 - self.x - self.width,
            mirrored: !self.mirrored,
            ..*self
        }
    }

    /// Mirror, each side's scale (one photo cropped more than the other, either way) and shift.
    pub(super) fn coarse_grid() -> impl Iterator<Item = Window> {
        const SCALES: [f32; 5] = [0.8, 0.9, 1.0, 1.1, 1.22];
        [false, true].into_iter().flat_map(|mirrored| {
            SCALES.into_iter().flat_map(move |width| {
                SCALES.into_iter().flat_map(move |height| {
                    (0..3).flat_map(move |px| {
                        (0..3).map(move |py| Window {
                            x: (1.0 - width) * px as f32 / 2.0,
                            y: (1.0 - height) * py as f32 / 2.0,
                            width,
                            height,
                            mirrored,
                        })
                    })
                })
            })
        })
    }

    /// The map from the first photo's pixels to the second's this window samples an `n x n`
    /// plane through (see [`Affine`]).
    pub(super) fn affine(&self, n: usize) -> Affine {
        let at = |s: f32, t: f32| {
            // Pixel centre i at s = (i + 0.5) / n * 2 - 1.
            let (fx, fy) = ((s + 1.0) / 2.0, (t + 1.0) / 2.0);
            let mut u = self.x + fx * self.width;
            if self.mirrored {
                u = 1.0 - u;
            }
            let v = self.y + fy * self.height;
            (u * n as f32 - 0.5, v * n as f32 - 0.5)
        };
        Affine::through(at(0.0, 0.0), at(1.0, 0.0), at(0.0, 1.0))
    }

    /// Small steps of shift and scale around this window.
    pub(super) fn refinements(self) -> impl Iterator<Item = Window> {
        const STEP: f32 = 0.03;
        (-1..=1).flat_map(move |ds| {
            (-1..=1).flat_map(move |dx| {
                (-1..=1).map(move |dy| {
                    let s = 1.0 + ds as f32 * STEP;
                    Window {
                        x: self.x + dx as f32 * STEP * self.width,
                        y: self.y + dy as f32 * STEP * self.height,
                        width: self.width * s,
                        height: self.height * s,
                        mirrored: self.mirrored,
                    }
                })
            })
        })
    }
}
