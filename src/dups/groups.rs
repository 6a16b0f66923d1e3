//! Groups of duplicates around a keeper (the best copy to keep), each member a duplicate of the
//! keeper itself, never only through a chain of others.

use std::path::PathBuf;

use serde::Serialize;

use super::align::tone::Edited;
use super::{Candidate, Rule};
use crate::catalog::Catalog;

/// A group of duplicates: a keeper and its duplicates.
#[derive(Debug, Clone, Serialize)]
pub struct Group {
    /// Catalog item indices, the suggested keeper first.
    pub items: Vec<usize>,
    /// Each member's pair with the keeper, in the order of `items[1..]`.
    pub pairs: Vec<Candidate>,
    /// Every item is byte-identical to the others.
    pub exact: bool,
}

impl Group {
    pub fn keeper(&self) -> usize {
        self.items[0]
    }

    /// Item `i`'s pair with the keeper (None for the keeper itself).
    pub fn to_keeper(&self, i: usize) -> Option<&Candidate> {
        self.pairs.iter().find(|p| p.a == i || p.b == i)
    }
}

/// Groups of duplicates around a keeper: the best copy to keep (largest resolution, then one with
/// nothing laid over it nor brightened until it clipped, then largest file, then shortest path)
/// and every item `rule` judges a duplicate of it (see [`group_by`]).
pub fn group(catalog: &Catalog, pairs: &[Candidate], rule: &Rule) -> Vec<Group> {
    group_by(catalog, pairs, |c| rule.accepts(c))
}

/// Groups of the pairs `accept` lets through. Items are taken best copy first: each not yet in a
/// group becomes the keeper of those still free that are accepted as its duplicates. A member is
/// a duplicate of its keeper itself, never only through a chain of others (a chain of look-alikes
/// would otherwise join thousands of items). Largest groups first.
pub fn group_by(
    catalog: &Catalog,
    pairs: &[Candidate],
    accept: impl Fn(&Candidate) -> bool,
) -> Vec<Group> {
    let mut partners: std::collections::HashMap<usize, Vec<&Candidate>> = Default::default();
    // Items that are a duplicate with a banner or a sticker laid over it, or brightened until it
    // clipped: never the keeper when a clean copy of the same size is there (an edited copy's
    // file is the larger one).
    let mut stamped = std::collections::HashSet::new();
    for c in pairs.iter().filter(|c| accept(c)) {
        partners.entry(c.a).or_default().push(c);
        partners.entry(c.b).or_default().push(c);
        if c.extra_colour.abs() >= STAMPED {
            stamped.insert(if c.extra_colour > 0.0 { c.a } else { c.b });
        }
        match c.pixels.and_then(|p| p.tone?.edited()) {
            Some(Edited::Second(_)) => stamped.insert(c.b),
            Some(Edited::First(_)) => stamped.insert(c.a),
            None => false,
        };
    }
    let rank = |i: usize| keeper_rank(catalog, i, stamped.contains(&i));
    let mut order: Vec<usize> = partners.keys().copied().collect();
    order.sort_by_cached_key(|&i| rank(i));
    let mut taken = vec![false; catalog.len()];
    let mut groups = Vec::new();
    for keeper in order {
        if taken[keeper] {
            continue;
        }
        let mut joined: Vec<(usize, Candidate)> = partners[&keeper]
            .iter()
            .map(|c| (if c.a == keeper { c.b } else { c.a }, **c))
            .filter(|(other, _)| !taken[*other])
            .collect();
        if joined.is_empty() {
            continue;
        }
        joined.sort_by_cached_key(|(i, _)| rank(*i));
        joined.dedup_by_key(|(i, _)| *i);
        taken[keeper] = true;
        let mut items = vec![keeper];
        for (i, _) in &joined {
            taken[*i] = true;
            items.push(*i);
        }
        let exact = items
            .iter()
            .all(|&i| catalog.items()[i].hash == catalog.items()[keeper].hash);
        groups.push(Group {
            items,
            pairs: joined.into_iter().map(|(_, c)| c).collect(),
            exact,
        });
    }
    groups.sort_by(|a, b| {
        b.items
            .len()
            .cmp(&a.items.len())
            .then(a.items.cmp(&b.items))
    });
    groups
}

/// A duplicate whose colours are its partner's and this share more is that photo with something
/// laid over it (in the benchmark, a text banner adds 0.09-0.34, median 0.16, and a sticker
/// 0.03-0.18; re-encoding, resizing, cropping, mirroring and framing move it under 0.06 either way;
/// a brighter copy adds up to 0.16, and is no better a keeper).
const STAMPED: f32 = 0.1;

/// Sort key: the best copy to keep first.
fn keeper_rank(
    catalog: &Catalog,
    i: usize,
    stamped: bool,
) -> (
    std::cmp::Reverse<u64>,
    bool,
    std::cmp::Reverse<u64>,
    usize,
    PathBuf,
) {
    let it = &catalog.items()[i];
    (
        std::cmp::Reverse(it.width as u64 * it.height as u64),
        stamped,
        std::cmp::Reverse(it.size),
        it.path.as_os_str().len(),
        it.path.clone(),
    )
}
