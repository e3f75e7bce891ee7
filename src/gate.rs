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
use serde::{Deserialize, Serialize};

/// Long side of the copy the gate looks at: larger images are reduced to it, smaller ones
/// enlarged to [`MIN_SIDE`] so that a downscaled screenshot's letters are tall enough to
/// count. For a page longer than any screen, its width is brought there instead
/// ([`crate::preprocess::tall::scale_side`]): reduced by its length, a scrolling
/// screenshot of eight screens lost its letters and was stopped here.
pub const GATE_SIDE: u32 = 1600;
pub const MIN_SIDE: u32 = 1200;

/// Most pixels of the gate's copy of a page longer than any screen (a screen's copy has
/// 2.6 million at most): beyond, it is reduced to this many.
const MAX_GATE_PIXELS: f32 = 8.0e6;

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
    check_gray(&crate::preprocess::luma8(image))
}

/// As [`check`], given the image's full-size grey copy ([`crate::preprocess::luma8`]): the
/// scan makes it once for the gate and preprocessing both.
pub fn check_gray(gray: &GrayImage) -> GateEvidence {
    evaluate(gray, Some(MIN_TEXT_SHAPES))
}

/// As [`check`], counting the whole image: for measuring the gate on a corpus.
pub fn measure(image: &DynamicImage) -> GateEvidence {
    evaluate(&crate::preprocess::luma8(image), None)
}

fn evaluate(full: &GrayImage, stop_at: Option<usize>) -> GateEvidence {
    let gray = reduced_gray(full);
    let contrast = deviation(&gray);
    let (glyph_shapes, text_shapes) = if contrast < 1.0 {
        (0, 0)
    } else {
        count_text_shapes(&gray, stop_at)
    };
    // A photographed monitor's text may be too soft to stand in rows: a bright
    // quadrilateral, tilted or level, with letter-sized shapes on it is OCR'd whatever
    // the count.
    let screen = text_shapes < MIN_TEXT_SHAPES
        && glyph_shapes >= MIN_TEXT_SHAPES
        && crate::preprocess::screen::shows_screen(&gray);
    GateEvidence {
        passed: text_shapes >= MIN_TEXT_SHAPES || screen,
        text_shapes,
        glyph_shapes,
        contrast,
        screen,
        min_text_shapes: MIN_TEXT_SHAPES,
    }
}

/// Whether `gray`'s letters stand in columns rather than rows: a screen posted sideways (a
/// photo stripped of the orientation tag that would have turned it upright). Looked at
/// only where rows show few text-like shapes for the glyph-like ones (fewer than
/// [`MIN_TEXT_SHAPES`], or under a tenth: sideways lines' letters still meet a neighbour
/// now and then); the image turned a quarter must then show 24 text-like shapes (three
/// times what passes upright) and four times its upright count.
pub fn looks_turned(gray: &GrayImage, evidence: &GateEvidence) -> bool {
    let upright = evidence.text_shapes;
    if upright >= MIN_TEXT_SHAPES && upright * SPARSE_ROWS >= evidence.glyph_shapes {
        return false;
    }
    let needed = TURNED_TEXT_SHAPES.max(4 * upright);
    let turned = image::imageops::rotate90(reduced_gray(gray).as_ref());
    count_text_shapes(&turned, Some(needed)).1 >= needed
}

/// Text-like shapes a quarter-turned image must show in its columns to be read turned:
/// three times what passes an upright one, since every image this looks at has already
/// shown next to no text in its rows (natural photos, mostly), and one taken for turned
/// costs OCR.
const TURNED_TEXT_SHAPES: usize = 3 * MIN_TEXT_SHAPES;

/// Glyph-like shapes per text-like one above which an image's rows are too sparse in text
/// for a screen shown upright (those of DEV-XL's that pass: 7 of 510 are).
const SPARSE_ROWS: usize = 10;

/// `gray` brought to the gate's scale (borrowed when already there).
fn reduced_gray(gray: &GrayImage) -> Cow<'_, GrayImage> {
    let (w, h) = gray.dimensions();
    let long = w.max(h);
    let by_long_side = long.clamp(MIN_SIDE, GATE_SIDE) as f32 / long as f32;
    let area = w as f32 * h as f32;
    let s = if !crate::preprocess::tall::longer_than_a_screen(w, h) {
        by_long_side
    } else {
        let side = w.min(h);
        // A page longer than a screen: its width to the gate's side, but enlarged no
        // more than its length would have it (a narrow strip's letters would outgrow a
        // glyph's size), and within the pixel cap.
        (side.clamp(MIN_SIDE, GATE_SIDE) as f32 / side as f32)
            .min(by_long_side.max(1.0))
            .min((MAX_GATE_PIXELS / area).sqrt())
    };
    if s == 1.0 {
        return Cow::Borrowed(gray);
    }
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

/// Standard deviation of the gray levels. The sums are integers, and exact in `u64` (an
/// `f64` accumulator, as the gate had, holds them exactly too): same value, but the loop
/// vectorises.
fn deviation(gray: &GrayImage) -> f32 {
    let px = pixels(gray);
    let n = px.len().max(1) as f64;
    let (sum, sq) = px.chunks(4096).fold((0u64, 0u64), |(s, q), chunk| {
        let (cs, cq) = chunk.iter().fold((0u32, 0u32), |(s, q), &v| {
            let v = u32::from(v);
            (s + v, q + v * v)
        });
        (s + u64::from(cs), q + u64::from(cq))
    });
    let (sum, sq) = (sum as f64, sq as f64);
    let mean = sum / n;
    ((sq / n - mean * mean).max(0.0)).sqrt() as f32
}

/// `gray`'s pixels, row-major, without any spare capacity of its buffer.
fn pixels(gray: &GrayImage) -> &[u8] {
    let n = gray.width() as usize * gray.height() as usize;
    &gray.as_raw()[..n]
}

/// A connected component's extent and size.
#[derive(Clone, Copy, Debug, PartialEq)]
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
/// is counted in that band only. Nothing is computed for the whole image up front (a
/// screen usually passes in its first band).
fn count_text_shapes(gray: &GrayImage, stop_at: Option<usize>) -> (usize, usize) {
    let (w, h) = gray.dimensions();
    if w == 0 || h == 0 {
        return (0, 0);
    }
    let mut glyphs = 0;
    let mut rows = 0;
    let mut start = 0;
    while start < h {
        let end = (start + BAND).min(h);
        let lo = start.saturating_sub(MAX_GLYPH_HEIGHT);
        let hi = (end + MAX_GLYPH_HEIGHT).min(h);
        let own = |s: &Shape| (start..end).contains(&s.y0);
        for shapes in ink_shapes(gray, lo, hi) {
            let shapes: Vec<Shape> = shapes
                .into_iter()
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

/// The 8-connected components of dark ink and of light ink in rows `lo..hi` of `gray`
/// (image coordinates), each in the raster order of its first pixel. A pixel is dark
/// (light) ink when it is more than [`INK_CONTRAST`] below (above) the mean of its window
/// of radius [`WINDOW_RADIUS`], clipped at the image's edges.
///
/// Window sums come from running column sums over the band's rows only, one row at a
/// time, and each mask row goes straight to the labelling: no summed-area table of the
/// whole image and no mask or label image are built.
fn ink_shapes(gray: &GrayImage, lo: u32, hi: u32) -> [Vec<Shape>; 2] {
    let (w, h) = (gray.width() as usize, gray.height() as usize);
    let px = pixels(gray);
    let r = WINDOW_RADIUS as usize;
    let row = |y: usize| &px[y * w..(y + 1) * w];
    // Sums of each column over the current row's window rows `top..=bottom`.
    let mut columns = vec![0u32; w];
    let (mut top, mut bottom) = (0usize, 0usize);
    // prefix[x]: sum of columns[..x].
    let mut prefix = vec![0u32; w + 1];
    let (mut dark, mut light) = (vec![0u8; w], vec![0u8; w]);
    let (mut dark_cc, mut light_cc) = (Labeller::default(), Labeller::default());
    for y in lo as usize..hi as usize {
        let (y0, y1) = (y.saturating_sub(r), (y + r).min(h - 1));
        if y == lo as usize {
            for yy in y0..=y1 {
                add_row(&mut columns, row(yy));
            }
        } else {
            // The window moves down one row at most at each end.
            if y1 > bottom {
                add_row(&mut columns, row(y1));
            }
            if y0 > top {
                sub_row(&mut columns, row(top));
            }
        }
        (top, bottom) = (y0, y1);
        let mut acc = 0u32;
        for (p, &c) in prefix[1..].iter_mut().zip(&columns) {
            acc += c;
            *p = acc;
        }
        mark_ink(row(y), &prefix, (y1 - y0 + 1) as u32, &mut dark, &mut light);
        dark_cc.push_row(y as u32, &dark);
        light_cc.push_row(y as u32, &light);
    }
    [dark_cc.shapes(), light_cc.shapes()]
}

/// Sets `dark[x]` (`light[x]`) to 1 where `row[x]` is dark (light) ink, else 0, given the
/// window's `rows_in` rows summed by column, `prefix[x]` being the sum of columns `..x`.
/// Away from the left and right edges every window is whole: one subtraction and two
/// comparisons a pixel, which vectorise.
fn mark_ink(row: &[u8], prefix: &[u32], rows_in: u32, dark: &mut [u8], light: &mut [u8]) {
    let (w, r) = (row.len(), WINDOW_RADIUS as usize);
    let contrast = INK_CONTRAST as u32;
    let clipped = |x: usize, dark: &mut [u8], light: &mut [u8]| {
        let (x0, x1) = (x.saturating_sub(r), (x + r).min(w - 1));
        let n = (x1 - x0 + 1) as u32 * rows_in;
        let sum = prefix[x1 + 1] - prefix[x0];
        let v = u32::from(row[x]) * n;
        dark[x] = u8::from(v + contrast * n < sum);
        light[x] = u8::from(v > sum + contrast * n);
    };
    if w <= 2 * r {
        for x in 0..w {
            clipped(x, dark, light);
        }
        return;
    }
    for x in (0..r).chain(w - r..w) {
        clipped(x, dark, light);
    }
    let n = (2 * r as u32 + 1) * rows_in;
    let cn = contrast * n;
    let inner = r..w - r;
    let sums = prefix[2 * r + 1..].iter().zip(&prefix[..inner.len()]);
    let marks = dark[inner.clone()]
        .iter_mut()
        .zip(&mut light[inner.clone()]);
    for ((&v, (&end, &start)), (d, l)) in row[inner].iter().zip(sums).zip(marks) {
        let sum = end - start;
        let v = u32::from(v) * n;
        *d = u8::from(v + cn < sum);
        *l = u8::from(v > sum + cn);
    }
}

fn add_row(columns: &mut [u32], row: &[u8]) {
    for (c, &v) in columns.iter_mut().zip(row) {
        *c += u32::from(v);
    }
}

fn sub_row(columns: &mut [u32], row: &[u8]) {
    for (c, &v) in columns.iter_mut().zip(row) {
        *c -= u32::from(v);
    }
}

/// A horizontal run of ink pixels, `x0..=x1` on row `y`.
#[derive(Clone, Copy)]
struct Run {
    y: u32,
    x0: u32,
    x1: u32,
}

/// 8-connected components of a mask given row by row, by union-find over runs of ink.
/// Each set's root is its first run in raster order (unions keep the lower index), so
/// components come out in the raster order of their first pixel.
#[derive(Default)]
struct Labeller {
    runs: Vec<Run>,
    parent: Vec<u32>,
    /// Index of the first run of the previous row pushed.
    prev_start: usize,
}

impl Labeller {
    /// Adds row `y` of the mask (non-zero: ink); rows come top to bottom.
    fn push_row(&mut self, y: u32, mask: &[u8]) {
        let row_start = self.runs.len();
        let mut above = self.prev_start;
        let mut x = 0;
        while x < mask.len() {
            // Most of a mask is background: skip it eight pixels at a time.
            if let Some(word) = mask.get(x..x + 8) {
                if word == [0; 8] {
                    x += 8;
                    continue;
                }
            }
            if mask[x] == 0 {
                x += 1;
                continue;
            }
            let x0 = x;
            while x < mask.len() && mask[x] != 0 {
                x += 1;
            }
            let run = Run {
                y,
                x0: x0 as u32,
                x1: (x - 1) as u32,
            };
            let id = self.runs.len() as u32;
            self.runs.push(run);
            self.parent.push(id);
            // Runs of the row above touching this one (diagonals included): those ending
            // at x0 - 1 or later and starting at x1 + 1 or earlier.
            if row_start > 0 && self.runs[row_start - 1].y + 1 == y {
                while above < row_start && self.runs[above].x1 + 1 < run.x0 {
                    above += 1;
                }
                let mut k = above;
                while k < row_start && self.runs[k].x0 <= run.x1 + 1 {
                    self.union(k as u32, id);
                    k += 1;
                }
            }
        }
        if self.runs.len() > row_start {
            self.prev_start = row_start;
        }
    }

    fn find(&mut self, mut a: u32) -> u32 {
        while self.parent[a as usize] != a {
            let up = self.parent[self.parent[a as usize] as usize];
            self.parent[a as usize] = up;
            a = up;
        }
        a
    }

    fn union(&mut self, a: u32, b: u32) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            self.parent[ra.max(rb) as usize] = ra.min(rb);
        }
    }

    /// The components, in the raster order of their first pixel.
    fn shapes(mut self) -> Vec<Shape> {
        let mut shapes: Vec<Shape> = Vec::new();
        // The index in `shapes` of each root run's component.
        let mut slot = vec![0u32; self.runs.len()];
        for i in 0..self.runs.len() {
            let run = self.runs[i];
            let root = self.find(i as u32) as usize;
            let len = run.x1 - run.x0 + 1;
            if root == i {
                slot[i] = shapes.len() as u32;
                shapes.push(Shape {
                    x0: run.x0,
                    y0: run.y,
                    x1: run.x1,
                    y1: run.y,
                    area: len,
                });
            } else {
                let s = &mut shapes[slot[root] as usize];
                s.x0 = s.x0.min(run.x0);
                s.x1 = s.x1.max(run.x1);
                s.y1 = s.y1.max(run.y);
                s.area += len;
            }
        }
        shapes
    }
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

    /// [`ink_shapes`] by the definition: each window summed pixel by pixel, components by
    /// flood fill from each unlabelled ink pixel in raster order.
    fn ink_shapes_by_definition(gray: &GrayImage, lo: u32, hi: u32) -> [Vec<Shape>; 2] {
        let (w, h) = gray.dimensions();
        let r = WINDOW_RADIUS;
        [true, false].map(|dark| {
            let ink = |x: u32, y: u32| {
                let (y0, y1) = (y.saturating_sub(r), (y + r).min(h - 1));
                let (x0, x1) = (x.saturating_sub(r), (x + r).min(w - 1));
                let n = i64::from((x1 - x0 + 1) * (y1 - y0 + 1));
                let sum: i64 = (y0..=y1)
                    .flat_map(|yy| (x0..=x1).map(move |xx| (xx, yy)))
                    .map(|(xx, yy)| i64::from(gray.get_pixel(xx, yy)[0]))
                    .sum();
                let v = i64::from(gray.get_pixel(x, y)[0]) * n;
                if dark {
                    v < sum - INK_CONTRAST * n
                } else {
                    v > sum + INK_CONTRAST * n
                }
            };
            let mut seen = vec![false; (w * h) as usize];
            let mut shapes = Vec::new();
            for y in lo..hi {
                for x in 0..w {
                    if seen[(y * w + x) as usize] || !ink(x, y) {
                        continue;
                    }
                    let mut s = Shape {
                        x0: x,
                        y0: y,
                        x1: x,
                        y1: y,
                        area: 0,
                    };
                    let mut stack = vec![(x, y)];
                    seen[(y * w + x) as usize] = true;
                    while let Some((px, py)) = stack.pop() {
                        s.x0 = s.x0.min(px);
                        s.x1 = s.x1.max(px);
                        s.y0 = s.y0.min(py);
                        s.y1 = s.y1.max(py);
                        s.area += 1;
                        for ny in py.saturating_sub(1)..=(py + 1).min(hi - 1) {
                            for nx in px.saturating_sub(1)..=(px + 1).min(w - 1) {
                                let i = (ny * w + nx) as usize;
                                if ny >= lo && !seen[i] && ink(nx, ny) {
                                    seen[i] = true;
                                    stack.push((nx, ny));
                                }
                            }
                        }
                    }
                    shapes.push(s);
                }
            }
            shapes
        })
    }

    #[test]
    fn ink_shapes_match_their_definition() {
        // Blotches of random size and level on a noisy ground: shapes of every form, some
        // touching the band's and the image's edges.
        let mut seed = 12345u32;
        let mut next = move || {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
            seed >> 16
        };
        let mut img = GrayImage::from_fn(97, 83, |_, _| Luma([120 + (next() % 20) as u8]));
        for _ in 0..60 {
            let (x, y) = (next() % 97, next() % 83);
            let (bw, bh) = (1 + next() % 7, 1 + next() % 7);
            let level = if next() % 2 == 0 { 20 } else { 235 };
            for yy in y..(y + bh).min(83) {
                for xx in x..(x + bw).min(97) {
                    if next() % 5 != 0 {
                        img.put_pixel(xx, yy, Luma([level]));
                    }
                }
            }
        }
        let whole = ink_shapes(&img, 0, 83);
        assert!(whole.iter().all(|s| s.len() >= 20), "{whole:?}");
        for (lo, hi) in [(0, 83), (0, 40), (17, 61), (50, 83), (82, 83)] {
            assert_eq!(
                ink_shapes(&img, lo, hi),
                ink_shapes_by_definition(&img, lo, hi),
                "rows {lo}..{hi}"
            );
        }
    }

    /// A page of "words": rows of dark letter-sized shapes, like 'o' (a ring) and 'n' (an
    /// arch).
    fn letter_rows_page() -> GrayImage {
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
        img
    }

    #[test]
    fn rows_of_letter_blocks_pass() {
        let mut img = letter_rows_page();
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
        // The same page at the top of a capture sixteen times as long, as a scrolling
        // screenshot gives: its letters keep their size (reduced by its length, they fell
        // below a glyph's and it was stopped).
        let mut long = GrayImage::from_pixel(1000, 11200, Luma([245]));
        image::imageops::replace(&mut long, &img, 0, 0);
        assert!(check(&DynamicImage::ImageLuma8(long)).passed);
        // A narrow strip of it (a sidebar cut out) is not enlarged past letter size.
        let strip = image::imageops::crop_imm(&img, 0, 0, 150, 700).to_image();
        assert!(check(&DynamicImage::ImageLuma8(strip)).passed);
        // Light text on a dark panel counts too.
        image::imageops::invert(&mut img);
        assert!(check(&DynamicImage::ImageLuma8(img)).passed);
    }

    #[test]
    fn a_page_turned_a_quarter_looks_turned() {
        let page = letter_rows_page();
        assert!(!looks_turned(&page, &check_gray(&page)));
        for turned in [
            image::imageops::rotate90(&page),
            image::imageops::rotate270(&page),
        ] {
            let g = check_gray(&turned);
            assert!(looks_turned(&turned, &g), "{g:?}");
        }
        let flat = GrayImage::from_pixel(800, 600, Luma([200]));
        assert!(!looks_turned(&flat, &check_gray(&flat)));
    }
}
