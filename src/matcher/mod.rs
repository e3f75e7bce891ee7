//! Match: one image's fingerprint against each template.
//!
//! An inverted index (`index.rs`) picks the few templates an image shares words with.
//! Tokens are matched to each one's vocabulary (`vocabulary.rs`: exactly, or within a
//! small edit distance for longer words, since OCR misreads letters; a word cut by a
//! crop's edge by its visible part). Then geometry (`geometry.rs`): the matched words must sit where they sit
//! on one of the template's references, up to scale and translation (crops and rescaling
//! keep it; a page that merely mentions the same words does not); a two-point RANSAC finds
//! the largest consistent set. Under that alignment, the template's chrome colours are
//! compared with the image's (`look.rs`), and the places of its organisation words are read
//! for another organisation's name (`ownership.rs`).

mod geometry;
mod index;
mod look;
mod ownership;
mod vocabulary;

use std::collections::{BTreeSet, HashSet};

use crate::fingerprint::{ImageFingerprint, Token};

use geometry::fit_geometry;
use look::chrome_look;
use ownership::{brand_line_conflicts, excuse_our_own, find_conflicts, header_brand};
use vocabulary::{cut_side, uncut};

pub use index::{TemplateIndex, MAX_VERIFIED};
pub use vocabulary::{Cut, IndexedTemplate};

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
    /// Indices of the image tokens found in its place that could name another
    /// organisation.
    pub found: Vec<usize>,
    /// Faint readings in its place that begin as our word does: our word blurred. They
    /// name no one else; beside our names in place they excuse the place (see
    /// `ownership::excuse_our_own`).
    pub blurred: Vec<usize>,
}

impl Conflict {
    /// Adds the readings `other` found in the same place of ours.
    fn absorb(&mut self, other: Conflict) {
        for (into, from) in [
            (&mut self.found, other.found),
            (&mut self.blurred, other.blurred),
        ] {
            for i in from {
                if !into.contains(&i) {
                    into.push(i);
                }
            }
        }
    }
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
    // Weights are summed over ordered sets: the same image gives the same features to the
    // last bit, run after run (a hash set's order differs between runs).
    let org_weight: f32 = matched
        .iter()
        .map(|&(_, e)| e)
        .collect::<BTreeSet<usize>>()
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
    let distinct_entries: BTreeSet<usize> = matched.iter().map(|&(_, e)| e).collect();
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
    let inlier_entries: BTreeSet<usize> = inliers.iter().map(|i| i.entry).collect();
    let chrome_in_place: f32 = inlier_entries
        .iter()
        .filter(|&&e| vocab[e].chrome)
        .map(|&e| vocab[e].weight)
        .sum();
    let org_in_place: Vec<usize> = inlier_entries
        .iter()
        .copied()
        .filter(|&e| vocab[e].org)
        .collect();
    let org_geo_weight: f32 = org_in_place.iter().map(|&e| vocab[e].weight).sum();
    // Another name where ours stands, under the content's alignment, under the chrome's
    // own (a page scrolled under its fixed chrome) and placed by the brand line's own
    // words; one conflict per word of ours.
    let mut conflicts: Vec<Conflict> = Vec::new();
    if inliers.len() >= 3 {
        let chrome_sim = chrome_fit.as_ref().map(|(sim, _)| sim);
        let found = find_conflicts(image, tpl, reference, &transform, &all_matched)
            .into_iter()
            .chain(
                chrome_sim
                    .into_iter()
                    .flat_map(|sim| find_conflicts(image, tpl, reference, sim, &all_matched)),
            )
            .chain(brand_line_conflicts(image, tpl, reference, &all_matched));
        for c in found {
            match conflicts.iter_mut().find(|k| k.expected == c.expected) {
                Some(k) => k.absorb(c),
                None => conflicts.push(c),
            }
        }
        excuse_our_own(&mut conflicts, image, tpl, reference, org_in_place.len());
    }
    // Only where none of our names was read: the header may be ours, showing a brand
    // abbreviation enrollment did not read.
    if conflicts.is_empty() && inliers.len() >= 3 && org_weight == 0.0 {
        conflicts.extend(header_brand(image, tpl, &all_matched));
    }
    // On a photographed screen where none of our names was read, one place's other
    // reading proves no other organisation: blur and moire garble our own brand into
    // distinctive non-words ("kozel" for "Kestrel"), and another organisation's screen
    // names it in more places than one. The match stays owner-less (`review` at most).
    if image.screen.is_some() && org_weight == 0.0 && conflicts.len() == 1 {
        conflicts.clear();
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

#[cfg(test)]
mod tests {
    use super::geometry::{hypothesis, is_layout, text_blocks};
    use super::look::look_agreement;
    use super::ownership::looks_like;
    use super::vocabulary::ocr_fold;
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

    /// `tokens` with each word of ours in `readings` read as another, in its box:
    /// `(ours, read)` pairs.
    fn read_as(tokens: Vec<Token>, readings: &[(&str, &str)]) -> Vec<Token> {
        tokens
            .into_iter()
            .map(
                |t| match readings.iter().find(|(ours, _)| *ours == t.text) {
                    Some((_, read)) => Token {
                        text: (*read).into(),
                        ..t
                    },
                    None => t,
                },
            )
            .collect()
    }

    /// Northbridge's intranet enrolled from two [`page`]s.
    fn northbridge() -> IndexedTemplate {
        IndexedTemplate::new(build_template(
            "northbridge-intranet",
            vec![("a".into(), page("earnings")), ("b".into(), page("salary"))],
            &[],
        ))
    }

    #[test]
    fn the_same_image_gets_the_same_features_to_the_last_bit() {
        let it = northbridge();
        let image = fp(page("charts").tokens);
        let bits = |f: &Features| crate::score::feature_vector(f).map(f64::to_bits).to_vec();
        let first = bits(&match_template(&image, &it).features);
        for _ in 0..16 {
            assert_eq!(bits(&match_template(&image, &it).features), first);
        }
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
        // Our name cut to a common word could be any name beginning so; cut to a rarer
        // part, it is ours.
        assert!(it.lookup("northbridge").is_some());
        assert_eq!(it.lookup_cut("north", Cut::Right), None);
        assert_eq!(
            it.lookup_cut("northbr", Cut::Right),
            it.lookup("northbridge")
        );
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
    fn another_name_in_our_marking_banner_is_foreign_where_the_page_scrolled_under_it() {
        let menu = ["tables", "layouts", "presentation", "additional", "extras"];
        // The banner stays at the window's foot (`banner_y`) while the page scrolls by `dy`;
        // "OFFICIAL" is set apart from the name by a dash.
        let page = |banner: &[(&str, f32)], banner_y: f32, dy: f32, extra: &str| {
            let mut tokens: Vec<Token> = menu
                .iter()
                .enumerate()
                .map(|(i, w)| tok(w, 20.0, 300.0 + 40.0 * i as f32 + dy, 9.0))
                .collect();
            tokens.extend(banner.iter().map(|&(w, x)| tok(w, x, banner_y, 9.0)));
            tokens.push(tok(extra, 500.0, 400.0 + dy, 12.0));
            fp(tokens)
        };
        let ours = [
            ("official", 540.0),
            ("harbour", 602.0),
            ("city", 648.0),
            ("council", 677.0),
            ("internal", 725.0),
            ("system", 777.0),
        ];
        let it = IndexedTemplate::new(build_template(
            "harbour-casemanager",
            vec![
                ("a".into(), page(&ours, 754.0, 0.0, "earnings")),
                ("b".into(), page(&ours, 754.0, 0.0, "salary")),
            ],
            &[],
        ));
        let theirs = [
            ("official", 540.0),
            ("saltmarsh", 600.0),
            ("borough", 654.0),
            ("council", 700.0),
        ];
        let other = match_template(&page(&theirs, 700.0, -240.0, "earnings"), &it);
        assert!(other.inliers.len() >= 3, "{:?}", other.features);
        assert!(
            other.conflicts.iter().any(|c| c.expected == "harbour"),
            "{:?}",
            other.conflicts
        );
        // Ours, scrolled the same way: no other name.
        let same = match_template(&page(&ours, 700.0, -240.0, "earnings"), &it);
        assert!(same.conflicts.is_empty(), "{:?}", same.conflicts);
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
    fn another_user_beside_our_brand_is_a_colleague_not_another_organisation() {
        let it = northbridge();
        // Our page with another name where the signed-in user's stands, and our brand
        // kept or gone.
        let session = |user: &str, brand: bool| {
            let tokens = page("charts")
                .tokens
                .into_iter()
                .filter(|t| brand || !["northbridge", "intranet"].contains(&t.text.as_str()))
                .collect();
            fp(read_as(tokens, &[("mcgee", user)]))
        };
        let colleague = match_template(&session("okonkwo", true), &it);
        assert_eq!(
            colleague.features.foreign_weight, 0.0,
            "a colleague's session"
        );
        let lookalike = match_template(&session("okonkwo", false), &it);
        assert!(
            lookalike.features.foreign_weight > 0.0,
            "with no name of ours, another user names another organisation"
        );
        // Another organisation's intranet on our kit: its name where ours stands beside
        // the word "intranet" that any system may share, and its own user. Both count.
        let theirs = fp(read_as(
            page("charts").tokens,
            &[("northbridge", "greyhaven"), ("mcgee", "okonkwo")],
        ));
        let other = match_template(&theirs, &it);
        assert!(other.features.org_geo_weight > 0.0, "\"intranet\" in place");
        assert!(
            other.features.foreign_weight > other.features.org_weight,
            "{:?}",
            other.features
        );
        // With no brand word of ours to read but "intranet", another user is no colleague.
        let lone = fp(session("okonkwo", true)
            .tokens
            .into_iter()
            .filter(|t| t.text != "northbridge")
            .collect());
        assert!(match_template(&lone, &it).features.foreign_weight > 0.0);
        // The user's name is the user's wherever else the page shows it (a sidebar's
        // welcome); the brand is no user's.
        assert!(ownership::names_the_user(&it, 0, "mcgee"));
        assert!(!ownership::names_the_user(&it, 0, "northbridge"));
        let welcome = |extra: &str| {
            let mut p = page(extra);
            p.tokens.push(tok("mcgee", 20.0, 90.0, 12.0));
            p
        };
        let sidebar = IndexedTemplate::new(build_template(
            "northbridge-intranet",
            vec![
                ("a".into(), welcome("earnings")),
                ("b".into(), welcome("salary")),
            ],
            &[],
        ));
        assert!(ownership::names_the_user(&sidebar, 0, "mcgee"));
    }

    #[test]
    fn a_blurred_photo_of_our_page_shows_no_other_organisation() {
        let it = northbridge();
        // Our page, its user another (a colleague), our brand blurred: "intranet" read in
        // place, and "Northbridge" only faintly, as "norbe", where it stands.
        let blurred = |brand: Option<Token>| {
            let mut tokens = read_as(page("charts").tokens, &[("mcgee", "okonkwo")]);
            tokens.retain(|t| t.text != "northbridge");
            tokens.extend(brand);
            fp(tokens)
        };
        let faint_brand = Token {
            faint: true,
            ..tok("norbe", 20.0, 20.0, 14.0)
        };
        let m = match_template(&blurred(Some(faint_brand)), &it);
        assert!(m.features.org_geo_weight > 0.0);
        assert_eq!(
            m.features.foreign_weight, 0.0,
            "our brand blurred vouches for it, beside \"intranet\": a colleague's session"
        );
        assert!(
            match_template(&blurred(None), &it).features.foreign_weight > 0.0,
            "with \"intranet\" alone, another user is another organisation's"
        );
        // A faint reading that begins as our word does is never another's name, with no
        // name of ours in place either.
        let faint_only = fp(blurred(Some(Token {
            faint: true,
            ..tok("norbe", 20.0, 20.0, 14.0)
        }))
        .tokens
        .into_iter()
        .filter(|t| !["intranet", "okonkwo"].contains(&t.text.as_str()))
        .collect());
        assert_eq!(
            match_template(&faint_only, &it).features.foreign_weight,
            0.0
        );
        // A word in letters three times our brand's height, over its place (a post's
        // caption above a crop, a blot read across lines), is not set in its type.
        let brand_read_as = |other: Token| {
            fp(page("charts")
                .tokens
                .into_iter()
                .map(|t| {
                    if t.text == "northbridge" {
                        other.clone()
                    } else {
                        t
                    }
                })
                .collect())
        };
        let caption = brand_read_as(tok("throwback", 20.0, 8.0, 42.0));
        let m = match_template(&caption, &it);
        assert!(m.features.org_geo_weight > 0.0);
        assert_eq!(m.features.foreign_weight, 0.0, "{:?}", m.features);
        let theirs = brand_read_as(tok("greyhaven", 20.0, 20.0, 14.0));
        assert!(match_template(&theirs, &it).features.foreign_weight > 0.0);
    }

    #[test]
    fn our_brand_lines_next_word_garbled_into_our_names_place_is_ours() {
        let kestrel = |brand: Vec<Token>, extra: &str| {
            let mut tokens = brand;
            tokens.extend([
                tok("dashboard", 20.0, 120.0, 12.0),
                tok("components", 20.0, 200.0, 12.0),
                tok("utilities", 20.0, 260.0, 12.0),
                tok(extra, 400.0, 300.0, 12.0),
            ]);
            fp(tokens)
        };
        let line = || {
            vec![
                tok("kestrel", 300.0, 20.0, 14.0),
                tok("health", 365.0, 20.0, 14.0),
                tok("trust", 425.0, 20.0, 14.0),
            ]
        };
        let it = IndexedTemplate::new(build_template(
            "kestrel-staffportal",
            vec![
                ("a".into(), kestrel(line(), "earnings")),
                ("b".into(), kestrel(line(), "salary")),
            ],
            &[],
        ));
        // A photo's OCR read "Kestrel Health" as one shifted "Meath".
        let garbled = kestrel(
            vec![
                tok("meath", 310.0, 20.0, 14.0),
                tok("trust", 425.0, 20.0, 14.0),
            ],
            "charts",
        );
        assert_eq!(match_template(&garbled, &it).features.foreign_weight, 0.0);
        // Another organisation's name there is still another's.
        let theirs = kestrel(
            vec![
                tok("linwood", 300.0, 20.0, 14.0),
                tok("health", 365.0, 20.0, 14.0),
                tok("trust", 425.0, 20.0, 14.0),
            ],
            "charts",
        );
        assert!(match_template(&theirs, &it).features.foreign_weight > 0.0);
    }

    #[test]
    fn one_garbled_place_on_a_photo_names_no_other_organisation() {
        let it = northbridge();
        // Our page, none of our names read; one place ("northbridge") reads a non-word.
        let garbled = |others: &[(&str, &str)]| {
            let tokens = page("charts")
                .tokens
                .into_iter()
                .filter(|t| !["intranet", "mcgee"].contains(&t.text.as_str()))
                .collect();
            fp(read_as(tokens, others))
        };
        let photo = |mut image: ImageFingerprint| {
            image.screen = Some(crate::fingerprint::ScreenMap::level(1366.0, 768.0));
            image
        };
        let one = [("northbridge", "kozelbrig")];
        let screenshot = match_template(&garbled(&one), &it);
        assert_eq!(screenshot.features.org_weight, 0.0);
        assert!(
            screenshot.features.foreign_weight > 0.0,
            "a screenshot's reading is read"
        );
        assert_eq!(
            match_template(&photo(garbled(&one)), &it)
                .features
                .foreign_weight,
            0.0,
            "on a photo, one garbled place is no other organisation"
        );
        // Other names in two places still count on a photo.
        let mut two = photo(garbled(&one));
        two.tokens.push(tok("okonkwo", 1200.0, 50.0, 12.0));
        assert!(match_template(&two, &it).features.foreign_weight > 0.0);
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
        let a = northbridge();
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
        let original = northbridge();
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
