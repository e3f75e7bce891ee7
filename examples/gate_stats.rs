//! Development aid: what the pre-OCR gate (`leakshot::gate`) measures on a labelled corpus,
//! per kind, and which images it stops. No OCR: runs in seconds.
//! `cargo run --release --example gate_stats -- CORPUS_DIR`

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use leakshot::decode::{decode_file, DecodeLimits};
use leakshot::gate;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let corpus = Path::new(
        args.get(1)
            .ok_or_else(|| anyhow::anyhow!("usage: gate_stats CORPUS_DIR"))?,
    );
    let labels = std::fs::read_to_string(corpus.join("labels.jsonl"))?;
    // kind -> (whole-image text-shape counts, images stopped)
    let mut by_kind: BTreeMap<String, (Vec<usize>, Vec<String>)> = BTreeMap::new();
    let (mut checking, mut converting) = (Duration::ZERO, Duration::ZERO);
    let (mut screens, mut images) = (0, 0);
    for line in labels.lines().filter(|l| !l.trim().is_empty()) {
        let label: serde_json::Value = serde_json::from_str(line)?;
        let file = label["file"].as_str().unwrap_or_default().to_string();
        let kind = label["kind"].as_str().unwrap_or("(none)").to_string();
        let decoded = match decode_file(&corpus.join(&file), &DecodeLimits::default()) {
            Ok(d) => d,
            Err(e) => {
                eprintln!("{file}: {e}");
                continue;
            }
        };
        // As a scan does: the grey copy (shared there with preprocessing), then the gate.
        let t = Instant::now();
        let gray = leakshot::preprocess::luma8(&decoded.image);
        converting += t.elapsed();
        let decision = gate::check_gray(&gray);
        checking += t.elapsed();
        if gate::looks_turned(&gray, &decision) {
            println!("sideways: {file} ({kind})");
        }
        drop(gray);
        images += 1;
        let whole = gate::measure(&decoded.image);
        assert_eq!(
            decision.passed, whole.passed,
            "{file}: check and measure disagree"
        );
        screens += usize::from(whole.screen);
        let entry = by_kind.entry(kind).or_default();
        entry.0.push(whole.text_shapes);
        if !whole.passed {
            let transforms = label["transforms"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str())
                        .collect::<Vec<_>>()
                        .join(",")
                })
                .unwrap_or_default();
            entry.1.push(format!(
                "{file}({}/{} {transforms})",
                whole.text_shapes, whole.glyph_shapes
            ));
        }
    }
    let per_image = |d: Duration| d.as_secs_f64() * 1000.0 / images.max(1) as f64;
    println!(
        "gate at {} text shapes; check takes {:.1} ms per image ({:.1} of it the grey copy); {screens} passed as photographed monitors",
        gate::MIN_TEXT_SHAPES,
        per_image(checking),
        per_image(converting)
    );
    println!(
        "{:<16} {:>6} {:>8} {:>6} {:>6} {:>6} {:>6}  stopped (text/glyph shapes, transforms)",
        "kind", "images", "stopped", "min", "p10", "p50", "max"
    );
    for (kind, (mut shapes, stopped)) in by_kind {
        shapes.sort_unstable();
        let p = |q: f64| shapes[((shapes.len() - 1) as f64 * q) as usize];
        println!(
            "{kind:<16} {:>6} {:>8} {:>6} {:>6} {:>6} {:>6}  {}",
            shapes.len(),
            stopped.len(),
            p(0.0),
            p(0.1),
            p(0.5),
            p(1.0),
            stopped.join(" ")
        );
    }
    Ok(())
}
