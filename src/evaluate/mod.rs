//! Accuracy metrics for `leakshot scan` output against a labelled corpus.
//!
//! Inputs are the corpus's `labels.jsonl` (one [`Label`] per test image) and the scan's JSON Lines
//! records (one [`Record`] per scanned file). [`Report::build`] joins them by file name and
//! computes the figures the project tracks: ROC-AUC of `confidence`, recall at a fixed
//! false-positive rate (the operating point that matters for a monitoring tool, where every false
//! alarm costs an analyst's time), the tool's own verdict rates, template attribution, and the
//! same recall figures split by transform, kind and organisation evidence.
//!
//! Everything here is pure (no files, no printing) so it can be unit-tested on tiny in-code data;
//! the `accuracy` binary reads the files, runs the scanner and prints the [`Report`] (its
//! `Display` is the plain-text report, its `Serialize` the JSON one).

mod input;
mod metrics;
mod render;

use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

use crate::score::Verdict;

pub use input::{mark_enrolled, parse_labels, parse_records, Label, ParseError, Record};
pub use metrics::{roc_auc, threshold_at_fpr, Fraction};

/// FPR targets the report gives recall at; the first is the headline operating point used for
/// the per-group tables, the misses list and attribution.
pub const FPR_TARGETS: [f64; 2] = [0.01, 0.05];

/// How many of the highest-scoring negatives the report lists.
const TOP_NEGATIVES: usize = 10;

/// One labelled image with what the scan said about it (`verdict` is `None` when the scan wrote
/// no record for it, which then counts as not flagged with confidence 0).
#[derive(Debug, Clone)]
struct Scored<'a> {
    label: &'a Label,
    record: Option<&'a Record>,
    confidence: f64,
    verdict: Option<Verdict>,
}

impl Scored<'_> {
    fn is(&self, verdict: Verdict) -> bool {
        self.verdict == Some(verdict)
    }

    fn flagged(&self) -> bool {
        self.is(Verdict::Leak) || self.is(Verdict::Review)
    }

    fn template(&self) -> Option<&str> {
        self.record.and_then(|r| r.template.as_deref())
    }

    fn attributed(&self) -> bool {
        self.template().is_some() && self.template() == self.label.system.as_deref()
    }

    /// Whether the system the record's confidence is for is the labelled one (a positive
    /// ranked above a threshold by a `clean` record's best candidate is attributed to it).
    fn ranked_attributed(&self) -> bool {
        let ranked = self.record.and_then(Record::ranked_template);
        ranked.is_some() && ranked == self.label.system.as_deref()
    }
}

/// One system enrolled alone and scanned against a whole corpus: how its own images fare,
/// and how many of the others (other organisations' systems on its kit, other UIs, public
/// pages) it flags.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SoloRow {
    pub system: String,
    /// Images labelled with this system, and how many of them are `leak` and `review`.
    pub own: usize,
    pub own_leak: usize,
    pub own_review: usize,
    /// Every other image with a record, and how many of them are `leak` and `review`.
    pub others: usize,
    pub others_leak: usize,
    pub others_review: usize,
    /// The other images at `leak`: their files.
    pub false_leaks: Vec<String>,
}

impl SoloRow {
    /// Counts `records` (a scan with only `system` enrolled) against `labels`.
    pub fn build(system: &str, labels: &[Label], records: &[Record]) -> SoloRow {
        let (scored, _) = join(labels, records);
        let mut row = SoloRow {
            system: system.to_owned(),
            ..SoloRow::default()
        };
        for s in scored.iter().filter(|s| s.record.is_some()) {
            let (leak, review) = (s.is(Verdict::Leak), s.is(Verdict::Review));
            if s.label.system.as_deref() == Some(system) {
                row.own += 1;
                row.own_leak += usize::from(leak);
                row.own_review += usize::from(review);
            } else {
                row.others += 1;
                row.others_leak += usize::from(leak);
                row.others_review += usize::from(review);
                if leak {
                    row.false_leaks.push(s.label.file.clone());
                }
            }
        }
        row
    }
}

/// Joins records to labels: a record belongs to the label whose `file` is a path suffix of the
/// record's `path` (so absolute, relative and `./` paths all match). Returns the labels in
/// order, and the records that matched no label or repeated one.
fn join<'a>(labels: &'a [Label], records: &'a [Record]) -> (Vec<Scored<'a>>, usize) {
    let index: HashMap<&str, usize> = labels
        .iter()
        .enumerate()
        .map(|(i, l)| (l.file.trim_start_matches("./"), i))
        .collect();
    let mut matched: Vec<Option<&Record>> = vec![None; labels.len()];
    let mut unmatched = 0;
    for record in records {
        let path = record.path.replace('\\', "/");
        // Try "img.jpg", then "images/img.jpg", ... (the label may name any number of folders).
        let slot = path
            .match_indices('/')
            .map(|(i, _)| &path[i + 1..])
            .rev()
            .chain(std::iter::once(path.as_str()))
            .find_map(|suffix| index.get(suffix).copied());
        match slot {
            Some(i) if matched[i].is_none() => matched[i] = Some(record),
            _ => unmatched += 1,
        }
    }
    let scored = labels
        .iter()
        .zip(matched)
        .map(|(label, record)| Scored {
            label,
            record,
            confidence: record.map_or(0.0, Record::confidence),
            verdict: record.map(Record::verdict),
        })
        .collect();
    (scored, unmatched)
}

/// Image, label and record counts.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Counts {
    /// Labelled images (the evaluation set).
    pub images: usize,
    pub positives: usize,
    pub negatives: usize,
    /// Records that carry an `error`.
    pub errors: usize,
    /// Labelled images the scan wrote no record for (counted as not flagged, confidence 0).
    pub missing: usize,
    /// Records that matched no label, or a label already matched.
    pub unmatched_records: usize,
    /// Negatives turned into leaks because their system was enrolled too (see [`mark_enrolled`]).
    pub relabelled: usize,
}

/// Recall and false-positive rate at one decision rule: a confidence threshold or a verdict.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OperatingPoint {
    pub name: String,
    /// FPR target the threshold was chosen for (threshold rules only).
    pub fpr_target: Option<f64>,
    /// Confidence `>=` this counts as flagged (threshold rules only).
    pub threshold: Option<f64>,
    /// Positives flagged.
    pub recall: Fraction,
    /// Negatives flagged.
    pub false_positives: Fraction,
}

/// Whether the flagged positives were attributed to the right system (`template == system`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Attribution {
    /// Among positives with verdict `leak`.
    pub at_verdict_leak: Fraction,
    /// Among positives at or above the first FPR target's threshold.
    pub at_fpr_threshold: Option<Fraction>,
}

/// Recall and negative flags for one group of images (a transform, a kind, ...).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupRow {
    pub group: String,
    /// Positives at or above the first FPR target's threshold.
    pub recall_at_fpr_threshold: Option<Fraction>,
    pub recall_leak: Fraction,
    pub recall_leak_or_review: Fraction,
    /// Negatives with verdict `leak`.
    pub negatives_leak: Fraction,
    /// Negatives with verdict `review`.
    pub negatives_review: Fraction,
}

impl GroupRow {
    fn new(group: String, members: &[&Scored], threshold: Option<f64>) -> Self {
        let (pos, neg): (Vec<&Scored>, Vec<&Scored>) =
            members.iter().copied().partition(|s| s.label.leak);
        GroupRow {
            group,
            recall_at_fpr_threshold: threshold
                .map(|t| Fraction::count(&pos, |s| s.confidence >= t)),
            recall_leak: Fraction::count(&pos, |s| s.is(Verdict::Leak)),
            recall_leak_or_review: Fraction::count(&pos, |s| s.flagged()),
            negatives_leak: Fraction::count(&neg, |s| s.is(Verdict::Leak)),
            negatives_review: Fraction::count(&neg, |s| s.is(Verdict::Review)),
        }
    }
}

/// One image in a list (false positives, top negatives, misses).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImageRow {
    pub file: String,
    pub kind: String,
    /// The labelled system (or, for public pages, the organisation's system).
    pub system: Option<String>,
    pub page: Option<String>,
    pub transforms: Vec<String>,
    pub org_evidence: Option<bool>,
    pub confidence: f64,
    /// `None` when the scan wrote no record.
    pub verdict: Option<Verdict>,
    pub template: Option<String>,
    pub error: Option<String>,
}

impl ImageRow {
    fn new(s: &Scored) -> Self {
        let label = s.label;
        ImageRow {
            file: label.file.clone(),
            kind: label.kind_name().to_owned(),
            system: label.system.clone().or_else(|| label.org_system.clone()),
            page: label.page_name(),
            transforms: label.transforms.clone(),
            org_evidence: label.org_evidence,
            confidence: s.confidence,
            verdict: s.verdict,
            template: s.template().map(str::to_owned),
            error: match s.record {
                Some(r) => r.error.clone(),
                None => Some("no record".to_owned()),
            },
        }
    }
}

/// How one evidence feature separates positives from negatives.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FeatureRow {
    pub name: String,
    pub positives: usize,
    pub negatives: usize,
    pub mean_positive: Option<f64>,
    pub mean_negative: Option<f64>,
    /// ROC-AUC of the feature alone (0.5 = no signal; below 0.5 = higher on negatives).
    pub auc: Option<f64>,
}

/// Mean time of one pipeline stage over the records that report it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StageTime {
    pub stage: String,
    pub records: usize,
    pub mean_ms: f64,
}

/// Speed of the scan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Throughput {
    /// Wall clock of the scan command; `None` when records were reused.
    pub scan_seconds: Option<f64>,
    pub images_per_second: Option<f64>,
    pub stages: Vec<StageTime>,
    /// Sum of `ocr` over sum of `total`, over records that report both.
    pub ocr_share: Option<f64>,
}

impl Throughput {
    fn new(records: &[Record], scan_seconds: Option<f64>) -> Self {
        let mut sums: BTreeMap<&str, (usize, f64)> = BTreeMap::new();
        let (mut ocr, mut total) = (0.0, 0.0);
        for record in records {
            let timings = record.timings();
            for &(stage, ms) in &timings {
                let entry = sums.entry(stage).or_default();
                entry.0 += 1;
                entry.1 += ms;
            }
            let get = |name: &str| timings.iter().find(|(k, _)| *k == name).map(|t| t.1);
            if let (Some(o), Some(t)) = (get("ocr"), get("total")) {
                ocr += o;
                total += t;
            }
        }
        let mut stages: Vec<StageTime> = sums
            .into_iter()
            .map(|(stage, (n, sum))| StageTime {
                stage: stage.to_owned(),
                records: n,
                mean_ms: sum / n as f64,
            })
            .collect();
        // Slowest first, `total` last as the sum line.
        stages.sort_by(|a, b| {
            (a.stage == "total")
                .cmp(&(b.stage == "total"))
                .then(b.mean_ms.total_cmp(&a.mean_ms))
        });
        Throughput {
            scan_seconds,
            images_per_second: scan_seconds
                .filter(|&s| s > 0.0)
                .map(|s| records.len() as f64 / s),
            stages,
            ocr_share: (total > 0.0).then(|| ocr / total),
        }
    }
}

/// The whole accuracy report. `Display` renders the plain-text tables.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub counts: Counts,
    pub roc_auc: Option<f64>,
    /// Recall at each of [`FPR_TARGETS`], then at the verdicts `leak`, `review`, `leak|review`.
    pub operating_points: Vec<OperatingPoint>,
    pub attribution: Attribution,
    pub by_transform: Vec<GroupRow>,
    pub by_kind: Vec<GroupRow>,
    /// Positives only: `org_evidence` true / false / unknown.
    pub by_org_evidence: Vec<GroupRow>,
    /// Positives only: on an enrollment page or another page of the system.
    pub by_enrolled_page: Vec<GroupRow>,
    /// Every negative with verdict `leak`, highest confidence first.
    pub false_positives: Vec<ImageRow>,
    /// The highest-confidence negatives, whatever their verdict.
    pub top_negatives: Vec<ImageRow>,
    /// Positives below the first FPR target's threshold, highest confidence first.
    pub misses: Vec<ImageRow>,
    pub features: Vec<FeatureRow>,
    /// Per kind: images, and how many the pre-OCR gate decided without OCR.
    pub gated_by_kind: Vec<(String, usize, usize)>,
    /// Positives the gate stopped: each one a leak missed before OCR. Must stay empty.
    pub gated_positives: Vec<String>,
    pub throughput: Throughput,
}

impl Report {
    /// Evaluates `records` against `labels`. `relabelled` is what [`mark_enrolled`] returned (0
    /// if not used); `scan_seconds` is the scan's wall clock, if it ran.
    pub fn build(
        labels: &[Label],
        records: &[Record],
        relabelled: usize,
        scan_seconds: Option<f64>,
    ) -> Report {
        let (scored, unmatched_records) = join(labels, records);
        let (pos, neg): (Vec<&Scored>, Vec<&Scored>) = scored.iter().partition(|s| s.label.leak);
        let counts = Counts {
            images: scored.len(),
            positives: pos.len(),
            negatives: neg.len(),
            errors: scored
                .iter()
                .filter(|s| s.record.is_some_and(|r| r.error.is_some()))
                .count(),
            missing: scored.iter().filter(|s| s.record.is_none()).count(),
            unmatched_records,
            relabelled,
        };

        let operating_points = operating_points(&pos, &neg);
        let threshold = operating_points[0].threshold;

        let leak_positives: Vec<&Scored> = pos
            .iter()
            .copied()
            .filter(|s| s.is(Verdict::Leak))
            .collect();
        let attribution = Attribution {
            at_verdict_leak: Fraction::count(&leak_positives, |s| s.attributed()),
            at_fpr_threshold: threshold.map(|t| {
                let above: Vec<&Scored> =
                    pos.iter().copied().filter(|s| s.confidence >= t).collect();
                Fraction::count(&above, |s| s.ranked_attributed())
            }),
        };

        let all: Vec<&Scored> = scored.iter().collect();
        let by_transform = group_rows(&all, threshold, |s| s.label.transforms.clone());
        let by_kind = group_rows(&all, threshold, |s| vec![s.label.kind_name().to_owned()]);
        let by_org_evidence = group_rows(&pos, threshold, |s| {
            flag_key(s.label.org_evidence, "org evidence", "no org evidence")
        });
        let by_enrolled_page = group_rows(&pos, threshold, |s| {
            flag_key(s.label.enrolled_page, "enrolled page", "other page")
        });

        let mut neg_ranked = neg.clone();
        neg_ranked.sort_by(|a, b| b.confidence.total_cmp(&a.confidence));
        let false_positives = neg_ranked
            .iter()
            .filter(|s| s.is(Verdict::Leak))
            .map(|s| ImageRow::new(s))
            .collect();
        let top_negatives = neg_ranked
            .iter()
            .take(TOP_NEGATIVES)
            .map(|s| ImageRow::new(s))
            .collect();
        let mut misses: Vec<&Scored> = match threshold {
            Some(t) => pos.iter().copied().filter(|s| s.confidence < t).collect(),
            None => Vec::new(),
        };
        misses.sort_by(|a, b| b.confidence.total_cmp(&a.confidence));

        let gated = |s: &Scored| s.record.is_some_and(Record::gated);
        let mut gate_counts: BTreeMap<String, (usize, usize)> = BTreeMap::new();
        for s in &scored {
            let entry = gate_counts
                .entry(s.label.kind_name().to_owned())
                .or_default();
            entry.0 += 1;
            entry.1 += usize::from(gated(s));
        }
        let gated_positives = pos
            .iter()
            .filter(|s| gated(s))
            .map(|s| s.label.file.clone())
            .collect();

        Report {
            counts,
            roc_auc: roc_auc(&scores(&pos), &scores(&neg)),
            operating_points,
            attribution,
            by_transform,
            by_kind,
            by_org_evidence,
            by_enrolled_page,
            false_positives,
            top_negatives,
            misses: misses.iter().map(|s| ImageRow::new(s)).collect(),
            features: feature_rows(&scored),
            gated_by_kind: gate_counts
                .into_iter()
                .map(|(k, (n, g))| (k, n, g))
                .collect(),
            gated_positives,
            throughput: Throughput::new(records, scan_seconds),
        }
    }
}

fn scores(items: &[&Scored]) -> Vec<f64> {
    items.iter().map(|s| s.confidence).collect()
}

/// Recall and FPR at each of [`FPR_TARGETS`]' thresholds, then at the tool's verdicts.
fn operating_points(pos: &[&Scored], neg: &[&Scored]) -> Vec<OperatingPoint> {
    let neg_scores = scores(neg);
    let mut points: Vec<OperatingPoint> = FPR_TARGETS
        .iter()
        .map(|&fpr| {
            let threshold = threshold_at_fpr(&neg_scores, fpr);
            let above = |s: &&Scored| threshold.is_some_and(|t| s.confidence >= t);
            OperatingPoint {
                name: format!("{}% FPR", fpr * 100.0),
                fpr_target: Some(fpr),
                threshold,
                recall: Fraction::count(pos, above),
                false_positives: Fraction::count(neg, above),
            }
        })
        .collect();
    let verdict_point = |name: &str, rule: &dyn Fn(&&Scored) -> bool| OperatingPoint {
        name: name.to_owned(),
        fpr_target: None,
        threshold: None,
        recall: Fraction::count(pos, rule),
        false_positives: Fraction::count(neg, rule),
    };
    points.extend([
        verdict_point("verdict leak", &|s| s.is(Verdict::Leak)),
        verdict_point("verdict review", &|s| s.is(Verdict::Review)),
        verdict_point("verdict leak|review", &|s| s.flagged()),
    ]);
    points
}

/// Group key of an optional label flag.
fn flag_key(flag: Option<bool>, yes: &str, no: &str) -> Vec<String> {
    let key = match flag {
        Some(true) => yes,
        Some(false) => no,
        None => "unknown",
    };
    vec![key.to_owned()]
}

/// One row per group key (an image may sit in several groups, e.g. one per transform), largest
/// group first.
fn group_rows(
    items: &[&Scored],
    threshold: Option<f64>,
    keys: impl Fn(&Scored) -> Vec<String>,
) -> Vec<GroupRow> {
    let mut groups: BTreeMap<String, Vec<&Scored>> = BTreeMap::new();
    for &item in items {
        for key in keys(item) {
            groups.entry(key).or_default().push(item);
        }
    }
    let mut groups: Vec<(String, Vec<&Scored>)> = groups.into_iter().collect();
    groups.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then_with(|| a.0.cmp(&b.0)));
    groups
        .into_iter()
        .map(|(key, members)| GroupRow::new(key, &members, threshold))
        .collect()
}

fn feature_rows(scored: &[Scored]) -> Vec<FeatureRow> {
    // name -> (positive values, negative values)
    let mut values: BTreeMap<&str, (Vec<f64>, Vec<f64>)> = BTreeMap::new();
    for s in scored {
        for (name, x) in s.record.map(Record::features).unwrap_or_default() {
            let (pos, neg) = values.entry(name).or_default();
            let side = if s.label.leak { pos } else { neg };
            side.push(x);
        }
    }
    let mean = |v: &[f64]| (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64);
    values
        .into_iter()
        .map(|(name, (p, n))| FeatureRow {
            name: name.to_owned(),
            positives: p.len(),
            negatives: n.len(),
            mean_positive: mean(&p),
            mean_negative: mean(&n),
            auc: roc_auc(&p, &n),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::render::table;
    use super::*;
    use serde_json::Value;
    use std::collections::BTreeSet;

    fn label(file: &str, leak: bool, kind: &str, transforms: &[&str]) -> Label {
        Label {
            file: file.to_owned(),
            leak,
            system: leak.then(|| "sys-a".to_owned()),
            page: None,
            enrolled_page: Some(leak),
            transforms: transforms.iter().map(|t| (*t).to_owned()).collect(),
            kind: Some(kind.to_owned()),
            view: None,
            org_evidence: leak.then_some(true),
            org_evidence_tokens: Vec::new(),
            org: None,
            org_system: None,
        }
    }

    fn record(path: &str, verdict: &str, confidence: f64, template: Option<&str>) -> Record {
        Record {
            path: path.to_owned(),
            verdict: Some(verdict.to_owned()),
            confidence: Some(confidence),
            template: template.map(str::to_owned),
            ..Record::default()
        }
    }

    #[test]
    fn a_solo_row_counts_the_systems_own_images_and_flags_on_the_others() {
        let mut twin = label("images/b.jpg", false, "other-ui", &[]);
        twin.system = Some("sys-b".to_owned());
        let labels = vec![
            label("images/a.jpg", true, "positive", &[]),
            twin,
            label("images/c.jpg", false, "photo", &[]),
            label("images/d.jpg", false, "text", &[]),
        ];
        let records = vec![
            record("x/images/a.jpg", "leak", 0.9, Some("sys-a")),
            record("x/images/b.jpg", "leak", 0.8, Some("sys-a")),
            record("x/images/c.jpg", "review", 0.4, Some("sys-a")),
        ];
        let row = SoloRow::build("sys-a", &labels, &records);
        assert_eq!((row.own, row.own_leak, row.own_review), (1, 1, 0));
        // The unscanned image counts nowhere.
        assert_eq!((row.others, row.others_leak, row.others_review), (2, 1, 1));
        assert_eq!(row.false_leaks, vec!["images/b.jpg".to_owned()]);
    }

    #[test]
    fn a_clean_records_ranking_is_its_best_candidates() {
        let mut r = record("c/images/a.jpg", "clean", 0.3, None);
        assert_eq!(r.ranked_template(), None);
        r.evidence =
            Some(serde_json::json!({"candidates": [{"template": "s"}, {"template": "t"}]}));
        assert_eq!(r.ranked_template(), Some("s"));
        r.template = Some("t".into());
        assert_eq!(r.ranked_template(), Some("t"));
    }

    fn close(a: Option<f64>, b: f64) -> bool {
        a.is_some_and(|a| (a - b).abs() < 1e-12)
    }

    #[test]
    fn auc_of_perfect_ranking_is_one() {
        assert!(close(roc_auc(&[0.9, 0.8], &[0.1, 0.2, 0.3]), 1.0));
    }

    #[test]
    fn auc_of_reversed_ranking_is_zero() {
        assert!(close(roc_auc(&[0.1], &[0.5, 0.9]), 0.0));
    }

    #[test]
    fn auc_of_ties_is_half() {
        assert!(close(roc_auc(&[0.5, 0.5], &[0.5, 0.5, 0.5]), 0.5));
    }

    #[test]
    fn auc_counts_a_tie_as_half() {
        // Pairs: (0.8 vs 0.2) win, (0.8 vs 0.8) tie, (0.4 vs 0.2) win, (0.4 vs 0.8) loss.
        assert!(close(roc_auc(&[0.8, 0.4], &[0.2, 0.8]), 2.5 / 4.0));
    }

    #[test]
    fn auc_needs_both_classes() {
        assert_eq!(roc_auc(&[], &[0.1]), None);
        assert_eq!(roc_auc(&[0.1], &[]), None);
    }

    #[test]
    fn threshold_at_low_fpr_excludes_the_top_negative() {
        let negatives: Vec<f64> = (0..60).map(|i| f64::from(i) / 100.0).collect();
        let t = threshold_at_fpr(&negatives, 0.01);
        // 1% of 60 allows no negative: the threshold must lie just above the highest, 0.59.
        assert!(t.is_some_and(|t| t > 0.59 && t.next_down() == 0.59));
        assert_eq!(
            negatives
                .iter()
                .filter(|&&n| t.is_some_and(|t| n >= t))
                .count(),
            0
        );
    }

    #[test]
    fn threshold_at_fpr_allows_floor_of_fpr_times_n() {
        let negatives: Vec<f64> = (0..100).map(|i| f64::from(i) / 100.0).collect();
        for (fpr, allowed) in [(0.01, 1), (0.05, 5), (0.29, 29), (0.0, 0)] {
            let t = threshold_at_fpr(&negatives, fpr);
            let above = negatives
                .iter()
                .filter(|&&n| t.is_some_and(|t| n >= t))
                .count();
            assert_eq!(above, allowed, "fpr {fpr}");
        }
    }

    #[test]
    fn threshold_at_fpr_with_tied_negatives_stays_under_target() {
        // Two negatives tie at the top; allowing one would need splitting the tie, so neither
        // passes.
        let t = threshold_at_fpr(&[0.9, 0.9, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1], 0.1);
        assert!(t.is_some_and(|t| t > 0.9));
    }

    #[test]
    fn threshold_at_fpr_edge_cases() {
        assert_eq!(threshold_at_fpr(&[], 0.01), None);
        assert_eq!(threshold_at_fpr(&[0.3], 1.0), Some(f64::NEG_INFINITY));
    }

    #[test]
    fn labels_parse_leniently() {
        let text = r#"{"file": "images/a.jpg", "leak": true, "system": "s", "page": "dashboard", "transforms": ["crop", "jpeg"], "kind": "positive", "org_evidence": false, "org_evidence_tokens": []}

{"file": "images/b.png", "leak": false, "system": null, "page": ["coffee", "astronaut"], "transforms": null, "kind": "photo", "org": "X", "extra": 1}
{"file": "images/c.png", "leak": false}"#;
        let labels = parse_labels(text);
        assert!(labels.is_ok(), "{labels:?}");
        let labels = labels.unwrap_or_default();
        assert_eq!(labels.len(), 3);
        assert_eq!(labels[0].transforms, ["crop", "jpeg"]);
        assert_eq!(labels[0].org_evidence, Some(false));
        assert_eq!(labels[1].page_name().as_deref(), Some("coffee+astronaut"));
        assert!(labels[1].transforms.is_empty());
        assert_eq!(labels[2].kind, None);
    }

    #[test]
    fn labels_without_leak_are_rejected_with_line_number() {
        let err = parse_labels("{\"file\": \"a\", \"leak\": true}\n{\"file\": \"b\"}\n");
        assert!(matches!(err, Err(ParseError { line: 2, .. })), "{err:?}");
    }

    #[test]
    fn records_parse_leniently() {
        let text = r#"{"path": "c/images/a.jpg", "leak": true, "verdict": "leak", "confidence": 0.9, "template": "s", "error": null, "timings_ms": {"ocr": 30, "total": 50.5, "note": "x"}, "evidence": {"features": {"f1": 0.5, "name": "x"}}}
{"path": "c/images/b.jpg", "error": "decode failed"}
{"path": "c/images/d.jpg", "leak": true, "verdict": "LEAK?", "confidence": null, "evidence": null}"#;
        let records = parse_records(text).unwrap_or_default();
        assert_eq!(records.len(), 3);
        assert_eq!(records[0].timings(), [("ocr", 30.0), ("total", 50.5)]);
        assert_eq!(records[0].features(), [("f1", 0.5)]);
        assert_eq!(records[1].verdict(), Verdict::Clean);
        assert_eq!(records[1].confidence(), 0.0);
        // Unknown verdict falls back to the leak flag.
        assert_eq!(records[2].verdict(), Verdict::Leak);
        assert!(records[2].features().is_empty());
    }

    #[test]
    fn records_with_bad_json_report_the_line() {
        let err = parse_records("{\"path\": \"a\"}\n{\"path\": \n");
        assert!(matches!(err, Err(ParseError { line: 2, .. })), "{err:?}");
    }

    #[test]
    fn join_matches_by_path_suffix_and_counts_leftovers() {
        let labels = vec![
            label("images/a.jpg", true, "positive", &[]),
            label("images/b.jpg", false, "photo", &[]),
            label("images/c.jpg", false, "photo", &[]),
        ];
        let records = vec![
            record("/some/where/corpus/images/a.jpg", "leak", 0.9, None),
            record(r"corpus\images\b.jpg", "clean", 0.1, None),
            record("corpus/images/a.jpg", "leak", 0.9, None),
            record("corpus/images/zzz.jpg", "clean", 0.1, None),
        ];
        let (scored, unmatched) = join(&labels, &records);
        assert_eq!(unmatched, 2);
        assert!(scored[0].record.is_some() && scored[1].record.is_some());
        assert!(scored[2].record.is_none());
        assert_eq!(scored[2].confidence, 0.0);
    }

    #[test]
    fn mark_enrolled_turns_extra_systems_into_leaks() {
        let mut labels = vec![
            label("a", false, "other-ui", &[]),
            label("b", false, "other-ui", &[]),
            label("c", false, "other-ui", &[]),
        ];
        for (l, (system, page)) in
            labels
                .iter_mut()
                .zip([("extra", "tables"), ("extra", "forms"), ("other", "tables")])
        {
            l.system = Some(system.to_owned());
            l.page = Some(Value::from(page));
        }
        let pages = BTreeSet::from(["dashboard".to_owned(), "tables".to_owned()]);
        let systems = BTreeMap::from([("extra".to_owned(), pages)]);
        assert_eq!(mark_enrolled(&mut labels, &systems), 2);
        let flags: Vec<_> = labels.iter().map(|l| (l.leak, l.enrolled_page)).collect();
        assert_eq!(
            flags,
            [
                (true, Some(true)),
                (true, Some(false)),
                (false, Some(false))
            ]
        );
    }

    /// Three positives, four negatives: one negative flagged leak, one review.
    fn small_case() -> (Vec<Label>, Vec<Record>) {
        let labels = vec![
            label("images/p1.jpg", true, "positive", &["crop", "jpeg"]),
            label("images/p2.jpg", true, "positive", &["jpeg"]),
            label("images/p3.png", true, "positive", &["png"]),
            label("images/n1.jpg", false, "hard-negative", &["jpeg"]),
            label("images/n2.jpg", false, "photo", &["jpeg"]),
            label("images/n3.jpg", false, "text", &["crop", "jpeg"]),
            label("images/n4.png", false, "text", &["png"]),
        ];
        let mut records = vec![
            record("c/images/p1.jpg", "leak", 0.95, Some("sys-a")),
            record("c/images/p2.jpg", "leak", 0.85, Some("sys-b")),
            record("c/images/p3.png", "review", 0.40, None),
            record("c/images/n1.jpg", "leak", 0.90, Some("sys-a")),
            record("c/images/n2.jpg", "review", 0.50, None),
            record("c/images/n3.jpg", "clean", 0.10, None),
            record("c/images/n4.png", "clean", 0.05, None),
        ];
        records[0].timings_ms = Some(serde_json::json!({"ocr": 60.0, "total": 100.0}));
        records[1].timings_ms = Some(serde_json::json!({"ocr": 20.0, "total": 100.0}));
        (labels, records)
    }

    #[test]
    fn report_on_small_case() {
        let (labels, records) = small_case();
        let report = Report::build(&labels, &records, 0, Some(2.0));
        assert_eq!(report.counts.images, 7);
        assert_eq!((report.counts.positives, report.counts.negatives), (3, 4));
        // Pairs won: p1 beats 4, p2 beats 3, p3 beats 2 -> 9 of 12.
        assert!(close(report.roc_auc, 0.75));

        // 1% of 4 negatives allows none: threshold above n1 (0.90), only p1 passes.
        let at1 = &report.operating_points[0];
        assert!(at1.threshold.is_some_and(|t| t > 0.90));
        assert_eq!((at1.recall.hits, at1.recall.n), (1, 3));
        assert_eq!(at1.false_positives.hits, 0);

        let point = |name: &str| report.operating_points.iter().find(|p| p.name == name);
        let leak = point("verdict leak").map(|p| (p.recall.hits, p.false_positives.hits));
        assert_eq!(leak, Some((2, 1)));
        let review = point("verdict review").map(|p| (p.recall.hits, p.false_positives.hits));
        assert_eq!(review, Some((1, 1)));
        let either = point("verdict leak|review").map(|p| p.recall.hits);
        assert_eq!(either, Some(3));

        // p1 is attributed right, p2 wrong.
        assert_eq!(report.attribution.at_verdict_leak, Fraction::new(1, 2));
        assert_eq!(
            report.attribution.at_fpr_threshold,
            Some(Fraction::new(1, 1))
        );

        assert_eq!(report.by_transform[0].group, "jpeg"); // largest group first
        let jpeg = &report.by_transform[0];
        assert_eq!(jpeg.recall_at_fpr_threshold, Some(Fraction::new(1, 2)));
        assert_eq!(jpeg.recall_leak, Fraction::new(2, 2));
        assert_eq!(jpeg.negatives_leak, Fraction::new(1, 3));
        assert_eq!(jpeg.negatives_review, Fraction::new(1, 3));

        let files = |rows: &[ImageRow]| rows.iter().map(|r| r.file.clone()).collect::<Vec<_>>();
        assert_eq!(files(&report.false_positives), ["images/n1.jpg"]);
        assert_eq!(files(&report.top_negatives)[0], "images/n1.jpg");
        assert_eq!(files(&report.misses), ["images/p2.jpg", "images/p3.png"]);

        let t = &report.throughput;
        assert!(close(t.images_per_second, 3.5));
        assert!(close(t.ocr_share, 0.4));
        assert_eq!(t.stages.last().map(|s| s.stage.as_str()), Some("total"));
    }

    #[test]
    fn missing_records_count_as_unflagged() {
        let (labels, mut records) = small_case();
        records.remove(0); // p1 not scanned
        let report = Report::build(&labels, &records, 0, None);
        assert_eq!(report.counts.missing, 1);
        assert_eq!(report.operating_points[0].recall.hits, 0);
        assert_eq!(report.throughput.images_per_second, None);
        let miss = report.misses.iter().find(|r| r.file == "images/p1.jpg");
        assert_eq!(miss.and_then(|r| r.error.as_deref()), Some("no record"));
    }

    #[test]
    fn feature_auc_follows_the_labels() {
        let (labels, mut records) = small_case();
        for r in &mut records {
            let x = if r.path.contains("/p") { 1.0 } else { 0.0 };
            r.evidence = Some(serde_json::json!({"features": {"f": x}}));
        }
        let report = Report::build(&labels, &records, 0, None);
        assert_eq!(report.features.len(), 1);
        assert!(close(report.features[0].auc, 1.0));
    }

    #[test]
    fn report_renders_text_and_json() {
        let (labels, records) = small_case();
        let report = Report::build(&labels, &records, 0, Some(1.0));
        let text = report.to_string();
        for needle in [
            "ROC-AUC 0.7500",
            "1% FPR",
            "By transform",
            "images/n1.jpg",
            "ocr share",
        ] {
            assert!(text.contains(needle), "missing {needle:?} in\n{text}");
        }
        let json = serde_json::to_value(&report).unwrap_or_default();
        assert_eq!(json["counts"]["positives"], 3);
        assert_eq!(json["false_positives"][0]["verdict"], "leak");
    }

    #[test]
    fn table_aligns_columns() {
        let t = table(
            &["a", "n"],
            &[
                vec!["long".into(), "1".into()],
                vec!["x".into(), "22".into()],
            ],
        );
        assert_eq!(t, "  a      n\n  long   1\n  x     22\n");
    }

    #[test]
    fn gated_images_are_counted_by_kind_and_gated_positives_named() {
        let labels = vec![
            label("images/p.jpg", true, "positive", &["jpeg"]),
            label("images/q.jpg", true, "positive", &["jpeg"]),
            label("images/n.jpg", false, "photo", &["jpeg"]),
        ];
        let gate = |passed: bool| Some(serde_json::json!({"gate": {"passed": passed}}));
        let mut p = record("/c/images/p.jpg", "leak", 0.9, Some("sys-a"));
        p.evidence = gate(true);
        let mut q = record("/c/images/q.jpg", "clean", 0.0, None);
        q.evidence = gate(false);
        let mut n = record("/c/images/n.jpg", "clean", 0.0, None);
        n.evidence = gate(false);
        assert!(!p.gated() && q.gated());
        let report = Report::build(&labels, &[p, q, n], 0, None);
        assert_eq!(
            report.gated_by_kind,
            vec![("photo".to_owned(), 1, 1), ("positive".to_owned(), 2, 1)]
        );
        assert_eq!(report.gated_positives, vec!["images/q.jpg".to_owned()]);
        assert!(report.to_string().contains("POSITIVES GATED (1)"));
    }
}
