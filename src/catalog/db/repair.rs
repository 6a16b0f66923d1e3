//! Index files that are not what they should be: a damaged one told apart from a file that is no
//! index at all, one removed to be made again, and one on a read-only disk opened as it is.

use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::{bad, db_err, lock_for_writing};
use crate::error::{Error, Result};

/// Whether the file at `path` starts as every SQLite database does.
fn is_sqlite_file(path: &Path) -> bool {
    let mut magic = [0u8; 16];
    std::fs::File::open(path)
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut magic))
        .is_ok()
        && &magic == b"SQLite format 3\0"
}

/// Remove the index at `path` and the files beside it (write-ahead log, vectors file), to make it
/// again; refuses a file that is not an SQLite database, so a mistyped path never loses a photo.
pub fn remove_index(path: &Path) -> Result<()> {
    let _writing = lock_for_writing(path)?;
    match std::fs::metadata(path) {
        Err(_) => return Ok(()),
        Ok(m) if m.len() == 0 || is_sqlite_file(path) => {}
        Ok(_) => {
            return Err(bad(
                path,
                "it is not an SQLite database, so it was not removed".into(),
            ));
        }
    }
    for suffix in ["", "-wal", "-shm", ".vectors", ".vectors.part"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        match std::fs::remove_file(&name) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(crate::error::io_err(PathBuf::from(name))(e));
            }
            _ => {}
        }
    }
    Ok(())
}

/// What is wrong with an index SQLite could not read: not an SQLite file at all, or a damaged one.
pub(super) fn diagnose(path: &Path, source: rusqlite::Error) -> Error {
    let empty = std::fs::metadata(path).is_ok_and(|m| m.len() == 0);
    if !is_sqlite_file(path) && !empty && path.is_file() {
        return bad(path, "it is not an SQLite database".into());
    }
    match source.sqlite_error_code() {
        Some(rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase) => {
            Error::DamagedIndex {
                path: path.to_path_buf(),
                source,
            }
        }
        _ => db_err(path)(source),
    }
}

/// Whether this process may write the index file and make files beside it.
pub(super) fn writable(path: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt as _;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    [path, dir].iter().all(|p| {
        std::ffi::CString::new(p.as_os_str().as_bytes())
            // SAFETY: a valid NUL-terminated path.
            .is_ok_and(|c| unsafe { libc::access(c.as_ptr(), libc::W_OK) } == 0)
    })
}

/// An SQLite URI that opens `path` read-only and immutable.
pub(super) fn immutable_uri(path: &Path) -> String {
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut uri = String::from("file:");
    for b in abs.as_os_str().as_bytes() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'/' | b'-' | b'_' | b'.' | b'~' => {
                uri.push(*b as char)
            }
            _ => uri.push_str(&format!("%{b:02X}")),
        }
    }
    uri + "?immutable=1"
}
