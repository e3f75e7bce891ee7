//! Fingerprint cache (`--cache FILE`): what OCR made of an image, kept by content hash in
//! an embedded database (redb), so a repeat scan of the same bytes skips decoding,
//! preprocessing and OCR.
//!
//! The cache holds the image's *fingerprint* (tokens with boxes, colour palette, the
//! rectified screen's mapping), or the gate's decision, never a verdict: a cached image is
//! judged again against the current models, so a newly enrolled template or a refitted
//! calibration takes effect without new OCR.
//!
//! Entries are only valid for the pipeline that made them. The database records a version
//! string: the cache format, a digest of the source of every stage that shapes a
//! fingerprint (decode, gate, preprocess, OCR settings, fingerprint) and of `Cargo.lock`
//! (the image and OCR libraries), and the Tesseract library's version. When it differs,
//! every entry is dropped on opening.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use image::{GrayImage, RgbImage};
use imageproc::geometric_transformations::Projection;
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};

use crate::error::CacheError;
use crate::fingerprint::layout::{Look, Palette};
use crate::fingerprint::{fingerprint, ImageFingerprint, Token};
use crate::gate::GateEvidence;
use crate::preprocess::{Prepared, Screen};
use crate::report::ImageInfo;

/// Bump when the stored layout changes.
const CACHE_FORMAT: u32 = 1;

const ENTRIES: TableDefinition<&[u8], &[u8]> = TableDefinition::new("fingerprints");
const META: TableDefinition<&str, &str> = TableDefinition::new("meta");

/// Identifies the pipeline whose fingerprints a cache holds (see the module docs).
pub fn pipeline_version() -> &'static str {
    static VERSION: OnceLock<String> = OnceLock::new();
    VERSION.get_or_init(|| {
        let mut h = blake3::Hasher::new();
        for source in [
            include_str!("decode.rs"),
            include_str!("gate.rs"),
            include_str!("preprocess/mod.rs"),
            include_str!("preprocess/content.rs"),
            include_str!("preprocess/contrast.rs"),
            include_str!("preprocess/glyph.rs"),
            include_str!("preprocess/gray.rs"),
            include_str!("preprocess/polarity.rs"),
            include_str!("preprocess/screen.rs"),
            include_str!("preprocess/tall.rs"),
            include_str!("ocr.rs"),
            include_str!("fingerprint/mod.rs"),
            include_str!("fingerprint/layout.rs"),
            include_str!("cache.rs"),
            include_str!("../Cargo.lock"),
        ] {
            h.update(&(source.len() as u64).to_le_bytes());
            h.update(source.as_bytes());
        }
        let digest = h.finalize().to_hex();
        format!(
            "format {CACHE_FORMAT}; pipeline {}; tesseract {}",
            &digest[..16],
            tesseract::plumbing::version().to_string_lossy()
        )
    })
}

/// What a scan learnt about one image's bytes before judging it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CachedImage {
    pub image: ImageInfo,
    /// The gate's measurement (null when the image was scanned with the gate off).
    pub gate: Option<GateEvidence>,
    /// The fingerprint; `None` when the gate decided without OCR.
    pub fingerprint: Option<StoredFingerprint>,
}

/// An [`ImageFingerprint`] in storable form.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredFingerprint {
    pub width: u32,
    pub height: u32,
    pub tokens: Vec<Token>,
    pub palette: Palette,
    #[serde(default)]
    pub look: Look,
    pub screen: Option<StoredScreen>,
}

/// A rectified screen: enough to rebuild the mapping from its pixels to the image's.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredScreen {
    /// Corners of the bright part, in working pixels.
    pub corners: [(f32, f32); 4],
    /// Where the rectified image's corners (0,0), (w,0), (w,h), (0,h) land in working
    /// pixels: four point pairs fix the projection.
    pub corners_to: [(f32, f32); 4],
    pub width: u32,
    pub height: u32,
    pub core: [u32; 4],
    pub work_scale: f32,
    /// The whole image's size (token space is the screen's).
    pub image_size: (u32, u32),
}

impl StoredFingerprint {
    /// Captures `fp`, made from `prepared`.
    pub fn capture(prepared: &Prepared, fp: &ImageFingerprint) -> StoredFingerprint {
        StoredFingerprint {
            width: fp.width,
            height: fp.height,
            tokens: fp.tokens.clone(),
            palette: fp.palette.clone(),
            look: fp.look.clone(),
            screen: prepared.screen.map(|s| StoredScreen {
                corners: s.corners,
                corners_to: rect_corners(s.width, s.height).map(|p| s.to_image * p),
                width: s.width,
                height: s.height,
                core: s.core,
                work_scale: prepared.work_scale,
                image_size: (prepared.width, prepared.height),
            }),
        }
    }

    /// The fingerprint again; `None` when the stored screen mapping is degenerate.
    pub fn restore(self) -> Option<ImageFingerprint> {
        let image_size = self
            .screen
            .as_ref()
            .map_or((self.width, self.height), |s| s.image_size);
        let (screen, work_scale) = match &self.screen {
            Some(s) => {
                let to_image =
                    Projection::from_control_points(rect_corners(s.width, s.height), s.corners_to)?;
                let screen = Screen {
                    corners: s.corners,
                    to_image,
                    width: s.width,
                    height: s.height,
                    core: s.core,
                };
                (Some(screen), s.work_scale)
            }
            None => (None, 1.0),
        };
        // `ImageFingerprint`'s screen mapping is built by `fingerprint` alone: give it a
        // stand-in for the prepared image that carries the screen, then put the rest back.
        let stand_in = Prepared {
            ocr_gray: GrayImage::new(1, 1),
            ocr_scale: 1.0,
            thumb: RgbImage::new(1, 1),
            glyph_height: None,
            width: image_size.0,
            height: image_size.1,
            screen,
            work_scale,
            ocr_alt: None,
            ocr_local: None,
            ocr_bands: Vec::new(),
            ocr_origin: (0.0, 0.0),
        };
        let mut fp = fingerprint(&stand_in, &[]);
        fp.width = self.width;
        fp.height = self.height;
        fp.tokens = self.tokens;
        fp.palette = self.palette;
        fp.look = self.look;
        Some(fp)
    }
}

fn rect_corners(w: u32, h: u32) -> [(f32, f32); 4] {
    let (w, h) = (w as f32, h as f32);
    [(0.0, 0.0), (w, 0.0), (w, h), (0.0, h)]
}

/// An open cache database.
pub struct Cache {
    db: Database,
    path: PathBuf,
    /// The version of the entries dropped on opening (another pipeline's), if any.
    pub invalidated: Option<String>,
}

impl Cache {
    /// Opens (or creates) the cache at `path`, dropping its entries if another pipeline
    /// version made them.
    pub fn open(path: &Path) -> Result<Cache, CacheError> {
        let db = Database::create(path).map_err(|e| CacheError::Open {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        let mut cache = Cache {
            db,
            path: path.to_path_buf(),
            invalidated: None,
        };
        cache.check_version()?;
        Ok(cache)
    }

    fn err(&self, e: impl std::fmt::Display) -> CacheError {
        CacheError::Access {
            path: self.path.clone(),
            message: e.to_string(),
        }
    }

    fn check_version(&mut self) -> Result<(), CacheError> {
        let current = pipeline_version();
        let txn = self.db.begin_write().map_err(|e| self.err(e))?;
        let stored = {
            let meta = txn.open_table(META).map_err(|e| self.err(e))?;
            let stored = meta
                .get("version")
                .map_err(|e| self.err(e))?
                .map(|v| v.value().to_string());
            stored
        };
        if stored.as_deref() != Some(current) {
            txn.delete_table(ENTRIES).map_err(|e| self.err(e))?;
            let mut meta = txn.open_table(META).map_err(|e| self.err(e))?;
            meta.insert("version", current).map_err(|e| self.err(e))?;
            // A fresh cache has nothing to invalidate.
            self.invalidated = stored;
        }
        txn.open_table(ENTRIES).map_err(|e| self.err(e))?;
        txn.commit().map_err(|e| self.err(e))
    }

    /// The entry for content hash `hash`; `Ok(None)` when there is none or it cannot be
    /// read back (it is then simply made again).
    pub fn get(&self, hash: &[u8; 32]) -> Result<Option<CachedImage>, CacheError> {
        let txn = self.db.begin_read().map_err(|e| self.err(e))?;
        let table = txn.open_table(ENTRIES).map_err(|e| self.err(e))?;
        let Some(bytes) = table.get(hash.as_slice()).map_err(|e| self.err(e))? else {
            return Ok(None);
        };
        Ok(serde_json::from_slice(bytes.value()).ok())
    }

    /// Stores the entry for `hash` (durably: committed before it returns).
    pub fn put(&self, hash: &[u8; 32], entry: &CachedImage) -> Result<(), CacheError> {
        let bytes = serde_json::to_vec(entry).map_err(|e| self.err(e))?;
        let txn = self.db.begin_write().map_err(|e| self.err(e))?;
        {
            let mut table = txn.open_table(ENTRIES).map_err(|e| self.err(e))?;
            table
                .insert(hash.as_slice(), bytes.as_slice())
                .map_err(|e| self.err(e))?;
        }
        txn.commit().map_err(|e| self.err(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("leakshot-cache-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn entry() -> CachedImage {
        CachedImage {
            image: ImageInfo {
                width: 100,
                height: 80,
                format: "png".into(),
                bytes: 1234,
                frame: None,
                truncated: false,
                turned: None,
            },
            gate: None,
            fingerprint: Some(StoredFingerprint {
                width: 100,
                height: 80,
                tokens: vec![Token {
                    text: "fernhill".into(),
                    x: 1.0,
                    y: 2.0,
                    w: 30.0,
                    h: 8.0,
                    faint: false,
                }],
                palette: Palette::default(),
                look: Default::default(),
                screen: None,
            }),
        }
    }

    #[test]
    fn stores_and_drops_entries_of_another_pipeline() {
        let dir = tmp("version");
        let path = dir.join("c.redb");
        let cache = Cache::open(&path).unwrap();
        assert!(
            cache.invalidated.is_none(),
            "a new cache invalidates nothing"
        );
        cache.put(&[3; 32], &entry()).unwrap();
        assert!(cache.get(&[4; 32]).unwrap().is_none());
        drop(cache);

        let cache = Cache::open(&path).unwrap();
        let back = cache.get(&[3; 32]).unwrap().expect("kept across opens");
        let fp = back.fingerprint.unwrap().restore().unwrap();
        assert_eq!(fp.tokens[0].text, "fernhill");
        assert_eq!((fp.width, fp.height), (100, 80));
        // Pretend another pipeline wrote it.
        let txn = cache.db.begin_write().unwrap();
        txn.open_table(META)
            .unwrap()
            .insert("version", "format 0")
            .unwrap();
        txn.commit().unwrap();
        drop(cache);

        let cache = Cache::open(&path).unwrap();
        assert_eq!(cache.invalidated.as_deref(), Some("format 0"));
        assert!(cache.get(&[3; 32]).unwrap().is_none(), "entries dropped");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_file_that_is_not_a_cache_is_refused_and_left_alone() {
        let dir = tmp("foreign");
        let path = dir.join("records.jsonl");
        let text = "{\"path\":\"a.png\"}\n";
        std::fs::write(&path, text).unwrap();
        assert!(matches!(Cache::open(&path), Err(CacheError::Open { .. })));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_rectified_screen_maps_boxes_back_the_same() {
        let corners = [
            (150.0, 120.0),
            (660.0, 90.0),
            (690.0, 480.0),
            (120.0, 500.0),
        ];
        let (w, h) = (700u32, 500u32);
        let to_image =
            Projection::from_control_points(rect_corners(w, h), corners).expect("projection");
        let prepared = Prepared {
            ocr_gray: GrayImage::new(1, 1),
            ocr_scale: 2.0,
            thumb: RgbImage::new(1, 1),
            glyph_height: None,
            width: 1600,
            height: 1000,
            screen: Some(Screen {
                corners,
                to_image,
                width: w,
                height: h,
                core: [10, 10, 600, 400],
            }),
            work_scale: 0.5,
            ocr_alt: None,
            ocr_local: None,
            ocr_bands: Vec::new(),
            ocr_origin: (0.0, 0.0),
        };
        let mut original = fingerprint(&prepared, &[]);
        original.tokens = entry().fingerprint.unwrap().tokens;
        let stored = StoredFingerprint::capture(&prepared, &original);
        let json = serde_json::to_vec(&stored).unwrap();
        let restored: StoredFingerprint = serde_json::from_slice(&json).unwrap();
        let restored = restored.restore().unwrap();
        let (a, b) = (
            original.image_box(&original.tokens[0]),
            restored.image_box(&restored.tokens[0]),
        );
        for (x, y) in a.iter().zip(b) {
            assert!((x - y).abs() < 0.05, "{a:?} vs {b:?}");
        }
        assert_eq!(
            original.screen.map(|s| s.corners),
            restored.screen.map(|s| s.corners)
        );
    }
}
