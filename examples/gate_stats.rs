//! Development aid: what the pre-OCR gate (`leakshot::gate`) measures on a labelled corpus,
//! per kind, and which images it would stop. No OCR: runs in seconds.
//! `cargo run --release --example gate_stats -- CORPUS_DIR [MIN_TEXT_SHAPES]`

use std::collections::BTreeMap;
use std::path::Path;

use leakshot::decode::{decode_file, DecodeLimits};
use leakshot::gate;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let corpus = Path::new(
        args.get(1)
            .ok_or_else(|| anyhow::anyhow!("usage: gate_stats CORPUS_DIR [MIN_TEXT_SHAPES]"))?,
    );
    if let Some(min) = args.get(2) {
        std::env::set_var("GATE_MIN", min);
    }
    let min: usize = match args.get(2) {
        Some(s) => s.parse()?,
        None => gate::MIN_TEXT_SHAPES,
    };
    let labels = std::fs::read_to_string(corpus.join("labels.jsonl"))?;
    // kind -> (text_shapes of each image, file names stopped)
    let mut by_kind: BTreeMap<String, (Vec<usize>, Vec<String>)> = BTreeMap::new();
    let mut millis = 0.0;
    let mut screens = 0;
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
        let t = std::time::Instant::now();
        let g = gate::check(&decoded.image);
        millis += t.elapsed().as_secs_f64() * 1000.0;
        let entry = by_kind.entry(kind).or_default();
        entry.0.push(g.text_shapes);
        if g.screen {
            screens += 1;
        }
        if !g.passed {
            let tr = label["transforms"].as_array().map(|a| a.iter().filter_map(|v| v.as_str()).collect::<Vec<_>>().join(",")).unwrap_or_default();
            entry.1.push(format!("{file}({}/{} {tr})", g.text_shapes, g.glyph_shapes));
        }
    }
    let n: usize = by_kind.values().map(|v| v.0.len()).sum();
    println!("gate at {min} text shapes; {:.1} ms per image; {screens} passed as screen photos", millis / n.max(1) as f64);
    println!("{:<16} {:>6} {:>8} {:>6} {:>6} {:>6} {:>6}", "kind", "images", "stopped", "min", "p10", "p50", "max");
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
