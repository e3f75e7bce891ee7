//! Text fingerprint: OCR words to normalised tokens with boxes, and how much each token
//! says about *whose* system a screen shows.
//!
//! A token common in English or in admin UIs ("Dashboard", "Settings") weighs little;
//! a rare token (an organisation's name, a badge number, an internal system name) weighs
//! a lot. Weights come from English word frequencies (Zipf scale) and a list of generic
//! UI vocabulary, both built in.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::ocr::OcrWord;

pub mod keypoints;
pub mod layout;

/// Tesseract confidence below which a word is only a faint reading.
pub const MIN_WORD_CONFIDENCE: f32 = 35.0;

/// Tesseract confidence below which a word is dropped as noise. Between this and
/// `MIN_WORD_CONFIDENCE` a word is kept as `faint`: on a blurred photo Tesseract doubts
/// even words it spelled right, and a rare word spelled exactly right is still evidence.
pub const MIN_FAINT_CONFIDENCE: f32 = 10.0;

/// A token with its box in original-image pixels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Token {
    /// Normalised form: lower case letters and digits.
    pub text: String,
    /// Box: left, top, width, height.
    pub x: f32,
    pub y: f32,
    pub w: f32,
    pub h: f32,
    /// Read with low confidence: it may only match a distinctive word exactly.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub faint: bool,
}

impl Token {
    pub fn center(&self) -> (f32, f32) {
        (self.x + self.w / 2.0, self.y + self.h / 2.0)
    }
}

/// Splits OCR words into tokens, mapping boxes back to original pixels (`scale` = OCR px per
/// original px). A word like "OFFICIAL-SENSITIVE" gives two tokens with proportional boxes.
pub fn tokens_from_words(words: &[OcrWord], scale: f32) -> Vec<Token> {
    let inv = 1.0 / scale.max(1e-6);
    let mut out = Vec::new();
    for word in words {
        if word.confidence < MIN_FAINT_CONFIDENCE {
            continue;
        }
        if is_web_address(&word.text) {
            continue;
        }
        let faint = word.confidence < MIN_WORD_CONFIDENCE;
        let chars: Vec<char> = word.text.chars().collect();
        let n = chars.len().max(1) as f32;
        for (start, end) in split_spans(&chars) {
            let text: String = chars[start..end]
                .iter()
                .flat_map(|c| c.to_lowercase())
                .collect();
            if !is_useful(&text) {
                continue;
            }
            let x0 = word.left + word.width * start as f32 / n;
            let x1 = word.left + word.width * end as f32 / n;
            out.push(Token {
                text,
                x: x0 * inv,
                y: word.top * inv,
                w: (x1 - x0) * inv,
                h: word.height * inv,
                faint,
            });
        }
    }
    out
}

/// Common English words of three letters or more read with confidence: what text read the
/// right way up gives (dozens on a page), and the same text upside down or sideways next
/// to none.
pub fn upright_words(words: &[OcrWord]) -> usize {
    tokens_from_words(words, 1.0)
        .iter()
        .filter(|t| !t.faint && t.text.chars().count() >= 3)
        .filter(|t| english_zipf(&t.text) >= UPRIGHT_WORD_ZIPF)
        .count()
}

/// Frequency (Zipf) of the words [`upright_words`] counts: "the", "page", "report" are
/// above; letters of sideways text read as words ("ooo", "iil") are not.
const UPRIGHT_WORD_ZIPF: f32 = 3.0;

/// Whether an OCR word is a web address ("https://portal.example/cases?id=7",
/// "www.example.gov.uk", "portal.example/app"): a browser's address bar, a link. Its parts
/// are no words of a page: "https" and a host's name in our name's projected place (a page
/// scrolled past its header, in a browser window) read as another organisation's.
fn is_web_address(word: &str) -> bool {
    let lower = word.to_lowercase();
    lower.contains("://")
        || lower.starts_with("www.")
        || (lower.contains('.') && lower.contains('/') && lower.chars().count() >= 8)
}

/// Runs of alphanumeric characters.
fn split_spans(chars: &[char]) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut start = None;
    for (i, c) in chars.iter().enumerate() {
        match (c.is_alphanumeric(), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                spans.push((s, i));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        spans.push((s, chars.len()));
    }
    spans
}

/// Tokens worth matching: two or more characters, and numbers only when they look like
/// identifiers (badge or reference numbers), not amounts, counts or years.
fn is_useful(token: &str) -> bool {
    let len = token.chars().count();
    if !(2..=40).contains(&len) {
        return false;
    }
    let digits = token.chars().filter(|c| c.is_ascii_digit()).count();
    if digits == len {
        let year_like = len == 4 && (token.starts_with("19") || token.starts_with("20"));
        return len >= 4 && !year_like && !token.ends_with("000");
    }
    // Mixed junk like "a1b2" from OCR noise: keep only mostly-letter tokens.
    digits * 2 <= len
}

/// Zipf frequency of `token` in ordinary English (0 when rarer than Zipf 3.0 or unknown).
pub fn english_zipf(token: &str) -> f32 {
    static TABLE: OnceLock<HashMap<&'static str, f32>> = OnceLock::new();
    let table = TABLE.get_or_init(|| {
        include_str!("english_zipf.txt")
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| {
                let (w, z) = l.split_once(' ')?;
                Some((w, z.parse().ok()?))
            })
            .collect()
    });
    table.get(token).copied().unwrap_or(0.0)
}

/// Words every admin UI kit shows: menus, table headers, buttons, the webmail domain of a
/// demo address. They say "a web app", not "whose web app".
pub fn is_generic_ui(token: &str) -> bool {
    static SET: OnceLock<std::collections::HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| {
        include_str!("generic_ui_words.txt")
            .split_whitespace()
            .collect()
    })
    .contains(token)
        || is_webmail_domain(token)
}

/// Public webmail providers' names: an address there belongs to a person, not to an
/// organisation (a UI kit's demo profile shows one).
pub fn is_webmail_domain(token: &str) -> bool {
    const DOMAINS: &[&str] = &[
        "gmail",
        "googlemail",
        "hotmail",
        "yahoo",
        "outlook",
        "icloud",
        "protonmail",
    ];
    DOMAINS.contains(&token)
}

/// Month and weekday names and their abbreviations: every dated page shows some.
pub fn is_calendar_word(token: &str) -> bool {
    const WORDS: &[&str] = &[
        "jan",
        "feb",
        "mar",
        "apr",
        "may",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "oct",
        "nov",
        "dec",
        "january",
        "february",
        "march",
        "april",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
        "mon",
        "tue",
        "tues",
        "wed",
        "thu",
        "thur",
        "thurs",
        "fri",
        "sat",
        "sun",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
        "am",
        "pm",
        "today",
        "yesterday",
    ];
    WORDS.contains(&token)
}

/// Words of protective markings (government security classifications and handling caveats).
pub fn is_marking(token: &str) -> bool {
    matches!(
        token,
        "official"
            | "sensitive"
            | "secret"
            | "restricted"
            | "confidential"
            | "protect"
            | "protected"
            | "classified"
            | "internal"
            | "unclassified"
            | "limited"
    )
}

/// How much matching this token says about a specific system, in (0, 1.3].
pub fn distinctiveness(token: &str) -> f32 {
    if token.chars().all(|c| c.is_ascii_digit()) {
        return 0.5;
    }
    if is_generic_ui(token) || is_calendar_word(token) {
        return 0.15;
    }
    let zipf = english_zipf(token);
    let len = token.chars().count() as f32;
    // Short tokens collide by chance more often, and OCR invents them.
    let length_factor = (len / 5.0).clamp(0.5, 1.0);
    let rarity = ((6.2 - zipf) / 3.0).clamp(0.15, 1.3);
    rarity * length_factor
}

#[cfg(test)]
mod tests {
    use super::*;

    fn word(text: &str, left: f32) -> OcrWord {
        OcrWord {
            text: text.into(),
            left,
            top: 10.0,
            width: 90.0,
            height: 10.0,
            confidence: 90.0,
            line: (1, 1, 1),
        }
    }

    #[test]
    fn web_addresses_give_no_tokens() {
        for address in [
            "https://portal.internal/app/view?id=2041",
            "www.fernhill.gov.uk",
            "portal.internal/cases",
        ] {
            assert!(is_web_address(address), "{address}");
        }
        for word in ["12/03/2026", "OFFICIAL-SENSITIVE", "Ltd.", "and/or", "v2.1"] {
            assert!(!is_web_address(word), "{word}");
        }
    }

    #[test]
    fn common_words_tell_text_read_the_right_way_up() {
        let read =
            |texts: &[&str]| -> Vec<OcrWord> { texts.iter().map(|t| word(t, 0.0)).collect() };
        // A sign-in page read upright; the same turned upside down, as Tesseract reads it.
        let upright = read(&["Sign", "in", "to", "the", "staff", "portal", "Password"]);
        let upside_down = read(&["ul", "ublS", "oq", "ey", "JJe}s", "lepod", "pJomssed"]);
        assert_eq!(upright_words(&upright), 5);
        assert_eq!(upright_words(&upside_down), 0);
        let mut doubted = upright;
        for w in &mut doubted {
            w.confidence = MIN_WORD_CONFIDENCE - 1.0;
        }
        assert_eq!(upright_words(&doubted), 0, "faint readings do not count");
    }

    #[test]
    fn splits_words_and_scales_boxes() {
        let toks = tokens_from_words(&[word("OFFICIAL-SENSITIVE", 0.0)], 2.0);
        let texts: Vec<_> = toks.iter().map(|t| t.text.as_str()).collect();
        assert_eq!(texts, ["official", "sensitive"]);
        assert!((toks[0].w - 20.0).abs() < 1e-3);
        assert!((toks[1].x - 22.5).abs() < 1e-3);
        assert!((toks[0].h - 5.0).abs() < 1e-3);
    }

    #[test]
    fn drops_noise_tokens() {
        let words = [
            word("a", 0.0),
            word("12", 0.0),
            word("2019", 0.0),
            word("4471", 0.0),
        ];
        let toks = tokens_from_words(&words, 1.0);
        let texts: Vec<_> = toks.iter().map(|t| t.text.as_str()).collect();
        assert_eq!(texts, ["4471"]);
    }

    #[test]
    fn rare_names_outweigh_generic_words() {
        assert!(distinctiveness("northbridge") > 1.0);
        assert!(distinctiveness("dashboard") < 0.2);
        assert!(distinctiveness("council") < distinctiveness("kestrel"));
    }
}

/// Everything the matcher needs to know about one image.
#[derive(Debug, Clone)]
pub struct ImageFingerprint {
    /// Size of the space the token boxes are in: the image, or the rectified screen.
    pub width: u32,
    pub height: u32,
    pub tokens: Vec<Token>,
    pub palette: layout::Palette,
    /// Small colour picture of the whole image (not only a rectified screen), for
    /// comparing an aligned template's chrome with what the image shows there.
    pub look: layout::Look,
    /// Where a rectified screen sits in the image: token boxes are in the rectified
    /// screen's pixels and map back to image pixels through it.
    pub screen: Option<ScreenMap>,
}

/// Maps rectified-screen coordinates back to image pixels.
#[derive(Clone, Copy)]
pub struct ScreenMap {
    /// Screen corners in image pixels: top-left, top-right, bottom-right, bottom-left.
    pub corners: [(f32, f32); 4],
    to_image: imageproc::geometric_transformations::Projection,
    work_scale: f32,
    /// The whole image's size in pixels.
    image_width: f32,
    image_height: f32,
}

impl ImageFingerprint {
    /// A point of token space (where token boxes are) in image pixels.
    pub fn image_point(&self, x: f32, y: f32) -> (f32, f32) {
        let Some(m) = &self.screen else {
            return (x, y);
        };
        let (u, v) = m.to_image * (x * m.work_scale, y * m.work_scale);
        (u / m.work_scale, v / m.work_scale)
    }

    /// Size of the whole image in pixels (token space is a rectified screen's, for photos).
    pub fn image_size(&self) -> (f32, f32) {
        match &self.screen {
            Some(m) => (m.image_width, m.image_height),
            None => (self.width as f32, self.height as f32),
        }
    }

    /// A token's box in image pixels: [left, top, width, height].
    pub fn image_box(&self, t: &Token) -> [f32; 4] {
        if self.screen.is_none() {
            return [t.x, t.y, t.w, t.h];
        }
        let map = |x: f32, y: f32| self.image_point(x, y);
        let pts = [
            map(t.x, t.y),
            map(t.x + t.w, t.y),
            map(t.x, t.y + t.h),
            map(t.x + t.w, t.y + t.h),
        ];
        let (x0, y0) = pts
            .iter()
            .fold((f32::MAX, f32::MAX), |a, p| (a.0.min(p.0), a.1.min(p.1)));
        let (x1, y1) = pts
            .iter()
            .fold((f32::MIN, f32::MIN), |a, p| (a.0.max(p.0), a.1.max(p.1)));
        [x0, y0, x1 - x0, y1 - y0]
    }
}

#[cfg(test)]
impl ScreenMap {
    /// A screen filling a `width` x `height` photo, seen head-on: for tests of what a
    /// photographed screen changes downstream.
    pub(crate) fn level(width: f32, height: f32) -> ScreenMap {
        ScreenMap {
            corners: [(0.0, 0.0), (width, 0.0), (width, height), (0.0, height)],
            to_image: imageproc::geometric_transformations::Projection::scale(1.0, 1.0),
            work_scale: 1.0,
            image_width: width,
            image_height: height,
        }
    }
}

impl std::fmt::Debug for ScreenMap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScreenMap")
            .field("corners", &self.corners)
            .finish()
    }
}

/// Fingerprints a prepared image from its OCR words.
pub fn fingerprint(prepared: &crate::preprocess::Prepared, words: &[OcrWord]) -> ImageFingerprint {
    ImageFingerprint {
        width: prepared.screen.map_or(prepared.width, |s| {
            (s.width as f32 / prepared.work_scale) as u32
        }),
        height: prepared.screen.map_or(prepared.height, |s| {
            (s.height as f32 / prepared.work_scale) as u32
        }),
        tokens: tokens_from_words(words, prepared.ocr_scale)
            .into_iter()
            .map(|t| Token {
                x: t.x + prepared.ocr_origin.0,
                y: t.y + prepared.ocr_origin.1,
                ..t
            })
            .collect(),
        palette: layout::Palette::of(&prepared.thumb),
        look: layout::Look::of(&prepared.thumb, layout::IMAGE_LOOK_SIDE),
        screen: prepared.screen.map(|s| ScreenMap {
            corners: s
                .corners
                .map(|(x, y)| (x / prepared.work_scale, y / prepared.work_scale)),
            to_image: s.to_image,
            work_scale: prepared.work_scale,
            image_width: prepared.width as f32,
            image_height: prepared.height as f32,
        }),
    }
}
