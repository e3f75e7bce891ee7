//! Contrast: sharpening blurred text and stretching washed-out images.

use image::{imageops::FilterType, GrayImage};

use super::gray::{histogram, level_above, resize_gray_to, samples, samples_mut};

/// Unsharp mask: `img + amount * (img - blur(img, sigma))`. The blur runs at a quarter of
/// the resolution (it is smooth at these sigmas), which keeps it cheap on large images.
pub fn unsharp(img: &mut GrayImage, sigma: f32, amount: f32) {
    unsharp_counted(img, sigma, amount);
}

/// [`unsharp`], returning the histogram of the sharpened image, counted as it is written;
/// None when the image was left as it is (too small, or `sigma` below a pixel).
pub(crate) fn unsharp_counted(img: &mut GrayImage, sigma: f32, amount: f32) -> Option<[u64; 256]> {
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

/// How sharp `img`'s edges are: over the steps of at least [`MIN_EDGE_RISE`] levels along
/// every other row (runs of pixels changing the same way, [`MAX_EDGE_RUN`] long at most),
/// the median share of a step that its steepest pixel takes. A screenshot's letters step
/// within a pixel or two (0.5 to 1); a Gaussian blur of sigma pixels spreads a step so that
/// its steepest pixel takes about 0.4 / sigma of it. None with fewer than [`MIN_EDGES`]
/// steps (no text to judge by).
pub(crate) fn edge_sharpness(img: &GrayImage) -> Option<f32> {
    let (w, h) = img.dimensions();
    let raw = samples(img);
    let mut shares: Vec<f32> = Vec::new();
    for y in (0..h as usize).step_by(2) {
        let row = &raw[y * w as usize..(y + 1) * w as usize];
        let mut x = 0;
        while x + 1 < row.len() {
            let d = i32::from(row[x + 1]) - i32::from(row[x]);
            if d.abs() <= EDGE_NOISE {
                x += 1;
                continue;
            }
            // The run of steps the same way from `x`.
            let mut end = x + 1;
            let mut steepest = d.abs();
            while end + 1 < row.len() {
                let e = i32::from(row[end + 1]) - i32::from(row[end]);
                if e.abs() <= EDGE_NOISE || e.signum() != d.signum() {
                    break;
                }
                steepest = steepest.max(e.abs());
                end += 1;
            }
            let rise = (i32::from(row[end]) - i32::from(row[x])).abs();
            if rise >= MIN_EDGE_RISE && end - x <= MAX_EDGE_RUN {
                shares.push(steepest as f32 / rise as f32);
            }
            x = end;
        }
    }
    if shares.len() < MIN_EDGES {
        return None;
    }
    let mid = shares.len() / 2;
    let (_, median, _) = shares.select_nth_unstable_by(mid, f32::total_cmp);
    Some(*median)
}

/// Change between neighbouring pixels (levels) taken for noise, not part of an edge.
const EDGE_NOISE: i32 = 2;
/// Least rise (levels) of an edge that [`edge_sharpness`] judges by: a letter's stroke.
const MIN_EDGE_RISE: i32 = 48;
/// Longest run (pixels) of an edge: longer is a gradient, not a blurred stroke.
const MAX_EDGE_RUN: usize = 12;
/// Fewest edges for a judgement.
const MIN_EDGES: usize = 50;

/// Linear stretch for washed-out images only (glare, grey phone photos): when the darkest
/// and lightest 0.2% lie less than 160 levels apart. Stretching a clean screenshot would
/// thicken anti-aliased letters until Tesseract merges them. The levels are measured in
/// `region` (left, top, width, height) and applied to the whole image.
pub fn stretch_contrast(img: &mut GrayImage, region: [u32; 4]) {
    stretch_contrast_counted(img, region);
}

/// [`stretch_contrast`], returning the histogram of the whole image it leaves when `region`
/// covers the whole image: then it is the measured one, mapped through the stretch.
pub(crate) fn stretch_contrast_counted(
    img: &mut GrayImage,
    region: [u32; 4],
) -> Option<[u64; 256]> {
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
    let percentile = |q: f64| level_above(&hist, (total as f64 * q) as u64);
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows of letter-like dark strokes, 2 to 4 pixels wide, on a white page.
    fn strokes() -> GrayImage {
        GrayImage::from_fn(400, 120, |x, y| {
            let in_row = (y % 30) >= 8 && (y % 30) < 22;
            let in_stroke = (x % 11) < 2 + (x / 11) % 3;
            image::Luma([if in_row && in_stroke { 30 } else { 250 }])
        })
    }

    #[test]
    fn edge_sharpness_tells_a_blurred_page_and_its_blur() {
        let sharp = strokes();
        let r = edge_sharpness(&sharp).expect("edges");
        assert!(r >= 0.9, "{r}");
        let blurred = imageproc::filter::gaussian_blur_f32(&sharp, 1.2);
        let r = edge_sharpness(&blurred).expect("edges");
        assert!(r < 0.5, "{r}");
        // The blur it implies is the blur applied, give or take a third.
        let sigma = 0.4 / r;
        assert!((0.8..=1.6).contains(&sigma), "{sigma}");
        // No edges, no judgement.
        assert!(edge_sharpness(&GrayImage::from_pixel(200, 100, image::Luma([128]))).is_none());
    }
}
