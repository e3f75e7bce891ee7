//! Scan: the pipeline for each image, run in parallel with results streamed in input order.
//!
//! ingest -> decode -> preprocess -> OCR -> fingerprint -> match -> score -> report.
//! Each worker owns one Tesseract engine for the whole scan. A failing or panicking image
//! becomes that image's error record; the scan goes on. Memory is bounded by the number of
//! workers (one image each) plus a small reorder buffer of finished records.

use std::collections::{BTreeMap, HashMap};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Mutex};
use std::time::Instant;

use crate::decode::{decode_file, DecodeLimits};
use crate::error::{ImageError, OcrError};
use crate::fingerprint::{fingerprint, ImageFingerprint};
use crate::ingest::Input;
use crate::matcher::{match_template, IndexedTemplate, TemplateIndex, TemplateMatch};
use crate::ocr::OcrEngine;
use crate::preprocess::{prepare, SCAN_GLYPH_HEIGHT};
use crate::report::{
    CandidateScore, Evidence, FileInfo, ForeignWords, ImageInfo, LayoutEvidence, MatchedWord,
    Record,
};
use crate::score::{feature_vector, score, Scored, Verdict, FEATURE_NAMES};
use crate::template::{Calibration, Models};

/// Settings of a scan.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    /// Worker threads (each with its own Tesseract).
    pub jobs: usize,
    pub limits: DecodeLimits,
    /// Overrides the calibration's leak threshold.
    pub leak_threshold: Option<f64>,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            jobs: std::thread::available_parallelism().map_or(2, |n| n.get()),
            limits: DecodeLimits::default(),
            leak_threshold: None,
        }
    }
}

/// Loaded models, ready to analyse images.
pub struct Scanner {
    templates: Vec<IndexedTemplate>,
    /// Which templates an image shares words with: only those are verified.
    index: TemplateIndex,
    calibration: Calibration,
    options: ScanOptions,
}

/// Running totals, for the summary line.
#[derive(Debug, Default, Clone, Copy)]
pub struct ScanSummary {
    pub images: usize,
    pub leaks: usize,
    pub reviews: usize,
    pub errors: usize,
    pub seconds: f64,
}

impl ScanSummary {
    fn count(&mut self, r: &Record) {
        self.images += 1;
        self.errors += usize::from(r.error.is_some());
        self.leaks += usize::from(r.verdict == Verdict::Leak);
        self.reviews += usize::from(r.verdict == Verdict::Review);
    }
}

impl Scanner {
    pub fn new(models: Models, options: ScanOptions) -> Scanner {
        let mut calibration = models.calibration;
        if let Some(t) = options.leak_threshold {
            calibration.leak_threshold = t;
            calibration.review_threshold = calibration.review_threshold.min(t);
        }
        let templates: Vec<IndexedTemplate> = models
            .templates
            .into_iter()
            .map(IndexedTemplate::new)
            .collect();
        Scanner {
            index: TemplateIndex::new(&templates),
            templates,
            calibration,
            options,
        }
    }

    pub fn calibration(&self) -> &Calibration {
        &self.calibration
    }

    /// Scans `inputs`, calling `sink` with each record in input order. Stops early (after
    /// the images in flight) when `stop` becomes true.
    pub fn scan<I, F>(
        &self,
        inputs: I,
        stop: &AtomicBool,
        mut sink: F,
    ) -> Result<ScanSummary, OcrError>
    where
        I: Iterator<Item = Input> + Send,
        F: FnMut(Record),
    {
        let start = Instant::now();
        let jobs = self.options.jobs.max(1);
        // Fail fast on a broken Tesseract install instead of once per image.
        let mut engines = (0..jobs)
            .map(|_| OcrEngine::new())
            .collect::<Result<Vec<_>, _>>()?;
        let queue = Mutex::new(inputs.enumerate());
        let (tx, rx) = mpsc::sync_channel::<(usize, Record)>(jobs * 4);
        let mut summary = ScanSummary::default();
        std::thread::scope(|s| {
            for engine in engines.iter_mut() {
                let tx = tx.clone();
                let queue = &queue;
                s.spawn(move || loop {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let next = match queue.lock() {
                        Ok(mut q) => q.next(),
                        Err(_) => None,
                    };
                    let Some((seq, input)) = next else { break };
                    let record = self.analyze_input(&input, engine);
                    if tx.send((seq, record)).is_err() {
                        break;
                    }
                });
            }
            drop(tx);
            let mut pending: BTreeMap<usize, Record> = BTreeMap::new();
            let mut next_seq = 0;
            for (seq, record) in rx {
                pending.insert(seq, record);
                while let Some(r) = pending.remove(&next_seq) {
                    summary.count(&r);
                    sink(r);
                    next_seq += 1;
                }
            }
            // Records after a gap (a worker stopped early) still get written.
            for (_, r) in pending {
                summary.count(&r);
                sink(r);
            }
        });
        summary.seconds = start.elapsed().as_secs_f64();
        Ok(summary)
    }

    /// Analyses one input; never panics (a panic becomes the error record). The record's
    /// `file` is stat'ed first, before any read (see [`FileInfo::of`]).
    pub fn analyze_input(&self, input: &Input, engine: &mut OcrEngine) -> Record {
        let file = FileInfo::of(input.path());
        let mut record = self.analyze_unstatted(input, engine);
        record.file = file;
        record
    }

    fn analyze_unstatted(&self, input: &Input, engine: &mut OcrEngine) -> Record {
        let path_text = input.path().to_string_lossy().into_owned();
        match input {
            Input::Unreadable { message, .. } => {
                Record::failed(path_text, message.clone(), BTreeMap::new())
            }
            Input::File(path) => {
                let outcome = catch_unwind(AssertUnwindSafe(|| self.analyze_file(path, engine)));
                match outcome {
                    Ok(record) => record,
                    Err(panic) => {
                        // The engine may be mid-call: start a fresh one next time.
                        if let Ok(fresh) = OcrEngine::new() {
                            *engine = fresh;
                        }
                        let msg = panic
                            .downcast_ref::<&str>()
                            .map(|s| s.to_string())
                            .or_else(|| panic.downcast_ref::<String>().cloned())
                            .unwrap_or_else(|| "panic".into());
                        Record::failed(
                            path_text,
                            ImageError::Panic(msg).to_string(),
                            BTreeMap::new(),
                        )
                    }
                }
            }
        }
    }

    fn analyze_file(&self, path: &Path, engine: &mut OcrEngine) -> Record {
        let path_text = path.to_string_lossy().into_owned();
        let mut timings = BTreeMap::new();
        let t0 = Instant::now();
        let mut lap = {
            let mut last = Instant::now();
            move |name: &str, timings: &mut BTreeMap<String, f64>| {
                let now = Instant::now();
                timings.insert(name.to_string(), ms(now - last));
                last = now;
            }
        };
        let decoded = match decode_file(path, &self.options.limits) {
            Ok(d) => d,
            Err(e) => {
                lap("decode", &mut timings);
                timings.insert("total".into(), ms(t0.elapsed()));
                return Record::failed(path_text, e.to_string(), timings);
            }
        };
        lap("decode", &mut timings);
        let info = ImageInfo {
            width: decoded.image.width(),
            height: decoded.image.height(),
            format: decoded.format.clone(),
            bytes: decoded.bytes,
        };
        let prepared = prepare(&decoded.image, SCAN_GLYPH_HEIGHT);
        drop(decoded);
        lap("preprocess", &mut timings);
        let words = match engine.read_words(&prepared.ocr_gray) {
            Ok(w) => w,
            Err(e) => {
                lap("ocr", &mut timings);
                timings.insert("total".into(), ms(t0.elapsed()));
                return Record::failed(path_text, ImageError::Ocr(e).to_string(), timings);
            }
        };
        lap("ocr", &mut timings);
        let fp = fingerprint(&prepared, &words);
        drop(prepared);
        lap("fingerprint", &mut timings);
        let mut record = self.judge(path_text, &fp);
        lap("match", &mut timings);
        timings.insert("total".into(), ms(t0.elapsed()));
        record.timings_ms = timings;
        record.image = Some(info);
        record
    }

    /// Match and score a fingerprint against every template, and build the record.
    pub fn judge(&self, path: String, fp: &ImageFingerprint) -> Record {
        let mut results: Vec<(usize, TemplateMatch, Scored)> = self
            .index
            .candidates(fp)
            .into_iter()
            .map(|i| {
                let m = match_template(fp, &self.templates[i]);
                let s = score(&m.features, &self.calibration);
                (i, m, s)
            })
            .collect();
        results.sort_by(|a, b| {
            b.2.confidence
                .total_cmp(&a.2.confidence)
                .then(b.2.kit_confidence.total_cmp(&a.2.kit_confidence))
        });
        let candidates: Vec<CandidateScore> = results
            .iter()
            .map(|(i, m, s)| CandidateScore {
                template: self.templates[*i].template.name.clone(),
                confidence: round4(s.confidence),
                kit_confidence: round4(s.kit_confidence),
                org_evidence: s.org_evidence,
                model_features: FEATURE_NAMES
                    .iter()
                    .zip(feature_vector(&m.features))
                    .map(|(n, v)| (n.to_string(), round4(v)))
                    .collect(),
            })
            .collect();
        let Some((best_i, best_m, best_s)) = results.into_iter().next() else {
            return Record::failed(path, "no templates loaded".into(), BTreeMap::new());
        };
        let tpl = &self.templates[best_i].template;
        let evidence = build_evidence(fp, tpl, &best_m, &best_s, candidates, &self.calibration);
        Record {
            path,
            leak: best_s.verdict == Verdict::Leak,
            verdict: best_s.verdict,
            confidence: round4(best_s.confidence),
            template: (best_s.verdict != Verdict::Clean).then(|| tpl.name.clone()),
            evidence: Some(evidence),
            image: None,
            timings_ms: BTreeMap::new(),
            error: None,
            file: None,
        }
    }
}

fn ms(d: std::time::Duration) -> f64 {
    (d.as_secs_f64() * 1e5).round() / 100.0
}

fn round4(v: f64) -> f64 {
    (v * 1e4).round() / 1e4
}

fn build_evidence(
    fp: &ImageFingerprint,
    tpl: &crate::template::Template,
    m: &TemplateMatch,
    s: &Scored,
    candidates: Vec<CandidateScore>,
    cal: &Calibration,
) -> Evidence {
    let vocab = &tpl.vocabulary;
    let in_place: HashMap<usize, usize> =
        m.inliers.iter().map(|i| (i.image_token, i.entry)).collect();
    let mut matched_words: Vec<MatchedWord> = m
        .matched
        .iter()
        .map(|&(ti, e)| {
            let t = &fp.tokens[ti];
            MatchedWord {
                text: t.text.clone(),
                template_word: vocab[e].token.clone(),
                bbox: fp.image_box(t).map(|v| (v * 10.0).round() / 10.0),
                weight: (vocab[e].weight * 1000.0).round() / 1000.0,
                in_place: in_place.get(&ti) == Some(&e),
                org: vocab[e].org,
                marking: vocab[e].marking,
            }
        })
        .collect();
    matched_words.sort_by(|a, b| {
        b.in_place
            .cmp(&a.in_place)
            .then(b.weight.total_cmp(&a.weight))
    });
    let mut org_words: Vec<String> = matched_words
        .iter()
        .filter(|w| w.org)
        .map(|w| w.template_word.clone())
        .collect();
    org_words.sort();
    org_words.dedup();
    let markings = matched_words
        .iter()
        .filter(|w| w.marking)
        .cloned()
        .collect();
    let region = union_box(
        m.inliers
            .iter()
            .map(|i| fp.image_box(&fp.tokens[i.image_token])),
    );
    let foreign_words: Vec<ForeignWords> = m
        .conflicts
        .iter()
        .map(|c| ForeignWords {
            template_word: c.expected.clone(),
            image_words: c.found.iter().map(|&i| fp.tokens[i].text.clone()).collect(),
            bbox: union_box(c.found.iter().map(|&i| fp.image_box(&fp.tokens[i])))
                .unwrap_or_default(),
        })
        .collect();
    let f = &m.features;
    let reason = if !foreign_words.is_empty() && s.verdict != Verdict::Leak {
        format!(
            "the UI resembles {}, but where it names its organisation the image shows other words ({}): another organisation's system",
            tpl.name,
            foreign_words
                .iter()
                .map(|f| format!("{} instead of {}", f.image_words.join(" "), f.template_word))
                .collect::<Vec<_>>()
                .join("; ")
        )
    } else if s.verdict == Verdict::Leak {
        format!(
            "{} words sit where {} has them ({:.0}% of its chrome), and words naming the organisation were read: {}",
            f.geo_count,
            tpl.name,
            f.chrome_coverage * 100.0,
            org_words.join(", ")
        )
    } else if s.kit_confidence >= cal.leak_threshold && !s.org_evidence {
        format!(
            "the layout and vocabulary of {} matched ({} words in place), but nothing naming the organisation was read: it could be another organisation's system on the same UI kit",
            tpl.name, f.geo_count
        )
    } else if s.org_evidence {
        format!(
            "words naming {}'s organisation were read ({}), but the system's layout did not match: a name alone is public",
            tpl.name,
            org_words.join(", ")
        )
    } else if s.verdict == Verdict::Review {
        format!(
            "partial match with {}: {} words in place",
            tpl.name, f.geo_count
        )
    } else {
        "no enrolled system matched".to_string()
    };
    Evidence {
        reason,
        org_evidence: s.org_evidence,
        ownership: s.ownership,
        kit_confidence: round4(s.kit_confidence),
        features: m.features.clone(),
        contributions: s
            .contributions
            .iter()
            .map(|(k, v)| (k.clone(), round4(*v)))
            .collect(),
        matched_words,
        org_words,
        markings,
        foreign_words,
        layout: LayoutEvidence {
            reference: tpl
                .references
                .get(m.reference)
                .map(|r| r.source.clone())
                .unwrap_or_default(),
            scale: m.transform.scale,
            offset: [m.transform.tx, m.transform.ty],
            words_in_place: m.inliers.len(),
            region,
            chrome_coverage: f.chrome_coverage,
            palette_similarity: f.palette,
            screen: fp
                .screen
                .map(|s| s.corners.map(|(x, y)| [x.round(), y.round()])),
        },
        candidates,
    }
}

/// The smallest box holding all `boxes` ([left, top, width, height]), rounded.
fn union_box(boxes: impl Iterator<Item = [f32; 4]>) -> Option<[f32; 4]> {
    let mut it = boxes.peekable();
    it.peek()?;
    let (mut x0, mut y0, mut x1, mut y1) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
    for [x, y, w, h] in it {
        x0 = x0.min(x);
        y0 = y0.min(y);
        x1 = x1.max(x + w);
        y1 = y1.max(y + h);
    }
    Some([x0, y0, x1 - x0, y1 - y0].map(|v| v.round()))
}

/// Decodes, prepares and OCRs one enrollment screenshot.
pub fn fingerprint_reference(
    path: &Path,
    engine: &mut OcrEngine,
    limits: &DecodeLimits,
) -> Result<ImageFingerprint, ImageError> {
    let decoded = decode_file(path, limits)?;
    let prepared = prepare(&decoded.image, crate::preprocess::ENROLL_GLYPH_HEIGHT);
    let words = engine.read_words(&prepared.ocr_gray)?;
    let mut fp = fingerprint(&prepared, &words);
    // A clean screenshot's doubtful readings are noise, not vocabulary.
    fp.tokens.retain(|t| !t.faint);
    Ok(fp)
}
