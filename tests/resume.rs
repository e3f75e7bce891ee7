//! Crash-safe output: a scan killed with SIGKILL mid-run, then resumed with `--resume`,
//! leaves exactly one record per image and only valid JSON lines.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("leakshot-resume-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

fn leakshot() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_leakshot"));
    c.env("OMP_THREAD_LIMIT", "1");
    c
}

/// Fourteen small real images under distinct names: the bundled posted and enrolled
/// screenshots (the corrupt PNG among them, so an error record is resumed past too).
fn image_folder(dir: &Path) -> Vec<String> {
    let mut sources: Vec<PathBuf> = Vec::new();
    for sub in ["test-images/posted", "test-images/enroll/fernhill-casedesk"] {
        let mut files: Vec<PathBuf> = std::fs::read_dir(repo().join(sub))
            .expect("fixtures")
            .map(|e| e.expect("entry").path())
            .collect();
        files.sort();
        sources.extend(files);
    }
    assert_eq!(sources.len(), 7, "{sources:?}");
    let mut names = Vec::new();
    for copy in 0..2 {
        for src in &sources {
            let name = format!(
                "{copy}-{}",
                src.file_name().and_then(|n| n.to_str()).expect("name")
            );
            std::fs::copy(src, dir.join(&name)).expect("copy fixture");
            names.push(name);
        }
    }
    names
}

fn lines(file: &Path) -> Vec<String> {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .map(String::from)
        .collect()
}

#[test]
fn killed_scan_resumes_with_one_record_per_image() {
    let dir = temp_dir("kill");
    let images = dir.join("images");
    std::fs::create_dir_all(&images).expect("images dir");
    let names = image_folder(&images);
    let out = dir.join("out.jsonl");
    let models = repo().join("models");

    let mut child = leakshot()
        .args(["scan", "-j", "1", "--models"])
        .arg(&models)
        .arg("--output")
        .arg(&out)
        .arg(&images)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start leakshot");
    let start = Instant::now();
    while std::fs::read(&out)
        .map(|b| b.iter().filter(|&&c| c == b'\n').count())
        .unwrap_or(0)
        < 2
    {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("leakshot ended before it could be killed: {status}");
        }
        assert!(start.elapsed() < Duration::from_secs(60), "no records");
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill().expect("SIGKILL");
    child.wait().expect("reap");

    let before = lines(&out).len();
    assert!(
        (2..names.len()).contains(&before),
        "killed mid-run: {before} records of {}",
        names.len()
    );
    // Simulate a torn write: the killed process was halfway through a record.
    let mut text = std::fs::read(&out).expect("output");
    text.extend_from_slice(br#"{"path":"half-written","leak":tr"#);
    std::fs::write(&out, text).expect("tear");

    let resumed = leakshot()
        .args(["scan", "-j", "1", "--resume", "--models"])
        .arg(&models)
        .arg("--output")
        .arg(&out)
        .arg(&images)
        .output()
        .expect("resume");
    assert_eq!(
        resumed.status.code(),
        Some(1),
        "the positive copies are leaks: {resumed:?}"
    );
    let stderr = String::from_utf8_lossy(&resumed.stderr);
    assert!(
        stderr.contains(&format!("{before} already recorded"))
            && stderr.contains(&format!("leakshot: {} images", names.len() - before)),
        "{stderr}"
    );

    let records: Vec<Value> = lines(&out)
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad line {l}: {e}")))
        .collect();
    let mut count: HashMap<String, usize> = HashMap::new();
    for r in &records {
        let path = r["path"].as_str().expect("path");
        let name = Path::new(path)
            .file_name()
            .and_then(|n| n.to_str())
            .expect("file name");
        *count.entry(name.to_string()).or_default() += 1;
        assert!(r["file"]["size"].is_u64(), "identity recorded: {r}");
        assert!(r["file"]["mtime_ns"].is_i64(), "identity recorded: {r}");
    }
    for name in &names {
        assert_eq!(
            count.get(name),
            Some(&1),
            "one record for {name}: {count:?}"
        );
    }
    assert_eq!(records.len(), names.len(), "{count:?}");

    // A third run has nothing left to do, and the leak recorded earlier still alerts.
    let again = leakshot()
        .args(["scan", "-j", "1", "--resume", "--models"])
        .arg(&models)
        .arg("--output")
        .arg(&out)
        .arg(&images)
        .output()
        .expect("resume again");
    assert_eq!(again.status.code(), Some(1), "{again:?}");
    assert_eq!(lines(&out).len(), names.len());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn resume_needs_output_and_refuses_a_foreign_file() {
    let dir = temp_dir("usage");
    let models = repo().join("models");
    let photo = repo().join("test-images/posted/holiday-photo.jpg");
    let no_output = leakshot()
        .args(["scan", "--resume", "--models"])
        .arg(&models)
        .arg(&photo)
        .output()
        .expect("run");
    assert_eq!(no_output.status.code(), Some(2), "{no_output:?}");

    let notes = dir.join("notes.txt");
    std::fs::write(&notes, "not records\n").expect("notes");
    let foreign = leakshot()
        .args(["scan", "--resume", "--models"])
        .arg(&models)
        .arg("--output")
        .arg(&notes)
        .arg(&photo)
        .output()
        .expect("run");
    assert_eq!(foreign.status.code(), Some(2), "{foreign:?}");
    assert!(String::from_utf8_lossy(&foreign.stderr).contains("not a leakshot record"));
    assert_eq!(
        std::fs::read_to_string(&notes).expect("notes"),
        "not records\n"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_full_disk_is_a_fatal_error_not_a_silent_loss() {
    let models = repo().join("models");
    let posted = repo().join("test-images/posted");
    let out = leakshot()
        .args(["scan", "-j", "1", "--resume", "--models"])
        .arg(&models)
        .args(["--output", "/dev/full"])
        .arg(&posted)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("writing records"),
        "{out:?}"
    );
}
