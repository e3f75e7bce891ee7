//! The part of an image that shows anything: a page inside a flat canvas (a window on a
//! plain desktop, a screenshot pasted on a blank slide, letterboxing). OCR's pixel budget is
//! then spent on the page, not on the empty canvas around it.

use image::GrayImage;

use super::gray::samples;

/// Grey step between neighbouring samples that counts as an edge: above JPEG noise and a
/// wallpaper's gradient, below any letter's or panel border's contrast.
const EDGE_STEP: u8 = 24;

/// Sampling stride (pixels) of the search: every second row and column.
const STRIDE: usize = 2;

/// Edges a sampled row or column needs to show content: a lone speck of noise is none.
const MIN_EDGES: u32 = 3;

/// Largest share of the image the content may cover for the rest to be cut away: below
/// it the budget grows by at least 1.4x on each side; above it the gain is small.
const MAX_CONTENT_SHARE: f32 = 0.5;

/// Margin (working pixels) kept around the content, so letters at its edge stay whole.
const MARGIN: u32 = 8;

/// `work` (at `work_scale` of the original) cut to its content where that is worth it (the
/// scale `wanted` for its letters is more than the OCR pixel `budget` allows the whole
/// image, and the content covers half of it or less, the rest flat), with the original
/// pixel of its top-left corner.
pub fn cut_to_content(
    work: GrayImage,
    wanted: f32,
    budget: f32,
    work_scale: f32,
) -> (GrayImage, (f32, f32)) {
    match content_box_for(&work, wanted, budget) {
        Some([x, y, w, h]) => (
            image::imageops::crop_imm(&work, x, y, w, h).to_image(),
            (x as f32 / work_scale, y as f32 / work_scale),
        ),
        None => (work, (0.0, 0.0)),
    }
}

/// [`content_box`], when it is worth cutting: the scale `wanted` for the letters is more
/// than the OCR pixel `budget` allows for the whole of `gray`.
fn content_box_for(gray: &GrayImage, wanted: f32, budget: f32) -> Option<[u32; 4]> {
    let pixels = gray.width() as f32 * gray.height() as f32;
    (wanted > (budget / pixels.max(1.0)).sqrt())
        .then(|| content_box(gray))
        .flatten()
}

/// The content's box `[x, y, width, height]` in `gray`, when it covers at most
/// [`MAX_CONTENT_SHARE`] of the image and the rest is flat; `None` otherwise (content
/// everywhere, as on any page, post or photo, or nothing at all).
fn content_box(gray: &GrayImage) -> Option<[u32; 4]> {
    let (w, h) = (gray.width() as usize, gray.height() as usize);
    if w < 64 || h < 64 {
        return None;
    }
    let px = samples(gray);
    let mut rows = vec![0u32; h];
    let mut cols = vec![0u32; w];
    // Each sample against the next one right and below: a step anywhere between them
    // shows, though only every second row and column is looked at.
    for y in (0..h - STRIDE).step_by(STRIDE) {
        let row = &px[y * w..][..w];
        let below = &px[(y + STRIDE) * w..][..w];
        for x in (0..w - STRIDE).step_by(STRIDE) {
            let p = row[x];
            if p.abs_diff(row[x + STRIDE]) > EDGE_STEP || p.abs_diff(below[x]) > EDGE_STEP {
                rows[y] += 1;
                cols[x] += 1;
            }
        }
    }
    let span = |counts: &[u32]| {
        let first = counts.iter().position(|&c| c >= MIN_EDGES)?;
        let last = counts.iter().rposition(|&c| c >= MIN_EDGES)?;
        Some((first as u32, last as u32 + STRIDE as u32))
    };
    let (x0, x1) = span(&cols)?;
    let (y0, y1) = span(&rows)?;
    let x0 = x0.saturating_sub(MARGIN);
    let y0 = y0.saturating_sub(MARGIN);
    let x1 = (x1 + MARGIN).min(w as u32);
    let y1 = (y1 + MARGIN).min(h as u32);
    let (bw, bh) = (x1.saturating_sub(x0), y1.saturating_sub(y0));
    let share = (bw as f32 * bh as f32) / (w as f32 * h as f32);
    (bw >= 64 && bh >= 64 && share <= MAX_CONTENT_SHARE).then_some([x0, y0, bw, bh])
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Luma;

    /// A page (white, rows of dark letters, a border) at (`px`, `py`), `pw` x `ph`, on a
    /// flat canvas `w` x `h` of level `canvas`.
    fn page_on_canvas(w: u32, h: u32, canvas: u8, [px, py, pw, ph]: [u32; 4]) -> GrayImage {
        GrayImage::from_fn(w, h, |x, y| {
            let inside = (px..px + pw).contains(&x) && (py..py + ph).contains(&y);
            let letter = (x / 3) % 3 == 0 && (y % 24) < 10;
            Luma([match (inside, letter) {
                (false, _) => canvas,
                (true, true) => 30,
                (true, false) => 245,
            }])
        })
    }

    #[test]
    fn a_page_on_a_flat_desktop_is_boxed_with_a_margin() {
        let page = [400, 200, 600, 350];
        let b = content_box(&page_on_canvas(1920, 1080, 90, page)).expect("a box");
        assert!(b[0] <= 400 && b[0] + MARGIN + 2 >= 400, "{b:?}");
        assert!(b[1] <= 200 && b[1] + MARGIN + 2 >= 200, "{b:?}");
        assert!(
            b[0] + b[2] >= 1000 && b[0] + b[2] <= 1000 + MARGIN + 2,
            "{b:?}"
        );
        assert!(
            b[1] + b[3] >= 550 && b[1] + b[3] <= 550 + MARGIN + 2,
            "{b:?}"
        );
    }

    #[test]
    fn a_page_filling_the_image_or_a_flat_image_is_not_cut() {
        let full = page_on_canvas(1366, 768, 90, [0, 0, 1366, 768]);
        assert_eq!(content_box(&full), None);
        let most = page_on_canvas(1366, 768, 90, [100, 60, 1100, 600]);
        assert_eq!(content_box(&most), None, "over half the image");
        assert_eq!(
            content_box(&GrayImage::from_pixel(800, 600, Luma([90]))),
            None
        );
        assert_eq!(content_box(&GrayImage::new(10, 10)), None);
    }

    #[test]
    fn the_box_is_cut_only_where_the_budget_would_leave_letters_small() {
        let desktop = page_on_canvas(1920, 1080, 90, [400, 200, 600, 350]);
        // 2 MP: 6.5 MP allows 1.77x, so 4x wanted needs the cut; 1.5x does not.
        assert!(content_box_for(&desktop, 4.0, 6.5e6).is_some());
        assert_eq!(content_box_for(&desktop, 1.5, 6.5e6), None);
    }
}
