//! Finding the photos of a catalog folder: recursive, skipping hidden entries, safe against symlink cycles.

use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use walkdir::WalkDir;

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
}

/// Whether a file name has a photo extension.
pub fn is_photo_name(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| PHOTO_EXTENSIONS.iter().any(|x| x.eq_ignore_ascii_case(e)))
}

/// Every photo under `root`, sorted by relative path. Entries that cannot be listed (a symlink
/// cycle, a folder without permission) are returned as `(path, reason)` and skipped.
pub fn scan_folder(root: &Path) -> (Vec<ScannedFile>, Vec<(PathBuf, String)>) {
    let mut files = Vec::new();
    let mut problems = Vec::new();
    let walker = WalkDir::new(root)
        .follow_links(true)
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !e.file_name().as_encoded_bytes().starts_with(b"."));
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
        files.push(ScannedFile {
            abs: entry.path().to_path_buf(),
            rel,
            size: meta.len(),
            mtime_ns,
        });
    }
    files.sort_by(|a, b| a.rel.cmp(&b.rel));
    (files, problems)
}
