//! Moving duplicates to the system trash, and putting them back: every move is written to a log
//! (`trash-log.jsonl` in the data folder) first, so the last move can be undone from the window or
//! with `lookalike dups undo`, even after a restart.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// One move to the trash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Move {
    /// Seconds since 1970.
    pub time: i64,
    pub files: Vec<PathBuf>,
    /// Put back since.
    #[serde(default)]
    pub undone: bool,
}

/// The log of moves.
pub fn log_path() -> PathBuf {
    crate::paths::data_dir().join("trash-log.jsonl")
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Every move in `log`, oldest first (lines that cannot be read are skipped).
pub fn moves(log: &Path) -> Result<Vec<Move>> {
    match std::fs::read_to_string(log) {
        Ok(text) => Ok(text
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(io(log)(e)),
    }
}

#[cfg(feature = "trash")]
fn append(log: &Path, m: &Move) -> Result<()> {
    use std::io::Write;
    if let Some(dir) = log.parent() {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
    }
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .map_err(io(log))?;
    let line = serde_json::to_string(m).map_err(|e| io(log)(std::io::Error::other(e)))?;
    writeln!(f, "{line}").map_err(io(log))
}

/// Move `files` to the system trash, logged in `log` first.
#[cfg(feature = "trash")]
pub fn move_to_trash(files: &[PathBuf], log: &Path) -> Result<()> {
    let m = Move {
        time: crate::catalog::unix_now(),
        files: files.to_vec(),
        undone: false,
    };
    append(log, &m)?;
    trash::delete_all(files).map_err(|e| Error::Io {
        path: files.first().cloned().unwrap_or_default(),
        source: std::io::Error::other(format!("cannot move to the trash: {e}")),
    })
}

/// Put back the files of the last move not yet undone; returns them. A file whose place is taken
/// again (a new file of that name) stays in the trash, and the error says which.
#[cfg(all(feature = "trash", any(target_os = "linux", windows)))]
pub fn undo_last(log: &Path) -> Result<Vec<PathBuf>> {
    let Some(last) = moves(log)?.into_iter().rev().find(|m| !m.undone) else {
        return Err(Error::Io {
            path: log.to_path_buf(),
            source: std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "nothing to undo: no move to the trash is logged",
            ),
        });
    };
    let trash_err = |e: trash::Error| Error::Io {
        path: last.files.first().cloned().unwrap_or_default(),
        source: std::io::Error::other(format!("cannot put back from the trash: {e}")),
    };
    let listed = trash::os_limited::list().map_err(trash_err)?;
    // The newest trashed copy of each file of the move.
    let mut items: Vec<trash::TrashItem> = Vec::new();
    for f in &last.files {
        if let Some(item) = listed
            .iter()
            .filter(|t| t.original_path() == *f)
            .max_by_key(|t| t.time_deleted)
        {
            items.push(item.clone());
        }
    }
    let restored: Vec<PathBuf> = items.iter().map(|t| t.original_path()).collect();
    if !items.is_empty() {
        trash::os_limited::restore_all(items).map_err(trash_err)?;
    }
    append(
        log,
        &Move {
            undone: true,
            ..last
        },
    )?;
    Ok(restored)
}

/// Without a trash that can be listed, undo is not offered.
#[cfg(not(all(feature = "trash", any(target_os = "linux", windows))))]
pub fn undo_last(log: &Path) -> Result<Vec<PathBuf>> {
    Err(Error::Io {
        path: log.to_path_buf(),
        source: std::io::Error::other(
            "this build cannot put files back from the trash: restore them from the system's trash",
        ),
    })
}
