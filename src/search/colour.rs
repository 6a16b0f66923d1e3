//! Colour-aware ranking: ImageNet features hardly see colour (a pink dress and a blue one are
//! near neighbours), so look-alikes are re-ranked by how well their colours agree with the query's.
//! A colour histogram (8 levels per channel, background white left out; see
//! [`crate::embed::fingerprint`]) is kept per item as its largest bins; agreement is one minus half
//! the L1 distance of two histograms. The blended score is `(1 - w) * cosine + w * agreement`.
//!
//! The default weight was picked on the demo catalog's labels (`lookalike eval --colour W`): the
//! largest gain on baseColour precision@10 for at most 0.01 lost on articleType.

use crate::embed::fingerprint::ColourHistogram;
use crate::search::Hit;

/// Weight of colour in the ranking `query` and `eval` use by default.
pub const DEFAULT_COLOUR_WEIGHT: f32 = 0.12;
/// Candidates (by cosine) re-ranked by colour: enough for colour to bring a match up from far
/// down the list, few enough to keep the kind of item.
pub const RERANKED: usize = 100;
/// Bins kept per catalog item: a garment's colours sit in a few bins; the rest counts as differing.
const KEPT_BINS: usize = 32;

/// An item's colour histogram, its largest bins only (bin, share in 1/65535), sorted by bin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Palette(Box<[(u16, u16)]>);

impl Palette {
    pub fn new(histogram: &ColourHistogram) -> Self {
        let mut bins: Vec<(u16, u16)> = histogram
            .iter()
            .enumerate()
            .filter(|(_, share)| **share > 0)
            .map(|(bin, &share)| (bin as u16, share))
            .collect();
        bins.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        bins.truncate(KEPT_BINS);
        bins.sort_by_key(|b| b.0);
        Palette(bins.into_boxed_slice())
    }

    /// The histogram back (bins beyond the kept ones are zero).
    pub fn histogram(&self) -> ColourHistogram {
        let mut h = [0u16; 512];
        for &(bin, share) in self.0.iter() {
            h[bin as usize] = share;
        }
        h
    }

    /// Agreement of this item's colours with a query's histogram: 1 same, 0 nothing in common.
    pub fn agreement(&self, query: &ColourHistogram) -> f32 {
        let query_total: i64 = query.iter().map(|&s| s as i64).sum();
        // L1 over all bins = the query's mass outside the kept bins + |q - p| inside them.
        let mut l1 = query_total;
        for &(bin, share) in self.0.iter() {
            let q = query[bin as usize] as i64;
            l1 += (q - share as i64).abs() - q;
        }
        let mass_here: i64 = self.0.iter().map(|&(_, s)| s as i64).sum();
        // Mass the item has outside its kept bins is unknown: count it as differing.
        l1 += (65_535 - mass_here).max(0);
        (1.0 - l1 as f32 / 65_535.0 / 2.0).clamp(0.0, 1.0)
    }
}

/// Re-rank `hits` (best cosine first) by the blend of cosine and colour agreement with `query`,
/// keeping `k`. Items without a palette keep their cosine as if their colours agreed half.
pub fn rerank(
    hits: &mut Vec<Hit>,
    query: &ColourHistogram,
    palettes: &[Option<Palette>],
    weight: f32,
    k: usize,
) {
    let w = weight.clamp(0.0, 1.0);
    for h in hits.iter_mut() {
        let agreement = palettes
            .get(h.index)
            .and_then(Option::as_ref)
            .map_or(0.5, |p| p.agreement(query));
        h.score = (1.0 - w) * h.score + w * agreement;
    }
    hits.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.index.cmp(&b.index)));
    hits.truncate(k);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one_colour(bin: usize) -> ColourHistogram {
        let mut h = [0u16; 512];
        h[bin] = 65_535;
        h
    }

    #[test]
    fn agreement_is_one_for_the_same_colours_and_zero_for_others() {
        let red = one_colour(7 * 64);
        let blue = one_colour(7);
        assert!((Palette::new(&red).agreement(&red) - 1.0).abs() < 1e-4);
        assert!(Palette::new(&red).agreement(&blue) < 1e-4);
        let mut half = [0u16; 512];
        half[7 * 64] = 32_768;
        half[7] = 32_767;
        assert!((Palette::new(&half).agreement(&red) - 0.5).abs() < 1e-3);
    }

    #[test]
    fn colour_brings_a_same_coloured_item_up_and_keeps_k() {
        let red = one_colour(7 * 64);
        let blue = one_colour(7);
        let palettes = vec![Some(Palette::new(&blue)), Some(Palette::new(&red)), None];
        let mut hits = vec![
            Hit {
                index: 0,
                score: 0.80,
            },
            Hit {
                index: 1,
                score: 0.78,
            },
            Hit {
                index: 2,
                score: 0.70,
            },
        ];
        rerank(&mut hits, &red, &palettes, 0.1, 2);
        assert_eq!(hits.iter().map(|h| h.index).collect::<Vec<_>>(), vec![1, 0]);
    }
}
