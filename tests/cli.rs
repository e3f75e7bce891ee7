//! End-to-end runs of the `leakshot` binary on real images with real Tesseract.
//!
//! The bundled fixtures (`test-images/`, `models/`) are always there; tests that use the
//! shared DEV corpus beside the repository skip themselves when it is absent.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn leakshot(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_leakshot"))
        .args(args)
        .env("OMP_THREAD_LIMIT", "1")
        .output()
        .expect("run leakshot")
}

fn records(out: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l}: {e}")))
        .collect()
}

fn by_name<'a>(recs: &'a [Value], name: &str) -> &'a Value {
    recs.iter()
        .find(|r| r["path"].as_str().is_some_and(|p| p.ends_with(name)))
        .unwrap_or_else(|| panic!("no record for {name}"))
}

fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("leakshot-e2e-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// The bundled leak, the never-enrolled reports page, decoded: what the made-image tests
/// transform.
fn reports_page() -> image::DynamicImage {
    image::open(repo().join("test-images/posted/positive-reports-page.jpg")).expect("fixture")
}

/// Saves `image` as `name` in a fresh temporary folder, scans it against the bundled
/// models and returns its record.
fn scan_made_image(image: &image::RgbImage, tag: &str, name: &str) -> Value {
    let dir = temp_dir(tag);
    let path = dir.join(name);
    image.save(&path).expect("write the made image");
    let models = repo().join("models");
    let out = leakshot(&["scan", "--models", path_str(&models), path_str(&path)]);
    let rec = by_name(&records(&out), name).clone();
    let _ = std::fs::remove_dir_all(&dir);
    rec
}

#[test]
fn bundled_scan_finds_the_leak_and_keeps_going_past_a_corrupt_file() {
    let models = repo().join("models");
    let posted = repo().join("test-images/posted");
    let out = leakshot(&["scan", "--models", path_str(&models), path_str(&posted)]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "exit 1 means a leak was found: {out:?}"
    );
    let recs = records(&out);
    assert_eq!(recs.len(), 5, "one record per file");

    let pos = by_name(&recs, "positive-reports-page.jpg");
    assert_eq!(pos["leak"], true, "{pos:#}");
    assert_eq!(pos["verdict"], "leak");
    assert_eq!(pos["template"], "fernhill-casedesk");
    let conf = pos["confidence"].as_f64().expect("confidence");
    assert!((0.0..=1.0).contains(&conf));
    assert!(pos["error"].is_null());
    let ev = &pos["evidence"];
    assert_eq!(ev["org_evidence"], true);
    let words = ev["matched_words"].as_array().expect("matched_words");
    assert!(words
        .iter()
        .any(|w| w["in_place"] == true && w["box"].as_array().is_some_and(|b| b.len() == 4)));
    assert!(
        ev["features"].is_object() && ev["contributions"].is_object() && ev["layout"].is_object()
    );
    for stage in ["decode", "preprocess", "ocr", "match", "total"] {
        assert!(pos["timings_ms"][stage].is_number(), "timing {stage}");
    }

    // A phone photo of the monitor: found, rectified, read and matched.
    let shot = by_name(&recs, "positive-monitor-photo.jpg");
    assert_eq!(shot["verdict"], "leak", "{shot:#}");
    assert_eq!(shot["template"], "fernhill-casedesk");
    let corners = shot["evidence"]["layout"]["screen"]
        .as_array()
        .expect("the screen's corners");
    assert_eq!(corners.len(), 4);

    let look = by_name(&recs, "lookalike-other-org.jpg");
    assert_eq!(
        look["leak"], false,
        "look-alike of another organisation: {look:#}"
    );
    assert_ne!(look["verdict"], "leak");

    let photo = by_name(&recs, "holiday-photo.jpg");
    assert_eq!(photo["verdict"], "clean");

    let bad = by_name(&recs, "corrupt.png");
    assert_eq!(bad["leak"], false);
    assert_eq!(bad["confidence"], 0.0);
    assert!(
        bad["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{bad:#}"
    );

    let summary = String::from_utf8_lossy(&out.stderr);
    assert!(
        summary.contains("5 images") && summary.contains("1 errors"),
        "{summary}"
    );
}

#[test]
fn enroll_writes_a_versioned_template_that_scans_use() {
    let dir = temp_dir("enroll");
    let enroll = repo().join("test-images/enroll/fernhill-casedesk");
    let out = leakshot(&[
        "enroll",
        "--models",
        path_str(&dir),
        "--name",
        "fernhill-casedesk",
        path_str(&enroll.join("dashboard.png")),
        path_str(&enroll.join("cases.png")),
    ]);
    assert!(out.status.success(), "{out:?}");
    let text =
        std::fs::read_to_string(dir.join("fernhill-casedesk.template.json")).expect("template");
    let t: Value = serde_json::from_str(&text).expect("template JSON");
    assert_eq!(t["format"], "leakshot-template");
    assert_eq!(t["version"], 1);
    assert_eq!(t["references"].as_array().map(Vec::len), Some(2));
    let vocab = t["vocabulary"].as_array().expect("vocabulary");
    assert!(vocab
        .iter()
        .any(|e| e["token"] == "fernhill" && e["org"] == true && e["chrome"] == true));

    let positive = repo().join("test-images/posted/positive-reports-page.jpg");
    let out = leakshot(&["scan", "--models", path_str(&dir), path_str(&positive)]);
    let recs = records(&out);
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0]["template"], "fernhill-casedesk", "{:#}", recs[0]);

    // The fresh folder has no calibration.json: it is judged with the shipped one, built
    // in, so every bundled image scores as it does against the bundled models.
    assert!(!dir.join("calibration.json").exists());
    let posted = repo().join("test-images/posted");
    let scores = |models: &Path| -> Vec<(String, Value, Value)> {
        let out = leakshot(&["scan", "--models", path_str(models), path_str(&posted)]);
        records(&out)
            .iter()
            .map(|r| {
                (
                    r["path"].to_string(),
                    r["verdict"].clone(),
                    r["confidence"].clone(),
                )
            })
            .collect()
    };
    let fresh = scores(&dir);
    assert_eq!(fresh.len(), 5);
    assert_eq!(fresh, scores(&repo().join("models")));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn output_file_gets_one_line_per_image_and_usage_errors_exit_2() {
    let dir = temp_dir("output");
    let file = dir.join("out.jsonl");
    let models = repo().join("models");
    let photo = repo().join("test-images/posted/holiday-photo.jpg");
    let missing = dir.join("does-not-exist.png");
    let out = leakshot(&[
        "scan",
        "--models",
        path_str(&models),
        "--output",
        path_str(&file),
        path_str(&photo),
        path_str(&missing),
    ]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let text = std::fs::read_to_string(&file).expect("output file");
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    assert_eq!(lines.len(), 2);
    assert!(lines[1]["error"]
        .as_str()
        .is_some_and(|e| e.contains("cannot read")));

    let no_models = leakshot(&[
        "scan",
        "--models",
        path_str(&dir.join("nope")),
        path_str(&photo),
    ]);
    assert_eq!(no_models.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&no_models.stderr).contains("models"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// The shared DEV corpus, when it sits beside the repository.
fn corpus() -> Option<PathBuf> {
    let c = repo().join("../shared/corpus");
    c.join("labels.jsonl").exists().then_some(c)
}

#[test]
fn corpus_positive_is_attributed_and_same_kit_lookalike_is_not_a_leak() {
    let Some(corpus) = corpus() else {
        eprintln!("skipping: shared corpus not found");
        return;
    };
    let dir = temp_dir("corpus");
    for system in ["harbour-casemanager", "northbridge-intranet"] {
        let tdir = corpus.join("templates").join(system);
        let mut args = vec!["enroll", "--models", path_str(&dir), "--name", system];
        let pngs: Vec<PathBuf> = ["dashboard.png", "projects.png", "tables.png"]
            .iter()
            .map(|n| tdir.join(n))
            .filter(|p| p.exists())
            .collect();
        args.extend(pngs.iter().map(|p| path_str(p)));
        let out = leakshot(&args);
        assert!(out.status.success(), "{out:?}");
    }
    std::fs::copy(
        repo().join("models/calibration.json"),
        dir.join("calibration.json"),
    )
    .expect("copy calibration");
    // img0011: Harbour's dashboard, downscaled JPEG. img0106: Westmere's (another
    // organisation, a sibling UI kit) dashboard. img0013: a photo.
    let images: Vec<PathBuf> = ["img0011.jpg", "img0106.jpg", "img0013.jpg"]
        .iter()
        .map(|n| corpus.join("images").join(n))
        .collect();
    let mut args = vec!["scan", "--models", path_str(&dir)];
    args.extend(images.iter().map(|p| path_str(p)));
    let out = leakshot(&args);
    let recs = records(&out);
    let pos = by_name(&recs, "img0011.jpg");
    assert_eq!(pos["verdict"], "leak", "{pos:#}");
    assert_eq!(pos["template"], "harbour-casemanager");
    assert_ne!(by_name(&recs, "img0106.jpg")["verdict"], "leak");
    assert_eq!(by_name(&recs, "img0013.jpg")["verdict"], "clean");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_page_registered_as_public_is_no_longer_evidence() {
    let models = temp_dir("public");
    for f in ["fernhill-casedesk.template.json", "calibration.json"] {
        std::fs::copy(repo().join("models").join(f), models.join(f)).expect("copy model");
    }
    let page = repo().join("test-images/posted/positive-reports-page.jpg");
    let before = records(&leakshot(&[
        "scan",
        "--models",
        path_str(&models),
        path_str(&page),
    ]));
    assert_eq!(before[0]["verdict"], "leak", "{:#}", before[0]);

    // Pretend the organisation published this very page: everything it shows is public.
    let out = leakshot(&[
        "enroll",
        "--models",
        path_str(&models),
        "--name",
        "fernhill-casedesk",
        "--public",
        path_str(&page),
    ]);
    assert!(out.status.success(), "{out:?}");
    let template: Value = serde_json::from_slice(
        &std::fs::read(models.join("fernhill-casedesk.template.json")).expect("template"),
    )
    .expect("template JSON");
    assert_eq!(template["public_sources"][0], "positive-reports-page.jpg");

    let after = records(&leakshot(&[
        "scan",
        "--models",
        path_str(&models),
        path_str(&page),
    ]));
    assert_ne!(after[0]["verdict"], "leak", "{:#}", after[0]);
    assert!(
        after[0]["confidence"].as_f64() < before[0]["confidence"].as_f64(),
        "{} vs {}",
        after[0]["confidence"],
        before[0]["confidence"]
    );
    let _ = std::fs::remove_dir_all(&models);
}

#[test]
fn a_scrolling_screenshot_many_screens_tall_is_read_at_a_screens_scale() {
    // The bundled system's two pages stacked eight screens tall (1366 x 6144), as a
    // full-page capture gives: reduced by its length it lost its letters (the gate stopped
    // it as textless); read by its width, in bands, it is the system's page.
    let pages: Vec<image::RgbImage> = ["dashboard.png", "cases.png"]
        .iter()
        .map(|n| {
            image::open(repo().join("test-images/enroll/fernhill-casedesk").join(n))
                .expect("fixture")
                .to_rgb8()
        })
        .collect();
    let (w, h) = pages[0].dimensions();
    let mut tall = image::RgbImage::new(w, h * 8);
    for k in 0..8 {
        image::imageops::replace(&mut tall, &pages[(k % 2) as usize], 0, i64::from(h * k));
    }
    let rec = scan_made_image(&tall, "tall", "full-page.png");
    assert_eq!(rec["verdict"], "leak", "{rec:#}");
    assert_eq!(rec["template"], "fernhill-casedesk");
}

#[test]
fn the_system_in_a_dark_theme_is_read_as_the_system() {
    // The reports page as its dark theme shows it: light regions (the page, cards,
    // banner) turned dark with light letters, the sidebar left as it was. Nothing in it
    // was a light page for the dark regions to be inverted against, and it was `clean`.
    let page = reports_page().to_rgb8();
    let local = image::imageops::blur(
        &image::DynamicImage::ImageRgb8(page.clone()).to_luma8(),
        8.0,
    );
    let mut dark = page.clone();
    for (x, y, p) in dark.enumerate_pixels_mut() {
        if local.get_pixel(x, y)[0] > 128 {
            p.0 = p.0.map(|c| 30 + (255 - c) / 8 * 7);
        }
    }
    let rec = scan_made_image(&dark, "dark", "dark-theme.png");
    assert_eq!(rec["verdict"], "leak", "{rec:#}");
    assert_eq!(rec["template"], "fernhill-casedesk");
}

#[test]
fn a_blurred_copy_is_read_sharpened() {
    // The reports page under a Gaussian blur of 1.4 px (a viewer's soft rescale): its
    // letters went to Tesseract as soft as they were, and it was `clean`.
    let page = reports_page().blur(1.4).to_rgb8();
    let rec = scan_made_image(&page, "blur", "blurred.png");
    assert_eq!(rec["verdict"], "leak", "{rec:#}");
    assert_eq!(rec["template"], "fernhill-casedesk");
}

#[test]
fn a_leak_whose_download_stopped_short_is_still_found_and_said_to_be_truncated() {
    // The bundled leak's file cut at 70% of its bytes: an interrupted download. The decoder
    // fills the missing rows; the part that arrived still shows the system.
    let bytes = std::fs::read(repo().join("test-images/posted/positive-reports-page.jpg"))
        .expect("fixture");
    let dir = temp_dir("truncated");
    let path = dir.join("cut.jpg");
    std::fs::write(&path, &bytes[..bytes.len() * 7 / 10]).expect("write the cut file");
    let models = repo().join("models");
    let out = leakshot(&["scan", "--models", path_str(&models), path_str(&path)]);
    let rec = by_name(&records(&out), "cut.jpg").clone();
    assert!(rec["error"].is_null(), "{rec:#}");
    assert_eq!(rec["image"]["truncated"], true, "{rec:#}");
    assert_eq!(rec["verdict"], "leak", "{rec:#}");
    let summary = String::from_utf8_lossy(&out.stderr);
    assert!(summary.contains("1 truncated"), "{summary}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_screenshot_posted_sideways_is_read_turned_upright() {
    // The reports page turned a quarter anticlockwise, as a photo stripped of its EXIF
    // orientation shows: its letters stand in columns, and the gate stopped it as `clean`.
    let page = reports_page();
    let sideways = page.rotate270().to_rgb8();
    let rec = scan_made_image(&sideways, "sideways", "sideways.png");
    assert_eq!(rec["verdict"], "leak", "{rec:#}");
    assert_eq!(rec["template"], "fernhill-casedesk");
    assert_eq!(rec["image"]["turned"], 90, "{rec:#}");
    // Width, height and boxes are the upright page's.
    assert_eq!(rec["image"]["width"], page.width());
    assert_eq!(rec["image"]["height"], page.height());
    for word in rec["evidence"]["matched_words"].as_array().expect("words") {
        let x = word["box"][0].as_f64().unwrap_or(-1.0);
        assert!((0.0..f64::from(page.width())).contains(&x), "{word}");
    }
    // Larger than preprocessing works at (3,000 px), it is reduced to that before it is
    // turned: no second full-size copy, and the record's size is the reduced one.
    let large = page
        .resize(
            4 * page.width(),
            4 * page.height(),
            image::imageops::FilterType::Triangle,
        )
        .rotate270()
        .to_rgb8();
    let rec = scan_made_image(&large, "sideways-large", "sideways-large.png");
    assert_eq!(rec["verdict"], "leak", "{rec:#}");
    assert_eq!(rec["image"]["turned"], 90, "{rec:#}");
    assert_eq!(rec["image"]["width"], 3000, "{rec:#}");
}

#[test]
fn a_small_window_on_a_plain_desktop_is_read_at_its_letters_scale() {
    // The reports page at 70% (569 x 320) in a 1920 x 1080 desktop of one colour. OCR's
    // pixel budget, spent on the whole desktop, read it at under 2x (letters of 7 px).
    let page = reports_page();
    let (w, h) = (page.width() * 7 / 10, page.height() * 7 / 10);
    let small = page
        .resize_exact(w, h, image::imageops::FilterType::Lanczos3)
        .to_rgb8();
    let mut desktop = image::RgbImage::from_pixel(1920, 1080, image::Rgb([58, 90, 120]));
    image::imageops::replace(&mut desktop, &small, 200, 120);
    let rec = scan_made_image(&desktop, "desktop", "desktop.png");
    assert_eq!(rec["verdict"], "leak", "{rec:#}");
    assert_eq!(rec["template"], "fernhill-casedesk");
    // Boxes are the desktop's pixels: every matched word lies on the window.
    for word in rec["evidence"]["matched_words"].as_array().expect("words") {
        let b = &word["box"];
        let (x, y) = (b[0].as_f64().unwrap_or(-1.0), b[1].as_f64().unwrap_or(-1.0));
        assert!((199.0..200.0 + f64::from(w)).contains(&x), "{word}");
        assert!((119.0..120.0 + f64::from(h)).contains(&y), "{word}");
    }
}

#[test]
fn a_screen_recording_that_opens_on_a_blank_frame_is_read_at_the_page() {
    // A GIF whose first frame is blank (a recording fading in), then the reports page.
    let page = reports_page().to_rgba8();
    let blank = image::RgbaImage::from_pixel(page.width(), page.height(), image::Rgba([255; 4]));
    let dir = temp_dir("gif");
    let path = dir.join("recording.gif");
    {
        let file = std::fs::File::create(&path).expect("create gif");
        let mut encoder = image::codecs::gif::GifEncoder::new_with_speed(file, 30);
        for frame in [blank, page] {
            let delay = image::Delay::from_numer_denom_ms(500, 1);
            encoder
                .encode_frame(image::Frame::from_parts(frame, 0, 0, delay))
                .expect("gif frame");
        }
    }
    let models = repo().join("models");
    let out = leakshot(&["scan", "--models", path_str(&models), path_str(&path)]);
    let recs = records(&out);
    let rec = by_name(&recs, "recording.gif");
    assert_eq!(rec["image"]["frame"], 1, "{rec:#}");
    assert_eq!(rec["verdict"], "leak", "{rec:#}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_download_saved_without_an_image_extension_is_scanned_and_other_files_are_counted() {
    // Image sites' downloads keep odd names: "photo.jpg_large", "media?format=jpg", none.
    let dir = temp_dir("odd-names");
    let leak = std::fs::read(repo().join("test-images/posted/positive-reports-page.jpg"))
        .expect("fixture");
    std::fs::write(dir.join("media"), &leak).expect("write");
    std::fs::write(
        dir.join("post.json"),
        br#"{"id": 7, "text": "look at this"}"#,
    )
    .expect("write");
    let models = repo().join("models");
    let out = leakshot(&["scan", "--models", path_str(&models), path_str(&dir)]);
    let recs = records(&out);
    assert_eq!(recs.len(), 1, "{recs:#?}");
    assert_eq!(by_name(&recs, "media")["verdict"], "leak", "{:#}", recs[0]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("1 other file passed over (no image)"),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
