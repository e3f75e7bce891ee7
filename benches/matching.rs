//! Matching cost with many enrolled systems: per-image time of `Scanner::judge` (index
//! lookup, alignment, scoring, evidence) with a corpus's own templates; with them plus real
//! extra systems (`--extra-templates DIR`, one folder of screenshots per system); and with
//! synthetic templates added up to `--templates N` (default 500). OCR runs once per image,
//! before matching is timed, and its time (decode, preprocessing, OCR, fingerprint) is
//! measured too, so that the whole per-image scan time can be compared between template sets.
//!
//! `cargo bench --bench matching -- CORPUS [--extra-templates DIR] [--templates N] [--images K]`
//!
//! Synthetic systems are drawn like real ones: two pages each, sharing a chrome of generic
//! admin-UI words and a few rare brand words, with page content of invented words. The
//! corpus's positives must keep their template (the bench checks it), so the index may
//! only skip templates that could not have won.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};

use leakshot::decode::{decode_file, DecodeLimits};
use leakshot::enroll::build_template;
use leakshot::fingerprint::layout::Palette;
use leakshot::fingerprint::{fingerprint, ImageFingerprint, Token};
use leakshot::ocr::OcrEngine;
use leakshot::preprocess::{prepare, SCAN_GLYPH_HEIGHT};
use leakshot::scan::fingerprint_reference;
use leakshot::template::{Calibration, Template};
use leakshot::{Models, ScanOptions, Scanner};

/// Words every admin UI shows, shared by all synthetic systems' chrome.
const GENERIC: [&str; 24] = [
    "dashboard",
    "search",
    "settings",
    "profile",
    "logout",
    "tables",
    "forms",
    "charts",
    "home",
    "reports",
    "users",
    "messages",
    "help",
    "admin",
    "menu",
    "pages",
    "notifications",
    "account",
    "calendar",
    "tasks",
    "files",
    "components",
    "utilities",
    "layouts",
];

/// A small deterministic generator (64-bit LCG): the same synthetic systems every run.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// An invented lower-case word of 4-9 letters.
    fn word(&mut self) -> String {
        let len = 4 + self.below(6);
        (0..len)
            .map(|_| (b'a' + self.below(26) as u8) as char)
            .collect()
    }
}

fn token(text: &str, x: f32, y: f32) -> Token {
    Token {
        text: text.to_string(),
        x,
        y,
        w: 8.0 * text.len() as f32,
        h: 14.0,
        faint: false,
    }
}

/// One synthetic system: chrome (generic words in a sidebar, brand words at the top) on
/// both pages, and different invented content on each.
fn synthetic_template(i: usize, rng: &mut Lcg) -> Template {
    let brand: Vec<String> = (0..2).map(|_| rng.word()).collect();
    let menu: Vec<&str> = (0..10)
        .map(|_| GENERIC[rng.below(GENERIC.len() as u64) as usize])
        .collect();
    let page = |rng: &mut Lcg| {
        let mut tokens: Vec<Token> = brand
            .iter()
            .enumerate()
            .map(|(k, b)| token(b, 20.0 + 90.0 * k as f32, 16.0))
            .collect();
        tokens.extend(
            menu.iter()
                .enumerate()
                .map(|(k, m)| token(m, 20.0, 80.0 + 32.0 * k as f32)),
        );
        for k in 0..120 {
            let w = rng.word();
            tokens.push(token(
                &w,
                260.0 + 110.0 * (k % 9) as f32,
                80.0 + 24.0 * (k / 9) as f32,
            ));
        }
        ImageFingerprint {
            width: 1366,
            height: 768,
            tokens,
            palette: Palette::default(),
            look: Default::default(),
            screen: None,
        }
    };
    let a = page(rng);
    let b = page(rng);
    build_template(
        &format!("synthetic-{i:04}"),
        vec![("a.png".into(), a), ("b.png".into(), b)],
        &brand,
    )
}

struct Args {
    corpus: PathBuf,
    extra_templates: Option<PathBuf>,
    templates: usize,
    images: usize,
}

const USAGE: &str = "usage: cargo bench --bench matching -- CORPUS [--extra-templates DIR] \
                     [--templates N] [--images K]";

fn parse_args() -> Result<Args> {
    let mut corpus = None;
    let mut extra_templates = None;
    let mut templates = 500;
    let mut images = 40;
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--extra-templates" => {
                extra_templates = Some(PathBuf::from(it.next().context("--extra-templates DIR")?))
            }
            "--templates" => templates = it.next().context("--templates N")?.parse()?,
            "--images" => images = it.next().context("--images K")?.parse()?,
            "--bench" => {}
            s if s.starts_with("--") => bail!("unknown option {s}\n{USAGE}"),
            s => corpus = Some(PathBuf::from(s)),
        }
    }
    Ok(Args {
        corpus: corpus.context(USAGE)?,
        extra_templates,
        templates,
        images,
    })
}

fn sorted_files(dir: &Path, ext: Option<&str>) -> Result<Vec<PathBuf>> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| ext.is_none_or(|x| p.extension().is_some_and(|e| e == x)))
        .collect();
    out.sort();
    Ok(out)
}

/// Enrolls every system folder under `dir` (its `.png` screenshots), as `leakshot enroll`
/// would.
fn enroll_systems(
    dir: &Path,
    engine: &mut OcrEngine,
    limits: &DecodeLimits,
) -> Result<Vec<Template>> {
    let mut templates = Vec::new();
    for system in sorted_files(dir, None)?.into_iter().filter(|p| p.is_dir()) {
        let name = system
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut refs = Vec::new();
        for png in sorted_files(&system, Some("png"))? {
            let fp = fingerprint_reference(&png, engine, limits)?;
            refs.push((png.to_string_lossy().into_owned(), fp));
        }
        templates.push(build_template(&name, refs, &[]));
    }
    Ok(templates)
}

/// Mean and 95th percentile of `ms`.
fn summary(ms: &mut [f64]) -> (f64, f64) {
    ms.sort_by(f64::total_cmp);
    let mean = ms.iter().sum::<f64>() / ms.len().max(1) as f64;
    let p95 = ms
        .get(((ms.len() as f64 * 0.95) as usize).min(ms.len().saturating_sub(1)))
        .copied()
        .unwrap_or(0.0);
    (mean, p95)
}

/// What one template set gives an image: its verdict, template and confidence.
type Outcome = (leakshot::score::Verdict, Option<String>, f64);

fn main() -> Result<()> {
    let args = parse_args()?;
    let mut engine = OcrEngine::new()?;
    let limits = DecodeLimits::default();
    let corpus_systems = enroll_systems(&args.corpus.join("templates"), &mut engine, &limits)?;
    eprintln!("enrolled {} systems of the corpus", corpus_systems.len());
    let extra_systems = match &args.extra_templates {
        Some(dir) => enroll_systems(dir, &mut engine, &limits)?,
        None => Vec::new(),
    };
    if args.extra_templates.is_some() {
        eprintln!("enrolled {} extra systems", extra_systems.len());
    }
    let calibration =
        Calibration::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("models/calibration.json"))?;
    let images: Vec<PathBuf> = sorted_files(&args.corpus.join("images"), None)?
        .into_iter()
        .take(args.images)
        .collect();
    // Decode, preprocessing, OCR and fingerprint: the part of a scan no template changes.
    let mut prints = Vec::new();
    let mut analysis_ms = Vec::new();
    for path in &images {
        let t = Instant::now();
        let Ok(decoded) = decode_file(path, &limits) else {
            continue;
        };
        let prepared = prepare(&decoded.image, SCAN_GLYPH_HEIGHT);
        let words = engine.read_all(prepared.ocr_inputs())?;
        prints.push((path.clone(), fingerprint(&prepared, &words)));
        analysis_ms.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let analysis_mean = analysis_ms.iter().sum::<f64>() / analysis_ms.len().max(1) as f64;
    eprintln!("fingerprinted {} images", prints.len());

    let real: Vec<Template> = corpus_systems
        .iter()
        .chain(&extra_systems)
        .cloned()
        .collect();
    let mut rng = Lcg(0x1ea5_5107);
    let synthetic: Vec<Template> = (real.len()..args.templates.max(real.len()))
        .map(|i| synthetic_template(i, &mut rng))
        .collect();
    let scanner_of = |templates: Vec<Template>| {
        Scanner::new(
            Models {
                templates,
                calibration: calibration.clone(),
                dir: PathBuf::new(),
            },
            ScanOptions::default(),
        )
    };
    // Each set holds the one before it.
    let mut sets = vec![(
        "corpus",
        corpus_systems.len(),
        scanner_of(corpus_systems.clone()),
    )];
    if !extra_systems.is_empty() {
        sets.push(("+ extra", real.len(), scanner_of(real.clone())));
    }
    if !synthetic.is_empty() {
        let all: Vec<Template> = real.into_iter().chain(synthetic).collect();
        sets.push(("+ synthetic", all.len(), scanner_of(all)));
    }

    let mut times = vec![Vec::new(); sets.len()];
    let mut outcomes: Vec<Vec<Outcome>> = vec![Vec::new(); sets.len()];
    for (path, fp) in &prints {
        for (k, (_, _, scanner)) in sets.iter().enumerate() {
            let t = Instant::now();
            let record = scanner.judge(path.to_string_lossy().into_owned(), fp);
            times[k].push(t.elapsed().as_secs_f64() * 1e3);
            outcomes[k].push((record.verdict, record.template, record.confidence));
        }
    }
    println!("== leakshot matching: {} images ==", prints.len());
    println!(
        "analysis (decode, preprocess, OCR, fingerprint; no template involved): {analysis_mean:.1} ms/image"
    );
    println!(
        "set          templates  matching mean ms  p95 ms  scan ms/image  scan time vs corpus"
    );
    let mut base_scan = None;
    for (k, (label, count, _)) in sets.iter().enumerate() {
        let (mean, p95) = summary(&mut times[k]);
        let scan = analysis_mean + mean;
        let base = *base_scan.get_or_insert(scan);
        println!(
            "{label:<11}  {count:>9}  {mean:>16.3}  {p95:>6.2}  {scan:>13.1}  {:>18.3}x",
            scan / base
        );
    }
    // Real systems change the records of their own images (those become leaks of theirs);
    // synthetic ones must change nothing.
    for k in 1..sets.len() {
        let changed: Vec<String> = prints
            .iter()
            .zip(outcomes[k - 1].iter().zip(&outcomes[k]))
            .filter(|(_, (a, b))| a != b)
            .map(|((path, _), (a, b))| format!("{}: {a:?} -> {b:?}", path.display()))
            .collect();
        println!(
            "records changed from '{}' to '{}': {} of {}",
            sets[k - 1].0,
            sets[k].0,
            changed.len(),
            prints.len()
        );
        if sets[k].0 == "+ synthetic" {
            for c in &changed {
                println!("  {c}");
            }
        }
    }
    Ok(())
}
