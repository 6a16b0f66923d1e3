//! The open catalog folder, watched: photos added, changed, moved or removed (and edits of its
//! labels.csv or `.lookalikeignore`) are indexed a moment after the last change, without a click.
//! The indexing run is the ordinary incremental one: only what changed is embedded.

use std::path::{Component, Path, PathBuf};
use std::time::{Duration, Instant};

use notify::{EventKind, RecursiveMode, Watcher};

use super::jobs::{Msg, Outbox};
use crate::catalog::{IGNORE_FILE, is_photo_name};

/// Changes are indexed this long after the last one, so copying many photos is one run.
pub const SETTLE: Duration = Duration::from_millis(700);

/// A watched folder and when it last changed.
pub struct FolderWatch {
    folder: PathBuf,
    changed_at: Option<Instant>,
    _watcher: notify::RecommendedWatcher,
}

impl FolderWatch {
    /// Watch `folder` (and every folder inside it); changes arrive as [`Msg::FolderChanged`].
    pub fn start(folder: &Path, outbox: Outbox) -> notify::Result<FolderWatch> {
        let root = folder.to_path_buf();
        let watched = root.clone();
        let mut watcher =
            notify::recommended_watcher(move |event: notify::Result<notify::Event>| match event {
                Ok(e) if worth_indexing(&e, &watched) => {
                    outbox.send(Msg::FolderChanged(watched.clone()))
                }
                Ok(_) => {}
                Err(e) => log::warn!("watching {}: {e}", watched.display()),
            })?;
        watcher.watch(&root, RecursiveMode::Recursive)?;
        Ok(FolderWatch {
            folder: root,
            changed_at: None,
            _watcher: watcher,
        })
    }

    pub fn folder(&self) -> &Path {
        &self.folder
    }

    /// Something in the folder changed now.
    pub fn changed(&mut self) {
        self.changed_at = Some(Instant::now());
    }

    /// Whether changes wait to be indexed.
    pub fn pending(&self) -> bool {
        self.changed_at.is_some()
    }

    /// Whether the changes have settled and should be indexed now (then they are no longer
    /// pending).
    pub fn take_due(&mut self) -> bool {
        let due = self.changed_at.is_some_and(|t| t.elapsed() >= SETTLE);
        if due {
            self.changed_at = None;
        }
        due
    }
}

/// Whether a file event in `root` can change the catalog: a photo (or a folder, which may hold
/// photos) created, written, renamed or removed, or the labels or exclusions edited; not reads,
/// and not hidden files.
fn worth_indexing(e: &notify::Event, root: &Path) -> bool {
    let kind = match e.kind {
        EventKind::Create(_) | EventKind::Remove(_) => true,
        EventKind::Modify(notify::event::ModifyKind::Metadata(_)) => false,
        EventKind::Modify(_) => true,
        EventKind::Access(notify::event::AccessKind::Close(notify::event::AccessMode::Write)) => {
            true
        }
        _ => false,
    };
    kind && e.paths.iter().any(|p| {
        let rel = p.strip_prefix(root).unwrap_or(p);
        let name = rel.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name == IGNORE_FILE || name.eq_ignore_ascii_case("labels.csv") {
            return true;
        }
        let hidden = rel.components().any(|c| match c {
            Component::Normal(n) => n.as_encoded_bytes().starts_with(b"."),
            _ => false,
        });
        !hidden && (is_photo_name(rel) || p.extension().is_none())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify::event::{AccessKind, AccessMode, CreateKind, ModifyKind, RemoveKind};

    fn event(kind: EventKind, path: &str) -> notify::Event {
        notify::Event::new(kind).add_path(PathBuf::from(path))
    }

    #[test]
    fn photos_labels_and_folders_count_reads_and_hidden_files_do_not() {
        let root = Path::new("/c");
        let created = EventKind::Create(CreateKind::File);
        assert!(worth_indexing(&event(created, "/c/shirts/a.jpg"), root));
        assert!(worth_indexing(
            &event(EventKind::Remove(RemoveKind::Any), "/c/b.PNG"),
            root
        ));
        assert!(
            worth_indexing(&event(created, "/c/new-folder"), root),
            "a folder moved in"
        );
        assert!(worth_indexing(
            &event(EventKind::Modify(ModifyKind::Any), "/c/labels.csv"),
            root
        ));
        assert!(worth_indexing(&event(created, "/c/.lookalikeignore"), root));
        assert!(!worth_indexing(&event(created, "/c/notes.txt"), root));
        assert!(
            !worth_indexing(&event(created, "/c/.cache/a.jpg"), root),
            "hidden"
        );
        let read = EventKind::Access(AccessKind::Close(AccessMode::Read));
        assert!(
            !worth_indexing(&event(read, "/c/a.jpg"), root),
            "indexing reads photos"
        );
        let written = EventKind::Access(AccessKind::Close(AccessMode::Write));
        assert!(worth_indexing(&event(written, "/c/a.jpg"), root));
    }
}
