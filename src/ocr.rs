//! OCR: Tesseract through its C API, words with boxes and confidences.
//!
//! One [`OcrEngine`] per worker, never shared (Tesseract's API object is not thread-safe);
//! the scan owns a pool of them. Tesseract gets raw grayscale pixels, never a file path.

use image::GrayImage;
use tesseract::{PageSegMode, Tesseract};

use crate::error::OcrError;

/// One word as Tesseract read it, in the coordinates of the image it was given.
#[derive(Debug, Clone, PartialEq)]
pub struct OcrWord {
    pub text: String,
    pub left: f32,
    pub top: f32,
    pub width: f32,
    pub height: f32,
    /// Tesseract's confidence, 0-100.
    pub confidence: f32,
    /// Identifies the text line the word belongs to (block, paragraph, line).
    pub line: (u32, u32, u32),
}

/// How Tesseract turns grey pixels into ink and paper before it reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Threshold {
    /// One level for the whole image (Otsu's): what screenshots read best with.
    #[default]
    Global,
    /// A level per neighbourhood (Sauvola's): reads the text of a photographed monitor
    /// whose moire bands or glare one level turns into black stripes.
    Local,
}

impl Threshold {
    /// The value of Tesseract's `thresholding_method` variable.
    fn method(self) -> &'static str {
        match self {
            Threshold::Global => "0",
            Threshold::Local => "2",
        }
    }
}

/// One image to read: its pixels, the part of them to read, their size relative to the
/// first image of the same reading, and how Tesseract is to threshold them.
#[derive(Debug, Clone, Copy)]
pub struct OcrInput<'a> {
    pub image: &'a GrayImage,
    /// Left, top, width and height of the part to read, in `image` pixels; `None` for all.
    pub region: Option<[u32; 4]>,
    /// `image` pixels per pixel of the first image: word boxes are divided by it.
    pub factor: f32,
    pub threshold: Threshold,
}

impl<'a> OcrInput<'a> {
    /// All of `image`, at the first image's size, thresholded globally.
    pub fn whole(image: &'a GrayImage) -> Self {
        OcrInput {
            image,
            region: None,
            factor: 1.0,
            threshold: Threshold::Global,
        }
    }
}

/// A Tesseract instance configured for UI screenshots.
pub struct OcrEngine {
    // `None` after a failed call: the `tesseract` crate consumes the handle on error.
    tess: Option<Tesseract>,
    /// The thresholding the handle is set to (a fresh one thresholds globally).
    threshold: Threshold,
    /// Whether this Tesseract can threshold locally (`thresholding_method`, 5.0 and
    /// later); without it, locally thresholded inputs are skipped, not failed.
    local_threshold: bool,
}

impl OcrEngine {
    /// Starts Tesseract with the English model (~90 ms, ~50 MB).
    pub fn new() -> Result<Self, OcrError> {
        // The probe consumes the handle when the variable is unknown: start again then.
        let (tess, local_threshold) =
            match Self::start()?.set_variable("thresholding_method", Threshold::Global.method()) {
                Ok(t) => (t, true),
                Err(_) => (Self::start()?, false),
            };
        Ok(OcrEngine {
            tess: Some(tess),
            threshold: Threshold::Global,
            local_threshold,
        })
    }

    /// Whether locally thresholded inputs are read (see [`Threshold::Local`]).
    pub fn reads_local_threshold(&self) -> bool {
        self.local_threshold
    }

    fn start() -> Result<Tesseract, OcrError> {
        silence_leptonica();
        let mut tess =
            Tesseract::new(None, Some("eng")).map_err(|e| OcrError::Init(e.to_string()))?;
        // UI screens are scattered labels, not paragraphs: sparse text finds them all.
        tess.set_page_seg_mode(PageSegMode::PsmSparseText);
        let tess = tess
            .set_variable("user_defined_dpi", "300")
            // Tesseract's chatter ("Detected N diacritics") is not ours to print.
            .and_then(|t| t.set_variable("debug_file", "/dev/null"))
            // Preprocessing already turned light-on-dark text dark-on-light: Tesseract's
            // second, inverted reading of every low-confidence line only costs time.
            .and_then(|t| t.set_variable("tessedit_do_invert", "0"))
            .map_err(|e| OcrError::Init(e.to_string()))?;
        Ok(tess)
    }

    /// Reads the words of each of `inputs` (readings of the same pixels, made
    /// differently) and unites them ([`union_words`]), in the first input's coordinates.
    pub fn read_all<'a>(
        &mut self,
        inputs: impl IntoIterator<Item = OcrInput<'a>>,
    ) -> Result<Vec<OcrWord>, OcrError> {
        let mut words = Vec::new();
        for input in inputs {
            if input.threshold == Threshold::Local && !self.local_threshold {
                continue;
            }
            let mut read = self.read(&input)?;
            if input.factor != 1.0 {
                for w in &mut read {
                    w.left /= input.factor;
                    w.top /= input.factor;
                    w.width /= input.factor;
                    w.height /= input.factor;
                }
            }
            // A locally thresholded reading fills gaps: where a global reading read a
            // word at least as surely, its other reading is noise (a misread name in
            // the brand's place would claim the system is another organisation's).
            let fill_only = input.threshold == Threshold::Local;
            words = union_words(words, read, fill_only);
        }
        Ok(words)
    }

    /// Reads the words of `input`, in the coordinates of its image.
    fn read(&mut self, input: &OcrInput) -> Result<Vec<OcrWord>, OcrError> {
        let mut tess = match self.tess.take() {
            Some(t) => t,
            None => {
                self.threshold = Threshold::Global;
                Self::start()?
            }
        };
        if input.threshold != self.threshold {
            tess = tess
                .set_variable("thresholding_method", input.threshold.method())
                .map_err(|e| OcrError::Init(e.to_string()))?;
            self.threshold = input.threshold;
        }
        let image = input.image;
        let (w, h) = (image.width() as i32, image.height() as i32);
        let mut tess = tess
            .set_frame(image.as_raw(), w, h, 1, w)
            .map_err(|e| OcrError::SetImage(e.to_string()))?;
        if let Some([left, top, width, height]) = input.region {
            // Tesseract reports the words of a rectangle in the whole image's coordinates.
            let to_i32 = |v: u32| i32::try_from(v).unwrap_or(i32::MAX);
            tess = tess.set_rectangle(to_i32(left), to_i32(top), to_i32(width), to_i32(height));
        }
        let mut tess = tess.recognize().map_err(|_| OcrError::Recognize)?;
        let tsv = tess
            .get_tsv_text(0)
            .map_err(|e| OcrError::Output(e.to_string()))?;
        self.tess = Some(tess);
        Ok(parse_tsv(&tsv))
    }
}

/// `primary`'s words and those of `more` (another reading of the same pixels) that
/// `primary` lacks: a word is the same when its text is and its centre lies within a
/// letter height of the other's. With `fill_only`, a word of `more` is also left out
/// where `primary` read another word, on the same line and across its centre, at least
/// as confidently.
pub fn union_words(mut primary: Vec<OcrWord>, more: Vec<OcrWord>, fill_only: bool) -> Vec<OcrWord> {
    let centre = |w: &OcrWord| (w.left + w.width / 2.0, w.top + w.height / 2.0);
    let known = primary.len();
    for w in more {
        let (x, y) = centre(&w);
        let seen = primary[..known].iter().any(|v| {
            let (vx, vy) = centre(v);
            let tol = v.height.max(w.height);
            let same = v.text == w.text && (vx - x).abs() < tol && (vy - y).abs() < tol;
            let covered = fill_only
                && v.confidence >= w.confidence
                && x > v.left
                && x < v.left + v.width
                && (vy - y).abs() < tol * 0.5;
            same || covered
        });
        if !seen {
            primary.push(w);
        }
    }
    primary
}

/// Leptonica prints diagnostics ("Error in boxClipToRectangle") to stderr for odd page
/// layouts; they are not errors of ours and would drown the scan's own messages.
fn silence_leptonica() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        use tesseract::plumbing::leptonica_sys;
        // SAFETY: setMsgSeverity only stores an integer in Leptonica's global message
        // level; it is called once, before any engine exists.
        unsafe {
            leptonica_sys::setMsgSeverity(leptonica_sys::L_SEVERITY_NONE as i32);
        }
    });
}

/// Parses Tesseract's TSV output, keeping level-5 (word) rows with text.
pub fn parse_tsv(tsv: &str) -> Vec<OcrWord> {
    tsv.lines()
        .filter_map(|line| {
            let cols: Vec<&str> = line.splitn(12, '\t').collect();
            if cols.len() < 12 || cols[0] != "5" {
                return None;
            }
            let num = |i: usize| cols[i].trim().parse::<f32>().ok();
            let int = |i: usize| cols[i].trim().parse::<u32>().ok();
            let text = cols[11].trim();
            if text.is_empty() {
                return None;
            }
            Some(OcrWord {
                text: text.to_string(),
                left: num(6)?,
                top: num(7)?,
                width: num(8)?,
                height: num(9)?,
                confidence: num(10)?.max(0.0),
                line: (int(2)?, int(3)?, int(4)?),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn word(text: &str, left: f32, top: f32) -> OcrWord {
        OcrWord {
            text: text.into(),
            left,
            top,
            width: 60.0,
            height: 14.0,
            confidence: 90.0,
            line: (1, 1, 1),
        }
    }

    #[test]
    fn a_locally_thresholded_reading_only_fills_gaps() {
        let mut first = word("mcgee", 10.0, 20.0);
        first.confidence = 70.0;
        let mut misread = word("maced", 12.0, 21.0); // the same place, read otherwise
        misread.confidence = 60.0;
        let mut surer = word("mcgea", 12.0, 21.0);
        surer.confidence = 90.0;
        let gap = word("portal", 200.0, 20.0);
        let all = union_words(vec![first], vec![misread, surer, gap], true);
        let found: Vec<&str> = all.iter().map(|w| w.text.as_str()).collect();
        assert_eq!(found, ["mcgee", "mcgea", "portal"]);
    }

    #[test]
    fn a_second_reading_adds_only_the_words_the_first_lacks() {
        let first = vec![word("dashboard", 10.0, 20.0)];
        let second = vec![
            word("dashboard", 14.0, 23.0),  // the same word, read again
            word("dashboard", 10.0, 300.0), // the same text elsewhere
            word("harbour", 10.0, 20.0),    // another reading of the same place
        ];
        let all = union_words(first, second, false);
        let found: Vec<(&str, f32)> = all.iter().map(|w| (w.text.as_str(), w.top)).collect();
        assert_eq!(
            found,
            [("dashboard", 20.0), ("dashboard", 300.0), ("harbour", 20.0)]
        );
    }

    #[test]
    fn parses_word_rows_only() {
        let tsv = "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext\n\
                   1\t1\t0\t0\t0\t0\t0\t0\t100\t50\t-1\t\n\
                   5\t1\t1\t1\t1\t1\t10\t20\t30\t12\t91.5\tDashboard\n\
                   5\t1\t1\t1\t1\t2\t50\t20\t30\t12\t-1\t \n";
        let words = parse_tsv(tsv);
        assert_eq!(words.len(), 1);
        assert_eq!(words[0].text, "Dashboard");
        assert_eq!(words[0].left, 10.0);
        assert_eq!(words[0].line, (1, 1, 1));
    }
}
