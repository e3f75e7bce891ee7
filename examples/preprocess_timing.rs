//! Development aid: where preprocessing spends its time. For each image in a folder, times
//! each step of `prepare_gray` (CPU time of this process, the least of `REPEAT` runs,
//! default 3: the machine is shared, so wall-clock time is noisy) through
//! `prepare_observed`, the scan's own code path, and prints a checksum of what OCR and the
//! fingerprint get, to show that a speed-up changes nothing.
//! `cargo run --release --example preprocess_timing -- [FOLDER]`

use leakshot::decode::{decode_file, DecodeLimits};
use leakshot::preprocess::{luma8, prepare_observed, Prepared, Step, SCAN_GLYPH_HEIGHT};
use std::path::{Path, PathBuf};

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

/// One run of `prepare_observed` on `gray`: what it made, the milliseconds each step took
/// (in [`Step::ALL`]'s order) and the whole run's.
fn prepare_timed(
    gray: image::GrayImage,
    image: &image::DynamicImage,
) -> (Prepared, [f64; Step::ALL.len()], f64) {
    let mut ms = [0.0; Step::ALL.len()];
    let start = cpu_ms();
    let mut last = start;
    let prepared = prepare_observed(gray, image, SCAN_GLYPH_HEIGHT, &mut |step| {
        let now = cpu_ms();
        if let Some(i) = Step::ALL.iter().position(|&s| s == step) {
            ms[i] += now - last;
        }
        last = now;
    });
    (prepared, ms, cpu_ms() - start)
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
    let names: Vec<String> = Step::ALL
        .iter()
        .map(|s| format!("{s:?}"))
        .chain(["prepare_gray".to_string()])
        .collect();
    let mut totals = [0.0f64; Step::ALL.len() + 1];
    let mut counted = 0usize;
    println!("image checksum {}", names.join(" "));
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
        let mut best = [f64::INFINITY; Step::ALL.len() + 1];
        let mut sum = String::new();
        for run in 0..repeat {
            let (prepared, steps, whole) = prepare_timed(gray.clone(), image);
            let this = checksum(&prepared);
            anyhow::ensure!(
                run == 0 || this == sum,
                "{}: preprocessing gave another result on run {run}",
                path.display()
            );
            sum = this;
            for (b, t) in best.iter_mut().zip(steps.into_iter().chain([whole])) {
                *b = b.min(t);
            }
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
    for (step, t) in names.iter().zip(totals) {
        println!("  {step:<13} {:7.2}", t / counted.max(1) as f64);
    }
    Ok(())
}
