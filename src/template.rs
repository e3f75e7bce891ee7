//! Templates: the enrolled fingerprint of one internal system, one versioned JSON file per
//! system in the models folder, plus the calibration that turns match features into a
//! confidence (`calibration.json`).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::ModelError;
use crate::fingerprint::layout::{Look, Palette};
use crate::fingerprint::Token;

/// Version of the template file format this build reads and writes.
pub const TEMPLATE_FORMAT_VERSION: u32 = 1;
/// Version of the calibration file format.
pub const CALIBRATION_FORMAT_VERSION: u32 = 1;
/// File name of the calibration in the models folder.
pub const CALIBRATION_FILE: &str = "calibration.json";
/// Suffix of template files.
pub const TEMPLATE_SUFFIX: &str = ".template.json";

/// One enrolled screenshot.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Reference {
    /// File name it was enrolled from (for people; not used in matching).
    pub source: String,
    pub width: u32,
    pub height: u32,
    /// Every token read, with its box in this reference's pixels.
    pub tokens: Vec<Token>,
    /// Colour fingerprint of the chrome.
    pub palette: Palette,
    /// Small colour picture of the reference (absent in templates enrolled before it).
    #[serde(default)]
    pub look: Look,
}

/// A token of the system's vocabulary with what it is worth as evidence.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VocabEntry {
    pub token: String,
    /// Evidence weight: distinctiveness, raised for chrome.
    pub weight: f32,
    /// In how many references it appears: 0 for a word of the system's name that no
    /// reference shows (it still names the organisation).
    pub pages: u32,
    /// On every reference (when there are two or more): part of the system's chrome.
    pub chrome: bool,
    /// Names the organisation or system (brand, user badge, system name), not the UI kit.
    pub org: bool,
    /// Part of a protective marking.
    pub marking: bool,
    /// Shown on the organisation's public material too (`enroll --public`): it weighs
    /// nothing as evidence of the internal system (an organisation word still tells whose
    /// screen it is).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub public: bool,
}

/// The template file: everything needed to recognise one system.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Template {
    /// Always "leakshot-template".
    pub format: String,
    pub version: u32,
    /// System name given at enrollment.
    pub name: String,
    /// leakshot version that wrote it.
    pub created_by: String,
    pub references: Vec<Reference>,
    /// Vocabulary, sorted by token.
    pub vocabulary: Vec<VocabEntry>,
    /// Public pages of the organisation registered with `enroll --public` (file names).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub public_sources: Vec<String>,
}

/// Logistic model from match features to confidence, and the verdict thresholds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Calibration {
    pub format: String,
    pub version: u32,
    /// Feature names, in the order of `weights`.
    pub features: Vec<String>,
    pub weights: Vec<f64>,
    pub bias: f64,
    /// A second model ranking matches that show no organisation evidence, fitted on those
    /// alone (where a look-alike's shared demo content and the system's own crops compete,
    /// the chrome and colours weigh more than the words). Absent: `weights` rank them too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ownerless: Option<LinearModel>,
    /// `confidence >= leak_threshold` with organisation evidence gives `leak`.
    pub leak_threshold: f64,
    /// `confidence >= review_threshold` gives at least `review`.
    pub review_threshold: f64,
    /// How the numbers were obtained (command, data, cross-validation result).
    #[serde(default)]
    pub provenance: String,
}

/// Largest reference screenshot side a template may claim (enrollment decodes under the
/// 16,384 px decoder limit; this leaves room without admitting absurd values).
const MAX_REFERENCE_SIDE: u32 = 100_000;
/// Largest vocabulary weight accepted; enrollment writes at most ~2.
const MAX_WORD_WEIGHT: f32 = 100.0;
/// Largest magnitude of a calibration weight or bias; fitted ones are below ~10.
const MAX_MODEL_WEIGHT: f64 = 1000.0;

/// A token box with finite coordinates, a non-negative size, and nothing astronomically far.
fn plausible_box(t: &Token) -> bool {
    let limit = 10.0 * MAX_REFERENCE_SIDE as f32;
    [t.x, t.y, t.w, t.h].iter().all(|v| v.abs() <= limit) && t.w >= 0.0 && t.h >= 0.0
}

/// Weights and bias of a logistic model over the features named in `Calibration::features`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LinearModel {
    pub weights: Vec<f64>,
    pub bias: f64,
}

/// Everything loaded from a models folder.
pub struct Models {
    pub templates: Vec<Template>,
    pub calibration: Calibration,
    /// Folder they came from.
    pub dir: PathBuf,
}

fn parse_error(path: &Path, e: impl ToString) -> ModelError {
    ModelError::Parse {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

/// Reads a JSON model file; see [`parse_versioned`].
fn read_versioned<T: serde::de::DeserializeOwned>(
    path: &Path,
    format: &str,
    supported: u32,
) -> Result<T, ModelError> {
    let bytes = std::fs::read(path).map_err(|source| ModelError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse_versioned(&bytes, path, format, supported)
}

/// Parses a JSON model, checking its `format` and `version` before the rest, so a newer
/// file gives a clear "upgrade" error rather than a confusing field error. `origin` names
/// the file in errors.
fn parse_versioned<T: serde::de::DeserializeOwned>(
    bytes: &[u8],
    origin: &Path,
    format: &str,
    supported: u32,
) -> Result<T, ModelError> {
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| parse_error(origin, e))?;
    let found_format = value.get("format").and_then(|v| v.as_str()).unwrap_or("");
    if found_format != format {
        return Err(parse_error(origin, format!("expected format {format:?}")));
    }
    let version = value
        .get("version")
        .and_then(|v| v.as_u64())
        .ok_or_else(|| parse_error(origin, "missing version"))?;
    if version > u64::from(supported) {
        return Err(ModelError::Version {
            path: origin.to_path_buf(),
            // Saturated: a version past u32 is still "newer", never wrapped to an old one.
            found: u32::try_from(version).unwrap_or(u32::MAX),
            supported,
        });
    }
    serde_json::from_value(value).map_err(|e| parse_error(origin, e))
}

impl Template {
    pub fn load(path: &Path) -> Result<Template, ModelError> {
        let t: Template = read_versioned(path, "leakshot-template", TEMPLATE_FORMAT_VERSION)?;
        t.validated(path)
    }

    /// Parses a template file's contents; `origin` names it in errors. Fuzzing enters here.
    pub fn from_json_bytes(bytes: &[u8], origin: &Path) -> Result<Template, ModelError> {
        let t: Template =
            parse_versioned(bytes, origin, "leakshot-template", TEMPLATE_FORMAT_VERSION)?;
        t.validated(origin)
    }

    /// Refuses values enrollment never writes and matching cannot use: a corrupt or
    /// hand-edited file must fail here, naming itself, not turn into NaN confidences
    /// (written as `null`) or verdicts on every image.
    fn validated(self, origin: &Path) -> Result<Template, ModelError> {
        let bad = |what: String| Err(parse_error(origin, what));
        if self.references.is_empty() {
            return bad("template has no references".into());
        }
        for r in &self.references {
            if !(1..=MAX_REFERENCE_SIDE).contains(&r.width)
                || !(1..=MAX_REFERENCE_SIDE).contains(&r.height)
            {
                return bad(format!(
                    "reference {:?} has size {}x{}",
                    r.source, r.width, r.height
                ));
            }
            if let Some(t) = r.tokens.iter().find(|t| !plausible_box(t)) {
                return bad(format!(
                    "reference {:?}: token {:?} has an impossible box",
                    r.source, t.text
                ));
            }
        }
        if let Some(e) = self
            .vocabulary
            .iter()
            .find(|e| !(0.0..=MAX_WORD_WEIGHT).contains(&e.weight))
        {
            return bad(format!(
                "vocabulary word {:?} has weight {} (outside 0..={MAX_WORD_WEIGHT})",
                e.token, e.weight
            ));
        }
        Ok(self)
    }

    /// Writes atomically (temp file + rename): a crash never leaves half a template.
    pub fn save(&self, dir: &Path) -> Result<PathBuf, ModelError> {
        let path = template_path(dir, &self.name)?;
        write_atomic(
            &path,
            &serde_json::to_vec_pretty(self).map_err(|e| parse_error(&path, e))?,
        )?;
        Ok(path)
    }
}

impl Calibration {
    pub fn load(path: &Path) -> Result<Calibration, ModelError> {
        let c: Calibration =
            read_versioned(path, "leakshot-calibration", CALIBRATION_FORMAT_VERSION)?;
        c.validated(path)
    }

    /// Parses a calibration file's contents; `origin` names it in errors.
    pub fn from_json_bytes(bytes: &[u8], origin: &Path) -> Result<Calibration, ModelError> {
        let c: Calibration = parse_versioned(
            bytes,
            origin,
            "leakshot-calibration",
            CALIBRATION_FORMAT_VERSION,
        )?;
        c.validated(origin)
    }

    /// Refuses what would make every verdict meaningless: thresholds outside [0, 1] (a
    /// negative leak threshold calls every image with an organisation word a leak) and
    /// weights so large that their sum overflows to a NaN confidence.
    fn validated(self, origin: &Path) -> Result<Calibration, ModelError> {
        let bad = |what: String| Err(parse_error(origin, what));
        let ownerless_len = self
            .ownerless
            .as_ref()
            .map_or(self.features.len(), |m| m.weights.len());
        if self.weights.len() != self.features.len() || ownerless_len != self.features.len() {
            return bad("weights and features differ in length".into());
        }
        // Weights apply by position: a calibration fitted before a feature was added lists
        // the features of its time (a prefix), and the newer ones weigh nothing.
        let known = crate::score::FEATURE_NAMES;
        if self.features.len() > known.len() || self.features.iter().zip(known).any(|(f, k)| f != k)
        {
            return bad(format!(
                "features {:?} are not this version's ({known:?}) or a prefix of them",
                self.features
            ));
        }
        for (name, t) in [
            ("leak_threshold", self.leak_threshold),
            ("review_threshold", self.review_threshold),
        ] {
            if !(0.0..=1.0).contains(&t) {
                return bad(format!("{name} is {t}, outside [0, 1]"));
            }
        }
        let ownerless = self
            .ownerless
            .iter()
            .flat_map(|m| m.weights.iter().chain([&m.bias]));
        if let Some(w) = self
            .weights
            .iter()
            .chain([&self.bias])
            .chain(ownerless)
            .find(|w| !(-MAX_MODEL_WEIGHT..=MAX_MODEL_WEIGHT).contains(*w))
        {
            return bad(format!(
                "weight or bias {w} is outside -{MAX_MODEL_WEIGHT}..={MAX_MODEL_WEIGHT}"
            ));
        }
        Ok(self)
    }

    pub fn save(&self, dir: &Path) -> Result<PathBuf, ModelError> {
        let path = dir.join(CALIBRATION_FILE);
        write_atomic(
            &path,
            &serde_json::to_vec_pretty(self).map_err(|e| parse_error(&path, e))?,
        )?;
        Ok(path)
    }
}

/// Path of template `name` in `dir`, refusing names that could escape the folder.
pub fn template_path(dir: &Path, name: &str) -> Result<PathBuf, ModelError> {
    let ok = !name.is_empty()
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !ok {
        return Err(ModelError::BadName(name.to_string()));
    }
    Ok(dir.join(format!("{name}{TEMPLATE_SUFFIX}")))
}

/// Writes `bytes` to `path` through a temporary file in the same folder and a rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ModelError> {
    use std::io::Write;
    let err = |source| ModelError::Write {
        path: path.to_path_buf(),
        source,
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(err)?;
    let tmp = dir.join(format!(
        ".{}.tmp{}",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("model"),
        std::process::id()
    ));
    let mut f = std::fs::File::create(&tmp).map_err(err)?;
    f.write_all(bytes).map_err(err)?;
    f.sync_all().map_err(err)?;
    std::fs::rename(&tmp, path).map_err(err)
}

impl Models {
    /// Loads every `*.template.json` (sorted by name) and `calibration.json` from `dir`.
    pub fn load(dir: &Path) -> Result<Models, ModelError> {
        let read_dir = std::fs::read_dir(dir).map_err(|source| ModelError::ReadDir {
            path: dir.to_path_buf(),
            source,
        })?;
        let mut paths: Vec<PathBuf> = read_dir
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.ends_with(TEMPLATE_SUFFIX) && !n.starts_with('.'))
            })
            .collect();
        paths.sort();
        let templates = paths
            .iter()
            .map(|p| Template::load(p))
            .collect::<Result<Vec<_>, _>>()?;
        if templates.is_empty() {
            return Err(ModelError::Empty(dir.to_path_buf()));
        }
        let cal_path = dir.join(CALIBRATION_FILE);
        let calibration = if cal_path.exists() {
            Calibration::load(&cal_path)?
        } else {
            crate::score::default_calibration()
        };
        Ok(Models {
            templates,
            calibration,
            dir: dir.to_path_buf(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmpdir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("leakshot-tpl-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn template() -> Template {
        Template {
            format: "leakshot-template".into(),
            version: TEMPLATE_FORMAT_VERSION,
            name: "sys".into(),
            created_by: "test".into(),
            references: vec![Reference {
                source: "a.png".into(),
                width: 10,
                height: 10,
                tokens: vec![],
                palette: Palette::default(),
                look: Look::default(),
            }],
            vocabulary: vec![],
            public_sources: vec![],
        }
    }

    #[test]
    fn round_trips_and_rejects_newer_and_corrupt_files() {
        let dir = tmpdir("rt");
        let path = template().save(&dir).unwrap();
        assert_eq!(Template::load(&path).unwrap().name, "sys");

        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, text.replace("\"version\": 1", "\"version\": 99")).unwrap();
        assert!(matches!(
            Template::load(&path),
            Err(ModelError::Version { found: 99, .. })
        ));

        std::fs::write(&path, &text[..text.len() / 2]).unwrap();
        let err = Template::load(&path).unwrap_err().to_string();
        assert!(err.contains("sys.template.json"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_version_past_u32_is_newer_not_wrapped_to_an_old_one() {
        let origin = Path::new("x.template.json");
        let mut value = serde_json::to_value(template()).unwrap();
        value["version"] = serde_json::json!(u64::from(u32::MAX) + 2);
        let bytes = serde_json::to_vec(&value).unwrap();
        assert!(matches!(
            Template::from_json_bytes(&bytes, origin),
            Err(ModelError::Version {
                found: u32::MAX,
                ..
            })
        ));
        value["version"] = serde_json::json!(1);
        let bytes = serde_json::to_vec(&value).unwrap();
        assert_eq!(
            Template::from_json_bytes(&bytes, origin).unwrap().name,
            "sys"
        );
    }

    /// Values a fuzzed or hand-edited file can hold and matching cannot use. Found by a
    /// hand-made probe while giving the fuzz targets a "confidence is in [0, 1]" check (the
    /// fuzzer itself had only looked for panics): a vocabulary weight of 3e38 gave a NaN
    /// confidence (written as null), a leak threshold of -1 made every image a leak.
    #[test]
    fn refuses_weights_boxes_and_thresholds_that_break_scoring() {
        let origin = Path::new("x.json");
        let parse =
            |t: &Template| Template::from_json_bytes(&serde_json::to_vec(t).unwrap(), origin);
        let mut t = template();
        t.references[0].tokens.push(Token {
            text: "brand".into(),
            x: 1.0,
            y: 2.0,
            w: 30.0,
            h: 12.0,
            faint: false,
        });
        t.vocabulary.push(VocabEntry {
            token: "brand".into(),
            weight: 1.5,
            pages: 1,
            chrome: true,
            org: true,
            marking: false,
            public: false,
        });
        assert!(parse(&t).is_ok());

        let mut heavy = t.clone();
        heavy.vocabulary[0].weight = 3e38;
        assert!(matches!(parse(&heavy), Err(ModelError::Parse { .. })));
        let mut negative = t.clone();
        negative.vocabulary[0].weight = -1.0;
        assert!(parse(&negative).is_err());
        let mut far = t.clone();
        far.references[0].tokens[0].x = 3e38;
        assert!(parse(&far).is_err());
        let mut inverted = t.clone();
        inverted.references[0].tokens[0].h = -5.0;
        assert!(parse(&inverted).is_err());
        let mut empty = t.clone();
        empty.references[0].width = 0;
        assert!(parse(&empty).is_err());

        let cal = crate::score::default_calibration();
        let parse_cal =
            |c: &Calibration| Calibration::from_json_bytes(&serde_json::to_vec(c).unwrap(), origin);
        assert!(parse_cal(&cal).is_ok());
        let mut everything_leaks = cal.clone();
        everything_leaks.leak_threshold = -1.0;
        assert!(parse_cal(&everything_leaks).is_err());
        let mut never = cal.clone();
        never.review_threshold = 2.0;
        assert!(parse_cal(&never).is_err());
        let mut overflowing = cal.clone();
        overflowing.weights[0] = 1e308;
        assert!(parse_cal(&overflowing).is_err());
    }

    #[test]
    fn refuses_names_that_escape_the_folder() {
        assert!(template_path(Path::new("m"), "../x").is_err());
        assert!(template_path(Path::new("m"), "").is_err());
        assert!(template_path(Path::new("m"), "ok-name_1").is_ok());
    }
}
