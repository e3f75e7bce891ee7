//! Monitoring jobs end to end: `watch` on a folder being written to, `scan --stdin`,
//! reposts, the fingerprint cache, the allowlist. Real binary, real Tesseract.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn posted(name: &str) -> PathBuf {
    repo().join("test-images/posted").join(name)
}

fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("leakshot-monitor-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

fn leakshot() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_leakshot"));
    c.env("OMP_THREAD_LIMIT", "1");
    c
}

fn parse(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l}: {e}")))
        .collect()
}

fn records(out: &Output) -> Vec<Value> {
    parse(&String::from_utf8_lossy(&out.stdout))
}

fn named<'a>(recs: &'a [Value], name: &str) -> Vec<&'a Value> {
    recs.iter()
        .filter(|r| r["path"].as_str().is_some_and(|p| p.ends_with(name)))
        .collect()
}

fn one<'a>(recs: &'a [Value], name: &str) -> &'a Value {
    let found = named(recs, name);
    assert_eq!(found.len(), 1, "one record for {name}: {recs:#?}");
    found[0]
}

#[test]
fn watch_scans_each_file_once_it_is_whole_and_stops_on_sigterm() {
    let dir = temp_dir("watch");
    let watched = dir.join("incoming");
    std::fs::create_dir_all(&watched).expect("watched dir");
    let out = dir.join("out.jsonl");
    let mut child = leakshot()
        .args(["watch", "-j", "1", "--models"])
        .arg(repo().join("models"))
        .arg("--output")
        .arg(&out)
        .arg(&watched)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start leakshot watch");
    // Wait for "watching", then keep draining stderr so the child never blocks on it.
    let mut stderr = BufReader::new(child.stderr.take().expect("stderr"));
    let mut first = String::new();
    stderr.read_line(&mut first).expect("read stderr");
    assert!(first.contains("watching"), "{first}");
    let rest = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut stderr, &mut text);
        text
    });

    // A leak written in four chunks, open all along, with pauses longer than the
    // stability check: a half-written JPEG sits there for two seconds.
    let positive = std::fs::read(posted("positive-reports-page.jpg")).expect("fixture");
    let mut f = std::fs::File::create(watched.join("a.jpg")).expect("create");
    for chunk in positive.chunks(positive.len().div_ceil(4)) {
        f.write_all(chunk).expect("write chunk");
        f.flush().expect("flush");
        std::thread::sleep(Duration::from_millis(700));
    }
    drop(f);
    // A clean photo written under a temporary name (slowly), then renamed.
    let photo = std::fs::read(posted("holiday-photo.jpg")).expect("fixture");
    let part = watched.join("b.jpg.part");
    let mut f = std::fs::File::create(&part).expect("create temp");
    let (head, tail) = photo.split_at(photo.len() / 2);
    f.write_all(head).expect("write");
    f.flush().expect("flush");
    std::thread::sleep(Duration::from_millis(700));
    f.write_all(tail).expect("write");
    drop(f);
    std::fs::rename(&part, watched.join("b.jpg")).expect("rename");
    // A download saved with no extension is an image by its first bytes; its JSON
    // sidecar is none.
    std::fs::write(watched.join("media"), &photo).expect("write");
    std::fs::write(watched.join("media.json"), br#"{"id": 7}"#).expect("write");

    let start = Instant::now();
    let count = || {
        std::fs::read_to_string(&out)
            .map(|t| t.lines().count())
            .unwrap_or(0)
    };
    while count() < 3 {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("watch ended early: {status}");
        }
        assert!(start.elapsed() < Duration::from_secs(15), "no records yet");
        std::thread::sleep(Duration::from_millis(100));
    }
    // Nothing else may come (no second record, nothing for the temporary name or the
    // sidecar).
    std::thread::sleep(Duration::from_millis(1200));
    let pid = i32::try_from(child.id()).expect("pid");
    // SAFETY: kill(2) on our own child's pid.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        assert!(Instant::now() < deadline, "watch did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    let stderr = rest.join().expect("stderr thread");
    assert_eq!(
        status.code(),
        Some(1),
        "ends cleanly; 1: a leak was seen\n{stderr}"
    );
    assert!(stderr.contains("leakshot: 3 images, 1 leaks"), "{stderr}");

    let recs = parse(&std::fs::read_to_string(&out).expect("records"));
    assert_eq!(recs.len(), 3, "{recs:#?}");
    assert_eq!(one(&recs, "/media")["verdict"], "clean");
    let a = one(&recs, "a.jpg");
    assert!(a["error"].is_null(), "read whole, not half-written: {a:#}");
    assert_eq!(a["verdict"], "leak", "{a:#}");
    assert_eq!(a["file"]["size"], positive.len());
    let b = one(&recs, "b.jpg");
    assert!(b["error"].is_null(), "{b:#}");
    assert_eq!(b["verdict"], "clean");
    assert_eq!(b["file"]["size"], photo.len());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn stdin_paths_stream_and_reposts_are_not_analysed_twice() {
    let dir = temp_dir("stdin");
    let repost = dir.join("repost-of-positive.jpg");
    std::fs::copy(posted("positive-reports-page.jpg"), &repost).expect("copy");
    let list: Vec<PathBuf> = vec![
        posted("positive-reports-page.jpg"),
        posted("corrupt.png"),
        repost.clone(),
        posted("holiday-photo.jpg"),
    ];
    let mut input = Vec::new();
    for p in &list {
        input.extend_from_slice(p.as_os_str().as_encoded_bytes());
        input.push(0);
    }
    let mut child = leakshot()
        .args(["scan", "--stdin", "-0", "-j", "2", "--models"])
        .arg(repo().join("models"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(&input)
        .expect("write paths");
    let out = child.wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let recs = records(&out);
    assert_eq!(recs.len(), 4, "{recs:#?}");
    let (a, b) = (
        one(&recs, "positive-reports-page.jpg"),
        one(&recs, "repost-of-positive.jpg"),
    );
    // Two workers: whichever copy was hashed first is analysed, the other is its repost.
    let (first, dup) = if a["duplicate_of"].is_null() {
        (a, b)
    } else {
        (b, a)
    };
    assert!(first["duplicate_of"].is_null());
    assert_eq!(dup["duplicate_of"], first["path"], "{dup:#}");
    assert_eq!(dup["verdict"], "leak");
    assert_eq!(dup["blake3"], first["blake3"]);
    assert_eq!(dup["evidence"], first["evidence"]);
    assert!(dup["timings_ms"].get("ocr").is_none(), "not analysed again");
    assert_eq!(first["blake3"].as_str().map(str::len), Some(64));
    assert!(one(&recs, "corrupt.png")["error"].is_string());
    let summary = String::from_utf8_lossy(&out.stderr);
    assert!(
        summary.contains("4 images") && summary.contains("1 duplicates"),
        "{summary}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_cached_rerun_skips_ocr_and_gives_the_same_verdicts() {
    let dir = temp_dir("cache");
    let cache = dir.join("fingerprints.redb");
    let run = || {
        leakshot()
            .args(["scan", "-j", "2", "--models"])
            .arg(repo().join("models"))
            .arg("--cache")
            .arg(&cache)
            .arg(repo().join("test-images/posted"))
            .output()
            .expect("run")
    };
    let cold = run();
    let warm = run();
    assert_eq!(cold.status.code(), Some(1), "{cold:?}");
    assert_eq!(warm.status.code(), Some(1), "{warm:?}");
    let (cold, warm_recs) = (records(&cold), records(&warm));
    assert_eq!(cold.len(), 5);
    assert_eq!(warm_recs.len(), 5);
    for (c, w) in cold.iter().zip(&warm_recs) {
        assert_eq!(c["path"], w["path"]);
        assert_eq!(c["verdict"], w["verdict"], "{w:#}");
        assert_eq!(c["confidence"], w["confidence"], "{w:#}");
        assert_eq!(c["template"], w["template"]);
        assert_eq!(c["cached"], false);
        if c["error"].is_null() {
            assert_eq!(w["cached"], true, "{w:#}");
            for stage in ["decode", "preprocess", "ocr"] {
                assert!(w["timings_ms"].get(stage).is_none(), "{stage} in {w:#}");
            }
            assert_eq!(
                c["evidence"]["matched_words"],
                w["evidence"]["matched_words"]
            );
        } else {
            assert_eq!(w["cached"], false, "errors are not cached: {w:#}");
        }
    }
    let positive = one(&cold, "positive-reports-page.jpg");
    assert!(positive["timings_ms"]["ocr"].is_number(), "{positive:#}");
    let summary = String::from_utf8_lossy(&warm.stderr);
    assert!(summary.contains("4 cached"), "{summary}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_allowlist_entry_clears_only_what_it_names() {
    let dir = temp_dir("ignore");
    let positive = posted("positive-reports-page.jpg");
    let hash = blake3::hash(&std::fs::read(&positive).expect("fixture")).to_hex();
    let list = dir.join("allow.txt");
    let cache = dir.join("c.redb");
    let run = |entries: &str| {
        std::fs::write(&list, entries).expect("allowlist");
        leakshot()
            .args(["scan", "--models"])
            .arg(repo().join("models"))
            .arg("--cache")
            .arg(&cache)
            .arg("--ignore")
            .arg(&list)
            .arg(&positive)
            .output()
            .expect("run")
    };
    // An entry for another template does not clear a match to ours.
    let other = run(&format!(
        "# cleared after review\n{hash} some-other-system\n"
    ));
    assert_eq!(other.status.code(), Some(1), "{other:?}");
    assert_eq!(records(&other)[0]["verdict"], "leak");

    let cleared = run(&format!(
        "# cleared after review\n\n{hash} fernhill-casedesk # press kit\n"
    ));
    assert_eq!(cleared.status.code(), Some(0), "{cleared:?}");
    let r = &records(&cleared)[0];
    assert_eq!(r["verdict"], "clean", "{r:#}");
    assert_eq!(r["leak"], false);
    assert!(r["template"].is_null());
    let ev = &r["evidence"];
    assert!(
        ev["reason"]
            .as_str()
            .is_some_and(|s| s.contains("allowlist") && s.contains("line 3")),
        "{ev:#}"
    );
    assert_eq!(ev["allowlisted"]["line"], 3);
    assert_eq!(ev["allowlisted"]["verdict"], "leak");
    assert_eq!(ev["allowlisted"]["template"], "fernhill-casedesk");

    // A bare hash clears whatever it matched; a malformed list is a usage error.
    assert_eq!(run(&format!("{hash}\n")).status.code(), Some(0));
    let bad = run("not-a-hash\n");
    assert_eq!(bad.status.code(), Some(2), "{bad:?}");
    assert!(String::from_utf8_lossy(&bad.stderr).contains("line 1"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn watch_needs_a_folder() {
    let out = leakshot()
        .args(["watch", "--models"])
        .arg(repo().join("models"))
        .arg(Path::new("/nonexistent/leakshot-watch"))
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
}

#[test]
fn stdin_lines_append_to_output_and_resume_skips_what_is_recorded() {
    let dir = temp_dir("stdin-resume");
    let out = dir.join("out.jsonl");
    let run = |names: &[&str]| {
        let mut child = leakshot()
            .args(["scan", "--stdin", "--resume", "-j", "1", "--models"])
            .arg(repo().join("models"))
            .arg("--output")
            .arg(&out)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start");
        let list: String = names
            .iter()
            .map(|n| format!("{}\n", posted(n).display()))
            .collect();
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(list.as_bytes())
            .expect("write paths");
        child.wait_with_output().expect("wait")
    };
    let first = run(&["holiday-photo.jpg", "corrupt.png"]);
    assert_eq!(first.status.code(), Some(0), "{first:?}");
    let second = run(&[
        "holiday-photo.jpg",
        "corrupt.png",
        "positive-reports-page.jpg",
    ]);
    assert_eq!(second.status.code(), Some(1), "{second:?}");
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(
        stderr.contains("leakshot: 1 images") && stderr.contains("2 already recorded"),
        "{stderr}"
    );
    let recs = parse(&std::fs::read_to_string(&out).expect("records"));
    assert_eq!(recs.len(), 3, "{recs:#?}");
    for name in [
        "holiday-photo.jpg",
        "corrupt.png",
        "positive-reports-page.jpg",
    ] {
        one(&recs, name);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn stdin_records_come_out_while_the_list_is_still_open() {
    let mut child = leakshot()
        .args(["scan", "--stdin", "-j", "1", "--models"])
        .arg(repo().join("models"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start");
    let mut stdin = child.stdin.take().expect("stdin");
    let stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in stdout.lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    writeln!(stdin, "{}", posted("holiday-photo.jpg").display()).expect("write");
    stdin.flush().expect("flush");
    // The producer has not finished its list: the record must come all the same.
    let first = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("a record before stdin is closed");
    assert!(first.contains("holiday-photo.jpg"), "{first}");
    writeln!(stdin, "{}", posted("corrupt.png").display()).expect("write");
    drop(stdin);
    let second = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("second record");
    assert!(second.contains("corrupt.png"), "{second}");
    assert!(child.wait().expect("wait").success());
}
