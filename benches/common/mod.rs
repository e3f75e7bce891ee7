//! Helpers shared by the bench harnesses: a self-removing temporary directory and enrolling a
//! labelled corpus's `templates/<system>/*.png` with the `leakshot` binary cargo built.
//!
//! Each harness includes this with `mod common;`; every item here is used by all of them but
//! `enroll_all`, `read_labels`, `read_records` and `ScanRun` (the harnesses that judge
//! labelled records).

use anyhow::{bail, Context, Result};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A directory this process created and removes when done, whatever way it ends.
pub struct TempDir(pub PathBuf);

impl TempDir {
    /// `leakshot-<label>-<pid>` under the system temp directory, emptied if it exists.
    pub fn new(label: &str) -> Result<Self> {
        let path = std::env::temp_dir().join(format!("leakshot-{label}-{}", std::process::id()));
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

/// The `leakshot` binary cargo built for this bench.
pub fn find_leakshot() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_leakshot"))
}

/// Subdirectories of `dir`, sorted, one per system.
pub fn system_dirs(dir: &Path) -> Result<Vec<PathBuf>> {
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
pub fn system_name(dir: &Path) -> Result<&str> {
    dir.file_name()
        .and_then(|n| n.to_str())
        .with_context(|| format!("system directory name is not UTF-8: {}", dir.display()))
}

/// The `.png` templates of one system directory, sorted.
pub fn template_pngs(dir: &Path) -> Result<Vec<PathBuf>> {
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
// The look-alike bench enrolls one system at a time instead.
#[allow(dead_code)]
pub fn enroll_all(leakshot: &Path, models: &Path, templates: &Path) -> Result<()> {
    for dir in system_dirs(templates)? {
        if template_pngs(&dir)?.is_empty() {
            eprintln!("warning: no .png templates in {}, skipped", dir.display());
            continue;
        }
        enroll_system(leakshot, models, &dir)?;
    }
    Ok(())
}

/// Runs `leakshot enroll --models MODELS --name SYSTEM <pngs>` for one system directory.
pub fn enroll_system(leakshot: &Path, models: &Path, dir: &Path) -> Result<()> {
    let name = system_name(dir)?;
    let pngs = template_pngs(dir)?;
    if pngs.is_empty() {
        bail!("no .png templates in {}", dir.display());
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
    Ok(())
}

/// Copies the shipped `models/calibration.json` into `models` so the scan uses the same
/// calibration as a release; without it the scanner falls back to its defaults.
pub fn copy_calibration(models: &Path) -> Result<()> {
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

/// The corpus's `labels.jsonl`.
#[allow(dead_code)]
pub fn read_labels(corpus: &Path) -> Result<Vec<leakshot::evaluate::Label>> {
    let path = corpus.join("labels.jsonl");
    let text = fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    leakshot::evaluate::parse_labels(&text).with_context(|| format!("parsing {}", path.display()))
}

/// The scan records (JSON Lines) in `path`.
#[allow(dead_code)]
pub fn read_records(path: &Path) -> Result<Vec<leakshot::evaluate::Record>> {
    let text =
        fs::read_to_string(path).with_context(|| format!("reading records {}", path.display()))?;
    leakshot::evaluate::parse_records(&text)
        .with_context(|| format!("parsing records {}", path.display()))
}

/// One `leakshot scan` run by a harness: `inputs` (files or folders) judged against
/// `models` into `records`, emptied first (`scan --output` appends; a measurement starts
/// from an empty file), with a fingerprint `cache` and `jobs` workers if given. Progress
/// goes to stderr unless `quiet`. Exit 1 only means a leak was found; 2 (or a signal) is a
/// failure.
// The throughput and matching benches time their own scans.
#[allow(dead_code)]
pub struct ScanRun<'a> {
    pub models: &'a Path,
    pub inputs: Vec<PathBuf>,
    pub records: &'a Path,
    pub cache: Option<&'a Path>,
    pub jobs: Option<usize>,
    pub quiet: bool,
}

#[allow(dead_code)]
impl ScanRun<'_> {
    /// Runs the scan with `leakshot`.
    pub fn run(&self, leakshot: &Path) -> Result<()> {
        if self.records.exists() {
            fs::remove_file(self.records)
                .with_context(|| format!("clearing {}", self.records.display()))?;
        }
        let mut command = Command::new(leakshot);
        command
            .arg("scan")
            .arg("--models")
            .arg(self.models)
            .arg("--output")
            .arg(self.records)
            .args(&self.inputs);
        if let Some(cache) = self.cache {
            command.arg("--cache").arg(cache);
        }
        if let Some(jobs) = self.jobs {
            command.args(["--jobs", &jobs.to_string()]);
        }
        // Records go to --output; stdout would only interleave with the report.
        command.stdin(Stdio::null()).stdout(Stdio::null());
        if self.quiet {
            command.stderr(Stdio::null());
        }
        let status = command
            .status()
            .with_context(|| format!("running {} scan", leakshot.display()))?;
        match status.code() {
            Some(0 | 1) => Ok(()),
            _ => bail!("leakshot scan failed ({status})"),
        }
    }
}

/// Marks the images of every system in `extra` (a folder of `<system>/*.png`, as
/// `templates/`), if given, as leaks of an enrolled system (`evaluate::mark_enrolled`);
/// returns how many labels changed.
#[allow(dead_code)]
pub fn mark_extra_systems(
    labels: &mut [leakshot::evaluate::Label],
    extra: Option<&Path>,
) -> Result<usize> {
    let mut systems = std::collections::BTreeMap::new();
    if let Some(dir) = extra {
        for system in system_dirs(dir)? {
            let pages = template_pngs(&system)?
                .iter()
                .filter_map(|p| p.file_stem().and_then(|s| s.to_str()).map(str::to_owned))
                .collect();
            systems.insert(system_name(&system)?.to_owned(), pages);
        }
    }
    Ok(leakshot::evaluate::mark_enrolled(labels, &systems))
}
