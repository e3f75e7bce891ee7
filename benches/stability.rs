//! Verdict stability under a re-post: every leak and look-alike of a labelled corpus is
//! posted once more (shrunk, by default to 93%, and recompressed as JPEG, by default at
//! quality 88: what a repost or a screenshot of a post does), and the copies are scanned
//! against the corpus's templates beside the originals. OCR of small print is near its
//! limit, so a small change of pixels can change what is read; a verdict that rests on
//! one chance reading flips. Prints, per group, how the verdicts moved, and every image
//! whose verdict changed with the reasons before and after. A measurement, not a gate: it
//! exits 0 whenever it produced a report.
//!
//! `--transform` gives the copies another change than a repost, one the corpus does not
//! carry: the system in a dark theme, grey levels, a high-density screen's double size, a
//! browser's bars above the page, a tilt, a quarter turn, blur, or the page inside a
//! whole-desktop capture.
//!
//! `cargo bench --bench stability -- CORPUS_DIR [--extra-templates DIR] [--transform T]
//! [--scale F] [--quality Q] [--jobs N]`

mod common;

use ab_glyph::{FontRef, PxScale};
use anyhow::{bail, Context, Result};
use clap::Parser;
use common::{
    copy_calibration, enroll_all, find_leakshot, mark_extra_systems, read_labels, read_records,
    ScanRun, TempDir,
};
use image::codecs::jpeg::JpegEncoder;
use image::imageops::FilterType;
use image::{DynamicImage, Rgb, RgbImage};
use imageproc::drawing::{draw_filled_rect_mut, draw_text_mut};
use imageproc::geometric_transformations::{rotate_about_center, Interpolation};
use imageproc::rect::Rect;
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
    /// What each copy goes through.
    #[arg(long, value_enum, default_value_t = Transform::Repost)]
    transform: Transform,
    /// Size of the repost relative to the original (`--transform repost`).
    #[arg(long, default_value_t = 0.93)]
    scale: f32,
    /// JPEG quality of the repost (`--transform repost`).
    #[arg(long, default_value_t = 88)]
    quality: u8,
    /// Font for the browser's tab title and address (`--transform browser`); without it
    /// the bars are drawn empty.
    #[arg(
        long,
        default_value = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
    )]
    font: PathBuf,
    /// Passed to `leakshot scan --jobs`.
    #[arg(long)]
    jobs: Option<usize>,
    /// Passed by `cargo bench` to every bench target; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

/// What the copy of each image goes through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Transform {
    /// Shrunk to `--scale` and saved as a JPEG of `--quality`: a repost.
    Repost,
    /// Its light regions dark and their letters light, its dark ones kept: the system
    /// in a dark theme.
    DarkTheme,
    /// Grey levels only.
    Grayscale,
    /// Twice the size: a high-density screen's screenshot.
    Retina,
    /// A browser's tab strip and address bar (86 px, a tab title and an address in them)
    /// above the page.
    Browser,
    /// Turned 4 degrees inside a dark margin: a hand-held camera.
    Tilt,
    /// Turned a quarter: a photo whose orientation tag was lost.
    Quarter,
    /// Gaussian blur of 1.2 px.
    Blur,
    /// At 70% inside a 1920 x 1080 desktop: a capture of the whole screen.
    Desktop,
}

impl Transform {
    fn describe(self, args: &Args) -> String {
        match self {
            Transform::Repost => format!(
                "posted again: {} x size, JPEG quality {}",
                args.scale, args.quality
            ),
            other => format!("{other:?}"),
        }
    }

    /// The copy's file extension: JPEG for a repost, else lossless.
    fn extension(self) -> &'static str {
        if self == Transform::Repost {
            "jpg"
        } else {
            "png"
        }
    }
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

    let font_bytes = if args.transform == Transform::Browser {
        fs::read(&args.font)
            .map_err(|e| eprintln!("no font for the browser bars' text ({e}): drawn empty"))
            .ok()
    } else {
        None
    };
    let font = font_bytes
        .as_deref()
        .and_then(|b| FontRef::try_from_slice(b).ok());
    let temp = TempDir::new("stability")?;
    let reposts = temp.0.join("reposted");
    fs::create_dir_all(&reposts).with_context(|| format!("creating {}", reposts.display()))?;
    let mut originals = Vec::new();
    for label in &chosen {
        let original = args.corpus.join(&label.file);
        let copy = format!("{}.{}", stem(&label.file), args.transform.extension());
        make_copy(&original, &reposts.join(copy), &args, font.as_ref())?;
        originals.push(original);
    }
    eprintln!(
        "{} images copied, {}",
        chosen.len(),
        args.transform.describe(&args)
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

/// Writes `original`, put through `args.transform`, to `target`.
fn make_copy(
    original: &Path,
    target: &Path,
    args: &Args,
    font: Option<&FontRef<'_>>,
) -> Result<()> {
    let image =
        image::open(original).with_context(|| format!("decoding {}", original.display()))?;
    let scaled = |image: &DynamicImage, f: f32| {
        let w = ((image.width() as f32 * f).round() as u32).max(1);
        let h = ((image.height() as f32 * f).round() as u32).max(1);
        image.resize_exact(w, h, FilterType::Lanczos3)
    };
    let copy = match args.transform {
        Transform::Repost => {
            let shrunk = scaled(&image, args.scale).to_rgb8();
            let file = fs::File::create(target)
                .with_context(|| format!("creating {}", target.display()))?;
            return shrunk
                .write_with_encoder(JpegEncoder::new_with_quality(
                    BufWriter::new(file),
                    args.quality,
                ))
                .with_context(|| format!("encoding {}", target.display()));
        }
        Transform::DarkTheme => DynamicImage::ImageRgb8(dark_theme(&image)),
        Transform::Grayscale => DynamicImage::ImageLuma8(image.to_luma8()),
        Transform::Retina => scaled(&image, 2.0),
        Transform::Browser => DynamicImage::ImageRgb8(in_browser(&image.to_rgb8(), font)),
        Transform::Tilt => {
            let page = image.to_rgb8();
            let (w, h) = page.dimensions();
            let margin = Rgb([40, 40, 40]);
            let mut canvas = RgbImage::from_pixel(w + w / 10, h + h / 10, margin);
            image::imageops::replace(&mut canvas, &page, i64::from(w / 20), i64::from(h / 20));
            let angle = 4f32.to_radians();
            DynamicImage::ImageRgb8(rotate_about_center(
                &canvas,
                angle,
                Interpolation::Bicubic,
                margin,
            ))
        }
        Transform::Quarter => image.rotate90(),
        Transform::Blur => image.blur(1.2),
        Transform::Desktop => {
            let fit = (0.7f32)
                .min(1900.0 / image.width().max(1) as f32)
                .min(1060.0 / image.height().max(1) as f32);
            let page = scaled(&image, fit).to_rgb8();
            let mut desktop = RgbImage::from_pixel(1920, 1080, Rgb([58, 90, 120]));
            let x = (1920 - page.width()).min(200);
            let y = (1080 - page.height()).min(120);
            image::imageops::replace(&mut desktop, &page, i64::from(x), i64::from(y));
            DynamicImage::ImageRgb8(desktop)
        }
    };
    copy.save(target)
        .with_context(|| format!("encoding {}", target.display()))
}

/// `image` as its dark theme would show it: where the surroundings are light (the page,
/// cards, a light banner), colours inverted and lifted off black (letters light on a
/// dark grey); dark regions (a sidebar) kept.
fn dark_theme(image: &DynamicImage) -> RgbImage {
    let local = image::imageops::blur(&image.to_luma8(), 8.0);
    let mut dark = image.to_rgb8();
    for (x, y, p) in dark.enumerate_pixels_mut() {
        if local.get_pixel(x, y)[0] > 128 {
            p.0 = p.0.map(|c| 30 + (255 - c) / 8 * 7);
        }
    }
    dark
}

/// `page` below a browser's light tab strip (one white tab with a title) and address bar.
fn in_browser(page: &RgbImage, font: Option<&FontRef<'_>>) -> RgbImage {
    let (w, h) = page.dimensions();
    let mut framed = RgbImage::from_pixel(w, h + 86, Rgb([222, 225, 230]));
    let white = Rgb([255, 255, 255]);
    let tab = Rect::at(10, 6).of_size(250.min(w.saturating_sub(10)).max(1), 34);
    draw_filled_rect_mut(&mut framed, tab, white);
    let address = Rect::at(80, 48).of_size(w.saturating_sub(200).max(1), 30);
    draw_filled_rect_mut(&mut framed, address, white);
    if let Some(font) = font {
        let ink = Rgb([60, 64, 67]);
        let scale = PxScale::from(15.0);
        draw_text_mut(&mut framed, ink, 22, 14, scale, font, "Dashboard");
        let url = "https://portal.internal/app/view?id=2041";
        draw_text_mut(&mut framed, ink, 95, 55, scale, font, url);
    }
    image::imageops::replace(&mut framed, page, 0, 86);
    framed
}

/// A corpus file's name without its folder and extension: the key that pairs an image
/// with its copy.
fn stem(file: &str) -> String {
    Path::new(file)
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or(file)
        .to_string()
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
        "each leak and look-alike copied, {}",
        args.transform.describe(args)
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
