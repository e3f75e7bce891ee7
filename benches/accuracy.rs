//! Accuracy harness: enrolls a labelled corpus's templates with the `leakshot` binary, scans its
//! images, and reports recall at fixed false-positive rates, verdict rates, attribution, per-group
//! tables and throughput (see `leakshot::evaluate`). A measurement, not a gate: it exits 0
//! whenever it produced a report.
//!
//! `cargo bench --bench accuracy -- CORPUS_DIR [--extra-templates DIR] [--records FILE]`
//! (cargo builds the `leakshot` binary it drives, in the bench profile, first).

mod common;

use anyhow::{Context, Result};
use clap::Parser;
use common::{
    copy_calibration, enroll_all, find_leakshot, mark_extra_systems, read_labels, read_records,
    ScanRun, TempDir,
};
use leakshot::evaluate::Report;
use std::fs;
use std::path::{Path, PathBuf};
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

fn main() -> Result<()> {
    let args = Args::parse();
    let mut labels = read_labels(&args.corpus)?;

    let relabelled = mark_extra_systems(&mut labels, args.extra_templates.as_deref())?;

    let temp = TempDir::new("accuracy")?;
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

    let records = read_records(&records_path)?;

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

/// Runs `leakshot scan` over the corpus images and returns its wall clock in seconds.
fn scan(leakshot: &Path, models: &Path, args: &Args, records: &Path) -> Result<f64> {
    let images = args.corpus.join("images");
    eprintln!("scanning {}", images.display());
    let start = Instant::now();
    ScanRun {
        models,
        inputs: vec![images],
        records,
        cache: None,
        jobs: args.jobs,
        quiet: false,
    }
    .run(leakshot)?;
    Ok(start.elapsed().as_secs_f64())
}
