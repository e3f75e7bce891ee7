//! Evidence: the record of a judged image, built from its chosen match. Which candidate the
//! record shows, the words and layout that decided, and the one-sentence reason for a person.

use std::collections::{HashMap, HashSet};

use crate::fingerprint::ImageFingerprint;
use crate::gate::GateEvidence;
use crate::matcher::TemplateMatch;
use crate::report::{CandidateScore, Evidence, ForeignWords, LayoutEvidence, MatchedWord, Record};
use crate::score::{Ownership, Scored, Verdict};
use crate::template::Calibration;

/// Which of the candidates (sorted by confidence, highest first) the record shows: the
/// first, except that a clean image is best explained by the system whose UI it resembles
/// most when that system's place for its name shows another organisation's. The record
/// then says whose system it is instead of "no enrolled system matched". None without
/// candidates.
pub(super) fn record_candidate(scores: &[&Scored], review_threshold: f64) -> Option<usize> {
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
pub(super) fn gated_record(path: String, gate: GateEvidence) -> Record {
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
    } else if s.org_evidence && s.verdict == Verdict::Review {
        format!(
            "words naming {template}'s organisation were read ({}) with {vocabulary} more {} of its vocabulary, but {} in the system's layout: a name is public, so this is for review, not a leak",
            org_words.join(", "),
            if vocabulary == 1 { "word" } else { "words" },
            match f.geo_count as usize {
                0 => "none of them".to_string(),
                1 => "only one".to_string(),
                n => format!("only {n}"),
            }
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

/// `v` rounded to four decimals: the JSON shows no more than that.
pub(super) fn round4(v: f64) -> f64 {
    (v * 1e4).round() / 1e4
}

/// The evidence of the match `m` of `fp` to `tpl`, scored `s`, with every candidate's score.
pub(super) fn build_evidence(
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

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
        // With more of its vocabulary, enough for review: what earned it is said.
        let named = scored(Verdict::Review, 0.35, Ownership::Ours);
        let r = explain("nb", &named, &f, &names, &[], 4, 0.5);
        assert!(
            r.contains(
                "with 4 more words of its vocabulary, but none of them in the system's layout"
            ) && r.contains("not a leak"),
            "{r}"
        );
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
}
