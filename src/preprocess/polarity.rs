//! Polarity: dark regions (sidebars, bars, banners, dark themes) inverted so all text is
//! dark on light, and a photo's uneven light flattened.

use image::GrayImage;

use super::gray::{histogram, level_above, samples, samples_mut, MeanGrid};

/// Local background brightness below which a region is taken as dark (light text on it),
/// at most: washed-out photos lower it (see [`normalise_polarity`]).
pub(super) const DARK_BACKGROUND: u32 = 150;

/// On a dark theme inverted whole, local background below which a region was a light
/// panel (its letters now light on dark): lower than [`DARK_BACKGROUND`], since the
/// theme's mid-grey panels with dark letters lie between.
pub(super) const DARK_THEME_PANEL: u32 = 100;

/// Median level below which an image with no light page is a dark theme.
pub(super) const DARK_THEME_MEDIAN: u32 = 80;

/// How much [`normalise_polarity`] amplifies letters' contrast with a photo's page.
pub(super) const FLATTEN_GAIN: u32 = 2;

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
pub(crate) fn normalise_polarity_counted(
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
    let mut hist = levels.copied().unwrap_or_else(|| histogram([samples(img)]));
    let pixels = w as u64 * h as u64;
    let mut page = u32::from(level_above(&hist, pixels * 9 / 10));
    // A dark theme: nine pixels in ten are darker than a dark panel, so no part of the
    // image is a light page to be dark against, and half are near black (a washed-out
    // grey page, its letters a little darker, is none). Inverted whole first, its light
    // panels (white cards, a screenshot inside a dark post frame) become the dark
    // regions inverted back below. Its panels a little lighter than its page (a sidebar,
    // a header) are mid-grey with dark letters then: flattened to white, not inverted.
    let mut flatten = flatten;
    let mut dark_cap = DARK_BACKGROUND;
    if page < DARK_BACKGROUND && u32::from(level_above(&hist, pixels / 2)) < DARK_THEME_MEDIAN {
        for p in samples_mut(img) {
            *p = 255 - *p;
        }
        hist.reverse();
        page = u32::from(level_above(&hist, pixels * 9 / 10));
        dark_cap = DARK_THEME_PANEL;
        flatten = true;
    }
    let dark_below = dark_cap.min(page.saturating_sub(70));
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
pub(super) const BAR_DARK_SHARE: f32 = 0.6;

/// How far below the page level a window's mean must be to be taken as straddling a bar.
pub(super) const BAR_MIXED_BELOW_PAGE: u32 = 25;

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
