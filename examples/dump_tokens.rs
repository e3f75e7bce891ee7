//! Development aid: one JSON line per image with every token leakshot reads (after its
//! preprocessing and OCR), for studying which words separate leaks from look-alikes.
//! `cargo run --release --example dump_tokens -- IMAGE... > tokens.jsonl`

use leakshot::decode::{decode_file, DecodeLimits};
use leakshot::fingerprint::fingerprint;
use leakshot::ocr::OcrEngine;
use leakshot::preprocess::{prepare, SCAN_GLYPH_HEIGHT};

fn main() -> anyhow::Result<()> {
    let mut engine = OcrEngine::new()?;
    let limits = DecodeLimits::default();
    for path in std::env::args().skip(1) {
        let Ok(decoded) = decode_file(std::path::Path::new(&path), &limits) else {
            continue;
        };
        let prepared = prepare(&decoded.image, SCAN_GLYPH_HEIGHT);
        let words = engine.read_all(prepared.ocr_inputs())?;
        let fp = fingerprint(&prepared, &words);
        let tokens: Vec<serde_json::Value> = fp
            .tokens
            .iter()
            .map(|t| serde_json::json!([t.text, t.x, t.y, t.w, t.h]))
            .collect();
        let raw: Vec<&str> = words.iter().map(|w| w.text.as_str()).collect();
        println!(
            "{}",
            serde_json::json!({"path": path, "width": fp.width, "height": fp.height,
                               "tokens": tokens, "raw": raw})
        );
    }
    Ok(())
}
