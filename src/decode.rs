//! Decode: untrusted bytes to pixels, in Rust only, under explicit limits.
//!
//! Tesseract and Leptonica never see a file: they get raw pixels from here. The limits
//! bound memory whatever a hostile header claims.

use std::io::{Cursor, Read};
use std::path::Path;

use image::{AnimationDecoder, DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};

use crate::error::ImageError;

/// Bounds on what one image may cost.
#[derive(Debug, Clone, Copy)]
pub struct DecodeLimits {
    /// Files above this many bytes are refused before reading.
    pub max_file_bytes: u64,
    /// Largest width or height the decoder accepts.
    pub max_dimension: u32,
    /// Largest allocation the decoder may make, in bytes.
    pub max_alloc: u64,
}

impl DecodeLimits {
    /// The `image` crate's form of these limits, for each decoder made.
    fn decoder_limits(&self) -> Limits {
        let mut decoder_limits = Limits::default();
        decoder_limits.max_image_width = Some(self.max_dimension);
        decoder_limits.max_image_height = Some(self.max_dimension);
        decoder_limits.max_alloc = Some(self.max_alloc);
        decoder_limits
    }
}

impl Default for DecodeLimits {
    fn default() -> Self {
        DecodeLimits {
            max_file_bytes: 64 * 1024 * 1024,
            max_dimension: 16_384,
            max_alloc: 256 * 1024 * 1024,
        }
    }
}

/// A decoded image with what we learnt about the file.
pub struct Decoded {
    /// Pixels, EXIF orientation applied, and laid over white where not opaque.
    pub image: DynamicImage,
    /// Detected format, lower case (`png`, `jpeg`, ...).
    pub format: String,
    /// File size in bytes.
    pub bytes: u64,
    /// For an animation (GIF, WebP, APNG), the frame `image` is (0 the first); `None` for
    /// a still image.
    pub frame: Option<usize>,
    /// The file ends before its image data does (see [`is_truncated`]).
    pub truncated: bool,
}

/// Most frames of an animation looked at for the one that shows the most.
pub const MAX_ANIMATION_FRAMES: usize = 64;

/// Most pixels of an animation's frames looked at, summed: 64 frames of a 1920 x 1080
/// recording, fewer of a larger canvas (each frame is decoded whole on it).
pub const MAX_ANIMATION_PIXELS: u64 = 64 * 1920 * 1080;

/// Largest canvas whose frames are looked at: twice a 4K screen's. Beyond, no screen
/// recording is that large, and the decoder would hold three frames of it at once.
pub const MAX_SEARCHED_CANVAS: u64 = 2 * 3840 * 2160;

/// How much more detail than the first frame a later one must show to be analysed
/// instead: frames of a screen recording that differ only by a cursor keep the first.
const BUSIER_FRAME: f64 = 1.25;

/// Reads and decodes `path`. The file is read once into memory (bounded by the limits).
pub fn decode_file(path: &Path, limits: &DecodeLimits) -> Result<Decoded, ImageError> {
    decode_bytes(&read_file(path, limits)?, limits)
}

/// Reads `path` whole, under the byte limit: the bytes a scan hashes and then decodes.
pub fn read_file(path: &Path, limits: &DecodeLimits) -> Result<Vec<u8>, ImageError> {
    // Only regular files: opening a FIFO named like an image blocks until a writer comes,
    // and a device (a link to /dev/zero) never ends.
    if !std::fs::metadata(path)?.is_file() {
        return Err(ImageError::NotAFile);
    }
    let file = std::fs::File::open(path)?;
    let size = file.metadata()?.len();
    let too_large = |size| ImageError::TooLarge {
        size,
        limit: limits.max_file_bytes,
    };
    if size > limits.max_file_bytes {
        return Err(too_large(size));
    }
    let mut bytes = Vec::with_capacity(size as usize);
    file.take(limits.max_file_bytes + 1)
        .read_to_end(&mut bytes)?;
    // The file may have grown since it was stat'ed.
    if bytes.len() as u64 > limits.max_file_bytes {
        return Err(too_large(bytes.len() as u64));
    }
    Ok(bytes)
}

/// Decodes an in-memory file. Fuzzing and tests enter here.
pub fn decode_bytes(bytes: &[u8], limits: &DecodeLimits) -> Result<Decoded, ImageError> {
    if bytes.is_empty() {
        return Err(ImageError::Empty);
    }
    if let Some(name) = unsupported_format(bytes) {
        return Err(ImageError::UnsupportedFormat(name));
    }
    let reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(ImageError::Read)?;
    let format = reader.format().ok_or(ImageError::UnknownFormat)?;
    let mut reader = reader;
    reader.limits(limits.decoder_limits());
    let mut decoder = reader.into_decoder().map_err(map_image_error)?;
    // A broken EXIF block must not cost the image: fall back to no rotation.
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let first = DynamicImage::from_decoder(decoder).map_err(map_image_error)?;
    // The first frame was decoded under the limits; later ones are as large (the canvas).
    let (frame, image) = match busiest_frame(bytes, format, &first, limits) {
        Some((index, Some(busier))) => (Some(index), busier),
        Some((index, None)) => (Some(index), first),
        None => (None, first),
    };
    let mut image = over_white(image);
    image.apply_orientation(orientation);
    if image.width() < 8 || image.height() < 8 {
        return Err(ImageError::TooSmall {
            width: image.width(),
            height: image.height(),
        });
    }
    Ok(Decoded {
        image,
        format: format!("{format:?}").to_lowercase(),
        bytes: bytes.len() as u64,
        frame,
        truncated: is_truncated(bytes, format),
    })
}

/// Whether the file ends before its image data does: an interrupted download or upload.
/// Decoders fill the missing part with blank or repeated pixels rather than fail, so the
/// part that arrived is still analysed (a leak in it is still found), and the record says
/// the rest is missing. Known for JPEG (no end-of-image marker after the last scan), PNG
/// (a chunk runs past the end, or the end chunk never comes) and WebP (the file is shorter
/// than its RIFF header says); false for other formats.
pub fn is_truncated(bytes: &[u8], format: ImageFormat) -> bool {
    match format {
        ImageFormat::Jpeg => {
            // Entropy-coded data stuffs every 0xFF with 0x00, so the markers are unambiguous;
            // the last start-of-scan is the main image's (an EXIF thumbnail's comes first).
            let marker = |m: u8| move |w: &[u8]| w == [0xFF, m];
            match bytes.windows(2).rposition(marker(0xDA)) {
                Some(sos) => !bytes[sos..].windows(2).any(marker(0xD9)),
                None => true,
            }
        }
        ImageFormat::Png => {
            let mut at = 8usize;
            loop {
                let Some(header) = bytes.get(at..at + 8) else {
                    return true;
                };
                let length = u32::from_be_bytes([header[0], header[1], header[2], header[3]]);
                let end = at.saturating_add(12).saturating_add(length as usize);
                if end > bytes.len() {
                    return true;
                }
                if &header[4..8] == b"IEND" {
                    return false;
                }
                at = end;
            }
        }
        ImageFormat::WebP => match bytes.get(4..8) {
            Some(size) => {
                let riff = u32::from_le_bytes([size[0], size[1], size[2], size[3]]) as u64;
                (bytes.len() as u64) < riff + 8
            }
            None => true,
        },
        _ => false,
    }
}

/// The frames of the animation in `bytes`, if it is one, each decoded under `limits` (a
/// frame may claim a larger size than the canvas); `None` for a still image or one whose
/// frames cannot be read.
fn animation_frames<'a>(
    bytes: &'a [u8],
    format: ImageFormat,
    limits: &DecodeLimits,
) -> Option<image::Frames<'a>> {
    let cursor = Cursor::new(bytes);
    match format {
        ImageFormat::Gif => {
            let mut d = image::codecs::gif::GifDecoder::new(cursor).ok()?;
            d.set_limits(limits.decoder_limits()).ok()?;
            Some(d.into_frames())
        }
        ImageFormat::WebP => {
            let mut d = image::codecs::webp::WebPDecoder::new(cursor).ok()?;
            d.set_limits(limits.decoder_limits()).ok()?;
            d.has_animation().then(|| d.into_frames())
        }
        ImageFormat::Png => {
            let mut d = image::codecs::png::PngDecoder::new(cursor).ok()?;
            d.set_limits(limits.decoder_limits()).ok()?;
            if !d.is_apng().ok()? {
                return None;
            }
            d.apng().ok().map(|d| d.into_frames())
        }
        _ => None,
    }
}

/// For an animation (GIF, WebP, APNG; any other format is a still image), the frame to
/// analyse: among its first [`MAX_ANIMATION_FRAMES`] (fewer on a large canvas,
/// [`MAX_ANIMATION_PIXELS`]), the one that shows the most detail, when that is a later
/// frame showing clearly more than `first` (a screen recording may open on a blank or
/// fading frame, a title card, a loading spinner), with its index; `(0, None)` when the
/// first frame stands. Only the best frame so far is kept. `None` for a still image, and
/// for an animation on a canvas above [`MAX_SEARCHED_CANVAS`] (its first frame stands).
/// A frame that cannot be read ends the search.
fn busiest_frame(
    bytes: &[u8],
    format: ImageFormat,
    first: &DynamicImage,
    limits: &DecodeLimits,
) -> Option<(usize, Option<DynamicImage>)> {
    let canvas = u64::from(first.width()) * u64::from(first.height());
    if canvas > MAX_SEARCHED_CANVAS {
        return None;
    }
    let frames = animation_frames(bytes, format, limits)?;
    let looked_at = (MAX_ANIMATION_PIXELS / canvas.max(1)).clamp(2, MAX_ANIMATION_FRAMES as u64);
    // Animations decode as RGBA: no copy of the first frame to measure it.
    let floor = BUSIER_FRAME
        * match first {
            DynamicImage::ImageRgba8(img) => detail(img),
            other => detail(&other.to_rgba8()),
        };
    let mut seen = 0;
    let mut best: Option<(usize, f64, image::RgbaImage)> = None;
    for (index, frame) in frames.take(looked_at as usize).enumerate() {
        seen = index + 1;
        let Ok(frame) = frame else { break };
        if index == 0 {
            continue;
        }
        let buffer = frame.into_buffer();
        if buffer.dimensions() != (first.width(), first.height()) {
            break;
        }
        let d = detail(&buffer);
        if d > floor && best.as_ref().is_none_or(|(_, b, _)| d > *b) {
            best = Some((index, d, buffer));
        }
    }
    match best {
        Some((index, _, buffer)) => Some((index, Some(DynamicImage::ImageRgba8(buffer)))),
        None => (seen > 1).then_some((0, None)),
    }
}

/// Mean absolute difference between horizontally adjacent pixels' luma (every other
/// row): text and UI edges make it high, a blank, faded or flat frame low.
fn detail(frame: &image::RgbaImage) -> f64 {
    let luma = |p: &image::Rgba<u8>| {
        let [r, g, b, a] = p.0;
        // Laid over white, as the frame will be.
        let over = |c: u8| u32::from(over_white_level(c, a));
        (over(r) * 2 + over(g) * 5 + over(b)) / 8
    };
    let (mut sum, mut count) = (0u64, 0u64);
    for row in frame.rows().step_by(2) {
        let mut previous = None;
        for p in row {
            let l = luma(p);
            if let Some(q) = previous {
                sum += u64::from(l.abs_diff(q));
                count += 1;
            }
            previous = Some(l);
        }
    }
    sum as f64 / count.max(1) as f64
}

/// How many of a file's first bytes [`looks_like_image`] wants.
pub const SNIFF_BYTES: usize = 32;

/// Whether `head`, a file's first bytes, begins as an image this build decodes, or as one
/// it names but cannot decode (HEIC, AVIF, JPEG XL): how a folder walk takes a download
/// saved under an odd name ("photo.jpg_large", "media?format=jpg", no extension at all).
pub fn looks_like_image(head: &[u8]) -> bool {
    if unsupported_format(head).is_some() {
        return true;
    }
    match image::guess_format(head) {
        Ok(
            ImageFormat::Png
            | ImageFormat::Jpeg
            | ImageFormat::Gif
            | ImageFormat::WebP
            | ImageFormat::Tiff,
        ) => true,
        // "BM" begins many a text: a bitmap's info header gives one of its known sizes next.
        Ok(ImageFormat::Bmp) => head
            .get(14..18)
            .and_then(|b| b.try_into().ok())
            .map(u32::from_le_bytes)
            .is_some_and(|size| matches!(size, 12 | 40 | 52 | 56 | 64 | 108 | 124)),
        _ => false,
    }
}

/// The name of a known image format this build cannot decode, from the file's first bytes:
/// HEIC and AVIF (an ISO media file whose `ftyp` box names the brand) and JPEG XL. Phone
/// cameras and image sites produce them; the analyst is told what the file is, not only
/// that it is not a supported one.
fn unsupported_format(bytes: &[u8]) -> Option<&'static str> {
    const JXL_CONTAINER: &[u8] = b"\0\0\0\x0cJXL \r\n\x87\n";
    if bytes.starts_with(&[0xff, 0x0a]) || bytes.starts_with(JXL_CONTAINER) {
        return Some("JPEG XL");
    }
    let brand = bytes.get(4..12).filter(|b| b.starts_with(b"ftyp"))?;
    match &brand[4..] {
        b"heic" | b"heix" | b"heim" | b"heis" | b"hevc" | b"hevx" | b"mif1" | b"msf1" => {
            Some("HEIC/HEIF")
        }
        b"avif" | b"avis" => Some("AVIF"),
        _ => None,
    }
}

/// `image` as a viewer shows it: pixels that are not opaque laid over white, as a browser
/// lays a posted image on its page. A transparent pixel keeps whatever colour its encoder
/// left, often black: read as stored, text drawn on a transparent background vanished
/// into it. An opaque image is returned as it is.
fn over_white(image: DynamicImage) -> DynamicImage {
    if !image.color().has_alpha() {
        return image;
    }
    let opaque = match &image {
        DynamicImage::ImageRgba8(img) => img.pixels().all(|p| p[3] == u8::MAX),
        DynamicImage::ImageLumaA8(img) => img.pixels().all(|p| p[1] == u8::MAX),
        // Rarer formats with alpha are laid over white whatever their alpha.
        _ => false,
    };
    if opaque {
        return image;
    }
    let rgba = image.into_rgba8();
    let rgb = image::RgbImage::from_fn(rgba.width(), rgba.height(), |x, y| {
        let [r, g, b, a] = rgba.get_pixel(x, y).0;
        let blend = |c: u8| over_white_level(c, a);
        image::Rgb([blend(r), blend(g), blend(b)])
    });
    DynamicImage::ImageRgb8(rgb)
}

/// Level `c` of a pixel of opacity `alpha`, laid over white (rounded to the nearest).
fn over_white_level(c: u8, alpha: u8) -> u8 {
    let a = u32::from(alpha);
    ((u32::from(c) * a + 255 * (255 - a) + 127) / 255) as u8
}

fn map_image_error(e: image::ImageError) -> ImageError {
    let message = match e {
        image::ImageError::Limits(l) => format!("decoder limit exceeded: {l}"),
        image::ImageError::Unsupported(u) => format!("unsupported: {u}"),
        other => other.to_string(),
    };
    // Some decoders end their messages with a newline: the record's error is one line.
    ImageError::Decode(message.split_whitespace().collect::<Vec<_>>().join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png_bytes(w: u32, h: u32) -> Vec<u8> {
        let img = DynamicImage::new_rgb8(w, h);
        let mut out = Cursor::new(Vec::new());
        img.write_to(&mut out, image::ImageFormat::Png).unwrap();
        out.into_inner()
    }

    #[test]
    fn decodes_png_and_reports_format() {
        let d = decode_bytes(&png_bytes(40, 30), &DecodeLimits::default()).unwrap();
        assert_eq!((d.image.width(), d.image.height()), (40, 30));
        assert_eq!(d.format, "png");
    }

    #[test]
    fn truncated_and_empty_and_text_are_errors() {
        let full = png_bytes(40, 30);
        let limits = DecodeLimits::default();
        assert!(decode_bytes(&full[..full.len() / 2], &limits).is_err());
        assert!(matches!(decode_bytes(&[], &limits), Err(ImageError::Empty)));
        assert!(decode_bytes(b"hello, this is text", &limits).is_err());
    }

    #[test]
    fn a_file_that_ends_early_is_known_as_truncated() {
        // Busy pixels, so that each format's image data spans most of the file.
        let img = DynamicImage::ImageRgb8(image::RgbImage::from_fn(64, 48, |x, y| {
            image::Rgb([
                (x * 37 % 251) as u8,
                (y * 53 % 241) as u8,
                ((x ^ y) * 7) as u8,
            ])
        }));
        for format in [ImageFormat::Jpeg, ImageFormat::Png, ImageFormat::WebP] {
            let mut out = Cursor::new(Vec::new());
            img.write_to(&mut out, format).unwrap();
            let full = out.into_inner();
            assert!(!is_truncated(&full, format), "{format:?} whole");
            // Bytes after the end (a trailer some cameras add) are no truncation.
            let trailed: Vec<u8> = full.iter().copied().chain(*b"trailer").collect();
            assert!(!is_truncated(&trailed, format), "{format:?} with a trailer");
            let cut = &full[..full.len() * 3 / 4];
            assert!(is_truncated(cut, format), "{format:?} cut");
        }
        // A JPEG that ends early still decodes, and says so.
        let mut out = Cursor::new(Vec::new());
        img.write_to(&mut out, ImageFormat::Jpeg).unwrap();
        let full = out.into_inner();
        let limits = DecodeLimits::default();
        assert!(!decode_bytes(&full, &limits).unwrap().truncated);
        let cut = decode_bytes(&full[..full.len() * 3 / 4], &limits).unwrap();
        assert!(cut.truncated);
        assert_eq!((cut.image.width(), cut.image.height()), (64, 48));
    }

    #[test]
    fn only_regular_files_are_opened() {
        let limits = DecodeLimits::default();
        let dir = std::env::temp_dir();
        assert!(matches!(
            decode_file(&dir, &limits),
            Err(ImageError::NotAFile)
        ));
        assert!(matches!(
            decode_file(Path::new("/dev/zero"), &limits),
            Err(ImageError::NotAFile)
        ));
    }

    #[test]
    fn files_above_the_byte_limit_are_refused() {
        let path = std::env::temp_dir().join(format!("leakshot-big-{}.png", std::process::id()));
        std::fs::write(&path, png_bytes(40, 30)).unwrap();
        let limits = DecodeLimits {
            max_file_bytes: 10,
            ..DecodeLimits::default()
        };
        let result = decode_file(&path, &limits);
        std::fs::remove_file(&path).unwrap();
        assert!(matches!(
            result,
            Err(ImageError::TooLarge { limit: 10, .. })
        ));
    }

    #[test]
    fn transparent_pixels_are_laid_over_white_and_opaque_images_kept() {
        // Black text drawn on a transparent background whose colour is black too.
        let mut img = image::RgbaImage::from_pixel(40, 30, image::Rgba([0, 0, 0, 0]));
        img.put_pixel(5, 5, image::Rgba([0, 0, 0, 255]));
        img.put_pixel(6, 5, image::Rgba([200, 0, 0, 128]));
        let mut bytes = Cursor::new(Vec::new());
        DynamicImage::ImageRgba8(img)
            .write_to(&mut bytes, image::ImageFormat::Png)
            .unwrap();
        let d = decode_bytes(bytes.get_ref(), &DecodeLimits::default()).unwrap();
        let rgb = d.image.to_rgb8();
        assert_eq!(
            rgb.get_pixel(0, 0).0,
            [255, 255, 255],
            "transparent is white"
        );
        assert_eq!(rgb.get_pixel(5, 5).0, [0, 0, 0], "opaque ink stays");
        assert_eq!(
            rgb.get_pixel(6, 5).0,
            [227, 127, 127],
            "half-transparent red is pink"
        );
        // An opaque RGBA image keeps its pixels and its type.
        let opaque = image::RgbaImage::from_pixel(40, 30, image::Rgba([10, 20, 30, 255]));
        let mut bytes = Cursor::new(Vec::new());
        DynamicImage::ImageRgba8(opaque.clone())
            .write_to(&mut bytes, image::ImageFormat::Png)
            .unwrap();
        let d = decode_bytes(bytes.get_ref(), &DecodeLimits::default()).unwrap();
        assert_eq!(d.image, DynamicImage::ImageRgba8(opaque));
    }

    #[test]
    fn images_are_known_by_their_first_bytes() {
        let png = png_bytes(16, 16);
        assert!(looks_like_image(&png[..SNIFF_BYTES]));
        assert!(looks_like_image(&[0xff, 0xd8, 0xff, 0xe0, 0, 0x10]));
        assert!(looks_like_image(b"GIF89a\x10\0"));
        assert!(looks_like_image(b"RIFF\x24\0\0\0WEBPVP8 "));
        assert!(looks_like_image(b"\0\0\0\x18ftypheic\0\0\0\0mif1heic"));
        let mut bmp = b"BM".to_vec();
        bmp.extend([0u8; 12]);
        bmp.extend(40u32.to_le_bytes());
        assert!(looks_like_image(&bmp));
        // Texts, a video, and a file that only begins like a bitmap's signature.
        for head in [
            &b"BMW service history, 2019"[..],
            b"P3\n# a text that pnm would claim",
            b"\0\0\0\x18ftypisom\0\0\0\0isomiso2",
            b"{\"id\": 7}",
            b"",
        ] {
            assert!(!looks_like_image(head), "{head:?}");
        }
    }

    #[test]
    fn formats_this_build_cannot_decode_are_named() {
        let limits = DecodeLimits::default();
        let heic = b"\0\0\0\x18ftypheic\0\0\0\0mif1heic";
        let avif = b"\0\0\0\x1cftypavif\0\0\0\0avifmif1miaf";
        let jxl = [0xff, 0x0a, 0xfa, 0x7f];
        for (bytes, name) in [
            (&heic[..], "HEIC/HEIF"),
            (&avif[..], "AVIF"),
            (&jxl[..], "JPEG XL"),
        ] {
            let err = decode_bytes(bytes, &limits).err().expect("refused");
            assert!(
                matches!(err, ImageError::UnsupportedFormat(n) if n == name),
                "{err}"
            );
            assert!(err.to_string().starts_with(name), "{err}");
        }
        // An MP4 is an ISO media file too, but no image.
        let mp4 = b"\0\0\0\x18ftypisom\0\0\0\0isomiso2";
        assert!(matches!(
            decode_bytes(mp4, &limits),
            Err(ImageError::UnknownFormat)
        ));
    }

    /// A GIF of `frames`, 100 ms each.
    fn gif(frames: &[image::RgbaImage]) -> Vec<u8> {
        let mut out = Vec::new();
        {
            let mut encoder = image::codecs::gif::GifEncoder::new(&mut out);
            for f in frames {
                let delay = image::Delay::from_numer_denom_ms(100, 1);
                encoder
                    .encode_frame(image::Frame::from_parts(f.clone(), 0, 0, delay))
                    .unwrap();
            }
        }
        out
    }

    #[test]
    fn an_animation_is_analysed_at_the_frame_that_shows_most() {
        let limits = DecodeLimits::default();
        let blank = image::RgbaImage::from_pixel(64, 48, image::Rgba([255, 255, 255, 255]));
        // Rows of dark "letters", as a page's text.
        let page = image::RgbaImage::from_fn(64, 48, |x, y| {
            let ink = y % 8 < 4 && x % 3 != 0;
            image::Rgba(if ink {
                [0, 0, 0, 255]
            } else {
                [255, 255, 255, 255]
            })
        });
        // A screen recording that opens on a blank frame: the page is analysed.
        let d = decode_bytes(&gif(&[blank.clone(), blank.clone(), page.clone()]), &limits).unwrap();
        assert_eq!(d.frame, Some(2));
        assert_eq!(d.image.to_rgba8(), page);
        // The page first, then blank: the first frame stands.
        let d = decode_bytes(&gif(&[page.clone(), blank.clone()]), &limits).unwrap();
        assert_eq!(d.frame, Some(0));
        assert_eq!(d.image.to_rgba8(), page);
        // A still image names no frame; neither does a GIF of one frame.
        assert_eq!(
            decode_bytes(&png_bytes(40, 30), &limits).unwrap().frame,
            None
        );
        assert_eq!(decode_bytes(&gif(&[page]), &limits).unwrap().frame, None);
    }

    #[test]
    fn huge_dimensions_are_refused_before_allocation() {
        let limits = DecodeLimits {
            max_dimension: 100,
            ..DecodeLimits::default()
        };
        assert!(decode_bytes(&png_bytes(200, 20), &limits).is_err());
    }
}
