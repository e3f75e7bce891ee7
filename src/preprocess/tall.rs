//! Pages longer than any screen: a page captured whole (a scrolling screenshot) or a strip
//! cut from one. Its letters are as large as on a screen as wide as the page, so its scale
//! is set by its short side, not its long one (which would shrink a page of eight screens
//! to an eighth and lose its text). Tesseract reads a very tall page in bands, cut where a
//! row shows no ink: read whole, an eight-screen page took 18 s at a reduced scale.

use image::GrayImage;

/// Long side over short side of the longest screens: a phone's in portrait (about 2.17).
pub const MAX_SCREEN_ASPECT: f32 = 2.2;

/// Most OCR pixels a page longer than a screen may have, in multiples of the usual cap
/// (`MAX_OCR_PIXELS`): its text needs the scale a screen's gets, but its pixels
/// must stay bounded.
pub const MAX_TALL_BUDGET: f32 = 3.0;

/// Aspect (height over width) of one band of a tall page read by OCR: a phone screen's,
/// or about four landscape screens of the same width. A page at most twice this tall is
/// read whole, as any screen is.
pub const BAND_ASPECT: f32 = MAX_SCREEN_ASPECT;

/// Most bands a page is read in: a needle of an image (a few pixels wide, thousands
/// tall) gets fewer, taller bands rather than a Tesseract call per handful of rows.
pub const MAX_BANDS: u32 = 32;

/// Whether an image of `width` by `height` is longer than any screen.
pub fn longer_than_a_screen(width: u32, height: u32) -> bool {
    let (long, short) = (width.max(height), width.min(height));
    long as f32 > short as f32 * MAX_SCREEN_ASPECT
}

/// The side that sets an image's scale: its long side, as of a screen, or the short side
/// of a page longer than any screen (its width, for a scrolling screenshot).
pub fn scale_side(width: u32, height: u32) -> u32 {
    if longer_than_a_screen(width, height) {
        width.min(height)
    } else {
        width.max(height)
    }
}

/// How many times the usual OCR pixel budget an image of `width` by `height` gets: 1 for
/// a screen, its length in screens for a longer page, at most [`MAX_TALL_BUDGET`].
pub fn budget_factor(width: u32, height: u32) -> f32 {
    let (long, short) = (width.max(height), width.min(height).max(1));
    (long as f32 / short as f32 / MAX_SCREEN_ASPECT).clamp(1.0, MAX_TALL_BUDGET)
}

/// The bands (left, top, width, height) in which OCR reads `img`, top to bottom, when it
/// is more than two bands tall; else none, and it is read whole. Each band is about
/// [`BAND_ASPECT`] times as tall as wide, cut at the row with the least ink near there
/// (dark pixels: text is dark on light by now), so that no line of text is cut in two.
pub fn ocr_bands(img: &GrayImage) -> Vec<[u32; 4]> {
    let (w, h) = img.dimensions();
    let nominal = ((w as f32 * BAND_ASPECT) as u32).max(h / MAX_BANDS);
    if w == 0 || h <= nominal.saturating_mul(2) {
        return Vec::new();
    }
    let ink: Vec<u32> = img
        .as_raw()
        .chunks_exact(w as usize)
        .map(|row| row.iter().filter(|&&v| v < 128).count() as u32)
        .collect();
    let slack = nominal / 8;
    let mut bands = Vec::new();
    let mut top = 0;
    while h - top > nominal + slack {
        let aim = top + nominal;
        let cut = (aim - slack..=aim + slack)
            .min_by_key(|&y| (ink[y as usize], y.abs_diff(aim)))
            .unwrap_or(aim);
        bands.push([0, top, w, cut - top]);
        top = cut;
    }
    bands.push([0, top, w, h - top]);
    bands
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn screens_scale_by_their_long_side_and_longer_pages_by_their_width() {
        assert_eq!(scale_side(1366, 768), 1366);
        assert_eq!(scale_side(390, 844), 844, "a phone in portrait is a screen");
        assert_eq!(scale_side(1366, 6144), 1366, "eight screens of a page");
        assert_eq!(scale_side(6000, 400), 400, "a strip cut along a page");
        assert_eq!(budget_factor(1366, 768), 1.0);
        assert_eq!(budget_factor(1366, 16384), MAX_TALL_BUDGET);
        assert!((budget_factor(1000, 4400) - 2.0).abs() < 1e-6);
    }

    #[test]
    fn a_tall_page_is_read_in_bands_cut_between_lines() {
        // Lines of text 12 rows high every 40 rows, on white.
        let (w, h) = (100, 1000);
        let img = GrayImage::from_fn(w, h, |x, y| {
            image::Luma([if y % 40 < 12 && x % 3 != 0 { 0 } else { 255 }])
        });
        let bands = ocr_bands(&img);
        assert!(bands.len() >= 4, "{bands:?}");
        assert_eq!(bands[0][1], 0);
        for pair in bands.windows(2) {
            let [_, top, _, height] = pair[0];
            let next = pair[1][1];
            assert_eq!(top + height, next, "bands tile the page");
            assert!(next % 40 >= 12, "cut at {next}, inside a line of text");
        }
        let [_, top, _, height] = bands[bands.len() - 1];
        assert_eq!(top + height, h);
        // A needle of an image is read in a bounded number of bands.
        let needle = ocr_bands(&GrayImage::from_pixel(10, 60_000, image::Luma([255])));
        assert!(
            (3..=MAX_BANDS as usize + 1).contains(&needle.len()),
            "{}",
            needle.len()
        );
        // A screen, and a page of two bands, are read whole.
        assert!(ocr_bands(&GrayImage::new(1366, 768)).is_empty());
        assert!(ocr_bands(&GrayImage::new(100, 440)).is_empty());
    }
}
