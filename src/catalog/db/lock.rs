//! One writer per index: an advisory lock on a file beside the index, held while a process
//! changes it (indexing, saving a learned head, a map or a vectors file). Readers never take it.
//! Within one process the lock is shared, so a job that holds it can save its map.

use std::collections::HashMap;
use std::fs::{File, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::{LazyLock, Mutex, MutexGuard};

use crate::error::{Error, Result, io_err};

/// Held while this process writes to an index; released when the last guard is dropped.
#[must_use]
pub struct WriteLock {
    key: PathBuf,
}

/// The lock file of `index`.
pub fn lock_path(index: &Path) -> PathBuf {
    let mut name = index.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

/// Take the write lock of `index`, or say which process holds it.
pub fn lock_for_writing(index: &Path) -> Result<WriteLock> {
    let path = lock_path(index);
    let key = std::path::absolute(&path).unwrap_or_else(|_| path.clone());
    let mut held = held();
    if let Some((_, count)) = held.get_mut(&key) {
        *count += 1;
        return Ok(WriteLock { key });
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && !dir.is_dir()
    {
        std::fs::create_dir_all(dir).map_err(io_err(dir))?;
    }
    let mut file = File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::ReadOnlyFilesystem | std::io::ErrorKind::PermissionDenied => {
                Error::IndexReadOnly {
                    path: index.to_path_buf(),
                }
            }
            _ => io_err(&path)(e),
        })?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            return Err(Error::IndexBusy {
                path: index.to_path_buf(),
                holder: holder.trim().to_string(),
            });
        }
        Err(TryLockError::Error(e)) => return Err(io_err(&path)(e)),
    }
    // Who holds it, for the message another process shows.
    let mut args: Vec<String> = std::env::args().take(2).collect();
    if let Some(program) = args.first_mut()
        && let Some(name) = Path::new(program.as_str()).file_name()
    {
        *program = name.to_string_lossy().into_owned();
    }
    let _ = file.set_len(0).and_then(|()| {
        file.rewind()?;
        write!(file, "process {}: {}", std::process::id(), args.join(" "))
    });
    held.insert(key.clone(), (file, 1));
    Ok(WriteLock { key })
}

/// The write lock when no other process holds it; for caches that can simply be skipped.
pub fn try_lock_for_writing(index: &Path) -> Option<WriteLock> {
    lock_for_writing(index).ok()
}

impl Drop for WriteLock {
    fn drop(&mut self) {
        let mut held = held();
        if let Some((_, count)) = held.get_mut(&self.key) {
            *count -= 1;
            if *count == 0 {
                // Closing the file releases the lock; the file stays (removing it would race).
                held.remove(&self.key);
            }
        }
    }
}

fn held() -> MutexGuard<'static, HashMap<PathBuf, (File, usize)>> {
    static HELD: LazyLock<Mutex<HashMap<PathBuf, (File, usize)>>> = LazyLock::new(Default::default);
    HELD.lock().unwrap_or_else(|e| e.into_inner())
}
