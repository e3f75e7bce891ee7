//! Score: combine one template's match features into a confidence, and decide the verdict.
//!
//! The combination is a logistic model over a few features of "this is that system's UI",
//! fitted on labelled data (`leakshot calibrate`) and stored in `models/calibration.json`.
//! Organisation evidence gates the verdict: a screen of the right UI that shows nothing
//! naming the organisation could be a look-alike built on the same kit, so it is capped
//! below the `leak` threshold and gets `review`. A name alone never makes a leak either:
//! without the system's UI in place the kit score stays low.

use serde::Serialize;

use crate::matcher::Features;
use crate::template::Calibration;

/// Feature names of the model, in order. Stable: they appear in `calibration.json`.
pub const FEATURE_NAMES: [&str; 11] = [
    "ln_chrome_geo_weight",
    "ln_content_geo_weight",
    "ln_geo_count",
    "chrome_coverage",
    "precision",
    "palette_with_words",
    "neg_foreign_weight",
    "ln_org_geo_weight",
    "ln_org_weight",
    "ln_text_weight",
    "chrome_look",
];

/// Organisation-naming weight read in the image from which we call it organisation evidence.
pub const MIN_ORG_WEIGHT: f32 = 0.85;

/// The model's inputs for one match.
pub fn feature_vector(f: &Features) -> [f64; 11] {
    [
        (1.0 + f.chrome_geo_weight as f64).ln(),
        (1.0 + (f.geo_weight - f.chrome_geo_weight).max(0.0) as f64).ln(),
        (1.0 + f.geo_count as f64).ln(),
        f.chrome_coverage as f64,
        f.precision as f64,
        // Colours alone match photos of anything blue; they count with the system's words.
        f.palette as f64 * (1.0 - (-((f.geo_count + f.text_weight) as f64) / 3.0).exp()),
        // Negated: the fit keeps weights non-negative, and this is evidence against.
        -(f.foreign_weight as f64),
        // The organisation's words where the system shows them (brand, badge, footer), not
        // merely somewhere in the image.
        (1.0 + f.org_geo_weight as f64).ln(),
        // Organisation words anywhere, and vocabulary anywhere: weak alone (public pages
        // have both), telling next to a UI that is partly in place.
        (1.0 + f.org_weight as f64).ln(),
        (1.0 + f.text_weight as f64).ln(),
        // The template's chrome colours where the alignment puts them: another kit showing
        // the same demo content aligns its words, not its sidebar.
        f.chrome_look as f64,
    ]
}

/// Three-tier outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Leak,
    Review,
    Clean,
}

/// Confidence and verdict for one template match, with per-feature contributions.
#[derive(Debug, Clone, Serialize)]
pub struct Scored {
    /// Probability-like score that the image shows this system, in [0, 1].
    pub kit_confidence: f64,
    /// Final confidence (kit confidence, capped below `leak` without organisation evidence).
    pub confidence: f64,
    pub org_evidence: bool,
    pub ownership: Ownership,
    pub verdict: Verdict,
    /// Each feature's additive contribution to the logit (weight x value), and the bias.
    pub contributions: Vec<(String, f64)>,
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// Share of the leak threshold below which a match showing another organisation's name
/// in the place of ours is kept: well under `review`, since the image says whose it is.
const FOREIGN_CAP: f64 = 0.3;

/// Share of the leak threshold an owner-less match can reach: just below it, keeping the
/// kit model's ranking among such matches.
const OWNERLESS_CAP: f64 = 0.999;

/// Whose system the image shows, as far as its words tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Ownership {
    /// Words naming the template's organisation were read.
    Ours,
    /// None of ours, and other distinctive words where the template names its organisation.
    Foreign,
    /// Nothing naming any organisation: the kit alone matched.
    Unknown,
}

impl Ownership {
    /// From the match features: where both our names and other words in their places were
    /// read, the heavier side wins (a foreign-looking word may be an OCR slip next to our
    /// own brand; one rare word of ours is no answer to another organisation's brand,
    /// staff names and footer).
    pub fn of(org_weight: f64, foreign_weight: f64) -> Ownership {
        if org_weight >= MIN_ORG_WEIGHT as f64 && org_weight >= foreign_weight {
            Ownership::Ours
        } else if foreign_weight > 0.0 {
            Ownership::Foreign
        } else {
            Ownership::Unknown
        }
    }
}

/// The final confidence from the kit confidences and who owns the screen: only our
/// organisation's evidence can reach `leak`; an owner-less match keeps its ranking below
/// it; another organisation's screen falls below `review`.
pub fn gated_confidence(
    kit: f64,
    ownerless_kit: f64,
    ownership: Ownership,
    leak_threshold: f64,
) -> f64 {
    match ownership {
        Ownership::Ours => kit,
        Ownership::Unknown => ownerless_kit * leak_threshold * OWNERLESS_CAP,
        Ownership::Foreign => ownerless_kit * leak_threshold * FOREIGN_CAP,
    }
}

/// Logistic model output for feature vector `x`.
pub fn model_confidence(weights: &[f64], bias: f64, x: &[f64]) -> f64 {
    sigmoid(bias + weights.iter().zip(x).map(|(w, v)| w * v).sum::<f64>())
}

/// Scores features with calibration `cal`.
pub fn score(f: &Features, cal: &Calibration) -> Scored {
    let x = feature_vector(f);
    let mut z = cal.bias;
    let mut contributions = Vec::with_capacity(x.len() + 1);
    for ((name, w), v) in cal.features.iter().zip(&cal.weights).zip(x) {
        z += w * v;
        contributions.push((name.clone(), w * v));
    }
    contributions.push(("bias".to_string(), cal.bias));
    let kit_confidence = sigmoid(z);
    let ownerless_kit = cal
        .ownerless
        .as_ref()
        .map_or(kit_confidence, |m| model_confidence(&m.weights, m.bias, &x));
    let ownership = Ownership::of(f.org_weight as f64, f.foreign_weight as f64);
    let confidence = gated_confidence(kit_confidence, ownerless_kit, ownership, cal.leak_threshold);
    let verdict = if confidence >= cal.leak_threshold {
        Verdict::Leak
    } else if confidence >= cal.review_threshold {
        Verdict::Review
    } else {
        Verdict::Clean
    };
    Scored {
        kit_confidence,
        confidence,
        org_evidence: ownership == Ownership::Ours,
        ownership,
        verdict,
        contributions,
    }
}

/// The calibration shipped in the repository's `models/calibration.json`, built into the
/// binary: what a models folder without a `calibration.json` of its own is judged with.
/// Systems enrolled into a fresh folder then score as they would next to the shipped
/// file, instead of by untuned weights (measured on DEV with a hand-set default:
/// `leak` 30 -> 21 and `review` 14 -> 1 of 50 leaks).
pub fn default_calibration() -> Calibration {
    Calibration::from_json_bytes(
        SHIPPED_CALIBRATION.as_bytes(),
        std::path::Path::new("built-in models/calibration.json"),
    )
    .expect("the shipped calibration parses (tested: the_built_in_calibration_is_the_shipped_one)")
}

/// The contents of `models/calibration.json` when the binary was built.
const SHIPPED_CALIBRATION: &str = include_str!("../models/calibration.json");

/// Fits a logistic regression (L2-regularised, on standardised features, by projected
/// gradient descent with non-negative weights: every feature is evidence *for* a match,
/// which keeps the model monotone and stops it from leaning on accidents of a small
/// training set) and returns (weights, bias) on the original feature scale.
pub fn fit_logistic(x: &[Vec<f64>], y: &[bool], l2: f64) -> (Vec<f64>, f64) {
    let n = x.len();
    let d = x.first().map_or(0, Vec::len);
    if n == 0 || d == 0 {
        return (vec![0.0; d], 0.0);
    }
    let mean: Vec<f64> = (0..d)
        .map(|j| x.iter().map(|r| r[j]).sum::<f64>() / n as f64)
        .collect();
    let sd: Vec<f64> = (0..d)
        .map(|j| {
            let v = x.iter().map(|r| (r[j] - mean[j]).powi(2)).sum::<f64>() / n as f64;
            v.sqrt().max(1e-9)
        })
        .collect();
    let xs: Vec<Vec<f64>> = x
        .iter()
        .map(|r| (0..d).map(|j| (r[j] - mean[j]) / sd[j]).collect())
        .collect();
    // Balance the classes: leaks are rare in the data, but both errors matter.
    let pos = y.iter().filter(|&&v| v).count().max(1) as f64;
    let neg = (n as f64 - pos).max(1.0);
    let (wp, wn) = (n as f64 / (2.0 * pos), n as f64 / (2.0 * neg));
    let mut w = vec![0.0; d];
    let mut b = 0.0;
    let lr = 0.5;
    for _ in 0..3000 {
        let mut gw = vec![0.0; d];
        let mut gb = 0.0;
        for (r, &t) in xs.iter().zip(y) {
            let p = sigmoid(b + r.iter().zip(&w).map(|(a, c)| a * c).sum::<f64>());
            let err = (p - if t { 1.0 } else { 0.0 }) * if t { wp } else { wn };
            for j in 0..d {
                gw[j] += err * r[j];
            }
            gb += err;
        }
        for j in 0..d {
            w[j] = (w[j] - lr * (gw[j] / n as f64 + l2 * w[j])).max(0.0);
        }
        b -= lr * gb / n as f64;
    }
    let weights: Vec<f64> = (0..d).map(|j| w[j] / sd[j]).collect();
    let bias = b - (0..d).map(|j| w[j] * mean[j] / sd[j]).sum::<f64>();
    (weights, bias)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_separates_a_simple_problem() {
        let x: Vec<Vec<f64>> = (0..40).map(|i| vec![i as f64, 1.0]).collect();
        let y: Vec<bool> = (0..40).map(|i| i >= 20).collect();
        let (w, b) = fit_logistic(&x, &y, 1e-3);
        let p = |v: f64| sigmoid(b + w[0] * v + w[1]);
        assert!(p(35.0) > 0.9 && p(5.0) < 0.1, "{w:?} {b}");
    }

    /// The system's UI fully in place, nothing said about whose it is.
    fn strong_kit_match() -> Features {
        Features {
            geo_weight: 30.0,
            geo_count: 30.0,
            text_weight: 40.0,
            chrome_coverage: 1.0,
            precision: 0.8,
            palette: 0.9,
            ..Features::default()
        }
    }

    #[test]
    fn the_built_in_calibration_is_the_shipped_one() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models/calibration.json");
        let shipped = Calibration::load(&path).unwrap();
        let built_in = default_calibration();
        assert_eq!(built_in.weights, shipped.weights);
        assert_eq!(built_in.bias, shipped.bias);
        assert_eq!(built_in.leak_threshold, shipped.leak_threshold);
        assert_eq!(built_in.review_threshold, shipped.review_threshold);
        assert!(
            built_in.ownerless.is_some(),
            "the owner-less ranking model is built in too"
        );
        assert_eq!(built_in.provenance, shipped.provenance);
    }

    #[test]
    fn no_org_evidence_stays_below_leak() {
        let cal = default_calibration();
        let strong = strong_kit_match();
        let s = score(&strong, &cal);
        assert!(!s.org_evidence);
        assert_eq!(s.verdict, Verdict::Review);
        let s2 = score(
            &Features {
                org_weight: 2.0,
                ..strong
            },
            &cal,
        );
        assert_eq!(s2.verdict, Verdict::Leak);
    }

    #[test]
    fn another_organisations_screen_is_clean_and_ours_wins_over_a_stray_word() {
        let cal = default_calibration();
        let strong = Features {
            foreign_weight: 1.5,
            ..strong_kit_match()
        };
        let theirs = score(&strong, &cal);
        assert_eq!(theirs.ownership, Ownership::Foreign);
        assert_eq!(theirs.verdict, Verdict::Clean);
        assert!(theirs.confidence < cal.review_threshold);
        let ours = score(
            &Features {
                org_weight: 2.0,
                ..strong
            },
            &cal,
        );
        // Our own name was read too: a stray word does not cap it (the model still weighs it).
        assert_eq!(ours.ownership, Ownership::Ours);
        assert_eq!(ours.confidence, ours.kit_confidence);
        assert!(ours.confidence > theirs.confidence);
    }
}
