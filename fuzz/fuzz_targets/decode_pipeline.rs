//! Arbitrary bytes through everything a scan does except Tesseract: decode (with limits),
//! preprocess, fingerprint, match against the bundled template, score, and the JSON
//! record. OCR words are made from the same bytes (as Tesseract TSV, and as words of the
//! template's vocabulary at byte-chosen places), so the matcher sees hostile input too.
#![no_main]

use std::path::Path;
use std::sync::OnceLock;

use leakshot::decode::{decode_bytes, DecodeLimits};
use leakshot::fingerprint::fingerprint;
use leakshot::ocr::{parse_tsv, OcrWord};
use leakshot::preprocess::{prepare, Prepared, SCAN_GLYPH_HEIGHT};
use leakshot::template::{Calibration, Template};
use leakshot::{Models, ScanOptions, Scanner};
use libfuzzer_sys::fuzz_target;

const TEMPLATE: &[u8] = include_bytes!("../../models/fernhill-casedesk.template.json");
const CALIBRATION: &[u8] = include_bytes!("../../models/calibration.json");

/// Smaller than a scan's limits so that each run stays fast; the limit checks are the same
/// code.
const LIMITS: DecodeLimits = DecodeLimits {
    max_file_bytes: 1 << 20,
    max_dimension: 2048,
    max_alloc: 32 << 20,
};

fn scanner() -> &'static (Scanner, Vec<String>) {
    static S: OnceLock<(Scanner, Vec<String>)> = OnceLock::new();
    S.get_or_init(|| {
        let template = Template::from_json_bytes(TEMPLATE, Path::new("bundled template"))
            .expect("bundled template");
        let calibration = Calibration::from_json_bytes(CALIBRATION, Path::new("calibration"))
            .expect("bundled calibration");
        let vocabulary = template
            .vocabulary
            .iter()
            .map(|e| e.token.clone())
            .collect();
        let models = Models {
            templates: vec![template],
            calibration,
            dir: Default::default(),
        };
        let options = ScanOptions {
            jobs: 1,
            ..ScanOptions::default()
        };
        (Scanner::new(models, options), vocabulary)
    })
}

/// What an undecodable input is fingerprinted on: a small blank screen.
fn blank() -> &'static Prepared {
    static P: OnceLock<Prepared> = OnceLock::new();
    P.get_or_init(|| prepare(&image::DynamicImage::new_rgb8(320, 200), SCAN_GLYPH_HEIGHT))
}

/// Words from the bytes: any Tesseract TSV rows in them, then one vocabulary word per
/// 6 bytes, its box and confidence taken from the bytes.
fn words(data: &[u8], vocabulary: &[String]) -> Vec<OcrWord> {
    let mut words = parse_tsv(&String::from_utf8_lossy(data));
    if vocabulary.is_empty() {
        return words;
    }
    words.extend(data.chunks_exact(6).take(200).map(|c| OcrWord {
        text: vocabulary[c[0] as usize % vocabulary.len()].clone(),
        left: f32::from(c[1]) * 6.0,
        top: f32::from(c[2]) * 3.0,
        width: f32::from(c[3]),
        height: f32::from(c[4] % 48),
        confidence: f32::from(c[5] % 101),
        line: (u32::from(c[2] / 16), 0, 0),
    }));
    words
}

fuzz_target!(|data: &[u8]| {
    let (scanner, vocabulary) = scanner();
    let words = words(data, vocabulary);
    let record = match decode_bytes(data, &LIMITS) {
        Ok(decoded) => {
            // The pre-OCR gate sees every decoded image a scan sees.
            let gate = leakshot::gate::check(&decoded.image);
            assert!(gate.contrast.is_finite(), "{gate:?}");
            let prepared = prepare(&decoded.image, SCAN_GLYPH_HEIGHT);
            scanner.judge("fuzz".into(), &fingerprint(&prepared, &words))
        }
        Err(_) => scanner.judge("fuzz".into(), &fingerprint(blank(), &words)),
    };
    let line = serde_json::to_string(&record).expect("a record always serialises");
    assert!(!line.contains('\n'), "one record, one line");
    assert!(
        (0.0..=1.0).contains(&record.confidence),
        "a confidence in [0, 1], not NaN (written as null): {line}"
    );
});
