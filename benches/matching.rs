//! Matching cost with many enrolled systems: per-image time of `Scanner::judge` (index
//! lookup, alignment, scoring, evidence) with a corpus's own templates, and with them plus
//! synthetic templates up to `--templates N` (default 500). OCR runs once per image, before
//! timing, so the figures are matching alone.
//!
//! `cargo bench --bench matching -- CORPUS [--templates N] [--images K]`
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
    templates: usize,
    images: usize,
}

fn parse_args() -> Result<Args> {
    let mut corpus = None;
    let mut templates = 500;
    let mut images = 40;
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--templates" => templates = it.next().context("--templates N")?.parse()?,
            "--images" => images = it.next().context("--images K")?.parse()?,
            "--bench" => {}
            s if s.starts_with("--") => bail!("unknown option {s}"),
            s => corpus = Some(PathBuf::from(s)),
        }
    }
    Ok(Args {
        corpus: corpus.context(
            "usage: cargo bench --bench matching -- CORPUS [--templates N] [--images K]",
        )?,
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

fn main() -> Result<()> {
    let args = parse_args()?;
    let mut engine = OcrEngine::new()?;
    let limits = DecodeLimits::default();
    let mut real = Vec::new();
    for system in sorted_files(&args.corpus.join("templates"), None)? {
        let name = system
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut refs = Vec::new();
        for png in sorted_files(&system, Some("png"))? {
            let fp = fingerprint_reference(&png, &mut engine, &limits)?;
            refs.push((png.to_string_lossy().into_owned(), fp));
        }
        real.push(build_template(&name, refs, &[]));
    }
    eprintln!("enrolled {} systems of the corpus", real.len());
    let calibration =
        Calibration::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("models/calibration.json"))?;
    let images: Vec<PathBuf> = sorted_files(&args.corpus.join("images"), None)?
        .into_iter()
        .take(args.images)
        .collect();
    let mut prints = Vec::new();
    for path in &images {
        let Ok(decoded) = decode_file(path, &limits) else {
            continue;
        };
        let prepared = prepare(&decoded.image, SCAN_GLYPH_HEIGHT);
        let words = engine.read_all(prepared.ocr_inputs())?;
        prints.push((path.clone(), fingerprint(&prepared, &words)));
    }
    eprintln!("fingerprinted {} images", prints.len());

    let mut rng = Lcg(0x1ea5_5107);
    let extra: Vec<Template> = (real.len()..args.templates.max(real.len()))
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
    let small = scanner_of(real.clone());
    let large = scanner_of(real.iter().cloned().chain(extra).collect());

    let mut times = [Vec::new(), Vec::new()];
    let mut changed = Vec::new();
    for (path, fp) in &prints {
        let mut verdicts = Vec::new();
        for (k, scanner) in [&small, &large].into_iter().enumerate() {
            let t = Instant::now();
            let record = scanner.judge(path.to_string_lossy().into_owned(), fp);
            times[k].push(t.elapsed().as_secs_f64() * 1e3);
            verdicts.push((record.verdict, record.template, record.confidence));
        }
        if verdicts[0] != verdicts[1] {
            changed.push(format!(
                "{}: {:?} -> {:?}",
                path.display(),
                verdicts[0],
                verdicts[1]
            ));
        }
    }
    let (m0, p0) = summary(&mut times[0]);
    let (m1, p1) = summary(&mut times[1]);
    println!("== leakshot matching: {} images ==", prints.len());
    println!("templates  mean ms/image  p95 ms/image");
    println!("{:>9}  {:>13.3}  {:>12.3}", real.len(), m0, p0);
    println!(
        "{:>9}  {:>13.3}  {:>12.3}",
        args.templates.max(real.len()),
        m1,
        p1
    );
    println!(
        "records changed by the extra templates: {} of {}",
        changed.len(),
        prints.len()
    );
    for c in &changed {
        println!("  {c}");
    }
    Ok(())
}
