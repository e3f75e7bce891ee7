//! A template's vocabulary made ready for matching: lookups of what an OCR reading stands
//! for (exactly, within a small edit distance, faint, or cut by the image's edge), and each
//! reference's tokens and text blocks by vocabulary entry, built once per scan.

use std::collections::HashMap;

use crate::fingerprint::{ImageFingerprint, Token};
use crate::template::Template;

use super::geometry::{text_blocks, COMMON_WORD_ZIPF};
use super::look::chrome_cells;

/// A template with lookup structures built once per scan.
pub struct IndexedTemplate {
    pub template: Template,
    /// Per vocabulary entry: what reading it says about whose screen it is (an
    /// organisation word's weight, even when the word is also public; else 0).
    pub(super) ownership_weight: Vec<f32>,
    pub(super) vocab: HashMap<String, usize>,
    /// Vocabulary entry indices by token length, for fuzzy lookup.
    pub(super) by_len: HashMap<usize, Vec<usize>>,
    /// Distinctive entries (see [`Self::lookup_faint`]) by their [`ocr_fold`]ed spelling;
    /// None where two entries fold alike.
    pub(super) faint_folded: HashMap<String, Option<usize>>,
    /// Per reference: vocabulary entry -> indices of that reference's tokens.
    pub(super) ref_tokens: Vec<HashMap<usize, Vec<usize>>>,
    /// Per reference: the text block (paragraph, label, table cell) of each token.
    pub(super) ref_blocks: Vec<Vec<usize>>,
    /// Per reference: which cells of its look are chrome (the same on every reference of
    /// its size: sidebar, bars, page background).
    pub(super) chrome_cells: Vec<Vec<bool>>,
    pub(super) chrome_weight: f32,
}

impl IndexedTemplate {
    pub fn new(mut template: Template) -> Self {
        let ownership_weight = template
            .vocabulary
            .iter()
            .map(|e| if e.org { e.weight } else { 0.0 })
            .collect();
        // What the organisation shows the public is no sign of its internal system; its
        // name still says whose screen it is (`ownership_weight` keeps that).
        for e in template.vocabulary.iter_mut().filter(|e| e.public) {
            e.weight = 0.0;
        }
        let vocab: HashMap<String, usize> = template
            .vocabulary
            .iter()
            .enumerate()
            .map(|(i, e)| (e.token.clone(), i))
            .collect();
        let mut by_len: HashMap<usize, Vec<usize>> = HashMap::new();
        for (i, e) in template.vocabulary.iter().enumerate() {
            by_len.entry(e.token.chars().count()).or_default().push(i);
        }
        let mut faint_folded: HashMap<String, Option<usize>> = HashMap::new();
        for (i, e) in template.vocabulary.iter().enumerate() {
            if faint_matchable(e) {
                faint_folded
                    .entry(ocr_fold(&e.token))
                    .and_modify(|v| *v = None)
                    .or_insert(Some(i));
            }
        }
        let ref_tokens = template
            .references
            .iter()
            .map(|r| {
                let mut m: HashMap<usize, Vec<usize>> = HashMap::new();
                for (ti, t) in r.tokens.iter().enumerate() {
                    if let Some(&e) = vocab.get(t.text.as_str()) {
                        m.entry(e).or_default().push(ti);
                    }
                }
                m
            })
            .collect();
        let ref_blocks = template
            .references
            .iter()
            .map(|r| text_blocks(&r.tokens))
            .collect();
        let chrome_cells = chrome_cells(&template.references);
        let chrome_weight: f32 = template
            .vocabulary
            .iter()
            .filter(|e| e.chrome)
            .map(|e| e.weight)
            .sum();
        IndexedTemplate {
            template,
            ownership_weight,
            vocab,
            by_len,
            faint_folded,
            ref_tokens,
            ref_blocks,
            chrome_cells,
            chrome_weight,
        }
    }

    /// The words taken as naming the template's organisation.
    pub(super) fn org_words(&self) -> Vec<&str> {
        self.template
            .vocabulary
            .iter()
            .filter(|v| v.org)
            .map(|v| v.token.as_str())
            .collect()
    }

    /// The vocabulary entry a faint reading matches: only a distinctive one (naming the
    /// organisation, a marking, or a heavy word), and only spelled exactly, or but for
    /// the letter shapes OCR confuses in small print ("caimmoor" for "cairnmoor"): an
    /// edit distance would let a faint reading's noise match too much. A longer chrome
    /// word (a menu item: the small print of a shrunken page) matches spelled exactly.
    pub fn lookup_faint(&self, token: &str) -> Option<usize> {
        let len = token.chars().count();
        if len < 4 {
            return None;
        }
        let i = match self.vocab.get(token) {
            Some(&i) => i,
            None => return self.faint_folded.get(&ocr_fold(token)).copied().flatten(),
        };
        let e = &self.template.vocabulary[i];
        (faint_matchable(e) || (e.chrome && len >= FAINT_CHROME_LEN)).then_some(i)
    }

    /// The vocabulary entry a word cut by the image's edge is the visible part of: the
    /// one entry ending with `fragment` (cut on the left) or starting with it (on the
    /// right). Short fragments, digits and ambiguous fragments match nothing, and a common
    /// English word stands for no organisation word: "More" at a crop's edge is as likely
    /// "more" as "Moreau", "North" any of many names beginning so.
    pub fn lookup_cut(&self, fragment: &str, side: Cut) -> Option<usize> {
        let len = fragment.chars().count();
        if len < MIN_CUT_FRAGMENT || fragment.chars().any(|c| c.is_ascii_digit()) {
            return None;
        }
        let mut found = None;
        for (i, e) in self.template.vocabulary.iter().enumerate() {
            let fits = e.token.chars().count() > len
                && match side {
                    Cut::Left => e.token.ends_with(fragment),
                    Cut::Right => e.token.starts_with(fragment),
                };
            if fits {
                if found.is_some() {
                    return None;
                }
                found = Some(i);
            }
        }
        found.filter(|&i| {
            !self.template.vocabulary[i].org
                || crate::fingerprint::english_zipf(fragment) < COMMON_WORD_ZIPF
        })
    }

    /// The vocabulary entry `token` reads as, if any. Exact first, then fuzzy.
    pub fn lookup(&self, token: &str) -> Option<usize> {
        if let Some(&i) = self.vocab.get(token) {
            return Some(i);
        }
        let len = token.chars().count();
        // Fuzzy matching repairs OCR misreadings, which are rarely real words: a word read
        // correctly ("settings") must not be taken for a neighbour ("lettings").
        if len < 5
            || crate::fingerprint::english_zipf(token) > 0.0
            || crate::fingerprint::is_generic_ui(token)
        {
            return None;
        }
        // Two edits in a long word, one in a shorter: judged by the longer of the reading
        // and the word, since OCR drops letters too ("dashbomd" for "dashboard").
        let max_dist = |l: usize| if len.max(l) >= 9 { 2 } else { 1 };
        let mut best: Option<(usize, usize)> = None;
        for l in len.saturating_sub(2)..=len + 2 {
            if len.abs_diff(l) > max_dist(l) {
                continue;
            }
            for &i in self.by_len.get(&l).into_iter().flatten() {
                let cand = &self.template.vocabulary[i].token;
                // Digits must match exactly: "4471" vs "4472" is another badge.
                if cand.chars().any(|c| c.is_ascii_digit()) {
                    continue;
                }
                let d = strsim::levenshtein(token, cand);
                if d <= max_dist(l) && best.is_none_or(|(bd, _)| d < bd) {
                    best = Some((d, i));
                }
            }
        }
        best.map(|(_, i)| i)
    }
}

/// Whether a faint reading may match `e`: it names the organisation, is a marking, or
/// weighs much.
fn faint_matchable(e: &crate::template::VocabEntry) -> bool {
    e.org || e.marking || e.weight >= FAINT_MIN_WEIGHT
}

/// `word` with the letter groups OCR confuses in small print folded to one spelling:
/// "rn" and "m", "cl" and "d", "vv" and "w", "o" and "0". Single-letter slips ("l" for
/// "i") are left out: faint noise would match through them too.
pub(super) fn ocr_fold(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    let chars: Vec<char> = word.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let pair = (chars[i], chars.get(i + 1).copied());
        let (c, step) = match pair {
            ('r', Some('n')) => ('m', 2),
            ('c', Some('l')) => ('d', 2),
            ('v', Some('v')) => ('w', 2),
            ('0', _) => ('o', 1),
            (c, _) => (c, 1),
        };
        out.push(c);
        i += step;
    }
    out
}

/// Fewest letters of a chrome word (a menu item on every page) that a faint reading may
/// match when spelled exactly.
const FAINT_CHROME_LEN: usize = 5;

/// Fewest letters of a cut word that may stand for the whole word.
const MIN_CUT_FRAGMENT: usize = 4;

/// The image edge that cut a word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    /// The word's start is outside the image: its end is read.
    Left,
    /// The word's end is outside the image.
    Right,
}

/// Whether `t` touches the left or right edge of the image (within a third of its
/// letter height): a crop may have cut it. Not for rectified screens, whose edges are
/// the monitor's, not a crop's.
pub(super) fn cut_side(image: &ImageFingerprint, t: &Token) -> Option<Cut> {
    if image.screen.is_some() {
        return None;
    }
    let margin = (t.h / 3.0).max(2.0);
    if t.x <= margin {
        Some(Cut::Left)
    } else if t.x + t.w >= image.width as f32 - margin {
        Some(Cut::Right)
    } else {
        None
    }
}

/// The box the whole of entry `word` would have, from the box of its visible part
/// `t` (cut on `side`), at the letter width of the visible part.
pub(super) fn uncut(t: &Token, word: &str, side: Cut) -> Token {
    let read = t.text.chars().count().max(1) as f32;
    let missing = word.chars().count() as f32 - read;
    let extra = t.w / read * missing.max(0.0);
    Token {
        x: if side == Cut::Left { t.x - extra } else { t.x },
        w: t.w + extra,
        ..t.clone()
    }
}

/// Least weight of a vocabulary word a faint reading may match.
const FAINT_MIN_WEIGHT: f32 = 1.0;
