//! Development aid: every template's match features for every image a scan cache knows,
//! one JSON line per (image, template): for studying a feature before it enters the model.
//! `cargo run --release --example feature_dump -- MODELS CACHE.db IMAGE...`

use leakshot::cache::Cache;
use leakshot::matcher::{match_template, IndexedTemplate};
use leakshot::template::Models;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let (Some(models), Some(cache)) = (args.get(1), args.get(2)) else {
        anyhow::bail!("usage: feature_dump MODELS CACHE.db IMAGE...");
    };
    let models = Models::load(std::path::Path::new(models))?;
    let templates: Vec<IndexedTemplate> = models
        .templates
        .into_iter()
        .map(IndexedTemplate::new)
        .collect();
    let cache = Cache::open(std::path::Path::new(cache))?;
    for path in &args[3..] {
        let bytes = std::fs::read(path)?;
        let hash: [u8; 32] = blake3::hash(&bytes).into();
        let Some(fp) = cache
            .get(&hash)?
            .and_then(|e| e.fingerprint)
            .and_then(|f| f.restore())
        else {
            continue;
        };
        for tpl in &templates {
            let m = match_template(&fp, tpl);
            let line = serde_json::json!({
                "path": path,
                "template": tpl.template.name,
                "screen": fp.screen.is_some(),
                "features": m.features,
            });
            println!("{line}");
        }
    }
    Ok(())
}
