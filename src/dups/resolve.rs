//! Bulk rules for duplicate groups: which copy of each group to keep (the largest, the newest, the
//! oldest, the one in a folder), the others marked for the trash (checked by [`super::trash_plan`]).

use std::path::PathBuf;

use super::Group;
use crate::catalog::Catalog;

/// Which copy of each group a bulk rule keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Keep {
    /// The largest resolution, then the largest file (the suggested keeper).
    Largest,
    /// The most recently modified file.
    Newest,
    /// The least recently modified file.
    Oldest,
    /// A copy inside this folder (the suggested keeper when the group has none there).
    In(PathBuf),
}

impl std::str::FromStr for Keep {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "largest" => Ok(Keep::Largest),
            "newest" => Ok(Keep::Newest),
            "oldest" => Ok(Keep::Oldest),
            _ => match s.strip_prefix("in:") {
                Some(dir) if !dir.is_empty() => Ok(Keep::In(PathBuf::from(dir))),
                _ => Err(format!(
                    "`{s}` is not a rule: use largest, newest, oldest or in:FOLDER"
                )),
            },
        }
    }
}

/// What a bulk rule does to one group: the copy it keeps, the ones it would move to the trash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolution {
    pub group: usize,
    pub keep: usize,
    pub remove: Vec<usize>,
}

/// Apply `keep` to every group: one copy kept, the others marked for the trash. Groups are left
/// whole when the rule cannot choose (`in:FOLDER` with no copy there keeps the suggested keeper).
pub fn resolve(catalog: &Catalog, groups: &[Group], keep: &Keep) -> Vec<Resolution> {
    let folder = match keep {
        Keep::In(dir) => Some(
            dir.canonicalize()
                .unwrap_or_else(|_| catalog.root().join(dir)),
        ),
        _ => None,
    };
    groups
        .iter()
        .enumerate()
        .map(|(n, g)| {
            let mtime = |i: &usize| catalog.items()[*i].mtime_ns;
            let chosen = match keep {
                Keep::Largest => Some(g.keeper()),
                Keep::Newest => g.items.iter().copied().max_by_key(mtime),
                Keep::Oldest => g.items.iter().copied().min_by_key(mtime),
                Keep::In(_) => g.items.iter().copied().find(|&i| {
                    let p = catalog.abs_path(i);
                    let p = p.canonicalize().unwrap_or(p);
                    folder.as_ref().is_some_and(|f| p.starts_with(f))
                }),
            }
            .unwrap_or(g.keeper());
            Resolution {
                group: n,
                keep: chosen,
                remove: g.items.iter().copied().filter(|&i| i != chosen).collect(),
            }
        })
        .collect()
}
