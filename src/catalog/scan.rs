//! Finding the photos of a catalog folder: recursive, skipping hidden entries, safe against symlink
//! cycles. One physical file is one item: a second name of a file already found (a symbolic link,
//! a folder reached through a link, a hard link) is an alias of it, never a copy of its own.
//! Paths the folder's `.lookalikeignore` (gitignore syntax) or `--exclude` patterns name are left
//! out, as if they were not there.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use ignore::gitignore::{Gitignore, GitignoreBuilder};
use walkdir::WalkDir;

/// The file in a catalog folder that names what to leave out, in gitignore syntax.
pub const IGNORE_FILE: &str = ".lookalikeignore";

/// What a scan leaves out: the patterns of the folder's [`IGNORE_FILE`] and any given.
#[derive(Clone)]
pub struct Exclusions {
    matcher: Gitignore,
}

/// A pattern that cannot be read.
#[derive(Debug, thiserror::Error)]
#[error("{source_name}: the exclusion pattern {pattern:?} is not valid ({why}): fix or remove it")]
pub struct BadPattern {
    pub source_name: String,
    pub pattern: String,
    pub why: String,
}

impl Exclusions {
    /// Nothing left out.
    pub fn none() -> Exclusions {
        Exclusions {
            matcher: Gitignore::empty(),
        }
    }

    /// The patterns of `root`'s [`IGNORE_FILE`] (when there is one) and `extra` (as given on the
    /// command line, relative to `root`).
    pub fn for_folder(root: &Path, extra: &[String]) -> Result<Exclusions, BadPattern> {
        let mut b = GitignoreBuilder::new(root);
        let file = root.join(IGNORE_FILE);
        if let Ok(text) = std::fs::read_to_string(&file) {
            for line in text.lines() {
                b.add_line(Some(file.clone()), line)
                    .map_err(|e| BadPattern {
                        source_name: file.display().to_string(),
                        pattern: line.to_string(),
                        why: e.to_string(),
                    })?;
            }
        }
        for p in extra {
            b.add_line(None, p).map_err(|e| BadPattern {
                source_name: "--exclude".into(),
                pattern: p.clone(),
                why: e.to_string(),
            })?;
        }
        let matcher = b.build().map_err(|e| BadPattern {
            source_name: file.display().to_string(),
            pattern: String::new(),
            why: e.to_string(),
        })?;
        Ok(Exclusions { matcher })
    }

    /// Whether `rel` (relative to the folder) is left out, by itself or by a folder above it.
    pub fn excludes(&self, rel: &Path, is_dir: bool) -> bool {
        !rel.as_os_str().is_empty()
            && self
                .matcher
                .matched_path_or_any_parents(rel, is_dir)
                .is_ignore()
    }

    /// How many patterns there are.
    pub fn len(&self) -> usize {
        self.matcher.num_ignores() as usize
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Extensions of the formats lookalike decodes.
const PHOTO_EXTENSIONS: [&str; 9] = [
    "jpg", "jpeg", "png", "webp", "gif", "bmp", "tif", "tiff", "jfif",
];

/// A photo file found in the catalog folder.
#[derive(Debug, Clone)]
pub struct ScannedFile {
    pub abs: PathBuf,
    /// Relative to the catalog folder.
    pub rel: PathBuf,
    pub size: u64,
    pub mtime_ns: i64,
    /// Other names of the same physical file under the catalog folder (links), relative to it.
    pub aliases: Vec<PathBuf>,
}

/// What makes two names one file: the device and inode it lives on.
#[cfg(unix)]
fn file_identity(meta: &std::fs::Metadata) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    Some((meta.dev(), meta.ino()))
}

#[cfg(not(unix))]
fn file_identity(_meta: &std::fs::Metadata) -> Option<(u64, u64)> {
    None
}

/// The physical file behind a path, links followed: its device and inode; `None` when it is gone
/// or not a file. Two paths with the same answer are one file.
#[cfg(unix)]
pub fn physical_file(path: &Path) -> Option<(u64, u64)> {
    let meta = std::fs::metadata(path).ok()?;
    meta.is_file().then(|| file_identity(&meta)).flatten()
}

/// The physical file behind a path, links followed: its canonical path; `None` when it is gone.
#[cfg(not(unix))]
pub fn physical_file(path: &Path) -> Option<PathBuf> {
    std::fs::canonicalize(path).ok().filter(|p| p.is_file())
}

/// Whether `path` (absolute) is reached without following any symbolic link.
fn is_real_path(path: &Path) -> bool {
    path.canonicalize().is_ok_and(|c| c == path)
}

/// Whether a file name has a photo extension.
pub fn is_photo_name(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| PHOTO_EXTENSIONS.iter().any(|x| x.eq_ignore_ascii_case(e)))
}

/// Every photo under `root` that `exclusions` leave in, sorted by relative path. Entries that
/// cannot be listed (a symlink cycle, a folder without permission) are returned as `(path,
/// reason)` and skipped.
///
/// Names of one physical file are merged into one [`ScannedFile`]: the name reached without links
/// when there is one (else the shortest), the others in its `aliases`. `root` should be canonical.
pub fn scan_folder(
    root: &Path,
    exclusions: &Exclusions,
) -> (Vec<ScannedFile>, Vec<(PathBuf, String)>) {
    let mut files: Vec<ScannedFile> = Vec::new();
    let mut by_identity: HashMap<(u64, u64), Vec<usize>> = HashMap::new();
    let mut problems = Vec::new();
    let walker = WalkDir::new(root)
        .follow_links(true)
        .into_iter()
        .filter_entry(|e| {
            e.depth() == 0
                || !(e.file_name().as_encoded_bytes().starts_with(b".")
                    || exclusions.excludes(
                        e.path().strip_prefix(root).unwrap_or(e.path()),
                        e.file_type().is_dir(),
                    ))
        });
    for entry in walker {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                let path = e
                    .path()
                    .map(Path::to_path_buf)
                    .unwrap_or_else(|| root.to_path_buf());
                let reason = if e.loop_ancestor().is_some() {
                    "symbolic link loop, skipped".to_string()
                } else {
                    e.to_string()
                };
                problems.push((path, reason));
                continue;
            }
        };
        if !entry.file_type().is_file() || !is_photo_name(entry.path()) {
            continue;
        }
        let meta = match entry.metadata() {
            Ok(m) => m,
            Err(e) => {
                problems.push((entry.path().to_path_buf(), e.to_string()));
                continue;
            }
        };
        let mtime_ns = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map(|d| d.as_nanos() as i64)
            .unwrap_or(0);
        let rel = entry
            .path()
            .strip_prefix(root)
            .unwrap_or(entry.path())
            .to_path_buf();
        if let Some(id) = file_identity(&meta) {
            by_identity.entry(id).or_default().push(files.len());
        }
        files.push(ScannedFile {
            abs: entry.path().to_path_buf(),
            rel,
            size: meta.len(),
            mtime_ns,
            aliases: Vec::new(),
        });
    }
    let mut alias = vec![false; files.len()];
    for names in by_identity.into_values().filter(|n| n.len() > 1) {
        let keep = names
            .iter()
            .copied()
            .min_by_key(|&i| {
                let f = &files[i];
                (
                    !is_real_path(&f.abs),
                    f.rel.as_os_str().len(),
                    f.rel.clone(),
                )
            })
            .unwrap_or(names[0]);
        for &i in names.iter().filter(|&&i| i != keep) {
            alias[i] = true;
            let rel = files[i].rel.clone();
            files[keep].aliases.push(rel);
        }
        files[keep].aliases.sort();
    }
    let mut files: Vec<ScannedFile> = files
        .into_iter()
        .zip(alias)
        .filter_map(|(f, is_alias)| (!is_alias).then_some(f))
        .collect();
    files.sort_by(|a, b| a.rel.cmp(&b.rel));
    (files, problems)
}
