//! Typed errors of the library. The CLI adds context and maps them to exit codes.

use std::path::PathBuf;

/// Why one image could not be analysed. Each becomes that image's `error` record.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("cannot read file: {0}")]
    Read(#[from] std::io::Error),
    #[error("not a regular file (a folder, FIFO or device)")]
    NotAFile,
    #[error("file is empty")]
    Empty,
    #[error("file is {size} bytes, above the {limit}-byte limit")]
    TooLarge { size: u64, limit: u64 },
    #[error("not a supported image format")]
    UnknownFormat,
    #[error("{0} image: this build cannot decode it; convert it to PNG or JPEG first")]
    UnsupportedFormat(&'static str),
    #[error("cannot decode image: {0}")]
    Decode(String),
    #[error("image dimensions {width}x{height} exceed the decoder limits")]
    DimensionsTooLarge { width: u32, height: u32 },
    #[error("image is too small to analyse ({width}x{height})")]
    TooSmall { width: u32, height: u32 },
    #[error("OCR failed: {0}")]
    Ocr(#[from] OcrError),
    #[error("internal error while analysing the image: {0}")]
    Panic(String),
}

/// Tesseract failures. The engine is recreated after any of them.
#[derive(Debug, thiserror::Error)]
pub enum OcrError {
    #[error("cannot initialise Tesseract (is the 'eng' traineddata installed?): {0}")]
    Init(String),
    #[error("Tesseract rejected the image: {0}")]
    SetImage(String),
    #[error("Tesseract recognition failed")]
    Recognize,
    #[error("cannot read Tesseract's output: {0}")]
    Output(String),
}

/// Problems with the models folder or one template file in it.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("cannot read models folder {path}: {source}")]
    ReadDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not a valid leakshot file: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{path} has format version {found}; this leakshot reads version {supported} (upgrade leakshot)")]
    Version {
        path: PathBuf,
        found: u32,
        supported: u32,
    },
    #[error("template name {0:?} is not allowed (use letters, digits, '-', '_' and '.')")]
    BadName(String),
    #[error("no templates in {0}: enroll one with `leakshot enroll`")]
    Empty(PathBuf),
    #[error("enrollment image {path}: {source}")]
    Enroll { path: PathBuf, source: ImageError },
}

/// Why `scan --resume` cannot continue from an existing output file.
#[derive(Debug, thiserror::Error)]
pub enum ResumeError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot remove the half-written last line of {path}: {source}")]
    Truncate {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{path} line {line} is not a leakshot record: not writing to it (is it the right file?)"
    )]
    NotOutput { path: PathBuf, line: usize },
}

/// Why an allowlist (`scan --ignore FILE`) cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum AllowlistError {
    #[error("cannot read allowlist {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} line {line}: {message}")]
    Parse {
        path: PathBuf,
        line: usize,
        message: String,
    },
}

/// Problems with the fingerprint cache (`--cache FILE`).
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("cannot open cache {path}: {message}")]
    Open { path: PathBuf, message: String },
    #[error("cache {path}: {message}")]
    Access { path: PathBuf, message: String },
}

/// Why a folder cannot be watched.
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    #[error("{path} is not a folder")]
    NotAFolder { path: PathBuf },
    #[error("cannot watch {path}: {message}")]
    Watch { path: PathBuf, message: String },
}
