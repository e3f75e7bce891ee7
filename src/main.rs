//! The `leakshot` command: a thin shell over the library.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};

use leakshot::decode::DecodeLimits;
use leakshot::fingerprint::ImageFingerprint;
use leakshot::ingest;
use leakshot::ocr::OcrEngine;
use leakshot::resume::{self, Resume};
use leakshot::scan::fingerprint_reference;
use leakshot::{Models, ScanOptions, Scanner};

#[derive(Parser)]
#[command(
    name = "leakshot",
    version,
    about = "Find leaked screenshots of internal systems in posted images"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Fingerprint clean screenshots of one internal system and write its template.
    Enroll {
        /// Models folder (created if missing).
        #[arg(long)]
        models: PathBuf,
        /// System name; its words count as naming the organisation (e.g. harbour-casemanager).
        #[arg(long)]
        name: String,
        /// Further words that name the organisation or system (brand, abbreviations).
        #[arg(long = "org", value_name = "WORDS")]
        org: Vec<String>,
        /// The images are the organisation's PUBLIC material (website, public forms) for the
        /// already enrolled SYSTEM: what they show weighs nothing as evidence of it.
        #[arg(long, conflicts_with = "org")]
        public: bool,
        /// Screenshots of the system (two or more pages are best), or with --public, of
        /// its organisation's public pages.
        #[arg(required = true)]
        images: Vec<PathBuf>,
    },
    /// Scan image files and folders; one JSON line per image.
    Scan {
        #[arg(long)]
        models: PathBuf,
        /// Append records to FILE (one synced line per image) instead of stdout.
        #[arg(long, short)]
        output: Option<PathBuf>,
        /// Continue a scan into --output FILE after a crash or kill: skip the images FILE
        /// already has a record of (same path, size and modification time).
        #[arg(long, requires = "output")]
        resume: bool,
        /// Leak threshold on confidence (default: the calibrated one in models/).
        #[arg(long)]
        threshold: Option<f64>,
        /// Worker threads (default: number of cores).
        #[arg(long, short)]
        jobs: Option<usize>,
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Refit the score model from a scan's records and labels; writes models/calibration.json.
    Calibrate {
        #[arg(long)]
        models: PathBuf,
        /// labels.jsonl of a labelled corpus.
        #[arg(long)]
        labels: PathBuf,
        /// Records of a scan of that corpus with the same templates.
        #[arg(long)]
        records: PathBuf,
        /// Largest share of negatives allowed at or above the leak threshold.
        #[arg(long, default_value_t = 0.001)]
        leak_fpr: f64,
        /// Largest share of negatives allowed at or above the review threshold.
        #[arg(long, default_value_t = 0.05)]
        review_fpr: f64,
    },
}

fn main() -> ExitCode {
    // Debian's Tesseract uses OpenMP, which must be limited before the process starts:
    // re-execute ourselves with OMP_THREAD_LIMIT=1 (parallelism comes from our workers).
    if std::env::var_os("OMP_THREAD_LIMIT").is_none() {
        if let Ok(exe) = std::env::current_exe() {
            use std::os::unix::process::CommandExt;
            let err = std::process::Command::new(exe)
                .args(std::env::args_os().skip(1))
                .env("OMP_THREAD_LIMIT", "1")
                .exec();
            eprintln!("leakshot: warning: could not re-execute with OMP_THREAD_LIMIT=1: {err}");
        }
    }
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("leakshot: error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Enroll {
            models,
            name,
            org,
            public,
            images,
        } => {
            if public {
                enroll_public(models, name, images)
            } else {
                enroll(models, name, org, images)
            }
        }
        Command::Scan {
            models,
            output,
            resume,
            threshold,
            jobs,
            paths,
        } => scan(models, output, resume, threshold, jobs, paths),
        Command::Calibrate {
            models,
            labels,
            records,
            leak_fpr,
            review_fpr,
        } => calibrate(models, labels, records, leak_fpr, review_fpr),
    }
}

/// Fingerprints clean screenshots, each with its file name.
fn fingerprint_references(images: &[PathBuf]) -> Result<Vec<(String, ImageFingerprint)>> {
    let mut engine = OcrEngine::new().context("starting Tesseract")?;
    let limits = DecodeLimits::default();
    let mut refs = Vec::new();
    for path in images {
        let fp = fingerprint_reference(path, &mut engine, &limits)
            .with_context(|| format!("enrolling {}", path.display()))?;
        let source = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        eprintln!("leakshot: {}: {} tokens", path.display(), fp.tokens.len());
        refs.push((source, fp));
    }
    Ok(refs)
}

fn enroll_public(models: PathBuf, name: String, images: Vec<PathBuf>) -> Result<ExitCode> {
    let path = leakshot::template::template_path(&models, &name)?;
    let mut template = leakshot::template::Template::load(&path)
        .with_context(|| format!("--public needs {name} enrolled first"))?;
    let pages = fingerprint_references(&images)?;
    let flagged = leakshot::enroll::mark_public(&mut template, pages);
    let path = template.save(&models)?;
    eprintln!(
        "leakshot: wrote {} ({flagged} more of its words are public; {} public pages)",
        path.display(),
        template.public_sources.len()
    );
    Ok(ExitCode::SUCCESS)
}

fn enroll(
    models: PathBuf,
    name: String,
    org: Vec<String>,
    images: Vec<PathBuf>,
) -> Result<ExitCode> {
    leakshot::template::template_path(&models, &name)?;
    let refs = fingerprint_references(&images)?;
    let template = leakshot::enroll::build_template(&name, refs, &org);
    let chrome = template.vocabulary.iter().filter(|e| e.chrome).count();
    let org_words: Vec<&str> = template
        .vocabulary
        .iter()
        .filter(|e| e.org)
        .map(|e| e.token.as_str())
        .collect();
    let path = template.save(&models)?;
    eprintln!(
        "leakshot: wrote {} ({} words, {} chrome; organisation words: {})",
        path.display(),
        template.vocabulary.len(),
        chrome,
        org_words.join(" ")
    );
    Ok(ExitCode::SUCCESS)
}

fn scan(
    models: PathBuf,
    output: Option<PathBuf>,
    resume: bool,
    threshold: Option<f64>,
    jobs: Option<usize>,
    paths: Vec<PathBuf>,
) -> Result<ExitCode> {
    if let Some(t) = threshold {
        if !(0.0..=1.0).contains(&t) {
            bail!("--threshold must be in [0, 1], got {t}");
        }
    }
    let models = Models::load(&models).context("loading models")?;
    let mut options = ScanOptions {
        leak_threshold: threshold,
        ..ScanOptions::default()
    };
    if let Some(j) = jobs {
        options.jobs = j.max(1);
    }
    let scanner = Scanner::new(models, options);
    // A killed run may have left half a line: cut it before appending (--resume also reads
    // what is recorded).
    let recorded = match (&output, resume) {
        (Some(p), true) => {
            let r = Resume::load(p).context("resuming")?;
            if r.truncated_bytes > 0 {
                eprintln!(
                    "leakshot: {}: cut a half-written last record ({} bytes)",
                    p.display(),
                    r.truncated_bytes
                );
            }
            if r.damaged_lines > 0 {
                eprintln!(
                    "leakshot: warning: {}: {} damaged lines left in place",
                    p.display(),
                    r.damaged_lines
                );
            }
            Some(r)
        }
        (Some(p), false) => {
            let cut = resume::cut_torn_tail(p).context("preparing the output file")?;
            if cut > 0 {
                eprintln!(
                    "leakshot: {}: cut a half-written last record ({cut} bytes)",
                    p.display()
                );
            }
            None
        }
        (None, _) => None,
    };
    let mut file = match &output {
        Some(p) => Some(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .with_context(|| format!("opening {}", p.display()))?,
        ),
        None => None,
    };
    let mut stdout = std::io::stdout().lock();
    let (mut skipped, mut skipped_leaks) = (0usize, 0usize);
    let inputs = ingest::walk(&paths).filter(|input| {
        match recorded.as_ref().and_then(|r| r.lookup(input)) {
            Some(leak) => {
                skipped += 1;
                skipped_leaks += usize::from(leak);
                false
            }
            None => true,
        }
    });
    let stop = AtomicBool::new(false);
    let mut write_error: Option<std::io::Error> = None;
    let summary = scanner.scan(inputs, &stop, |record| {
        if write_error.is_some() {
            return;
        }
        let mut line = match serde_json::to_string(&record) {
            Ok(l) => l,
            Err(e) => format!(
                "{{\"path\":{},\"error\":{}}}",
                serde_json::Value::from(record.path.as_str()),
                serde_json::Value::from(format!("cannot serialise record: {e}"))
            ),
        };
        line.push('\n');
        // One write per record, synced: a crash loses at most the record being written.
        let written = match file.as_mut() {
            Some(f) => f.write_all(line.as_bytes()).and_then(|_| f.sync_data()),
            None => stdout
                .write_all(line.as_bytes())
                .and_then(|_| stdout.flush()),
        };
        if let Err(e) = written {
            // Disk full or gone: stop analysing images whose records cannot be kept.
            write_error = Some(e);
            stop.store(true, Ordering::Relaxed);
        }
    })?;
    if let Some(e) = write_error {
        return Err(e).context("writing records");
    }
    let resumed = if recorded.is_some() {
        format!(", {skipped} already recorded (skipped, {skipped_leaks} of them leaks)")
    } else {
        String::new()
    };
    eprintln!(
        "leakshot: {} images, {} leaks, {} review, {} errors, {:.2} images/s{resumed}",
        summary.images,
        summary.leaks,
        summary.reviews,
        summary.errors,
        summary.images as f64 / summary.seconds.max(1e-9)
    );
    // A leak recorded before the kill still sets the exit code: its alert was never sent.
    Ok(if summary.leaks + skipped_leaks > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn calibrate(
    models: PathBuf,
    labels: PathBuf,
    records: PathBuf,
    leak_fpr: f64,
    review_fpr: f64,
) -> Result<ExitCode> {
    let labels_text = std::fs::read_to_string(&labels)
        .with_context(|| format!("reading {}", labels.display()))?;
    let records_text = std::fs::read_to_string(&records)
        .with_context(|| format!("reading {}", records.display()))?;
    let samples =
        leakshot::calibrate::join(&records_text, &labels_text).map_err(anyhow::Error::msg)?;
    if samples.is_empty() {
        bail!("no record matched a label: scan the labelled corpus first");
    }
    let (mut cal, report) = leakshot::calibrate::calibrate(&samples, leak_fpr, review_fpr);
    // Name the data in the provenance: its folder and the labels file.
    let data: Vec<String> = labels
        .iter()
        .rev()
        .take(2)
        .map(|c| c.to_string_lossy().into_owned())
        .collect();
    cal.provenance = format!(
        "{}; labels {}",
        cal.provenance,
        data.into_iter().rev().collect::<Vec<_>>().join("/")
    );
    eprint!("{report}");
    let path = cal.save(&models)?;
    eprintln!("leakshot: wrote {}", path.display());
    Ok(ExitCode::SUCCESS)
}
