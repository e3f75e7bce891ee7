//! Arbitrary bytes as a template file and as a calibration file. Whatever parses must then
//! be usable: a parsed template is indexed and matched, a parsed calibration scores, and
//! neither may panic.
#![no_main]

use std::path::Path;
use std::sync::OnceLock;

use leakshot::fingerprint::ImageFingerprint;
use leakshot::template::{Calibration, Template};
use leakshot::{Models, ScanOptions, Scanner};
use libfuzzer_sys::fuzz_target;

const TEMPLATE: &[u8] = include_bytes!("../../models/fernhill-casedesk.template.json");
const CALIBRATION: &[u8] = include_bytes!("../../models/calibration.json");

/// The bundled template, calibration, and a fingerprint of its first reference page (so a
/// fuzzed template derived from the bundled one has words to match).
fn bundled() -> &'static (Template, Calibration, ImageFingerprint) {
    static B: OnceLock<(Template, Calibration, ImageFingerprint)> = OnceLock::new();
    B.get_or_init(|| {
        let t = Template::from_json_bytes(TEMPLATE, Path::new("bundled")).expect("template");
        let c = Calibration::from_json_bytes(CALIBRATION, Path::new("bundled")).expect("cal");
        let r = &t.references[0];
        let fp = ImageFingerprint {
            width: r.width,
            height: r.height,
            tokens: r.tokens.clone(),
            palette: r.palette.clone(),
            // The reference's own picture stands in for an image's: alike everywhere.
            look: r.look.clone(),
            screen: None,
        };
        (t, c, fp)
    })
}

fn judge(template: Template, calibration: Calibration, fp: &ImageFingerprint) {
    let models = Models {
        templates: vec![template],
        calibration,
        dir: Default::default(),
    };
    let options = ScanOptions {
        jobs: 1,
        ..ScanOptions::default()
    };
    let record = Scanner::new(models, options).judge("fuzz".into(), fp);
    let line = serde_json::to_string(&record).expect("a record always serialises");
    assert!(
        (0.0..=1.0).contains(&record.confidence),
        "a confidence in [0, 1], not NaN (written as null): {line}"
    );
}

fuzz_target!(|data: &[u8]| {
    let origin = Path::new("fuzz.json");
    let (template, calibration, fp) = bundled();
    if let Ok(t) = Template::from_json_bytes(data, origin) {
        judge(t, calibration.clone(), fp);
    }
    if let Ok(c) = Calibration::from_json_bytes(data, origin) {
        judge(template.clone(), c, fp);
    }
});
