//! Report: the JSON Lines record written for every image. A public interface: field names
//! are stable and documented in `schema/record.schema.json`.
//!
//! ```json
//! {"path":"shots/a.jpg","leak":true,"verdict":"leak","confidence":0.97,
//!  "template":"northbridge-intranet",
//!  "evidence":{"reason":"...","org_evidence":true,"kit_confidence":0.97,
//!              "features":{...},"contributions":{...},"matched_words":[...],
//!              "org_words":["nbc"],"markings":[...],"layout":{...},"candidates":[...],
//!              "gate":{"passed":true,"text_shapes":31,...},"allowlisted":null},
//!  "image":{"width":1200,"height":675,"format":"jpeg","bytes":81234},
//!  "timings_ms":{"read":0.1,"hash":0.1,"decode":8.1,"gate":21.0,"preprocess":20.3,
//!                "ocr":950.2,"fingerprint":0.4,"match":1.2,"total":1001.5},
//!  "error":null,
//!  "file":{"size":81234,"mtime_ns":1717171717123456789},
//!  "blake3":"9f86d081...","duplicate_of":null,"cached":false}
//! ```
//!
//! `file` is the file's size and modification time as stat'ed when its analysis began
//! (null when it could not be stat'ed). With the path it identifies the version of the
//! file a record describes: `leakshot scan --output FILE --resume` skips inputs whose
//! identity FILE already holds (see [`crate::resume`]).
//!
//! `blake3` identifies the content whatever the name. A repost (the same bytes again in one
//! run) is not analysed again: its record copies the first one's verdict, confidence,
//! template and evidence, and `duplicate_of` names the first path. `cached: true` says the
//! fingerprint came from `--cache` (no decode, preprocessing or OCR: no such keys in
//! `timings_ms`) and was judged against the current models. `evidence.gate` is what the
//! pre-OCR gate measured; `passed: false` means it decided `clean` without OCR, and the
//! reason starts "no text-like structure". `evidence.allowlisted` names the `--ignore`
//! entry that cleared an image (then `clean`, `leak: false`, `template: null`, the
//! confidence kept).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::allowlist::AllowlistEvidence;
use crate::gate::GateEvidence;
use crate::matcher::Features;
use crate::score::Verdict;

/// One line of output.
#[derive(Debug, Clone, Serialize)]
pub struct Record {
    /// The file as given or found by the walk (lossy UTF-8 for odd names).
    pub path: String,
    /// `verdict == "leak"`.
    pub leak: bool,
    pub verdict: Verdict,
    /// In [0, 1]; 0 for errors.
    pub confidence: f64,
    /// Best-matching system when the verdict is not `clean`, else null.
    pub template: Option<String>,
    /// Why: null for errors.
    pub evidence: Option<Evidence>,
    /// What was decoded: null when decoding failed.
    pub image: Option<ImageInfo>,
    /// Milliseconds per stage: decode, preprocess, ocr, fingerprint, match, total.
    pub timings_ms: BTreeMap<String, f64>,
    /// Null, or why this file could not be analysed.
    pub error: Option<String>,
    /// Size and modification time when the analysis began; null when the path could not be
    /// stat'ed. Written after `error` so older readers that stop at `error` are unaffected.
    pub file: Option<FileInfo>,
    /// BLAKE3 hash of the file's bytes (64 lower-case hex digits): identifies the content
    /// whatever the file is called. Null when the file could not be read.
    pub blake3: Option<String>,
    /// The path of the first image of this run with the same bytes, when this one is a
    /// repost: its verdict, confidence, template and evidence are copied from there and it
    /// was not analysed again. Else null.
    pub duplicate_of: Option<String>,
    /// The image's fingerprint came from the `--cache` database: decode, preprocessing and
    /// OCR were skipped and the fingerprint judged against the current models.
    pub cached: bool,
}

impl Record {
    /// The record of an analysed image; `leak` follows the verdict, and what only the scan
    /// knows (image, timings, file, hash, repost, cache) is filled in later.
    pub fn judged(
        path: String,
        verdict: Verdict,
        confidence: f64,
        template: Option<String>,
        evidence: Evidence,
    ) -> Record {
        Record::bare(path, verdict, confidence, template, Some(evidence))
    }

    fn bare(
        path: String,
        verdict: Verdict,
        confidence: f64,
        template: Option<String>,
        evidence: Option<Evidence>,
    ) -> Record {
        Record {
            path,
            leak: verdict == Verdict::Leak,
            verdict,
            confidence,
            template,
            evidence,
            image: None,
            timings_ms: BTreeMap::new(),
            error: None,
            file: None,
            blake3: None,
            duplicate_of: None,
            cached: false,
        }
    }

    /// The record of a file that could not be analysed.
    pub fn failed(path: String, error: String, timings_ms: BTreeMap<String, f64>) -> Record {
        Record {
            timings_ms,
            error: Some(error),
            ..Record::bare(path, Verdict::Clean, 0.0, None, None)
        }
    }
}

/// What identifies the version of a file a record describes, with its path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FileInfo {
    /// Size in bytes.
    pub size: u64,
    /// Modification time in nanoseconds since the Unix epoch (negative before 1970,
    /// saturated past the year 2262). Above 2^53: read it as an integer, not a float.
    pub mtime_ns: i64,
}

impl FileInfo {
    /// Stats `path` (following symlinks, as the walk does); `None` when that fails.
    ///
    /// Call it before reading the file: if the file changes in between, the record carries
    /// the older identity and a resumed scan analyses the new version instead of skipping it.
    pub fn of(path: &std::path::Path) -> Option<FileInfo> {
        std::fs::metadata(path)
            .ok()
            .map(|m| FileInfo::from_metadata(&m))
    }

    pub fn from_metadata(meta: &std::fs::Metadata) -> FileInfo {
        use std::os::unix::fs::MetadataExt;
        let ns = i128::from(meta.mtime()) * 1_000_000_000 + i128::from(meta.mtime_nsec());
        FileInfo {
            size: meta.len(),
            mtime_ns: i64::try_from(ns).unwrap_or(if ns < 0 { i64::MIN } else { i64::MAX }),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ImageInfo {
    pub width: u32,
    pub height: u32,
    pub format: String,
    pub bytes: u64,
    /// For an animation, the frame analysed (0 the first: a later one when it shows
    /// clearly more); null for a still image.
    #[serde(default)]
    pub frame: Option<usize>,
    /// The file ends before its image data does: what arrived was analysed, the rest of
    /// the picture is blank.
    #[serde(default)]
    pub truncated: bool,
    /// Degrees clockwise the image was turned before analysis, when it was posted sideways
    /// (its letters in columns; 90 or 270): width, height and every box are the turned
    /// image's (reduced to 3,000 pixels on its long side when larger). Null when it was
    /// analysed as decoded.
    #[serde(default)]
    pub turned: Option<u16>,
}

/// The evidence behind a verdict, for the best template.
#[derive(Debug, Clone, Serialize)]
pub struct Evidence {
    /// One sentence a person can read.
    pub reason: String,
    /// Whether words naming the organisation were read.
    pub org_evidence: bool,
    /// Whose system the words say it is: `ours` (organisation words read), `foreign`
    /// (another organisation's words where ours belong), `unknown` (the kit alone matched).
    pub ownership: crate::score::Ownership,
    /// Confidence that the image shows this system's UI, before the organisation gate.
    pub kit_confidence: f64,
    pub features: Features,
    /// Each model feature's contribution to the logit, and the bias.
    pub contributions: BTreeMap<String, f64>,
    /// Image words that matched the template's vocabulary (in place first, heaviest first).
    pub matched_words: Vec<MatchedWord>,
    /// Distinct organisation-naming template words that were read.
    pub org_words: Vec<String>,
    /// Protective-marking words that were read.
    pub markings: Vec<MatchedWord>,
    pub layout: LayoutEvidence,
    /// Places where the template has an organisation word and the image shows other
    /// distinctive words: another organisation's system on the same UI.
    pub foreign_words: Vec<ForeignWords>,
    /// Every template's confidence, best first.
    pub candidates: Vec<CandidateScore>,
    /// What the pre-OCR gate measured (see [`crate::gate`]); `passed: false` means it
    /// decided `clean` without OCR. Null when the gate did not run (`--no-gate`).
    pub gate: Option<GateEvidence>,
    /// The `--ignore` entry that cleared this image, with the verdict it had; else null.
    pub allowlisted: Option<AllowlistEvidence>,
}

impl Evidence {
    /// Evidence with nothing matched, for a verdict reached without matching (the gate).
    pub fn empty(reason: String) -> Evidence {
        Evidence {
            reason,
            org_evidence: false,
            ownership: crate::score::Ownership::Unknown,
            kit_confidence: 0.0,
            features: Features::default(),
            contributions: BTreeMap::new(),
            matched_words: Vec::new(),
            org_words: Vec::new(),
            markings: Vec::new(),
            layout: LayoutEvidence {
                reference: String::new(),
                scale: 0.0,
                offset: [0.0, 0.0],
                words_in_place: 0,
                region: None,
                chrome_coverage: 0.0,
                palette_similarity: 0.0,
                chrome_look: 0.0,
                screen: None,
            },
            foreign_words: Vec::new(),
            candidates: Vec::new(),
            gate: None,
            allowlisted: None,
        }
    }
}

/// One matched word.
#[derive(Debug, Clone, Serialize)]
pub struct MatchedWord {
    /// Normalised token read in the image.
    pub text: String,
    /// The template vocabulary word it matched (differs when matched fuzzily).
    pub template_word: String,
    /// [left, top, width, height] in image pixels.
    #[serde(rename = "box")]
    pub bbox: [f32; 4],
    pub weight: f32,
    /// Sits where the template has it (geometrically consistent).
    pub in_place: bool,
    pub org: bool,
    pub marking: bool,
}

/// Other words where the template names its organisation.
#[derive(Debug, Clone, Serialize)]
pub struct ForeignWords {
    /// The template's organisation word expected at this place.
    pub template_word: String,
    /// What the image shows there instead.
    pub image_words: Vec<String>,
    /// [left, top, width, height] of those words in image pixels.
    #[serde(rename = "box")]
    pub bbox: [f32; 4],
}

/// The geometric alignment with the best reference.
#[derive(Debug, Clone, Serialize)]
pub struct LayoutEvidence {
    /// File name of the enrolled reference that aligned best.
    pub reference: String,
    /// Image pixels per reference pixel.
    pub scale: f32,
    /// Where the reference's origin lands in the image: [x, y].
    pub offset: [f32; 2],
    pub words_in_place: usize,
    /// [left, top, width, height] of the region the in-place words cover, in image pixels.
    pub region: Option<[f32; 4]>,
    pub chrome_coverage: f32,
    pub palette_similarity: f32,
    /// How far the image shows the template's chrome colours where the alignment puts
    /// them, -1 (all different) to 1 (all alike); 0 when nothing aligned.
    #[serde(default)]
    pub chrome_look: f32,
    /// Corners of the monitor found in a phone photo ([x, y] top-left, top-right,
    /// bottom-right, bottom-left), when the image was rectified before OCR; else null.
    pub screen: Option<[[f32; 2]; 4]>,
}

/// A template's score for this image.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CandidateScore {
    pub template: String,
    pub confidence: f64,
    pub kit_confidence: f64,
    pub org_evidence: bool,
    /// The model's feature vector (named as in `calibration.json`), kept so that the
    /// calibration can be refitted from scan output.
    pub model_features: BTreeMap<String, f64>,
}
