//! Watch: a folder's image files as they appear (recursively), each handed on once it is
//! completely written.
//!
//! A file still being written must not be read: a half-written JPEG decodes to an error,
//! or worse to a partial picture judged `clean`. A file is complete when
//!
//! - its size and modification time are unchanged across two looks [`SETTLE`] apart
//!   (polled every [`POLL`]); and
//! - on Linux (inotify), no writer has it open: after a write, the kernel's
//!   close-after-write event must have come. A writer pausing between chunks with the file
//!   open is waited for however long the pause. Should that event be lost (an overflowing
//!   event queue), a file unchanged for [`SETTLE_WITHOUT_CLOSE`] is taken all the same.
//!
//! Files present when the watch starts are checked the same way (unless `existing` is
//! off). Temporary names (starting with `.`, or ending `.part`, `.tmp`, `.crdownload`)
//! are ignored until renamed to their final name; other files are handed on when they are
//! images by name or by first bytes, as when walking a folder ([`ingest::is_image_file`]),
//! looked at once complete (a download's first bytes are not there when it appears). A
//! file rewritten after it was handed on (another size or modification time) is handed on
//! again.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use notify::event::{AccessKind, AccessMode, ModifyKind, RenameMode};
use notify::{Event, EventKind, RecursiveMode, Watcher};

use crate::error::WatchError;
use crate::ingest::{self, Feed, FeedSender, Input};
use crate::report::FileInfo;

/// How often pending files are looked at.
pub const POLL: Duration = Duration::from_millis(250);
/// How long a pending file's size and modification time must stay the same.
pub const SETTLE: Duration = Duration::from_millis(500);
/// How long a file written to but never seen closed must stay the same (lost events).
pub const SETTLE_WITHOUT_CLOSE: Duration = Duration::from_secs(10);

/// Whether close-after-write events come (inotify): then an open writer is waited for.
const CLOSE_EVENTS: bool = cfg!(target_os = "linux");

/// Settings of a watch.
#[derive(Debug, Clone)]
pub struct WatchOptions {
    /// Also hand on the files present at the start.
    pub existing: bool,
    /// Complete files waiting for a free worker, at most.
    pub queue: usize,
}

/// Names a downloader or editor uses while it writes, renamed when done.
pub fn is_temporary(path: &Path) -> bool {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    let lower = name.to_ascii_lowercase();
    name.starts_with('.')
        || [".part", ".tmp", ".crdownload"]
            .iter()
            .any(|s| lower.ends_with(s))
}

/// Whether a file is watched until complete: any but a temporary name. Whether it is an
/// image is asked once it is complete (a download saved with no extension is one).
fn wanted(path: &Path) -> bool {
    !is_temporary(path)
}

/// Starts watching `root`; the feed yields each complete image file until `stop` is set.
pub fn watch(
    root: &Path,
    options: WatchOptions,
    stop: Arc<AtomicBool>,
) -> Result<Feed, WatchError> {
    if !root.is_dir() {
        return Err(WatchError::NotAFolder {
            path: root.to_path_buf(),
        });
    }
    let watch_err = |e: notify::Error| WatchError::Watch {
        path: root.to_path_buf(),
        message: e.to_string(),
    };
    let (events_tx, events) = mpsc::channel();
    let mut watcher = notify::recommended_watcher(events_tx).map_err(watch_err)?;
    // Watch before listing what is there, so nothing created in between is missed.
    watcher
        .watch(root, RecursiveMode::Recursive)
        .map_err(watch_err)?;
    let (tx, feed) = ingest::Feed::channel(options.queue, Arc::clone(&stop));
    let mut state = Pending::default();
    if options.existing {
        state.add_tree(root);
    } else {
        // Known as they are now: only a later change hands them on.
        for input in ingest::walk(&[root.to_path_buf()]) {
            if let Input::File(p) = input {
                if let Some(info) = FileInfo::of(&p) {
                    state.done.insert(p, info);
                }
            }
        }
    }
    let root = root.to_path_buf();
    std::thread::spawn(move || {
        // The watcher lives as long as the loop.
        let _watcher = watcher;
        let mut next_poll = Instant::now() + POLL;
        while !stop.load(Ordering::Relaxed) {
            let wait = next_poll.saturating_duration_since(Instant::now());
            match events.recv_timeout(wait.min(Duration::from_millis(100))) {
                Ok(Ok(event)) => state.event(&root, event),
                // An error (an overflowing queue among them): look at everything again.
                Ok(Err(_)) => state.add_tree(&root),
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
            if Instant::now() >= next_poll {
                if !state.poll(&tx) {
                    break;
                }
                next_poll = Instant::now() + POLL;
            }
        }
    });
    Ok(feed)
}

/// Files seen but not yet handed on, and those handed on (with the version).
#[derive(Default)]
struct Pending {
    files: HashMap<PathBuf, Watched>,
    done: HashMap<PathBuf, FileInfo>,
}

struct Watched {
    /// Size and modification time at the last look, and since when they are so.
    seen: Option<(FileInfo, Instant)>,
    /// Written to and not closed since (close events only).
    writing: bool,
    /// The last write or close event.
    touched: Instant,
}

impl Pending {
    fn add(&mut self, path: PathBuf, writing: bool) {
        if !wanted(&path) {
            return;
        }
        let w = self.files.entry(path).or_insert(Watched {
            seen: None,
            writing: false,
            touched: Instant::now(),
        });
        w.writing |= writing && CLOSE_EVENTS;
        w.touched = Instant::now();
    }

    /// Every image file under `dir` (a new or renamed folder, the start, a rescan).
    fn add_tree(&mut self, dir: &Path) {
        for input in ingest::walk(&[dir.to_path_buf()]) {
            if let Input::File(p) = input {
                self.add(p, false);
            }
        }
    }

    fn forget(&mut self, path: &Path) {
        self.files.remove(path);
        self.done.remove(path);
    }

    fn event(&mut self, root: &Path, event: Event) {
        if event.need_rescan() {
            self.add_tree(root);
        }
        let paths = event.paths;
        match event.kind {
            EventKind::Create(_) => {
                for p in paths {
                    if p.is_dir() {
                        // Files may have landed before the folder was watched.
                        self.add_tree(&p);
                    } else {
                        self.add(p, true);
                    }
                }
            }
            EventKind::Modify(ModifyKind::Data(_)) | EventKind::Modify(ModifyKind::Any) => {
                for p in paths {
                    self.add(p, true);
                }
            }
            EventKind::Access(AccessKind::Close(AccessMode::Write)) => {
                for p in paths {
                    self.add(p.clone(), false);
                    if let Some(w) = self.files.get_mut(&p) {
                        w.writing = false;
                    }
                }
            }
            EventKind::Modify(ModifyKind::Name(mode)) => {
                let (from, to) = match mode {
                    RenameMode::Both if paths.len() == 2 => (Some(&paths[0]), Some(&paths[1])),
                    RenameMode::From => (paths.first(), None),
                    RenameMode::To => (None, paths.first()),
                    // Which end is which is unknown: what exists is the new name.
                    _ => {
                        for p in &paths {
                            if p.exists() {
                                self.renamed_to(p);
                            } else {
                                self.forget(p);
                            }
                        }
                        return;
                    }
                };
                if let Some(from) = from {
                    self.forget(from);
                }
                if let Some(to) = to {
                    self.renamed_to(to);
                }
            }
            EventKind::Remove(_) => {
                for p in &paths {
                    self.forget(p);
                }
            }
            _ => {}
        }
    }

    /// A name that appeared by renaming: written elsewhere, complete unless it changes.
    fn renamed_to(&mut self, path: &Path) {
        if path.is_dir() {
            self.add_tree(path);
        } else {
            self.add(path.to_path_buf(), false);
        }
    }

    /// Looks at every pending file; hands on those complete. `false` when the feed is gone.
    fn poll(&mut self, tx: &FeedSender) -> bool {
        let now = Instant::now();
        let mut ready = Vec::new();
        self.files.retain(|path, w| {
            let Ok(meta) = std::fs::metadata(path) else {
                return false; // vanished
            };
            if !meta.is_file() {
                return false;
            }
            let info = FileInfo::from_metadata(&meta);
            match w.seen {
                Some((before, since)) if before == info => {
                    let settled = now.duration_since(since) >= SETTLE;
                    let closed =
                        !w.writing || now.duration_since(w.touched) >= SETTLE_WITHOUT_CLOSE;
                    if settled && closed {
                        ready.push((path.clone(), info));
                        return false;
                    }
                }
                _ => w.seen = Some((info, now)),
            }
            true
        });
        ready.sort_by(|a, b| a.0.cmp(&b.0));
        for (path, info) in ready {
            // The same version handed on before (a touch, a rescan): not again.
            if self.done.get(&path) == Some(&info) {
                continue;
            }
            self.done.insert(path.clone(), info);
            if !ingest::is_image_file(&path) {
                continue;
            }
            if !tx.send(Input::File(path)) {
                return false;
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temporary_names_are_not_watched() {
        for p in [
            ".x.png",
            "x.png.part",
            "x.jpg.tmp",
            "x.jpg.crdownload",
            "X.PNG.PART",
        ] {
            assert!(!wanted(Path::new(p)), "{p}");
        }
        assert!(wanted(Path::new("dir/x.JPG")));
        assert!(wanted(Path::new("dir/shot.webp")));
        assert!(wanted(Path::new("dir/media")));
    }

    #[test]
    fn a_complete_file_is_handed_on_when_its_name_or_first_bytes_say_image() {
        let dir = std::env::temp_dir().join(format!("leakshot-watch-sniff-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let (media, notes) = (dir.join("media"), dir.join("notes.txt"));
        std::fs::write(&media, [0xff, 0xd8, 0xff, 0xe0, 0, 0x10]).unwrap();
        std::fs::write(&notes, b"not an image").unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, feed) = Feed::channel(4, Arc::clone(&stop));
        let mut p = Pending::default();
        for f in [&media, &notes] {
            p.add(f.clone(), false);
        }
        p.poll(&tx);
        std::thread::sleep(SETTLE + Duration::from_millis(50));
        p.poll(&tx);
        assert!(p.files.is_empty());
        drop(tx);
        assert_eq!(feed.collect::<Vec<_>>(), vec![Input::File(media)]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_file_is_handed_on_once_settled_and_closed() {
        let dir = std::env::temp_dir().join(format!("leakshot-watch-unit-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("a.png");
        std::fs::write(&file, b"half").unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, mut feed) = Feed::channel(4, Arc::clone(&stop));
        let mut p = Pending::default();
        p.add(file.clone(), true);
        p.poll(&tx);
        std::thread::sleep(SETTLE + Duration::from_millis(50));
        p.poll(&tx);
        if CLOSE_EVENTS {
            assert!(p.files.contains_key(&file), "still open for writing");
            p.files.get_mut(&file).unwrap().writing = false;
            p.poll(&tx);
        }
        assert!(p.files.is_empty());
        assert_eq!(feed.next(), Some(Input::File(file.clone())));
        // The same version again (a rescan) is not handed on twice; a new one is.
        p.add(file.clone(), false);
        p.poll(&tx);
        std::thread::sleep(SETTLE + Duration::from_millis(50));
        p.poll(&tx);
        std::fs::write(&file, b"whole now").unwrap();
        p.add(file.clone(), false);
        p.poll(&tx);
        std::thread::sleep(SETTLE + Duration::from_millis(50));
        p.poll(&tx);
        assert_eq!(feed.next(), Some(Input::File(file.clone())));
        drop(tx);
        assert_eq!(feed.next(), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
