//! Development aid: print what OCR reads in an image after leakshot's preprocessing, and
//! optionally save the preprocessed OCR input.
//! `cargo run --release --example ocr_words -- IMAGE [OUT.png]`; `GLYPH=N` in the environment
//! sets another glyph target (pixels) than the scan's, to study OCR scale.

use leakshot::decode::{decode_file, DecodeLimits};
use leakshot::fingerprint::fingerprint;
use leakshot::ocr::OcrEngine;
use leakshot::preprocess::{prepare, SCAN_GLYPH_HEIGHT};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let path = args
        .get(1)
        .ok_or_else(|| anyhow::anyhow!("usage: ocr_words IMAGE [OUT.png]"))?;
    let decoded = decode_file(std::path::Path::new(path), &DecodeLimits::default())?;
    let glyph = std::env::var("GLYPH")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(SCAN_GLYPH_HEIGHT);
    let prepared = prepare(&decoded.image, glyph);
    println!(
        "glyph height {:?}, OCR scale {:.2}, OCR size {:?}",
        prepared.glyph_height,
        prepared.ocr_scale,
        prepared.ocr_gray.dimensions()
    );
    if let Some(out) = args.get(2) {
        prepared.ocr_gray.save(out)?;
    }
    let words = OcrEngine::new()?.read_all(prepared.ocr_inputs())?;
    let fp = fingerprint(&prepared, &words);
    let texts: Vec<&str> = fp.tokens.iter().map(|t| t.text.as_str()).collect();
    println!("{} tokens: {}", texts.len(), texts.join(" "));
    Ok(())
}
