//! Look-alike stress test: enrolls each system of a labelled corpus *alone* and scans every
//! corpus image against it, so each system meets every other one as a stranger: the same UI
//! kit under another organisation, other admin UIs, public pages, photos. Reports, per
//! system, its own images at `leak` and `review`, and the other images it flags; any other
//! image at `leak` is a false alarm and is listed. One fingerprint cache serves all the
//! scans, so each image is OCRed once. A measurement, not a gate: it exits 0 whenever it
//! produced a report.
//!
//! `cargo bench --bench lookalikes -- CORPUS_DIR [--systems DIR]... [--cache FILE]`
//! (default systems: `templates/` and, if present, `extra-templates/` of the corpus).

mod common;

use anyhow::{bail, Context, Result};
use clap::Parser;
use common::{
    copy_calibration, enroll_system, find_leakshot, read_labels, read_records, system_dirs,
    system_name, ScanRun, TempDir,
};
use leakshot::evaluate::SoloRow;
use std::fs;
use std::path::{Path, PathBuf};

/// Enroll each system alone and count the other images it flags.
#[derive(Debug, Parser)]
#[command(name = "lookalikes")]
struct Args {
    /// Corpus directory with `images/` and `labels.jsonl`.
    corpus: PathBuf,
    /// Directories of `<system>/*.png` to enroll one at a time (repeatable).
    #[arg(long)]
    systems: Vec<PathBuf>,
    /// Fingerprint cache shared by the scans (default: a temporary file, removed after).
    #[arg(long)]
    cache: Option<PathBuf>,
    /// Passed to `leakshot scan --jobs`.
    #[arg(long)]
    jobs: Option<usize>,
    /// Passed by `cargo bench` to every bench target; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let labels = read_labels(&args.corpus)?;
    let roots = if args.systems.is_empty() {
        ["templates", "extra-templates"]
            .iter()
            .map(|d| args.corpus.join(d))
            .filter(|d| d.is_dir())
            .collect()
    } else {
        args.systems.clone()
    };
    let mut systems = Vec::new();
    for root in &roots {
        systems.extend(system_dirs(root)?);
    }
    if systems.is_empty() {
        bail!("no system directories found");
    }

    let temp = TempDir::new("lookalikes")?;
    let cache = args
        .cache
        .clone()
        .unwrap_or_else(|| temp.0.join("cache.db"));
    let leakshot = find_leakshot();
    let mut rows = Vec::new();
    for dir in &systems {
        let name = system_name(dir)?;
        let models = temp.0.join("models").join(name);
        fs::create_dir_all(&models).with_context(|| format!("creating {}", models.display()))?;
        enroll_system(&leakshot, &models, dir)?;
        copy_calibration(&models)?;
        let records_path = temp.0.join(format!("{name}.jsonl"));
        ScanRun {
            models: &models,
            inputs: vec![args.corpus.join("images")],
            records: &records_path,
            cache: Some(&cache),
            jobs: args.jobs,
            quiet: true,
        }
        .run(&leakshot)?;
        rows.push(SoloRow::build(name, &labels, &read_records(&records_path)?));
    }
    print_report(&args.corpus, &rows);
    Ok(())
}

fn print_report(corpus: &Path, rows: &[SoloRow]) {
    println!("== leakshot look-alikes: {} ==", corpus.display());
    println!("each system enrolled alone, every corpus image scanned against it");
    println!(
        "{:<28} {:>5} {:>6} {:>7}   {:>6} {:>6} {:>7}",
        "system", "own", "leak", "review", "others", "leak", "review"
    );
    let (mut others, mut leaks, mut reviews) = (0, 0, 0);
    for r in rows {
        println!(
            "{:<28} {:>5} {:>6} {:>7}   {:>6} {:>6} {:>7}",
            r.system, r.own, r.own_leak, r.own_review, r.others, r.others_leak, r.others_review
        );
        others += r.others;
        leaks += r.others_leak;
        reviews += r.others_review;
    }
    println!("other images flagged, all systems: leak {leaks}/{others}, review {reviews}/{others}");
    for r in rows.iter().filter(|r| !r.false_leaks.is_empty()) {
        println!("false leaks for {}: {}", r.system, r.false_leaks.join(" "));
    }
}
