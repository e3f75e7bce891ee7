//! Match: one image's fingerprint against each template.
//!
//! Tokens are matched to a template's vocabulary (exactly, or within a small edit distance
//! for longer words, since OCR misreads letters; a word cut by a crop's edge by its
//! visible part). Then geometry: the matched words must sit
//! where they sit on one of the template's references, up to scale and translation (crops
//! and rescaling keep it; a page that merely mentions the same words does not). A two-point
//! RANSAC finds the largest consistent set.

use std::collections::{HashMap, HashSet};

use crate::fingerprint::{ImageFingerprint, Token};
use crate::template::Template;

/// A template with lookup structures built once per scan.
pub struct IndexedTemplate {
    pub template: Template,
    /// Per vocabulary entry: what reading it says about whose screen it is (an
    /// organisation word's weight, even when the word is also public; else 0).
    ownership_weight: Vec<f32>,
    vocab: HashMap<String, usize>,
    /// Vocabulary entry indices by token length, for fuzzy lookup.
    by_len: HashMap<usize, Vec<usize>>,
    /// Distinctive entries (see [`Self::lookup_faint`]) by their [`ocr_fold`]ed spelling;
    /// None where two entries fold alike.
    faint_folded: HashMap<String, Option<usize>>,
    /// Per reference: vocabulary entry -> indices of that reference's tokens.
    ref_tokens: Vec<HashMap<usize, Vec<usize>>>,
    /// Per reference: the text block (paragraph, label, table cell) of each token.
    ref_blocks: Vec<Vec<usize>>,
    /// Per reference: which cells of its look are chrome (the same on every reference of
    /// its size: sidebar, bars, page background).
    chrome_cells: Vec<Vec<bool>>,
    chrome_weight: f32,
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
    fn org_words(&self) -> Vec<&str> {
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
    /// right). Short fragments, digits and ambiguous fragments match nothing.
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
        found
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
fn ocr_fold(word: &str) -> String {
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
fn cut_side(image: &ImageFingerprint, t: &Token) -> Option<Cut> {
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
fn uncut(t: &Token, word: &str, side: Cut) -> Token {
    let read = t.text.chars().count().max(1) as f32;
    let missing = word.chars().count() as f32 - read;
    let extra = t.w / read * missing.max(0.0);
    Token {
        x: if side == Cut::Left { t.x - extra } else { t.x },
        w: t.w + extra,
        ..t.clone()
    }
}

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
        let distinct: HashSet<&str> = image.tokens.iter().map(|t| t.text.as_str()).collect();
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

/// Least weight of a vocabulary word a faint reading may match.
const FAINT_MIN_WEIGHT: f32 = 1.0;

/// Pseudo-count of unmatched words added to the precision's denominator.
const PRECISION_PRIOR: f32 = 4.0;

/// A matched word that is geometrically consistent with the best reference.
#[derive(Debug, Clone)]
pub struct Inlier {
    /// Index into the image's tokens.
    pub image_token: usize,
    /// Index into the template's vocabulary.
    pub entry: usize,
    /// Index into the best reference's tokens.
    pub reference_token: usize,
}

/// Scale and translation mapping reference pixels to image pixels.
#[derive(Debug, Clone, Copy, Default)]
pub struct Similarity {
    pub scale: f32,
    pub tx: f32,
    pub ty: f32,
}

impl Similarity {
    fn apply(&self, (x, y): (f32, f32)) -> (f32, f32) {
        (self.scale * x + self.tx, self.scale * y + self.ty)
    }
}

/// Features of one image against one template. The names are stable: they appear in the
/// JSON evidence and in `calibration.json`.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Features {
    /// Summed weight of distinct vocabulary entries placed consistently (best reference).
    pub geo_weight: f32,
    /// Number of such entries.
    pub geo_count: f32,
    /// Summed weight of distinct vocabulary entries read anywhere in the image.
    pub text_weight: f32,
    /// Summed weight of chrome entries placed consistently.
    pub chrome_geo_weight: f32,
    /// Share of the template's chrome weight found in place.
    pub chrome_coverage: f32,
    /// Share of the image's distinct tokens that belong to the vocabulary (smoothed
    /// towards 0 when few words were read).
    pub precision: f32,
    /// Colour-palette similarity with the closest reference.
    pub palette: f32,
    /// Summed weight of organisation-naming entries read anywhere.
    pub org_weight: f32,
    /// Summed weight of organisation-naming entries placed consistently.
    pub org_geo_weight: f32,
    /// Summed weight of protective-marking entries read.
    pub marking_weight: f32,
    /// How far the image wears the template's chrome where the alignment puts it, from -1
    /// (every chrome cell in view looks different: another UI kit showing the same demo
    /// content) to 1 (all alike); near 0 when few cells are in view or nothing aligned.
    pub chrome_look: f32,
    /// Summed weight of the template's organisation words whose place (under the fitted
    /// alignment) shows other distinctive words instead: another organisation's brand
    /// where ours should be.
    pub foreign_weight: f32,
}

/// Where the image shows other words in the place of one of the template's organisation
/// words.
#[derive(Debug, Clone)]
pub struct Conflict {
    /// The template's organisation word.
    pub expected: String,
    /// Indices of the image tokens found in its place.
    pub found: Vec<usize>,
}

/// The outcome of matching one image against one template.
#[derive(Debug, Clone)]
pub struct TemplateMatch {
    pub features: Features,
    /// Best reference index.
    pub reference: usize,
    pub transform: Similarity,
    pub inliers: Vec<Inlier>,
    /// (image token, entry) for every token matched anywhere.
    pub matched: Vec<(usize, usize)>,
    pub conflicts: Vec<Conflict>,
}

/// Matches `image` against `tpl`.
pub fn match_template(image: &ImageFingerprint, tpl: &IndexedTemplate) -> TemplateMatch {
    let vocab = &tpl.template.vocabulary;
    // Where each matched word would stand whole: a word cut by the image's edge is placed
    // by the full word's box, not by its visible part's.
    let mut placed: std::borrow::Cow<'_, [Token]> = std::borrow::Cow::Borrowed(&image.tokens);
    let mut matched: Vec<(usize, usize)> = Vec::new();
    for (i, t) in image.tokens.iter().enumerate() {
        let whole = if t.faint {
            tpl.lookup_faint(&t.text)
        } else {
            tpl.lookup(&t.text)
        };
        if let Some(e) = whole {
            matched.push((i, e));
        } else if let Some(side) = cut_side(image, t).filter(|_| !t.faint) {
            if let Some(e) = tpl.lookup_cut(&t.text, side) {
                placed.to_mut()[i] = uncut(t, &vocab[e].token, side);
                matched.push((i, e));
            }
        }
    }
    let org_weight: f32 = matched
        .iter()
        .map(|&(_, e)| e)
        .collect::<HashSet<usize>>()
        .into_iter()
        .map(|e| tpl.ownership_weight[e])
        .sum();
    // Words that weigh nothing (shown on public pages) tell only whose screen it is.
    let all_matched = matched;
    let matched: Vec<(usize, usize)> = all_matched
        .iter()
        .copied()
        .filter(|&(_, e)| vocab[e].weight > 0.0)
        .collect();
    let distinct_entries: HashSet<usize> = matched.iter().map(|&(_, e)| e).collect();
    let text_weight: f32 = distinct_entries.iter().map(|&e| vocab[e].weight).sum();
    let marking_weight: f32 = distinct_entries
        .iter()
        .filter(|&&e| vocab[e].marking)
        .map(|&e| vocab[e].weight)
        .sum();
    let matched_tokens: HashSet<usize> = matched.iter().map(|&(i, _)| i).collect();
    // Faint readings that matched nothing are mostly noise: they do not dilute precision.
    let distinct_image: HashSet<&str> = image
        .tokens
        .iter()
        .enumerate()
        .filter(|(i, t)| !t.faint || matched_tokens.contains(i))
        .map(|(_, t)| t.text.as_str())
        .collect();
    // Smoothed: one word read and matched is not "all the text is the system's".
    let precision =
        (distinct_entries.len() as f32 / (distinct_image.len() as f32 + PRECISION_PRIOR)).min(1.0);

    let mut best = (0.0f32, 0usize, Similarity::default(), Vec::new());
    for (r, reference) in tpl.template.references.iter().enumerate() {
        let (score, sim, inliers) = fit_geometry(&placed, &matched, tpl, r, &reference.tokens);
        if score > best.0 {
            best = (score, r, sim, inliers);
        }
    }
    let (geo_weight, reference, transform, mut inliers) = best;
    // The content's alignment need not be the chrome's: a page scrolled down moves its
    // content, not its fixed sidebar and brand. The chrome gets its own fit, whose words
    // count as chrome in place and whose brand slots are checked for another name.
    let chrome_fit = if inliers.is_empty() {
        None
    } else {
        chrome_alignment(&placed, &matched, tpl, reference, &inliers)
    };
    let geo_count = inliers.len() as f32;
    if let Some((_, extra)) = &chrome_fit {
        inliers.extend(extra.iter().cloned());
    }
    let inlier_entries: HashSet<usize> = inliers.iter().map(|i| i.entry).collect();
    let chrome_in_place: f32 = inlier_entries
        .iter()
        .filter(|&&e| vocab[e].chrome)
        .map(|&e| vocab[e].weight)
        .sum();
    let org_geo_weight = inlier_entries
        .iter()
        .filter(|&&e| vocab[e].org)
        .map(|&e| vocab[e].weight)
        .sum();
    let mut conflicts = if inliers.len() >= 3 {
        find_conflicts(image, tpl, reference, &transform, &all_matched)
    } else {
        Vec::new()
    };
    if let Some((chrome_sim, _)) = &chrome_fit {
        for c in find_conflicts(image, tpl, reference, chrome_sim, &all_matched) {
            if !conflicts.iter().any(|k| k.expected == c.expected) {
                conflicts.push(c);
            }
        }
    }
    if inliers.len() >= 3 {
        for c in brand_line_conflicts(image, tpl, reference, &all_matched) {
            if !conflicts.iter().any(|k| k.expected == c.expected) {
                conflicts.push(c);
            }
        }
    }
    // Only where none of our names was read: the header may be ours, showing a brand
    // abbreviation enrollment did not read.
    if conflicts.is_empty() && inliers.len() >= 3 && org_weight == 0.0 {
        conflicts.extend(header_brand(image, tpl, &all_matched));
    }
    // The chrome's look is compared where the chrome's own alignment puts it.
    let look_transform = chrome_fit.as_ref().map_or(transform, |(sim, _)| *sim);
    let foreign_weight = conflicts
        .iter()
        .filter_map(|c| tpl.vocab.get(&c.expected))
        .map(|&e| vocab[e].weight)
        .sum();
    let palette = tpl
        .template
        .references
        .iter()
        .map(|r| r.palette.similarity(&image.palette))
        .fold(0.0f32, f32::max);
    TemplateMatch {
        features: Features {
            geo_weight,
            geo_count,
            text_weight,
            chrome_geo_weight: chrome_in_place,
            chrome_coverage: if tpl.chrome_weight > 0.0 {
                chrome_in_place / tpl.chrome_weight
            } else {
                0.0
            },
            precision,
            palette,
            org_weight,
            org_geo_weight,
            marking_weight,
            foreign_weight,
            chrome_look: if inliers.len() >= MIN_LOOK_INLIERS {
                chrome_look(image, tpl, reference, &look_transform)
            } else {
                0.0
            },
        },
        reference,
        transform,
        inliers,
        matched: all_matched,
        conflicts,
    }
}

/// The chrome's own alignment on reference `r`, when it differs from the content's
/// (whose `inliers` are given): its transform and the chrome inliers it adds. None when
/// the chrome fits nowhere or where the content already put it.
fn chrome_alignment(
    placed: &[Token],
    matched: &[(usize, usize)],
    tpl: &IndexedTemplate,
    r: usize,
    inliers: &[Inlier],
) -> Option<(Similarity, Vec<Inlier>)> {
    let vocab = &tpl.template.vocabulary;
    let chrome: Vec<(usize, usize)> = matched
        .iter()
        .copied()
        .filter(|&(_, e)| vocab[e].chrome)
        .collect();
    let reference = &tpl.template.references[r];
    let (_, sim, chrome_inliers) = fit_geometry(placed, &chrome, tpl, r, &reference.tokens);
    let used_entries: HashSet<usize> = inliers.iter().map(|i| i.entry).collect();
    let used_tokens: HashSet<usize> = inliers.iter().map(|i| i.image_token).collect();
    let extra: Vec<Inlier> = chrome_inliers
        .into_iter()
        .filter(|i| !used_entries.contains(&i.entry) && !used_tokens.contains(&i.image_token))
        .collect();
    (extra.len() >= MIN_NEW_CHROME_INLIERS).then_some((sim, extra))
}

/// Chrome words a separate chrome alignment must place, beyond the content's alignment,
/// to be taken as the chrome's own (one or two fall in place under any shift).
const MIN_NEW_CHROME_INLIERS: usize = 3;

/// Least geometric inliers for the alignment to be trusted to say where the chrome is.
const MIN_LOOK_INLIERS: usize = 3;
/// Fewer chrome cells in view than this and the look comparison is shrunk towards 0.
const LOOK_CELLS_PRIOR: f32 = 12.0;
/// Colour distance (mean per channel) below which two references' cells are the same.
const SAME_CELL: f32 = 12.0;

/// Per reference, the cells of its look that every other reference of the same size shows
/// alike: the chrome. With no such other reference, every cell counts.
fn chrome_cells(references: &[crate::template::Reference]) -> Vec<Vec<bool>> {
    references
        .iter()
        .enumerate()
        .map(|(i, r)| {
            if !r.look.is_valid() {
                return Vec::new();
            }
            let n = r.look.rgb.len() / 3;
            let peers: Vec<&crate::template::Reference> = references
                .iter()
                .enumerate()
                .filter(|&(j, o)| {
                    j != i
                        && o.look.is_valid()
                        && (o.look.width, o.look.height) == (r.look.width, r.look.height)
                        && (o.width, o.height) == (r.width, r.height)
                })
                .map(|(_, o)| o)
                .collect();
            (0..n)
                .map(|c| {
                    let a = &r.look.rgb[3 * c..3 * c + 3];
                    peers.iter().all(|o| {
                        let b = &o.look.rgb[3 * c..3 * c + 3];
                        let d: f32 = a.iter().zip(b).map(|(&x, &y)| x.abs_diff(y) as f32).sum();
                        d / 3.0 < SAME_CELL
                    })
                })
                .collect()
        })
        .collect()
}

/// Compares the reference's chrome cells, mapped into the image by the alignment, with
/// the image's colours there (see [`Features::chrome_look`]).
fn chrome_look(image: &ImageFingerprint, tpl: &IndexedTemplate, r: usize, sim: &Similarity) -> f32 {
    let reference = &tpl.template.references[r];
    let (look, img_look) = (&reference.look, &image.look);
    let Some(chrome) = tpl.chrome_cells.get(r).filter(|c| !c.is_empty()) else {
        return 0.0;
    };
    if !img_look.is_valid() || img_look.width == 0 {
        return 0.0;
    }
    let (iw, _) = image.image_size();
    let to_look = img_look.width as f32 / iw.max(1.0);
    let cell_w = reference.width as f32 / look.width as f32;
    let cell_h = reference.height as f32 / look.height as f32;
    // Sample a box of about half a cell around each mapped centre.
    let radius = 0.25 * cell_w.min(cell_h) * sim.scale * to_look;
    let (tw, th) = (image.width as f32, image.height as f32);
    let mut pairs: Vec<([f32; 3], [f32; 3])> = Vec::new();
    for cy in 0..look.height {
        for cx in 0..look.width {
            if !chrome[(cy * look.width + cx) as usize] {
                continue;
            }
            let (x, y) = sim.apply(((cx as f32 + 0.5) * cell_w, (cy as f32 + 0.5) * cell_h));
            if x < 0.0 || y < 0.0 || x >= tw || y >= th {
                continue;
            }
            let (px, py) = image.image_point(x, y);
            let Some(seen) = img_look.mean_around(px * to_look, py * to_look, radius) else {
                continue;
            };
            let t = look.get(cx, cy).map(f32::from);
            pairs.push((t, seen));
        }
    }
    look_agreement(&pairs, LOOK_CELLS_PRIOR)
}

/// Agreement, from -1 to 1, between template cell colours and the image's colours where
/// the alignment puts them (`pairs`: template, image). The image's light levels are first
/// mapped onto the template's (a photo's exposure and contrast differ), by the shift of
/// the medians, or by matching the dark and bright ends when the template spans enough
/// of them. Cells that stand out from the template's page (bars, sidebars, buttons)
/// count fully, page background a fifth: the background is alike on most UIs. With fewer
/// cells than `prior` in view, the result shrinks towards 0.
fn look_agreement(pairs: &[([f32; 3], [f32; 3])], prior: f32) -> f32 {
    if pairs.is_empty() {
        return 0.0;
    }
    fn sorted(values: impl Iterator<Item = f32>) -> Vec<f32> {
        let mut v: Vec<f32> = values.collect();
        v.sort_by(f32::total_cmp);
        v
    }
    let q = |v: &[f32], f: f32| v[((v.len() - 1) as f32 * f).round() as usize];
    let tl = sorted(pairs.iter().map(|p| luminance(p.0)));
    let il = sorted(pairs.iter().map(|p| luminance(p.1)));
    let diff = sorted(pairs.iter().map(|p| luminance(p.1) - luminance(p.0)));
    let (t10, t50, t90) = (q(&tl, 0.1), q(&tl, 0.5), q(&tl, 0.9));
    let (i10, i90) = (q(&il, 0.1), q(&il, 0.9));
    let shift = q(&diff, 0.5);
    let predict = |t: f32| {
        if t90 - t10 >= 80.0 && i90 - i10 >= 30.0 {
            i10 + (t - t10) * (i90 - i10) / (t90 - t10)
        } else {
            t + shift
        }
    };
    let chroma = |p: [f32; 3]| {
        p.iter().cloned().fold(f32::MIN, f32::max) - p.iter().cloned().fold(f32::MAX, f32::min)
    };
    let (mut agree, mut total) = (0.0f32, 0.0f32);
    for &(t, i) in pairs {
        let (ct, ci) = (chroma(t), chroma(i));
        let salient = (luminance(t) - t50).abs() > 30.0 || ct >= 40.0;
        let w = if salient { 1.0 } else { 0.2 };
        let light_ok = (luminance(i) - predict(luminance(t))).abs() <= 40.0;
        let colour_ok = if ct >= 60.0 {
            ci >= 20.0 && hue_distance(t, i) <= 45.0
        } else {
            // A neutral (grey, white, black) cell showing a strong colour.
            !(ct < 25.0 && ci > 90.0)
        };
        total += w;
        if light_ok && colour_ok {
            agree += w;
        }
    }
    (agree - (total - agree)) / total.max(prior)
}

/// Angle between two colours' hues, in degrees.
fn hue_distance(a: [f32; 3], b: [f32; 3]) -> f32 {
    let hue = |p: [f32; 3]| {
        let (r, g, b) = (p[0], p[1], p[2]);
        let x = 0.5 * (2.0 * r - g - b);
        let y = 0.866_025_4 * (g - b);
        y.atan2(x).to_degrees()
    };
    let d = (hue(a) - hue(b)).abs() % 360.0;
    d.min(360.0 - d)
}

/// Projects the reference's organisation words into the image with the fitted alignment
/// and reports those whose place, inside the image, holds other distinctive words. A word
/// that could be a misreading of any of our organisation words is not another's: OCR
/// splits and garbles a brand line ("Brockhurst Estates" read "este" where "brockhurst"
/// stands).
fn find_conflicts(
    image: &ImageFingerprint,
    tpl: &IndexedTemplate,
    r: usize,
    sim: &Similarity,
    matched: &[(usize, usize)],
) -> Vec<Conflict> {
    let vocab = &tpl.template.vocabulary;
    let reference = &tpl.template.references[r];
    let matched_entries: HashSet<usize> = matched.iter().map(|&(_, e)| e).collect();
    let matched_tokens: HashSet<usize> = matched.iter().map(|&(i, _)| i).collect();
    let (w, h) = (image.width as f32, image.height as f32);
    let org_words = tpl.org_words();
    let mut out: Vec<Conflict> = Vec::new();
    for rt in &reference.tokens {
        let Some(&e) = tpl.vocab.get(&rt.text) else {
            continue;
        };
        // Only words naming the organisation, and only ones not read anywhere.
        if !vocab[e].org
            || matched_entries.contains(&e)
            || out.iter().any(|c| c.expected == rt.text)
        {
            continue;
        }
        let (px, py) = sim.apply(rt.center());
        let (pw, ph) = (sim.scale * rt.w, sim.scale * rt.h);
        if px - pw / 2.0 < 0.0 || py - ph / 2.0 < 0.0 || px + pw / 2.0 > w || py + ph / 2.0 > h {
            continue;
        }
        let found: Vec<usize> = image
            .tokens
            .iter()
            .enumerate()
            .filter(|(i, t)| {
                let (cx, cy) = t.center();
                names_another(*i, t, &matched_tokens, &org_words)
                    && (cy - py).abs() <= ph.max(t.h)
                    && (cx - px).abs() <= (pw + t.w) / 2.0 + ph
            })
            .map(|(i, _)| i)
            .collect();
        if !found.is_empty() {
            out.push(Conflict {
                expected: rt.text.clone(),
                found,
            });
        }
    }
    out
}

/// Another name in our brand line, placed by the line's own words. Where the alignment
/// puts the brand outside the image (a crop through the header) or the header moved, the
/// rest of the line ("... Health Trust Staff Portal"), read on one line at a consistent
/// scale, still says where our name would stand; a distinctive word there that is no
/// misreading of ours names another organisation on the same kit.
fn brand_line_conflicts(
    image: &ImageFingerprint,
    tpl: &IndexedTemplate,
    r: usize,
    matched: &[(usize, usize)],
) -> Vec<Conflict> {
    let vocab = &tpl.template.vocabulary;
    let reference = &tpl.template.references[r];
    let Some(blocks) = tpl.ref_blocks.get(r) else {
        return Vec::new();
    };
    let matched_entries: HashSet<usize> = matched.iter().map(|&(_, e)| e).collect();
    let matched_tokens: HashSet<usize> = matched.iter().map(|&(i, _)| i).collect();
    let org_words = tpl.org_words();
    let mut out: Vec<Conflict> = Vec::new();
    for (k, rt) in reference.tokens.iter().enumerate() {
        let Some(&e) = tpl.vocab.get(&rt.text) else {
            continue;
        };
        if !vocab[e].org
            || matched_entries.contains(&e)
            || out.iter().any(|c| c.expected == rt.text)
        {
            continue;
        }
        // The line's other chrome words, each with every image token that read it.
        let mates: Vec<(&Token, &Token)> = reference
            .tokens
            .iter()
            .enumerate()
            .filter(|&(j, m)| j != k && blocks.get(j) == blocks.get(k) && m.text != rt.text)
            .filter_map(|(_, m)| Some((m, *tpl.vocab.get(&m.text)?)))
            .filter(|&(_, me)| vocab[me].chrome && !vocab[me].org)
            .flat_map(|(m, me)| {
                matched
                    .iter()
                    .filter(move |&&(_, e2)| e2 == me)
                    .map(move |&(i, _)| (m, &image.tokens[i]))
            })
            .collect();
        let place = mates.iter().enumerate().find_map(|(a, &(ma, ia))| {
            mates[a + 1..]
                .iter()
                .find_map(|&(mb, ib)| line_placement(rt, (ma, ia), (mb, ib)))
        });
        let Some((px, py, ph)) = place else {
            continue;
        };
        let pw = ph / rt.h.max(1.0) * rt.w;
        let found: Vec<usize> = image
            .tokens
            .iter()
            .enumerate()
            .filter(|(i, t)| {
                let (cx, cy) = t.center();
                // A faint reading counts here: the slot is known, and a cut line is faint.
                could_name_another(*i, t, &matched_tokens, &org_words)
                    && (cy - py).abs() <= 0.5 * ph.max(t.h)
                    && (cx - px).abs() <= (pw + t.w) / 2.0 + ph
            })
            .map(|(i, _)| i)
            .collect();
        if !found.is_empty() {
            out.push(Conflict {
                expected: rt.text.clone(),
                found,
            });
        }
    }
    out
}

/// Where reference token `target` stands in the image, placed by two words of its line
/// read in the image (`(reference, image)` pairs) on one line, in the same order, at a
/// scale their letter heights agree with: its centre and letter height there.
fn line_placement(
    target: &Token,
    (ra, ia): (&Token, &Token),
    (rb, ib): (&Token, &Token),
) -> Option<(f32, f32, f32)> {
    let (qa, qb) = (ra.center(), rb.center());
    let (pa, pb) = (ia.center(), ib.center());
    if (pa.1 - pb.1).abs() > 0.5 * ia.h.max(ib.h) || (qb.0 - qa.0).abs() < 1.0 {
        return None;
    }
    let scale = (pb.0 - pa.0) / (qb.0 - qa.0);
    if !(0.12..=5.0).contains(&scale) {
        return None;
    }
    // A line cut by the image's edge (a crop through the header) keeps its words' places
    // across, not their heights.
    for (i, r) in [(ia, ra), (ib, rb)] {
        let expected = scale * r.h.max(1.0);
        let cut = i.y <= 1.0;
        if !cut && (i.h < expected * (-0.45f32).exp() || i.h > expected * 0.45f32.exp() + BLUR_HALO)
        {
            return None;
        }
    }
    let (tx, ty) = target.center();
    Some((
        pa.0 + scale * (tx - qa.0),
        pa.1 + scale * (ty - qa.1),
        scale * target.h,
    ))
}

/// Top share of a screenshot's height where a brand bar sits.
const HEADER_BAND: f32 = 0.1;

/// How much darker than the page's median a bar must be for a brand on it.
const DARK_BAR_RATIO: f32 = 0.6;

/// Heights (fractions of the image) at which `header_brand` samples the right edge.
const RIGHT_EDGE_SAMPLES: [f32; 5] = [0.3, 0.4, 0.5, 0.6, 0.7];

/// Another organisation's brand in the screenshot's own header, where the alignment cannot
/// say where ours would be (a mobile layout moves the brand from the sidebar into a top
/// bar; another kit's sidebar is wider than ours): distinctive words at the top left, on
/// a dark bar, none of them ours, stand in place of the template's heaviest organisation
/// word. Left half only: a header's right end shows the signed-in user, whom an
/// enrolled page need not show. Screenshots only: a photo's OCR leaves distinctive-
/// looking fragments everywhere.
fn header_brand(
    image: &ImageFingerprint,
    tpl: &IndexedTemplate,
    matched: &[(usize, usize)],
) -> Option<Conflict> {
    let look = &image.look;
    let empty = look.width == 0 || look.height == 0 || image.width == 0;
    if image.screen.is_some() || empty || !look.is_valid() {
        return None;
    }
    let vocab = &tpl.template.vocabulary;
    let brand = vocab
        .iter()
        .filter(|v| v.org && v.weight > 0.0)
        .max_by(|a, b| a.weight.total_cmp(&b.weight))?;
    let org_words = tpl.org_words();
    let matched_tokens: HashSet<usize> = matched.iter().map(|&(i, _)| i).collect();
    let to_look = look.width as f32 / image.width as f32;
    let mut lum: Vec<f32> = look
        .rgb
        .chunks_exact(3)
        .map(|p| luminance([p[0] as f32, p[1] as f32, p[2] as f32]))
        .collect();
    lum.sort_by(f32::total_cmp);
    let median = lum.get(lum.len() / 2).copied()?;
    let dark = |c: [f32; 3]| luminance(c) < DARK_BAR_RATIO * median;
    // A dark surround (a dark-mode post frame, whose author's name heads it) is no bar: a
    // page's right edge, between its header and any footer or marking banner, is its page.
    let right = (look.width - 1) as f32;
    let dark_right = RIGHT_EDGE_SAMPLES
        .iter()
        .filter_map(|f| look.mean_around(right, f * look.height as f32, 1.0))
        .filter(|&c| dark(c))
        .count();
    if 2 * dark_right > RIGHT_EDGE_SAMPLES.len() {
        return None;
    }
    let (w, h) = (image.width as f32, image.height as f32);
    // The header is the first line of the left half under any marking banner; a word
    // touching the image's edge is cut (a cropped brand reads as anything).
    let inside = |t: &Token| t.x > 1.0 && t.y > 1.0 && t.x + t.w < w - 1.0;
    let first = image
        .tokens
        .iter()
        .filter(|t| {
            !t.faint
                && inside(t)
                && t.center().0 < 0.5 * w
                && !crate::fingerprint::is_marking(&t.text)
        })
        .min_by(|a, b| a.y.total_cmp(&b.y))?;
    let first_line = first.center().1;
    let found: Vec<usize> = image
        .tokens
        .iter()
        .enumerate()
        .filter(|(i, t)| {
            let (cx, cy) = t.center();
            names_another(*i, t, &matched_tokens, &org_words)
                && inside(t)
                && (cy - first_line).abs() < 0.5 * first.h.max(t.h)
                && cy < HEADER_BAND * h
                && cx < 0.5 * w
                && look
                    .mean_around(cx * to_look, cy * to_look, (t.h * to_look).max(1.0))
                    .is_some_and(dark)
        })
        .map(|(i, _)| i)
        .collect();
    (!found.is_empty()).then(|| Conflict {
        expected: brand.token.clone(),
        found,
    })
}

/// Luma (Rec. 601) of an RGB colour.
fn luminance(c: [f32; 3]) -> f32 {
    0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2]
}

/// Whether image token `i` (`t`) could name another organisation: read with confidence,
/// matched to none of the template's words, distinctive, and no misreading of one of our
/// organisation words.
fn names_another(i: usize, t: &Token, matched_tokens: &HashSet<usize>, org_words: &[&str]) -> bool {
    !t.faint && could_name_another(i, t, matched_tokens, org_words)
}

/// [`names_another`] for a reading of any confidence.
fn could_name_another(
    i: usize,
    t: &Token,
    matched_tokens: &HashSet<usize>,
    org_words: &[&str],
) -> bool {
    !matched_tokens.contains(&i)
        && is_distinctive(&t.text)
        && !org_words.iter().any(|o| looks_like(&t.text, o))
}

/// Whether `read` could be a garbled reading of `expected` (a photo's "kestet" for
/// "kestrel", "ranet" for "intranet", "este" for "estates"): then it is our word misread,
/// not another's. Short words (abbreviations) are too alike by chance ("sbc" and "hcc")
/// to tell.
fn looks_like(read: &str, expected: &str) -> bool {
    let long = read.chars().count() >= 4 && expected.chars().count() >= 5;
    long && (expected.contains(read)
        || read.contains(expected)
        || strsim::normalized_levenshtein(read, expected) >= 0.5)
}

/// A word that could name an organisation: letters, not common English or UI vocabulary.
/// Four letters at least: a photo's OCR leaves three-letter fragments everywhere ("mog"
/// for "McGee"), and another organisation's abbreviation comes with its name nearby.
fn is_distinctive(token: &str) -> bool {
    token.chars().count() >= 4
        && token.chars().all(char::is_alphabetic)
        && !crate::fingerprint::is_generic_ui(token)
        && crate::fingerprint::english_zipf(token) < 4.5
}

/// Candidate correspondences with what they weigh.
struct Candidate {
    image_token: usize,
    entry: usize,
    reference_token: usize,
    weight: f32,
}

/// Most places a reference shows a word at for the word to take part in alignment.
const MAX_PLACES: usize = 12;

/// Two-point RANSAC over scale + translation. Returns the summed weight of distinct entries
/// in the best consistent set, the transform, and the inliers.
fn fit_geometry(
    img: &[Token],
    matched: &[(usize, usize)],
    tpl: &IndexedTemplate,
    r: usize,
    ref_tokens: &[Token],
) -> (f32, Similarity, Vec<Inlier>) {
    let vocab = &tpl.template.vocabulary;
    let mut cands: Vec<Candidate> = Vec::new();
    for &(i, e) in matched {
        if let Some(list) = tpl.ref_tokens[r].get(&e) {
            // A word repeated a few times (a listing's rows) still places the rows' columns:
            // each row is tried, and an entry counts once in a fit. Repeated beyond that
            // (a column of dates), it gives no position, only noise.
            if list.len() > MAX_PLACES {
                continue;
            }
            for &j in list {
                cands.push(Candidate {
                    image_token: i,
                    entry: e,
                    reference_token: j,
                    weight: vocab[e].weight,
                });
            }
        }
    }
    if cands.len() < 2 {
        return (0.0, Similarity::default(), Vec::new());
    }
    // Hypotheses come from the heaviest candidates; every candidate votes.
    let mut order: Vec<usize> = (0..cands.len()).collect();
    order.sort_by(|&a, &b| cands[b].weight.total_cmp(&cands[a].weight));
    order.truncate(90);
    let mut best = (0.0f32, Similarity::default(), Vec::new());
    for (ai, &a) in order.iter().enumerate() {
        for &b in &order[ai + 1..] {
            let (ca, cb) = (&cands[a], &cands[b]);
            if ca.entry == cb.entry || ca.image_token == cb.image_token {
                continue;
            }
            let Some(sim) = hypothesis(
                &img[ca.image_token],
                &img[cb.image_token],
                &ref_tokens[ca.reference_token],
                &ref_tokens[cb.reference_token],
            ) else {
                continue;
            };
            let (score, inliers) = score_hypothesis(&sim, &cands, img, ref_tokens);
            if score > best.0 && is_layout(&inliers, ref_tokens, &tpl.ref_blocks[r]) {
                best = (score, sim, inliers);
            }
        }
    }
    best
}

/// Whether a consistent set says "same layout" rather than "same words": three content
/// words over two or more rows, or five along one row, and from two text blocks or more,
/// the blocks beyond the main one giving two words, or one uncommon word or protective
/// marking (a banner at its place and scale is no chance word). Fewer fit by chance, and the words of one block fit any copy of that block wherever it
/// is: a public page repeating the organisation's name, or a UI kit's demo paragraph on
/// another organisation's system built from the same kit. Function words ("it", "the")
/// and month names (every chart axis) align by chance and do not count. A marking banner
/// counts as one word: every marked system has one across its top or foot.
fn is_layout(inliers: &[Inlier], ref_tokens: &[Token], blocks: &[usize]) -> bool {
    let mut marking_seen = false;
    let inliers: Vec<&Inlier> = inliers
        .iter()
        .filter(|i| {
            let marking = crate::fingerprint::is_marking(&ref_tokens[i.reference_token].text);
            let keep = !(marking && marking_seen);
            marking_seen |= marking;
            keep
        })
        .collect();
    let content: Vec<(usize, &Token)> = inliers
        .iter()
        .map(|i| (i.reference_token, &ref_tokens[i.reference_token]))
        .filter(|(_, t)| {
            crate::fingerprint::english_zipf(&t.text) < FUNCTION_WORD_ZIPF
                && !crate::fingerprint::is_calendar_word(&t.text)
        })
        .collect();
    let mut per_block: HashMap<usize, usize> = HashMap::new();
    for &(i, _) in &content {
        if let Some(&b) = blocks.get(i) {
            *per_block.entry(b).or_default() += 1;
        }
    }
    let Some((&main_block, _)) = per_block.iter().max_by_key(|(&b, &n)| (n, b)) else {
        return false;
    };
    // Beyond the main block: two words (short ones too: "Team Members", "Search for"),
    // or one a common word would not be by chance (a card title's "Example" under a kit's
    // demo paragraph is).
    let outside: Vec<&Token> = inliers
        .iter()
        .filter(|i| {
            blocks
                .get(i.reference_token)
                .is_some_and(|&b| b != main_block)
        })
        .map(|i| &ref_tokens[i.reference_token])
        .filter(|t| !crate::fingerprint::is_calendar_word(&t.text))
        .collect();
    let telling = outside.len() >= 2
        || outside.iter().any(|t| {
            crate::fingerprint::english_zipf(&t.text) < COMMON_WORD_ZIPF
                || crate::fingerprint::is_marking(&t.text)
        });
    if !telling {
        return false;
    }
    let content: Vec<&Token> = content.into_iter().map(|(_, t)| t).collect();
    let (mut lo, mut hi, mut h) = (f32::MAX, f32::MIN, 0.0f32);
    for t in &content {
        lo = lo.min(t.y);
        hi = hi.max(t.y);
        h = h.max(t.h);
    }
    let multi_row = hi - lo >= 1.5 * h;
    content.len() >= if multi_row { 3 } else { 5 }
}

/// Groups a reference's tokens into text blocks: words of one line with word-sized gaps (a dropped "a" included),
/// and lines stacked at paragraph spacing that overlap horizontally. Table cells, menu
/// items and labels, spaced wider, stay blocks of their own.
fn text_blocks(tokens: &[Token]) -> Vec<usize> {
    let n = tokens.len();
    let mut parent: Vec<usize> = (0..n).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    for i in 0..n {
        for j in i + 1..n {
            let (a, b) = (&tokens[i], &tokens[j]);
            let h = a.h.max(b.h);
            let h_gap = (a.x.max(b.x) - (a.x + a.w).min(b.x + b.w)).max(0.0);
            let v_gap = a.y.max(b.y) - (a.y + a.h).min(b.y + b.h);
            let same_line = (a.center().1 - b.center().1).abs() < 0.5 * h && h_gap < 2.2 * h;
            let stacked = h_gap == 0.0 && v_gap < 0.8 * h;
            if same_line || stacked {
                let (ra, rb) = (root(&mut parent, i), root(&mut parent, j));
                parent[ra] = rb;
            }
        }
    }
    (0..n).map(|i| root(&mut parent, i)).collect()
}

/// Zipf frequency from which an English word is common enough to fall in place by chance
/// on its own ("example", "name").
const COMMON_WORD_ZIPF: f32 = 4.5;

/// Zipf frequency from which an English word is a function word ("it", "you", "the").
const FUNCTION_WORD_ZIPF: f32 = 5.6;

/// Pixels a tiny blurred word's OCR box may grow beyond its letters' height.
const BLUR_HALO: f32 = 4.0;

/// Letter height (image pixels) below which a word's box may carry [`BLUR_HALO`], being
/// itself no taller than that and the halo.
const SMALL_PRINT: f32 = 8.0;

/// The similarity taking reference tokens `ra`, `rb` onto image tokens `ia`, `ib`, if the two
/// correspondences agree on scale (distance ratio vs. letter-height ratio) and direction.
fn hypothesis(ia: &Token, ib: &Token, ra: &Token, rb: &Token) -> Option<Similarity> {
    let (pa, pb) = (ia.center(), ib.center());
    let (qa, qb) = (ra.center(), rb.center());
    let (dix, diy) = (pb.0 - pa.0, pb.1 - pa.1);
    let (drx, dry) = (qb.0 - qa.0, qb.1 - qa.1);
    let dr = (drx * drx + dry * dry).sqrt();
    if dr < 25.0 {
        return None;
    }
    let di = (dix * dix + diy * diy).sqrt();
    let scale = di / dr;
    if !(0.12..=5.0).contains(&scale) {
        return None;
    }
    // Same direction (no rotation beyond a few degrees).
    let cos = (dix * drx + diy * dry) / (di * dr).max(1e-6);
    if cos < 0.985 {
        return None;
    }
    // Letter heights must agree with the distance ratio. OCR's box round a tiny blurred
    // word (a page shrunk into a post) takes in its blur: a few pixels taller than its
    // letters. Larger words keep the ratio: a login box's brand in another type size is
    // not the header's.
    for (i, r) in [(ia, ra), (ib, rb)] {
        let expected = scale * r.h.max(1.0);
        let halo = if expected < SMALL_PRINT && i.h <= SMALL_PRINT + BLUR_HALO {
            BLUR_HALO
        } else {
            0.0
        };
        if i.h < expected * (-0.45f32).exp() || i.h > expected * 0.45f32.exp() + halo {
            return None;
        }
    }
    Some(Similarity {
        scale,
        tx: pa.0 - scale * qa.0,
        ty: pa.1 - scale * qa.1,
    })
}

fn score_hypothesis(
    sim: &Similarity,
    cands: &[Candidate],
    img: &[Token],
    ref_tokens: &[Token],
) -> (f32, Vec<Inlier>) {
    let mut used_entries: HashSet<usize> = HashSet::new();
    let mut used_image: HashSet<usize> = HashSet::new();
    let mut inliers = Vec::new();
    let mut score = 0.0;
    for c in cands {
        if used_entries.contains(&c.entry) || used_image.contains(&c.image_token) {
            continue;
        }
        let r = &ref_tokens[c.reference_token];
        let (px, py) = sim.apply(r.center());
        let (ix, iy) = img[c.image_token].center();
        let tol = (1.2 * sim.scale * r.h).max(6.0);
        if (px - ix).abs() <= tol.max(0.25 * sim.scale * r.w) && (py - iy).abs() <= tol {
            used_entries.insert(c.entry);
            used_image.insert(c.image_token);
            score += c.weight;
            inliers.push(Inlier {
                image_token: c.image_token,
                entry: c.entry,
                reference_token: c.reference_token,
            });
        }
    }
    (score, inliers)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::enroll::build_template;
    use crate::fingerprint::layout::Palette;

    fn tok(text: &str, x: f32, y: f32, h: f32) -> Token {
        Token {
            text: text.into(),
            x,
            y,
            w: h * text.len() as f32 * 0.6,
            h,
            faint: false,
        }
    }

    fn fp(tokens: Vec<Token>) -> ImageFingerprint {
        ImageFingerprint {
            width: 1366,
            height: 768,
            tokens,
            palette: Palette::default(),
            look: Default::default(),
            screen: None,
        }
    }

    fn page(extra: &str) -> ImageFingerprint {
        fp(vec![
            tok("northbridge", 20.0, 20.0, 14.0),
            tok("intranet", 20.0, 45.0, 14.0),
            tok("dashboard", 20.0, 120.0, 12.0),
            tok("components", 20.0, 200.0, 12.0),
            tok("utilities", 20.0, 260.0, 12.0),
            tok("mcgee", 1200.0, 50.0, 12.0),
            tok(extra, 400.0, 300.0, 12.0),
        ])
    }

    #[test]
    fn scaled_and_shifted_copy_matches_in_place() {
        let t = build_template(
            "northbridge-intranet",
            vec![("a".into(), page("earnings")), ("b".into(), page("salary"))],
            &[],
        );
        let it = IndexedTemplate::new(t);
        // The image: reference scaled by 0.6 and shifted by (30, 50), one word misread.
        let moved: Vec<Token> = page("charts")
            .tokens
            .iter()
            .map(|t| Token {
                text: if t.text == "components" {
                    "cornponents".into()
                } else {
                    t.text.clone()
                },
                x: t.x * 0.6 + 30.0,
                y: t.y * 0.6 + 50.0,
                w: t.w * 0.6,
                h: t.h * 0.6,
                faint: false,
            })
            .collect();
        let m = match_template(&fp(moved), &it);
        assert!((m.transform.scale - 0.6).abs() < 0.02, "{:?}", m.transform);
        assert!(m.features.geo_count >= 6.0, "{:?}", m.features);
        assert!(m.features.org_geo_weight > 1.0);

        // The same words scattered elsewhere are read but not in place.
        let scattered: Vec<Token> = page("charts")
            .tokens
            .iter()
            .enumerate()
            .map(|(i, t)| {
                tok(
                    &t.text,
                    900.0 - 130.0 * i as f32,
                    40.0 * (i % 3) as f32,
                    12.0,
                )
            })
            .collect();
        let s = match_template(&fp(scattered), &it);
        assert!(s.features.text_weight > 0.0);
        assert!(
            s.features.geo_weight < m.features.geo_weight / 2.0,
            "{:?}",
            s.features
        );
    }

    #[test]
    fn a_listing_scrolled_by_a_row_aligns_on_its_repeated_rows() {
        // A listing of six identical rows, as kit demo pages show them, under a title.
        let listing = |dy: f32, rows: usize| -> Vec<Token> {
            let mut t = vec![tok("projects", 40.0, 60.0 + dy, 20.0)];
            for r in 0..rows {
                let y = 200.0 + 100.0 * r as f32 + dy;
                t.push(tok("pesamakini", 300.0, y, 12.0));
                t.push(tok("backend", 400.0, y, 12.0));
                t.push(tok("complete", 700.0, y + 20.0, 10.0));
                t.push(tok("success", 900.0, y, 14.0));
                t.push(tok("delete", 1100.0, y + 38.0, 14.0));
            }
            t
        };
        let t = build_template(
            "harbour-casemanager",
            vec![
                ("a".into(), fp(listing(0.0, 6))),
                ("b".into(), page("earnings")),
            ],
            &[],
        );
        let it = IndexedTemplate::new(t);
        // Scrolled down by one row and a half, the title gone: only repeated words remain.
        let scrolled: Vec<Token> = listing(-150.0, 6)
            .into_iter()
            .filter(|t| t.y >= 0.0 && t.text != "projects")
            .collect();
        let m = match_template(&fp(scrolled), &it);
        assert!(m.features.geo_count >= 4.0, "{:?}", m.features);
        assert!((m.transform.scale - 1.0).abs() < 0.02, "{:?}", m.transform);
    }

    #[test]
    fn words_cut_by_a_crop_match_and_align_as_whole_words() {
        let t = build_template(
            "northbridge-intranet",
            vec![("a".into(), page("earnings")), ("b".into(), page("salary"))],
            &[],
        );
        let it = IndexedTemplate::new(t);
        assert_eq!(it.lookup_cut("ponents", Cut::Left), it.lookup("components"));
        assert_eq!(it.lookup_cut("dashb", Cut::Right), it.lookup("dashboard"));
        // Too short to say which word, or not a part of any.
        assert_eq!(it.lookup_cut("nts", Cut::Left), None);
        assert_eq!(it.lookup_cut("ponentz", Cut::Left), None);
        // The page cropped 30 px from the left: the sidebar's words lose their start.
        let cropped: Vec<Token> = page("charts")
            .tokens
            .iter()
            .filter(|t| t.x + t.w > 30.0)
            .map(|t| {
                let mut c = t.clone();
                if t.x < 30.0 {
                    let per_letter = t.w / t.text.len() as f32;
                    let cut = ((30.0 - t.x) / per_letter).ceil() as usize;
                    // The visible part starts at the edge; its cut letter is not read.
                    c.text = t.text[cut..].to_string();
                    c.w = t.x + t.w - 30.0;
                    c.x = 0.0;
                } else {
                    c.x -= 30.0;
                }
                c
            })
            .collect();
        let mut image = fp(cropped);
        image.width -= 30;
        let m = match_template(&image, &it);
        assert!(m.features.geo_count >= 5.0, "{:?}", m.features);
        // Within a letter: the read part of a cut word ends mid-letter.
        assert!((m.transform.tx + 30.0).abs() < 8.0, "{:?}", m.transform);
    }

    #[test]
    fn a_scrolled_page_has_its_fixed_chrome_checked_for_another_name() {
        // Sidebar and top bar fixed; a profile form below them scrolls.
        let form = [
            "zanzibar", "quokka", "pelican", "marmoset", "capybara", "axolotl", "narwhal",
            "wombat", "okapi", "tapir",
        ];
        let screen = |first: &str, dy: f32, content: &[&str]| -> ImageFingerprint {
            let mut tokens = page("earnings").tokens;
            tokens.retain(|t| t.text != "earnings");
            tokens[0].text = first.into();
            for (i, w) in content.iter().enumerate() {
                let (col, row) = ((i % 3) as f32, (i / 3) as f32);
                tokens.push(tok(w, 400.0 + 250.0 * col, 300.0 + 60.0 * row + dy, 12.0));
            }
            fp(tokens)
        };
        let t = build_template(
            "northbridge-intranet",
            vec![
                ("a".into(), screen("northbridge", 0.0, &form)),
                ("b".into(), screen("northbridge", 0.0, &["salary"])),
            ],
            &[],
        );
        let it = IndexedTemplate::new(t);
        // Another organisation's copy of the kit, scrolled 150 px down.
        let other = screen("fallowfield", -150.0, &form);
        let m = match_template(&other, &it);
        assert!((m.transform.ty + 150.0).abs() < 3.0, "{:?}", m.transform);
        assert!(
            m.conflicts.iter().any(|c| c.expected == "northbridge"),
            "{:?}",
            m.conflicts
        );
        assert!(m.features.foreign_weight > 0.0);
        // Ours, scrolled the same way: the brand is in place under the chrome's alignment.
        let ours = screen("northbridge", -150.0, &form);
        let m = match_template(&ours, &it);
        assert!(m.conflicts.is_empty(), "{:?}", m.conflicts);
        assert!(m.features.org_geo_weight > 1.0, "{:?}", m.features);
        // Ours, the brand misread as a fragment of our other name word: no other name.
        let misread = screen("ntra", -150.0, &form);
        let m = match_template(&misread, &it);
        assert!(m.conflicts.is_empty(), "{:?}", m.conflicts);
    }

    #[test]
    fn another_organisations_brand_in_a_dark_top_bar_is_foreign() {
        let t = build_template(
            "northbridge-intranet",
            vec![("a".into(), page("earnings")), ("b".into(), page("salary"))],
            &[],
        );
        let it = IndexedTemplate::new(t);
        // A phone-width screenshot, 400 x 900: a bar across its top 80 px, a marking banner
        // across its foot, and its right edge.
        let look = |top: [u8; 3], foot: [u8; 3], right: [u8; 3]| crate::fingerprint::layout::Look {
            width: 40,
            height: 90,
            rgb: (0..90)
                .flat_map(|y| (0..40).map(move |x| (x, y)))
                .flat_map(|(x, y)| {
                    if y < 8 {
                        top
                    } else if y >= 86 {
                        foot
                    } else if x >= 36 {
                        right
                    } else {
                        [250, 250, 250]
                    }
                })
                .collect(),
        };
        let shot = |brand: &str, top: [u8; 3], foot: [u8; 3], right: [u8; 3]| ImageFingerprint {
            width: 400,
            height: 900,
            tokens: vec![
                tok(brand, 20.0, 30.0, 16.0),
                tok("tables", 20.0, 120.0, 20.0),
            ],
            palette: Palette::default(),
            look: look(top, foot, right),
            screen: None,
        };
        let (dark, light) = ([30, 30, 35], [250, 250, 250]);
        let c =
            header_brand(&shot("westmere", dark, light, light), &it, &[]).expect("foreign brand");
        assert_eq!(c.found, vec![0]);
        assert!(it
            .template
            .vocabulary
            .iter()
            .any(|v| v.org && v.token == c.expected));
        // A dark marking banner across the foot changes nothing.
        assert!(header_brand(&shot("westmere", dark, dark, light), &it, &[]).is_some());
        // Ours, or a garbled reading of ours, is no other name.
        assert!(header_brand(&shot("northbrldge", dark, light, light), &it, &[]).is_none());
        // A title on the page itself is not a brand bar.
        assert!(header_brand(&shot("westmere", light, light, light), &it, &[]).is_none());
        // A dark-mode post frame: its author's name heads a dark surround, not a bar.
        assert!(header_brand(&shot("westmere", dark, dark, dark), &it, &[]).is_none());
    }

    #[test]
    fn another_name_in_our_brand_line_is_foreign_when_a_crop_cuts_the_header() {
        let brand_line = ["kestrel", "health", "trust", "staff", "portal"];
        let brand_x = [292.0, 360.0, 422.0, 499.0, 545.0];
        let menu = ["dashboard", "icons", "maps", "notifications", "typography"];
        let page = |first: &str, dx: f32, dy: f32, brand_h: f32, extra: &str| {
            let mut tokens: Vec<Token> = brand_line
                .iter()
                .zip(brand_x)
                .map(|(w, x)| {
                    let mut t = tok(w, x + dx, (23.0 + dy).max(0.0), brand_h);
                    if *w == "kestrel" {
                        t.text = first.into();
                    }
                    t
                })
                .collect();
            for (i, w) in menu.iter().enumerate() {
                tokens.push(tok(w, 70.0 + dx, 103.0 + 60.0 * i as f32 + dy, 9.0));
            }
            tokens.push(tok(extra, 500.0 + dx, 400.0 + dy, 12.0));
            fp(tokens)
        };
        let t = build_template(
            "kestrel-staffportal",
            vec![
                ("a".into(), page("kestrel", 0.0, 0.0, 16.0, "earnings")),
                ("b".into(), page("kestrel", 0.0, 0.0, 16.0, "salary")),
            ],
            &[],
        );
        let it = IndexedTemplate::new(t);
        // A crop 67 px in and 46 px down: the header line is cut to its lower half, and
        // the alignment puts the brand above the image.
        let other = match_template(&page("fallowfield", -67.0, -46.0, 8.0, "earnings"), &it);
        assert!(other.inliers.len() >= 3, "{:?}", other.features);
        assert!(
            other.conflicts.iter().any(|c| c.expected == "kestrel"),
            "{:?}",
            other.conflicts
        );
        assert!(other.features.foreign_weight > 0.0);
        // Ours, its brand garbled by the cut: no other name.
        let ours = match_template(&page("kestrei", -67.0, -46.0, 8.0, "earnings"), &it);
        assert!(ours.conflicts.is_empty(), "{:?}", ours.conflicts);
    }

    #[test]
    fn a_tiny_blurred_words_box_may_be_taller_than_its_letters() {
        // A reference's header word and a card title, 16 px high, 271 px apart.
        let (ra, rb) = (
            tok("health", 360.0, 23.0, 16.0),
            tok("users", 306.0, 289.0, 16.0),
        );
        // The page shrunk to 0.35 in a post: letters 5.6 px high, boxes 11 px.
        let at = |r: &Token, h: f32| Token {
            x: r.x * 0.35 + 31.0,
            y: r.y * 0.35 + 145.0,
            h,
            ..r.clone()
        };
        let sim = hypothesis(&at(&ra, 11.0), &at(&rb, 11.0), &ra, &rb).expect("tiny words fit");
        assert!((sim.scale - 0.35).abs() < 0.01, "{sim:?}");
        // Words in a larger type than that are another text, not the page's blurred.
        assert!(hypothesis(&at(&ra, 15.0), &at(&rb, 15.0), &ra, &rb).is_none());
    }

    /// Inliers pairing image token, vocabulary entry and reference token `i` for each `i`.
    fn inliers_at(idx: &[usize]) -> Vec<Inlier> {
        idx.iter()
            .map(|&i| Inlier {
                image_token: i,
                entry: i,
                reference_token: i,
            })
            .collect()
    }

    #[test]
    fn a_paragraph_is_one_block_and_table_cells_are_many() {
        let tokens = [
            // A wrapped paragraph (a one-letter word dropped between "is" and "third").
            tok("datatables", 100.0, 200.0, 12.0),
            tok("is", 175.0, 200.0, 12.0),
            tok("third", 205.0, 200.0, 12.0),
            tok("plugin", 100.0, 218.0, 12.0),
            // Cells of a table: rows further apart than paragraph lines, columns wide apart.
            tok("airi", 100.0, 300.0, 12.0),
            tok("accountant", 300.0, 300.0, 12.0),
            tok("ashton", 100.0, 340.0, 12.0),
            // A card title below the paragraph.
            tok("example", 100.0, 400.0, 12.0),
        ];
        let b = text_blocks(&tokens);
        assert!(b[0] == b[1] && b[1] == b[2] && b[2] == b[3], "{b:?}");
        let cells: HashSet<usize> = b[4..7].iter().copied().collect();
        assert_eq!(cells.len(), 3);
        assert!(!cells.contains(&b[0]));
        // Four words of the one paragraph in place say "same paragraph", not "same layout".
        assert!(!is_layout(&inliers_at(&[0, 2, 3]), &tokens, &b));
        assert!(is_layout(&inliers_at(&[0, 4, 5, 6]), &tokens, &b));
        // The paragraph and one common word elsewhere: that word falls in place by chance
        // (a kit's demo paragraph over another card's "Example"); a rare one does not.
        assert!(!is_layout(&inliers_at(&[0, 2, 3, 7]), &tokens, &b));
        assert!(is_layout(&inliers_at(&[0, 2, 3, 4]), &tokens, &b));
    }

    #[test]
    fn a_marking_banner_counts_as_one_word_of_a_layout() {
        let tokens = [
            // The banner across the top, a sidebar item, the page title.
            tok("official", 600.0, 4.0, 9.0),
            tok("sensitive", 670.0, 4.0, 9.0),
            tok("dashboard", 42.0, 113.0, 9.0),
            tok("projects", 250.0, 118.0, 20.0),
        ];
        let b = text_blocks(&tokens);
        // Every marked system has the banner: with one other word it is no layout.
        assert!(!is_layout(&inliers_at(&[0, 1, 2]), &tokens, &b));
        assert!(is_layout(&inliers_at(&[0, 1, 2, 3]), &tokens, &b));
    }

    #[test]
    fn a_brand_under_its_marking_banner_is_a_layout() {
        let tokens = [
            // The banner across the top, the sidebar's brand line, a card title.
            tok("official", 652.0, 4.0, 9.0),
            tok("station", 114.0, 25.0, 12.0),
            tok("rota", 171.0, 25.0, 12.0),
            tok("example", 652.0, 200.0, 12.0),
        ];
        let b = text_blocks(&tokens);
        assert!(is_layout(&inliers_at(&[0, 1, 2]), &tokens, &b));
        // A common word is no banner: the brand line alone may be copied anywhere.
        assert!(!is_layout(&inliers_at(&[1, 2, 3]), &tokens, &b));
    }

    #[test]
    fn an_aligned_sidebar_of_another_colour_disagrees() {
        let page = [248.0, 249.0, 252.0];
        let blue = [78.0, 115.0, 223.0];
        let dark_grey = [33.0, 37.0, 41.0];
        // A template: blue sidebar cells, then page background.
        let template: Vec<[f32; 3]> = (0..40).map(|i| if i < 10 { blue } else { page }).collect();
        let pairs = |seen: &dyn Fn(usize) -> [f32; 3]| -> Vec<([f32; 3], [f32; 3])> {
            template
                .iter()
                .enumerate()
                .map(|(i, &t)| (t, seen(i)))
                .collect()
        };
        // Our screen, photographed: darker and warmer, same structure.
        let ours = look_agreement(
            &pairs(&|i| {
                let c = template[i];
                [c[0] * 0.85 + 10.0, c[1] * 0.82, c[2] * 0.75]
            }),
            12.0,
        );
        assert!(ours > 0.8, "{ours}");
        // Another kit: the same page, a dark grey sidebar.
        let other = look_agreement(&pairs(&|i| if i < 10 { dark_grey } else { page }), 12.0);
        assert!(other < 0.0, "{other}");
        // Nothing in view: no evidence either way.
        assert_eq!(look_agreement(&[], 12.0), 0.0);
    }

    #[test]
    fn faint_readings_match_only_distinctive_or_chrome_words_exactly() {
        let t = build_template(
            "northbridge-intranet",
            vec![("a".into(), page("earnings")), ("b".into(), page("salary"))],
            &[],
        );
        let it = IndexedTemplate::new(t);
        let org = it
            .lookup_faint("northbridge")
            .expect("an organisation word, exactly");
        assert!(it.template.vocabulary[org].org);
        assert_eq!(
            it.lookup_faint("northbrldge"),
            None,
            "no fuzzy match when faint"
        );
        assert_eq!(
            it.lookup_faint("earnings"),
            None,
            "a common word of one page needs a clear reading"
        );
        // A menu item on every page is chrome: spelled exactly, a faint reading of it
        // places the layout.
        let menu = it.lookup_faint("dashboard").expect("chrome, exactly");
        assert!(it.template.vocabulary[menu].chrome);
        assert_eq!(it.lookup_faint("dashbomd"), None, "but not misspelt");
        assert!(
            it.lookup("northbrldge").is_some(),
            "a clear misreading still matches"
        );
        // A long word read one letter short and one wrong: two edits, as for any long word.
        let dashboard = it.lookup("dashboard");
        assert!(dashboard.is_some());
        assert_eq!(it.lookup("dashbomd"), dashboard);
        assert_eq!(it.lookup("dashbd"), None, "three edits are another word");
    }

    #[test]
    fn a_faint_reading_matches_our_name_but_for_confusable_letters_only() {
        let it = IndexedTemplate::new(build_template(
            "cairnmoor-leaktracker",
            vec![("a".into(), page("earnings")), ("b".into(), page("salary"))],
            &["cairnmoor".to_string()],
        ));
        let name = it.lookup_faint("cairnmoor");
        assert!(name.is_some());
        assert_eq!(it.lookup_faint("caimmoor"), name, "rn read as m");
        assert_eq!(it.lookup_faint("cairnm00r"), name, "o read as 0");
        assert_eq!(it.lookup_faint("cairnmeer"), None, "two other letters");
        assert_eq!(ocr_fold("clevvil"), "dewil");
    }

    #[test]
    fn a_garbled_reading_of_our_name_is_not_another_organisations() {
        assert!(looks_like("kestet", "kestrel"));
        assert!(looks_like("ranet", "intranet"));
        assert!(looks_like("este", "estates"), "four letters of a long word");
        assert!(!looks_like("linwood", "kestrel"));
        assert!(
            !looks_like("sbc", "hcc"),
            "abbreviations differ by a letter"
        );
    }

    #[test]
    fn index_verifies_only_templates_sharing_words() {
        let a = IndexedTemplate::new(build_template(
            "northbridge-intranet",
            vec![("a".into(), page("earnings")), ("b".into(), page("salary"))],
            &[],
        ));
        let other = |name: &str, word: &str| {
            IndexedTemplate::new(build_template(
                name,
                vec![
                    ("a".into(), fp(vec![tok(word, 10.0, 10.0, 12.0)])),
                    ("b".into(), fp(vec![tok(word, 10.0, 10.0, 12.0)])),
                ],
                &[],
            ))
        };
        let templates = vec![
            other("kestrel-portal", "kestrel"),
            a,
            other("harbour-cases", "harbour"),
        ];
        let index = TemplateIndex::new(&templates);
        assert_eq!(index.candidates(&page("charts")), vec![1]);
        // Nothing shared: the first template still stands as the closest.
        assert_eq!(
            index
                .candidates(&fp(vec![tok("zzzz", 1.0, 1.0, 9.0)]))
                .len(),
            1
        );
    }

    #[test]
    fn words_shown_on_public_pages_weigh_nothing() {
        let mut t = build_template(
            "northbridge-intranet",
            vec![("a".into(), page("earnings")), ("b".into(), page("salary"))],
            &[],
        );
        let public = fp(vec![
            tok("northbridge", 20.0, 20.0, 14.0),
            tok("dashboard", 300.0, 20.0, 12.0),
            tok("utilities", 400.0, 20.0, 12.0),
        ]);
        assert_eq!(
            crate::enroll::mark_public(&mut t, vec![("site.png".into(), public)]),
            3
        );
        let original = IndexedTemplate::new(build_template(
            "northbridge-intranet",
            vec![("a".into(), page("earnings")), ("b".into(), page("salary"))],
            &[],
        ));
        let before = match_template(&page("charts"), &original);
        let it = IndexedTemplate::new(t);
        let weight = |w: &str| it.template.vocabulary[it.lookup(w).expect(w)].weight;
        assert_eq!(weight("dashboard"), 0.0);
        assert_eq!(weight("utilities"), 0.0);
        assert!(
            weight("components") > 0.0,
            "what the public never sees still counts"
        );
        let after = match_template(&page("charts"), &it);
        assert!(after.features.text_weight < before.features.text_weight);
        assert!(after.features.geo_weight < before.features.geo_weight);
        assert_eq!(
            after.features.org_weight, before.features.org_weight,
            "the name still says whose screen it is"
        );
    }
}
