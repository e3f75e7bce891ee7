//! Enrollment: from fingerprints of clean screenshots of one system to its template.
//!
//! With two or more references, what every page shares *in the same place* is the
//! system's chrome (header, sidebar menu, brand, footer, marking): those tokens weigh
//! more, since they appear on pages that were never enrolled too. A word both pages show
//! in different places ("Generate" on a button and in a demo paragraph) is content. Tokens that name the organisation are flagged `org`:
//! words of the system's name, and rare chrome words (brand abbreviations, user badges).

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::fingerprint::layout::REFERENCE_LOOK_SIDE;
use crate::fingerprint::{self, ImageFingerprint};
use crate::template::{Reference, Template, VocabEntry, TEMPLATE_FORMAT_VERSION};

/// Zipf frequency below which a rare chrome word is taken as naming the organisation.
const ORG_MAX_ZIPF: f32 = 3.6;

/// Zipf frequency from which a word of the system's name is too common to name anyone
/// ("police" 5.3, "city" 5.6; "harbour" at 4.0 still does).
const NAME_MAX_ZIPF: f32 = 5.0;

/// Lower-case words of a system name like "harbour-casemanager" or "Kestrel Staff Portal".
pub fn name_words(name: &str) -> Vec<String> {
    name.split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().count() >= 3)
        .map(str::to_lowercase)
        .collect()
}

/// Unnames chrome that systems of different names share: a word two enrolled systems both
/// show in their chrome, and neither's name contains, is their UI kit's (the kit's demo
/// user "varun@gmail" in two organisations' user panels), not a name of either
/// organisation; it stays chrome, at a chrome word's weight. Words of a system's name stay
/// its own, so two systems of one organisation keep the brand they are named by. Returns
/// how many entries changed.
pub fn unname_shared_chrome(templates: &mut [Template]) -> usize {
    let mut showing: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (t, template) in templates.iter().enumerate() {
        for e in template.vocabulary.iter().filter(|e| e.chrome) {
            showing.entry(e.token.clone()).or_default().push(t);
        }
    }
    let names: Vec<HashSet<String>> = templates
        .iter()
        .map(|t| name_words(&t.name).into_iter().collect())
        .collect();
    let mut changed = 0;
    for (t, template) in templates.iter_mut().enumerate() {
        for e in template.vocabulary.iter_mut() {
            if !(e.org && e.chrome) || names[t].contains(&e.token) {
                continue;
            }
            let shared = showing
                .get(&e.token)
                .is_some_and(|ts| ts.iter().any(|&u| u != t && !names[u].contains(&e.token)));
            if shared {
                e.org = false;
                e.weight = fingerprint::distinctiveness(&e.token) * 1.5;
                changed += 1;
            }
        }
    }
    changed
}

/// Registers screenshots of the organisation's public material (website, public forms)
/// with `template`: every vocabulary word they show is flagged `public`, so it weighs
/// nothing as evidence that the internal system is on screen. Returns how many words
/// were flagged.
pub fn mark_public(template: &mut Template, pages: Vec<(String, ImageFingerprint)>) -> usize {
    let shown: HashSet<String> = pages
        .iter()
        .flat_map(|(_, fp)| fp.tokens.iter().map(|t| t.text.clone()))
        .collect();
    let mut flagged = 0;
    for e in &mut template.vocabulary {
        if !e.public && shown.contains(&e.token) {
            e.public = true;
            flagged += 1;
        }
    }
    for (source, _) in pages {
        if !template.public_sources.contains(&source) {
            template.public_sources.push(source);
        }
    }
    flagged
}

/// Builds the template of system `name` from its references.
/// `org_words`: extra words the analyst says name the organisation (may be empty).
pub fn build_template(
    name: &str,
    references: Vec<(String, ImageFingerprint)>,
    org_words: &[String],
) -> Template {
    // A word of the system's name as common as "police" or "city" names no one; the
    // analyst's own organisation words are taken as given.
    let given: HashSet<String> = org_words.iter().flat_map(|w| name_words(w)).collect();
    let mut named: HashSet<String> = name_words(name)
        .into_iter()
        .filter(|w| fingerprint::english_zipf(w) < NAME_MAX_ZIPF)
        .collect();
    named.extend(given.iter().cloned());
    let n_refs = references.len() as u32;
    let mut pages: BTreeMap<String, u32> = BTreeMap::new();
    for (_, fp) in &references {
        let distinct: HashSet<&str> = fp.tokens.iter().map(|t| t.text.as_str()).collect();
        for t in distinct {
            *pages.entry(t.to_string()).or_default() += 1;
        }
    }
    let placed = in_place_on_every_page(&references);
    let mailboxes = webmail_mailboxes(&references);
    // The system's name names its organisation even where the enrolled pages do not show
    // it (a brand logo, an abbreviation): its login page or banner may. Only its rare
    // words, unless the analyst gave them: no enrolled page says this system shows them.
    for w in &named {
        if !pages.contains_key(w)
            && !fingerprint::is_generic_ui(w)
            && (given.contains(w) || fingerprint::english_zipf(w) < ORG_MAX_ZIPF)
        {
            pages.insert(w.clone(), 0);
        }
    }
    let vocabulary = pages
        .into_iter()
        .map(|(token, pages)| {
            let marking = fingerprint::is_marking(&token);
            // A marking banner sits in one place on every page, but other organisations'
            // systems carry the same banner: it is evidence of a marked screen, not of
            // this system's chrome.
            let chrome = n_refs >= 2 && !marking && placed.contains(&token);
            // A webmail address's mailbox is a person's (a kit's demo profile), not a name
            // of the organisation, unless the analyst or the system's name says it is.
            let org = is_org_token(&token, chrome, marking, &named)
                && (named.contains(&token) || !mailboxes.contains(&token));
            let mut weight = fingerprint::distinctiveness(&token);
            // Chrome is on every page of the system; page content (often a UI kit's demo
            // data) is on one page, and on look-alikes built from the same kit.
            weight *= if chrome { 1.5 } else { 0.5 };
            if org {
                weight = weight.max(0.9);
            }
            VocabEntry {
                token,
                weight,
                pages,
                chrome,
                org,
                marking,
                public: false,
            }
        })
        .collect();
    Template {
        format: "leakshot-template".into(),
        version: TEMPLATE_FORMAT_VERSION,
        name: name.to_string(),
        created_by: format!("leakshot {}", env!("CARGO_PKG_VERSION")),
        references: references
            .into_iter()
            .map(|(source, fp)| Reference {
                source,
                width: fp.width,
                height: fp.height,
                tokens: fp.tokens,
                palette: fp.palette,
                // Cells the size of a menu item.
                look: fp.look.reduced(REFERENCE_LOOK_SIDE),
            })
            .collect(),
        vocabulary,
        public_sources: Vec::new(),
    }
}

/// Least share of the smaller reference's distinct words that another reference shows too
/// for the two to be taken as one page enrolled twice. Different pages of the corpora's 17
/// systems share 0.29-0.55 of them (their chrome); two shots of one page, nearly all.
pub const SAME_PAGE_SHARE: f32 = 0.8;

/// Pairs of references (their indices, and the share of the smaller one's distinct words
/// the other shows too) that are one page enrolled twice. What every page shows is taken
/// as the system's chrome, so the same page twice makes all its content chrome and its
/// data (names, case numbers) organisation words: the analyst is warned.
pub fn same_page_pairs(references: &[(String, ImageFingerprint)]) -> Vec<(usize, usize, f32)> {
    let words: Vec<HashSet<&str>> = references
        .iter()
        .map(|(_, fp)| fp.tokens.iter().map(|t| t.text.as_str()).collect())
        .collect();
    let mut pairs = Vec::new();
    for (i, a) in words.iter().enumerate() {
        for (j, b) in words.iter().enumerate().skip(i + 1) {
            let smaller = a.len().min(b.len());
            if smaller == 0 {
                continue;
            }
            let share = a.intersection(b).count() as f32 / smaller as f32;
            if share >= SAME_PAGE_SHARE {
                pairs.push((i, j, share));
            }
        }
    }
    pairs
}

/// Tokens every reference shows in one place: at the same height, and at the same
/// distance from the left edge or from the right one (right-aligned bars keep their place
/// from the right when the screens differ in width). Tolerances allow for OCR's boxes.
/// A reference whose whole page sits lower or higher (a blank band above it, a banner
/// pushing everything down) is compared at that offset too ([`page_offsets`]).
fn in_place_on_every_page(references: &[(String, ImageFingerprint)]) -> HashSet<String> {
    let Some(((_, first), rest)) = references.split_first() else {
        return HashSet::new();
    };
    let offsets: Vec<Vec<f32>> = rest
        .iter()
        .map(|(_, other)| page_offsets(first, other))
        .collect();
    first
        .tokens
        .iter()
        .filter(|a| {
            rest.iter().zip(&offsets).all(|((_, other), shifts)| {
                other.tokens.iter().any(|b| {
                    b.text == a.text
                        && std::iter::once(&0.0)
                            .chain(shifts)
                            .any(|&dy| same_place(a, first, b, other, dy))
                })
            })
        })
        .map(|a| a.text.clone())
        .collect()
}

/// Tokens read as the mailbox of a webmail address ("varun" of "varun@gmail.com"): on a
/// reference, followed on the same line, past a gap the width of an "@", by a webmail
/// provider's name.
fn webmail_mailboxes(references: &[(String, ImageFingerprint)]) -> HashSet<String> {
    let mut out = HashSet::new();
    for (_, fp) in references {
        for t in &fp.tokens {
            let followed = fp.tokens.iter().any(|u| {
                let gap = u.x - (t.x + t.w);
                fingerprint::is_webmail_domain(&u.text)
                    && (u.center().1 - t.center().1).abs() < 0.5 * t.h.max(u.h)
                    && (0.0..=1.5 * t.h.max(u.h)).contains(&gap)
            });
            if followed {
                out.insert(t.text.clone());
            }
        }
    }
    out
}

/// Whether `b` (on page `fb`) stands where `a` (on page `fa`) does, `dy` pixels lower.
fn same_place(
    a: &fingerprint::Token,
    fa: &ImageFingerprint,
    b: &fingerprint::Token,
    fb: &ImageFingerprint,
    dy: f32,
) -> bool {
    let h = a.h.max(b.h);
    let from_right = |t: &fingerprint::Token, f: &ImageFingerprint| f.width as f32 - t.x - t.w;
    (a.y + dy - b.y).abs() <= 1.5 * h
        && ((a.x - b.x).abs() <= 3.0 * h
            || (from_right(a, fa) - from_right(b, fb)).abs() <= 3.0 * h)
}

/// Fewest words that must agree on a page offset for it to count: a header's brand, user
/// and search box, or a short menu; two pages' content words agree on one or two by
/// chance (measured: 4 and 6 learn the same chrome on all 16 corpus systems).
const MIN_OFFSET_VOTES: usize = 4;

/// How far (pixels) parts of page `b` sit below the same parts of page `a` (negative:
/// above): each offset that at least [`MIN_OFFSET_VOTES`] of the words both show once, at
/// the same distance from a side, agree on, and more than stand in place unshifted. A
/// header and a sidebar may each have their own (a taller profile block above the menu).
fn page_offsets(a: &ImageFingerprint, b: &ImageFingerprint) -> Vec<f32> {
    fn once(fp: &ImageFingerprint) -> HashMap<&str, &fingerprint::Token> {
        let mut n: HashMap<&str, usize> = HashMap::new();
        for t in &fp.tokens {
            *n.entry(t.text.as_str()).or_default() += 1;
        }
        fp.tokens
            .iter()
            .filter(|t| n[t.text.as_str()] == 1)
            .map(|t| (t.text.as_str(), t))
            .collect()
    }
    let b_once = once(b);
    // Pairs at the same distance from a side: at their own offset, only that is tested.
    let pairs: Vec<(&fingerprint::Token, &fingerprint::Token)> = once(a)
        .into_iter()
        .filter_map(|(text, ta)| b_once.get(text).map(|&tb| (ta, tb)))
        .filter(|(ta, tb)| same_place(ta, a, tb, b, tb.y - ta.y))
        .collect();
    let near = |ta: &fingerprint::Token, tb: &fingerprint::Token, dy: f32| {
        (ta.y + dy - tb.y).abs() <= 0.5 * ta.h.max(tb.h)
    };
    let support = |dy: f32| pairs.iter().filter(|(ta, tb)| near(ta, tb, dy)).count();
    let unshifted = support(0.0);
    let mut votes: Vec<(usize, f32)> = pairs
        .iter()
        .map(|(ta, tb)| tb.y - ta.y)
        .map(|dy| (support(dy), dy))
        .filter(|&(n, _)| n >= MIN_OFFSET_VOTES && n > unshifted)
        .collect();
    votes.sort_by(|x, y| y.0.cmp(&x.0).then(x.1.abs().total_cmp(&y.1.abs())));
    let mut offsets: Vec<f32> = Vec::new();
    for (_, dy) in votes {
        // One offset per group of words: the others agreeing on it are its own.
        if !pairs
            .iter()
            .any(|(ta, tb)| near(ta, tb, dy) && offsets.iter().any(|&o| near(ta, tb, o)))
        {
            offsets.push(dy);
        }
    }
    offsets
}

fn is_org_token(token: &str, chrome: bool, marking: bool, named: &HashSet<String>) -> bool {
    if named.contains(token) {
        return true;
    }
    if !chrome || marking || fingerprint::is_generic_ui(token) {
        return false;
    }
    let len = token.chars().count();
    let digits = token.chars().filter(|c| c.is_ascii_digit()).count();
    if digits == len {
        // Tokenisation keeps only identifier-like numbers (badges, references).
        return true;
    }
    len >= 3
        && digits == 0
        && !fingerprint::is_calendar_word(token)
        && fingerprint::english_zipf(token) < ORG_MAX_ZIPF
        && !is_misread_common_word(token)
}

/// Zipf frequency from which an English word is common enough that a chrome word one
/// letter away from it is more likely OCR's misreading of it than a name.
const MISREAD_OF_ZIPF: f32 = 4.5;

/// Whether `token`, no English word itself, is one edit (a letter dropped, added, changed
/// or two swapped) from a common one: a search box's "anything…" read as "anythinc", a UI
/// kit's demo user "Steave" for "Steve". Such chrome is the kit's, not a name of the
/// organisation. Five letters at least: short abbreviations are near everything.
fn is_misread_common_word(token: &str) -> bool {
    let chars: Vec<char> = token.chars().collect();
    if chars.len() < 5
        || !chars.iter().all(char::is_ascii_lowercase)
        || fingerprint::english_zipf(token) > 0.0
    {
        return false;
    }
    let common = |w: &[char]| {
        let s: String = w.iter().collect();
        fingerprint::english_zipf(&s) >= MISREAD_OF_ZIPF
    };
    let n = chars.len();
    for i in 0..=n {
        for c in 'a'..='z' {
            // Inserted before position i, and substituted at i.
            let inserted: Vec<char> = chars[..i]
                .iter()
                .chain([&c])
                .chain(&chars[i..])
                .copied()
                .collect();
            if common(&inserted) {
                return true;
            }
            if i < n && chars[i] != c {
                let mut changed = chars.clone();
                changed[i] = c;
                if common(&changed) {
                    return true;
                }
            }
        }
        if i < n {
            let mut dropped = chars.clone();
            dropped.remove(i);
            if common(&dropped) {
                return true;
            }
        }
        if i + 1 < n {
            let mut swapped = chars.clone();
            swapped.swap(i, i + 1);
            if common(&swapped) {
                return true;
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fingerprint::{layout::Palette, Token};

    /// A word read with confidence, in box `[x, y, w, h]`.
    fn token(text: &str, [x, y, w, h]: [f32; 4]) -> Token {
        Token {
            text: text.into(),
            x,
            y,
            w,
            h,
            faint: false,
        }
    }

    fn fp(words: &[&str]) -> ImageFingerprint {
        ImageFingerprint {
            width: 100,
            height: 100,
            tokens: words
                .iter()
                .enumerate()
                .map(|(i, w)| Token {
                    text: w.to_string(),
                    x: 0.0,
                    y: i as f32 * 10.0,
                    w: 10.0,
                    h: 8.0,
                    faint: false,
                })
                .collect(),
            palette: Palette::default(),
            look: Default::default(),
            screen: None,
        }
    }

    #[test]
    fn the_same_page_enrolled_twice_is_found() {
        let home = [
            "hcc",
            "dashboard",
            "harbour",
            "invoice",
            "projects",
            "total",
        ];
        let again = [
            "hcc",
            "dashboard",
            "harbour",
            "invoice",
            "projects",
            "totai",
        ];
        let other = ["hcc", "dashboard", "harbour", "tickets", "open", "closed"];
        let refs = vec![
            ("home.png".to_string(), fp(&home)),
            ("other.png".to_string(), fp(&other)),
            ("home-again.png".to_string(), fp(&again)),
        ];
        let pairs = same_page_pairs(&refs);
        assert_eq!(pairs.len(), 1, "{pairs:?}");
        let (i, j, share) = pairs[0];
        assert_eq!((i, j), (0, 2));
        assert!((share - 5.0 / 6.0).abs() < 1e-6, "{share}");
    }

    #[test]
    fn chrome_and_org_words_are_learnt_from_two_pages() {
        let t = build_template(
            "harbour-casemanager",
            vec![
                (
                    "a.png".into(),
                    fp(&["hcc", "dashboard", "harbour", "official", "invoice"]),
                ),
                (
                    "b.png".into(),
                    fp(&["hcc", "dashboard", "harbour", "official", "projects"]),
                ),
            ],
            &[],
        );
        let get = |w: &str| t.vocabulary.iter().find(|e| e.token == w).unwrap();
        assert!(get("hcc").chrome && get("hcc").org);
        assert!(get("harbour").org);
        assert!(get("dashboard").chrome && !get("dashboard").org);
        assert!(!get("invoice").chrome);
        assert!(get("hcc").weight > get("dashboard").weight);
        // "casemanager", of the system's name, is on neither page: a login page may show it.
        assert!(get("casemanager").org && get("casemanager").pages == 0);
        // The marking banner is in place on both pages, and other systems carry it too.
        assert!(get("official").marking && !get("official").chrome && !get("official").org);
    }

    #[test]
    fn chrome_is_found_on_a_page_that_sits_lower() {
        // A header of six words and a menu of six, each word once; page b shows both lower
        // than page a, the header by 64 px and the menu by 124 (a taller block above it),
        // and different content.
        let header = ["thg", "lettings", "search", "now", "louis", "barnett"];
        let menu = [
            "charts",
            "tables",
            "icons",
            "user",
            "pages",
            "documentation",
        ];
        let page = |header_dy: f32, menu_dy: f32, content: &str| {
            let mut f = fp(&[]);
            f.width = 1366;
            f.height = 768;
            let word = |text: &str, x: f32, y: f32| token(text, [x, y, 60.0, 12.0]);
            f.tokens.extend(
                header
                    .iter()
                    .enumerate()
                    .map(|(i, w)| word(w, 20.0 + 100.0 * i as f32, 20.0 + header_dy)),
            );
            f.tokens.extend(
                menu.iter()
                    .enumerate()
                    .map(|(i, w)| word(w, 20.0, 100.0 + 30.0 * i as f32 + menu_dy)),
            );
            f.tokens.push(word(content, 400.0, 300.0));
            f
        };
        let t = build_template(
            "thamesmead-lettings",
            vec![
                ("a.png".into(), page(0.0, 0.0, "overview")),
                ("b.png".into(), page(64.0, 124.0, "password")),
            ],
            &[],
        );
        let get = |w: &str| t.vocabulary.iter().find(|e| e.token == w).unwrap();
        for w in header.iter().chain(&menu) {
            assert!(get(w).chrome, "{w}");
        }
        assert!(get("thg").org);
        assert!(!get("overview").chrome && !get("password").chrome);
        // A few words agreeing on an offset are chance, not a page that sits lower.
        let few = build_template(
            "thamesmead-lettings",
            vec![
                ("a.png".into(), page(0.0, 0.0, "overview")),
                ("b.png".into(), {
                    let mut b = page(64.0, 124.0, "password");
                    b.tokens.retain(|t| {
                        ["thg", "charts", "tables", "password"].contains(&t.text.as_str())
                    });
                    b
                }),
            ],
            &[],
        );
        assert!(few.vocabulary.iter().all(|e| !e.chrome));
    }

    #[test]
    fn a_ui_kits_rare_menu_words_name_no_organisation() {
        // Rare English words, but every copy of the kit has them in its menu.
        let page = |content: &str| fp(&["whitcliffe", "authentication", "kanban", content]);
        let t = build_template(
            "whitcliffe-cctv",
            vec![
                ("a.png".into(), page("cameras")),
                ("b.png".into(), page("incidents")),
            ],
            &[],
        );
        let get = |w: &str| t.vocabulary.iter().find(|e| e.token == w).unwrap();
        assert!(get("whitcliffe").org);
        for kit in ["authentication", "kanban"] {
            assert!(get(kit).chrome && !get(kit).org, "{kit}");
        }
    }

    #[test]
    fn a_signed_in_users_title_names_no_organisation() {
        // "Hi, Sgt R. Okoro" in the header of every page: the name is the organisation's
        // own, the rank any police force's.
        let page = |content: &str| fp(&["stonebridge", "sgt", "okoro", content]);
        let t = build_template(
            "stonebridge-custody",
            vec![
                ("a.png".into(), page("detainees")),
                ("b.png".into(), page("cells")),
            ],
            &[],
        );
        let get = |w: &str| t.vocabulary.iter().find(|e| e.token == w).unwrap();
        assert!(get("okoro").org);
        assert!(get("sgt").chrome && !get("sgt").org);
    }

    #[test]
    fn a_webmail_addresss_mailbox_names_no_organisation() {
        // A kit's demo profile in the sidebar of both pages: "varun@gmail.com".
        let page = |content: &str| {
            let mut f = fp(&["cairnmoor", content]);
            let at = |text: &str, x: f32| token(text, [x, 126.0, 37.0, 14.0]);
            f.tokens
                .extend([at("varun", 65.0), at("gmail", 110.0), at("com", 155.0)]);
            f
        };
        let t = build_template(
            "cairnmoor-leaktracker",
            vec![
                ("a.png".into(), page("leaks")),
                ("b.png".into(), page("mains")),
            ],
            &[],
        );
        let get = |w: &str| t.vocabulary.iter().find(|e| e.token == w).unwrap();
        assert!(get("cairnmoor").org);
        assert!(get("varun").chrome && !get("varun").org);
        assert!(!get("gmail").org);
    }

    #[test]
    fn only_rare_words_of_the_name_are_organisation_words() {
        let t = build_template(
            "northbridge-police-intranet",
            vec![
                (
                    "a.png".into(),
                    fp(&["nbc", "intranet", "dashboard", "city"]),
                ),
                ("b.png".into(), fp(&["nbc", "intranet", "tables", "city"])),
            ],
            &[],
        );
        let get = |w: &str| t.vocabulary.iter().find(|e| e.token == w);
        assert!(get("northbridge").is_some_and(|e| e.org && e.pages == 0));
        assert!(get("police").is_none(), "a common word no page shows");
        assert!(get("intranet").is_some_and(|e| e.org && e.pages == 2));
        // Common words of a name are no organisation words, shown or not.
        let t = build_template(
            "northbridge-city-intranet",
            vec![
                ("a.png".into(), fp(&["nbc", "city", "dashboard"])),
                ("b.png".into(), fp(&["nbc", "city", "tables"])),
            ],
            &[],
        );
        let city = t.vocabulary.iter().find(|e| e.token == "city");
        assert!(city.is_some_and(|e| !e.org));
        // Unless the analyst names them.
        let t = build_template(
            "northbridge-police-intranet",
            vec![
                ("a.png".into(), fp(&["nbc", "dashboard"])),
                ("b.png".into(), fp(&["nbc", "tables"])),
            ],
            &["Police".to_string()],
        );
        assert!(t.vocabulary.iter().any(|e| e.token == "police" && e.org));
    }

    #[test]
    fn a_chrome_word_one_letter_from_a_common_word_is_a_misreading_not_a_name() {
        assert!(is_misread_common_word("anythinc"));
        assert!(is_misread_common_word("steave"));
        assert!(!is_misread_common_word("northbridge"));
        assert!(!is_misread_common_word("kestrel"));
        assert!(!is_misread_common_word("anything"));
        assert!(!is_misread_common_word("kfrs"));
        let named = HashSet::new();
        assert!(!is_org_token("anythinc", true, false, &named));
        assert!(is_org_token("wexcombe", true, false, &named));
    }

    #[test]
    fn chrome_two_systems_share_names_neither_organisation() {
        let system = |name: &str, brand: &str| {
            build_template(
                name,
                vec![
                    ("a".into(), fp(&[brand, "varun", "reports"])),
                    ("b".into(), fp(&[brand, "varun", "settings"])),
                ],
                &[],
            )
        };
        let mut ts = vec![
            system("brockhurst-estates", "brockhurst"),
            system("cairnmoor-leaktracker", "cairnmoor"),
            system("harbour-casemanager", "hcc"),
        ];
        let org = |t: &Template, w: &str| t.vocabulary.iter().find(|e| e.token == w).map(|e| e.org);
        assert_eq!(org(&ts[0], "varun"), Some(true));
        assert_eq!(unname_shared_chrome(&mut ts), 3);
        for t in &ts {
            assert_eq!(org(t, "varun"), Some(false), "{}", t.name);
        }
        assert_eq!(org(&ts[0], "brockhurst"), Some(true));
        // One organisation's two systems named by its brand keep it.
        let mut ours = vec![
            system("hcc-casemanager", "hcc"),
            system("hcc-housing", "hcc"),
        ];
        unname_shared_chrome(&mut ours);
        assert_eq!(org(&ours[1], "hcc"), Some(true));
    }

    #[test]
    fn a_word_both_pages_show_in_different_places_is_content() {
        let mut b = fp(&["hcc", "dashboard", "generate"]);
        b.tokens[2].y = 60.0;
        let t = build_template(
            "harbour-casemanager",
            vec![
                ("a.png".into(), fp(&["hcc", "dashboard", "generate"])),
                ("b.png".into(), b),
            ],
            &[],
        );
        let get = |w: &str| t.vocabulary.iter().find(|e| e.token == w).unwrap();
        assert!(get("hcc").chrome);
        assert!(!get("generate").chrome);
        assert_eq!(get("generate").pages, 2);
    }
}
