//! The harness's inputs: the corpus's labels and the scan's records, as JSON Lines.

use serde::{Deserialize, Deserializer};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use crate::score::Verdict;

/// A line of JSON Lines input that could not be parsed (1-based line number).
#[derive(Debug, Clone, PartialEq)]
pub struct ParseError {
    pub line: usize,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for ParseError {}

/// Ground truth for one test image, as written by the corpus generator. Only `file` and `leak`
/// are required; everything else is optional so older or extended corpora still parse.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Label {
    /// Path relative to the corpus root, e.g. `images/img0001.jpg`.
    pub file: String,
    /// True only for screenshots of an enrolled system.
    pub leak: bool,
    #[serde(default)]
    pub system: Option<String>,
    /// Page name; photos may carry a list of names, hence a raw value.
    #[serde(default)]
    pub page: Option<Value>,
    #[serde(default)]
    pub enrolled_page: Option<bool>,
    /// Ordered transforms applied to the render, output format last.
    #[serde(default, deserialize_with = "null_as_default")]
    pub transforms: Vec<String>,
    /// `positive`, `hard-negative`, `photo`, `text`, `same-org-public`, `other-ui`.
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub view: Option<String>,
    /// Leaks only: whether organisation-specific text is still legible in the image.
    #[serde(default)]
    pub org_evidence: Option<bool>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub org_evidence_tokens: Vec<String>,
    #[serde(default)]
    pub org: Option<String>,
    #[serde(default)]
    pub org_system: Option<String>,
}

impl Label {
    pub(super) fn kind_name(&self) -> &str {
        self.kind.as_deref().unwrap_or("(none)")
    }

    /// The page as one string: a name, or several joined with `+`.
    pub(super) fn page_name(&self) -> Option<String> {
        match self.page.as_ref()? {
            Value::String(s) => Some(s.clone()),
            Value::Array(items) => Some(
                items
                    .iter()
                    .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                    .collect::<Vec<_>>()
                    .join("+"),
            ),
            Value::Null => None,
            other => Some(other.to_string()),
        }
    }
}

/// The reading side of [`crate::report::Record`], one line of `leakshot scan --output`.
/// Lenient: every field but `path` may be missing and unknown fields are ignored, so the harness
/// also reads records from older or newer builds.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Record {
    pub path: String,
    #[serde(default)]
    pub leak: Option<bool>,
    #[serde(default)]
    pub verdict: Option<String>,
    #[serde(default)]
    pub confidence: Option<f64>,
    #[serde(default)]
    pub template: Option<String>,
    #[serde(default)]
    pub error: Option<String>,
    /// Stage name -> milliseconds; non-numeric entries are ignored.
    #[serde(default)]
    pub timings_ms: Option<Value>,
    /// May hold `features`: name -> number, the detector's inputs to its decision.
    #[serde(default)]
    pub evidence: Option<Value>,
}

impl Record {
    /// The system the record's confidence is for: its `template`, or, for a `clean` record
    /// (which names none), the first of `evidence.candidates`, whose confidence it reports.
    pub fn ranked_template(&self) -> Option<&str> {
        self.template.as_deref().or_else(|| {
            self.evidence
                .as_ref()?
                .get("candidates")?
                .get(0)?
                .get("template")?
                .as_str()
        })
    }

    /// The verdict, falling back to the `leak` flag when `verdict` is missing or unknown.
    pub fn verdict(&self) -> Verdict {
        match self
            .verdict
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("leak") => Verdict::Leak,
            Some("review") => Verdict::Review,
            Some("clean") => Verdict::Clean,
            _ if self.leak == Some(true) => Verdict::Leak,
            _ => Verdict::Clean,
        }
    }

    /// Confidence in 0..1; missing or non-finite counts as 0 so a broken record ranks last
    /// instead of vanishing from the metrics.
    pub fn confidence(&self) -> f64 {
        self.confidence.filter(|c| c.is_finite()).unwrap_or(0.0)
    }

    /// Whether the pre-OCR gate decided this image (`evidence.gate.passed == false`).
    pub fn gated(&self) -> bool {
        self.evidence
            .as_ref()
            .and_then(|e| e.get("gate"))
            .and_then(|g| g.get("passed"))
            .and_then(Value::as_bool)
            == Some(false)
    }

    /// Numeric per-stage timings in milliseconds.
    pub fn timings(&self) -> Vec<(&str, f64)> {
        numeric_entries(self.timings_ms.as_ref())
    }

    /// Numeric entries of `evidence.features`.
    pub fn features(&self) -> Vec<(&str, f64)> {
        numeric_entries(self.evidence.as_ref().and_then(|e| e.get("features")))
    }
}

fn numeric_entries(value: Option<&Value>) -> Vec<(&str, f64)> {
    match value {
        Some(Value::Object(map)) => map
            .iter()
            .filter_map(|(k, v)| {
                v.as_f64()
                    .filter(|x| x.is_finite())
                    .map(|x| (k.as_str(), x))
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Treats an explicit `null` like a missing field.
fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// Parses JSON Lines, skipping blank lines.
fn parse_jsonl<T: for<'de> Deserialize<'de>>(text: &str) -> Result<Vec<T>, ParseError> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(i, line)| {
            serde_json::from_str(line).map_err(|e| ParseError {
                line: i + 1,
                message: e.to_string(),
            })
        })
        .collect()
}

/// Parses a corpus's `labels.jsonl`.
pub fn parse_labels(text: &str) -> Result<Vec<Label>, ParseError> {
    parse_jsonl(text)
}

/// Parses the scan's JSON Lines records.
pub fn parse_records(text: &str) -> Result<Vec<Record>, ParseError> {
    parse_jsonl(text)
}

/// Marks the images of additionally enrolled systems as leaks: once a system is enrolled, a
/// screenshot of it is exactly what the tool should flag, so keeping it a negative would count
/// correct detections as false positives. `systems` maps each system to its enrolled page names
/// (the template file stems), which also sets `enrolled_page`. Returns how many labels changed.
pub fn mark_enrolled(labels: &mut [Label], systems: &BTreeMap<String, BTreeSet<String>>) -> usize {
    let mut changed = 0;
    for label in labels.iter_mut().filter(|l| !l.leak) {
        let Some(pages) = label.system.as_ref().and_then(|s| systems.get(s)) else {
            continue;
        };
        label.enrolled_page = Some(label.page_name().is_some_and(|p| pages.contains(&p)));
        label.leak = true;
        changed += 1;
    }
    changed
}
