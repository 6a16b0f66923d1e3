//! Memory bounds for photos: files are read only when they are regular files of a plausible size
//! and look like images, and every decode at once shares one memory budget, so a folder of
//! decompression bombs cannot take the machine's memory however many threads decode.

use std::io::Read;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;
use std::sync::{Condvar, Mutex, OnceLock};

use crate::error::PhotoError;

/// Largest file read as a photo. A 200-megapixel phone JPEG is about 50 MB.
pub const MAX_FILE_BYTES: u64 = 256 << 20;
/// Memory shared by all photos being decoded at once, unless LOOKALIKE_DECODE_BUDGET_MB says
/// otherwise. One photo needing more is refused; photos that fit wait for each other.
pub const DEFAULT_BUDGET_BYTES: u64 = 1 << 30;
/// How many bytes are enough to tell an image's format.
const HEADER_BYTES: usize = 64;

/// The whole content of a photo file, read with the bounds above.
pub fn read_photo_file(path: &Path) -> Result<Vec<u8>, PhotoError> {
    // A FIFO would block `open` until a writer comes: check the kind first, and open without
    // blocking in case it changed in between.
    let meta = std::fs::metadata(path).map_err(PhotoError::Unreadable)?;
    not_special(&meta)?;
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(PhotoError::Unreadable)?;
    let meta = file.metadata().map_err(PhotoError::Unreadable)?;
    not_special(&meta)?;
    let len = meta.len();
    if len == 0 {
        return Err(PhotoError::Empty);
    }
    let mut header = Vec::with_capacity(HEADER_BYTES);
    (&mut file)
        .take(HEADER_BYTES as u64)
        .read_to_end(&mut header)
        .map_err(PhotoError::Unreadable)?;
    if image::guess_format(&header).is_err() {
        return Err(PhotoError::NotAnImage);
    }
    if len > MAX_FILE_BYTES {
        return Err(PhotoError::FileTooLarge {
            bytes: len,
            limit: MAX_FILE_BYTES,
        });
    }
    let mut bytes = header;
    bytes.reserve_exact((len as usize).saturating_sub(bytes.len()));
    // The file may grow while it is read: never past the limit.
    file.take(MAX_FILE_BYTES + 1 - bytes.len() as u64)
        .read_to_end(&mut bytes)
        .map_err(PhotoError::Unreadable)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(PhotoError::FileTooLarge {
            bytes: bytes.len() as u64,
            limit: MAX_FILE_BYTES,
        });
    }
    Ok(bytes)
}

fn not_special(meta: &std::fs::Metadata) -> Result<(), PhotoError> {
    let t = meta.file_type();
    let kind = if t.is_dir() {
        "a folder"
    } else if t.is_fifo() {
        "a named pipe (FIFO)"
    } else if t.is_char_device() || t.is_block_device() {
        "a device"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_file() {
        return Ok(());
    } else {
        "not a regular file"
    };
    Err(PhotoError::NotAFile { kind })
}

/// The budget's size in bytes.
pub fn budget_bytes() -> u64 {
    budget().total
}

/// A share of the decoding budget, given back when dropped.
#[must_use]
#[derive(Debug)]
pub struct Lease {
    bytes: u64,
}

impl Lease {
    /// Give back all but `bytes` of this share (a decode's buffers are freed, its picture kept).
    pub fn shrink_to(&mut self, bytes: u64) {
        if bytes < self.bytes {
            let b = budget();
            let mut used = b.used.lock().unwrap_or_else(|e| e.into_inner());
            *used -= self.bytes - bytes;
            self.bytes = bytes;
            b.freed.notify_all();
        }
    }
}

/// Take `bytes` of the budget, waiting while other decodes hold too much of it; `None` when
/// `bytes` is more than the whole budget (the photo can never be decoded within it).
pub fn reserve(bytes: u64) -> Option<Lease> {
    let b = budget();
    if bytes > b.total {
        return None;
    }
    let mut used = b.used.lock().unwrap_or_else(|e| e.into_inner());
    while *used + bytes > b.total {
        used = b.freed.wait(used).unwrap_or_else(|e| e.into_inner());
    }
    *used += bytes;
    Some(Lease { bytes })
}

impl Drop for Lease {
    fn drop(&mut self) {
        let b = budget();
        let mut used = b.used.lock().unwrap_or_else(|e| e.into_inner());
        *used -= self.bytes;
        b.freed.notify_all();
    }
}

struct Budget {
    total: u64,
    used: Mutex<u64>,
    freed: Condvar,
}

fn budget() -> &'static Budget {
    static BUDGET: OnceLock<Budget> = OnceLock::new();
    BUDGET.get_or_init(|| {
        let total = std::env::var("LOOKALIKE_DECODE_BUDGET_MB")
            .ok()
            .and_then(|s| s.trim().parse::<u64>().ok())
            .filter(|&mb| mb > 0)
            .map_or(DEFAULT_BUDGET_BYTES, |mb| mb << 20);
        Budget {
            total,
            used: Mutex::new(0),
            freed: Condvar::new(),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn special_files_are_refused_at_once() {
        for (path, kind) in [("/dev/zero", "a device"), ("/tmp", "a folder")] {
            match read_photo_file(Path::new(path)) {
                Err(PhotoError::NotAFile { kind: k }) => assert_eq!(k, kind),
                other => panic!("{path}: {other:?}"),
            }
        }
    }

    #[test]
    fn a_lease_bigger_than_the_budget_is_refused_and_leases_add_up() {
        assert!(reserve(budget_bytes() + 1).is_none());
        let half = reserve(budget_bytes() / 2).expect("half fits");
        let other = std::thread::spawn(|| reserve(budget_bytes() / 2 + 1).map(drop).is_some());
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert!(!other.is_finished(), "a lease over the rest must wait");
        drop(half);
        assert!(other.join().unwrap());
    }
}
