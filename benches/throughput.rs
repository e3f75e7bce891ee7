//! Throughput harness: how fast `leakshot scan` gets through a labelled corpus's images compared
//! with running the `tesseract` command line on the same images, where its time goes (the
//! per-stage `timings_ms` of the records), and how much memory the scan needs. A measurement,
//! not a gate: it exits 0 whenever it produced a report, whether or not the targets are met.
//!
//! `cargo bench --bench throughput -- CORPUS_DIR [--jobs 2] [--limit N] [--json FILE]`
//! (cargo builds the `leakshot` binary it drives, in the bench profile, first).
//!
//! The scan runs with `--cache` (a fresh cache: writing it is part of what is measured),
//! then once more over the same images, warm: the line "warm --cache rerun" is what a
//! repeat scan costs when only the models changed (no decode, preprocessing or OCR).
//!
//! Both sides run with `OMP_THREAD_LIMIT=1` and the same parallelism: `leakshot scan --jobs N`
//! against a pool of N `tesseract IMG stdout` processes. The tesseract side pays its start-up
//! (loading the English model) once per image, as a script calling the CLI would.

mod common;

use anyhow::{bail, Context, Result};
use clap::Parser;
use common::{copy_calibration, enroll_all, find_leakshot, TempDir};
use leakshot::evaluate;
use leakshot::ingest::{self, Input};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Read};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

/// Targets the report is checked against.
const MIN_SPEEDUP: f64 = 3.0;
const MAX_OVERHEAD: f64 = 0.10;
const MAX_PEAK_RSS_MIB: f64 = 500.0;

/// Pipeline stages in pipeline order, as named in the records' `timings_ms`.
const STAGES: &[&str] = &[
    "read",
    "hash",
    "cache",
    "decode",
    "gate",
    "preprocess",
    "ocr",
    "fingerprint",
    "match",
];

/// Measure leakshot's throughput against the tesseract CLI on a labelled corpus.
#[derive(Debug, Parser)]
#[command(name = "throughput")]
struct Args {
    /// Corpus directory with `templates/<system>/*.png` and `images/`.
    corpus: PathBuf,
    /// Parallelism of both sides: `leakshot scan --jobs`, and tesseract processes at a time.
    #[arg(long, default_value_t = 2)]
    jobs: usize,
    /// Only the first N images (in the scan's order: sorted by name).
    #[arg(long)]
    limit: Option<usize>,
    /// Skip the `tesseract --psm 11` run (leakshot's page-segmentation mode); halves the
    /// tesseract side's time.
    #[arg(long)]
    skip_psm11: bool,
    /// Also write the report as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Passed by `cargo bench` to every bench target; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

/// The whole report; also the `--json` output.
#[derive(Debug, Serialize)]
struct Report {
    corpus: String,
    images: usize,
    jobs: usize,
    leakshot: ScanRun,
    /// The same scan again with the cache the first one filled.
    warm_cache: WarmRun,
    /// Per-stage sums over the records, pipeline order, then what `total` holds beyond them
    /// and `total` itself; shares are of the summed `total`. The timings are wall clock, so on
    /// a busy machine they include waiting for a core.
    stages: Vec<StageShare>,
    /// 1 - ocr/total over the summed per-image timings: time spent outside Tesseract.
    overhead_beyond_tesseract: Option<f64>,
    /// Empty when the `tesseract` binary is not installed.
    tesseract_cli: Vec<CliRun>,
    /// leakshot images/s over the fastest tesseract CLI mode's.
    speedup: Option<f64>,
    /// Which tesseract CLI mode that was.
    speedup_baseline: Option<String>,
    /// The same in CPU time per image: steadier than wall time on a shared machine.
    cpu_speedup: Option<f64>,
    targets: Targets,
}

#[derive(Debug, Serialize)]
struct ScanRun {
    wall_seconds: f64,
    images_per_second: f64,
    /// User + system CPU time of the scan process.
    cpu_seconds: f64,
    /// The scan process's `ru_maxrss`.
    peak_rss_mib: f64,
    records: usize,
    errors: usize,
    /// Summed per-image `total` over (jobs x wall): how busy the workers were. The rest is
    /// start-up (models, Tesseract engines), waiting and the tail of the last images.
    worker_busy: Option<f64>,
}

#[derive(Debug, Serialize)]
struct WarmRun {
    wall_seconds: f64,
    images_per_second: f64,
    cpu_seconds: f64,
    /// Records that came from the cache.
    cached: usize,
    records: usize,
}

#[derive(Debug, Serialize)]
struct StageShare {
    stage: String,
    records: usize,
    sum_ms: f64,
    mean_ms: f64,
    share: Option<f64>,
}

#[derive(Debug, Serialize)]
struct CliRun {
    mode: String,
    wall_seconds: f64,
    images_per_second: f64,
    /// Mean wall time of one `tesseract` process.
    mean_process_ms: f64,
    /// User + system CPU time of all the processes.
    cpu_seconds: f64,
    /// Largest `ru_maxrss` of any one process.
    peak_rss_mib: f64,
    failures: usize,
    /// Bytes of text printed, summed: a sanity check that it read something.
    text_bytes: usize,
}

#[derive(Debug, Serialize)]
struct Targets {
    min_speedup: f64,
    max_overhead: f64,
    max_peak_rss_mib: f64,
    speedup_met: Option<bool>,
    overhead_met: Option<bool>,
    peak_rss_met: bool,
}

fn main() -> Result<()> {
    let args = Args::parse();
    if args.jobs == 0 {
        bail!("--jobs must be at least 1");
    }
    let images_dir = args.corpus.join("images");
    let images = list_images(&images_dir, args.limit)?;
    if images.is_empty() {
        bail!("no images under {}", images_dir.display());
    }
    warm_page_cache(&images);

    let temp = TempDir::new("throughput")?;
    let models = temp.0.join("models");
    let records_path = temp.0.join("records.jsonl");
    let cache = temp.0.join("fingerprints.redb");
    let leakshot = find_leakshot();
    eprintln!("leakshot binary: {}", leakshot.display());
    fs::create_dir_all(&models).with_context(|| format!("creating {}", models.display()))?;
    enroll_all(&leakshot, &models, &args.corpus.join("templates"))?;
    copy_calibration(&models)?;

    // Without --limit the scan gets the folder, as a user would run it; with it, the files.
    let targets = if args.limit.is_some() {
        images.clone()
    } else {
        vec![images_dir.clone()]
    };
    let (wall, usage) = run_scan(
        &leakshot,
        &models,
        args.jobs,
        &records_path,
        &cache,
        &targets,
    )?;
    let warm_path = temp.0.join("warm.jsonl");
    let (warm_wall, warm_usage) =
        run_scan(&leakshot, &models, args.jobs, &warm_path, &cache, &targets)?;
    let warm_text = fs::read_to_string(&warm_path)
        .with_context(|| format!("reading records {}", warm_path.display()))?;
    let warm_cache = WarmRun {
        wall_seconds: warm_wall,
        images_per_second: images.len() as f64 / warm_wall.max(1e-9),
        cpu_seconds: warm_usage.cpu_seconds,
        cached: warm_text
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|r| r["cached"] == true)
            .count(),
        records: warm_text.lines().count(),
    };
    let records_text = fs::read_to_string(&records_path)
        .with_context(|| format!("reading records {}", records_path.display()))?;
    let records = evaluate::parse_records(&records_text)
        .with_context(|| format!("parsing records {}", records_path.display()))?;
    if records.len() != images.len() {
        eprintln!(
            "warning: {} records for {} images; rates use the image count",
            records.len(),
            images.len()
        );
    }
    let (stages, sum_total) = stage_shares(&records);
    let ocr_sum = stages.iter().find(|s| s.stage == "ocr").map(|s| s.sum_ms);
    let overhead = ocr_sum
        .zip(sum_total)
        .filter(|&(_, t)| t > 0.0)
        .map(|(o, t)| 1.0 - o / t);
    let scan_run = ScanRun {
        wall_seconds: wall,
        images_per_second: images.len() as f64 / wall.max(1e-9),
        cpu_seconds: usage.cpu_seconds,
        peak_rss_mib: usage.rss_kib as f64 / 1024.0,
        records: records.len(),
        errors: records.iter().filter(|r| r.error.is_some()).count(),
        worker_busy: sum_total.map(|t| t / 1000.0 / (args.jobs as f64 * wall.max(1e-9))),
    };

    let mut cli_runs = Vec::new();
    if tesseract_available() {
        let mut modes: Vec<(&str, &[&str])> = vec![("default", &[])];
        if !args.skip_psm11 {
            modes.push(("--psm 11", &["--psm", "11"]));
        }
        for (mode, extra) in modes {
            cli_runs.push(run_tesseract_cli(mode, extra, &images, args.jobs)?);
        }
    } else {
        eprintln!(
            "tesseract CLI not found on PATH: install the `tesseract-ocr` package (setup.sh \
             does) to compare with it; skipping that part"
        );
    }
    let fastest = cli_runs
        .iter()
        .max_by(|a, b| a.images_per_second.total_cmp(&b.images_per_second));
    let speedup = fastest.map(|c| scan_run.images_per_second / c.images_per_second.max(1e-9));
    let cpu_speedup = fastest.map(|c| c.cpu_seconds / scan_run.cpu_seconds.max(1e-9));

    let report = Report {
        corpus: args.corpus.display().to_string(),
        images: images.len(),
        jobs: args.jobs,
        targets: Targets {
            min_speedup: MIN_SPEEDUP,
            max_overhead: MAX_OVERHEAD,
            max_peak_rss_mib: MAX_PEAK_RSS_MIB,
            speedup_met: speedup.map(|s| s >= MIN_SPEEDUP),
            overhead_met: overhead.map(|o| o <= MAX_OVERHEAD),
            peak_rss_met: scan_run.peak_rss_mib <= MAX_PEAK_RSS_MIB,
        },
        speedup_baseline: fastest.map(|c| format!("tesseract CLI {}", c.mode)),
        speedup,
        cpu_speedup,
        leakshot: scan_run,
        warm_cache,
        stages,
        overhead_beyond_tesseract: overhead,
        tesseract_cli: cli_runs,
    };
    print_report(&report);
    if let Some(path) = &args.json {
        let json = serde_json::to_string_pretty(&report).context("serialising the report")?;
        fs::write(path, json + "\n").with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

/// The image files the scan would take from `dir` (same walk, same order), first `limit` only.
fn list_images(dir: &Path, limit: Option<usize>) -> Result<Vec<PathBuf>> {
    if !dir.is_dir() {
        bail!("not a directory: {}", dir.display());
    }
    let mut files = Vec::new();
    for input in ingest::walk(&[dir.to_path_buf()]) {
        match input {
            Input::File(path) => files.push(path),
            Input::Unreadable { path, message } => {
                eprintln!("warning: skipping {}: {message}", path.display())
            }
        }
    }
    files.truncate(limit.unwrap_or(usize::MAX));
    Ok(files)
}

/// Reads every image once so the first side measured does not pay for the disk.
fn warm_page_cache(images: &[PathBuf]) {
    for path in images {
        // A file that cannot be read is each side's own business to report.
        let _ = fs::read(path);
    }
}

/// Runs `leakshot scan` into `records`; returns its wall clock in seconds and its usage.
/// Exit 1 only means a leak was found; 2 (or a signal) is a failure.
fn run_scan(
    leakshot: &Path,
    models: &Path,
    jobs: usize,
    records: &Path,
    cache: &Path,
    targets: &[PathBuf],
) -> Result<(f64, Usage)> {
    eprintln!("scanning {} path(s) with --jobs {jobs}", targets.len());
    let start = Instant::now();
    let child = Command::new(leakshot)
        .arg("scan")
        .arg("--models")
        .arg(models)
        .args(["--jobs", &jobs.to_string()])
        .arg("--output")
        .arg(records)
        .arg("--cache")
        .arg(cache)
        .args(targets)
        .env("OMP_THREAD_LIMIT", "1")
        // Records go to --output; the scan's summary line on stderr stays visible.
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .with_context(|| format!("running {} scan", leakshot.display()))?;
    let usage = wait_with_rusage(child)?;
    let seconds = start.elapsed().as_secs_f64();
    match usage.status.code() {
        Some(0 | 1) => Ok((seconds, usage)),
        _ => bail!("leakshot scan failed ({})", usage.status),
    }
}

/// How a reaped child ended and what it used.
struct Usage {
    status: ExitStatus,
    /// Peak resident set (`ru_maxrss`, KiB on Linux).
    rss_kib: u64,
    /// User + system CPU time; unlike wall time, hardly affected by other load on the machine.
    cpu_seconds: f64,
}

/// Waits for `child` with `wait4` to get its resource usage, which `std::process` does not
/// expose. Takes the child so it cannot be waited for twice.
fn wait_with_rusage(child: Child) -> Result<Usage> {
    let pid = libc::pid_t::try_from(child.id()).context("child pid out of range")?;
    let mut status: libc::c_int = 0;
    // SAFETY: rusage is plain integers, for which all-zero is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: `pid` is our own unreaped child; the pointers are to live locals.
        let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if reaped == pid {
            break;
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err).with_context(|| format!("waiting for process {pid}"));
        }
    }
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    Ok(Usage {
        status: ExitStatus::from_raw(status),
        rss_kib: u64::try_from(usage.ru_maxrss).unwrap_or(0),
        cpu_seconds: seconds(usage.ru_utime) + seconds(usage.ru_stime),
    })
}

/// Per-stage sums over the records that report timings, in pipeline order (unknown stages
/// after), with each stage's share of the summed `total`, then the unattributed rest and
/// `total` rows; also that summed `total`.
fn stage_shares(records: &[evaluate::Record]) -> (Vec<StageShare>, Option<f64>) {
    let mut sums: BTreeMap<String, (usize, f64)> = BTreeMap::new();
    for record in records {
        for (stage, ms) in record.timings() {
            let entry = sums.entry(stage.to_owned()).or_default();
            entry.0 += 1;
            entry.1 += ms;
        }
    }
    let total = sums.remove("total").map(|(_, ms)| ms).filter(|&t| t > 0.0);
    let mut names: Vec<String> = STAGES.iter().map(|s| (*s).to_owned()).collect();
    names.extend(
        sums.keys()
            .filter(|k| !STAGES.contains(&k.as_str()))
            .cloned(),
    );
    let mut shares: Vec<StageShare> = names
        .into_iter()
        .filter_map(|stage| {
            let (n, sum) = *sums.get(&stage)?;
            Some(StageShare {
                share: total.map(|t| sum / t),
                records: n,
                sum_ms: sum,
                mean_ms: sum / n.max(1) as f64,
                stage,
            })
        })
        .collect();
    // What `total` holds beyond the named stages (record building, bookkeeping).
    if let Some(t) = total {
        let named: f64 = shares.iter().map(|s| s.sum_ms).sum();
        let records_with_total = records
            .iter()
            .filter(|r| r.timings().iter().any(|(k, _)| *k == "total"))
            .count();
        shares.push(StageShare {
            stage: "(unattributed)".to_owned(),
            records: records_with_total,
            sum_ms: t - named,
            mean_ms: (t - named) / records_with_total.max(1) as f64,
            share: Some((t - named) / t),
        });
        shares.push(StageShare {
            stage: "total".to_owned(),
            records: records_with_total,
            sum_ms: t,
            mean_ms: t / records_with_total.max(1) as f64,
            share: Some(1.0),
        });
    }
    (shares, total)
}

/// Whether a `tesseract` binary runs at all.
fn tesseract_available() -> bool {
    Command::new("tesseract")
        .arg("--version")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

/// What one `tesseract IMG stdout` process did.
struct CliImage {
    ok: bool,
    seconds: f64,
    cpu_seconds: f64,
    rss_kib: u64,
    text_bytes: usize,
}

/// Runs `tesseract IMG stdout EXTRA...` over `images`, `jobs` processes at a time (each of
/// `jobs` threads takes the next image when its process ends), and times the whole.
fn run_tesseract_cli(
    mode: &str,
    extra: &[&str],
    images: &[PathBuf],
    jobs: usize,
) -> Result<CliRun> {
    eprintln!(
        "tesseract CLI ({mode}): {} images, {jobs} at a time",
        images.len()
    );
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<CliImage>> = Mutex::new(Vec::with_capacity(images.len()));
    let first_error: Mutex<Option<anyhow::Error>> = Mutex::new(None);
    let start = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(image) = images.get(i) else { break };
                match tesseract_one(image, extra) {
                    Ok(r) => results.lock().expect("results lock poisoned").push(r),
                    Err(e) => {
                        // Cannot start processes at all: stop every slot.
                        next.store(images.len(), Ordering::Relaxed);
                        first_error
                            .lock()
                            .expect("error lock poisoned")
                            .get_or_insert(e);
                        break;
                    }
                }
            });
        }
    });
    let wall = start.elapsed().as_secs_f64();
    if let Some(e) = first_error.into_inner().expect("error lock poisoned") {
        return Err(e.context(format!("tesseract CLI ({mode})")));
    }
    let results = results.into_inner().expect("results lock poisoned");
    let failures = results.iter().filter(|r| !r.ok).count();
    if failures > 0 {
        eprintln!("warning: tesseract ({mode}) failed on {failures} image(s)");
    }
    Ok(CliRun {
        mode: mode.to_owned(),
        wall_seconds: wall,
        images_per_second: images.len() as f64 / wall.max(1e-9),
        mean_process_ms: 1000.0 * results.iter().map(|r| r.seconds).sum::<f64>()
            / results.len().max(1) as f64,
        cpu_seconds: results.iter().map(|r| r.cpu_seconds).sum(),
        peak_rss_mib: results.iter().map(|r| r.rss_kib).max().unwrap_or(0) as f64 / 1024.0,
        failures,
        text_bytes: results.iter().map(|r| r.text_bytes).sum(),
    })
}

/// One `OMP_THREAD_LIMIT=1 tesseract IMG stdout EXTRA...`. A process that starts but fails is
/// a result (`ok: false`, its stderr printed); one that cannot start is an error.
fn tesseract_one(image: &Path, extra: &[&str]) -> Result<CliImage> {
    let start = Instant::now();
    let mut child = Command::new("tesseract")
        .arg(image)
        .arg("stdout")
        .args(extra)
        .env("OMP_THREAD_LIMIT", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("starting tesseract")?;
    let mut stdout = child.stdout.take().expect("stdout was piped");
    let mut stderr = child.stderr.take().expect("stderr was piped");
    // Both pipes are drained at once so neither can fill up and stall the process.
    let (text, errors) = std::thread::scope(|scope| {
        let err_reader = scope.spawn(move || {
            let mut buf = Vec::new();
            let _ = stderr.read_to_end(&mut buf);
            buf
        });
        let mut buf = Vec::new();
        let _ = stdout.read_to_end(&mut buf);
        (buf, err_reader.join().unwrap_or_default())
    });
    let usage = wait_with_rusage(child)?;
    let ok = usage.status.success();
    if !ok {
        eprintln!(
            "tesseract {} failed ({}): {}",
            image.display(),
            usage.status,
            String::from_utf8_lossy(&errors).trim()
        );
    }
    Ok(CliImage {
        ok,
        seconds: start.elapsed().as_secs_f64(),
        cpu_seconds: usage.cpu_seconds,
        rss_kib: usage.rss_kib,
        text_bytes: text.len(),
    })
}

/// `ok` / `MISS` against a target, `n/a` when it could not be measured.
fn verdict(met: Option<bool>) -> &'static str {
    match met {
        Some(true) => "ok",
        Some(false) => "MISS",
        None => "n/a",
    }
}

fn print_report(r: &Report) {
    let l = &r.leakshot;
    let n = r.images.max(1) as f64;
    println!(
        "== leakshot throughput: {} ({} images, {} at a time) ==",
        r.corpus, r.images, r.jobs
    );
    println!("{:<40} {:>14}  target", "", "value");
    println!(
        "{:<40} {:>14}  (wall {:.1} s, {:.0} ms CPU/image, {} records, {} errors)",
        "leakshot scan",
        format!("{:.2} img/s", l.images_per_second),
        l.wall_seconds,
        1000.0 * l.cpu_seconds / n,
        l.records,
        l.errors
    );
    let w = &r.warm_cache;
    println!(
        "{:<40} {:>14}  (wall {:.1} s, {:.0} ms CPU/image, {} of {} records cached)",
        "leakshot scan, warm --cache rerun",
        format!("{:.2} img/s", w.images_per_second),
        w.wall_seconds,
        1000.0 * w.cpu_seconds / n,
        w.cached,
        w.records
    );
    if r.tesseract_cli.is_empty() {
        println!("{:<40} {:>14}", "tesseract CLI", "not run");
    }
    for c in &r.tesseract_cli {
        println!(
            "{:<40} {:>14}  (wall {:.1} s, {:.0} ms CPU/image, {:.0} ms/process, {} failed)",
            format!("tesseract CLI {}", c.mode),
            format!("{:.2} img/s", c.images_per_second),
            c.wall_seconds,
            1000.0 * c.cpu_seconds / n,
            c.mean_process_ms,
            c.failures
        );
    }
    for c in &r.tesseract_cli {
        let ratio = l.images_per_second / c.images_per_second.max(1e-9);
        let baseline = r.speedup_baseline.as_deref() == Some(&format!("tesseract CLI {}", c.mode));
        let target = if baseline {
            format!(">= {MIN_SPEEDUP}x  {}", verdict(r.targets.speedup_met))
        } else {
            String::new()
        };
        println!(
            "{:<40} {:>14}  {target}",
            format!("speed-up vs tesseract CLI {}", c.mode),
            format!("{ratio:.2}x")
        );
    }
    if let (Some(cpu), Some(baseline)) = (r.cpu_speedup, &r.speedup_baseline) {
        println!(
            "{:<40} {:>14}  (CPU time per image, vs {baseline})",
            "speed-up in CPU time",
            format!("{cpu:.2}x")
        );
    }
    println!(
        "{:<40} {:>14}  <= {:.0}%  {}",
        "pipeline overhead beyond Tesseract",
        r.overhead_beyond_tesseract
            .map_or("n/a".to_owned(), |o| format!("{:.1}%", 100.0 * o)),
        100.0 * MAX_OVERHEAD,
        verdict(r.targets.overhead_met)
    );
    println!(
        "{:<40} {:>14}  <= {MAX_PEAK_RSS_MIB:.0} MiB  {}",
        "peak RSS, leakshot scan",
        format!("{:.0} MiB", l.peak_rss_mib),
        verdict(Some(r.targets.peak_rss_met))
    );
    for c in &r.tesseract_cli {
        println!(
            "{:<40} {:>14}",
            format!("peak RSS, one tesseract CLI {}", c.mode),
            format!("{:.0} MiB", c.peak_rss_mib)
        );
    }
    if let Some(busy) = l.worker_busy {
        println!(
            "{:<40} {:>14}  (summed per-image total / (jobs x wall))",
            "leakshot workers busy",
            format!("{:.0}%", 100.0 * busy)
        );
    }
    println!();
    println!(
        "{:<16} {:>8} {:>10} {:>10} {:>7}",
        "stage", "records", "sum s", "mean ms", "share"
    );
    for s in &r.stages {
        println!(
            "{:<16} {:>8} {:>10.2} {:>10.1} {:>7}",
            s.stage,
            s.records,
            s.sum_ms / 1000.0,
            s.mean_ms,
            s.share
                .map_or("n/a".to_owned(), |x| format!("{:.1}%", 100.0 * x))
        );
    }
}
