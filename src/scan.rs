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

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Condvar, Mutex};
use std::time::Instant;

use crate::allowlist::{to_hex, Allowlist};
use crate::cache::{Cache, CachedImage, StoredFingerprint};
use crate::decode::{decode_bytes, decode_file, read_file, DecodeLimits};
use crate::error::{ImageError, OcrError};
use crate::fingerprint::{fingerprint, ImageFingerprint};
use crate::gate::{self, GateEvidence};
use crate::ingest::Input;
use crate::matcher::{match_template, IndexedTemplate, TemplateIndex, TemplateMatch};
use crate::ocr::OcrEngine;
use crate::preprocess::{luma8, prepare_gray, prepare_screenshot, SCAN_GLYPH_HEIGHT};
use crate::report::{
    CandidateScore, Evidence, FileInfo, ForeignWords, ImageInfo, LayoutEvidence, MatchedWord,
    Record,
};
use crate::score::{feature_vector, score, Ownership, Scored, Verdict, FEATURE_NAMES};
use crate::template::{Calibration, Models};

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
    }
}

/// Content hashes seen in this run, each with its first path and record (`None` while
/// that image is being analysed), oldest first.
#[derive(Default)]
struct Reposts {
    state: Mutex<RepostTable>,
    done: Condvar,
}

#[derive(Default)]
struct RepostTable {
    seen: HashMap<[u8; 32], (String, Option<Arc<Record>>)>,
    order: VecDeque<[u8; 32]>,
}

enum Claim<'a> {
    /// First sight of these bytes: analyse them, then [`FirstSight::publish`].
    First(FirstSight<'a>),
    /// Seen before: the first image's path and record.
    Repost(String, Arc<Record>),
}

/// The right to analyse some bytes first. Dropped without publishing (a panic), it frees
/// the hash so a waiting repost is analysed instead of waiting forever.
struct FirstSight<'a> {
    reposts: &'a Reposts,
    hash: [u8; 32],
    published: bool,
}

impl FirstSight<'_> {
    fn publish(mut self, record: &Record) {
        if let Ok(mut t) = self.reposts.state.lock() {
            if let Some(slot) = t.seen.get_mut(&self.hash) {
                slot.1 = Some(Arc::new(record.clone()));
            }
        }
        self.published = true;
        self.reposts.done.notify_all();
    }
}

impl Drop for FirstSight<'_> {
    fn drop(&mut self) {
        if !self.published {
            if let Ok(mut t) = self.reposts.state.lock() {
                t.seen.remove(&self.hash);
            }
            self.reposts.done.notify_all();
        }
    }
}

impl Reposts {
    /// Claims `hash` for `path`, or waits until the image that claimed it first is done.
    /// `None` when the table is unusable (a poisoned lock): analyse without it.
    fn claim(&self, hash: [u8; 32], path: &str, memory: usize) -> Option<Claim<'_>> {
        let mut t = self.state.lock().ok()?;
        loop {
            match t.seen.get(&hash) {
                Some((first, Some(record))) => {
                    return Some(Claim::Repost(first.clone(), Arc::clone(record)))
                }
                Some((_, None)) => t = self.done.wait(t).ok()?,
                None => break,
            }
        }
        t.seen.insert(hash, (path.to_string(), None));
        t.order.push_back(hash);
        // Forget the oldest finished images beyond the memory (those in flight stay).
        let mut looked = 0;
        while t.seen.len() > memory.max(1) && looked < t.order.len() {
            let Some(old) = t.order.pop_front() else {
                break;
            };
            looked += 1;
            match t.seen.get(&old) {
                Some((_, Some(_))) => {
                    t.seen.remove(&old);
                }
                Some((_, None)) => t.order.push_back(old),
                None => {}
            }
        }
        Some(Claim::First(FirstSight {
            reposts: self,
            hash,
            published: false,
        }))
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
        let info = ImageInfo {
            width: decoded.image.width(),
            height: decoded.image.height(),
            format: decoded.format.clone(),
            bytes: decoded.bytes,
        };
        // One grey copy for the gate and preprocessing (timed with the gate when it runs).
        let gray = luma8(&decoded.image);
        let gate = self.options.gate.then(|| gate::check_gray(&gray));
        if gate.is_some() {
            lap("gate", timings);
        }
        if let Some(g) = gate.as_ref().filter(|g| !g.passed) {
            self.store(hash, &info, gate.clone(), None);
            let mut record = gated_record(path_text, g.clone());
            record.image = Some(info);
            return record;
        }
        let prepared = prepare_gray(gray, &decoded.image, SCAN_GLYPH_HEIGHT);
        drop(decoded);
        lap("preprocess", timings);
        let words = match engine.read_all(prepared.ocr_inputs()) {
            Ok(w) => w,
            Err(e) => {
                lap("ocr", timings);
                return Record::failed(path_text, ImageError::Ocr(e).to_string(), BTreeMap::new());
            }
        };
        lap("ocr", timings);
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

/// Which of the candidates (sorted by confidence, highest first) the record shows: the
/// first, except that a clean image is best explained by the system whose UI it resembles
/// most when that system's place for its name shows another organisation's. The record
/// then says whose system it is instead of "no enrolled system matched". None without
/// candidates.
fn record_candidate(scores: &[&Scored], review_threshold: f64) -> Option<usize> {
    let first = scores.first()?;
    if first.verdict != Verdict::Clean {
        return Some(0);
    }
    let foreign = scores
        .iter()
        .enumerate()
        .filter(|(_, s)| s.ownership == Ownership::Foreign && s.kit_confidence >= review_threshold)
        .max_by(|a, b| a.1.kit_confidence.total_cmp(&b.1.kit_confidence))
        .map(|(k, _)| k);
    Some(foreign.unwrap_or(0))
}

/// Other enrolled systems whose UI an owner-less match fits as well (two organisations'
/// systems on one kit): an analyst should know the image may be either's.
fn also_matching<'a>(
    candidates: &'a [CandidateScore],
    shown: &str,
    leak_threshold: f64,
) -> Vec<&'a str> {
    candidates
        .iter()
        .filter(|c| c.template != shown && !c.org_evidence && c.kit_confidence >= leak_threshold)
        .map(|c| c.template.as_str())
        .collect()
}

/// The `clean` record of an image the gate stopped before OCR.
fn gated_record(path: String, gate: GateEvidence) -> Record {
    let mut evidence = Evidence::empty(gate.reason());
    evidence.gate = Some(gate);
    Record::judged(path, Verdict::Clean, 0.0, None, evidence)
}

/// The record's one-sentence reason: what decided, for a person. `vocabulary`: how many
/// distinct template words other than the organisation's were read.
fn explain(
    template: &str,
    s: &Scored,
    f: &crate::matcher::Features,
    org_words: &[String],
    foreign_words: &[ForeignWords],
    vocabulary: usize,
    leak_threshold: f64,
) -> String {
    if !foreign_words.is_empty() && s.verdict != Verdict::Leak {
        format!(
            "the UI resembles {template}, but where it names its organisation the image shows other words ({}): another organisation's system",
            foreign_words
                .iter()
                .map(|f| format!("{} instead of {}", f.image_words.join(" "), f.template_word))
                .collect::<Vec<_>>()
                .join("; ")
        )
    } else if s.verdict == Verdict::Leak && f.geo_count == 0.0 {
        format!(
            "no layout of {template} is in place, but words naming its organisation ({}) were read with {vocabulary} more {} of its vocabulary, in its colours: a page of the system that was not enrolled (a login page, a banner)",
            org_words.join(", "),
            if vocabulary == 1 { "word" } else { "words" }
        )
    } else if s.verdict == Verdict::Leak {
        format!(
            "{} words sit where {template} has them ({:.0}% of its chrome), and words naming the organisation were read: {}",
            f.geo_count,
            f.chrome_coverage * 100.0,
            org_words.join(", ")
        )
    } else if s.kit_confidence >= leak_threshold && !s.org_evidence {
        format!(
            "the layout and vocabulary of {template} matched ({} words in place), but nothing naming the organisation was read: it could be another organisation's system on the same UI kit",
            f.geo_count
        )
    } else if s.org_evidence {
        format!(
            "words naming {template}'s organisation were read ({}), but the system's layout did not match: a name alone is public",
            org_words.join(", ")
        )
    } else if s.verdict == Verdict::Review {
        format!(
            "partial match with {template}: {} words in place",
            f.geo_count
        )
    } else {
        "no enrolled system matched".to_string()
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
    let vocabulary: HashSet<&str> = matched_words
        .iter()
        .filter(|w| !w.org)
        .map(|w| w.template_word.as_str())
        .collect();
    let f = &m.features;
    let mut reason = explain(
        &tpl.name,
        s,
        f,
        &org_words,
        &foreign_words,
        vocabulary.len(),
        cal.leak_threshold,
    );
    if s.ownership == Ownership::Unknown && s.kit_confidence >= cal.leak_threshold {
        let alike = also_matching(&candidates, &tpl.name, cal.leak_threshold);
        if !alike.is_empty() {
            reason.push_str(&format!("; {} matched it too", alike.join(", ")));
        }
    }
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
            chrome_look: f.chrome_look,
            screen: fp
                .screen
                .map(|s| s.corners.map(|(x, y)| [x.round(), y.round()])),
        },
        candidates,
        gate: None,
        allowlisted: None,
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
    let prepared = prepare_screenshot(&decoded.image, crate::preprocess::ENROLL_GLYPH_HEIGHT);
    let words = engine.read_all(prepared.ocr_inputs())?;
    let mut fp = fingerprint(&prepared, &words);
    // A clean screenshot's doubtful readings are noise, not vocabulary.
    fp.tokens.retain(|t| !t.faint);
    Ok(fp)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn record(path: &str) -> Record {
        Record::failed(path.into(), "x".into(), BTreeMap::new())
    }

    fn first(claim: Option<Claim<'_>>) -> FirstSight<'_> {
        match claim {
            Some(Claim::First(f)) => f,
            _ => panic!("expected a first sight"),
        }
    }

    fn scored(verdict: Verdict, kit: f64, ownership: Ownership) -> Scored {
        Scored {
            kit_confidence: kit,
            confidence: kit,
            org_evidence: ownership == Ownership::Ours,
            ownership,
            verdict,
            contributions: Vec::new(),
        }
    }

    #[test]
    fn the_reason_says_what_decided() {
        let names = vec!["northbridge".to_string()];
        let mut f = crate::matcher::Features::default();
        // A login page: the organisation's words and some vocabulary, nothing in place.
        let login = scored(Verdict::Leak, 0.65, Ownership::Ours);
        let r = explain("nb", &login, &f, &names, &[], 1, 0.5);
        assert!(
            r.starts_with("no layout of nb is in place") && r.contains("1 more word "),
            "{r}"
        );
        // The same words on a page that is not the system: a name alone is public.
        let public = scored(Verdict::Clean, 0.3, Ownership::Ours);
        let r = explain("nb", &public, &f, &names, &[], 4, 0.5);
        assert!(r.contains("a name alone is public"), "{r}");
        // The system in place with its organisation.
        f.geo_count = 12.0;
        f.chrome_coverage = 0.4;
        let r = explain("nb", &login, &f, &names, &[], 9, 0.5);
        assert!(
            r.starts_with("12 words sit where nb has them (40% of its chrome)"),
            "{r}"
        );
        // The kit in place, nobody's name.
        let kit = scored(Verdict::Review, 0.9, Ownership::Unknown);
        let r = explain("nb", &kit, &f, &[], &[], 9, 0.5);
        assert!(r.contains("could be another organisation's system"), "{r}");
        // Another organisation's name where ours belongs.
        let foreign = vec![ForeignWords {
            template_word: "northbridge".into(),
            image_words: vec!["greyhaven".into()],
            bbox: [0.0; 4],
        }];
        let other = scored(Verdict::Clean, 0.9, Ownership::Foreign);
        let r = explain("nb", &other, &f, &[], &foreign, 9, 0.5);
        assert!(r.contains("greyhaven instead of northbridge"), "{r}");
    }

    #[test]
    fn a_clean_record_shows_the_system_another_organisation_runs() {
        let noise = scored(Verdict::Clean, 0.2, Ownership::Unknown);
        let theirs = scored(Verdict::Clean, 0.9, Ownership::Foreign);
        let faint = scored(Verdict::Clean, 0.1, Ownership::Foreign);
        // Sorted by confidence, an unmatched template may come first.
        assert_eq!(record_candidate(&[&noise, &theirs, &faint], 0.33), Some(1));
        // A foreign reading on a UI that hardly matched explains nothing.
        assert_eq!(record_candidate(&[&noise, &faint], 0.33), Some(0));
        // A leak or review is shown as it is.
        let leak = scored(Verdict::Leak, 0.9, Ownership::Ours);
        assert_eq!(record_candidate(&[&leak, &theirs], 0.33), Some(0));
        assert_eq!(record_candidate(&[], 0.33), None);
    }

    #[test]
    fn an_owner_less_match_names_the_other_systems_it_fits() {
        let candidate = |template: &str, kit: f64, org: bool| CandidateScore {
            template: template.into(),
            confidence: kit * 0.5,
            kit_confidence: kit,
            org_evidence: org,
            model_features: BTreeMap::new(),
        };
        let candidates = [
            candidate("quayside", 0.98, false),
            candidate("roseacre", 0.95, false),
            candidate("kestrel", 0.2, false),
            candidate("harbour", 0.9, true),
        ];
        assert_eq!(
            also_matching(&candidates, "quayside", 0.5),
            vec!["roseacre"]
        );
        assert!(also_matching(&candidates[..1], "quayside", 0.5).is_empty());
    }

    #[test]
    fn a_repost_waits_for_the_first_and_gets_its_record() {
        let reposts = Reposts::default();
        let a = first(reposts.claim([1; 32], "a.png", 8));
        std::thread::scope(|s| {
            let waiter = s.spawn(|| match reposts.claim([1; 32], "b.png", 8) {
                Some(Claim::Repost(path, r)) => (path, r.path.clone()),
                _ => panic!("expected a repost"),
            });
            std::thread::sleep(Duration::from_millis(50));
            assert!(!waiter.is_finished(), "waits while the first is analysed");
            a.publish(&record("a.png"));
            let got = waiter.join().expect("waiter");
            assert_eq!(got, ("a.png".to_string(), "a.png".to_string()));
        });
    }

    #[test]
    fn a_first_sight_lost_to_a_panic_frees_the_hash() {
        let reposts = Reposts::default();
        drop(first(reposts.claim([2; 32], "a.png", 8)));
        first(reposts.claim([2; 32], "b.png", 8)).publish(&record("b.png"));
    }

    #[test]
    fn the_oldest_finished_images_are_forgotten_first() {
        let reposts = Reposts::default();
        first(reposts.claim([1; 32], "a.png", 2)).publish(&record("a.png"));
        let in_flight = first(reposts.claim([2; 32], "b.png", 2));
        first(reposts.claim([3; 32], "c.png", 2)).publish(&record("c.png"));
        // Over memory: a (finished, oldest) goes; b stays while in flight.
        first(reposts.claim([1; 32], "a2.png", 2)).publish(&record("a2.png"));
        in_flight.publish(&record("b.png"));
        assert!(matches!(
            reposts.claim([2; 32], "b2.png", 2),
            Some(Claim::Repost(p, _)) if p == "b.png"
        ));
    }
}
