//! Scan: the pipeline for each image, run in parallel with results streamed in input order
//! (or, for a stream of paths, as they complete).
//!
//! ingest -> read + hash -> (cache) -> decode -> gate -> preprocess -> OCR -> fingerprint
//! -> match -> score -> (allowlist) -> report.
//! Each worker owns one Tesseract engine for the whole scan. A failing or panicking image
//! becomes that image's error record; the scan goes on. Memory is bounded by the number of
//! workers (one image each), a small reorder buffer of finished records, and the table of
//! recently seen content hashes (reposts, [`ScanOptions::repost_memory`]).
//!
//! Identical bytes are analysed once per run: a repost's record copies the first one's
//! verdict and evidence and names it in `duplicate_of`. With a [`Cache`], bytes seen in an
//! earlier run skip decode, preprocessing and OCR: their stored fingerprint is judged
//! against the current models.
//!
//! Submodules: `reposts` (identical bytes analysed once per run) and `evidence` (the
//! record of a judged image: the candidate shown, what decided, the reason).

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Mutex};
use std::time::Instant;

use image::{DynamicImage, GrayImage};

use crate::allowlist::{to_hex, Allowlist};
use crate::cache::{Cache, CachedImage, StoredFingerprint};
use crate::decode::{decode_bytes, decode_file, read_file, DecodeLimits};
use crate::error::{ImageError, OcrError};
use crate::fingerprint::{fingerprint, upright_words, ImageFingerprint};
use crate::gate::{self, GateEvidence};
use crate::ingest::Input;
use crate::matcher::{match_template, IndexedTemplate, TemplateIndex, TemplateMatch};
use crate::ocr::{OcrEngine, OcrWord};
use crate::preprocess::{
    luma8, prepare_gray, prepare_screenshot, working_scale, Prepared, SCAN_GLYPH_HEIGHT,
};
use crate::report::{CandidateScore, FileInfo, ImageInfo, Record};
use crate::score::{feature_vector, score, Scored, Verdict, FEATURE_NAMES};
use crate::template::{Calibration, Models};

mod evidence;
mod reposts;

use evidence::{build_evidence, gated_record, record_candidate, round4};
use reposts::{Claim, Reposts};

/// Settings of a scan.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    /// Worker threads (each with its own Tesseract).
    pub jobs: usize,
    pub limits: DecodeLimits,
    /// Overrides the calibration's leak threshold.
    pub leak_threshold: Option<f64>,
    /// Run the pre-OCR gate ([`crate::gate`]); off, every image is OCR'd.
    pub gate: bool,
    /// In which order records reach the sink.
    pub order: Order,
    /// How many distinct images (content hashes) the scan remembers to recognise reposts:
    /// each costs about one record in memory. The oldest are forgotten first.
    pub repost_memory: usize,
}

/// Order of the records a scan hands out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// The inputs' order: a slow image holds back the records after it (a bounded wait).
    Input,
    /// As each image is done: for a stream of paths, where an early record matters more.
    Completion,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            jobs: std::thread::available_parallelism().map_or(2, |n| n.get()),
            limits: DecodeLimits::default(),
            leak_threshold: None,
            gate: true,
            order: Order::Input,
            repost_memory: 4096,
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
    cache: Option<Cache>,
    allowlist: Option<Allowlist>,
    /// Cache reads or writes that failed (the image was analysed all the same).
    cache_failures: AtomicUsize,
}

/// Running totals, for the summary line.
#[derive(Debug, Default, Clone, Copy)]
pub struct ScanSummary {
    pub images: usize,
    pub leaks: usize,
    pub reviews: usize,
    pub errors: usize,
    /// Fingerprints taken from the cache (no OCR).
    pub cached: usize,
    /// Reposts of an image seen earlier in the run (not analysed again).
    pub duplicates: usize,
    /// Images the gate judged `clean` without OCR.
    pub gated: usize,
    /// Images an `--ignore` entry cleared.
    pub allowlisted: usize,
    /// Images whose file ends before its image data does (analysed as far as they go).
    pub truncated: usize,
    /// Cache reads or writes that failed.
    pub cache_failures: usize,
    pub seconds: f64,
}

impl ScanSummary {
    /// Counts `r`; a repost counts as a duplicate only, not again as cached or gated.
    pub fn count(&mut self, r: &Record) {
        self.images += 1;
        self.errors += usize::from(r.error.is_some());
        self.leaks += usize::from(r.verdict == Verdict::Leak);
        self.reviews += usize::from(r.verdict == Verdict::Review);
        let first = r.duplicate_of.is_none();
        self.duplicates += usize::from(!first);
        self.cached += usize::from(first && r.cached);
        let ev = r.evidence.as_ref();
        self.gated +=
            usize::from(first && ev.and_then(|e| e.gate.as_ref()).is_some_and(|g| !g.passed));
        self.allowlisted += usize::from(ev.is_some_and(|e| e.allowlisted.is_some()));
        self.truncated += usize::from(first && r.image.as_ref().is_some_and(|i| i.truncated));
    }
}

impl Scanner {
    pub fn new(models: Models, options: ScanOptions) -> Scanner {
        let mut calibration = models.calibration;
        if let Some(t) = options.leak_threshold {
            calibration.leak_threshold = t;
            calibration.review_threshold = calibration.review_threshold.min(t);
        }
        let mut templates = models.templates;
        crate::enroll::unname_shared_chrome(&mut templates);
        let templates: Vec<IndexedTemplate> =
            templates.into_iter().map(IndexedTemplate::new).collect();
        Scanner {
            index: TemplateIndex::new(&templates),
            templates,
            calibration,
            options,
            cache: None,
            allowlist: None,
            cache_failures: AtomicUsize::new(0),
        }
    }

    /// Takes fingerprints from `cache` when it has them, and stores new ones there.
    pub fn with_cache(mut self, cache: Cache) -> Scanner {
        self.cache = Some(cache);
        self
    }

    /// Clears the images `allowlist` covers.
    pub fn with_allowlist(mut self, allowlist: Allowlist) -> Scanner {
        self.allowlist = Some(allowlist);
        self
    }

    pub fn calibration(&self) -> &Calibration {
        &self.calibration
    }

    /// The settings the scanner runs with.
    pub fn options(&self) -> &ScanOptions {
        &self.options
    }

    /// Scans `inputs`, calling `sink` with each record in input order (or as completed,
    /// see [`ScanOptions::order`]). Stops early (after the images in flight) when `stop`
    /// becomes true. `inputs` may block waiting for more (a stream): it is pulled one item
    /// at a time, by whichever worker is free.
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
        let reposts = Reposts::default();
        std::thread::scope(|s| {
            for engine in engines.iter_mut() {
                let tx = tx.clone();
                let queue = &queue;
                let reposts = &reposts;
                s.spawn(move || loop {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let next = match queue.lock() {
                        Ok(mut q) => q.next(),
                        Err(_) => None,
                    };
                    let Some((seq, input)) = next else { break };
                    let record = self.analyze_input_with(&input, engine, reposts);
                    if tx.send((seq, record)).is_err() {
                        break;
                    }
                });
            }
            drop(tx);
            let mut pending: BTreeMap<usize, Record> = BTreeMap::new();
            let mut next_seq = 0;
            for (seq, record) in rx {
                if self.options.order == Order::Completion {
                    summary.count(&record);
                    sink(record);
                    continue;
                }
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
        summary.cache_failures = self.cache_failures.load(Ordering::Relaxed);
        Ok(summary)
    }

    /// Analyses one input; never panics (a panic becomes the error record). The record's
    /// `file` is stat'ed first, before any read (see [`FileInfo::of`]).
    pub fn analyze_input(&self, input: &Input, engine: &mut OcrEngine) -> Record {
        self.analyze_input_with(input, engine, &Reposts::default())
    }

    fn analyze_input_with(
        &self,
        input: &Input,
        engine: &mut OcrEngine,
        reposts: &Reposts,
    ) -> Record {
        let file = FileInfo::of(input.path());
        let mut record = self.analyze_unstatted(input, engine, reposts);
        record.file = file;
        record
    }

    fn analyze_unstatted(
        &self,
        input: &Input,
        engine: &mut OcrEngine,
        reposts: &Reposts,
    ) -> Record {
        let path_text = input.path().to_string_lossy().into_owned();
        match input {
            Input::Unreadable { message, .. } => {
                Record::failed(path_text, message.clone(), BTreeMap::new())
            }
            Input::File(path) => {
                let outcome = catch_unwind(AssertUnwindSafe(|| {
                    self.analyze_file(path, engine, reposts)
                }));
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

    fn analyze_file(&self, path: &Path, engine: &mut OcrEngine, reposts: &Reposts) -> Record {
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
        let bytes = match read_file(path, &self.options.limits) {
            Ok(b) => b,
            Err(e) => {
                lap("read", &mut timings);
                timings.insert("total".into(), ms(t0.elapsed()));
                return Record::failed(path_text, e.to_string(), timings);
            }
        };
        lap("read", &mut timings);
        let hash: [u8; 32] = blake3::hash(&bytes).into();
        lap("hash", &mut timings);
        let first = match reposts.claim(hash, &path_text, self.options.repost_memory) {
            Some(Claim::Repost(first_path, first)) => {
                let mut record = (*first).clone();
                record.path = path_text;
                record.duplicate_of = Some(first_path);
                record.cached = false;
                timings.insert("total".into(), ms(t0.elapsed()));
                record.timings_ms = timings;
                return record;
            }
            Some(Claim::First(first)) => Some(first),
            None => None,
        };
        let mut record =
            self.analyze_bytes(path_text, &hash, bytes, engine, &mut timings, &mut lap);
        if let Some(allowlist) = &self.allowlist {
            allowlist.apply(&hash, &mut record);
        }
        record.blake3 = Some(to_hex(&hash));
        timings.insert("total".into(), ms(t0.elapsed()));
        record.timings_ms = timings;
        if let Some(first) = first {
            first.publish(&record);
        }
        record
    }

    /// The record of one file's bytes, from the cache or from the pixels (timings go to
    /// `timings`, the record's own are left empty).
    fn analyze_bytes(
        &self,
        path_text: String,
        hash: &[u8; 32],
        bytes: Vec<u8>,
        engine: &mut OcrEngine,
        timings: &mut BTreeMap<String, f64>,
        lap: &mut impl FnMut(&str, &mut BTreeMap<String, f64>),
    ) -> Record {
        if let Some(mut record) = self.cached_record(&path_text, hash, timings, lap) {
            record.cached = true;
            return record;
        }
        let decoded = match decode_bytes(&bytes, &self.options.limits) {
            Ok(d) => d,
            Err(e) => {
                lap("decode", timings);
                return Record::failed(path_text, e.to_string(), BTreeMap::new());
            }
        };
        drop(bytes);
        lap("decode", timings);
        let mut info = ImageInfo {
            width: decoded.image.width(),
            height: decoded.image.height(),
            format: decoded.format.clone(),
            bytes: decoded.bytes,
            frame: decoded.frame,
            truncated: decoded.truncated,
            turned: None,
        };
        // One grey copy for the gate and preprocessing (timed with the gate when it runs).
        let gray = luma8(&decoded.image);
        let mut gate = self.options.gate.then(|| gate::check_gray(&gray));
        if gate.is_some() {
            lap("gate", timings);
        }
        // Letters in columns, not rows: a screen posted sideways is read turned upright.
        let sideways = match &gate {
            Some(g) => gate::looks_turned(&gray, g),
            None => gate::looks_turned(&gray, &gate::check_gray(&gray)),
        };
        let mut gray = Some(gray);
        let reading = if sideways {
            let as_is = gate.as_ref().is_none_or(|g| g.passed);
            let read = read_sideways(&decoded.image, gray.take().filter(|_| as_is), engine);
            lap("turn", timings);
            match read {
                Ok(read) => read,
                Err(e) => {
                    return Record::failed(
                        path_text,
                        ImageError::Ocr(e).to_string(),
                        BTreeMap::new(),
                    )
                }
            }
        } else {
            None
        };
        let (prepared, words) = match reading {
            Some(reading) => {
                if let Some(turn) = reading.turn {
                    // The turned image's size (reduced, if it was larger than the
                    // working size): its boxes' space.
                    info.turned = Some(turn.degrees());
                    (info.width, info.height) = (reading.prepared.width, reading.prepared.height);
                    if gate.is_some() {
                        gate = reading.gate;
                    }
                }
                drop(decoded);
                (reading.prepared, reading.words)
            }
            None => {
                if let Some(g) = gate.as_ref().filter(|g| !g.passed) {
                    self.store(hash, &info, gate.clone(), None);
                    let mut record = gated_record(path_text, g.clone());
                    record.image = Some(info);
                    return record;
                }
                let gray = gray.take().unwrap_or_else(|| luma8(&decoded.image));
                let prepared = prepare_gray(gray, &decoded.image, SCAN_GLYPH_HEIGHT);
                drop(decoded);
                lap("preprocess", timings);
                let words = match engine.read_all(prepared.ocr_inputs()) {
                    Ok(w) => w,
                    Err(e) => {
                        lap("ocr", timings);
                        return Record::failed(
                            path_text,
                            ImageError::Ocr(e).to_string(),
                            BTreeMap::new(),
                        );
                    }
                };
                lap("ocr", timings);
                (prepared, words)
            }
        };
        let fp = fingerprint(&prepared, &words);
        let stored = self
            .cache
            .is_some()
            .then(|| StoredFingerprint::capture(&prepared, &fp));
        drop(prepared);
        lap("fingerprint", timings);
        let mut record = self.judge(path_text, &fp);
        lap("match", timings);
        if let Some(ev) = record.evidence.as_mut() {
            ev.gate = gate.clone();
        }
        if stored.is_some() {
            self.store(hash, &info, gate, stored);
        }
        record.image = Some(info);
        record
    }

    /// The record of bytes the cache knows, judged against the current models; `None` when
    /// it does not know them (or knows only a gate decision and the gate is off).
    fn cached_record(
        &self,
        path_text: &str,
        hash: &[u8; 32],
        timings: &mut BTreeMap<String, f64>,
        lap: &mut impl FnMut(&str, &mut BTreeMap<String, f64>),
    ) -> Option<Record> {
        let cache = self.cache.as_ref()?;
        let entry = cache.get(hash).unwrap_or_else(|_| {
            self.cache_failures.fetch_add(1, Ordering::Relaxed);
            None
        });
        lap("cache", timings);
        let entry = entry?;
        let mut record = match (entry.fingerprint, entry.gate) {
            (Some(stored), gate) => {
                let fp = stored.restore()?;
                let mut record = self.judge(path_text.to_string(), &fp);
                lap("match", timings);
                if let Some(ev) = record.evidence.as_mut() {
                    ev.gate = gate;
                }
                record
            }
            (None, Some(gate)) if self.options.gate && !gate.passed => {
                gated_record(path_text.to_string(), gate)
            }
            _ => return None,
        };
        record.image = Some(entry.image);
        Some(record)
    }

    /// Keeps what was learnt about `hash` in the cache, if there is one.
    fn store(
        &self,
        hash: &[u8; 32],
        info: &ImageInfo,
        gate: Option<GateEvidence>,
        fingerprint: Option<StoredFingerprint>,
    ) {
        let Some(cache) = &self.cache else { return };
        let entry = CachedImage {
            image: info.clone(),
            gate,
            fingerprint,
        };
        if cache.put(hash, &entry).is_err() {
            self.cache_failures.fetch_add(1, Ordering::Relaxed);
        }
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
        let scores: Vec<&Scored> = results.iter().map(|(_, _, s)| s).collect();
        let Some(shown) = record_candidate(&scores, self.calibration.review_threshold) else {
            return Record::failed(path, "no templates loaded".into(), BTreeMap::new());
        };
        let (best_i, best_m, best_s) = results.swap_remove(shown);
        let tpl = &self.templates[best_i].template;
        let evidence = build_evidence(fp, tpl, &best_m, &best_s, candidates, &self.calibration);
        Record::judged(
            path,
            best_s.verdict,
            round4(best_s.confidence),
            (best_s.verdict != Verdict::Clean).then(|| tpl.name.clone()),
            evidence,
        )
    }
}

/// A quarter turn that stands a sideways image upright.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Turn {
    Clockwise,
    Anticlockwise,
}

impl Turn {
    /// Clockwise degrees, as the record gives them.
    fn degrees(self) -> u16 {
        match self {
            Turn::Clockwise => 90,
            Turn::Anticlockwise => 270,
        }
    }

    /// `image` turned. One larger than preprocessing works at is first reduced to that
    /// size, as preprocessing would reduce it: a hostile 16,384-pixel page read sideways
    /// then costs a few megabytes more, not a second copy of its decoded pixels.
    fn apply(self, image: &DynamicImage) -> DynamicImage {
        let s = working_scale(image.width(), image.height());
        let reduced;
        let image = if s < 1.0 {
            let (w, h) = (image.width() as f32 * s, image.height() as f32 * s);
            reduced = image.resize_exact(
                (w.round() as u32).max(1),
                (h.round() as u32).max(1),
                image::imageops::FilterType::Triangle,
            );
            &reduced
        } else {
            image
        };
        match self {
            Turn::Clockwise => image.rotate90(),
            Turn::Anticlockwise => image.rotate270(),
        }
    }
}

/// An image that looked sideways, read one way round.
struct Reading {
    /// The quarter turn read; `None`: as decoded.
    turn: Option<Turn>,
    prepared: Prepared,
    words: Vec<OcrWord>,
    /// The gate's measurement of the turned image (`None` as decoded).
    gate: Option<GateEvidence>,
}

/// Common words (three letters or more, read with confidence) the reading kept must give,
/// and more than every other: a page read the right way up gives dozens (a sign-in page,
/// four), upside down a few short ones.
const MIN_UPRIGHT_WORDS: usize = 3;

/// Reads an image that looks sideways turned a quarter each way, and as it is when
/// `as_is` gives its grey copy (its rows passed the gate: it may be upright after all), and
/// keeps the reading with the most common words ([`upright_words`]), when it has at least
/// [`MIN_UPRIGHT_WORDS`] and more than every other. Otherwise the reading as it is, or
/// `None` without it. Every way is read: upside down, a page still gives a few short
/// common words.
fn read_sideways(
    image: &DynamicImage,
    as_is: Option<GrayImage>,
    engine: &mut OcrEngine,
) -> Result<Option<Reading>, OcrError> {
    let mut read = |turn: Option<Turn>, gray: GrayImage, image: &DynamicImage, gate| {
        let prepared = prepare_gray(gray, image, SCAN_GLYPH_HEIGHT);
        let words = engine.read_all(prepared.ocr_inputs())?;
        Ok::<_, OcrError>((
            upright_words(&words),
            Reading {
                turn,
                prepared,
                words,
                gate,
            },
        ))
    };
    let mut reads: Vec<(usize, Reading)> = Vec::with_capacity(3);
    if let Some(gray) = as_is {
        reads.push(read(None, gray, image, None)?);
    }
    for turn in [Turn::Clockwise, Turn::Anticlockwise] {
        let turned = turn.apply(image);
        let gray = luma8(&turned);
        let gate = Some(gate::check_gray(&gray));
        reads.push(read(Some(turn), gray, &turned, gate)?);
    }
    let best = reads.iter().map(|r| r.0).max().unwrap_or(0);
    let clear = best >= MIN_UPRIGHT_WORDS && reads.iter().filter(|r| r.0 == best).count() == 1;
    let keep = reads.iter().position(|r| {
        if clear {
            r.0 == best
        } else {
            r.1.turn.is_none()
        }
    });
    Ok(keep.map(|i| reads.swap_remove(i).1))
}

/// `d` in milliseconds, to two decimals.
fn ms(d: std::time::Duration) -> f64 {
    (d.as_secs_f64() * 1e5).round() / 100.0
}

/// Decodes, prepares and OCRs one enrollment screenshot.
pub fn fingerprint_reference(
    path: &Path,
    engine: &mut OcrEngine,
    limits: &DecodeLimits,
) -> Result<ImageFingerprint, ImageError> {
    let decoded = decode_file(path, limits)?;
    let prepared = prepare_screenshot(&decoded.image, crate::preprocess::ENROLL_GLYPH_HEIGHT);
    let words = engine.read_all(prepared.ocr_inputs())?;
    let mut fp = fingerprint(&prepared, &words);
    // A clean screenshot's doubtful readings are noise, not vocabulary.
    fp.tokens.retain(|t| !t.faint);
    Ok(fp)
}
