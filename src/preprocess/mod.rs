//! Preprocess: from decoded pixels to what OCR and the visual fingerprint want.
//!
//! OCR wants grayscale (colour costs Tesseract ~8 points of word accuracy) at a scale where
//! UI text is large enough: we measure the text height from connected components and
//! scale to a target, instead of upscaling blindly (time grows with the pixel count).

use image::{imageops::FilterType, DynamicImage, GrayImage, RgbImage};

pub mod screen;

pub use screen::Screen;

/// Long side above which an image is first reduced: more pixels than this add cost, not text.
pub const WORKING_MAX_SIDE: u32 = 3000;
/// Median glyph height (pixels) we scale scanned images to for OCR. Tesseract reads best
/// around here; larger costs time for little gain.
pub const SCAN_GLYPH_HEIGHT: f32 = 22.0;
/// Enrollment screenshots are few and clean: read them larger, for the best vocabulary.
pub const ENROLL_GLYPH_HEIGHT: f32 = 22.0;
/// OCR input is never larger than this many pixels, whatever the estimate says.
pub const MAX_OCR_PIXELS: f32 = 6.5e6;

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
}

impl Prepared {
    /// The images to OCR, `ocr_gray` first, each with its size relative to `ocr_gray`;
    /// their readings are united ([`crate::ocr::OcrEngine::read_all`]).
    pub fn ocr_inputs(&self) -> impl Iterator<Item = (&GrayImage, f32)> {
        std::iter::once((&self.ocr_gray, 1.0)).chain(self.ocr_alt.as_ref().map(|(g, f)| (g, *f)))
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
    prepare_as(gray, image, glyph_target, true)
}

/// As [`prepare`], for an image known to be a clean screenshot (an enrollment reference):
/// no photographed screen is looked for, so a page whose bars and cards make a bright
/// quadrilateral of its content is never warped.
pub fn prepare_screenshot(image: &DynamicImage, glyph_target: f32) -> Prepared {
    prepare_as(luma8(image), image, glyph_target, false)
}

fn prepare_as(
    gray: GrayImage,
    image: &DynamicImage,
    glyph_target: f32,
    may_be_photo: bool,
) -> Prepared {
    let (width, height) = (image.width(), image.height());
    let long = width.max(height);
    let work_scale = if long > WORKING_MAX_SIDE {
        WORKING_MAX_SIDE as f32 / long as f32
    } else {
        1.0
    };
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
    let screen = if may_be_photo {
        screen::find_screen(&work)
    } else {
        None
    };
    if let Some(s) = &screen {
        work = screen::rectify(&work, s);
    }
    let glyph_work = estimate_glyph_height(&work);
    let mut extra = match glyph_work {
        Some(h) => (glyph_target / h).clamp(0.8, 4.0),
        // No text-like shapes: a moderate upscale still gives OCR its chance.
        None => (1600.0 / work.width().max(1) as f32).clamp(1.0, 2.0),
    };
    let pixels = work.width() as f32 * work.height() as f32;
    let budget = if screen.is_some() {
        MAX_OCR_PIXELS * screen::MARGIN_AREA_FACTOR
    } else {
        MAX_OCR_PIXELS
    };
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
    // A photographed screen's statistics come from the screen, not its dark surround.
    let core = screen.map_or([0, 0, ocr_gray.width(), ocr_gray.height()], |s| {
        s.core.map(|v| (v as f32 * extra) as u32)
    });
    // Each step hands on the histogram of the image it leaves, when it has it: counting
    // the levels of the OCR image again costs a millisecond or more.
    let mut levels = stretch_contrast_counted(&mut ocr_gray, core);
    let glyph_ocr = glyph_work.map_or(TYPICAL_GLYPH, |h| h * extra);
    let radius = (glyph_ocr * 2.0).max(10.0) as u32;
    let mut ocr_alt = None;
    if screen.is_some() {
        // Phone photos are soft (focus, motion, moire filtering): sharpen at the scale of
        // the letters, which lifts Tesseract's reading of them markedly.
        levels = unsharp_counted(&mut ocr_gray, glyph_ocr * 0.5, 2.0).or(levels);
        ocr_alt = Some(second_ocr_input(&ocr_gray, radius));
    }
    normalise_polarity_counted(&mut ocr_gray, radius, screen.is_some(), levels.as_ref());
    let thumb_scale = (256.0 / long as f32).min(1.0);
    // Reduced in the decoded pixel format, then converted: no full-size RGB copy.
    let thumb = image
        .thumbnail(
            ((width as f32 * thumb_scale).round() as u32).max(1),
            ((height as f32 * thumb_scale).round() as u32).max(1),
        )
        .to_rgb8();
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
    }
}

/// `image.to_luma8()`, pixel for pixel, in 1.05 ms instead of 1.75 on the mean DEV image
/// for 8-bit RGB and RGBA (what the decoders give for nearly every posted image): the
/// `image` crate converts through a buffer of `f32` samples and rounds with a libm call,
/// and on a scan that was most of the gate's time. The arithmetic is the crate's own, step
/// by step (sample times 1/255, luma weights accumulated red, green, blue, fused only where
/// the crate fuses, times 255, rounded half away from zero), and the weights are read from
/// the crate itself for the image's colour space, so the result is the same, as a test
/// checks for every RGB colour. Other pixel formats go to `to_luma8`.
pub fn luma8(image: &DynamicImage) -> GrayImage {
    let (samples, channels) = match image {
        DynamicImage::ImageRgb8(img) => (img.as_raw(), 3),
        DynamicImage::ImageRgba8(img) => (img.as_raw(), 4),
        _ => return image.to_luma8(),
    };
    let Some(weights) = luma_weights(image) else {
        return image.to_luma8();
    };
    let (w, h) = (image.width(), image.height());
    let mut luma = vec![0u8; w as usize * h as usize];
    let converted = if channels == 3 {
        luma_of::<3>(samples, weights, &mut luma)
    } else {
        luma_of::<4>(samples, weights, &mut luma)
    };
    if !converted {
        return image.to_luma8();
    }
    // Tagged with the image's colour space, as `to_luma8` tags its copy.
    let Some(mut gray) = GrayImage::from_raw(w, h, luma) else {
        return image.to_luma8();
    };
    match gray.set_color_space(image.color_space()) {
        Ok(()) => gray,
        Err(_) => image.to_luma8(),
    }
}

/// [`luma8`]'s conversion of pixels of `C` 8-bit channels (red, green, blue first) into
/// `out`, one per pixel; false if `samples` holds too few pixels.
fn luma_of<const C: usize>(samples: &[u8], [kr, kg, kb]: [f32; 3], out: &mut [u8]) -> bool {
    let Some(samples) = samples.get(..out.len() * C) else {
        return false;
    };
    // The crate's expansion of an 8-bit sample to `f32`.
    let expand = |v: u8| v as f32 * (1.0 / 255.0);
    for (p, o) in samples.as_chunks::<C>().0.iter().zip(out.iter_mut()) {
        let l = multiply_accumulate(0.0, expand(p[0]), kr);
        let l = multiply_accumulate(l, expand(p[1]), kg);
        let l = multiply_accumulate(l, expand(p[2]), kb);
        *o = round_to_u8(l * 255.0);
    }
    true
}

/// The weights `to_luma8` gives red, green and blue in `image`'s colour space, read back
/// from the crate: the `f32` luma of pure red, green and blue is each weight exactly.
fn luma_weights(image: &DynamicImage) -> Option<[f32; 3]> {
    let pure = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0];
    let mut probe = image::Rgb32FImage::from_raw(3, 1, pure.to_vec())?;
    probe.set_color_space(image.color_space()).ok()?;
    let luma = DynamicImage::ImageRgb32F(probe).to_luma32f();
    match luma.as_raw().as_slice() {
        &[r, g, b] => Some([r, g, b]),
        _ => None,
    }
}

/// `acc + a * b`, fused exactly where the `image` crate's colour conversion fuses it
/// (targets with FMA, or NEON), so that [`luma8`] rounds as it does.
#[inline(always)]
fn multiply_accumulate(acc: f32, a: f32, b: f32) -> f32 {
    if cfg!(any(
        all(
            any(target_arch = "x86", target_arch = "x86_64"),
            target_feature = "fma"
        ),
        all(target_arch = "aarch64", target_feature = "neon")
    )) {
        a.mul_add(b, acc)
    } else {
        acc + a * b
    }
}

/// `v.round() as u8` (half away from zero, saturating) without `f32::round`, which is a
/// libm call on baseline x86-64. Clamped first (the cast saturates to the same values,
/// NaN stays NaN and gives 0), then for `0 <= c <= 255`, `c - trunc(c)` is exact, so the
/// half is judged on the true fraction.
#[inline(always)]
fn round_to_u8(v: f32) -> u8 {
    let c = v.clamp(0.0, 255.0);
    let t = c as i32;
    let up = i32::from(c - t as f32 >= 0.5);
    (t + up) as u8
}

/// Resizes `img` by `scale` (each side rounded, at least 1 pixel) with `resize_gray_to`.
/// Public for the `preprocess_timing` example, which times [`prepare_gray`]'s steps.
pub fn resize_gray(img: &GrayImage, scale: f32, filter: FilterType) -> GrayImage {
    let w = ((img.width() as f32 * scale).round() as u32).max(1);
    let h = ((img.height() as f32 * scale).round() as u32).max(1);
    resize_gray_to(img, w, h, filter)
}

/// Resizes `img` to `w` x `h` with `fast_image_resize` (SIMD convolution): the `image`
/// crate's resize is several times slower, and was the costliest part of preprocessing and
/// of the gate. `Triangle` (and `Nearest`) map to bilinear convolution, the same kernel as
/// the `image` crate's `Triangle`. Falls back to the `image` crate if the SIMD resizer
/// refuses the buffers (it should not: they are plain `u8` rows).
pub(crate) fn resize_gray_to(img: &GrayImage, w: u32, h: u32, filter: FilterType) -> GrayImage {
    fast_resize(img, w, h, filter).unwrap_or_else(|| image::imageops::resize(img, w, h, filter))
}

fn fast_resize(img: &GrayImage, w: u32, h: u32, filter: FilterType) -> Option<GrayImage> {
    use fast_image_resize as fr;
    let src = fr::images::ImageRef::new(img.width(), img.height(), img.as_raw(), fr::PixelType::U8)
        .ok()?;
    let mut dst = fr::images::Image::new(w, h, fr::PixelType::U8);
    let alg = match filter {
        FilterType::CatmullRom => fr::FilterType::CatmullRom,
        FilterType::Lanczos3 => fr::FilterType::Lanczos3,
        FilterType::Gaussian => fr::FilterType::Gaussian,
        FilterType::Nearest | FilterType::Triangle => fr::FilterType::Bilinear,
    };
    let options = fr::ResizeOptions::new().resize_alg(fr::ResizeAlg::Convolution(alg));
    fr::Resizer::new().resize(&src, &mut dst, &options).ok()?;
    GrayImage::from_raw(w, h, dst.into_vec())
}

/// Size of a photographed screen's second OCR input relative to the first. Unflattened,
/// a photo's noise costs Tesseract time: measured on the 86 DEV-XL phone photos with the 13
/// extra systems enrolled, the second reading at full size added 3 leaks and 3 reviews to
/// the 58 positives and cost 0.8 s of CPU per photo, at 0.7 3 leaks and 1 review for 0.4 s,
/// at 0.5 2 leaks for 0.2 s.
pub const ALT_SCALE: f32 = 0.7;

/// A photographed screen's second OCR input ([`Prepared::ocr_alt`]) from the sharpened
/// screen and the polarity window `radius` of the first: reduced to [`ALT_SCALE`], dark
/// regions inverted, light not flattened. Public for the `preprocess_timing` example.
pub fn second_ocr_input(sharpened: &GrayImage, radius: u32) -> (GrayImage, f32) {
    let mut alt = resize_gray(sharpened, ALT_SCALE, FilterType::Triangle);
    let alt_radius = (radius as f32 * ALT_SCALE) as u32;
    normalise_polarity_counted(&mut alt, alt_radius.max(1), false, None);
    (alt, ALT_SCALE)
}

/// Glyph height assumed when none could be measured. Public for the `preprocess_timing`
/// example.
pub const TYPICAL_GLYPH: f32 = 16.0;
/// Local background brightness below which a region is taken as dark (light text on it),
/// at most: washed-out photos lower it (see [`normalise_polarity`]).
const DARK_BACKGROUND: u32 = 150;

/// How much [`normalise_polarity`] amplifies letters' contrast with a photo's page.
const FLATTEN_GAIN: u32 = 2;

/// Inverts dark regions (sidebars, top bars, banners, dark themes) so all text is dark on
/// light: Tesseract reads light-on-dark text poorly. `radius` should span a few glyphs, so
/// the local mean reflects the background rather than the letters. With `flatten`, light
/// regions are divided by their local mean too, so a photo's uneven light (vignetting,
/// glare, a grey screen next to a white margin) leaves one white background that a
/// single global threshold (Tesseract's) suits.
pub fn normalise_polarity(img: &mut GrayImage, radius: u32, flatten: bool) {
    normalise_polarity_counted(img, radius, flatten, None);
}

/// [`normalise_polarity`], given `levels`, the histogram of `img`, when the caller has it.
/// Public, like the other `_counted` steps, for the `preprocess_timing` example.
pub fn normalise_polarity_counted(
    img: &mut GrayImage,
    radius: u32,
    flatten: bool,
    levels: Option<&[u64; 256]>,
) {
    let (w, h) = img.dimensions();
    if w == 0 || h == 0 {
        return;
    }
    // A region is dark relative to the page, whose level is the bright end of the
    // histogram (not its median: a dark-theme post frame or a wide dark sidebar can cover
    // most of the image): on a washed-out photo (grey page) a mid-grey patch of moire is
    // not a dark panel.
    let hist = levels.copied().unwrap_or_else(|| histogram([samples(img)]));
    let below_page = w as u64 * h as u64 * 9 / 10;
    let mut acc = 0;
    let page = hist
        .iter()
        .position(|&c| {
            acc += c;
            acc > below_page
        })
        .unwrap_or(255) as u32;
    let dark_below = DARK_BACKGROUND.min(page.saturating_sub(70));
    // Beside a bar's ends (a rounded corner, a bar short of the image's side) the row is
    // page. Averaged into the windows at the bar's end, it leaves them light, and the
    // bar's end uninverted: a black block against the first letter, which Tesseract then
    // misreads. Painted in the bar's level, it is inverted to white with the bar. A span
    // narrower than a letter is left: a light letter cut by the image's edge.
    let bars = dark_bars(img, dark_below);
    let margin = (radius / 2).max(1) as usize;
    for (row, bar) in samples_mut(img).chunks_exact_mut(w as usize).zip(&bars) {
        if let Some(bar) = bar {
            if bar.from >= margin {
                row[..bar.from].fill(bar.level);
            }
            if row.len() - bar.to >= margin {
                row[bar.to..].fill(bar.level);
            }
        }
    }
    let grid = MeanGrid::new(img, radius, 4);
    let means = grid
        .means
        .iter()
        .chain(bars.iter().flatten().map(|b| &b.level))
        .copied();
    let table = polarity_table(means, dark_below, flatten);
    let step = grid.step as usize;
    // Row by row, one local mean per `step` pixels: the inner loop is a table lookup.
    for (y, row) in samples_mut(img).chunks_exact_mut(w as usize).enumerate() {
        let bar = bars[y];
        for (run, &mean) in row.chunks_mut(step).zip(grid.row(y as u32)) {
            let mut mean = u32::from(mean);
            // A window straddling a thin bar and the page is neither dark nor page-white:
            // the bar's own level says what its letters sit on.
            if let Some(bar) = bar {
                if mean >= dark_below && mean + BAR_MIXED_BELOW_PAGE < page {
                    mean = u32::from(bar.level);
                }
            }
            if !flatten && mean >= dark_below {
                continue; // A light region, left as it is.
            }
            let out = &table[mean as usize * 256..][..256];
            for p in run {
                *p = out[*p as usize];
            }
        }
    }
}

/// Share of a row's pixels that must be dark for it to be part of a bar (a marking
/// banner, a top bar) running across the image; light letters on it take the rest.
const BAR_DARK_SHARE: f32 = 0.6;

/// How far below the page level a window's mean must be to be taken as straddling a bar.
const BAR_MIXED_BELOW_PAGE: u32 = 25;

/// A horizontal dark bar's level and its extent along a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Bar {
    /// Mean level of the bar's rows.
    level: u8,
    /// The row's first dark pixel.
    from: usize,
    /// One past its last.
    to: usize,
}

/// For each row of `img`, the horizontal dark bar it belongs to, if any: consecutive rows
/// most of whose pixels are below `dark_below`. A banner thinner than the local-mean
/// window (a marking strip at the page's edge, often cut by a crop) is otherwise averaged
/// with the white page around it and left uninverted, light letters on dark. A bar row
/// extends from its first dark pixel to its last.
fn dark_bars(img: &GrayImage, dark_below: u32) -> Vec<Option<Bar>> {
    let w = img.width() as usize;
    let rows: Vec<(bool, u64)> = samples(img)
        .chunks_exact(w.max(1))
        .map(|row| {
            // Narrow, branch-free sums: these loops vectorise (a row's sum fits a u32).
            let dark: u32 = row
                .iter()
                .map(|&p| u32::from(u32::from(p) < dark_below))
                .sum();
            let sum: u32 = row.iter().map(|&p| u32::from(p)).sum();
            (dark as f32 >= BAR_DARK_SHARE * w as f32, u64::from(sum))
        })
        .collect();
    let mut out = vec![None; rows.len()];
    let mut y = 0;
    while y < rows.len() {
        if !rows[y].0 {
            y += 1;
            continue;
        }
        let start = y;
        let mut sum = 0u64;
        while y < rows.len() && rows[y].0 {
            sum += rows[y].1;
            y += 1;
        }
        let mean = sum / ((y - start) as u64 * w as u64).max(1);
        let level = u8::try_from(mean).unwrap_or(u8::MAX);
        let bar_rows = samples(img).chunks_exact(w.max(1)).skip(start);
        for (row, slot) in bar_rows.zip(&mut out[start..y]) {
            let (from, to) = dark_extent(row, dark_below).unwrap_or((0, w));
            *slot = Some(Bar { level, from, to });
        }
    }
    out
}

/// The span of `row` from its first pixel below `dark_below` to its last.
fn dark_extent(row: &[u8], dark_below: u32) -> Option<(usize, usize)> {
    let dark = |p: &u8| u32::from(*p) < dark_below;
    let first = row.iter().position(dark)?;
    let last = row.iter().rposition(dark)?;
    Some((first, last + 1))
}

/// [`normalise_polarity`]'s output for each local mean and pixel value, at
/// `mean * 256 + pixel`: the per-pixel divisions become one lookup. Only the rows of means
/// that occur in `means` are filled (each costs 256 divisions).
fn polarity_table(means: impl IntoIterator<Item = u8>, dark_below: u32, flatten: bool) -> Vec<u8> {
    let mut used = [false; 256];
    for m in means {
        used[m as usize] = true;
    }
    let mut table = vec![0u8; 256 * 256];
    for (mean, row) in table.chunks_exact_mut(256).enumerate() {
        if !used[mean] {
            continue;
        }
        let mean = mean as u32;
        for (p, out) in row.iter_mut().enumerate() {
            let p = p as u32;
            *out = if mean < dark_below {
                // Invert, and stretch so the dark background becomes white, like the rest
                // of the page: one global threshold then suits both.
                let inv = 255 - p;
                (inv * 255 / (255 - mean).max(1)).min(255) as u8
            } else if flatten {
                // White where the page is, and the letters' contrast with it (often faint
                // on a photo) amplified.
                let below = mean.saturating_sub(p) * FLATTEN_GAIN * 255 / mean.max(1);
                255u32.saturating_sub(below) as u8
            } else {
                p as u8
            };
        }
    }
    table
}

/// Counts of each level in `rows`. Four tables, filled in turn and summed at the end: a
/// screenshot is mostly one level, and with a single table each increment of that level's
/// count waits for the previous one (this loop was most of the time of its callers).
fn histogram<'a>(rows: impl IntoIterator<Item = &'a [u8]>) -> [u64; 256] {
    let mut tables = [[0u64; 256]; 4];
    for row in rows {
        let mut quads = row.chunks_exact(4);
        for q in &mut quads {
            tables[0][q[0] as usize] += 1;
            tables[1][q[1] as usize] += 1;
            tables[2][q[2] as usize] += 1;
            tables[3][q[3] as usize] += 1;
        }
        for &v in quads.remainder() {
            tables[0][v as usize] += 1;
        }
    }
    std::array::from_fn(|v| tables.iter().map(|t| t[v]).sum())
}

/// An image's pixels, row-major, without any spare capacity of its buffer: slices let the
/// hot loops run without per-pixel coordinate arithmetic and bounds checks.
fn samples(img: &GrayImage) -> &[u8] {
    let n = img.width() as usize * img.height() as usize;
    &img.as_raw()[..n]
}

/// Mutable [`samples`].
fn samples_mut(img: &mut GrayImage) -> &mut [u8] {
    let n = img.width() as usize * img.height() as usize;
    let data: &mut [u8] = img;
    &mut data[..n]
}

/// Means of the (2 * radius + 1)-square windows of an image, sampled every `step` pixels:
/// the windows span many pixels, so neighbouring means barely differ and sampling them
/// saves most of the cost on large OCR images.
struct MeanGrid {
    step: u32,
    cols: u32,
    /// Row-major, `cols` a row; a mean of `u8` pixels fits a `u8`.
    means: Vec<u8>,
}

impl MeanGrid {
    /// Built from column sums over the current window's rows, slid down the image (each
    /// row added once and removed once), and one prefix sum across them per grid row: a
    /// full summed-area table wrote four bytes per pixel and was most of the cost. Sums
    /// wrap, so a window's sum is exact whenever it fits a `u32` (16.8 M pixels or fewer).
    fn new(img: &GrayImage, radius: u32, step: u32) -> MeanGrid {
        let (w, h) = img.dimensions();
        let (cols, rows) = (w.div_ceil(step), h.div_ceil(step));
        let mut means = Vec::with_capacity(cols as usize * rows as usize);
        if w == 0 || h == 0 {
            return MeanGrid { step, cols, means };
        }
        let width = w as usize;
        let row = |y: u32| &samples(img)[y as usize * width..][..width];
        // Each grid column's window, columns `x0..x1`, the same on every grid row.
        let spans: Vec<(usize, usize)> = (0..cols)
            .map(|gx| {
                let x = (gx * step + step / 2).min(w - 1);
                (
                    x.saturating_sub(radius) as usize,
                    (x + radius).min(w - 1) as usize + 1,
                )
            })
            .collect();
        // `column[x]` sums rows `top..bottom` of column `x`; `prefix[x]` sums `column[..x]`.
        let mut column = vec![0u32; width];
        let mut prefix = vec![0u32; width + 1];
        let (mut top, mut bottom) = (0u32, 0u32);
        for gy in 0..rows {
            let y = (gy * step + step / 2).min(h - 1);
            let (y0, y1) = (y.saturating_sub(radius), (y + radius).min(h - 1) + 1);
            if y0 >= bottom {
                // No row in common with the last window (a radius below the step).
                column.fill(0);
                (top, bottom) = (y0, y0);
            }
            for y in bottom..y1 {
                for (c, &v) in column.iter_mut().zip(row(y)) {
                    *c = c.wrapping_add(u32::from(v));
                }
            }
            for y in top..y0 {
                for (c, &v) in column.iter_mut().zip(row(y)) {
                    *c = c.wrapping_sub(u32::from(v));
                }
            }
            (top, bottom) = (y0, y1);
            let mut acc = 0u32;
            for (p, &c) in prefix[1..].iter_mut().zip(&column) {
                acc = acc.wrapping_add(c);
                *p = acc;
            }
            let height = y1 - y0;
            for &(x0, x1) in &spans {
                let n = (x1 - x0) as u32 * height;
                let mean = prefix[x1].wrapping_sub(prefix[x0]) / n;
                means.push(u8::try_from(mean).unwrap_or(u8::MAX));
            }
        }
        MeanGrid { step, cols, means }
    }

    /// The means for image row `y`, one per `step` pixels.
    fn row(&self, y: u32) -> &[u8] {
        let start = ((y / self.step) * self.cols) as usize;
        &self.means[start..start + self.cols as usize]
    }
}

/// Unsharp mask: `img + amount * (img - blur(img, sigma))`. The blur runs at a quarter of
/// the resolution (it is smooth at these sigmas), which keeps it cheap on large images.
pub fn unsharp(img: &mut GrayImage, sigma: f32, amount: f32) {
    unsharp_counted(img, sigma, amount);
}

/// [`unsharp`], returning the histogram of the sharpened image, counted as it is written;
/// None when the image was left as it is (too small, or `sigma` below a pixel).
pub fn unsharp_counted(img: &mut GrayImage, sigma: f32, amount: f32) -> Option<[u64; 256]> {
    let (w, h) = img.dimensions();
    let f = 4u32;
    if w < f * 4 || h < f * 4 || sigma < 1.0 {
        return None;
    }
    let small = resize_gray_to(img, w / f, h / f, FilterType::Triangle);
    let blurred_small = imageproc::filter::gaussian_blur_f32(&small, (sigma / f as f32).max(0.5));
    let blurred = resize_gray_to(&blurred_small, w, h, FilterType::Triangle);
    // The float formula evaluated once per (pixel, blurred) pair, at `pixel * 256 +
    // blurred`: per pixel, a lookup (the clamped conversion did not vectorise).
    let table: Vec<u8> = (0..256 * 256)
        .map(|i| {
            let (v, b) = ((i >> 8) as f32, (i & 255) as f32);
            (v + amount * (v - b)).clamp(0.0, 255.0) as u8
        })
        .collect();
    // Four tables in turn, as in [`histogram`].
    let mut counts = [[0u64; 256]; 4];
    let mut pixels = samples_mut(img).chunks_exact_mut(4);
    let mut blurred_quads = samples(&blurred).chunks_exact(4);
    for (quad, bq) in (&mut pixels).zip(&mut blurred_quads) {
        for (k, (p, &b)) in quad.iter_mut().zip(bq).enumerate() {
            *p = table[usize::from(*p) << 8 | usize::from(b)];
            counts[k][usize::from(*p)] += 1;
        }
    }
    let rest = pixels.into_remainder().iter_mut();
    for (p, &b) in rest.zip(blurred_quads.remainder()) {
        *p = table[usize::from(*p) << 8 | usize::from(b)];
        counts[0][usize::from(*p)] += 1;
    }
    Some(std::array::from_fn(|v| counts.iter().map(|t| t[v]).sum()))
}

/// Linear stretch for washed-out images only (glare, grey phone photos): when the darkest
/// and lightest 0.2% lie less than 160 levels apart. Stretching a clean screenshot would
/// thicken anti-aliased letters until Tesseract merges them. The levels are measured in
/// `region` (left, top, width, height) and applied to the whole image.
pub fn stretch_contrast(img: &mut GrayImage, region: [u32; 4]) {
    stretch_contrast_counted(img, region);
}

/// [`stretch_contrast`], returning the histogram of the whole image it leaves when `region`
/// covers the whole image: then it is the measured one, mapped through the stretch.
pub fn stretch_contrast_counted(img: &mut GrayImage, region: [u32; 4]) -> Option<[u64; 256]> {
    let [x0, y0, w, h] = region;
    let whole = x0 == 0 && y0 == 0 && w >= img.width() && h >= img.height();
    let (x1, y1) = ((x0 + w).min(img.width()), (y0 + h).min(img.height()));
    let (x0, y0) = (x0.min(x1) as usize, y0.min(y1) as usize);
    let rows = samples(img).chunks_exact(img.width().max(1) as usize);
    let hist = histogram(
        rows.skip(y0)
            .take(y1 as usize - y0)
            .map(|row| &row[x0..x1 as usize]),
    );
    let total: u64 = hist.iter().sum();
    let percentile = |q: f64| {
        let target = (total as f64 * q) as u64;
        let mut acc = 0;
        for (v, &c) in hist.iter().enumerate() {
            acc += c;
            if acc > target {
                return v as u8;
            }
        }
        255
    };
    let (lo, hi) = (percentile(0.002), percentile(0.998));
    if hi <= lo.saturating_add(16) || hi - lo >= 160 {
        return whole.then_some(hist);
    }
    let (lo_f, span) = (lo as f32, (hi - lo) as f32);
    // The same float formula, evaluated once per level instead of once per pixel.
    let table: [u8; 256] =
        std::array::from_fn(|v| (((v as f32 - lo_f) / span) * 255.0).clamp(0.0, 255.0) as u8);
    for p in samples_mut(img) {
        *p = table[*p as usize];
    }
    whole.then(|| {
        let mut stretched = [0u64; 256];
        for (&level, &count) in table.iter().zip(&hist) {
            stretched[usize::from(level)] += count;
        }
        stretched
    })
}

/// Lower-quartile height (pixels) of glyph-like connected components: dark-on-light and
/// light-on-dark shapes found by a local-mean threshold. None when too few are found.
pub fn estimate_glyph_height(gray: &GrayImage) -> Option<f32> {
    // Work on at most ~1.5 MP: this is an estimate, not OCR.
    let pixels = gray.width() as f32 * gray.height() as f32;
    let s = (1.5e6 / pixels).sqrt().min(1.0);
    let small;
    let img = if s < 1.0 {
        small = resize_gray(gray, s, FilterType::Triangle);
        &small
    } else {
        gray
    };
    let mut heights = glyph_heights(img, GLYPH_RADIUS);
    if heights.len() < 20 {
        return None;
    }
    heights.sort_by(f32::total_cmp);
    // A low percentile, not the median: a screenshot inside a post frame has smaller text
    // than the frame, and it is the screenshot we must read.
    Some(heights[heights.len() / 4] / s)
}

/// Radius of the local mean that glyph pixels are judged against.
const GLYPH_RADIUS: u32 = 12;
/// How far (levels) a glyph pixel lies below or above its local mean.
const GLYPH_DELTA: i32 = 18;

/// Heights of components shaped like glyphs (not lines, boxes or specks), in no particular
/// order. The components are the 8-connected sets of pixels darker than the mean of their
/// `radius` window by more than [`GLYPH_DELTA`], and those of pixels lighter by as much.
/// Both kinds are found in one pass, as runs of a row joined to the touching runs of the
/// row above: a mask image and a label image per kind cost more than the rest of the
/// estimate, and one mean grid serves both.
fn glyph_heights(img: &GrayImage, radius: u32) -> Vec<f32> {
    let (w, h) = img.dimensions();
    if w == 0 || h == 0 {
        return Vec::new();
    }
    let grid = MeanGrid::new(img, radius, 2);
    let step = grid.step as usize;
    let mut runs: Vec<Run> = Vec::new();
    // `runs[row_starts[y]..row_starts[y + 1]]` are row `y`'s, left to right.
    let mut row_starts = Vec::with_capacity(h as usize + 1);
    let mut kinds = vec![Kind::Neither as u8; w as usize];
    for (y, src) in samples(img).chunks_exact(w as usize).enumerate() {
        row_starts.push(runs.len());
        let cells = src.chunks(step).zip(kinds.chunks_mut(step));
        for ((src, dst), &mean) in cells.zip(grid.row(y as u32)) {
            let mean = i32::from(mean);
            let (dark_below, light_above) = (mean - GLYPH_DELTA, mean + GLYPH_DELTA);
            for (&v, kind) in src.iter().zip(dst) {
                let v = i32::from(v);
                *kind = u8::from(v < dark_below) * Kind::Dark as u8
                    + u8::from(v > light_above) * Kind::Light as u8;
            }
        }
        let mut x = 0;
        while x < kinds.len() {
            let kind = kinds[x];
            let start = x;
            x += kinds[x..].iter().take_while(|&&k| k == kind).count();
            if kind != Kind::Neither as u8 {
                runs.push(Run {
                    x0: start as u32,
                    x1: x as u32 - 1,
                    y: y as u32,
                    dark: kind == Kind::Dark as u8,
                });
            }
        }
    }
    row_starts.push(runs.len());
    let mut parent: Vec<u32> = (0..runs.len() as u32).collect();
    for rows in row_starts.windows(3) {
        let (above, here) = (rows[0]..rows[1], rows[1]..rows[2]);
        let mut first = above.start;
        for i in here {
            let run = runs[i];
            // Runs above that end left of this one's reach cannot touch it or the next.
            while first < above.end && runs[first].x1 + 1 < run.x0 {
                first += 1;
            }
            let touching = runs[first..above.end]
                .iter()
                .take_while(|a| a.x0 <= run.x1 + 1);
            for (j, a) in touching.enumerate() {
                if a.dark == run.dark {
                    union(&mut parent, first + j, i);
                }
            }
        }
    }
    // Per component, at its root run: [x0, y0, x1, y1, pixel count].
    let mut boxes = vec![[u32::MAX, u32::MAX, 0, 0, 0]; runs.len()];
    for (i, run) in runs.iter().enumerate() {
        let b = &mut boxes[find(&mut parent, i) as usize];
        b[0] = b[0].min(run.x0);
        b[1] = b[1].min(run.y);
        b[2] = b[2].max(run.x1);
        b[3] = b[3].max(run.y);
        b[4] += run.x1 - run.x0 + 1;
    }
    boxes
        .iter()
        .filter(|b| b[4] > 0)
        .filter_map(|b| {
            let (w, h) = ((b[2] - b[0] + 1) as f32, (b[3] - b[1] + 1) as f32);
            let fill = b[4] as f32 / (w * h);
            let glyph_like = (4.0..=80.0).contains(&h) && w <= 1.6 * h && w >= 0.15 * h;
            (glyph_like && fill > 0.12 && fill < 0.9).then_some(h)
        })
        .collect()
}

/// How a pixel stands against its local mean, for [`glyph_heights`].
#[derive(Clone, Copy, PartialEq)]
#[repr(u8)]
enum Kind {
    Neither = 0,
    Dark = 1,
    Light = 2,
}

/// Pixels of one kind next to each other in row `y`: columns `x0..=x1`.
#[derive(Clone, Copy)]
struct Run {
    x0: u32,
    x1: u32,
    y: u32,
    dark: bool,
}

/// The root of `i`'s set in the union-find forest `parent`, halving the path on the way.
fn find(parent: &mut [u32], mut i: usize) -> u32 {
    while parent[i] as usize != i {
        let up = parent[parent[i] as usize];
        parent[i] = up;
        i = up as usize;
    }
    i as u32
}

/// Joins the sets of `a` and `b`; the lower root becomes the root of both.
fn union(parent: &mut [u32], a: usize, b: usize) {
    let (ra, rb) = (find(parent, a), find(parent, b));
    parent[ra.max(rb) as usize] = ra.min(rb);
}

#[cfg(test)]
mod tests {
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
    fn only_a_photographed_screen_gets_a_second_ocr_input() {
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
        assert_eq!(p.ocr_inputs().count(), 2);
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
        let mut hist = [0u32; 256];
        for p in img.pixels() {
            hist[p[0] as usize] += 1;
        }
        let below_page = (w as u64 * h as u64 * 9 / 10) as u32;
        let mut acc = 0;
        let page = hist
            .iter()
            .position(|&c| {
                acc += c;
                acc > below_page
            })
            .unwrap_or(255) as u32;
        let dark_below = DARK_BACKGROUND.min(page.saturating_sub(70));
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
        let mut state = seed;
        let mut noise = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % 61) as i32 - 30
        };
        GrayImage::from_fn(w, h, |x, y| {
            let base: i32 = if x < w / 4 {
                35 // dark sidebar
            } else if y < h / 5 {
                90 // mid-dark top bar
            } else if x > w * 3 / 4 && y > h / 2 {
                170 // grey panel
            } else {
                235
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
