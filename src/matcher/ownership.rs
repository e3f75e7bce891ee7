//! Whose screen it is: another organisation's words where the template names its own
//! (projected by the alignment, placed by the brand line's own words, or read in the
//! screenshot's own header).

use std::collections::HashSet;

use super::geometry::BLUR_HALO;
use super::look::luminance;
use super::{Conflict, IndexedTemplate, Similarity};
use crate::fingerprint::{ImageFingerprint, Token};

/// Projects the reference's organisation words into the image with the fitted alignment
/// and reports those whose place, inside the image, holds other distinctive words. A word
/// that could be a misreading of any of our organisation words is not another's: OCR
/// splits and garbles a brand line ("Brockhurst Estates" read "este" where "brockhurst"
/// stands).
pub(super) fn find_conflicts(
    image: &ImageFingerprint,
    tpl: &IndexedTemplate,
    r: usize,
    sim: &Similarity,
    matched: &[(usize, usize)],
) -> Vec<Conflict> {
    let matched_entries: HashSet<usize> = matched.iter().map(|&(_, e)| e).collect();
    let matched_tokens: HashSet<usize> = matched.iter().map(|&(i, _)| i).collect();
    let (w, h) = (image.width as f32, image.height as f32);
    let org_words = tpl.org_words();
    let mut out: Vec<Conflict> = Vec::new();
    for (k, rt) in unread_names(tpl, r, &matched_entries) {
        if out.iter().any(|c| c.expected == rt.text) {
            continue;
        }
        let (px, py) = sim.apply(rt.center());
        let (pw, ph) = (sim.scale * rt.w, sim.scale * rt.h);
        if px - pw / 2.0 < 0.0 || py - ph / 2.0 < 0.0 || px + pw / 2.0 > w || py + ph / 2.0 > h {
            continue;
        }
        let slot = Slot {
            centre: (px, py),
            width: pw,
            height: ph,
        };
        // Projected by the alignment, not placed by the line's own words, a place names
        // another only where read surely; a faint reading there that begins as our word
        // does is our word blurred.
        let ours = words_beside(tpl, r, k, &org_words);
        let (found, faint): (Vec<usize>, Vec<usize>) =
            others_in_slot(image, &slot, 1.0, &matched_tokens, &ours)
                .into_iter()
                .partition(|&i| !image.tokens[i].faint);
        let blurred: Vec<usize> = faint
            .into_iter()
            .filter(|&i| begins_alike(&image.tokens[i].text, &rt.text))
            .collect();
        if !found.is_empty() || !blurred.is_empty() {
            out.push(Conflict {
                expected: rt.text.clone(),
                found,
                blurred,
            });
        }
    }
    out
}

/// Another name in our brand line or marking banner, placed by the line's own words.
/// Where the alignment puts the brand outside the image (a crop through the header) or
/// the line moved (a banner fixed to the window's foot), the rest of the line ("...
/// Health Trust Staff Portal"), read on one line at a consistent scale, still says where
/// our name would stand; a distinctive word there that is no misreading of ours names
/// another organisation on the same kit.
pub(super) fn brand_line_conflicts(
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
    for (k, rt) in unread_names(tpl, r, &matched_entries) {
        if out.iter().any(|c| c.expected == rt.text) {
            continue;
        }
        // The line's other chrome and marking words, each with every image token that read
        // it. A marking banner's words ("OFFICIAL - Harbour City Council") are set apart
        // by a dash, wider than a word space: beside our name on its row, they are its line.
        let mates: Vec<(&Token, &Token)> = reference
            .tokens
            .iter()
            .enumerate()
            .filter(|&(j, m)| {
                j != k
                    && m.text != rt.text
                    && (blocks.get(j) == blocks.get(k) || beside_on_row(rt, m))
            })
            .filter_map(|(_, m)| Some((m, *tpl.vocab.get(&m.text)?)))
            .filter(|&(_, me)| (vocab[me].chrome || vocab[me].marking) && !vocab[me].org)
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
        let Some(slot) = place else {
            continue;
        };
        // A faint reading counts here: the slot is known, and a cut line is faint.
        let found = others_in_slot(
            image,
            &slot,
            0.5,
            &matched_tokens,
            &words_beside(tpl, r, k, &org_words),
        );
        if !found.is_empty() {
            out.push(Conflict {
                expected: rt.text.clone(),
                found,
                blurred: Vec::new(),
            });
        }
    }
    out
}

/// Whether reference token `b` stands on `a`'s row within [`ROW_REACH`] letter heights of
/// it: across a dash or a separator that splits the line into text blocks.
fn beside_on_row(a: &Token, b: &Token) -> bool {
    let h = a.h.max(b.h);
    let gap = a.x.max(b.x) - (a.x + a.w).min(b.x + b.w);
    (a.center().1 - b.center().1).abs() < 0.5 * h && gap < ROW_REACH * h
}

/// Letter heights across which a word beside our name is still on its line.
const ROW_REACH: f32 = 4.0;

/// Our organisation words and the words of reference `r`'s token `k`'s own block (its
/// line: "Kestrel Health Trust Staff Portal"): what a reading in that token's place may
/// be a misreading of. A photo's OCR splits and shifts a line's words ("Kenatred Meath"
/// for "Kestrel Health"), so a garbled neighbour can stand where our name does.
fn words_beside<'a>(
    tpl: &'a IndexedTemplate,
    r: usize,
    k: usize,
    org_words: &[&'a str],
) -> Vec<&'a str> {
    let mut words = org_words.to_vec();
    if let Some(blocks) = tpl.ref_blocks.get(r) {
        let block = blocks.get(k);
        words.extend(
            tpl.template.references[r]
                .tokens
                .iter()
                .zip(blocks)
                .enumerate()
                .filter(|&(j, (_, b))| j != k && Some(b) == block)
                .map(|(_, (t, _))| t.text.as_str()),
        );
    }
    words
}

/// Reference `r`'s tokens (with their indices) that name the organisation and were read
/// nowhere in the image (`matched_entries`): the places to look for another name.
fn unread_names<'a>(
    tpl: &'a IndexedTemplate,
    r: usize,
    matched_entries: &'a HashSet<usize>,
) -> impl Iterator<Item = (usize, &'a Token)> + 'a {
    let vocab = &tpl.template.vocabulary;
    tpl.template.references[r]
        .tokens
        .iter()
        .enumerate()
        .filter(move |(_, rt)| {
            tpl.vocab
                .get(&rt.text)
                .is_some_and(|&e| vocab[e].org && !matched_entries.contains(&e))
        })
}

/// Drops the conflicts that are our own organisation misread or a colleague's session,
/// where `org_in_place` of our organisation words (one at least) were read in place, and
/// everywhere the places that hold only our word blurred (no evidence of another name).
/// A reading that begins as our word does, faint or not, is our word misread ("ferre"
/// for "Fernhill" under a photo's blur), not another's; the other readings of that place
/// (each OCR pass reads it anew: "ferm", "bree", "berm") are garbles of it too. A
/// colleague's session shows another user but our brand: where the user's places are the
/// only ones holding another name, and two of our names vouch for the brand (read in
/// place, or misread in theirs), it is that. One word of ours that any system may share
/// ("Intranet") is no answer to another user, and where another name also stands in our
/// brand's place the screen is another organisation's, users and all.
pub(super) fn excuse_our_own(
    conflicts: &mut Vec<Conflict>,
    image: &ImageFingerprint,
    tpl: &IndexedTemplate,
    r: usize,
    org_in_place: usize,
) {
    if org_in_place > 0 {
        let before = conflicts.len();
        conflicts.retain(|c| {
            !c.found
                .iter()
                .chain(&c.blurred)
                .any(|&i| begins_alike(&image.tokens[i].text, &c.expected))
        });
        let misread = before - conflicts.len();
        if org_in_place + misread >= 2
            && conflicts
                .iter()
                .all(|c| names_the_user(tpl, r, &c.expected))
        {
            conflicts.clear();
        }
    }
    conflicts.retain(|c| !c.found.is_empty());
}

/// Whether organisation word `word` names the signed-in user: reference `r` shows it where
/// admin UIs show the user, in the right half of the header band (and wherever else it
/// shows it, a sidebar's "Welcome, J. Doherty", it is the same user). A colleague's
/// session of our own system shows another name (and badge number) in its places
/// ([`excuse_our_own`]).
pub(super) fn names_the_user(tpl: &IndexedTemplate, r: usize, word: &str) -> bool {
    let reference = &tpl.template.references[r];
    let (w, h) = (reference.width as f32, reference.height as f32);
    reference.tokens.iter().any(|t| {
        let (cx, cy) = t.center();
        t.text == word && cx > 0.5 * w && cy < HEADER_BAND * h
    })
}

/// Where one of our organisation words would stand in the image: its centre, width and
/// letter height.
struct Slot {
    centre: (f32, f32),
    width: f32,
    height: f32,
}

/// Image tokens in `slot` that could name another organisation, faint readings too: on
/// its row (within `row_share` of the taller letter height), overlapping it across, give
/// or take a letter, and in letters of its size (another name in our name's place is set
/// in the same type; a box much taller is a blot or an icon read across lines, as on a
/// blurred photo's footer). `ours`: the words such a token may be a misreading of
/// ([`words_beside`]).
fn others_in_slot(
    image: &ImageFingerprint,
    slot: &Slot,
    row_share: f32,
    matched_tokens: &HashSet<usize>,
    ours: &[&str],
) -> Vec<usize> {
    let (px, py) = slot.centre;
    image
        .tokens
        .iter()
        .enumerate()
        .filter(|(i, t)| {
            let (cx, cy) = t.center();
            could_name_another(*i, t, matched_tokens, ours)
                && t.h <= slot.height * LETTER_HEIGHT_SPREAD.exp() + BLUR_HALO
                && (cy - py).abs() <= row_share * slot.height.max(t.h)
                && (cx - px).abs() <= (slot.width + t.w) / 2.0 + slot.height
        })
        .map(|(i, _)| i)
        .collect()
}

/// Where reference token `target` stands in the image, placed by two words of its line
/// read in the image (`(reference, image)` pairs) on one line, in the same order, at a
/// scale their letter heights agree with: its slot there.
fn line_placement(
    target: &Token,
    (ra, ia): (&Token, &Token),
    (rb, ib): (&Token, &Token),
) -> Option<Slot> {
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
        if !cut
            && (i.h < expected * (-LETTER_HEIGHT_SPREAD).exp()
                || i.h > expected * LETTER_HEIGHT_SPREAD.exp() + BLUR_HALO)
        {
            return None;
        }
    }
    let (tx, ty) = target.center();
    Some(Slot {
        centre: (pa.0 + scale * (tx - qa.0), pa.1 + scale * (ty - qa.1)),
        width: scale * target.w,
        height: scale * target.h,
    })
}

/// How far (natural log) a word's letter height may stray from the height its place
/// expects, before [`BLUR_HALO`]: OCR boxes vary with ascenders and descenders.
const LETTER_HEIGHT_SPREAD: f32 = 0.45;

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
pub(super) fn header_brand(
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
        blurred: Vec::new(),
    })
}

/// Whether image token `i` (`t`) could name another organisation: read with confidence,
/// matched to none of the template's words, distinctive, and no misreading of one of
/// `ours` (our organisation words, and where a place is known its line's words).
fn names_another(i: usize, t: &Token, matched_tokens: &HashSet<usize>, ours: &[&str]) -> bool {
    !t.faint && could_name_another(i, t, matched_tokens, ours)
}

/// [`names_another`] for a reading of any confidence.
fn could_name_another(i: usize, t: &Token, matched_tokens: &HashSet<usize>, ours: &[&str]) -> bool {
    !matched_tokens.contains(&i)
        && is_distinctive(&t.text)
        && !ours.iter().any(|o| looks_like(&t.text, o))
}

/// Whether `read` could be a garbled reading of `expected` (a photo's "kestet" for
/// "kestrel", "ranet" for "intranet", "este" for "estates"): then it is our word misread,
/// not another's. Short words (abbreviations) are too alike by chance ("sbc" and "hcc")
/// to tell.
pub(super) fn looks_like(read: &str, expected: &str) -> bool {
    let long = read.chars().count() >= 4 && expected.chars().count() >= 5;
    long && (expected.contains(read)
        || read.contains(expected)
        || strsim::normalized_levenshtein(read, expected) >= 0.5)
}

/// Whether `read` begins with the first three letters of `expected`, our organisation
/// word: a blurred or cut reading keeps a word's start. Alone no proof (many names
/// begin alike), so it only excuses a reading beside our own names in place.
fn begins_alike(read: &str, expected: &str) -> bool {
    let start: String = expected.chars().take(3).collect();
    start.chars().count() == 3 && read.starts_with(&start)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reading_that_begins_as_our_word_does_begins_alike() {
        assert!(begins_alike("ferre", "fernhill"));
        assert!(begins_alike("fernhil", "fernhill"));
        assert!(!begins_alike("fallowfield", "fernhill"));
        assert!(!begins_alike("fe", "fernhill"));
        assert!(!begins_alike("hcc", "hc"), "our word too short to tell");
    }
}
