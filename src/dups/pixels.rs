//! The pixels of the candidate pairs compared, where they can decide: colours, tone edits and the
//! fine detail (see [`align`]).

use super::{
    Candidate, LOWEST_THRESHOLD, NARROW_MAX_COLOUR_DISTANCE, Rule, TONED_MAX_HASH_DISTANCE,
    TONED_MIN_COSINE, align, toned_colours_agree, wants_detail,
};
use crate::catalog::Catalog;

/// Compare the pixels of the candidate pairs that could be duplicates, from the stored thumbnails:
/// the colours of those the signals find alike (for colour variants); the fine detail of the
/// others close enough for it to decide them.
pub fn check_pixels(catalog: &Catalog, pairs: &mut [Candidate]) -> crate::Result<()> {
    use rayon::prelude::*;
    let loosest = Rule::default().with_threshold(LOWEST_THRESHOLD);
    let sure = Rule {
        threshold: f32::INFINITY,
        ..Rule::default()
    };
    // The detail only where it can decide: not for pairs the hash or a near-equal embedding
    // already make duplicates at any threshold, nor for photos too small to have any (a catalog of
    // 28-pixel icons would otherwise have every look-alike pair decoded).
    let detailed = |i: usize| {
        let it = &catalog.items()[i];
        it.width.max(it.height) >= align::DETAILED_SIDE
            && it.width.min(it.height) >= align::DETAILED_SIDE / 2
    };
    let detail =
        |c: &Candidate| wants_detail(c) && !sure.alike(c) && detailed(c.a) && detailed(c.b);
    // A pair alike but for its colours may be one photo brightened or given more contrast (its
    // fine detail decides: only photos that have some; and its lightness keeps its structure).
    let toned = |c: &Candidate| {
        c.cosine >= TONED_MIN_COSINE
            && c.colour_distance > loosest.max_colour_distance
            && c.hash_distance <= TONED_MAX_HASH_DISTANCE
            && detailed(c.a)
            && detailed(c.b)
    };
    let wanted = |c: &Candidate| !c.exact && (loosest.alike(c) || toned(c) || detail(c));
    let mut items: Vec<usize> = pairs
        .iter()
        .filter(|c| wanted(c))
        .flat_map(|c| [c.a, c.b])
        .collect();
    items.sort_unstable();
    items.dedup();
    let mut with_detail: Vec<usize> = pairs
        .iter()
        .filter(|c| !c.exact && detail(c))
        .flat_map(|c| [c.a, c.b])
        .collect();
    with_detail.sort_unstable();
    with_detail.dedup();
    let thumbs: Vec<(usize, Vec<u8>)> = items
        .iter()
        .map(|&i| Ok(catalog.thumbnail(i)?.map(|t| (i, t))))
        .filter_map(|r| r.transpose())
        .collect::<crate::Result<_>>()?;
    let pixels: std::collections::HashMap<usize, align::Pixels> = thumbs
        .par_iter()
        .filter_map(|(i, jpeg)| {
            let photo = crate::embed::decode_photo(jpeg).ok()?;
            let detail = with_detail.binary_search(i).is_ok();
            Some((*i, align::Pixels::with_detail(&photo.rgb, detail)))
        })
        .collect();
    pairs.par_iter_mut().filter(|c| wanted(c)).for_each(|c| {
        let Some((a, b)) = pixels.get(&c.a).zip(pixels.get(&c.b)) else {
            return;
        };
        // Two grey photos cannot be colour variants: only their detail can say more. A low, wide
        // item (sunglasses, a belt) leaves the colour check few cells, and lightness is blind to a
        // lens tint: its detail counts only when the colours agree by histogram too, or when it
        // finds one shot beside an overlay whose colour is all that differs (a banner across a
        // wallet is a third of its colour).
        let detail = detail(c);
        // A pair wanted only for a tone edit: a first look at the coarse alignment, first.
        if !detail && !loosest.alike(c) && !a.toned_at_first_sight(b) {
            return;
        }
        if a.colourful() || b.colourful() || (detail && a.detailed() && b.detailed()) {
            let narrow =
                !(a.broad() && b.broad()) && c.colour_distance > NARROW_MAX_COLOUR_DISTANCE;
            // A pair the embedding finds only loosely alike is worth the detail's cost only
            // when its colours can be one shot's (copies in a window or under a banner drift
            // down to 0.75; most look-alikes there are other products in other colours).
            let mut p = if detail && (narrow || c.cosine < LOWEST_THRESHOLD) {
                a.compare_when_overlaid(b)
            } else {
                a.compare(b, detail)
            };
            if narrow
                && !p
                    .colour_beside_overlay
                    .is_some_and(|x| x <= align::BESIDE_OVERLAY_COLOUR)
            {
                (p.detail, p.colour_beside_overlay) = (None, None);
            }
            // A tone edit that explains the colours: its detail decides (the few such pairs
            // decode their planes now).
            if toned(c) && p.detail.is_none() && toned_colours_agree(c.cosine, &p) {
                let with_plane = |i: usize| {
                    let k = thumbs.binary_search_by_key(&i, |t| t.0).ok()?;
                    let photo = crate::embed::decode_photo(&thumbs[k].1).ok()?;
                    Some(align::Pixels::new(&photo.rgb))
                };
                if let (Some(a), Some(b)) = (with_plane(c.a), with_plane(c.b)) {
                    p = a.compare(&b, true);
                }
            }
            c.pixels = Some(p);
        }
    });
    Ok(())
}
