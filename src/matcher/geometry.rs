//! Geometry: the largest set of matched words that sit where one reference has them, up to
//! scale and translation (two-point RANSAC), and whether that set is a layout or a chance.

use std::collections::{HashMap, HashSet};

use super::{IndexedTemplate, Inlier, Similarity};
use crate::fingerprint::Token;

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
pub(super) fn fit_geometry(
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
/// marking (a banner at its place and scale is no chance word). Fewer fit by chance, and
/// the words of one block fit any copy of that block wherever it is: a public page
/// repeating the organisation's name, or a UI kit's demo paragraph on another
/// organisation's system built from the same kit. Function words ("it", "the")
/// and month names (every chart axis) align by chance and do not count. A marking banner
/// counts as one word: every marked system has one across its top or foot.
pub(super) fn is_layout(inliers: &[Inlier], ref_tokens: &[Token], blocks: &[usize]) -> bool {
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

/// Groups a reference's tokens into text blocks: words of one line with word-sized gaps (a
/// dropped "a" included), and lines stacked at paragraph spacing that overlap horizontally. Table cells, menu
/// items and labels, spaced wider, stay blocks of their own.
pub(super) fn text_blocks(tokens: &[Token]) -> Vec<usize> {
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
/// on its own ("example", "name"), or to be what a word cut by the image's edge reads
/// rather than part of a name ("more", "north").
pub(super) const COMMON_WORD_ZIPF: f32 = 4.5;

/// Zipf frequency from which an English word is a function word ("it", "you", "the").
const FUNCTION_WORD_ZIPF: f32 = 5.6;

/// Pixels a tiny blurred word's OCR box may grow beyond its letters' height.
pub(super) const BLUR_HALO: f32 = 4.0;

/// Letter height (image pixels) below which a word's box may carry [`BLUR_HALO`], being
/// itself no taller than that and the halo.
const SMALL_PRINT: f32 = 8.0;

/// The similarity taking reference tokens `ra`, `rb` onto image tokens `ia`, `ib`, if the two
/// correspondences agree on scale (distance ratio vs. letter-height ratio) and direction.
pub(super) fn hypothesis(ia: &Token, ib: &Token, ra: &Token, rb: &Token) -> Option<Similarity> {
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
