//! How strong a match is, in words a stylist can read: where its cosine falls among the catalog's
//! own nearest-neighbour cosines. "Very close" is at least as alike as a typical item and its
//! closest other item in this catalog; "similar" at least as alike as a typical item and its tenth
//! closest; below that, "loosely related". Measured once when a folder is indexed, on an even sample
//! of its items (exact copies left out of their neighbours), and kept with the index. With colour
//! blended into the ranking, the bounds are blended alike (with how much such neighbours' colours
//! typically agree), so the bands follow the scores shown.

use rayon::prelude::*;

use super::VectorIndex;
use super::colour::Palette;

/// The two cosines that divide matches into bands, for one catalog.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MatchStrength {
    /// The median item's cosine to its closest other item.
    pub very_close: f32,
    /// The median item's cosine to its tenth closest.
    pub similar: f32,
    /// The median colour agreement of an item with its closest other item, and with its tenth
    /// (0.5 without colours, as the ranking counts them).
    pub close_colours: f32,
    pub similar_colours: f32,
}

/// A match's band.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Band {
    VeryClose,
    Similar,
    Loose,
}

impl Band {
    pub fn words(self) -> &'static str {
        match self {
            Band::VeryClose => "very close",
            Band::Similar => "similar",
            Band::Loose => "loosely related",
        }
    }

    /// The words on a small card.
    pub fn short(self) -> &'static str {
        match self {
            Band::VeryClose => "close",
            Band::Similar => "similar",
            Band::Loose => "loose",
        }
    }
}

/// Items sampled to measure a catalog's bands.
pub const SAMPLE: usize = 200;
/// Cosines above this are the same photo again, not a neighbour.
const SAME_PHOTO: f32 = 0.999;

impl MatchStrength {
    /// Measure on up to `sample` evenly spaced items of `vectors`; None for a catalog too small to
    /// have ten neighbours an item.
    pub fn measure(
        vectors: &dyn VectorIndex,
        palettes: Option<&[Option<Palette>]>,
        sample: usize,
    ) -> Option<MatchStrength> {
        let n = vectors.len();
        if n < 12 || sample == 0 {
            return None;
        }
        let picked: Vec<usize> = (0..sample.min(n)).map(|j| j * n / sample.min(n)).collect();
        let agreement = |i: usize, j: usize| {
            let p = |x: usize| palettes.and_then(|p| p.get(x)).and_then(Option::as_ref);
            match (p(i), p(j)) {
                (Some(a), Some(b)) => b.agreement(&a.histogram()),
                _ => 0.5,
            }
        };
        let near: Vec<[f32; 4]> = picked
            .par_iter()
            .filter_map(|&i| {
                let q = vectors.row(i);
                let near: Vec<_> = vectors
                    .top_k(&q, 20, &|x| x != i)
                    .into_iter()
                    .filter(|h| h.score < SAME_PHOTO)
                    .collect();
                (near.len() >= 10).then(|| {
                    [
                        near[0].score,
                        near[9].score,
                        agreement(i, near[0].index),
                        agreement(i, near[9].index),
                    ]
                })
            })
            .collect();
        if near.is_empty() {
            return None;
        }
        let column = |k: usize| median(&mut near.iter().map(|n| n[k]).collect::<Vec<_>>());
        Some(MatchStrength {
            very_close: column(0),
            similar: column(1),
            close_colours: column(2),
            similar_colours: column(3),
        })
    }

    /// The band of a match of this cosine.
    pub fn band(&self, cosine: f32) -> Band {
        self.band_blended(cosine, 0.0)
    }

    /// The band of a match of this score, the blend of cosine and colour agreement with colour
    /// weight `w` (see [`super::colour::rerank`]).
    pub fn band_blended(&self, score: f32, w: f32) -> Band {
        let w = w.clamp(0.0, 1.0);
        if score >= (1.0 - w) * self.very_close + w * self.close_colours {
            Band::VeryClose
        } else if score >= (1.0 - w) * self.similar + w * self.similar_colours {
            Band::Similar
        } else {
            Band::Loose
        }
    }

    /// As kept in the index's metadata: "v2 VERY_CLOSE SIMILAR CLOSE_COLOURS SIMILAR_COLOURS".
    pub fn to_meta(&self) -> String {
        format!(
            "v2 {} {} {} {}",
            self.very_close, self.similar, self.close_colours, self.similar_colours
        )
    }

    pub fn from_meta(text: &str) -> Option<MatchStrength> {
        let mut parts = text.split_whitespace();
        (parts.next()? == "v2").then_some(())?;
        let mut next = || parts.next()?.parse::<f32>().ok();
        Some(MatchStrength {
            very_close: next()?,
            similar: next()?,
            close_colours: next()?,
            similar_colours: next()?,
        })
    }
}

fn median(v: &mut [f32]) -> f32 {
    v.sort_by(f32::total_cmp);
    v[v.len() / 2]
}

/// The key of the index's metadata the bands are kept under.
pub const META_KEY: &str = "match_strength";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search::F32Rows;

    /// Unit rows in clusters of `size` around `clusters` random centres, `spread` apart from them.
    fn clustered(clusters: usize, size: usize, spread: f32, dims: usize) -> Vec<f32> {
        let mut rng = fastrand::Rng::with_seed(3);
        let mut rows = Vec::new();
        for _ in 0..clusters {
            let centre: Vec<f32> = (0..dims).map(|_| rng.f32() - 0.5).collect();
            for _ in 0..size {
                let mut r: Vec<f32> = centre
                    .iter()
                    .map(|c| c + spread * (rng.f32() - 0.5))
                    .collect();
                let norm = r.iter().map(|x| x * x).sum::<f32>().sqrt();
                r.iter_mut().for_each(|x| *x /= norm);
                rows.extend(r);
            }
        }
        rows
    }

    #[test]
    fn a_close_match_is_very_close_a_stranger_loosely_related_and_the_bands_keep() {
        let dims = 32;
        let rows = clustered(20, 15, 0.4, dims);
        let index = F32Rows::new(dims, rows.clone());
        let s = MatchStrength::measure(&index, None, 100).expect("enough items");
        assert!(s.very_close > s.similar, "{s:?}");
        // A member of a cluster, nudged: very close to it; a random direction: loosely related.
        let member = &rows[..dims];
        let nudged: Vec<f32> = member.iter().map(|x| x * 1.01).collect();
        let cos = |a: &[f32], b: &[f32]| {
            let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
            dot / (a.iter().map(|x| x * x).sum::<f32>().sqrt()
                * b.iter().map(|x| x * x).sum::<f32>().sqrt())
        };
        assert_eq!(s.band(cos(member, &nudged)), Band::VeryClose);
        let stranger: Vec<f32> = (0..dims)
            .map(|d| if d % 2 == 0 { 1.0 } else { -1.0 })
            .collect();
        assert_eq!(s.band(cos(member, &stranger)), Band::Loose);
        assert_eq!(MatchStrength::from_meta(&s.to_meta()), Some(s));
        assert_eq!(MatchStrength::from_meta("v1 0.9 0.8"), None);
        // Without colours, neighbours agree half: a blended score is judged against blended bounds.
        assert_eq!(s.close_colours, 0.5);
        let blended = 0.8 * s.very_close + 0.2 * 0.5;
        assert_eq!(s.band_blended(blended + 1e-4, 0.2), Band::VeryClose);
        assert_ne!(s.band_blended(blended - 0.05, 0.2), Band::VeryClose);
        let few = F32Rows::new(dims, rows[..5 * dims].to_vec());
        assert!(MatchStrength::measure(&few, None, 100).is_none());
    }
}
