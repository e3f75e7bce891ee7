//! Development aid: where preprocessing spends its time. For each image in a folder, times
//! `prepare_gray` and each of its steps (CPU time of this process, the least of `REPEAT`
//! runs, default 3: the machine is shared, so wall-clock time is noisy), and prints a
//! checksum of what OCR and the fingerprint get, to show that a speed-up changes nothing.
//! `cargo run --release --example preprocess_timing -- [FOLDER]`
//!
//! The steps are a copy of `prepare_gray`'s body with timers; each run checks that the copy
//! still gives `prepare_gray`'s output, so a change to one and not the other is caught.

use image::{imageops::FilterType, DynamicImage, GrayImage};
use leakshot::decode::{decode_file, DecodeLimits};
use leakshot::preprocess::{
    content, estimate_glyph_height, luma8, normalise_polarity_counted, prepare_gray, resize_gray,
    screen, second_ocr_input, stretch_contrast_counted, tall, unsharp_counted, Prepared,
    MAX_OCR_PIXELS, PHOTO_SHARPEN_SIGMA, SCAN_GLYPH_HEIGHT, TYPICAL_GLYPH, WORKING_MAX_SIDE,
};
use std::path::{Path, PathBuf};

/// The timed steps, in order; `prepare_gray` is the whole function, timed on its own.
const STEPS: [&str; 11] = [
    "work_resize",
    "find_screen",
    "rectify_or_crop", // the content crop comes after the glyph height, timed here
    "glyph_height",
    "ocr_resize",
    "stretch",
    "unsharp",
    "second_input",
    "polarity",
    "thumbnail",
    "prepare_gray",
];

/// CPU time of this process, in milliseconds.
fn cpu_ms() -> f64 {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `t` is a valid, writable timespec.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut t) };
    if rc != 0 {
        return 0.0;
    }
    t.tv_sec as f64 * 1e3 + t.tv_nsec as f64 * 1e-6
}

/// Times the steps one after another: each `lap` charges the time since the last to a step.
struct Laps {
    last: f64,
    ms: [f64; STEPS.len()],
}

impl Laps {
    fn new() -> Laps {
        Laps {
            last: cpu_ms(),
            ms: [0.0; STEPS.len()],
        }
    }

    fn lap(&mut self, step: usize) {
        let now = cpu_ms();
        self.ms[step] += now - self.last;
        self.last = now;
    }
}

/// `prepare_gray`'s body, with a lap after each step.
fn prepare_timed(gray: GrayImage, image: &DynamicImage, glyph_target: f32) -> (Prepared, Laps) {
    let mut laps = Laps::new();
    let (width, height) = (image.width(), image.height());
    let long = width.max(height);
    let side = tall::scale_side(width, height);
    let work_scale = if side > WORKING_MAX_SIDE {
        WORKING_MAX_SIDE as f32 / side as f32
    } else {
        1.0
    };
    let mut work = {
        let gray_full = if gray.dimensions() == (width, height) {
            gray
        } else {
            luma8(image)
        };
        if work_scale < 1.0 {
            resize_gray(&gray_full, work_scale, FilterType::Triangle)
        } else {
            gray_full
        }
    };
    laps.lap(0);
    let screen = screen::find_screen(&work);
    let photographed =
        screen.is_some() || (screen::camera_noise(&work) && screen::shows_screen(&work));
    laps.lap(1);
    if let Some(s) = &screen {
        work = screen::rectify(&work, s);
    }
    laps.lap(2);
    let glyph_work = estimate_glyph_height(&work);
    laps.lap(3);
    let mut extra = match glyph_work {
        Some(h) => (glyph_target / h).clamp(0.8, 4.0),
        None => (1600.0 / work.width().max(1) as f32).clamp(1.0, 2.0),
    };
    let budget = if screen.is_some() {
        MAX_OCR_PIXELS * screen::MARGIN_AREA_FACTOR
    } else {
        MAX_OCR_PIXELS * tall::budget_factor(width, height)
    };
    let (work, ocr_origin) = if !photographed && !tall::longer_than_a_screen(width, height) {
        content::cut_to_content(work, extra, budget, work_scale)
    } else {
        (work, (0.0, 0.0))
    };
    laps.lap(2);
    let pixels = work.width() as f32 * work.height() as f32;
    let cap = (budget / pixels).sqrt();
    if (extra - 1.0).abs() < 0.08 {
        extra = 1.0;
    }
    extra = extra.min(cap);
    let mut ocr_gray = if (extra - 1.0).abs() < f32::EPSILON {
        work
    } else {
        resize_gray(&work, extra, FilterType::CatmullRom)
    };
    laps.lap(4);
    let core = screen.map_or([0, 0, ocr_gray.width(), ocr_gray.height()], |s| {
        s.core.map(|v| (v as f32 * extra) as u32)
    });
    let mut levels = stretch_contrast_counted(&mut ocr_gray, core);
    laps.lap(5);
    let glyph_ocr = glyph_work.map_or(TYPICAL_GLYPH, |h| h * extra);
    if screen.is_some() {
        levels = unsharp_counted(&mut ocr_gray, glyph_ocr * PHOTO_SHARPEN_SIGMA, 2.0).or(levels);
    }
    laps.lap(6);
    let radius = (glyph_ocr * 2.0).max(10.0) as u32;
    let ocr_alt = screen
        .is_some()
        .then(|| second_ocr_input(&ocr_gray, radius));
    laps.lap(7);
    normalise_polarity_counted(&mut ocr_gray, radius, screen.is_some(), levels.as_ref());
    laps.lap(8);
    let thumb_scale = (256.0 / long as f32).min(1.0);
    let thumb = image
        .thumbnail(
            ((width as f32 * thumb_scale).round() as u32).max(1),
            ((height as f32 * thumb_scale).round() as u32).max(1),
        )
        .to_rgb8();
    laps.lap(9);
    let ocr_bands = tall::ocr_bands(&ocr_gray);
    let prepared = Prepared {
        ocr_gray,
        ocr_scale: work_scale * extra,
        thumb,
        glyph_height: glyph_work.map(|h| h / work_scale),
        width,
        height,
        screen,
        work_scale,
        ocr_alt,
        ocr_local: photographed.then_some(core),
        ocr_bands,
        ocr_origin,
    };
    (prepared, laps)
}

/// A hash of everything later stages read from `p`.
fn checksum(p: &Prepared) -> String {
    let mut h = blake3::Hasher::new();
    for v in [p.ocr_gray.width(), p.ocr_gray.height()] {
        h.update(&v.to_le_bytes());
    }
    h.update(p.ocr_gray.as_raw());
    h.update(p.thumb.as_raw());
    h.update(&p.ocr_scale.to_le_bytes());
    h.update(&p.glyph_height.unwrap_or(-1.0).to_le_bytes());
    h.update(&[u8::from(p.screen.is_some())]);
    h.update(&p.ocr_origin.0.to_le_bytes());
    h.update(&p.ocr_origin.1.to_le_bytes());
    for v in p.ocr_bands.iter().flatten() {
        h.update(&v.to_le_bytes());
    }
    if let Some((alt, factor)) = &p.ocr_alt {
        h.update(alt.as_raw());
        h.update(&factor.to_le_bytes());
    }
    if let Some(region) = p.ocr_local {
        for v in region {
            h.update(&v.to_le_bytes());
        }
    }
    h.finalize().to_hex()[..16].to_string()
}

fn images(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| ["jpg", "jpeg", "png", "webp"].contains(&e))
        })
        .collect();
    paths.sort();
    Ok(paths)
}

fn main() -> anyhow::Result<()> {
    let dir = std::env::args()
        .nth(1)
        .ok_or_else(|| anyhow::anyhow!("usage: preprocess_timing FOLDER"))?;
    let repeat: usize = std::env::var("REPEAT")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3)
        .max(1);
    let paths = images(Path::new(&dir))?;
    let mut totals = [0.0f64; STEPS.len()];
    let mut counted = 0usize;
    println!("image checksum {}", STEPS.join(" "));
    for path in &paths {
        let decoded = match decode_file(path, &DecodeLimits::default()) {
            Ok(d) => d,
            Err(e) => {
                eprintln!("{}: {e}", path.display());
                continue;
            }
        };
        let image = &decoded.image;
        let gray = luma8(image);
        let mut best = [f64::INFINITY; STEPS.len()];
        let mut sum = String::new();
        for _ in 0..repeat {
            let (timed, laps) = prepare_timed(gray.clone(), image, SCAN_GLYPH_HEIGHT);
            let copy = gray.clone();
            let start = cpu_ms();
            let prepared = prepare_gray(copy, image, SCAN_GLYPH_HEIGHT);
            let whole = cpu_ms() - start;
            sum = checksum(&prepared);
            anyhow::ensure!(
                checksum(&timed) == sum,
                "{}: the timed copy differs from prepare_gray",
                path.display()
            );
            let (steps, whole_best) = best.split_at_mut(STEPS.len() - 1);
            for (b, &t) in steps.iter_mut().zip(laps.ms.iter()) {
                *b = b.min(t);
            }
            whole_best[0] = whole_best[0].min(whole);
        }
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("?");
        let cols: Vec<String> = best.iter().map(|t| format!("{t:.2}")).collect();
        println!("{name} {sum} {}", cols.join(" "));
        for (t, b) in totals.iter_mut().zip(best) {
            *t += b;
        }
        counted += 1;
    }
    println!("mean ms over {counted} images (least of {repeat} runs each):");
    for (step, t) in STEPS.iter().zip(totals) {
        println!("  {step:<13} {:7.2}", t / counted.max(1) as f64);
    }
    Ok(())
}
