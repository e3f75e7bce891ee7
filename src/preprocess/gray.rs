//! Grayscale conversion and resizing: the `image` crate's results, faster.

use image::{imageops::FilterType, DynamicImage, GrayImage};

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
pub(super) fn round_to_u8(v: f32) -> u8 {
    let c = v.clamp(0.0, 255.0);
    let t = c as i32;
    let up = i32::from(c - t as f32 >= 0.5);
    (t + up) as u8
}

/// Resizes `img` by `scale` (each side rounded, at least 1 pixel) with `resize_gray_to`.
pub(crate) fn resize_gray(img: &GrayImage, scale: f32, filter: FilterType) -> GrayImage {
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

/// Counts of each level in `rows`. Four tables, filled in turn and summed at the end: a
/// screenshot is mostly one level, and with a single table each increment of that level's
/// count waits for the previous one (this loop was most of the time of its callers).
pub(super) fn histogram<'a>(rows: impl IntoIterator<Item = &'a [u8]>) -> [u64; 256] {
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

/// The lowest level of the histogram `hist` at or below which more than `count` pixels
/// lie (255 when none is): a percentile of the image it counts.
pub(super) fn level_above(hist: &[u64; 256], count: u64) -> u8 {
    let mut acc = 0;
    hist.iter()
        .position(|&c| {
            acc += c;
            acc > count
        })
        .map_or(u8::MAX, |v| v as u8)
}

/// An image's pixels, row-major, without any spare capacity of its buffer: slices let the
/// hot loops run without per-pixel coordinate arithmetic and bounds checks.
pub(super) fn samples(img: &GrayImage) -> &[u8] {
    let n = img.width() as usize * img.height() as usize;
    &img.as_raw()[..n]
}

/// Mutable [`samples`].
pub(super) fn samples_mut(img: &mut GrayImage) -> &mut [u8] {
    let n = img.width() as usize * img.height() as usize;
    let data: &mut [u8] = img;
    &mut data[..n]
}

/// Means of the (2 * radius + 1)-square windows of an image, sampled every `step` pixels:
/// the windows span many pixels, so neighbouring means barely differ and sampling them
/// saves most of the cost on large OCR images.
pub(super) struct MeanGrid {
    pub(super) step: u32,
    cols: u32,
    /// Row-major, `cols` a row; a mean of `u8` pixels fits a `u8`.
    pub(super) means: Vec<u8>,
}

impl MeanGrid {
    /// Built from column sums over the current window's rows, slid down the image (each
    /// row added once and removed once), and one prefix sum across them per grid row: a
    /// full summed-area table wrote four bytes per pixel and was most of the cost. Sums
    /// wrap, so a window's sum is exact whenever it fits a `u32` (16.8 M pixels or fewer).
    pub(super) fn new(img: &GrayImage, radius: u32, step: u32) -> MeanGrid {
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
    pub(super) fn row(&self, y: u32) -> &[u8] {
        let start = ((y / self.step) * self.cols) as usize;
        &self.means[start..start + self.cols as usize]
    }
}
