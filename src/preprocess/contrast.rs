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
