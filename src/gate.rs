//! Gate: a cheap look at the decoded pixels that decides, before OCR, which images cannot
//! show a screen of any system (natural photos, blank or flat images), so OCR is skipped
//! for them.
//!
//! A screen, whether screenshot, crop or phone photo, is full of small high-contrast glyph
//! shapes standing in rows; a natural photo or a blank image is not. The gate counts
//! *text-like* shapes: connected components of locally dark (or locally light) pixels
//! whose size and fill are those of a letter, and that have a neighbour of similar height
//! on the same line just beside them. Below [`MIN_TEXT_SHAPES`] of them, the image is
//! `clean` without OCR. It errs on the side of OCR: an image it lets through costs time,
//! one it wrongly stops is a missed leak.

use std::borrow::Cow;

use image::{DynamicImage, GrayImage};
use imageproc::integral_image::{integral_image, sum_image_pixels};
use serde::{Deserialize, Serialize};

/// Long side of the copy the gate looks at: larger images are reduced to it, smaller ones
/// enlarged to [`MIN_SIDE`] so that a downscaled screenshot's letters are tall enough to
/// count.
pub const GATE_SIDE: u32 = 1600;
pub const MIN_SIDE: u32 = 1200;

/// Fewer text-like shapes than this and the image cannot show a screen. Set far below what
/// any screen of the DEV corpora showed (positives: 45 at least, UIs of other systems
/// 10), since a positive stopped here is a missed leak: it only stops images with next to
/// no lettering (most natural photos, blank images).
pub const MIN_TEXT_SHAPES: usize = 8;

/// Shapes in a row that count as text: a short word.
const MIN_ROW: usize = 4;
/// How much darker (or lighter) than its surroundings a pixel must be to count as ink:
/// low enough for the soft grey labels of a downscaled or photographed screen.
const INK_CONTRAST: i64 = 20;
/// Half the side of the window the local mean is taken over: a few glyphs wide.
const WINDOW_RADIUS: u32 = 10;
/// Glyph heights considered, in gate pixels.
const MIN_GLYPH_HEIGHT: u32 = 5;
const MAX_GLYPH_HEIGHT: u32 = 64;

/// What the gate measured, and what it decided.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct GateEvidence {
    /// Whether OCR runs (`false`: the image was judged `clean` here).
    pub passed: bool,
    /// Glyph-sized shapes standing in rows like letters.
    pub text_shapes: usize,
    /// Glyph-sized shapes, in rows or not.
    pub glyph_shapes: usize,
    /// Standard deviation of the gray levels (0 for a flat image).
    pub contrast: f32,
    /// A monitor was found in a photo (a bright tilted quadrilateral, with letter-sized
    /// shapes): it passes whatever the count, since a photographed screen's small text can
    /// be too soft to stand in rows. Only looked for when the count alone would stop it.
    pub screen: bool,
    /// The `text_shapes` needed to pass.
    pub min_text_shapes: usize,
}

impl GateEvidence {
    /// The record's reason when the gate decided.
    pub fn reason(&self) -> String {
        if self.glyph_shapes == 0 && self.contrast < 4.0 {
            format!(
                "no text-like structure: a flat image (gray-level deviation {:.1}), OCR skipped",
                self.contrast
            )
        } else {
            format!(
                "no text-like structure: {} letter-sized shapes in rows ({} in all), a screen shows at least {}; OCR skipped",
                self.text_shapes, self.glyph_shapes, self.min_text_shapes
            )
        }
    }
}

/// Looks at `image` and decides whether it is worth OCR. Counting stops as soon as the
/// image passes (a screen usually does in its top band), so `text_shapes` and
/// `glyph_shapes` are whole counts only for images that do not pass.
pub fn check(image: &DynamicImage) -> GateEvidence {
    check_gray(&image.to_luma8())
}

/// As [`check`], given the image's full-size grey copy (`image.to_luma8()`): the scan makes
/// it once for the gate and preprocessing both.
pub fn check_gray(gray: &GrayImage) -> GateEvidence {
    evaluate(gray, Some(MIN_TEXT_SHAPES))
}

/// As [`check`], counting the whole image: for measuring the gate on a corpus.
pub fn measure(image: &DynamicImage) -> GateEvidence {
    evaluate(&image.to_luma8(), None)
}

fn evaluate(full: &GrayImage, stop_at: Option<usize>) -> GateEvidence {
    let gray = reduced_gray(full);
    let contrast = deviation(&gray);
    let (glyph_shapes, text_shapes) = if contrast < 1.0 {
        (0, 0)
    } else {
        count_text_shapes(&gray, stop_at)
    };
    // A photographed monitor's text may be too soft to stand in rows: a bright tilted
    // quadrilateral with letter-sized shapes on it is OCR'd whatever the count.
    let screen = text_shapes < MIN_TEXT_SHAPES
        && glyph_shapes >= MIN_TEXT_SHAPES
        && crate::preprocess::screen::find_screen(&gray).is_some();
    GateEvidence {
        passed: text_shapes >= MIN_TEXT_SHAPES || screen,
        text_shapes,
        glyph_shapes,
        contrast,
        screen,
        min_text_shapes: MIN_TEXT_SHAPES,
    }
}

/// `gray` brought to the gate's scale (borrowed when already there).
fn reduced_gray(gray: &GrayImage) -> Cow<'_, GrayImage> {
    let (w, h) = gray.dimensions();
    let long = w.max(h);
    let target = long.clamp(MIN_SIDE, GATE_SIDE);
    if long == target {
        return Cow::Borrowed(gray);
    }
    let s = target as f32 / long as f32;
    let (nw, nh) = (
        ((w as f32 * s).round() as u32).max(1),
        ((h as f32 * s).round() as u32).max(1),
    );
    // SIMD resampling: the `image` crate's resize cost more than the rest of the gate.
    Cow::Owned(crate::preprocess::resize_gray_to(
        gray,
        nw,
        nh,
        image::imageops::FilterType::Triangle,
    ))
}

fn deviation(gray: &GrayImage) -> f32 {
    let n = gray.as_raw().len().max(1) as f64;
    let (sum, sq) = gray.as_raw().iter().fold((0f64, 0f64), |(s, q), &v| {
        let v = f64::from(v);
        (s + v, q + v * v)
    });
    let mean = sum / n;
    ((sq / n - mean * mean).max(0.0)).sqrt() as f32
}

/// A connected component's extent and size.
#[derive(Clone, Copy)]
struct Shape {
    x0: u32,
    y0: u32,
    x1: u32,
    y1: u32,
    area: u32,
}

impl Shape {
    fn width(&self) -> u32 {
        self.x1 - self.x0 + 1
    }
    fn height(&self) -> u32 {
        self.y1 - self.y0 + 1
    }
    /// Size and fill of a letter (or of a few letters run together at low resolution).
    fn glyph_like(&self) -> bool {
        let (w, h) = (self.width(), self.height());
        let fill = self.area as f32 / (w * h) as f32;
        (MIN_GLYPH_HEIGHT..=MAX_GLYPH_HEIGHT).contains(&h)
            && w <= 4 * h
            && h <= 4 * w.max(1)
            && self.area >= 8
            && (0.12..=0.92).contains(&fill)
    }
}

/// Rows of the image looked at per step: counting can stop after any band.
const BAND: u32 = 192;

/// (glyph-like shapes, those standing in rows), over dark ink and light ink (dark themes,
/// sidebars), band by band from the top; stops once `stop_at` shapes in rows are found.
/// Each band is looked at with [`MAX_GLYPH_HEIGHT`] rows more above and below, so every
/// shape whose top lies in the band is whole, and so are its neighbours on its line; it
/// is counted in that band only.
fn count_text_shapes(gray: &GrayImage, stop_at: Option<usize>) -> (usize, usize) {
    let integral = integral_image::<_, u64>(gray);
    let (w, h) = gray.dimensions();
    let mut glyphs = 0;
    let mut rows = 0;
    let mut start = 0;
    while start < h {
        let end = (start + BAND).min(h);
        let lo = start.saturating_sub(MAX_GLYPH_HEIGHT);
        let hi = (end + MAX_GLYPH_HEIGHT).min(h);
        let own = |s: &Shape| (start..end).contains(&s.y0);
        for dark in [true, false] {
            let mask = ink_mask(gray, &integral, lo, hi, dark);
            let shapes: Vec<Shape> = components(&mask, w, hi - lo)
                .into_iter()
                .map(|mut s| {
                    s.y0 += lo;
                    s.y1 += lo;
                    s
                })
                // Cut by the edge of what was looked at: whole in another band.
                .filter(|s| (s.y0 > lo || lo == 0) && (s.y1 + 1 < hi || hi == h))
                .filter(Shape::glyph_like)
                .collect();
            glyphs += shapes.iter().filter(|s| own(s)).count();
            rows += in_rows(&shapes, own);
        }
        if stop_at.is_some_and(|m| rows >= m) {
            break;
        }
        start = end;
    }
    (glyphs, rows)
}

/// Pixels of rows `lo..hi` clearly darker (`dark`) or lighter than the mean of their
/// window, row-major.
fn ink_mask(
    gray: &GrayImage,
    integral: &image::ImageBuffer<image::Luma<u64>, Vec<u64>>,
    lo: u32,
    hi: u32,
    dark: bool,
) -> Vec<bool> {
    let (w, h) = gray.dimensions();
    let mut mask = Vec::with_capacity((w * (hi - lo)) as usize);
    for y in lo..hi {
        let (y0, y1) = (
            y.saturating_sub(WINDOW_RADIUS),
            (y + WINDOW_RADIUS).min(h - 1),
        );
        for x in 0..w {
            let (x0, x1) = (
                x.saturating_sub(WINDOW_RADIUS),
                (x + WINDOW_RADIUS).min(w - 1),
            );
            let n = i64::from((x1 - x0 + 1) * (y1 - y0 + 1));
            let sum = sum_image_pixels(integral, x0, y0, x1, y1)[0] as i64;
            let v = i64::from(gray.get_pixel(x, y)[0]) * n;
            mask.push(if dark {
                v < sum - INK_CONTRAST * n
            } else {
                v > sum + INK_CONTRAST * n
            });
        }
    }
    mask
}

/// 8-connected components of `mask` (row-major, `w` x `h`), by union-find over runs.
fn components(mask: &[bool], w: u32, h: u32) -> Vec<Shape> {
    let (w, h) = (w as usize, h as usize);
    let mut labels = vec![0u32; w * h];
    let mut parent: Vec<u32> = vec![0];
    fn find(parent: &mut [u32], mut a: u32) -> u32 {
        while parent[a as usize] != a {
            parent[a as usize] = parent[parent[a as usize] as usize];
            a = parent[a as usize];
        }
        a
    }
    for y in 0..h {
        for x in 0..w {
            if !mask[y * w + x] {
                continue;
            }
            let mut label = 0u32;
            let mut neighbours = [0u32; 4];
            if x > 0 {
                neighbours[0] = labels[y * w + x - 1];
            }
            if y > 0 {
                let row = (y - 1) * w;
                if x > 0 {
                    neighbours[1] = labels[row + x - 1];
                }
                neighbours[2] = labels[row + x];
                if x + 1 < w {
                    neighbours[3] = labels[row + x + 1];
                }
            }
            for &n in neighbours.iter().filter(|&&n| n != 0) {
                let rn = find(&mut parent, n);
                if label == 0 {
                    label = rn;
                } else if rn != label {
                    let (lo, hi) = (label.min(rn), label.max(rn));
                    parent[hi as usize] = lo;
                    label = lo;
                }
            }
            if label == 0 {
                label = parent.len() as u32;
                parent.push(label);
            }
            labels[y * w + x] = label;
        }
    }
    let mut shapes: Vec<Option<Shape>> = vec![None; parent.len()];
    for y in 0..h {
        for x in 0..w {
            let l = labels[y * w + x];
            if l == 0 {
                continue;
            }
            let root = find(&mut parent, l) as usize;
            let (x, y) = (x as u32, y as u32);
            let s = shapes[root].get_or_insert(Shape {
                x0: x,
                y0: y,
                x1: x,
                y1: y,
                area: 0,
            });
            s.x0 = s.x0.min(x);
            s.y0 = s.y0.min(y);
            s.x1 = s.x1.max(x);
            s.y1 = s.y1.max(y);
            s.area += 1;
        }
    }
    shapes.into_iter().flatten().collect()
}

/// How many shapes (of those `counted`) stand in a row of at least [`MIN_ROW`] shapes of
/// similar height, each just beside the next, bottoms or tops aligned: letters of a word or
/// a label do, the specks of a texture (foliage, gravel, fabric) rarely line up like that.
fn in_rows(shapes: &[Shape], counted: impl Fn(&Shape) -> bool) -> usize {
    let mut order: Vec<usize> = (0..shapes.len()).collect();
    order.sort_by_key(|&i| (shapes[i].x0, shapes[i].y0));
    // Each shape's nearest right neighbour on its line.
    let mut next: Vec<Option<usize>> = vec![None; shapes.len()];
    let mut has_left = vec![false; shapes.len()];
    for (k, &i) in order.iter().enumerate() {
        let a = shapes[i];
        let ah = a.height() as f32;
        let reach = a.x1 as f32 + ah + 2.0;
        let mut best: Option<(u32, usize)> = None;
        for &j in &order[k + 1..] {
            let b = shapes[j];
            if b.x0 as f32 > reach {
                break;
            }
            if b.x0 <= a.x1 {
                continue;
            }
            let bh = b.height() as f32;
            let similar = bh <= 1.6 * ah && ah <= 1.6 * bh;
            let tol = 0.25 * ah.max(bh) + 1.0;
            let bottoms = (a.y1 as f32 - b.y1 as f32).abs() <= tol;
            let tops = (a.y0 as f32 - b.y0 as f32).abs() <= tol;
            if similar && (bottoms || tops) && best.is_none_or(|(x, _)| b.x0 < x) {
                best = Some((b.x0, j));
            }
        }
        if let Some((_, j)) = best {
            if !has_left[j] {
                next[i] = Some(j);
                has_left[j] = true;
            }
        }
    }
    let mut count = 0;
    for (start, &fed) in has_left.iter().enumerate() {
        if fed {
            continue;
        }
        let mut row = vec![start];
        let mut at = start;
        while let Some(n) = next[at] {
            row.push(n);
            at = n;
        }
        if row.len() >= MIN_ROW {
            count += row.iter().filter(|&&i| counted(&shapes[i])).count();
        }
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{Luma, Rgb, RgbImage};

    #[test]
    fn flat_and_gradient_images_are_gated() {
        let flat = DynamicImage::ImageRgb8(RgbImage::from_pixel(800, 600, Rgb([200, 210, 220])));
        let g = check(&flat);
        assert!(!g.passed, "{g:?}");
        assert!(g.reason().contains("flat image"), "{}", g.reason());

        let gradient = DynamicImage::ImageLuma8(GrayImage::from_fn(1200, 800, |x, y| {
            Luma([((x + y) * 255 / 2000) as u8])
        }));
        let g = check(&gradient);
        assert!(!g.passed, "{g:?}");
        assert!(g.reason().starts_with("no text-like structure"));
    }

    #[test]
    fn rows_of_letter_blocks_pass() {
        // A page of "words": rows of dark letter-sized shapes, like 'o' (a ring) and 'n'
        // (an arch).
        let mut img = GrayImage::from_pixel(1000, 700, Luma([245]));
        for row in 0..12u32 {
            let top = 40 + row * 50;
            let mut x = 30u32;
            for word in 0..8u32 {
                for letter in 0..(3 + (word + row) % 4) {
                    let w = 7 + (letter % 3);
                    for dy in 0..12 {
                        for dx in 0..w {
                            let inside = (2..w - 2).contains(&dx);
                            let hole = if letter % 2 == 0 {
                                (3..9).contains(&dy) && inside
                            } else {
                                dy >= 3 && inside
                            };
                            if !hole {
                                img.put_pixel(x + dx, top + dy, Luma([30]));
                            }
                        }
                    }
                    x += w + 3;
                }
                x += 14;
                if x > 940 {
                    break;
                }
            }
        }
        let page = DynamicImage::ImageLuma8(img.clone());
        let g = check(&page);
        assert!(g.passed, "{g:?}");
        // Counting stopped once it passed; measured whole, nearly every letter stands in a
        // row (all but the 3-letter words).
        let whole = measure(&page);
        assert!(
            whole.text_shapes >= 200 && whole.text_shapes > g.text_shapes,
            "{whole:?}"
        );
        // Light text on a dark panel counts too.
        image::imageops::invert(&mut img);
        assert!(check(&DynamicImage::ImageLuma8(img)).passed);
    }
}
