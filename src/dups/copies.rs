//! Copies among search results: the duplicate finder's rule applied to a ranked list, so the
//! look-alikes show one card per photo.

use super::{Candidate, HASH_BITS, Rule, check_pixels, colour_label};
use crate::catalog::Catalog;

/// Copies among ranked items (search results), by the duplicate finder's rule: byte-identical, or
/// nearly the same embedding (the rule's sure cosine) and not a colour variant by their pixels or
/// labels, and not kept apart by the user. For each item of `ranked` that is no copy of one before
/// it: its position in `ranked` and the positions of its copies further down. Each is compared
/// with the group's first item, so groups do not chain.
pub fn copies_among(
    catalog: &Catalog,
    ranked: &[usize],
) -> crate::Result<Vec<(usize, Vec<usize>)>> {
    let rule = Rule::default();
    let items = catalog.items();
    // A server's rows are fetched one by one: there only byte-identical files count as copies.
    let vectors: Option<Vec<std::borrow::Cow<'_, [f32]>>> = catalog
        .vectors()
        .remote()
        .is_none()
        .then(|| ranked.iter().map(|&i| catalog.vector(i)).collect());
    let mut pairs = Vec::new();
    for x in 0..ranked.len() {
        for y in x + 1..ranked.len() {
            let (a, b) = (ranked[x], ranked[y]);
            let exact = !items[a].hash.is_empty() && items[a].hash == items[b].hash;
            // Byte-identical files need no cosine (a catalog may hold hundreds of one photo).
            let cosine = match &vectors {
                _ if exact => 1.0,
                Some(v) => crate::search::dot(&v[x], &v[y]),
                None => 0.0,
            };
            if exact || cosine >= rule.sure_cosine {
                pairs.push(Candidate {
                    a,
                    b,
                    cosine,
                    hash_distance: HASH_BITS,
                    colour_distance: 1.0,
                    extra_colour: 0.0,
                    exact,
                    pixels: None,
                    decided_apart: false,
                    colours_labelled_apart: false,
                });
            }
        }
    }
    let mut groups: Vec<(usize, Vec<usize>)> = Vec::new();
    if pairs.is_empty() {
        return Ok((0..ranked.len()).map(|x| (x, Vec::new())).collect());
    }
    check_pixels(catalog, &mut pairs)?;
    let decided = catalog.store().not_duplicates()?;
    for c in &mut pairs {
        c.colours_labelled_apart = matches!(
            (colour_label(catalog, c.a), colour_label(catalog, c.b)),
            (Some(x), Some(y)) if !x.eq_ignore_ascii_case(y)
        );
        let (ha, hb) = (items[c.a].hash.as_slice(), items[c.b].hash.as_slice());
        let (lo, hi) = if ha <= hb { (ha, hb) } else { (hb, ha) };
        c.decided_apart = decided.iter().any(|d| d.a == lo && d.b == hi);
    }
    let accepted: std::collections::HashSet<(usize, usize)> = pairs
        .iter()
        .filter(|c| rule.accepts(c))
        .map(|c| (c.a.min(c.b), c.a.max(c.b)))
        .collect();
    let copy = |a: usize, b: usize| accepted.contains(&(a.min(b), a.max(b)));
    for (y, &item) in ranked.iter().enumerate() {
        match groups
            .iter_mut()
            .find(|(lead, _)| copy(ranked[*lead], item))
        {
            Some((_, members)) => members.push(y),
            None => groups.push((y, Vec::new())),
        }
    }
    Ok(groups)
}
