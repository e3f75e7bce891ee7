//! Which templates an image is verified against: an inverted index from vocabulary words
//! to the templates that have them, so that matching does not loop over every enrolled
//! system.

use std::collections::{BTreeSet, HashMap};

use crate::fingerprint::ImageFingerprint;

use super::IndexedTemplate;

/// Least summed weight of exactly shared words for a template to be verified.
const MIN_SHARED_WEIGHT: f32 = 0.25;

/// Most templates verified per image: an image that shares words with more is a page of
/// generic UI vocabulary, and the heaviest sharers are the ones that can win.
pub const MAX_VERIFIED: usize = 12;

/// Inverted index from vocabulary words to the templates that have them, so that an
/// image is verified (alignment, scoring) only against the few templates it shares
/// distinctive words with, however many systems are enrolled.
pub struct TemplateIndex {
    /// Word -> (template, the word's weight in it).
    postings: HashMap<String, Vec<(usize, f32)>>,
    templates: usize,
}

impl TemplateIndex {
    pub fn new(templates: &[IndexedTemplate]) -> TemplateIndex {
        let mut postings: HashMap<String, Vec<(usize, f32)>> = HashMap::new();
        for (t, tpl) in templates.iter().enumerate() {
            for e in &tpl.template.vocabulary {
                postings
                    .entry(e.token.clone())
                    .or_default()
                    .push((t, e.weight));
            }
        }
        TemplateIndex {
            postings,
            templates: templates.len(),
        }
    }

    /// Templates worth verifying for `image`, the heaviest sharers first: those sharing at
    /// least `MIN_SHARED_WEIGHT` of distinct words, at most `MAX_VERIFIED`, and never
    /// none (the best one is verified anyway, so every record names a closest system).
    pub fn candidates(&self, image: &ImageFingerprint) -> Vec<usize> {
        let mut shared = vec![0.0f32; self.templates];
        // Summed in a fixed order (a hash set's differs between runs): the same image ranks
        // the same templates, to the last bit of their shared weight.
        let distinct: BTreeSet<&str> = image.tokens.iter().map(|t| t.text.as_str()).collect();
        for word in distinct {
            for &(t, w) in self.postings.get(word).into_iter().flatten() {
                shared[t] += w;
            }
        }
        let mut order: Vec<usize> = (0..self.templates).collect();
        order.sort_by(|&a, &b| shared[b].total_cmp(&shared[a]).then(a.cmp(&b)));
        let keep = order
            .iter()
            .take(MAX_VERIFIED)
            .filter(|&&t| shared[t] >= MIN_SHARED_WEIGHT)
            .count()
            .max(1);
        order.truncate(keep.min(self.templates));
        order
    }
}
