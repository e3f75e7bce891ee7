//! Calibrate: refit the score model from a scan's records and labels.
//!
//! Every (image, template) pair is one sample: positive when the image is a leak of that
//! template's system. The kit model is fitted on all pairs; a leave-one-system-out
//! cross-validation says how it does on a system it never saw. The `leak` threshold is set
//! so that at most `leak_fpr` of negative images reach it, the `review` threshold so that
//! at most `review_fpr` do.

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;

use crate::evaluate::{parse_labels, Label};
use crate::report::CandidateScore;
use crate::score::{fit_logistic, gated_confidence, model_confidence, Ownership, FEATURE_NAMES};
use crate::template::{Calibration, LinearModel, CALIBRATION_FORMAT_VERSION};

/// What calibration needs of a record line.
#[derive(Debug, Clone, Deserialize)]
struct RecordLine {
    path: String,
    #[serde(default)]
    evidence: Option<EvidenceLine>,
}

#[derive(Debug, Clone, Deserialize)]
struct EvidenceLine {
    candidates: Vec<CandidateScore>,
}

/// One image's candidates joined with its label.
pub struct Sample {
    pub label: Label,
    pub candidates: Vec<CandidateScore>,
}

/// Joins records to labels by file name suffix (`images/img0001.jpg`).
pub fn join(records_jsonl: &str, labels_jsonl: &str) -> Result<Vec<Sample>, String> {
    let labels = parse_labels(labels_jsonl).map_err(|e| e.to_string())?;
    let mut by_name: HashMap<String, Label> = HashMap::new();
    for l in labels {
        let name = l.file.rsplit('/').next().unwrap_or(&l.file).to_string();
        by_name.insert(name, l);
    }
    let mut out = Vec::new();
    for line in records_jsonl.lines().filter(|l| !l.trim().is_empty()) {
        let r: RecordLine = serde_json::from_str(line).map_err(|e| format!("bad record: {e}"))?;
        let name = r.path.rsplit('/').next().unwrap_or(&r.path);
        let (Some(label), Some(ev)) = (by_name.get(name), r.evidence) else {
            continue;
        };
        out.push(Sample {
            label: label.clone(),
            candidates: ev.candidates,
        });
    }
    Ok(out)
}

/// Features the models are not fitted on (their weight stays 0). A name is public: words
/// naming the organisation *anywhere* in the image (a public page has plenty) say nothing
/// about whether the system's UI is shown; they decide ownership, which gates the
/// verdict. Organisation words *in place* (`ln_org_geo_weight`) are layout evidence and
/// stay.
const NOT_FITTED: [&str; 1] = ["ln_org_weight"];

fn vector(c: &CandidateScore) -> Vec<f64> {
    FEATURE_NAMES
        .iter()
        .map(|n| {
            if NOT_FITTED.contains(n) {
                0.0
            } else {
                c.model_features.get(*n).copied().unwrap_or(0.0)
            }
        })
        .collect()
}

fn is_positive(s: &Sample, c: &CandidateScore) -> bool {
    s.label.leak && s.label.system.as_deref() == Some(c.template.as_str())
}

/// Fits a kit model on the candidates `keep` selects.
fn fit(samples: &[&Sample], keep: impl Fn(&CandidateScore) -> bool) -> LinearModel {
    let mut x = Vec::new();
    let mut y = Vec::new();
    for s in samples {
        for c in s.candidates.iter().filter(|c| keep(c)) {
            x.push(vector(c));
            y.push(is_positive(s, c));
        }
    }
    let (weights, bias) = fit_logistic(&x, &y, 0.05);
    LinearModel { weights, bias }
}

/// Whose system the candidate's features say it is, as `score` decides it.
fn ownership(c: &CandidateScore) -> Ownership {
    let feature = |name: &str| c.model_features.get(name).copied().unwrap_or(0.0);
    Ownership::of(
        feature("ln_org_weight").exp() - 1.0,
        -feature("neg_foreign_weight"),
    )
}

/// The kit model and the owner-less ranking model, fitted on `samples`.
struct FittedModels {
    kit: LinearModel,
    ownerless: LinearModel,
}

impl FittedModels {
    fn fit(samples: &[&Sample]) -> FittedModels {
        FittedModels {
            kit: fit(samples, |_| true),
            ownerless: fit(samples, |c| ownership(c) != Ownership::Ours),
        }
    }

    fn kit(&self, c: &CandidateScore) -> f64 {
        model_confidence(&self.kit.weights, self.kit.bias, &vector(c))
    }

    /// The candidate's final confidence, gated as `score` gates it.
    fn confidence(&self, c: &CandidateScore, leak_cap: f64) -> f64 {
        let x = vector(c);
        let ownerless = model_confidence(&self.ownerless.weights, self.ownerless.bias, &x);
        gated_confidence(self.kit(c), ownerless, ownership(c), leak_cap)
    }

    /// Image-level confidence: the best template's gated confidence.
    fn image_confidence(&self, s: &Sample, leak_cap: f64) -> f64 {
        s.candidates
            .iter()
            .map(|c| self.confidence(c, leak_cap))
            .fold(0.0, f64::max)
    }
}

/// Margin added to the leak threshold above the highest negative it must exclude.
const LEAK_MARGIN: f64 = 0.01;

/// Smallest threshold in [0, 1] that at most `fpr` of `negatives` reach.
fn threshold_at_fpr(negatives: &[f64], fpr: f64) -> f64 {
    crate::evaluate::threshold_at_fpr(negatives, fpr).map_or(0.0, |t| t.clamp(0.0, 1.0))
}

/// The fitted calibration and a human-readable report.
pub fn calibrate(samples: &[Sample], leak_fpr: f64, review_fpr: f64) -> (Calibration, String) {
    let mut report = String::new();
    let systems: Vec<String> = {
        let mut s: Vec<String> = samples
            .iter()
            .filter_map(|s| s.label.system.clone())
            .filter(|sys| {
                samples
                    .iter()
                    .any(|x| x.candidates.iter().any(|c| &c.template == sys))
            })
            .collect();
        s.sort();
        s.dedup();
        s
    };
    // Leave-one-system-out: fit without the system's positives, score its positives.
    for sys in &systems {
        let train: Vec<&Sample> = samples
            .iter()
            .filter(|s| s.label.system.as_deref() != Some(sys.as_str()) || !s.label.leak)
            .collect();
        let m = FittedModels::fit(&train);
        let neg: Vec<f64> = samples
            .iter()
            .filter(|s| !s.label.leak)
            .map(|s| m.image_confidence(s, 1.0))
            .collect();
        let t = threshold_at_fpr(&neg, 0.01);
        let held: Vec<&Sample> = samples
            .iter()
            .filter(|s| s.label.leak && s.label.system.as_deref() == Some(sys.as_str()))
            .collect();
        let hit = held
            .iter()
            .filter(|s| {
                s.candidates
                    .iter()
                    .find(|c| c.template == *sys)
                    .is_some_and(|c| m.confidence(c, 1.0) >= t)
            })
            .count();
        report.push_str(&format!(
            "held-out system {sys}: {hit}/{} of its leaks at or above the 1%-FPR threshold\n",
            held.len()
        ));
    }
    let all: Vec<&Sample> = samples.iter().collect();
    let models = FittedModels::fit(&all);
    // Only a negative with organisation evidence can reach `leak` (the rest are capped
    // below it), so those alone set the leak threshold.
    let org_neg: Vec<f64> = samples
        .iter()
        .filter(|s| !s.label.leak)
        .map(|s| {
            s.candidates
                .iter()
                .filter(|c| ownership(c) == Ownership::Ours)
                .map(|c| models.kit(c))
                .fold(0.0, f64::max)
        })
        .collect();
    let n_neg = org_neg.len();
    // A small margin above the highest allowed negative: the stored weights are rounded,
    // and unseen negatives vary more than these.
    let leak_threshold = ((threshold_at_fpr(&org_neg, leak_fpr) + LEAK_MARGIN).max(0.5) * 1e4)
        .ceil()
        .min(1e4)
        / 1e4;
    let gated_neg: Vec<f64> = samples
        .iter()
        .filter(|s| !s.label.leak)
        .map(|s| models.image_confidence(s, leak_threshold))
        .collect();
    let review_threshold = threshold_at_fpr(&gated_neg, review_fpr).min(leak_threshold * 0.9);
    report.push_str(&format!(
        "fitted on {} images ({} negatives); leak threshold {:.4} (negatives above: at most {:.1}%), review threshold {:.4} (at most {:.1}%)\n",
        samples.len(),
        n_neg,
        leak_threshold,
        leak_fpr * 100.0,
        review_threshold,
        review_fpr * 100.0
    ));
    let named = |m: &LinearModel| {
        FEATURE_NAMES
            .iter()
            .zip(&m.weights)
            .map(|(n, w)| (n.to_string(), (w * 1e3).round() / 1e3))
            .collect::<BTreeMap<_, _>>()
    };
    report.push_str(&format!(
        "kit weights {:?} bias {:.3}\nowner-less weights {:?} bias {:.3}\n",
        named(&models.kit),
        models.kit.bias,
        named(&models.ownerless),
        models.ownerless.bias
    ));
    let rounded = |m: &LinearModel| LinearModel {
        weights: m.weights.iter().map(|w| (w * 1e4).round() / 1e4).collect(),
        bias: (m.bias * 1e4).round() / 1e4,
    };
    let cal = Calibration {
        format: "leakshot-calibration".into(),
        version: CALIBRATION_FORMAT_VERSION,
        features: FEATURE_NAMES.iter().map(|s| s.to_string()).collect(),
        weights: rounded(&models.kit).weights,
        bias: rounded(&models.kit).bias,
        ownerless: Some(rounded(&models.ownerless)),
        leak_threshold,
        review_threshold: (review_threshold * 1e4).round() / 1e4,
        provenance: format!(
            "leakshot calibrate --leak-fpr {leak_fpr} --review-fpr {review_fpr}: {} labelled images, {} negatives",
            samples.len(),
            n_neg
        ),
    };
    (cal, report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threshold_keeps_negatives_below() {
        let neg = [0.1, 0.9, 0.3, 0.2];
        assert!(threshold_at_fpr(&neg, 0.0) > 0.9);
        let t = threshold_at_fpr(&neg, 0.25);
        assert!(t > 0.3 && t <= 0.9);
        assert_eq!(threshold_at_fpr(&[], 0.01), 0.0);
    }
}
