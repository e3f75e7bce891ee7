//! Development aid: how well the keypoint layout signal (`leakshot::fingerprint::keypoints`)
//! tells leaks from look-alikes on a labelled corpus, with no OCR. Per image one line, then
//! ROC-AUC, recall at low false-positive rates, attribution, per-kind and per-transform
//! score distributions and costs.
//! `cargo run --release --example keypoint_eval -- CORPUS_DIR`

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use leakshot::decode::{decode_file, DecodeLimits};
use leakshot::fingerprint::keypoints::{
    extract, extract_reference, match_reference, working_scale, ExtractOptions, LayoutMatch,
    MatchOptions, ReferenceKeypoints,
};

/// Ways of turning one image-to-system match into a score; the first is the one the
/// per-image lines and breakdowns use.
const SCORES: &[(&str, ScoreFn)] = &[
    ("distinct", |s| s.m.distinct as f32),
    ("inliers", |s| s.m.inliers as f32),
    ("spread", |s| s.m.spread),
    ("inliers*sqrt(coverage)", |s| {
        s.m.inliers as f32 * s.m.coverage.sqrt()
    }),
    ("inlier_ratio", |s| s.m.inlier_ratio),
    ("coverage", |s| s.m.coverage),
    ("spread*ratio", |s| s.m.spread * s.m.inlier_ratio),
    ("org_inliers (KP_ORG=1)", |s| s.org as f32),
    ("distinct if org_inliers>=2", |s| {
        if s.org >= 2 {
            s.m.distinct as f32
        } else {
            0.0
        }
    }),
];

type ScoreFn = fn(&SysMatch) -> f32;

/// An image's best match to one system, with how many of its inliers fall on the words
/// that name the organisation on that reference.
struct SysMatch {
    m: LayoutMatch,
    org: usize,
}

struct System {
    name: String,
    references: Vec<ReferenceKeypoints>,
    /// Per reference: boxes (reference pixels, grown by half their height) of the words
    /// enrollment takes as naming the organisation. Empty without KP_ORG=1.
    org_boxes: Vec<Vec<[f32; 4]>>,
}

/// One evaluated image.
struct Row {
    file: String,
    kind: String,
    leak: bool,
    system: String,
    transforms: Vec<String>,
    enrolled_page: bool,
    /// Per system (in `systems` order): best match over its references, if any.
    matches: Vec<Option<SysMatch>>,
}

impl Row {
    /// (best system index, its score, runner-up score) under score `s`.
    fn best(&self, s: usize) -> (Option<usize>, f32, f32) {
        let f = SCORES[s].1;
        let mut scored: Vec<(usize, f32)> = self
            .matches
            .iter()
            .enumerate()
            .map(|(i, m)| (i, m.as_ref().map_or(0.0, f)))
            .collect();
        scored.sort_by(|a, b| b.1.total_cmp(&a.1));
        let best = scored.first().copied();
        let second = scored.get(1).map_or(0.0, |x| x.1);
        match best {
            Some((i, v)) if v > 0.0 => (Some(i), v, second),
            Some((_, v)) => (None, v, second),
            None => (None, 0.0, 0.0),
        }
    }
}

fn main() -> anyhow::Result<()> {
    let corpus = PathBuf::from(
        std::env::args()
            .nth(1)
            .context("usage: keypoint_eval CORPUS_DIR")?,
    );
    let extract_opts = ExtractOptions::default();
    let match_opts = MatchOptions::default();
    let limits = DecodeLimits::default();
    // KP_RECTIFY=1: also match the rectified screen of images that look like photos of one.
    let rectify_photos = std::env::var("KP_RECTIFY").is_ok_and(|v| v == "1");
    let mut rectified = 0usize;

    let t = Instant::now();
    let systems = load_systems(&corpus.join("templates"), &extract_opts, &limits)?;
    let n_refs: usize = systems.iter().map(|s| s.references.len()).sum();
    let enroll_ms = t.elapsed().as_secs_f64() * 1e3 / n_refs.max(1) as f64;

    let labels = std::fs::read_to_string(corpus.join("labels.jsonl"))?;
    let mut rows = Vec::new();
    let (mut t_extract, mut t_match, mut t_glyph) =
        (Duration::ZERO, Duration::ZERO, Duration::ZERO);
    let mut n_points = 0usize;
    for line in labels.lines().filter(|l| !l.trim().is_empty()) {
        let label: serde_json::Value = serde_json::from_str(line)?;
        let file = label["file"].as_str().unwrap_or_default().to_string();
        let decoded = match decode_file(&corpus.join(&file), &limits) {
            Ok(d) => d,
            Err(e) => {
                eprintln!("{file}: {e}");
                continue;
            }
        };
        let gray = leakshot::preprocess::luma8(&decoded.image);
        let t = Instant::now();
        let scale = working_scale(&gray);
        t_glyph += t.elapsed();
        let mut views = match extract(&gray, scale, &extract_opts) {
            Ok(k) => vec![k],
            Err(e) => {
                eprintln!("{file}: {e}");
                continue;
            }
        };
        // A photographed screen, rectified as the scan's preprocessing does, as a second view.
        if rectify_photos {
            if let Some(screen) = leakshot::preprocess::screen::find_screen(&gray) {
                let flat = leakshot::preprocess::screen::rectify(&gray, &screen);
                match extract(&flat, working_scale(&flat), &extract_opts) {
                    Ok(k) => {
                        views.push(k);
                        rectified += 1;
                    }
                    Err(e) => eprintln!("{file} (rectified): {e}"),
                }
            }
        }
        t_extract += t.elapsed();
        n_points += views[0].points.len();
        let t = Instant::now();
        let matches = systems
            .iter()
            .map(|s| {
                views
                    .iter()
                    .flat_map(|keys| {
                        s.references.iter().enumerate().filter_map(|(i, r)| {
                            let m = match_reference(keys, r, &match_opts)?;
                            let boxes = s.org_boxes.get(i).map_or(&[][..], |b| &b[..]);
                            let org = m
                                .inlier_points
                                .iter()
                                .filter(|p| boxes.iter().any(|b| inside(p, b)))
                                .count();
                            Some(SysMatch { m, org })
                        })
                    })
                    .max_by_key(|s| (s.m.distinct, s.m.inliers))
            })
            .collect();
        t_match += t.elapsed();
        let text = |k: &str| label[k].as_str().unwrap_or("-").to_string();
        rows.push(Row {
            file,
            kind: text("kind"),
            leak: label["leak"].as_bool().unwrap_or(false),
            system: text("system"),
            transforms: label["transforms"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default(),
            enrolled_page: label["enrolled_page"].as_bool().unwrap_or(false),
            matches,
        });
    }

    for r in &rows {
        let (best, score, second) = r.best(0);
        let detail = best
            .and_then(|i| r.matches[i].as_ref())
            .map(|SysMatch { m, org }| {
                format!(
                    "org {} dist {} inl {} put {} ratio {:.2} cov {:.2} spread {:.2} s {:.2} lvl {}",
                    org,
                    m.distinct,
                    m.inliers,
                    m.putative,
                    m.inlier_ratio,
                    m.coverage,
                    m.spread,
                    m.transform.scale,
                    m.level
                )
            })
            .unwrap_or_default();
        println!(
            "{:<22} {:<15} {:<22} {:<36} best {:<22} {:>6.1} runner-up {:>6.1}  {}",
            r.file,
            r.kind,
            r.system,
            r.transforms.join(","),
            best.map_or("-", |i| systems[i].name.as_str()),
            score,
            second,
            detail
        );
    }

    let n = rows.len().max(1) as f64;
    println!(
        "\n== {} images, {} systems, {} references; rectified screens also matched: {} ({} found)",
        rows.len(),
        systems.len(),
        n_refs,
        rectify_photos,
        rectified
    );
    println!(
        "cost: enrolment {:.1} ms/reference ({} levels); image glyph estimate {:.1} ms, extraction incl. glyph {:.1} ms/image ({:.0} keypoints); matching {:.2} ms/image/template ({} references each)",
        enroll_ms,
        leakshot::fingerprint::keypoints::REFERENCE_LEVELS.len(),
        t_glyph.as_secs_f64() * 1e3 / n,
        t_extract.as_secs_f64() * 1e3 / n,
        n_points as f64 / n,
        t_match.as_secs_f64() * 1e3 / n / systems.len().max(1) as f64,
        n_refs / systems.len().max(1)
    );

    println!("\n== separation (image score = best system's score; positives vs all negatives)");
    println!(
        "{:<28} {:>6} {:>8} {:>8} {:>7} {:>11} {:>10} {:>12} {:>13}",
        "score",
        "AUC",
        "R@1%FPR",
        "R@5%FPR",
        "attrib",
        "AUC vs hard",
        "R@5% weak",
        "AUC no-hard",
        "R@1% no-hard"
    );
    for (s, (score_name, _)) in SCORES.iter().enumerate() {
        let pos: Vec<f32> = rows
            .iter()
            .filter(|r| r.leak)
            .map(|r| r.best(s).1)
            .collect();
        let neg: Vec<f32> = rows
            .iter()
            .filter(|r| !r.leak)
            .map(|r| r.best(s).1)
            .collect();
        let hard: Vec<f32> = rows
            .iter()
            .filter(|r| r.kind == "hard-negative")
            .map(|r| r.best(s).1)
            .collect();
        // Negatives other than the enrolled kits branded for someone else: what the layout
        // alone can tell apart.
        let other: Vec<f32> = rows
            .iter()
            .filter(|r| !r.leak && r.kind != "hard-negative")
            .map(|r| r.best(s).1)
            .collect();
        let weak: Vec<f32> = rows
            .iter()
            .filter(|r| r.leak && is_weak_ocr(r))
            .map(|r| r.best(s).1)
            .collect();
        let attributed = rows
            .iter()
            .filter(|r| r.leak)
            .filter(|r| r.best(s).0.is_some_and(|i| systems[i].name == r.system))
            .count();
        println!(
            "{:<28} {:>6.3} {:>8.2} {:>8.2} {:>7.2} {:>11.3} {:>10.2} {:>12.3} {:>13.2}",
            score_name,
            auc(&pos, &neg),
            recall_at_fpr(&pos, &neg, 0.01),
            recall_at_fpr(&pos, &neg, 0.05),
            attributed as f64 / pos.len().max(1) as f64,
            auc(&pos, &hard),
            recall_at_fpr(&weak, &neg, 0.05),
            auc(&pos, &other),
            recall_at_fpr(&pos, &other, 0.01),
        );
    }

    // Breakdowns under the primary score.
    let score = |r: &Row| r.best(0).1;
    println!(
        "\n== '{}' by kind (negatives: median / max; positives: median / min)",
        SCORES[0].0
    );
    let mut by_kind: BTreeMap<String, Vec<f32>> = BTreeMap::new();
    for r in &rows {
        by_kind.entry(r.kind.clone()).or_default().push(score(r));
    }
    for (kind, v) in &by_kind {
        println!("{}", distribution(kind, v, kind == "positive"));
    }
    println!("positives by page:");
    for enrolled in [true, false] {
        let v: Vec<f32> = rows
            .iter()
            .filter(|r| r.leak && r.enrolled_page == enrolled)
            .map(score)
            .collect();
        let neg: Vec<f32> = rows.iter().filter(|r| !r.leak).map(score).collect();
        println!(
            "{}  R@5%FPR {:.2}",
            distribution(
                if enrolled {
                    "enrolled page"
                } else {
                    "other page"
                },
                &v,
                true
            ),
            recall_at_fpr(&v, &neg, 0.05)
        );
    }

    println!("\n== '{}' by transform", SCORES[0].0);
    let mut transforms: Vec<&String> = rows.iter().flat_map(|r| &r.transforms).collect();
    transforms.sort();
    transforms.dedup();
    let neg_all: Vec<f32> = rows.iter().filter(|r| !r.leak).map(score).collect();
    for t in transforms {
        let has = |r: &&Row| r.transforms.contains(t);
        let pos: Vec<f32> = rows
            .iter()
            .filter(|r| r.leak)
            .filter(has)
            .map(score)
            .collect();
        let neg: Vec<f32> = rows
            .iter()
            .filter(|r| !r.leak)
            .filter(has)
            .map(score)
            .collect();
        println!(
            "{:<16} {}  R@5%FPR {:.2} | {}",
            t,
            distribution("pos", &pos, true),
            recall_at_fpr(&pos, &neg_all, 0.05),
            distribution("neg", &neg, false)
        );
    }
    Ok(())
}

/// Transforms where OCR reads little: photos of screens and phone-sized renders.
fn is_weak_ocr(r: &Row) -> bool {
    r.transforms
        .iter()
        .any(|t| matches!(t.as_str(), "phone-photo" | "mobile-crop" | "mobile-render"))
}

fn load_systems(
    dir: &Path,
    opts: &ExtractOptions,
    limits: &DecodeLimits,
) -> anyhow::Result<Vec<System>> {
    let mut names: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    names.sort();
    let mut systems = Vec::new();
    for sys_dir in names {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&sys_dir)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "png"))
            .collect();
        files.sort();
        let files_of_system = files.clone();
        let mut references = Vec::new();
        for f in files {
            let decoded = decode_file(&f, limits).with_context(|| f.display().to_string())?;
            let gray = leakshot::preprocess::luma8(&decoded.image);
            let reference = extract_reference(&gray, opts)?;
            eprintln!(
                "{}: glyph {:?}, base scale {:.3}, keypoints per level {:?}",
                f.display(),
                leakshot::preprocess::estimate_glyph_height(&gray),
                working_scale(&gray),
                reference
                    .levels
                    .iter()
                    .map(|l| l.points.len())
                    .collect::<Vec<_>>()
            );
            references.push(reference);
        }
        let name = sys_dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let org_boxes = if std::env::var("KP_ORG").is_ok_and(|v| v == "1") {
            org_word_boxes(&name, &files_of_system, limits)?
        } else {
            Vec::new()
        };
        systems.push(System {
            name,
            references,
            org_boxes,
        });
    }
    Ok(systems)
}

/// Probability that a random positive outscores a random negative (ties count half).
fn auc(pos: &[f32], neg: &[f32]) -> f64 {
    if pos.is_empty() || neg.is_empty() {
        return f64::NAN;
    }
    let mut wins = 0.0;
    for p in pos {
        for q in neg {
            wins += if p > q {
                1.0
            } else if p == q {
                0.5
            } else {
                0.0
            };
        }
    }
    wins / (pos.len() * neg.len()) as f64
}

/// Share of positives scoring above the threshold that lets at most `fpr` of negatives
/// through (strictly above the negatives' score at that rank).
fn recall_at_fpr(pos: &[f32], neg: &[f32], fpr: f64) -> f64 {
    if pos.is_empty() || neg.is_empty() {
        return f64::NAN;
    }
    let mut sorted = neg.to_vec();
    sorted.sort_by(|a, b| b.total_cmp(a));
    let allowed = (fpr * neg.len() as f64).floor() as usize;
    let threshold = sorted[allowed.min(sorted.len() - 1)];
    pos.iter().filter(|&&p| p > threshold).count() as f64 / pos.len() as f64
}

/// "name n=.. median .. max|min .." of a score list.
fn distribution(name: &str, v: &[f32], positive: bool) -> String {
    if v.is_empty() {
        return format!("{name:<16} n=0");
    }
    let mut s = v.to_vec();
    s.sort_by(f32::total_cmp);
    let median = s[s.len() / 2];
    let (label, extreme) = if positive {
        ("min", s[0])
    } else {
        ("max", s[s.len() - 1])
    };
    format!(
        "{name:<16} n={:<3} median {median:>6.2} {label} {extreme:>6.2}",
        s.len()
    )
}

fn inside(p: &[f32; 2], b: &[f32; 4]) -> bool {
    p[0] >= b[0] && p[0] <= b[0] + b[2] && p[1] >= b[1] && p[1] <= b[1] + b[3]
}

/// Enrolls `name` from `files` as `leakshot enroll` does (OCR) and returns, per reference,
/// the boxes of its organisation words grown by half their height each way.
fn org_word_boxes(
    name: &str,
    files: &[PathBuf],
    limits: &DecodeLimits,
) -> anyhow::Result<Vec<Vec<[f32; 4]>>> {
    let mut engine = leakshot::ocr::OcrEngine::new()?;
    let mut refs = Vec::new();
    for f in files {
        let fp = leakshot::scan::fingerprint_reference(f, &mut engine, limits)?;
        refs.push((f.display().to_string(), fp));
    }
    let template = leakshot::enroll::build_template(name, refs, &[]);
    let org: std::collections::HashSet<&str> = template
        .vocabulary
        .iter()
        .filter(|e| e.org)
        .map(|e| e.token.as_str())
        .collect();
    eprintln!("{name}: organisation words {org:?}");
    Ok(template
        .references
        .iter()
        .map(|r| {
            r.tokens
                .iter()
                .filter(|t| org.contains(t.text.as_str()))
                .map(|t| {
                    let m = t.h / 2.0;
                    [t.x - m, t.y - m, t.w + 2.0 * m, t.h + 2.0 * m]
                })
                .collect()
        })
        .collect())
}
