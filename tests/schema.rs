//! Every record the binary writes validates against `schema/record.schema.json`: the
//! schema documents the public interface, and this keeps it honest.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn every_record_matches_the_published_schema() {
    let schema: Value = serde_json::from_slice(
        &std::fs::read(repo().join("schema/record.schema.json")).expect("schema file"),
    )
    .expect("schema JSON");
    let validator = jsonschema::validator_for(&schema).expect("a valid JSON Schema");

    let dir = std::env::temp_dir().join(format!("leakshot-schema-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let cache = dir.join("cache.redb");
    // Two leaks (one a photographed monitor, with its screen), a look-alike, a photo and a
    // corrupt file; the second run comes from the cache.
    let mut lines = Vec::new();
    for _ in 0..2 {
        let out = Command::new(env!("CARGO_BIN_EXE_leakshot"))
            .args(["scan", "--models"])
            .arg(repo().join("models"))
            .arg("--cache")
            .arg(&cache)
            .arg(repo().join("test-images/posted"))
            .env("OMP_THREAD_LIMIT", "1")
            .output()
            .expect("run leakshot");
        lines.extend(
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .map(str::to_owned)
                .collect::<Vec<_>>(),
        );
    }
    assert_eq!(lines.len(), 10, "{lines:#?}");
    assert!(lines.iter().any(|l| l.contains("\"cached\":true")));
    for line in &lines {
        let record: Value = serde_json::from_str(line).expect("JSON line");
        let errors: Vec<String> = validator
            .iter_errors(&record)
            .map(|e| format!("{} at {}", e, e.instance_path))
            .collect();
        assert!(
            errors.is_empty(),
            "{}:\n{}",
            record["path"],
            errors.join("\n")
        );
    }
    // And the schema does say no: a record with an unknown verdict is refused.
    let mut bad: Value = serde_json::from_str(&lines[0]).expect("JSON line");
    bad["verdict"] = "maybe".into();
    assert!(!validator.is_valid(&bad));
    let _ = std::fs::remove_dir_all(&dir);
}
