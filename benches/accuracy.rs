//! Accuracy harness: enrolls a labelled corpus's templates with the `leakshot` binary, scans its
//! images, and reports recall at fixed false-positive rates, verdict rates, attribution, per-group
//! tables and throughput (see `leakshot::evaluate`). A measurement, not a gate: it exits 0
//! whenever it produced a report.
//!
//! `cargo bench --bench accuracy -- CORPUS_DIR [--extra-templates DIR] [--records FILE]`
//! (cargo builds the `leakshot` binary it drives, in the bench profile, first).

use anyhow::{bail, Context, Result};
use clap::Parser;
use leakshot::evaluate::{self, Report};
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

/// Measure leakshot's accuracy and speed on a labelled corpus.
#[derive(Debug, Parser)]
#[command(name = "accuracy")]
struct Args {
    /// Corpus directory with `templates/<system>/*.png`, `images/` and `labels.jsonl`.
    corpus: PathBuf,
    /// Enroll into this directory and keep it (default: a temporary directory, removed after).
    #[arg(long)]
    models_out: Option<PathBuf>,
    /// Write the scan records here and keep them (default: a temporary file, removed after).
    #[arg(long)]
    records: Option<PathBuf>,
    /// Passed to `leakshot scan --jobs`.
    #[arg(long)]
    jobs: Option<usize>,
    /// Also enroll every `<system>/` in this directory; their images then count as leaks.
    #[arg(long)]
    extra_templates: Option<PathBuf>,
    /// Evaluate an existing `--records` file without enrolling or scanning again.
    #[arg(long, requires = "records")]
    reuse_records: bool,
    /// Also write the report as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Passed by `cargo bench` to every bench target; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

/// A directory this process created and removes when done, whatever way it ends.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Result<Self> {
        let path = std::env::temp_dir().join(format!("leakshot-accuracy-{}", std::process::id()));
        if path.exists() {
            // Left by an earlier process with the same id; the name is ours.
            fs::remove_dir_all(&path).with_context(|| format!("clearing {}", path.display()))?;
        }
        fs::create_dir_all(&path).with_context(|| format!("creating {}", path.display()))?;
        Ok(TempDir(path))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        // Best effort: a leftover temp directory is not worth failing a finished report over.
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn main() -> Result<()> {
    let args = Args::parse();
    let labels_path = args.corpus.join("labels.jsonl");
    let labels_text = fs::read_to_string(&labels_path)
        .with_context(|| format!("reading {}", labels_path.display()))?;
    let mut labels = evaluate::parse_labels(&labels_text)
        .with_context(|| format!("parsing {}", labels_path.display()))?;

    let mut extra_systems = BTreeMap::new();
    if let Some(dir) = &args.extra_templates {
        for system in system_dirs(dir)? {
            let pages = template_pngs(&system)?
                .iter()
                .filter_map(|p| p.file_stem().and_then(|s| s.to_str()).map(str::to_owned))
                .collect();
            extra_systems.insert(system_name(&system)?.to_owned(), pages);
        }
    }
    let relabelled = evaluate::mark_enrolled(&mut labels, &extra_systems);

    let temp = TempDir::new()?;
    let records_path = args
        .records
        .clone()
        .unwrap_or_else(|| temp.0.join("records.jsonl"));
    let scan_seconds = if args.reuse_records && records_path.exists() {
        eprintln!("reusing records {}", records_path.display());
        None
    } else {
        let models = args
            .models_out
            .clone()
            .unwrap_or_else(|| temp.0.join("models"));
        Some(enroll_and_scan(&args, &models, &records_path)?)
    };

    let records_text = fs::read_to_string(&records_path)
        .with_context(|| format!("reading records {}", records_path.display()))?;
    let records = evaluate::parse_records(&records_text)
        .with_context(|| format!("parsing records {}", records_path.display()))?;

    let report = Report::build(&labels, &records, relabelled, scan_seconds);
    println!("== leakshot accuracy: {} ==", args.corpus.display());
    print!("{report}");
    if let Some(path) = &args.json {
        let json = serde_json::to_string_pretty(&report).context("serialising the report")?;
        fs::write(path, json + "\n").with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

/// Enrolls the corpus's templates (and `--extra-templates`) into `models`, then scans the
/// corpus images into `records`; returns the scan's wall clock in seconds.
fn enroll_and_scan(args: &Args, models: &Path, records: &Path) -> Result<f64> {
    let leakshot = find_leakshot();
    eprintln!("leakshot binary: {}", leakshot.display());
    fs::create_dir_all(models).with_context(|| format!("creating {}", models.display()))?;
    if let Some(parent) = records.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    }
    enroll_all(&leakshot, models, &args.corpus.join("templates"))?;
    if let Some(extra) = &args.extra_templates {
        enroll_all(&leakshot, models, extra)?;
    }
    copy_calibration(models)?;
    scan(&leakshot, models, args, records)
}

/// The `leakshot` binary cargo built for this bench.
fn find_leakshot() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_leakshot"))
}

/// Subdirectories of `dir`, sorted, one per system.
fn system_dirs(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut dirs = Vec::new();
    for entry in fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let path = entry
            .with_context(|| format!("listing {}", dir.display()))?
            .path();
        if path.is_dir() {
            dirs.push(path);
        }
    }
    dirs.sort();
    Ok(dirs)
}

/// A system's name: its directory's name.
fn system_name(dir: &Path) -> Result<&str> {
    dir.file_name()
        .and_then(|n| n.to_str())
        .with_context(|| format!("system directory name is not UTF-8: {}", dir.display()))
}

/// The `.png` templates of one system directory, sorted.
fn template_pngs(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut pngs = Vec::new();
    for entry in fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let path = entry
            .with_context(|| format!("listing {}", dir.display()))?
            .path();
        let is_png = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("png"));
        if is_png && path.is_file() {
            pngs.push(path);
        }
    }
    pngs.sort();
    Ok(pngs)
}

/// Runs `leakshot enroll --models MODELS --name SYSTEM <pngs>` for every system directory.
fn enroll_all(leakshot: &Path, models: &Path, templates: &Path) -> Result<()> {
    for dir in system_dirs(templates)? {
        let name = system_name(&dir)?;
        let pngs = template_pngs(&dir)?;
        if pngs.is_empty() {
            eprintln!("warning: no .png templates in {}, skipped", dir.display());
            continue;
        }
        eprintln!("enrolling {name} ({} templates)", pngs.len());
        let output = Command::new(leakshot)
            .arg("enroll")
            .arg("--models")
            .arg(models)
            .args(["--name", name])
            .args(&pngs)
            .stdin(Stdio::null())
            .output()
            .with_context(|| format!("running {} enroll", leakshot.display()))?;
        if !output.status.success() {
            bail!(
                "leakshot enroll --name {name} failed ({}):\n{}",
                output.status,
                String::from_utf8_lossy(&output.stderr)
            );
        }
    }
    Ok(())
}

/// Copies the shipped `models/calibration.json` into `models` so the scan uses the same
/// calibration as a release; without it the scanner falls back to its defaults.
fn copy_calibration(models: &Path) -> Result<()> {
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/calibration.json");
    if shipped.is_file() {
        let target = models.join("calibration.json");
        fs::copy(&shipped, &target)
            .with_context(|| format!("copying {} to {}", shipped.display(), target.display()))?;
        eprintln!("calibration: {}", shipped.display());
    } else {
        eprintln!("calibration: none shipped, scanner defaults");
    }
    Ok(())
}

/// Runs `leakshot scan` over the corpus images and returns its wall clock in seconds. Exit 1
/// only means a leak was found; 2 (or a signal) is a failure.
fn scan(leakshot: &Path, models: &Path, args: &Args, records: &Path) -> Result<f64> {
    // `scan --output` appends (crash-safe output); a measurement starts from an empty file.
    if records.exists() {
        fs::remove_file(records).with_context(|| format!("clearing {}", records.display()))?;
    }
    let mut command = Command::new(leakshot);
    command
        .arg("scan")
        .arg("--models")
        .arg(models)
        .arg(args.corpus.join("images"))
        .arg("--output")
        .arg(records);
    if let Some(jobs) = args.jobs {
        command.args(["--jobs", &jobs.to_string()]);
    }
    // Records go to --output; stdout would only interleave with the report. Progress and
    // diagnostics on stderr stay visible.
    command.stdin(Stdio::null()).stdout(Stdio::null());
    eprintln!("scanning {}", args.corpus.join("images").display());
    let start = Instant::now();
    let status = command
        .status()
        .with_context(|| format!("running {} scan", leakshot.display()))?;
    let seconds = start.elapsed().as_secs_f64();
    match status.code() {
        Some(0 | 1) => Ok(seconds),
        _ => bail!("leakshot scan failed ({status})"),
    }
}
