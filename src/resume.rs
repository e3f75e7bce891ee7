//! Resume: continue a scan whose `--output` file was cut short (crash, kill, power loss)
//! without losing or doubling a record.
//!
//! Records are appended one line per image, so a kill can at worst leave the last line
//! half-written. Before appending, that torn line is cut off. With `--resume`, every record
//! already in the file is read and inputs whose identity (path, size, modification time:
//! see [`FileInfo`]) it holds are skipped; an input whose file has changed since is analysed
//! again.
//!
//! Only the end of the file is ever cut, and only text shaped like the start of a record:
//! pointed at some other file by mistake, resume refuses instead of truncating it.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::ResumeError;
use crate::ingest::Input;
use crate::report::FileInfo;

/// Every record line starts with this (the serialiser writes `path` first).
const RECORD_START: &[u8] = br#"{"path":"#;

/// What an existing output file already holds.
#[derive(Debug, Default)]
pub struct Resume {
    /// (path, identity) of each record, and whether any record of it was a leak.
    recorded: HashMap<(String, Option<FileInfo>), bool>,
    /// Records without a `file` field (written before it existed): matched by path only.
    path_only: HashMap<String, bool>,
    /// Valid records read.
    pub records: usize,
    /// Damaged lines left in place because valid records follow them (reported, not cut).
    pub damaged_lines: usize,
    /// Bytes cut from the end of the file (a torn last record).
    pub truncated_bytes: u64,
}

/// The fields resume needs from a record line. Parsing still checks the whole line is JSON.
#[derive(Deserialize)]
struct Seen {
    path: String,
    #[serde(default)]
    leak: bool,
    /// Missing (an older record) is `None`; present but null is `Some(None)`.
    #[serde(default, deserialize_with = "present")]
    file: Option<Option<FileInfo>>,
}

fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<FileInfo>>, D::Error> {
    Option::<FileInfo>::deserialize(d).map(Some)
}

/// Could `line` be (part of) a record this program wrote? NUL bytes in front are what a
/// file system leaves of an unwritten block after a power loss.
fn record_shaped(line: &[u8]) -> bool {
    let start = line.iter().position(|&b| b != 0).unwrap_or(line.len());
    let rest = line[start..].strip_suffix(b"\n").unwrap_or(&line[start..]);
    rest.starts_with(RECORD_START) || RECORD_START.starts_with(rest)
}

impl Resume {
    /// Reads `path` (a missing file is a fresh start), cuts a torn or damaged end, and
    /// collects what is recorded. Reads line by line: memory grows with the number of
    /// records (their paths), not the size of the file.
    pub fn load(path: &Path) -> Result<Resume, ResumeError> {
        let file = match File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Resume::default()),
            Err(source) => return Err(read_error(path, source)),
        };
        if !is_regular(&file, path)? {
            return Ok(Resume::default());
        }
        let (mut resume, keep) = parse(BufReader::new(file)).map_err(|e| match e {
            ParseFailure::Io(source) => read_error(path, source),
            ParseFailure::NotOutput(line) => ResumeError::NotOutput {
                path: path.to_path_buf(),
                line,
            },
        })?;
        resume.truncated_bytes = truncate_to(path, keep)?;
        Ok(resume)
    }

    /// `Some(leak)` when `input` is already recorded (with the same size and modification
    /// time), `leak` telling whether that record was a leak; `None` when it must be analysed.
    pub fn lookup(&self, input: &Input) -> Option<bool> {
        let path = input.path().to_string_lossy().into_owned();
        let key = (path, FileInfo::of(input.path()));
        self.recorded
            .get(&key)
            .or_else(|| self.path_only.get(&key.0))
            .copied()
    }

    fn add(&mut self, seen: Seen) {
        self.records += 1;
        let slot = match seen.file {
            Some(file) => self.recorded.entry((seen.path, file)).or_default(),
            None => self.path_only.entry(seen.path).or_default(),
        };
        *slot |= seen.leak;
    }
}

/// Cuts a torn last line (no newline) of an output file about to be appended to, so the
/// next record starts on a line of its own. Leaves a file alone whose tail is not shaped
/// like a record. Returns the bytes cut.
pub fn cut_torn_tail(path: &Path) -> Result<u64, ResumeError> {
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(source) => return Err(read_error(path, source)),
    };
    if !is_regular(&file, path)? {
        return Ok(0);
    }
    let len = file
        .metadata()
        .map_err(|source| read_error(path, source))?
        .len();
    // Walk back in blocks to the last newline; only a torn record is read whole.
    const BLOCK: u64 = 64 * 1024;
    let mut end = len;
    let mut tail: Vec<u8> = Vec::new();
    let start = loop {
        if end == 0 {
            break 0;
        }
        let from = end.saturating_sub(BLOCK);
        let mut block = vec![0u8; (end - from) as usize];
        file.seek(SeekFrom::Start(from))
            .and_then(|_| file.read_exact(&mut block))
            .map_err(|source| read_error(path, source))?;
        if let Some(i) = block.iter().rposition(|&b| b == b'\n') {
            tail.splice(0..0, block[i + 1..].iter().copied());
            break from + i as u64 + 1;
        }
        tail.splice(0..0, block);
        end = from;
    };
    if start == len || !record_shaped(&tail) {
        return Ok(0);
    }
    truncate_to(path, start)
}

enum ParseFailure {
    Io(std::io::Error),
    /// 1-based line number of a line that is no record of ours.
    NotOutput(usize),
}

/// Reads records from `reader`; returns them with the length to keep: the end of the last
/// valid record. What follows it is dropped: a torn line, or damaged record-shaped lines.
fn parse<R: BufRead>(mut reader: R) -> Result<(Resume, u64), ParseFailure> {
    let mut resume = Resume::default();
    let mut offset = 0u64;
    let mut keep = 0u64;
    let mut damaged_since_keep = 0usize;
    let mut line = Vec::new();
    let mut number = 0usize;
    loop {
        line.clear();
        let n = reader
            .read_until(b'\n', &mut line)
            .map_err(ParseFailure::Io)?;
        if n == 0 {
            break;
        }
        number += 1;
        offset += n as u64;
        let complete = line.last() == Some(&b'\n');
        let parsed = if complete {
            serde_json::from_slice::<Seen>(&line).ok()
        } else {
            // A torn write: even when the JSON happens to be whole, its newline is not.
            None
        };
        match parsed {
            Some(seen) => {
                resume.add(seen);
                resume.damaged_lines += damaged_since_keep;
                damaged_since_keep = 0;
                keep = offset;
            }
            None if record_shaped(&line) => damaged_since_keep += 1,
            None => return Err(ParseFailure::NotOutput(number)),
        }
    }
    Ok((resume, keep))
}

/// Shortens `path` to `keep` bytes when it is longer, durably. Returns the bytes cut.
fn truncate_to(path: &Path, keep: u64) -> Result<u64, ResumeError> {
    let err = |source| ResumeError::Truncate {
        path: path.to_path_buf(),
        source,
    };
    let file = OpenOptions::new().write(true).open(path).map_err(err)?;
    let len = file.metadata().map_err(err)?.len();
    if len <= keep {
        return Ok(0);
    }
    file.set_len(keep).map_err(err)?;
    file.sync_all().map_err(err)?;
    Ok(len - keep)
}

/// Output to a pipe or device (`/dev/stdout`) holds nothing to resume or cut, and reading
/// one may never end.
fn is_regular(file: &File, path: &Path) -> Result<bool, ResumeError> {
    file.metadata()
        .map(|m| m.is_file())
        .map_err(|source| read_error(path, source))
}

fn read_error(path: &Path, source: std::io::Error) -> ResumeError {
    ResumeError::Read {
        path: PathBuf::from(path),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmpdir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("leakshot-resume-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn line(path: &Path, leak: bool, file: Option<FileInfo>) -> String {
        let file = serde_json::to_string(&file).unwrap();
        format!(
            "{{\"path\":{:?},\"leak\":{leak},\"verdict\":\"clean\",\"error\":null,\"file\":{file}}}\n",
            path.to_str().unwrap()
        )
    }

    #[test]
    fn skips_recorded_versions_and_rescans_changed_files() {
        let dir = tmpdir("skip");
        let (a, b, c) = (dir.join("a.png"), dir.join("b.png"), dir.join("c.png"));
        for p in [&a, &b, &c] {
            std::fs::write(p, b"pixels").unwrap();
        }
        let out = dir.join("out.jsonl");
        let text = line(&a, true, FileInfo::of(&a)) + &line(&b, false, FileInfo::of(&b));
        std::fs::write(&out, &text).unwrap();
        // b changes after it was recorded: it must be analysed again.
        std::fs::write(&b, b"other pixels").unwrap();

        let r = Resume::load(&out).unwrap();
        assert_eq!((r.records, r.truncated_bytes, r.damaged_lines), (2, 0, 0));
        assert_eq!(r.lookup(&Input::File(a.clone())), Some(true));
        assert_eq!(r.lookup(&Input::File(b.clone())), None);
        assert_eq!(r.lookup(&Input::File(c.clone())), None);
        assert_eq!(std::fs::read_to_string(&out).unwrap(), text, "nothing cut");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn cuts_a_torn_last_line_and_keeps_whole_ones() {
        let dir = tmpdir("torn");
        let a = dir.join("a.png");
        std::fs::write(&a, b"pixels").unwrap();
        let out = dir.join("out.jsonl");
        let whole = line(&a, false, FileInfo::of(&a));
        let torn = r#"{"path":"/x/b.png","leak":fal"#;
        std::fs::write(&out, format!("{whole}{torn}")).unwrap();

        let r = Resume::load(&out).unwrap();
        assert_eq!(r.records, 1);
        assert_eq!(r.truncated_bytes, torn.len() as u64);
        assert_eq!(std::fs::read_to_string(&out).unwrap(), whole);
        assert_eq!(r.lookup(&Input::File(a)), Some(false));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_whole_json_object_without_its_newline_is_still_torn() {
        let dir = tmpdir("nonl");
        let a = dir.join("a.png");
        std::fs::write(&a, b"pixels").unwrap();
        let out = dir.join("out.jsonl");
        let whole = line(&a, false, FileInfo::of(&a));
        std::fs::write(&out, whole.trim_end()).unwrap();
        let r = Resume::load(&out).unwrap();
        assert_eq!(r.records, 0);
        assert_eq!(std::fs::read(&out).unwrap(), b"");
        assert_eq!(r.lookup(&Input::File(a)), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn damaged_lines_at_the_end_are_cut_and_in_the_middle_counted() {
        let dir = tmpdir("damaged");
        let (a, b) = (dir.join("a.png"), dir.join("b.png"));
        std::fs::write(&a, b"1").unwrap();
        std::fs::write(&b, b"2").unwrap();
        let out = dir.join("out.jsonl");
        // A torn record glued to the next one (a crash, then a run without --resume), and
        // a zero-filled block ended by a newline (power loss).
        let glued = format!("{{\"path\":\"/x/c.png\",\"le{}", line(&b, false, None));
        let head = format!(
            "{}{glued}{}",
            line(&a, false, None),
            line(&b, true, FileInfo::of(&b))
        );
        std::fs::write(&out, format!("{head}\0\0\0\0\n{{\"path\":\"/x/d")).unwrap();

        let r = Resume::load(&out).unwrap();
        assert_eq!((r.records, r.damaged_lines), (2, 1));
        assert_eq!(std::fs::read_to_string(&out).unwrap(), head);
        assert_eq!(r.lookup(&Input::File(b.clone())), Some(true));
        // `a` was recorded with a null `file` (not stat'able then); it is stat'able now.
        assert_eq!(r.lookup(&Input::File(a)), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn unstatable_inputs_and_records_without_file_match_by_path() {
        let dir = tmpdir("nostat");
        let gone = dir.join("gone.png");
        let old = dir.join("old.png");
        std::fs::write(&old, b"1").unwrap();
        let out = dir.join("out.jsonl");
        let legacy = format!(
            "{{\"path\":{:?},\"leak\":true,\"error\":null}}\n",
            old.to_str().unwrap()
        );
        std::fs::write(&out, line(&gone, false, None) + &legacy).unwrap();
        let r = Resume::load(&out).unwrap();
        let unreadable = Input::Unreadable {
            path: gone.clone(),
            message: "x".into(),
        };
        assert_eq!(r.lookup(&unreadable), Some(false));
        assert_eq!(r.lookup(&Input::File(old)), Some(true));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn refuses_a_file_that_is_not_leakshot_output() {
        let dir = tmpdir("foreign");
        let out = dir.join("notes.txt");
        let text = "shopping list\neggs";
        std::fs::write(&out, text).unwrap();
        assert!(matches!(
            Resume::load(&out),
            Err(ResumeError::NotOutput { line: 1, .. })
        ));
        assert_eq!(cut_torn_tail(&out).unwrap(), 0);
        assert_eq!(std::fs::read_to_string(&out).unwrap(), text, "left alone");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn devices_hold_nothing_to_resume() {
        // Reading /dev/zero never ends: it must not be read at all.
        let zero = Path::new("/dev/zero");
        assert_eq!(Resume::load(zero).unwrap().records, 0);
        assert_eq!(cut_torn_tail(zero).unwrap(), 0);
    }

    #[test]
    fn missing_file_is_a_fresh_start() {
        let dir = tmpdir("missing");
        let r = Resume::load(&dir.join("none.jsonl")).unwrap();
        assert_eq!(r.records, 0);
        assert_eq!(cut_torn_tail(&dir.join("none.jsonl")).unwrap(), 0);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn cut_torn_tail_finds_the_last_newline_across_blocks() {
        let dir = tmpdir("tail");
        let out = dir.join("out.jsonl");
        let whole = format!(
            "{{\"path\":\"/x/a.png\",\"pad\":\"{}\"}}\n",
            "x".repeat(70_000)
        );
        let torn = format!("{{\"path\":\"/x/b.png\",\"pad\":\"{}", "y".repeat(150_000));
        std::fs::write(&out, format!("{whole}{torn}")).unwrap();
        assert_eq!(cut_torn_tail(&out).unwrap(), torn.len() as u64);
        assert_eq!(std::fs::read_to_string(&out).unwrap(), whole);
        assert_eq!(
            cut_torn_tail(&out).unwrap(),
            0,
            "a whole file is left alone"
        );
        // A file holding only a torn first record is emptied.
        std::fs::write(&out, "{\"pa").unwrap();
        assert_eq!(cut_torn_tail(&out).unwrap(), 4);
        assert_eq!(std::fs::read(&out).unwrap(), b"");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
