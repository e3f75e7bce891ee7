//! Preprocess: from decoded pixels to what OCR and the visual fingerprint want.
//!
//! OCR wants grayscale (colour costs Tesseract ~8 points of word accuracy) at a scale where
//! UI text is large enough: we measure the text height from connected components and
//! scale to a target, instead of upscaling blindly (time grows with the pixel count).
//! The steps live in their own files: grayscale and resizing (`gray.rs`), text height
//! (`glyph.rs`), dark panels inverted (`polarity.rs`), sharpening and stretching
//! (`contrast.rs`), a photographed monitor found and rectified (`screen.rs`), and pages
//! longer than any screen scaled by their width and read in bands (`tall.rs`).

use image::{imageops::FilterType, DynamicImage, GrayImage, RgbImage};

use crate::ocr::{OcrInput, Threshold};

mod content;
mod contrast;
mod glyph;
mod gray;
mod polarity;
pub mod screen;
pub mod tall;

pub use contrast::{stretch_contrast, unsharp};
use contrast::{stretch_contrast_counted, unsharp_counted};
pub use glyph::estimate_glyph_height;
pub use gray::luma8;
pub(crate) use gray::resize_gray;
pub(crate) use gray::resize_gray_to;
pub use polarity::normalise_polarity;
use polarity::normalise_polarity_counted;
pub use screen::Screen;

/// Long side (for a page longer than any screen, its width: [`tall::scale_side`]) above
/// which an image is first reduced: more pixels than this add cost, not text.
pub(crate) const WORKING_MAX_SIDE: u32 = 3000;
/// Median glyph height (pixels) we scale scanned images to for OCR. Tesseract reads best
/// around here; larger costs time for little gain.
pub const SCAN_GLYPH_HEIGHT: f32 = 22.0;
/// Enrollment screenshots are few and clean: read them larger, for the best vocabulary.
pub const ENROLL_GLYPH_HEIGHT: f32 = 22.0;
/// OCR input is never larger than this many pixels, whatever the estimate says.
pub(crate) const MAX_OCR_PIXELS: f32 = 6.5e6;

/// What the later stages consume.
pub struct Prepared {
    /// Grayscale, contrast-stretched, scaled for OCR.
    pub ocr_gray: GrayImage,
    /// OCR pixels per original pixel (divide OCR coordinates by it to get original ones).
    pub ocr_scale: f32,
    /// Small colour copy for the visual (palette/structure) fingerprint.
    pub thumb: RgbImage,
    /// Median glyph height measured in original pixels, if any text-like shapes were found.
    pub glyph_height: Option<f32>,
    /// Original width and height.
    pub width: u32,
    pub height: u32,
    /// The monitor found in a phone photo, when OCR ran on its rectified pixels. Then OCR
    /// coordinates are in the rectified screen (`ImageFingerprint::image_box` maps back).
    pub screen: Option<Screen>,
    /// Working pixels per original pixel (below 1 for huge images).
    pub work_scale: f32,
    /// For a photographed screen, a second OCR input and its size relative to `ocr_gray`:
    /// the sharpened screen with its dark regions inverted but its light left uneven
    /// (`ocr_gray` flattens it). On a photo Tesseract reads words in each that it misses
    /// in the other.
    pub ocr_alt: Option<(GrayImage, f32)>,
    /// For a photographed monitor, tilted or level, the part of `ocr_gray` (its screen's
    /// bright part; all of a level one) that OCR reads once more with local thresholding:
    /// moire bands and glare defeat the global threshold, which reads screenshots best.
    pub ocr_local: Option<[u32; 4]>,
    /// For a page many screens tall, the bands of `ocr_gray` OCR reads one by one instead
    /// of all of it at once ([`tall::ocr_bands`]); empty for any other image.
    pub ocr_bands: Vec<[u32; 4]>,
    /// Original pixel at `ocr_gray`'s top-left corner: not the origin when only a page in
    /// a flat canvas was read (`content.rs`).
    pub ocr_origin: (f32, f32),
}

impl Prepared {
    /// The images to OCR, `ocr_gray` first (band by band, for a tall page); their readings
    /// are united ([`crate::ocr::OcrEngine::read_all`]).
    pub fn ocr_inputs(&self) -> impl Iterator<Item = OcrInput<'_>> {
        let alt = self.ocr_alt.as_ref().map(|(image, factor)| OcrInput {
            factor: *factor,
            ..OcrInput::whole(image)
        });
        let local = self.ocr_local.map(|region| OcrInput {
            region: Some(region),
            threshold: Threshold::Local,
            ..OcrInput::whole(&self.ocr_gray)
        });
        let whole = (self.ocr_bands.is_empty()).then(|| OcrInput::whole(&self.ocr_gray));
        let bands = self.ocr_bands.iter().map(|&band| OcrInput {
            region: Some(band),
            ..OcrInput::whole(&self.ocr_gray)
        });
        whole.into_iter().chain(bands).chain(alt).chain(local)
    }
}

/// Scale, grayscale and stretch `image` for OCR, aiming at `glyph_target` pixels of median
/// glyph height; also make the thumbnail.
pub fn prepare(image: &DynamicImage, glyph_target: f32) -> Prepared {
    prepare_gray(luma8(image), image, glyph_target)
}

/// As [`prepare`], from `gray`, the full-size grey copy of `image` ([`luma8`]),
/// when the caller already made it (the scan's gate looks at it first): converting a large
/// image costs milliseconds. `gray` is taken by value so that it is freed as soon as it is
/// reduced; `image` still gives the colour thumbnail. A `gray` of other dimensions than
/// `image` is not its copy and is ignored.
pub fn prepare_gray(gray: GrayImage, image: &DynamicImage, glyph_target: f32) -> Prepared {
    prepare_as(gray, image, glyph_target, true, &mut |_| {})
}

/// As [`prepare_gray`], telling `after` as each [`Step`] is done: the `preprocess_timing`
/// example times the steps on this, the scan's own code path.
pub fn prepare_observed(
    gray: GrayImage,
    image: &DynamicImage,
    glyph_target: f32,
    after: &mut dyn FnMut(Step),
) -> Prepared {
    prepare_as(gray, image, glyph_target, true, after)
}

/// The steps of preprocessing, in order, as [`prepare_observed`] reports them. A step an
/// image does not need (a screenshot is not rectified) is reported all the same, done at
/// once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Made grey (unless given) and reduced to the working size.
    WorkSize,
    /// A photographed monitor looked for.
    FindScreen,
    /// Its screen rectified.
    Rectify,
    /// The letters' height measured.
    GlyphHeight,
    /// A page in a flat canvas cut out (`content.rs`).
    ContentCut,
    /// How soft its edges are measured.
    EdgeSharpness,
    /// Scaled for OCR.
    OcrSize,
    /// Contrast stretched.
    Stretch,
    /// A photographed screen or a soft screenshot sharpened.
    Sharpen,
    /// A photographed screen's second OCR input made.
    SecondInput,
    /// Dark regions inverted, light ones flattened.
    Polarity,
    /// A tall page's OCR bands laid out.
    Bands,
    /// The colour thumbnail made.
    Thumbnail,
}

impl Step {
    /// Every step, in the order they run.
    pub const ALL: [Step; 13] = [
        Step::WorkSize,
        Step::FindScreen,
        Step::Rectify,
        Step::GlyphHeight,
        Step::ContentCut,
        Step::EdgeSharpness,
        Step::OcrSize,
        Step::Stretch,
        Step::Sharpen,
        Step::SecondInput,
        Step::Polarity,
        Step::Bands,
        Step::Thumbnail,
    ];
}

/// As [`prepare`], for an image known to be a clean screenshot (an enrollment reference):
/// no photographed screen is looked for, so a page whose bars and cards make a bright
/// quadrilateral of its content is never warped.
pub fn prepare_screenshot(image: &DynamicImage, glyph_target: f32) -> Prepared {
    prepare_as(luma8(image), image, glyph_target, false, &mut |_| {})
}

/// The factor (1 or less) preprocessing reduces an image of this size by before anything
/// else: its scale side ([`tall::scale_side`]) to [`WORKING_MAX_SIDE`] at most.
pub(crate) fn working_scale(width: u32, height: u32) -> f32 {
    let side = tall::scale_side(width, height);
    if side > WORKING_MAX_SIDE {
        WORKING_MAX_SIDE as f32 / side as f32
    } else {
        1.0
    }
}

fn prepare_as(
    gray: GrayImage,
    image: &DynamicImage,
    glyph_target: f32,
    may_be_photo: bool,
    after: &mut dyn FnMut(Step),
) -> Prepared {
    let (width, height) = (image.width(), image.height());
    let long = width.max(height);
    let work_scale = working_scale(width, height);
    // The full-size grey copy lives only until it is reduced: on a huge image it is the
    // largest buffer after the decoded one.
    let mut work = {
        let gray_full = if gray.dimensions() == (width, height) {
            gray
        } else {
            drop(gray);
            luma8(image)
        };
        if work_scale < 1.0 {
            resize_gray(&gray_full, work_scale, FilterType::Triangle)
        } else {
            gray_full
        }
    };
    after(Step::WorkSize);
    let screen = if may_be_photo {
        screen::find_screen(&work)
    } else {
        None
    };
    // A level photo of a monitor needs no rectifying, but its light is as uneven.
    let camera = screen.is_none() && screen::camera_noise(&work);
    let photographed = screen.is_some() || (may_be_photo && camera && screen::shows_screen(&work));
    after(Step::FindScreen);
    if let Some(s) = &screen {
        work = screen::rectify(&work, s);
    }
    after(Step::Rectify);
    let glyph_work = estimate_glyph_height(&work);
    after(Step::GlyphHeight);
    let mut extra = match glyph_work {
        Some(h) => (glyph_target / h).clamp(0.8, 4.0),
        // No text-like shapes: a moderate upscale still gives OCR its chance.
        None => (1600.0 / work.width().max(1) as f32).clamp(1.0, 2.0),
    };
    let budget = if screen.is_some() {
        MAX_OCR_PIXELS * screen::MARGIN_AREA_FACTOR
    } else {
        MAX_OCR_PIXELS * tall::budget_factor(width, height)
    };
    // A page inside a flat canvas, whose letters the budget spent on the whole canvas
    // would leave small, is read alone. Not a photo's screen (its margins are kept on
    // purpose) nor a page longer than a screen (already read by its width).
    let (work, ocr_origin) = if !photographed && !tall::longer_than_a_screen(width, height) {
        content::cut_to_content(work, extra, budget, work_scale)
    } else {
        (work, (0.0, 0.0))
    };
    after(Step::ContentCut);
    // A soft screenshot (resized by a site, blurred by a viewer) is sharpened at the scale
    // of its blur, as its edges measure it. A photo's screen has its own sharpening, and
    // a photo of anything else (a camera's noise) is soft by nature: sharpened, its
    // texture costs Tesseract seconds and reads as nothing.
    let blur_work = if screen.is_some() || camera {
        None
    } else {
        contrast::edge_sharpness(&work)
            .filter(|&r| r < SOFT_EDGES)
            .map(|r| BLUR_PER_SHARPNESS / r)
    };
    after(Step::EdgeSharpness);
    let pixels = work.width() as f32 * work.height() as f32;
    let cap = (budget / pixels).sqrt();
    // Near 1x, skip the resampling (it only blurs), unless the pixel cap needs it.
    if (extra - 1.0).abs() < 0.08 {
        extra = 1.0;
    }
    extra = extra.min(cap);
    let mut ocr_gray = if (extra - 1.0).abs() < f32::EPSILON {
        work
    } else {
        resize_gray(&work, extra, FilterType::CatmullRom)
    };
    after(Step::OcrSize);
    // A photographed screen's statistics come from the screen, not its dark surround.
    let core = screen.map_or([0, 0, ocr_gray.width(), ocr_gray.height()], |s| {
        s.core.map(|v| (v as f32 * extra) as u32)
    });
    // Each step hands on the histogram of the image it leaves, when it has it: counting
    // the levels of the OCR image again costs a millisecond or more.
    let mut levels = stretch_contrast_counted(&mut ocr_gray, core);
    after(Step::Stretch);
    let glyph_ocr = glyph_work.map_or(TYPICAL_GLYPH, |h| h * extra);
    let radius = (glyph_ocr * 2.0).max(10.0) as u32;
    if screen.is_some() {
        // Phone photos are soft (focus, motion, moire filtering): sharpen at the scale of
        // the strokes, which lifts Tesseract's reading of them markedly.
        levels = unsharp_counted(&mut ocr_gray, glyph_ocr * PHOTO_SHARPEN_SIGMA, 2.0).or(levels);
    } else if let Some(blur) = blur_work {
        levels = unsharp_counted(&mut ocr_gray, blur * extra, SOFT_SHARPEN_AMOUNT).or(levels);
    }
    after(Step::Sharpen);
    let ocr_alt = screen
        .is_some()
        .then(|| second_ocr_input(&ocr_gray, radius));
    after(Step::SecondInput);
    normalise_polarity_counted(&mut ocr_gray, radius, screen.is_some(), levels.as_ref());
    after(Step::Polarity);
    let ocr_local = photographed.then_some(core);
    let ocr_bands = tall::ocr_bands(&ocr_gray);
    after(Step::Bands);
    let thumb_scale = (256.0 / long as f32).min(1.0);
    // Reduced in the decoded pixel format, then converted: no full-size RGB copy.
    let thumb = image
        .thumbnail(
            ((width as f32 * thumb_scale).round() as u32).max(1),
            ((height as f32 * thumb_scale).round() as u32).max(1),
        )
        .to_rgb8();
    after(Step::Thumbnail);
    Prepared {
        ocr_gray,
        ocr_scale: work_scale * extra,
        thumb,
        glyph_height: glyph_work.map(|h| h / work_scale),
        width,
        height,
        screen,
        work_scale,
        ocr_alt,
        ocr_local,
        ocr_bands,
        ocr_origin,
    }
}

/// Edge sharpness ([`contrast::edge_sharpness`]) below which a screenshot is sharpened:
/// DEV's screenshots measure 0.52 to 1.0, the same blurred by 1.2 pixels 0.29 to 0.44.
const SOFT_EDGES: f32 = 0.5;

/// A Gaussian blur's sigma (pixels) times the edge sharpness it leaves: 1 / sqrt(2 pi).
const BLUR_PER_SHARPNESS: f32 = 0.4;

/// Strength of the unsharp mask on a soft screenshot.
const SOFT_SHARPEN_AMOUNT: f32 = 2.5;

/// Blur radius (sigma, in glyph heights) of the unsharp mask on a photographed screen.
/// A quarter of a glyph sharpens strokes; half a glyph, as first chosen, swelled blurred
/// letters into blobs. Measured on the 86 DEV-XL phone photos with the 13 extra systems
/// enrolled: words in place on the 58 positives' own templates (summed log-features) rose
/// 49.8 -> 55.0, `leak` 22 -> 23, negatives at `review` 5 -> 3; 0.15 to 0.35 all gained
/// words in place, 0.2-0.25 most.
const PHOTO_SHARPEN_SIGMA: f32 = 0.25;

/// Size of a photographed screen's second OCR input relative to the first. Unflattened,
/// a photo's noise costs Tesseract time: measured on the 86 DEV-XL phone photos with the 13
/// extra systems enrolled, the second reading at full size added 3 leaks and 3 reviews to
/// the 58 positives and cost 0.8 s of CPU per photo, at 0.7 3 leaks and 1 review for 0.4 s,
/// at 0.5 2 leaks for 0.2 s.
const ALT_SCALE: f32 = 0.7;

/// A photographed screen's second OCR input ([`Prepared::ocr_alt`]) from the sharpened
/// screen and the polarity window `radius` of the first: reduced to [`ALT_SCALE`], dark
/// regions inverted, light not flattened.
fn second_ocr_input(sharpened: &GrayImage, radius: u32) -> (GrayImage, f32) {
    let mut alt = resize_gray(sharpened, ALT_SCALE, FilterType::Triangle);
    let alt_radius = (radius as f32 * ALT_SCALE) as u32;
    normalise_polarity_counted(&mut alt, alt_radius.max(1), false, None);
    (alt, ALT_SCALE)
}

/// Glyph height assumed when none could be measured.
const TYPICAL_GLYPH: f32 = 16.0;

#[cfg(test)]
mod tests {
    use super::glyph::glyph_heights;
    use super::gray::{histogram, round_to_u8, samples};
    use super::polarity::{
        BAR_DARK_SHARE, BAR_MIXED_BELOW_PAGE, DARK_BACKGROUND, DARK_THEME_MEDIAN, DARK_THEME_PANEL,
        FLATTEN_GAIN,
    };
    use super::*;
    use imageproc::integral_image::{integral_image, sum_image_pixels};

    #[test]
    fn luma8_is_to_luma8() {
        // Every RGB colour once, and in RGBA with varying alpha (which luma ignores).
        let rgb = RgbImage::from_fn(4096, 4096, |x, y| {
            let c = y * 4096 + x;
            image::Rgb([(c >> 16) as u8, (c >> 8) as u8, c as u8])
        });
        let image = DynamicImage::ImageRgb8(rgb);
        assert!(luma8(&image) == image.to_luma8());
        let rgba = image::RgbaImage::from_fn(640, 480, |x, y| {
            image::Rgba([
                (x * 7) as u8,
                (y * 3 + x) as u8,
                (x ^ y) as u8,
                (x + y) as u8,
            ])
        });
        let image = DynamicImage::ImageRgba8(rgba);
        assert!(luma8(&image) == image.to_luma8());
        // In another colour space the weights differ, and are followed.
        let mut image = image;
        image
            .set_color_space(image::metadata::Cicp::DISPLAY_P3)
            .unwrap();
        assert!(luma8(&image) == image.to_luma8());
        let small = DynamicImage::ImageLuma16(image::ImageBuffer::from_pixel(
            3,
            2,
            image::Luma([40000u16]),
        ));
        assert!(luma8(&small) == small.to_luma8());
    }

    #[test]
    fn rounding_is_f32_round() {
        for v in [
            -3.0,
            -0.5,
            -0.2,
            0.0,
            0.49999997,
            0.5,
            1.5,
            2.5,
            254.49998,
            254.5,
            255.4,
            255.6,
            300.0,
            1e10,
            f32::NAN,
        ] {
            assert_eq!(round_to_u8(v), v.round() as u8, "{v}");
        }
        let mut v = 0.0f32;
        while v < 256.0 {
            assert_eq!(round_to_u8(v), v.round() as u8, "{v}");
            v = f32::from_bits(v.to_bits() + 997);
        }
    }

    #[test]
    fn blank_image_has_no_glyph_height_and_is_prepared() {
        let img = DynamicImage::new_rgb8(300, 200);
        let p = prepare(&img, SCAN_GLYPH_HEIGHT);
        assert!(p.glyph_height.is_none());
        assert!(p.ocr_scale >= 1.0);
        assert!(p.thumb.width() <= 256);
    }

    #[test]
    fn huge_image_is_reduced_for_ocr() {
        let img = DynamicImage::new_luma8(6000, 4000);
        let p = prepare(&img, SCAN_GLYPH_HEIGHT);
        let px = p.ocr_gray.width() as f32 * p.ocr_gray.height() as f32;
        assert!(px <= MAX_OCR_PIXELS * 1.01, "{px}");
    }

    #[test]
    fn light_text_on_dark_bar_becomes_dark_on_light() {
        let mut img = GrayImage::from_fn(200, 100, |x, y| {
            let in_bar = y < 50;
            let letter = (x / 4) % 3 == 0 && (y % 50) > 20 && (y % 50) < 30;
            image::Luma([match (in_bar, letter) {
                (true, true) => 250,
                (true, false) => 40,
                (false, true) => 20,
                (false, false) => 245,
            }])
        });
        normalise_polarity(&mut img, 20, false);
        // Bar background became light, its letters dark; the light area is unchanged.
        assert!(img.get_pixel(1, 5)[0] > 200);
        assert!(img.get_pixel(0, 25)[0] < 50);
        assert!(img.get_pixel(5, 75)[0] > 200 && img.get_pixel(0, 75)[0] < 50);
    }

    #[test]
    fn a_dark_theme_becomes_dark_on_light_and_its_light_card_stays_so() {
        // A dark-theme page, light letters on it, and one small light card whose letters
        // are dark: together under a tenth of the image, so no light page is there for
        // the dark regions to be dark against.
        let mut img = GrayImage::from_fn(400, 300, |x, y| {
            let in_card = (290..370).contains(&x) && (150..230).contains(&y);
            let letter = (x / 4) % 3 == 0 && (21..25).contains(&(y % 50));
            image::Luma([match (in_card, letter) {
                (false, true) => 230,
                (false, false) => 30,
                (true, true) => 25,
                (true, false) => 240,
            }])
        });
        normalise_polarity(&mut img, 20, false);
        assert!(img.get_pixel(1, 5)[0] > 200, "the page became light");
        assert!(img.get_pixel(0, 23)[0] < 60, "its letters dark");
        assert!(img.get_pixel(331, 195)[0] > 200, "the card is light");
        assert!(img.get_pixel(336, 173)[0] < 60, "its letters dark");
    }

    #[test]
    fn thin_banner_cut_by_the_edge_becomes_dark_on_light() {
        // A marking strip 12 pixels high along the foot of a white page, its letters light:
        // thinner than the local-mean window, which straddles it and the page.
        let mut img = GrayImage::from_fn(400, 200, |x, y| {
            let in_bar = y >= 188;
            let letter = in_bar && (x / 3) % 3 == 0 && (191..198).contains(&y);
            image::Luma([match (in_bar, letter) {
                (true, true) => 250,
                (true, false) => 50,
                (false, _) => 245,
            }])
        });
        normalise_polarity(&mut img, 30, false);
        assert!(img.get_pixel(4, 194)[0] > 200, "the strip became light");
        assert!(img.get_pixel(0, 194)[0] < 60, "its letters dark");
        assert!(img.get_pixel(0, 100)[0] > 200, "the page is unchanged");
    }

    #[test]
    fn only_a_photographed_screen_gets_more_ocr_inputs() {
        let screenshot = DynamicImage::ImageLuma8(GrayImage::from_fn(800, 600, |x, y| {
            image::Luma([if (x / 4) % 3 == 0 && (y % 40) < 12 {
                30
            } else {
                240
            }])
        }));
        let p = prepare(&screenshot, SCAN_GLYPH_HEIGHT);
        assert!(p.screen.is_none() && p.ocr_alt.is_none());
        assert_eq!(p.ocr_inputs().count(), 1);
        // A bright tilted screen with text on a dark surround.
        let quad = [
            (150.0, 120.0),
            (660.0, 90.0),
            (690.0, 480.0),
            (120.0, 500.0),
        ];
        let photo = DynamicImage::ImageLuma8(GrayImage::from_fn(800, 600, |x, y| {
            let on_screen = screen::inside(&quad, x as f32, y as f32);
            let letter = (x / 3) % 3 == 0 && (y % 30) < 8 && (200..600).contains(&x);
            image::Luma([match (on_screen, letter) {
                (true, true) => 60,
                (true, false) => 220,
                (false, _) => 40,
            }])
        }));
        // An enrollment reference is a screenshot, whatever its bright part looks like.
        assert!(prepare_screenshot(&photo, SCAN_GLYPH_HEIGHT)
            .screen
            .is_none());
        let p = prepare(&photo, SCAN_GLYPH_HEIGHT);
        assert!(p.screen.is_some());
        let (alt, factor) = p.ocr_alt.as_ref().expect("a second input");
        assert_eq!(factor, &ALT_SCALE);
        let expected = (p.ocr_gray.width() as f32 * ALT_SCALE).round() as u32;
        assert!(
            alt.width().abs_diff(expected) <= 1,
            "{} vs {expected}",
            alt.width()
        );
        let inputs: Vec<OcrInput> = p.ocr_inputs().collect();
        assert_eq!(inputs.len(), 3);
        // The third reads the screen's bright part again, thresholded locally.
        let local = inputs[2];
        assert_eq!(local.threshold, Threshold::Local);
        assert!(std::ptr::eq(local.image, &p.ocr_gray));
        let [x, y, w, h] = local.region.expect("a region");
        assert!(x > 0 && y > 0 && x + w < p.ocr_gray.width() && y + h < p.ocr_gray.height());
    }

    /// A monitor held level in a dark surround, its pixels jittered by `noise` grey levels
    /// (a camera's sensor) or not (a screenshot in a dark frame).
    fn level_screen(noise: u32) -> DynamicImage {
        DynamicImage::ImageLuma8(GrayImage::from_fn(900, 700, |x, y| {
            let on_screen = (120..780).contains(&x) && (110..590).contains(&y);
            let letter = (x / 3) % 3 == 0 && (y % 30) < 8 && (200..700).contains(&x);
            let base: u32 = match (on_screen, letter) {
                (true, true) => 60,
                (true, false) => 215,
                (false, _) => 35,
            };
            let jitter = (x.wrapping_mul(7919) ^ y.wrapping_mul(104_729)) % (2 * noise + 1);
            image::Luma([(base + jitter).saturating_sub(noise).min(255) as u8])
        }))
    }

    #[test]
    fn a_level_screen_is_read_again_only_with_a_cameras_noise() {
        let photo = prepare(&level_screen(6), SCAN_GLYPH_HEIGHT);
        assert!(photo.screen.is_none(), "level: nothing to rectify");
        let (w, h) = photo.ocr_gray.dimensions();
        assert_eq!(photo.ocr_local, Some([0, 0, w, h]));
        let framed = prepare(&level_screen(0), SCAN_GLYPH_HEIGHT);
        assert_eq!(framed.ocr_local, None);
        assert_eq!(framed.ocr_inputs().count(), 1);
    }

    #[test]
    fn a_bar_ending_short_of_the_side_is_light_to_its_end() {
        // A thin bar from x = 40 (a framed screenshot's rounded corner), light letters from
        // x = 63: the windows at its end are mostly the white margin and the page.
        let mut img = GrayImage::from_fn(400, 120, |x, y| {
            let in_bar = (20..32).contains(&y) && x >= 40;
            let letter = in_bar && x >= 60 && (x / 3) % 3 == 0 && (23..29).contains(&y);
            image::Luma([match (in_bar, letter) {
                (true, true) => 250,
                (true, false) => 70,
                (false, _) => 250,
            }])
        });
        normalise_polarity(&mut img, 30, false);
        for x in [42, 50, 56] {
            assert!(img.get_pixel(x, 25)[0] > 200, "bar at x = {x} became light");
        }
        assert!(img.get_pixel(20, 25)[0] > 200, "the margin stays light");
        assert!(img.get_pixel(63, 25)[0] < 60, "the first letter is dark");
    }

    /// [`normalise_polarity`] as it was before the lookup table: the formula per pixel.
    fn normalise_polarity_reference(img: &mut GrayImage, radius: u32, flatten: bool) {
        let (w, h) = img.dimensions();
        // The level at or below which more than `share` of the pixels lie.
        let level = |img: &GrayImage, share: f64| {
            let mut levels: Vec<u8> = img.pixels().map(|p| p[0]).collect();
            levels.sort_unstable();
            let above = (levels.len() as f64 * share) as usize;
            levels.get(above).map_or(255, |&v| u32::from(v))
        };
        let mut page = level(img, 0.9);
        let (mut flatten, mut dark_cap) = (flatten, DARK_BACKGROUND);
        if page < DARK_BACKGROUND && level(img, 0.5) < DARK_THEME_MEDIAN {
            for p in img.pixels_mut() {
                p[0] = 255 - p[0];
            }
            page = level(img, 0.9);
            (flatten, dark_cap) = (true, DARK_THEME_PANEL);
        }
        let dark_below = dark_cap.min(page.saturating_sub(70));
        // Rows most of whose pixels are dark, and each run's mean level.
        let dark_row: Vec<bool> = (0..h)
            .map(|y| {
                let dark = (0..w)
                    .filter(|&x| (img.get_pixel(x, y)[0] as u32) < dark_below)
                    .count();
                dark as f32 >= BAR_DARK_SHARE * w as f32
            })
            .collect();
        let mut bar_mean = vec![None; h as usize];
        let mut y = 0;
        while y < h as usize {
            let start = y;
            while y < h as usize && dark_row[y] {
                y += 1;
            }
            if y > start {
                let sum: u64 = (start..y)
                    .flat_map(|r| (0..w).map(move |x| (x, r as u32)))
                    .map(|(x, r)| img.get_pixel(x, r)[0] as u64)
                    .sum();
                let n = (y - start) as u64 * w as u64;
                bar_mean[start..y].fill(Some((sum / n) as u32));
            } else {
                y += 1;
            }
        }
        // Each bar row's span from its first to its last dark pixel; the rest of the row,
        // when wider than a letter, takes the bar's level.
        let margin = (radius / 2).max(1);
        for y in 0..h {
            let Some(level) = bar_mean[y as usize] else {
                continue;
            };
            let dark = |x: &u32| (img.get_pixel(*x, y)[0] as u32) < dark_below;
            let Some(from) = (0..w).find(dark) else {
                continue;
            };
            let to = (0..w).rev().find(dark).map_or(w, |x| x + 1);
            for x in 0..w {
                let outside = (x < from && from >= margin) || (x >= to && w - to >= margin);
                if outside {
                    img.put_pixel(x, y, image::Luma([level as u8]));
                }
            }
        }
        let means = reference_means(img, radius, 4);
        for (x, y, p) in img.enumerate_pixels_mut() {
            let mut mean = means.get_pixel(x, y)[0];
            if let Some(bar) = bar_mean[y as usize] {
                if mean >= dark_below && mean + BAR_MIXED_BELOW_PAGE < page {
                    mean = bar;
                }
            }
            if mean < dark_below {
                let inv = 255 - p[0] as u32;
                p[0] = (inv * 255 / (255 - mean).max(1)).min(255) as u8;
            } else if flatten {
                let below = mean.saturating_sub(p[0] as u32) * FLATTEN_GAIN * 255 / mean.max(1);
                p[0] = 255u32.saturating_sub(below) as u8;
            }
        }
    }

    /// Each pixel's [`MeanGrid`] mean as it was computed before: imageproc's integral
    /// image, and the grid cell looked up per pixel.
    fn reference_means(
        img: &GrayImage,
        radius: u32,
        step: u32,
    ) -> image::ImageBuffer<image::Luma<u32>, Vec<u32>> {
        let (w, h) = img.dimensions();
        let integral = integral_image::<_, u32>(img);
        image::ImageBuffer::from_fn(w, h, |x, y| {
            let (x, y) = (
                (x / step * step + step / 2).min(w - 1),
                (y / step * step + step / 2).min(h - 1),
            );
            let (x0, x1) = (x.saturating_sub(radius), (x + radius).min(w - 1));
            let (y0, y1) = (y.saturating_sub(radius), (y + radius).min(h - 1));
            let n = (x1 - x0 + 1) * (y1 - y0 + 1);
            image::Luma([sum_image_pixels(&integral, x0, y0, x1, y1)[0] / n])
        })
    }

    /// [`glyph_heights`] as it was computed before: a mask per kind from the per-pixel
    /// formula, imageproc's labelling, boxes gathered pixel by pixel; sorted.
    fn glyph_heights_reference(img: &GrayImage, radius: u32) -> Vec<f32> {
        let (w, h) = img.dimensions();
        let means = reference_means(img, radius, 2);
        let mut heights = Vec::new();
        for dark in [true, false] {
            let mask = GrayImage::from_fn(w, h, |x, y| {
                let (mean, v) = (
                    means.get_pixel(x, y)[0] as i32,
                    img.get_pixel(x, y)[0] as i32,
                );
                let hit = if dark { v < mean - 18 } else { v > mean + 18 };
                image::Luma([if hit { 255 } else { 0 }])
            });
            let labels = imageproc::region_labelling::connected_components(
                &mask,
                imageproc::region_labelling::Connectivity::Eight,
                image::Luma([0u8]),
            );
            let n = labels.pixels().map(|l| l[0]).max().unwrap_or(0) as usize;
            let mut boxes = vec![[u32::MAX, u32::MAX, 0, 0, 0]; n + 1];
            for (x, y, l) in labels.enumerate_pixels() {
                let b = &mut boxes[l[0] as usize];
                b[0] = b[0].min(x);
                b[1] = b[1].min(y);
                b[2] = b[2].max(x);
                b[3] = b[3].max(y);
                b[4] += 1;
            }
            heights.extend(boxes.iter().skip(1).filter(|b| b[4] > 0).filter_map(|b| {
                let (w, h) = ((b[2] - b[0] + 1) as f32, (b[3] - b[1] + 1) as f32);
                let fill = b[4] as f32 / (w * h);
                let glyph_like = (4.0..=80.0).contains(&h) && w <= 1.6 * h && w >= 0.15 * h;
                (glyph_like && fill > 0.12 && fill < 0.9).then_some(h)
            }));
        }
        heights.sort_by(f32::total_cmp);
        heights
    }

    #[test]
    fn glyph_heights_match_masks_and_labelling() {
        let rings = GrayImage::from_fn(240, 120, |x, y| {
            // Ring-shaped "letters" of several sizes, a pixel apart, dark on light and
            // light on a dark band.
            let size = 5 + (x / 40) * 3;
            let (cx, cy) = (x % size, y % size);
            let inside = cx < size - 1 && cy < size - 1;
            let edge = inside && (cx == 0 || cy == 0 || cx == size - 2 || cy == size - 2);
            let band = y > 80;
            image::Luma([match (band, edge) {
                (false, true) => 30,
                (false, false) => 230,
                (true, true) => 240,
                (true, false) => 25,
            }])
        });
        assert!(glyph_heights_reference(&rings, 12).len() >= 20);
        let mut fast = glyph_heights(&rings, 12);
        fast.sort_by(f32::total_cmp);
        assert_eq!(fast, glyph_heights_reference(&rings, 12));
        for (i, (w, h)) in [(203u32, 157u32), (64, 64), (1, 9), (37, 1), (2, 2)]
            .into_iter()
            .enumerate()
        {
            let img = synthetic_page(w, h, 0x5151 + i as u64);
            for radius in [1, 12, 40] {
                let mut fast = glyph_heights(&img, radius);
                fast.sort_by(f32::total_cmp);
                let reference = glyph_heights_reference(&img, radius);
                assert_eq!(fast, reference, "{w}x{h} radius {radius}");
            }
        }
        assert!(!glyph_heights_reference(&synthetic_page(203, 157, 7), 12).is_empty());
        assert!(glyph_heights(&GrayImage::new(0, 5), 12).is_empty());
    }

    #[test]
    fn histogram_counts_every_pixel() {
        let img = synthetic_page(203, 157, 3);
        let mut reference = [0u64; 256];
        for p in img.pixels() {
            reference[p[0] as usize] += 1;
        }
        assert_eq!(histogram([samples(&img)]), reference);
        // Rows whose lengths are not multiples of four.
        let rows: Vec<&[u8]> = samples(&img).chunks(7).collect();
        assert_eq!(histogram(rows), reference);
    }

    #[test]
    fn stretch_table_matches_the_per_pixel_formula() {
        // Washed out (levels 60..=180) and stretched; measured in a region, applied to all.
        let img = GrayImage::from_fn(150, 90, |x, y| {
            image::Luma([(60 + (x * 7 + y * 13) % 121) as u8])
        });
        for region in [[0, 0, 150, 90], [20, 10, 60, 40], [140, 80, 50, 50]] {
            let mut fast = img.clone();
            stretch_contrast(&mut fast, region);
            let [x0, y0, w, h] = region;
            let mut hist = [0u64; 256];
            for y in y0..(y0 + h).min(90) {
                for x in x0..(x0 + w).min(150) {
                    hist[img.get_pixel(x, y)[0] as usize] += 1;
                }
            }
            let total: u64 = hist.iter().sum();
            let percentile = |q: f64| {
                let target = (total as f64 * q) as u64;
                let mut acc = 0;
                hist.iter()
                    .position(|&c| {
                        acc += c;
                        acc > target
                    })
                    .unwrap_or(255) as u8
            };
            let (lo, hi) = (percentile(0.002), percentile(0.998));
            assert!(
                hi > lo.saturating_add(16) && hi - lo < 160,
                "the test must stretch"
            );
            let (lo_f, span) = (lo as f32, (hi - lo) as f32);
            let mut reference = img.clone();
            for p in reference.pixels_mut() {
                p[0] = (((p[0] as f32 - lo_f) / span) * 255.0).clamp(0.0, 255.0) as u8;
            }
            assert!(fast == reference, "{region:?}");
        }
    }

    /// A synthetic page: light and dark panels, a grey patch, letters and noise, so every
    /// branch of [`normalise_polarity`] runs; sides not multiples of the grid step.
    fn synthetic_page(w: u32, h: u32, seed: u64) -> GrayImage {
        synthetic_page_in(w, h, seed, [35, 90, 170, 235])
    }

    /// [`synthetic_page`] in other levels: sidebar, top bar, panel, page.
    fn synthetic_page_in(w: u32, h: u32, seed: u64, levels: [i32; 4]) -> GrayImage {
        let [sidebar, top_bar, panel, main] = levels;
        let mut state = seed;
        let mut noise = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % 61) as i32 - 30
        };
        GrayImage::from_fn(w, h, |x, y| {
            let base = if x < w / 4 {
                sidebar
            } else if y < h / 5 {
                top_bar
            } else if x > w * 3 / 4 && y > h / 2 {
                panel
            } else {
                main
            };
            let letter = (x / 3) % 4 == 0 && (y / 5) % 3 == 1;
            let v = if letter { 255 - base } else { base } + noise();
            image::Luma([v.clamp(0, 255) as u8])
        })
    }

    #[test]
    fn polarity_table_matches_the_per_pixel_formula() {
        for (i, (w, h)) in [(203u32, 157u32), (64, 64), (1, 9), (37, 1)]
            .into_iter()
            .enumerate()
        {
            for radius in [1, 10, 40] {
                for flatten in [false, true] {
                    let mut fast = synthetic_page(w, h, 0x9e37_79b9 + i as u64);
                    let mut reference = fast.clone();
                    normalise_polarity(&mut fast, radius, flatten);
                    normalise_polarity_reference(&mut reference, radius, flatten);
                    assert!(
                        fast == reference,
                        "{w}x{h} radius {radius} flatten {flatten}"
                    );
                }
            }
        }
        // A washed-out page (its bright end low) moves the dark level down.
        let mut fast = GrayImage::from_fn(120, 90, |x, y| {
            image::Luma([(60 + (x * 7 + y * 3) % 90) as u8])
        });
        let mut reference = fast.clone();
        normalise_polarity(&mut fast, 12, true);
        normalise_polarity_reference(&mut reference, 12, true);
        assert!(fast == reference);
        // A dark theme (a darker sidebar, lighter bar and panel), inverted whole first.
        for flatten in [false, true] {
            let mut fast = synthetic_page_in(203, 157, 5, [15, 60, 120, 25]);
            let mut reference = fast.clone();
            normalise_polarity(&mut fast, 10, flatten);
            normalise_polarity_reference(&mut reference, 10, flatten);
            assert!(fast == reference, "dark theme, flatten {flatten}");
        }
    }

    #[test]
    fn counted_steps_hand_on_the_histogram_of_their_output() {
        let page = synthetic_page(203, 157, 11);
        // Washed out, so that the stretch runs, and not.
        let washed = GrayImage::from_fn(203, 157, |x, y| {
            image::Luma([60 + page.get_pixel(x, y)[0] / 3])
        });
        for img in [&page, &washed] {
            let mut fast = img.clone();
            let levels = stretch_contrast_counted(&mut fast, [0, 0, 203, 157]);
            assert_eq!(levels, Some(histogram([samples(&fast)])));
            let mut part = img.clone();
            assert_eq!(stretch_contrast_counted(&mut part, [5, 5, 100, 100]), None);
        }
        let mut unblurred = page.clone();
        assert_eq!(unsharp_counted(&mut unblurred, 0.5, 2.0), None);
        assert!(unblurred == page);
    }

    #[test]
    fn unsharp_table_matches_the_per_pixel_formula() {
        for (w, h) in [(203u32, 157u32), (64, 17), (16, 16)] {
            let img = synthetic_page(w, h, 0xabc + w as u64);
            for (sigma, amount) in [(4.0, 2.0), (1.5, 0.7), (9.0, 3.3)] {
                let blurred_small = imageproc::filter::gaussian_blur_f32(
                    &resize_gray_to(&img, w / 4, h / 4, FilterType::Triangle),
                    (sigma / 4.0f32).max(0.5),
                );
                let blurred = resize_gray_to(&blurred_small, w, h, FilterType::Triangle);
                let mut reference = img.clone();
                for (p, b) in reference.pixels_mut().zip(blurred.pixels()) {
                    let v = p[0] as f32;
                    p[0] = (v + amount * (v - b[0] as f32)).clamp(0.0, 255.0) as u8;
                }
                let mut fast = img.clone();
                let levels = unsharp_counted(&mut fast, sigma, amount);
                assert!(fast == reference, "{w}x{h} sigma {sigma}");
                assert_eq!(levels, Some(histogram([samples(&fast)])));
            }
        }
    }

    #[test]
    fn stretch_uses_full_range() {
        let mut img = GrayImage::from_fn(200, 10, |x, _| image::Luma([100 + (x as u8) / 4]));
        stretch_contrast(&mut img, [0, 0, 200, 10]);
        let (min, max) = img
            .pixels()
            .fold((255, 0), |(a, b), p| (p[0].min(a), p[0].max(b)));
        assert!(min < 10 && max > 245, "{min} {max}");
    }
}
