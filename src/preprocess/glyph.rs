//! Glyph height: how large the text is, from connected components, to choose the OCR scale.

use image::{imageops::FilterType, GrayImage};

use super::gray::{resize_gray, samples, MeanGrid};

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
pub(super) fn glyph_heights(img: &GrayImage, radius: u32) -> Vec<f32> {
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
