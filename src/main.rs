//! The `leakshot` command: a thin shell over the library.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use clap::{ArgAction, Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

use leakshot::allowlist::Allowlist;
use leakshot::cache::Cache;
use leakshot::decode::DecodeLimits;
use leakshot::fingerprint::ImageFingerprint;
use leakshot::ingest::{self, Input};
use leakshot::ocr::OcrEngine;
use leakshot::report::Record;
use leakshot::resume::{self, Resume};
use leakshot::scan::{fingerprint_reference, Order};
use leakshot::watch::{self, WatchOptions};
use leakshot::{Models, ScanOptions, ScanSummary, Scanner};

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

/// Settings shared by `scan` and `watch`.
#[derive(Args)]
struct ScanArgs {
    /// Models folder: the enrolled templates (`*.template.json`) and `calibration.json`.
    #[arg(long)]
    models: PathBuf,
    /// Append records to FILE (one synced line per image) instead of stdout.
    #[arg(long, short)]
    output: Option<PathBuf>,
    /// Leak threshold on confidence (default: the calibrated one in models/).
    #[arg(long)]
    threshold: Option<f64>,
    /// Worker threads (default: number of cores).
    #[arg(long, short)]
    jobs: Option<usize>,
    /// Fingerprint cache (created if missing): images whose bytes it knows skip decoding,
    /// preprocessing and OCR, and are judged against the current models.
    #[arg(long, value_name = "FILE")]
    cache: Option<PathBuf>,
    /// Allowlist: lines of `<blake3 hex>` or `<blake3 hex> <template>` ('#' comments);
    /// matching images are cleared (verdict clean), naming the entry.
    #[arg(long, value_name = "FILE")]
    ignore: Option<PathBuf>,
    /// OCR every image: no pre-OCR gate (e.g. to scan a labelled corpus for calibration).
    #[arg(long)]
    no_gate: bool,
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
        #[command(flatten)]
        common: ScanArgs,
        /// Continue a scan into --output FILE after a crash or kill: skip the images FILE
        /// already has a record of (same path, size and modification time).
        #[arg(long, requires = "output")]
        resume: bool,
        /// Read paths from stdin (one a line) as they arrive; records are written as each
        /// image completes, not in input order.
        #[arg(long, conflicts_with = "paths")]
        stdin: bool,
        /// With --stdin: paths are NUL-separated (find -print0).
        #[arg(short = '0', long = "null", requires = "stdin")]
        null: bool,
        /// Image files and folders (searched recursively) to scan.
        #[arg(required_unless_present = "stdin")]
        paths: Vec<PathBuf>,
    },
    /// Watch a folder (recursively) and scan each image file once it is completely
    /// written, until SIGINT or SIGTERM; records are written as each image completes.
    Watch {
        #[command(flatten)]
        common: ScanArgs,
        /// Also scan the image files already in the folder at the start.
        #[arg(long, default_value_t = true, action = ArgAction::Set, value_name = "BOOL")]
        existing: bool,
        /// The folder to watch.
        dir: PathBuf,
    },
    /// Refit the score model from a scan's records and labels; writes models/calibration.json.
    Calibrate {
        /// Models folder whose calibration.json is rewritten.
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
            eprintln!("leakshot: error: {}", error_chain(&e));
            ExitCode::from(2)
        }
    }
}

/// `e` and its causes, each said once: the library's errors already end their message
/// with their cause ("cannot read models folder X: No such file..."), which `{:#}` would
/// print a second time.
fn error_chain(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if out.contains(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
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
            common,
            resume,
            stdin,
            null,
            paths,
        } => {
            let source = if stdin {
                Source::Stdin {
                    separator: if null { 0 } else { b'\n' },
                }
            } else {
                Source::Paths(paths)
            };
            scan(common, resume, source)
        }
        Command::Watch {
            common,
            existing,
            dir,
        } => scan(common, false, Source::Watch { dir, existing }),
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
    warn_about_references(&refs);
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

/// Tells the analyst when the references cannot show what the system's pages share (its
/// chrome): one page alone, or the same page enrolled twice.
fn warn_about_references(refs: &[(String, ImageFingerprint)]) {
    if refs.len() == 1 {
        eprintln!(
            "leakshot: warning: one page enrolled: with two or more different pages of the \
             system, what they share (its chrome) is learnt, and its other pages are recognised"
        );
    }
    for (i, j, share) in leakshot::enroll::same_page_pairs(refs) {
        eprintln!(
            "leakshot: warning: {} and {} show nearly the same words ({:.0}% of the smaller \
             one's): enroll different pages of the system; what every page shows is taken as \
             its chrome, so one page twice makes its data (names, numbers) organisation words",
            refs[i].0,
            refs[j].0,
            share * 100.0
        );
    }
}

/// What `scan` and `watch` scan.
enum Source {
    Paths(Vec<PathBuf>),
    Stdin { separator: u8 },
    Watch { dir: PathBuf, existing: bool },
}

fn scan(common: ScanArgs, resume: bool, source: Source) -> Result<ExitCode> {
    // A stream has no end to wait for: each record goes out as soon as it is ready.
    let streaming = !matches!(source, Source::Paths(_));
    let scanner = build_scanner(&common, streaming)?;
    let queue = scanner.options().jobs * 2;
    let (recorded, mut file) = prepare_output(common.output.as_ref(), resume)?;
    let (stop, signalled) = stop_on_signals()?;
    let watching = matches!(source, Source::Watch { .. });
    let roots: Vec<PathBuf>;
    let mut passed_over = None;
    let inputs: Box<dyn Iterator<Item = Input> + Send> = match source {
        Source::Paths(paths) => {
            roots = paths;
            let walk = ingest::walk(&roots);
            passed_over = Some(walk.passed_over());
            Box::new(walk)
        }
        Source::Stdin { separator } => Box::new(ingest::read_paths(
            std::io::stdin(),
            separator,
            queue,
            Arc::clone(&stop),
        )),
        Source::Watch { dir, existing } => {
            let feed = watch::watch(&dir, WatchOptions { existing, queue }, Arc::clone(&stop))
                .with_context(|| format!("watching {}", dir.display()))?;
            eprintln!(
                "leakshot: watching {} (SIGINT or SIGTERM stops)",
                dir.display()
            );
            Box::new(feed)
        }
    };
    let mut stdout = std::io::stdout().lock();
    let (mut skipped, mut skipped_leaks) = (0usize, 0usize);
    let inputs = inputs.filter(
        |input| match recorded.as_ref().and_then(|r| r.lookup(input)) {
            Some(leak) => {
                skipped += 1;
                skipped_leaks += usize::from(leak);
                false
            }
            None => true,
        },
    );
    let progress = Progress::new(std::io::stderr().is_terminal());
    let mut write_error: Option<std::io::Error> = None;
    let summary = scanner.scan(inputs, &stop, |record| {
        progress.record(&record);
        if write_error.is_some() {
            return;
        }
        let line = record_line(&record);
        // One write per record, synced: a crash loses at most the record being written.
        let written = match file.as_mut() {
            Some(f) => f.write_all(line.as_bytes()).and_then(|_| f.sync_data()),
            None => progress.suspend(|| {
                stdout
                    .write_all(line.as_bytes())
                    .and_then(|_| stdout.flush())
            }),
        };
        if let Err(e) = written {
            // Disk full or gone: stop analysing images whose records cannot be kept.
            write_error = Some(e);
            stop.store(true, Ordering::Relaxed);
        }
    })?;
    progress.finish();
    if let Some(e) = write_error {
        return Err(e).context("writing records");
    }
    let passed_over = passed_over.map_or(0, |p| p.count());
    eprintln!(
        "leakshot: {}",
        summary_line(
            &summary,
            recorded.is_some(),
            skipped,
            skipped_leaks,
            passed_over
        )
    );
    if summary.cache_failures > 0 {
        eprintln!(
            "leakshot: warning: {} cache reads or writes failed (those images were analysed)",
            summary.cache_failures
        );
    }
    let interrupted = signalled.load(Ordering::SeqCst) && !watching;
    if interrupted {
        eprintln!("leakshot: interrupted: not every input was scanned");
    }
    // A leak recorded before the kill still sets the exit code: its alert was never sent.
    Ok(if summary.leaks + skipped_leaks > 0 {
        ExitCode::from(1)
    } else if interrupted {
        ExitCode::from(130)
    } else {
        ExitCode::SUCCESS
    })
}

/// The scanner the scan options ask for: models, threshold, gate, workers, cache and
/// allowlist. `streaming`: records go out as they complete, not in input order.
fn build_scanner(common: &ScanArgs, streaming: bool) -> Result<Scanner> {
    if let Some(t) = common.threshold {
        if !(0.0..=1.0).contains(&t) {
            bail!("--threshold must be in [0, 1], got {t}");
        }
    }
    let models = Models::load(&common.models).context("loading models")?;
    let mut options = ScanOptions {
        leak_threshold: common.threshold,
        gate: !common.no_gate,
        ..ScanOptions::default()
    };
    if let Some(j) = common.jobs {
        options.jobs = j.max(1);
    }
    if streaming {
        options.order = Order::Completion;
    }
    let mut scanner = Scanner::new(models, options);
    if let Some(path) = &common.cache {
        let cache = Cache::open(path).context("opening the cache")?;
        if let Some(old) = &cache.invalidated {
            eprintln!(
                "leakshot: {}: made by another pipeline ({old}): emptied",
                path.display()
            );
        }
        scanner = scanner.with_cache(cache);
    }
    if let Some(path) = &common.ignore {
        let list = Allowlist::load(path).context("loading the allowlist")?;
        scanner = scanner.with_allowlist(list);
    }
    Ok(scanner)
}

/// The output file opened for appending, and with `resume` what it already records. A
/// killed run may have left half a line: it is cut first.
fn prepare_output(
    output: Option<&PathBuf>,
    resume: bool,
) -> Result<(Option<Resume>, Option<std::fs::File>)> {
    let Some(path) = output else {
        return Ok((None, None));
    };
    let (recorded, cut) = if resume {
        let r = Resume::load(path).context("resuming")?;
        if r.damaged_lines > 0 {
            eprintln!(
                "leakshot: warning: {}: {} damaged lines left in place",
                path.display(),
                r.damaged_lines
            );
        }
        let cut = r.truncated_bytes;
        (Some(r), cut)
    } else {
        let cut = resume::cut_torn_tail(path).context("preparing the output file")?;
        (None, cut)
    };
    if cut > 0 {
        eprintln!(
            "leakshot: {}: cut a half-written last record ({cut} bytes)",
            path.display()
        );
    }
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))?;
    Ok((recorded, Some(file)))
}

/// Flags set by SIGINT and SIGTERM: the first asks the scan to stop (the images in
/// flight finish and are recorded) and is remembered; a second one exits at once.
fn stop_on_signals() -> Result<(Arc<AtomicBool>, Arc<AtomicBool>)> {
    let stop = Arc::new(AtomicBool::new(false));
    let signalled = Arc::new(AtomicBool::new(false));
    let (s, g) = (Arc::clone(&stop), Arc::clone(&signalled));
    ctrlc::set_handler(move || {
        if g.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
        s.store(true, Ordering::SeqCst);
    })
    .context("installing the signal handler")?;
    Ok((stop, signalled))
}

/// One JSON line for `record`; a record that cannot be serialised still gets a line,
/// with its path and the error.
fn record_line(record: &Record) -> String {
    let mut line = match serde_json::to_string(record) {
        Ok(l) => l,
        Err(e) => format!(
            "{{\"path\":{},\"error\":{}}}",
            serde_json::Value::from(record.path.as_str()),
            serde_json::Value::from(format!("cannot serialise record: {e}"))
        ),
    };
    line.push('\n');
    line
}

fn summary_line(
    s: &ScanSummary,
    resumed: bool,
    skipped: usize,
    skipped_leaks: usize,
    passed_over: usize,
) -> String {
    let resumed = if resumed {
        format!(", {skipped} already recorded (skipped, {skipped_leaks} of them leaks)")
    } else {
        String::new()
    };
    let allowlisted = if s.allowlisted > 0 {
        format!(", {} cleared by the allowlist", s.allowlisted)
    } else {
        String::new()
    };
    let truncated = if s.truncated > 0 {
        format!(", {} truncated (analysed as far as they go)", s.truncated)
    } else {
        String::new()
    };
    // Files in the scanned folders that are no image by name or first bytes: said, not
    // passed over in silence.
    let passed_over = match passed_over {
        0 => String::new(),
        1 => ", 1 other file passed over (no image)".to_string(),
        n => format!(", {n} other files passed over (no images)"),
    };
    format!(
        "{} images, {} leaks, {} review, {} errors, {} cached, {} duplicates, {} gated{allowlisted}{truncated}{passed_over}, {:.2} images/s{resumed}",
        s.images,
        s.leaks,
        s.reviews,
        s.errors,
        s.cached,
        s.duplicates,
        s.gated,
        s.images as f64 / s.seconds.max(1e-9)
    )
}

/// A progress line on stderr when it is a terminal; nothing otherwise.
struct Progress {
    bar: Option<ProgressBar>,
    totals: std::cell::RefCell<ScanSummary>,
}

impl Progress {
    fn new(enabled: bool) -> Progress {
        let bar = enabled.then(|| {
            let bar = ProgressBar::new_spinner();
            if let Ok(style) =
                ProgressStyle::with_template("{spinner} {pos} images [{elapsed}] {wide_msg}")
            {
                bar.set_style(style);
            }
            bar.enable_steady_tick(std::time::Duration::from_millis(200));
            bar
        });
        Progress {
            bar,
            totals: Default::default(),
        }
    }

    fn record(&self, r: &Record) {
        let Some(bar) = &self.bar else { return };
        let mut t = self.totals.borrow_mut();
        t.count(r);
        bar.inc(1);
        bar.set_message(format!(
            "{:.2} images/s; {} leaks, {} review, {} errors, {} cached, {} duplicates, {} gated",
            t.images as f64 / bar.elapsed().as_secs_f64().max(1e-3),
            t.leaks,
            t.reviews,
            t.errors,
            t.cached,
            t.duplicates,
            t.gated
        ));
    }

    /// Runs `f` (a write to the terminal) with the bar out of the way.
    fn suspend<T>(&self, f: impl FnOnce() -> T) -> T {
        match &self.bar {
            Some(bar) => bar.suspend(f),
            None => f(),
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
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
    // A record the pre-OCR gate decided has no candidate scores: nothing to fit on.
    let gated = leakshot::evaluate::parse_records(&records_text)
        .map(|rs| rs.iter().filter(|r| r.gated()).count())
        .unwrap_or(0);
    if gated > 0 {
        eprintln!(
            "leakshot: warning: {gated} records were decided by the pre-OCR gate and add no samples; scan with --no-gate to fit on every image"
        );
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_chain_says_each_cause_once() {
        let missing = std::io::Error::new(std::io::ErrorKind::NotFound, "no such folder");
        let e = anyhow::Error::new(leakshot::error::ModelError::ReadDir {
            path: "models".into(),
            source: missing,
        })
        .context("loading models");
        assert_eq!(
            error_chain(&e),
            "loading models: cannot read models folder models: no such folder"
        );
        let plain = anyhow::anyhow!("top").context("outer");
        assert_eq!(error_chain(&plain), "outer: top");
    }
}
