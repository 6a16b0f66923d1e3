//! The duplicate benchmark's files: the dump it writes (every candidate pair with its signals and
//! pixel checks, and whether it is a known duplicate, as CSV: `--dump FILE`), and czkawka's
//! output it reads (`--czkawka-result FILE`).

use std::collections::HashMap;
use std::path::Path;

use anyhow::{Context, Result};
use lookalike::dups::Candidate;
use lookalike::dups::align::PixelCheck;

/// Write `pairs` to `path`, items named by `name_of`, known duplicates told by `duplicate`.
pub fn write_dump(
    path: &Path,
    pairs: &[Candidate],
    name_of: &dyn Fn(usize) -> String,
    duplicate: impl Fn(usize, usize) -> bool,
) -> Result<()> {
    let mut w = csv::Writer::from_path(path)?;
    w.write_record([
        "a",
        "b",
        "cosine",
        "hash_distance",
        "colour_distance",
        "extra_colour",
        "exact",
        "structure",
        "colour_differs",
        "differing_extent",
        "detail_agrees",
        "textured",
        "agrees_beside_overlay",
        "textured_beside_overlay",
        "colour_beside_overlay",
        "tone_gain",
        "tone_offset",
        "toned_colour_distance",
        "mirrored",
        "duplicate",
    ])?;
    for p in pairs {
        let px = |f: fn(&PixelCheck) -> f32| {
            p.pixels
                .as_ref()
                .map(|c| f(c).to_string())
                .unwrap_or_default()
        };
        w.write_record([
            name_of(p.a),
            name_of(p.b),
            p.cosine.to_string(),
            p.hash_distance.to_string(),
            p.colour_distance.to_string(),
            p.extra_colour.to_string(),
            p.exact.to_string(),
            px(|c| c.structure),
            px(|c| c.colour_differs),
            px(|c| c.differing_extent),
            px(|c| c.detail.map_or(f32::NAN, |d| d.agrees)),
            px(|c| c.detail.map_or(f32::NAN, |d| d.textured)),
            px(|c| c.detail.map_or(f32::NAN, |d| d.agrees_beside)),
            px(|c| c.detail.map_or(f32::NAN, |d| d.textured_beside)),
            px(|c| c.colour_beside_overlay.unwrap_or(f32::NAN)),
            px(|c| c.tone.map_or(f32::NAN, |t| t.gain)),
            px(|c| c.tone.map_or(f32::NAN, |t| t.offset)),
            px(|c| c.toned_colour_distance.unwrap_or(f32::NAN)),
            px(|c| c.mirrored as u8 as f32),
            duplicate(p.a, p.b).to_string(),
        ])?;
    }
    w.flush()?;
    Ok(())
}

/// Groups from czkawka_cli's text output: blocks of lines naming files, separated by blank lines.
pub fn czkawka_groups(
    file: &Path,
    root: &Path,
    by_name: &HashMap<String, usize>,
) -> Result<Vec<Vec<usize>>> {
    let text = std::fs::read_to_string(file).with_context(|| format!("{}", file.display()))?;
    let root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    let mut groups = Vec::new();
    let mut current = Vec::new();
    for line in text.lines() {
        let path = line
            .split(" - ")
            .next()
            .unwrap_or("")
            .trim()
            .trim_matches('"');
        let found = Path::new(path)
            .strip_prefix(&root)
            .ok()
            .and_then(|rel| by_name.get(&rel.to_string_lossy().into_owned()));
        match found {
            Some(&i) => current.push(i),
            None if !current.is_empty() => {
                if current.len() > 1 {
                    groups.push(std::mem::take(&mut current));
                }
                current.clear();
            }
            None => {}
        }
    }
    if current.len() > 1 {
        groups.push(current);
    }
    Ok(groups)
}
