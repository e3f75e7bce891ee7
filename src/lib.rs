//! leakshot finds leaked screenshots of an organisation's internal systems in images
//! posted online.
//!
//! An analyst enrolls a few clean screenshots of each internal system ([`enroll`]); a scan
//! then runs every image through the pipeline, one module per stage, data flowing one way:
//!
//! 1. [`ingest`]: paths to a stable stream of files (or a stream: stdin, [`watch`]); each
//!    file is read and hashed (BLAKE3): reposts are not analysed again, and [`cache`]
//!    hits skip to matching;
//! 2. [`decode`]: bytes to pixels, in Rust only, under explicit limits; then [`gate`]:
//!    images without text-like structure are `clean` without OCR, and an image whose
//!    letters stand in columns is read turned a quarter, each way;
//! 3. [`preprocess`]: grayscale, contrast, scale chosen from the measured text height;
//! 4. [`ocr`]: Tesseract words with boxes, one engine per worker;
//! 5. [`fingerprint`]: normalised, weighted tokens and the colour fingerprint of the chrome;
//! 6. [`matcher`]: vocabulary and geometric match against each template;
//! 7. [`score`]: calibrated confidence and the `leak` / `review` / `clean` verdict;
//! 8. [`report`]: the JSON Lines record, whose evidence (the words and layout that
//!    decided, and the reason) the scanner builds from the chosen match ([`allowlist`] may
//!    clear it).
//!
//! [`scan::Scanner`] chains them in parallel; [`resume`] lets a killed scan continue its
//! output file; [`calibrate`] refits the score model.

pub mod allowlist;
pub mod cache;
pub mod calibrate;
pub mod decode;
pub mod enroll;
pub mod error;
pub mod evaluate;
pub mod fingerprint;
pub mod gate;
pub mod ingest;
pub mod matcher;
pub mod ocr;
pub mod preprocess;
pub mod report;
pub mod resume;
pub mod scan;
pub mod score;
pub mod template;
pub mod watch;

pub use error::{ImageError, ModelError, OcrError, ResumeError};
pub use scan::{ScanOptions, ScanSummary, Scanner};
pub use template::Models;
