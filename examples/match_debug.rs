//! Development aid: why an image did or did not match one template. Prints the image's
//! tokens that match the template's vocabulary (with where the reference has them), and
//! the match's features and inliers.
//! `cargo run --release --example match_debug -- TEMPLATE.json IMAGE`

use leakshot::decode::{decode_file, DecodeLimits};
use leakshot::fingerprint::fingerprint;
use leakshot::matcher::{match_template, IndexedTemplate};
use leakshot::ocr::OcrEngine;
use leakshot::preprocess::{prepare, SCAN_GLYPH_HEIGHT};
use leakshot::template::Template;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let (Some(tpl_path), Some(image_path)) = (args.get(1), args.get(2)) else {
        anyhow::bail!("usage: match_debug TEMPLATE.json IMAGE");
    };
    let tpl = IndexedTemplate::new(Template::load(std::path::Path::new(tpl_path))?);
    let decoded = decode_file(std::path::Path::new(image_path), &DecodeLimits::default())?;
    let prepared = prepare(&decoded.image, SCAN_GLYPH_HEIGHT);
    let words = OcrEngine::new()?.read_all(prepared.ocr_inputs())?;
    let fp = fingerprint(&prepared, &words);
    let m = match_template(&fp, &tpl);
    let vocab = &tpl.template.vocabulary;
    println!(
        "image {}x{}, {} tokens",
        fp.width,
        fp.height,
        fp.tokens.len()
    );
    for &(i, e) in &m.matched {
        let t = &fp.tokens[i];
        let v = &vocab[e];
        let refs: Vec<String> = tpl
            .template
            .references
            .iter()
            .map(|r| {
                r.tokens
                    .iter()
                    .filter(|rt| rt.text == v.token)
                    .map(|rt| format!("({:.0},{:.0} h{:.0})", rt.x, rt.y, rt.h))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        let inlier = m.inliers.iter().any(|k| k.image_token == i);
        println!(
            "{:>14} -> {:<14} w{:.2}{}{}{} at ({:.0},{:.0} h{:.0}){} refs {}",
            t.text,
            v.token,
            v.weight,
            if v.chrome { " chrome" } else { "" },
            if v.org { " org" } else { "" },
            if t.faint { " faint" } else { "" },
            t.x,
            t.y,
            t.h,
            if inlier { " INLIER" } else { "" },
            refs.join(" | ")
        );
    }
    println!("{:?}", m.features);
    println!("reference {} transform {:?}", m.reference, m.transform);
    Ok(())
}
