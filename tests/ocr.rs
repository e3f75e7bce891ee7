//! The OCR stage against the installed Tesseract: local thresholding is available (the
//! photo path needs Tesseract 5) and a region's words come back where they stand in
//! the whole image.

use std::path::Path;

use leakshot::ocr::{OcrEngine, OcrInput, Threshold};

#[test]
fn a_region_read_with_local_thresholding_keeps_whole_image_coordinates() {
    let page = image::open(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("test-images/enroll/fernhill-casedesk/dashboard.png"),
    )
    .expect("fixture")
    .to_luma8();
    let mut engine = OcrEngine::new().expect("Tesseract");
    assert!(engine.reads_local_threshold(), "Tesseract 5 or later");
    // The page title, "Dashboard", at the top of the content.
    let region = [240, 95, 400, 50];
    let words = engine
        .read_all([OcrInput {
            region: Some(region),
            threshold: Threshold::Local,
            ..OcrInput::whole(&page)
        }])
        .expect("read");
    let title = words
        .iter()
        .find(|w| w.text == "Dashboard")
        .unwrap_or_else(|| panic!("the title in {words:?}"));
    assert!(title.left >= 240.0 && title.top >= 95.0, "{title:?}");
    for w in &words {
        let inside = w.left >= 240.0 && w.left + w.width <= 640.0;
        assert!(
            inside && w.top >= 95.0 && w.top + w.height <= 145.0,
            "{w:?} outside"
        );
    }
}
