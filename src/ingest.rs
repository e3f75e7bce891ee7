//! Ingest: turn the paths a user gave into a stream of image files, in a stable order.
//!
//! Folders are walked recursively (sorted by name, symlinks followed with loop detection);
//! entries that cannot be read become [`Input::Unreadable`] so the scan can report them
//! and go on. Paths can also arrive as a stream ([`read_paths`], and [`crate::watch`]):
//! through a bounded queue, so a long stream never piles up in memory.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::Arc;
use std::time::Duration;

/// File extensions picked up when walking a folder. Files named explicitly are always taken.
/// Formats leakshot cannot decode (HEIC, AVIF, JPEG XL: phone cameras and image sites
/// produce them) are picked up too, so that each gets a record saying so instead of being
/// passed over in silence.
pub const IMAGE_EXTENSIONS: &[&str] = &[
    "png", "jpg", "jpeg", "webp", "gif", "bmp", "tif", "tiff", "heic", "heif", "avif", "jxl",
];

/// One item to analyse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A file to decode.
    File(PathBuf),
    /// A path the walk could not read (permission, loop, vanished entry).
    Unreadable { path: PathBuf, message: String },
}

impl Input {
    pub fn path(&self) -> &Path {
        match self {
            Input::File(p) => p,
            Input::Unreadable { path, .. } => path,
        }
    }
}

/// Whether `path` ends in one of [`IMAGE_EXTENSIONS`] (any case): an image by its name (see
/// [`is_image_file`] for one by its first bytes).
pub fn has_image_extension(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .map(|e| IMAGE_EXTENSIONS.iter().any(|x| x.eq_ignore_ascii_case(e)))
        .unwrap_or(false)
}

/// Whether a file found in a folder is an image: by its name ([`IMAGE_EXTENSIONS`]), or
/// else by its first bytes ([`crate::decode::looks_like_image`]): downloads are saved as
/// "photo.jpg_large", "media?format=jpg" or with no extension at all. Only a regular file
/// is opened to look (a named pipe would block the walk).
pub fn is_image_file(path: &Path) -> bool {
    if has_image_extension(path) {
        return true;
    }
    if !std::fs::metadata(path).is_ok_and(|m| m.is_file()) {
        return false;
    }
    let Ok(file) = std::fs::File::open(path) else {
        return false;
    };
    let mut head = Vec::with_capacity(crate::decode::SNIFF_BYTES);
    match file
        .take(crate::decode::SNIFF_BYTES as u64)
        .read_to_end(&mut head)
    {
        Ok(_) => crate::decode::looks_like_image(&head),
        Err(_) => false,
    }
}

/// How many files in the walked folders were passed over as no image (see
/// [`is_image_file`]); shared with the walk, which counts on as it goes.
#[derive(Debug, Clone, Default)]
pub struct PassedOver(Arc<AtomicUsize>);

impl PassedOver {
    pub fn count(&self) -> usize {
        self.0.load(Ordering::Relaxed)
    }
}

/// A lazy walk of paths in order (see [`walk`]).
pub struct Walk<'a> {
    inputs: Box<dyn Iterator<Item = Input> + Send + 'a>,
    passed_over: PassedOver,
}

impl Walk<'_> {
    /// The count of files passed over so far, as a handle that stays valid after the walk
    /// is handed to a scan.
    pub fn passed_over(&self) -> PassedOver {
        self.passed_over.clone()
    }
}

impl Iterator for Walk<'_> {
    type Item = Input;

    fn next(&mut self) -> Option<Input> {
        self.inputs.next()
    }
}

/// Lazily walks `roots` in order. Memory stays flat however many files there are. A file
/// named explicitly is always taken; in a folder, what [`is_image_file`] says is an image.
pub fn walk(roots: &[PathBuf]) -> Walk<'_> {
    let passed_over = PassedOver::default();
    let counter = passed_over.clone();
    Walk {
        inputs: Box::new(
            roots
                .iter()
                .flat_map(move |root| walk_one(root, counter.clone())),
        ),
        passed_over,
    }
}

fn walk_one(
    root: &Path,
    passed_over: PassedOver,
) -> Box<dyn Iterator<Item = Input> + Send + 'static> {
    match std::fs::metadata(root) {
        Err(e) => Box::new(std::iter::once(Input::Unreadable {
            path: root.to_path_buf(),
            message: format!("cannot read path: {e}"),
        })),
        Ok(meta) if !meta.is_dir() => Box::new(std::iter::once(Input::File(root.to_path_buf()))),
        Ok(_) => Box::new(
            walkdir::WalkDir::new(root)
                .follow_links(true)
                .sort_by_file_name()
                .into_iter()
                .filter_map(move |entry| match entry {
                    Ok(e) if e.file_type().is_dir() => None,
                    Ok(e) if is_image_file(e.path()) => Some(Input::File(e.into_path())),
                    Ok(_) => {
                        passed_over.0.fetch_add(1, Ordering::Relaxed);
                        None
                    }
                    Err(e) => {
                        let path = e.path().map(Path::to_path_buf).unwrap_or_default();
                        let message = if e.loop_ancestor().is_some() {
                            "symlink loop: folder links back to one of its ancestors".to_string()
                        } else {
                            format!("cannot read folder entry: {e}")
                        };
                        Some(Input::Unreadable { path, message })
                    }
                }),
        ),
    }
}

/// A stream of inputs that another thread feeds through a bounded queue. It ends when the
/// feeder is done, or soon after `stop` is set (even while the feeder waits for input).
pub struct Feed {
    rx: Receiver<Input>,
    stop: Arc<AtomicBool>,
}

/// How often a waiting [`Feed`] looks at its stop flag.
const STOP_CHECK: Duration = Duration::from_millis(100);

impl Feed {
    /// A feed and the sending end for its feeder; at most `capacity` inputs wait in it.
    pub fn channel(capacity: usize, stop: Arc<AtomicBool>) -> (FeedSender, Feed) {
        let (tx, rx) = sync_channel(capacity.max(1));
        (
            FeedSender {
                tx,
                stop: Arc::clone(&stop),
            },
            Feed { rx, stop },
        )
    }
}

impl Iterator for Feed {
    type Item = Input;

    fn next(&mut self) -> Option<Input> {
        loop {
            if self.stop.load(Ordering::Relaxed) {
                return None;
            }
            match self.rx.recv_timeout(STOP_CHECK) {
                Ok(input) => return Some(input),
                Err(RecvTimeoutError::Timeout) => continue,
                Err(RecvTimeoutError::Disconnected) => return None,
            }
        }
    }
}

/// The feeder's end of a [`Feed`].
pub struct FeedSender {
    tx: SyncSender<Input>,
    stop: Arc<AtomicBool>,
}

impl FeedSender {
    /// Queues `input`, waiting while the queue is full. `false` when the feed is gone or
    /// stopped: the feeder should end.
    pub fn send(&self, mut input: Input) -> bool {
        loop {
            if self.stop.load(Ordering::Relaxed) {
                return false;
            }
            match self.tx.try_send(input) {
                Ok(()) => return true,
                Err(TrySendError::Disconnected(_)) => return false,
                Err(TrySendError::Full(back)) => {
                    input = back;
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
        }
    }
}

/// Reads paths from `reader` as they arrive, separated by `separator` (`b'\n'`, or `0`
/// for `find -print0`), empty ones skipped; a folder is walked as on the command line.
/// A thread reads ahead by at most `capacity` inputs, so memory stays flat however long
/// the stream is.
pub fn read_paths<R: Read + Send + 'static>(
    reader: R,
    separator: u8,
    capacity: usize,
    stop: Arc<AtomicBool>,
) -> Feed {
    let (tx, feed) = Feed::channel(capacity, stop);
    std::thread::spawn(move || {
        for item in BufReader::new(reader).split(separator) {
            let bytes = match item {
                Ok(b) => b,
                Err(e) => {
                    tx.send(Input::Unreadable {
                        path: PathBuf::from("<stdin>"),
                        message: format!("cannot read the list of paths: {e}"),
                    });
                    return;
                }
            };
            if bytes.is_empty() {
                continue;
            }
            let path = PathBuf::from(
                <std::ffi::OsString as std::os::unix::ffi::OsStringExt>::from_vec(bytes),
            );
            for input in walk_one(&path, PassedOver::default()) {
                if !tx.send(input) {
                    return;
                }
            }
        }
    });
    feed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_folders_sorted_and_keeps_explicit_files() {
        let dir = std::env::temp_dir().join(format!("leakshot-ingest-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        // A phone's HEIC photo is taken too: its record will say it cannot be decoded.
        for name in ["b.png", "a.jpg", "notes.txt", "sub/c.webp", "sub/d.HEIC"] {
            std::fs::write(dir.join(name), b"x").unwrap();
        }
        // Downloads under odd names are known by their first bytes; other files are
        // passed over and counted, a named pipe without being opened (it would block).
        std::fs::write(dir.join("sub/media"), [0xff, 0xd8, 0xff, 0xe0, 0, 0x10]).unwrap();
        std::fs::write(dir.join("sub/shot.jpg_large"), b"\x89PNG\r\n\x1a\n").unwrap();
        std::fs::write(dir.join("sub/post.json"), b"{\"id\": 7}").unwrap();
        let fifo =
            std::ffi::CString::new(dir.join("sub/pipe").as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: mkfifo reads a NUL-terminated path and creates a file; nothing is shared.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
        let explicit = dir.join("notes.txt");
        let roots = [dir.clone(), explicit.clone()];
        let inputs = walk(&roots);
        let passed_over = inputs.passed_over();
        let found: Vec<_> = inputs
            .map(|i| i.path().strip_prefix(&dir).unwrap().to_path_buf())
            .collect();
        let expect: Vec<PathBuf> = [
            "a.jpg",
            "b.png",
            "sub/c.webp",
            "sub/d.HEIC",
            "sub/media",
            "sub/shot.jpg_large",
            "notes.txt",
        ]
        .iter()
        .map(PathBuf::from)
        .collect();
        assert_eq!(found, expect);
        // notes.txt in the folder, post.json and the pipe.
        assert_eq!(passed_over.count(), 3);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn missing_path_is_reported_not_fatal() {
        let items: Vec<_> = walk(&[PathBuf::from("/nonexistent/leakshot/x")]).collect();
        assert!(matches!(items.as_slice(), [Input::Unreadable { .. }]));
    }

    #[test]
    fn streamed_paths_arrive_in_order_and_folders_are_walked() {
        let dir = std::env::temp_dir().join(format!("leakshot-stream-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        std::fs::write(dir.join("sub/b.png"), b"x").unwrap();
        let list = format!("{0}/a.png\0\0{0}/sub\0{0}/odd\nname.jpg", dir.display());
        let stop = Arc::new(AtomicBool::new(false));
        let got: Vec<PathBuf> = read_paths(std::io::Cursor::new(list), 0, 1, stop)
            .map(|i| i.path().strip_prefix(&dir).unwrap().to_path_buf())
            .collect();
        let expect: Vec<PathBuf> = ["a.png", "sub/b.png", "odd\nname.jpg"]
            .iter()
            .map(PathBuf::from)
            .collect();
        assert_eq!(got, expect);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_stopped_feed_ends_while_its_feeder_waits() {
        let stop = Arc::new(AtomicBool::new(false));
        let (_tx, mut feed) = Feed::channel(1, Arc::clone(&stop));
        stop.store(true, Ordering::Relaxed);
        assert!(feed.next().is_none());
    }
}
