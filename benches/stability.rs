//! Verdict stability under a re-post: every leak and look-alike of a labelled corpus is
//! posted once more (shrunk, by default to 93%, and recompressed as JPEG, by default at
//! quality 88: what a repost or a screenshot of a post does), and the copies are scanned
//! against the corpus's templates beside the originals. OCR of small print is near its
//! limit, so a small change of pixels can change what is read; a verdict that rests on
//! one chance reading flips. Prints, per group, how the verdicts moved, and every image
//! whose verdict changed with the reasons before and after. A measurement, not a gate: it
//! exits 0 whenever it produced a report.
//!
//! `cargo bench --bench stability -- CORPUS_DIR [--extra-templates DIR] [--scale F]
//! [--quality Q] [--jobs N]`

mod common;

use anyhow::{bail, Context, Result};
use clap::Parser;
use common::{
    copy_calibration, enroll_all, find_leakshot, mark_extra_systems, read_labels, read_records,
    ScanRun, TempDir,
};
use image::codecs::jpeg::JpegEncoder;
use image::imageops::FilterType;
use leakshot::evaluate::{Label, Record};
use leakshot::score::Verdict;
use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

/// Post every leak and look-alike once more and count the verdicts that change.
#[derive(Debug, Parser)]
#[command(name = "stability")]
struct Args {
    /// Corpus directory with `templates/<system>/*.png`, `images/` and `labels.jsonl`.
    corpus: PathBuf,
    /// Also enroll every `<system>/` in this directory; their images then count as leaks.
    #[arg(long)]
    extra_templates: Option<PathBuf>,
    /// Size of the repost relative to the original.
    #[arg(long, default_value_t = 0.93)]
    scale: f32,
    /// JPEG quality of the repost.
    #[arg(long, default_value_t = 88)]
    quality: u8,
    /// Passed to `leakshot scan --jobs`.
    #[arg(long)]
    jobs: Option<usize>,
    /// Passed by `cargo bench` to every bench target; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

fn main() -> Result<()> {
    let args = Args::parse();
    if !(0.1..=2.0).contains(&args.scale) || !(1..=100).contains(&args.quality) {
        bail!("--scale must be in [0.1, 2] and --quality in [1, 100]");
    }
    let mut labels = read_labels(&args.corpus)?;
    mark_extra_systems(&mut labels, args.extra_templates.as_deref())?;
    let chosen: Vec<&Label> = labels
        .iter()
        .filter(|l| l.leak || l.kind.as_deref() == Some("hard-negative"))
        .collect();

    let temp = TempDir::new("stability")?;
    let reposts = temp.0.join("reposted");
    fs::create_dir_all(&reposts).with_context(|| format!("creating {}", reposts.display()))?;
    let mut originals = Vec::new();
    for label in &chosen {
        let original = args.corpus.join(&label.file);
        repost(&original, &reposts.join(stem(&label.file)), &args)?;
        originals.push(original);
    }
    eprintln!(
        "{} images reposted at {} x, JPEG quality {}",
        chosen.len(),
        args.scale,
        args.quality
    );

    let leakshot = find_leakshot();
    let models = temp.0.join("models");
    fs::create_dir_all(&models).with_context(|| format!("creating {}", models.display()))?;
    enroll_all(&leakshot, &models, &args.corpus.join("templates"))?;
    if let Some(extra) = &args.extra_templates {
        enroll_all(&leakshot, &models, extra)?;
    }
    copy_calibration(&models)?;
    let before_path = temp.0.join("originals.jsonl");
    let after_path = temp.0.join("reposted.jsonl");
    for (inputs, records) in [(originals, &before_path), (vec![reposts], &after_path)] {
        ScanRun {
            models: &models,
            inputs,
            records,
            cache: None,
            jobs: args.jobs,
            quiet: false,
        }
        .run(&leakshot)?;
    }
    let before = by_stem(read_records(&before_path)?);
    let after = by_stem(read_records(&after_path)?);
    report(&args, &chosen, &before, &after);
    Ok(())
}

/// Writes `original` shrunk by `args.scale` as a JPEG of `args.quality` to `target`.
fn repost(original: &Path, target: &Path, args: &Args) -> Result<()> {
    let image =
        image::open(original).with_context(|| format!("decoding {}", original.display()))?;
    let (w, h) = (
        ((image.width() as f32 * args.scale).round() as u32).max(1),
        ((image.height() as f32 * args.scale).round() as u32).max(1),
    );
    let shrunk = image.resize_exact(w, h, FilterType::Lanczos3).to_rgb8();
    let file =
        fs::File::create(target).with_context(|| format!("creating {}", target.display()))?;
    shrunk
        .write_with_encoder(JpegEncoder::new_with_quality(
            BufWriter::new(file),
            args.quality,
        ))
        .with_context(|| format!("encoding {}", target.display()))
}

/// A corpus file's name without its folder and extension; reposts keep it (as `.jpg`).
fn stem(file: &str) -> String {
    let name = Path::new(file)
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or(file);
    format!("{name}.jpg")
}

fn by_stem(records: Vec<Record>) -> HashMap<String, Record> {
    records.into_iter().map(|r| (stem(&r.path), r)).collect()
}

fn verdict_name(v: Verdict) -> &'static str {
    match v {
        Verdict::Leak => "leak",
        Verdict::Review => "review",
        Verdict::Clean => "clean",
    }
}

fn reason(record: &Record) -> String {
    let text = record
        .evidence
        .as_ref()
        .and_then(|e| e.get("reason"))
        .and_then(|r| r.as_str())
        .or(record.error.as_deref())
        .unwrap_or("-");
    text.chars().take(110).collect()
}

fn report(
    args: &Args,
    chosen: &[&Label],
    before: &HashMap<String, Record>,
    after: &HashMap<String, Record>,
) {
    println!("== leakshot stability: {} ==", args.corpus.display());
    println!(
        "each leak and look-alike posted again: {} x size, JPEG quality {}",
        args.scale, args.quality
    );
    let mut moves: BTreeMap<(&str, &str, &str), usize> = BTreeMap::new();
    let mut changed = Vec::new();
    let mut missing = 0;
    for label in chosen {
        let key = stem(&label.file);
        let (Some(b), Some(a)) = (before.get(&key), after.get(&key)) else {
            missing += 1;
            continue;
        };
        let group = if label.leak { "leak" } else { "look-alike" };
        let (vb, va) = (verdict_name(b.verdict()), verdict_name(a.verdict()));
        *moves.entry((group, vb, va)).or_default() += 1;
        if vb != va {
            changed.push((label, b, a));
        }
    }
    for group in ["leak", "look-alike"] {
        let total: usize = moves
            .iter()
            .filter(|((g, _, _), _)| *g == group)
            .map(|(_, n)| n)
            .sum();
        let kept: usize = moves
            .iter()
            .filter(|((g, b, a), _)| *g == group && b == a)
            .map(|(_, n)| n)
            .sum();
        println!("{group}s: {kept} of {total} verdicts kept");
        for ((_, b, a), n) in moves.iter().filter(|((g, _, _), _)| *g == group) {
            println!("  {b:>6} -> {a:<6} {n:>5}");
        }
    }
    if missing > 0 {
        println!("images without both records: {missing}");
    }
    println!("changed verdicts: {}", changed.len());
    for (label, b, a) in changed {
        println!(
            "  {:<22} {:<15} {:<34} {} {:.3} -> {} {:.3}",
            label.file,
            label.kind.as_deref().unwrap_or("-"),
            label.transforms.join(","),
            verdict_name(b.verdict()),
            b.confidence.unwrap_or(0.0),
            verdict_name(a.verdict()),
            a.confidence.unwrap_or(0.0)
        );
        println!("      before: {}", reason(b));
        println!("      after:  {}", reason(a));
    }
}
