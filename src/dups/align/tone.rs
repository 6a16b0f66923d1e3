//! A global tone edit between two aligned photos: one gain and one offset on every sRGB channel,
//! clipped to 0..255 (what brightness, contrast and levels do). A brighter, more contrasted copy
//! is its original through one such edit, clipped light blue and all; a garment in another colour
//! is not: its hue moves alone, and a garment made lighter or darker while skin, hair and
//! background stay is no single edit of the whole frame.

use std::borrow::Cow;

use super::lab::{lab_of, srgb_of};
use super::sampling::{mix, sample_with};
use super::window::Window;
use super::{COARSE, FINE, Pixels, Unpacked, coarse_windows, lightness, unpack};

/// Gains tried, from 2/3 to 1.5: contrast cut by a third or raised by half. Beyond, an "edit" so
/// strong maps a dark product onto a light one (a maroon tie onto a grey one: 0.58, +104)...
const GAINS: std::ops::RangeInclusive<f32> = 0.66..=1.5;
/// ...in steps of this, then refined around the best in steps of [`FINE_STEP`].
const GAIN_STEP: f32 = 0.06;
const FINE_STEP: f32 = 0.02;
/// Every this many pixels of a 40x40 frame are fitted on (the edit is global: a few hundred say it).
pub(super) const STRIDE: usize = 3;
/// A channel at or beyond these levels may have been clipped: it says only on which side the
/// edit put it.
const CLIP_LOW: f32 = 2.0;
const CLIP_HIGH: f32 = 253.0;
/// Share of the points the fit is scored on, the best of them (a stamp or a sticker is no edit).
const KEPT: f32 = 0.8;
/// An edit moves mid-grey by at most this many levels (brightness).
const MID_SHIFT: f32 = 64.0;
/// An edit is worth undoing when it leaves at most this share of the identity's residual...
const BETTER: f32 = 0.6;
/// ...and the identity's is at least this many levels (JPEG and resampling move a few).
const MOVED: f32 = 4.0;

/// With a tone edit undone at the coarse alignment, at most this share of the colour may differ
/// for the pixels to be compared (twice [`crate::dups::COLOURS_AGREE`]: 14 pixels a side, no
/// refinement).
const FIRST_SIGHT_COLOUR: f32 = 0.32;

/// `y = clamp(gain * x + offset)` on each sRGB channel (0..255).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Tone {
    pub gain: f32,
    pub offset: f32,
}

/// An edit that clips this many more levels (of 256) one way than the other made the copy: what
/// it clipped is lost (brighten by 25 and add 44% contrast: 76 levels clipped, none back).
const CLIPPED: f32 = 8.0;

/// Which photo a fitted edit maps onto the other.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Edited {
    /// The second photo is the first through the edit.
    Second(Tone),
    /// The first photo is the second through the edit.
    First(Tone),
}

impl Edited {
    /// The edit from the first photo to the second (the inverse of one the other way round).
    pub(super) fn first_to_second(self) -> Tone {
        match self {
            Edited::Second(t) => t,
            Edited::First(t) => t.inverse(),
        }
    }
}

impl Tone {
    pub const IDENTITY: Tone = Tone {
        gain: 1.0,
        offset: 0.0,
    };

    /// One channel through the edit.
    pub fn level(&self, x: f32) -> f32 {
        (self.gain * x + self.offset).clamp(0.0, 255.0)
    }

    pub fn apply(&self, rgb: [f32; 3]) -> [f32; 3] {
        rgb.map(|x| self.level(x))
    }

    /// The edit the other way round (before clipping).
    pub fn inverse(&self) -> Tone {
        Tone {
            gain: 1.0 / self.gain,
            offset: -self.offset / self.gain,
        }
    }

    /// Which photo is the edited copy, when this edit (from the first photo to the second)
    /// clips clearly more one way than the other: the second, through this edit; or the first,
    /// through its inverse. None when neither lost more.
    pub fn edited(&self) -> Option<Edited> {
        let (forward, back) = (self.clipped_levels(), self.inverse().clipped_levels());
        if forward >= back + CLIPPED {
            Some(Edited::Second(*self))
        } else if back >= forward + CLIPPED {
            Some(Edited::First(self.inverse()))
        } else {
            None
        }
    }

    /// How many of the 256 levels the edit pushes beyond black or white (what it loses).
    fn clipped_levels(&self) -> f32 {
        let low = (-self.offset / self.gain).clamp(0.0, 255.0);
        let high = (255.0 - (255.0 - self.offset) / self.gain).clamp(0.0, 255.0);
        low + high
    }

    /// The lightness (L*) of the greys this edit leaves unclipped, darkest and lightest.
    pub fn kept_lightness(&self) -> [f32; 2] {
        let grey = |level: f32| {
            let v = level.round().clamp(0.0, 255.0) as u8;
            super::lab::lab([v; 3])[0]
        };
        [
            grey(-self.offset / self.gain),
            grey((255.0 - self.offset) / self.gain),
        ]
    }

    /// How far `to` is from `from` through this edit: the mean over the best [`KEPT`] of the
    /// channels of the level difference, where a channel clipped in `to` differs only by how
    /// far short of the clip the edit leaves it.
    fn residual(&self, from: &[[f32; 3]], to: &[[f32; 3]], scratch: &mut Vec<f32>) -> f32 {
        scratch.clear();
        for (p, q) in from.iter().zip(to) {
            for c in 0..3 {
                let predicted = self.gain * p[c] + self.offset;
                scratch.push(if q[c] >= CLIP_HIGH {
                    (CLIP_HIGH - predicted).max(0.0)
                } else if q[c] <= CLIP_LOW {
                    (predicted - CLIP_LOW).max(0.0)
                } else {
                    (predicted.clamp(0.0, 255.0) - q[c]).abs()
                });
            }
        }
        trimmed_mean(scratch)
    }

    /// The edit that best maps `from` onto `to` (pixels at the same places), and its residual:
    /// for each gain, the offset is the median of what the unclipped channels need.
    fn fit(from: &[[f32; 3]], to: &[[f32; 3]]) -> (Tone, f32) {
        let (mut offsets, mut scratch) = (Vec::new(), Vec::new());
        let mut best = (
            Tone::IDENTITY,
            Tone::IDENTITY.residual(from, to, &mut scratch),
        );
        let mut try_gain = |gain: f32, best: &mut (Tone, f32)| {
            if !GAINS.contains(&gain) {
                return;
            }
            offsets.clear();
            for (p, q) in from.iter().zip(to) {
                for c in 0..3 {
                    if q[c] > CLIP_LOW && q[c] < CLIP_HIGH {
                        offsets.push(q[c] - gain * p[c]);
                    }
                }
            }
            if offsets.is_empty() {
                return;
            }
            let mid = offsets.len() / 2;
            let offset = *offsets.select_nth_unstable_by(mid, f32::total_cmp).1;
            let tone = Tone { gain, offset };
            if (tone.level(127.5) - 127.5).abs() > MID_SHIFT {
                return;
            }
            let r = tone.residual(from, to, &mut scratch);
            if r < best.1 {
                *best = (tone, r);
            }
        };
        let steps = ((GAINS.end() - GAINS.start()) / GAIN_STEP).round() as usize;
        for k in 0..=steps {
            try_gain(GAINS.start() + k as f32 * GAIN_STEP, &mut best);
        }
        let around = best.0.gain;
        for k in [-2.0, -1.0, 1.0, 2.0] {
            try_gain(around + k * FINE_STEP, &mut best);
        }
        best
    }
}

/// The global tone edit between `own` and `aligned` (sRGB, the same places), when one explains
/// them much better than none; either way round, since either photo can be the edited copy.
/// Fitted on every `stride`th pixel.
pub(super) fn edit_between(
    own: &[[f32; 3]],
    aligned: &[[f32; 3]],
    stride: usize,
) -> Option<Edited> {
    let every = |p: &[[f32; 3]]| -> Vec<[f32; 3]> { p.iter().step_by(stride).copied().collect() };
    let (own, aligned) = (&every(own)[..], &every(aligned)[..]);
    let mut scratch = Vec::new();
    let identity = Tone::IDENTITY.residual(own, aligned, &mut scratch);
    if identity < MOVED {
        return None;
    }
    let (forward, f) = Tone::fit(own, aligned);
    let (backward, b) = Tone::fit(aligned, own);
    let (edit, residual) = if f <= b {
        (Edited::Second(forward), f)
    } else {
        (Edited::First(backward), b)
    };
    (residual <= BETTER * identity).then_some(edit)
}

impl Pixels {
    /// Whether a tone edit (brightness, contrast) explains the two photos' pixels at the coarse
    /// alignment already: a cheap first look, before [`Pixels::compare`], at a pair whose colours
    /// differ (most such pairs are other products in other colours).
    pub fn toned_at_first_sight(&self, other: &Pixels) -> bool {
        let (own, theirs) = (self.coarse_unpacked(), other.coarse_unpacked());
        let tried = coarse_windows(
            &lightness(&own.fine),
            &lightness(&theirs.fine),
            theirs.background[0],
        );
        let window = &tried[0].1;
        let seen = sample_with(&theirs.rgb, COARSE, window, theirs.background_rgb, mix);
        let Some(edit) = edit_between(&own.rgb, &seen, 1) else {
            return false;
        };
        let (own, theirs) = own.with_edit_undone(&theirs, Some(edit));
        let seen = sample_with(&theirs.fine, COARSE, window, theirs.background, mix);
        own.colour_outside(&theirs, &seen, None) <= FIRST_SIGHT_COLOUR
    }

    /// The coarse plane as an [`Unpacked`] photo of its own (no detail), for the first look.
    fn coarse_unpacked(&self) -> Unpacked {
        Unpacked {
            detail: Vec::new(),
            aspect: self.aspect,
            fine: unpack(&self.coarse),
            rgb: srgb(&self.coarse),
            coarse: Vec::new(),
            background: self.background,
            background_rgb: self.background_rgb.map(f32::from),
        }
    }
}

impl Unpacked {
    /// `self` seen through `w`, in sRGB.
    pub(super) fn sample_rgb(&self, w: &Window) -> Vec<[f32; 3]> {
        sample_with(&self.rgb, FINE, w, self.background_rgb, mix)
    }

    /// `self` and `other` with `edit` (found between them) undone for their colours: the original
    /// mapped onto the copy's tones, so that what the copy clipped is clipped in both.
    pub(super) fn with_edit_undone<'a>(
        &'a self,
        other: &'a Unpacked,
        edit: Option<Edited>,
    ) -> (Cow<'a, Unpacked>, Cow<'a, Unpacked>) {
        match edit {
            Some(Edited::Second(t)) => (Cow::Owned(self.through(&t)), Cow::Borrowed(other)),
            Some(Edited::First(t)) => (Cow::Borrowed(self), Cow::Owned(other.through(&t))),
            None => (Cow::Borrowed(self), Cow::Borrowed(other)),
        }
    }

    /// `self`'s colours through a tone edit (no lightness detail: only its colours are compared).
    fn through(&self, t: &Tone) -> Unpacked {
        let rgb: Vec<[f32; 3]> = self.rgb.iter().map(|p| t.apply(*p)).collect();
        let background_rgb = t.apply(self.background_rgb);
        Unpacked {
            detail: Vec::new(),
            aspect: self.aspect,
            fine: rgb.iter().map(|p| lab_of(*p)).collect(),
            rgb,
            coarse: Vec::new(),
            background: lab_of(background_rgb),
            background_rgb,
        }
    }
}

/// Packed CIELAB back to sRGB (0..255): the pixels' sRGB is not kept (see [`srgb_of`]).
pub(super) fn srgb(p: &[[u8; 3]]) -> Vec<[f32; 3]> {
    unpack(p).into_iter().map(srgb_of).collect()
}

/// Mean of the lowest [`KEPT`] share of `values` (reordered).
fn trimmed_mean(values: &mut [f32]) -> f32 {
    if values.is_empty() {
        return 0.0;
    }
    let kept = ((values.len() as f32 * KEPT) as usize).max(1);
    if kept < values.len() {
        values.select_nth_unstable_by(kept, f32::total_cmp);
    }
    values[..kept].iter().sum::<f32>() / kept as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A frame of many tones: skin, hair, a light blue shirt (most of it), navy trousers, white
    /// background, a grey shadow.
    fn frame() -> Vec<[f32; 3]> {
        const SHIRT: [f32; 3] = [170.0, 200.0, 230.0];
        let tones = [
            [225.0, 185.0, 160.0],
            SHIRT,
            [40.0, 30.0, 25.0],
            SHIRT,
            [30.0, 40.0, 80.0],
            SHIRT,
            [255.0, 255.0, 255.0],
            [120.0, 110.0, 100.0],
        ];
        (0..600)
            .map(|i| {
                let t = tones[(i / 5) % tones.len()];
                let jitter = ((i * 37) % 11) as f32 - 5.0;
                t.map(|v: f32| (v + jitter).clamp(0.0, 255.0))
            })
            .collect()
    }

    #[test]
    fn a_brighter_more_contrasted_copy_is_one_edit_of_its_original_clipped_blue_and_all() {
        let own = frame();
        // As an editor brightens by 25, then adds 44% contrast: the light blue clips to 255.
        let edit = |v: f32| (((v + 25.0).min(255.0) - 127.5) * 1.44 + 127.5).clamp(0.0, 255.0);
        let copy: Vec<[f32; 3]> = own.iter().map(|p| p.map(edit)).collect();
        let Some(Edited::Second(tone)) = edit_between(&own, &copy, STRIDE) else {
            panic!("no edit found: {:?}", edit_between(&own, &copy, STRIDE));
        };
        assert!((tone.gain - 1.44).abs() < 0.05, "{tone:?}");
        assert!(
            (tone.offset - (25.0 * 1.44 - 0.44 * 127.5)).abs() < 6.0,
            "{tone:?}"
        );
        // Read the other way round: the copy is the first photo.
        assert!(matches!(
            edit_between(&copy, &own, STRIDE),
            Some(Edited::First(_))
        ));
        // It clipped: the copy lost levels the original has, not the other way round.
        assert!(tone.clipped_levels() > 60.0 && tone.inverse().clipped_levels() < 1.0);
        assert!(matches!(tone.edited(), Some(Edited::Second(_))));
        assert!(matches!(tone.inverse().edited(), Some(Edited::First(_))));
        // Nothing moved: no edit.
        assert_eq!(edit_between(&own, &own, STRIDE), None);
    }

    #[test]
    fn a_shirt_in_another_colour_is_no_edit_of_the_frame() {
        let own = frame();
        // The light blue shirt turned red; skin, hair, trousers and background stay.
        let red: Vec<[f32; 3]> = own
            .iter()
            .map(|p| {
                if p[2] > 200.0 && p[0] < 200.0 {
                    [210.0, 50.0, 60.0]
                } else {
                    *p
                }
            })
            .collect();
        assert_eq!(edit_between(&own, &red, STRIDE), None);
        // The shirt darkened alone (a darker variant) is no edit either.
        let darker: Vec<[f32; 3]> = own
            .iter()
            .map(|p| {
                if p[2] > 200.0 && p[0] < 200.0 {
                    p.map(|v| v * 0.5)
                } else {
                    *p
                }
            })
            .collect();
        assert_eq!(edit_between(&own, &darker, STRIDE), None);
    }
}
