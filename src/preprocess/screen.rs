//! Screen finding for phone photos of a monitor (and screenshots inside a dark post frame):
//! the screen is the largest bright quadrilateral inside a darker surround. Rectifying it
//! undoes the perspective, so OCR reads level lines and the layout matches by scale and
//! translation again.

use image::{imageops::FilterType, GrayImage, Luma};
use imageproc::geometric_transformations::{warp_into, Interpolation, Projection};

/// Long side of the copy the search runs on.
const SEARCH_SIDE: u32 = 360;

/// How far beyond the bright quadrilateral the rectified screen reaches, as shares of its
/// width and height. A UI's dark sidebar, top bar and footer banner are often as dark
/// as the surround in a photo, so the bright part is only the content area; the brand,
/// the menu and the marking sit just outside it.
const MARGIN_X: f32 = 0.22;

/// Least tilt (degrees) of a bright quadrilateral's edges for a photographed screen. The
/// rounded corners of a level screenshot's frame give up to ~0.6 degrees.
const MIN_TILT_DEGREES: f32 = 1.2;
const MARGIN_Y: f32 = 0.10;

/// Mean grey level below which a bright region is no screen showing a page: measured,
/// the screens of the 86 DEV-XL phone photos are 155-243; a dark theme's chart, 94.
const MIN_SCREEN_MEAN: f32 = 128.0;

/// Share of a rectified screen's pixels that the margins add: the OCR pixel budget is
/// meant for the screen's content, so it grows by this much for a photographed screen.
pub const MARGIN_AREA_FACTOR: f32 = (1.0 + 2.0 * MARGIN_X) * (1.0 + 2.0 * MARGIN_Y);

/// A found screen: the corners of its bright part in the image (top-left, top-right,
/// bottom-right, bottom-left), and the mapping from rectified pixels (that part plus a
/// margin around it, `width` x `height`) back to image pixels.
#[derive(Clone, Copy)]
pub struct Screen {
    pub corners: [(f32, f32); 4],
    pub to_image: Projection,
    pub width: u32,
    pub height: u32,
    /// The bright part inside the rectified image: left, top, width, height.
    pub core: [u32; 4],
}

/// Below this share of horizontal neighbours with equal values, an image has a camera's
/// noise. A rendered page is mostly flat runs, which recompression and scaling keep
/// largely flat (DEV-XL: 0.74 and more for all but a few natural photos); a sensor's
/// noise leaves few neighbours equal (phone photos of a monitor: 0.19 to 0.73).
const CAMERA_FLAT_SHARE: f32 = 0.74;

/// Whether `gray` has a camera's noise: fewer than 74% of its horizontal neighbours equal,
/// judged on every fourth row.
pub fn camera_noise(gray: &GrayImage) -> bool {
    let width = gray.width() as usize;
    if width < 2 {
        return false;
    }
    let (mut equal, mut pairs) = (0usize, 0usize);
    for row in gray.as_raw().chunks_exact(width).step_by(4) {
        equal += row.windows(2).filter(|p| p[0] == p[1]).count();
        pairs += width - 1;
    }
    pairs > 0 && (equal as f32) < CAMERA_FLAT_SHARE * pairs as f32
}

/// Looks for a screen in `gray`. None when the image is not a photo of one (a plain
/// screenshot fills the frame; a natural photo has no bright quadrilateral).
pub fn find_screen(gray: &GrayImage) -> Option<Screen> {
    locate(gray, false)
}

/// Whether `gray` is a photo of a screen, level or tilted: what the pre-OCR gate needs to
/// know (a level screen needs no rectifying, but its text must still be read).
pub fn shows_screen(gray: &GrayImage) -> bool {
    locate(gray, true).is_some()
}

/// The screen in `gray`; one held level is found only with `level_too`.
fn locate(gray: &GrayImage, level_too: bool) -> Option<Screen> {
    let (w, h) = gray.dimensions();
    let s = SEARCH_SIDE as f32 / w.max(h) as f32;
    if s >= 1.0 {
        return None;
    }
    // The SIMD resize: the `image` crate's cost more than the search itself.
    let small = super::resize_gray_to(
        gray,
        ((w as f32 * s) as u32).max(1),
        ((h as f32 * s) as u32).max(1),
        FilterType::Triangle,
    );
    // The surround (desk, wall, bezel) shows at the image border; anything clearly brighter
    // than it is screen, including a screen's own dark sidebar, which Otsu's split of
    // the histogram would leave out.
    let border = border_median(&small);
    let level = imageproc::contrast::otsu_level(&small).min(border.saturating_add(30));
    // A photographed screen sits inside its surround: at least two sides of the image
    // are dark (a screenshot with a dark sidebar and banner can be too; see below).
    let dark_sides = dark_sides(&small, level);
    if dark_sides < 2 {
        return None;
    }
    let mask = GrayImage::from_fn(small.width(), small.height(), |x, y| {
        Luma([if small.get_pixel(x, y)[0] > level {
            255
        } else {
            0
        }])
    });
    // Close small gaps (dark text, moire) so the screen is one component.
    let mask = imageproc::morphology::close(&mask, imageproc::distance_transform::Norm::LInf, 2);
    let labels = imageproc::region_labelling::connected_components(
        &mask,
        imageproc::region_labelling::Connectivity::Eight,
        Luma([0u8]),
    );
    let mut areas: std::collections::HashMap<u32, u32> = std::collections::HashMap::new();
    for p in labels.pixels() {
        if p[0] != 0 {
            *areas.entry(p[0]).or_default() += 1;
        }
    }
    let (&label, &area) = areas.iter().max_by_key(|(_, &a)| a)?;
    let total = (small.width() * small.height()) as f32;
    let share = area as f32 / total;
    if !(0.15..=0.85).contains(&share) {
        return None;
    }
    // Extreme points along the diagonals are the corners of a convex quadrilateral.
    let (mut tl, mut tr, mut br, mut bl) = ((0, 0), (0, 0), (0, 0), (0, 0));
    let (mut min_sum, mut max_sum, mut min_diff, mut max_diff) =
        (i64::MAX, i64::MIN, i64::MAX, i64::MIN);
    let (mut inside_sum, mut outside_sum, mut outside_n) = (0u64, 0u64, 0u64);
    let mut outline = Outline::new(small.width(), small.height());
    for (x, y, l) in labels.enumerate_pixels() {
        let v = small.get_pixel(x, y)[0] as u64;
        if l[0] != label {
            outside_sum += v;
            outside_n += 1;
            continue;
        }
        inside_sum += v;
        outline.add(x, y);
        let (xi, yi) = (x as i64, y as i64);
        if xi + yi < min_sum {
            min_sum = xi + yi;
            tl = (x, y);
        }
        if xi + yi > max_sum {
            max_sum = xi + yi;
            br = (x, y);
        }
        if xi - yi > max_diff {
            max_diff = xi - yi;
            tr = (x, y);
        }
        if xi - yi < min_diff {
            min_diff = xi - yi;
            bl = (x, y);
        }
    }
    // The surround must be clearly darker than the screen, and the screen bright: in a
    // dark theme, a chart's coloured area is lighter than the page around it, and its
    // wavy top edge makes a tilted quadrilateral of it.
    let inside_mean = inside_sum as f32 / area.max(1) as f32;
    let outside_mean = outside_sum as f32 / outside_n.max(1) as f32;
    if inside_mean - outside_mean < 50.0 || inside_mean < MIN_SCREEN_MEAN {
        return None;
    }
    let quad = [tl, tr, br, bl].map(|(x, y)| (x as f32, y as f32));
    // A screen cut by three or four sides of the photo shows at most one of its own edges:
    // its "corners" are the photo's, and no perspective can be read from them. What does
    // fill the frame that way is a screenshot whose sidebar and banner are dark.
    if sides_touched(&quad, small.width(), small.height()) >= 3 {
        return None;
    }
    // A photo is never perfectly level; panels of a screenshot always are, and so is a
    // screenshot inside a dark frame (a dark-theme post, a desktop), which has four dark
    // sides and needs no rectification, only the usual pipeline.
    // The corners alone can mislead: where a level screenshot's bright part is cut by its
    // dark sidebar or rounded at the corners, the diagonal extremes sit off its outline
    // and make a tilted quadrilateral of a level one. Its outline's sides are still level.
    if !level_too
        && (max_tilt_degrees(&quad) < MIN_TILT_DEGREES
            || outline.tilt_degrees(&quad) < MIN_TILT_DEGREES)
    {
        return None;
    }
    // A screen fills its quadrilateral; a blob does not.
    if outline.spanned_area() as f32 / quad_area(&quad).max(1.0) < 0.85 {
        return None;
    }
    // A screen's outline is a step from bright to dark. Where two of the four edges are no
    // step at all, the outline is something else: the threshold's contour across a gradient
    // background (a login page), the corner of a post frame.
    if flat_edges(&edge_contrasts(&small, &quad)) >= 2 {
        return None;
    }
    // The diagonal extremes are the corners only of a clean quadrilateral: a banner that
    // runs on over a dark sidebar puts one of them at its end, and the quadrilateral then
    // shears the whole screen. Lines fitted to the outline's sides, where most of each
    // side lies, meet at the corners. (The tests above judge the extremes: whether there
    // is a screen at all was settled on them.)
    let corners = outline
        .fitted_quad(&quad)
        .unwrap_or(quad)
        .map(|(x, y)| (x / s, y / s));
    let dist = |a: (f32, f32), b: (f32, f32)| ((a.0 - b.0).powi(2) + (a.1 - b.1).powi(2)).sqrt();
    let width = dist(corners[0], corners[1])
        .max(dist(corners[3], corners[2]))
        .round() as u32;
    let height = dist(corners[0], corners[3])
        .max(dist(corners[1], corners[2]))
        .round() as u32;
    if width < 64 || height < 64 {
        return None;
    }
    let rect = [
        (0.0, 0.0),
        (width as f32, 0.0),
        (width as f32, height as f32),
        (0.0, height as f32),
    ];
    let bright_to_image = Projection::from_control_points(rect, corners)?;
    let (mx, my) = (
        (width as f32 * MARGIN_X).round(),
        (height as f32 * MARGIN_Y).round(),
    );
    // Output pixel (u, v) shows the bright region's point (u - mx, v - my).
    let to_image = Projection::translate(-mx, -my).and_then(bright_to_image);
    Some(Screen {
        corners,
        to_image,
        width: width + 2 * mx as u32,
        height: height + 2 * my as u32,
        core: [mx as u32, my as u32, width, height],
    })
}

/// The screen's pixels, rectified.
pub fn rectify(gray: &GrayImage, screen: &Screen) -> GrayImage {
    let mut out = GrayImage::new(screen.width, screen.height);
    // warp_into maps image -> output, so give it the inverse of to_image.
    warp_into(
        gray,
        &screen.to_image.invert(),
        Interpolation::Bilinear,
        Luma([255]),
        &mut out,
    );
    out
}

fn border_pixels(img: &GrayImage) -> Vec<u8> {
    let (w, h) = img.dimensions();
    (0..w)
        .flat_map(|x| [img.get_pixel(x, 0)[0], img.get_pixel(x, h - 1)[0]])
        .chain((0..h).flat_map(|y| [img.get_pixel(0, y)[0], img.get_pixel(w - 1, y)[0]]))
        .collect()
}

fn border_median(img: &GrayImage) -> u8 {
    let mut v = border_pixels(img);
    v.sort_unstable();
    v[v.len() / 2]
}

/// How many of the four image sides are at least 70% darker than `level`.
fn dark_sides(img: &GrayImage, level: u8) -> usize {
    let (w, h) = img.dimensions();
    let share = |pixels: Vec<u8>| {
        pixels.iter().filter(|&&p| p <= level).count() as f32 / pixels.len().max(1) as f32
    };
    let sides = [
        share((0..w).map(|x| img.get_pixel(x, 0)[0]).collect()),
        share((0..w).map(|x| img.get_pixel(x, h - 1)[0]).collect()),
        share((0..h).map(|y| img.get_pixel(0, y)[0]).collect()),
        share((0..h).map(|y| img.get_pixel(w - 1, y)[0]).collect()),
    ];
    sides.iter().filter(|&&s| s >= 0.7).count()
}

/// How many sides of a `w` x `h` image the quadrilateral reaches.
fn sides_touched(q: &[(f32, f32); 4], w: u32, h: u32) -> usize {
    let (w, h) = (w as f32, h as f32);
    (0..4)
        .filter(|&side| q.iter().any(|&p| on_border(p, w, h)[side]))
        .count()
}

/// Which sides of a `w` x `h` image (left, right, top, bottom) point `p` lies on, within
/// 2% of the image's size.
fn on_border(p: (f32, f32), w: f32, h: f32) -> [bool; 4] {
    let (tx, ty) = ((0.02 * w).max(1.0), (0.02 * h).max(1.0));
    [
        p.0 <= tx,
        p.0 >= w - 1.0 - tx,
        p.1 <= ty,
        p.1 >= h - 1.0 - ty,
    ]
}

/// Largest angle between an edge of the quadrilateral and the nearest image axis.
fn max_tilt_degrees(q: &[(f32, f32); 4]) -> f32 {
    (0..4)
        .map(|i| {
            let (a, b) = (q[i], q[(i + 1) % 4]);
            let (dx, dy) = ((b.0 - a.0).abs(), (b.1 - a.1).abs());
            dx.min(dy).atan2(dx.max(dy)).to_degrees()
        })
        .fold(0.0, f32::max)
}

/// Where a component's outline crosses each row and each column of the image: the
/// first and last of its pixels there.
struct Outline {
    rows: Vec<Option<(u32, u32)>>,
    cols: Vec<Option<(u32, u32)>>,
}

#[derive(Clone, Copy)]
enum Side {
    Left,
    Right,
    Top,
    Bottom,
}

impl Outline {
    fn new(width: u32, height: u32) -> Outline {
        Outline {
            rows: vec![None; height as usize],
            cols: vec![None; width as usize],
        }
    }

    /// Adds the component's pixel (x, y).
    fn add(&mut self, x: u32, y: u32) {
        let widen = |extent: &mut Option<(u32, u32)>, v: u32| {
            *extent = Some(extent.map_or((v, v), |(lo, hi)| (lo.min(v), hi.max(v))));
        };
        widen(&mut self.rows[y as usize], x);
        widen(&mut self.cols[x as usize], y);
    }

    /// Pixels of the component with the gaps in each of its rows: what a screen shows
    /// within its outline (dark tiles, a dark chart, a photo on the page, boxes cut by
    /// its edge) is the screen's too.
    fn spanned_area(&self) -> u32 {
        self.rows.iter().flatten().map(|(lo, hi)| hi - lo + 1).sum()
    }

    /// Largest tilt of the outline from the nearest image axis, along the sides of the
    /// component's quadrilateral `q`. Each side is measured on its middle half, from the
    /// median outline position in each of its two quarters, so rounded corners, a notch
    /// or a bump (a floating button) do not move it; the diagonal extremes that give the
    /// corners do move with them.
    fn tilt_degrees(&self, q: &[(f32, f32); 4]) -> f32 {
        let [tl, tr, br, bl] = *q;
        [
            (Side::Left, tl.1, bl.1),
            (Side::Right, tr.1, br.1),
            (Side::Top, tl.0, tr.0),
            (Side::Bottom, bl.0, br.0),
        ]
        .into_iter()
        .map(|(side, a, b)| self.side_tilt_degrees(side, a.min(b), a.max(b)))
        .fold(0.0, f32::max)
    }

    /// The quadrilateral whose sides are lines fitted to the outline along the sides of
    /// `q` (its diagonal extremes), each on the middle 80% of its side and robust to a
    /// minority of the outline leaving it (a banner running on, a notch, rounded ends).
    /// None when a side is too short or too ragged to fit, or the fit is no convex
    /// quadrilateral near `q`.
    fn fitted_quad(&self, q: &[(f32, f32); 4]) -> Option<[(f32, f32); 4]> {
        let [tl, tr, br, bl] = *q;
        // Left and right: x as a function of y; top and bottom: y as a function of x.
        let left = self.fit_side(Side::Left, tl.1.min(bl.1), tl.1.max(bl.1))?;
        let right = self.fit_side(Side::Right, tr.1.min(br.1), tr.1.max(br.1))?;
        let top = self.fit_side(Side::Top, tl.0.min(tr.0), tl.0.max(tr.0))?;
        let bottom = self.fit_side(Side::Bottom, bl.0.min(br.0), bl.0.max(br.0))?;
        let fitted = [
            meet(left, top)?,
            meet(right, top)?,
            meet(right, bottom)?,
            meet(left, bottom)?,
        ];
        // Each corner stays within about a third of the quadrilateral's size of the extreme it
        // replaces: a fit that wanders further has followed something else.
        let size = quad_area(q).sqrt();
        let near = fitted
            .iter()
            .zip(q)
            .all(|(f, e)| (f.0 - e.0).hypot(f.1 - e.1) <= 0.35 * size);
        (near && is_convex(&fitted) && quad_area(&fitted) >= 0.5 * quad_area(q)).then_some(fitted)
    }

    /// The line `a + b t` that the outline follows along `side`, over rows (left, right) or
    /// columns (top, bottom) in the middle 80% of `lo..hi`: a Theil-Sen estimate (median
    /// of slopes between points half the side apart, median intercept), refined by least
    /// squares on the points within two pixels of it.
    fn fit_side(&self, side: Side, lo: f32, hi: f32) -> Option<(f32, f32)> {
        let span = hi - lo;
        if span < 16.0 {
            return None;
        }
        let points = self.side_points(side, lo + 0.1 * span, hi - 0.1 * span)?;
        let half = points.len() / 2;
        if half < 4 {
            return None;
        }
        let mut slopes: Vec<f32> = (0..half)
            .map(|i| {
                let (p, r) = (points[i], points[i + half]);
                (r.1 - p.1) / (r.0 - p.0).max(1.0)
            })
            .collect();
        let slope = median(&mut slopes)?;
        let mut intercepts: Vec<f32> = points.iter().map(|p| p.1 - slope * p.0).collect();
        let intercept = median(&mut intercepts)?;
        let near: Vec<(f32, f32)> = points
            .iter()
            .copied()
            .filter(|p| (p.1 - (intercept + slope * p.0)).abs() <= 2.0)
            .collect();
        // Most of the side must follow one line.
        if near.len() * 2 < points.len() {
            return None;
        }
        Some(least_squares(&near).unwrap_or((intercept, slope)))
    }

    /// Where the outline crosses each row (left, right) or column (top, bottom) from
    /// `from` to `to`, seen from `side`: (row or column, position) pairs. None when the
    /// range lies outside the outline.
    fn side_points(&self, side: Side, from: f32, to: f32) -> Option<Vec<(f32, f32)>> {
        let (extents, far_end) = match side {
            Side::Left => (&self.rows, false),
            Side::Right => (&self.rows, true),
            Side::Top => (&self.cols, false),
            Side::Bottom => (&self.cols, true),
        };
        let from = from.round() as usize;
        let to = (to.round() as usize).min(extents.len());
        Some(
            extents
                .get(from..to)?
                .iter()
                .enumerate()
                .filter_map(|(i, e)| {
                    e.map(|(first, last)| {
                        ((from + i) as f32, if far_end { last } else { first } as f32)
                    })
                })
                .collect(),
        )
    }

    /// Tilt of one side, along rows (left, right) or columns (top, bottom) `lo..hi`.
    fn side_tilt_degrees(&self, side: Side, lo: f32, hi: f32) -> f32 {
        let span = hi - lo;
        // Too short a side to measure a slope on: it cannot show a tilt.
        if span < 16.0 {
            return 0.0;
        }
        // Seen from this side, the median place where the outline crosses the rows or
        // columns of a range.
        let median_between = |from: f32, to: f32| -> Option<f32> {
            let mut v: Vec<f32> = self
                .side_points(side, from, to)?
                .into_iter()
                .map(|p| p.1)
                .collect();
            median(&mut v)
        };
        let quarter = 0.25 * span;
        match (
            median_between(lo + quarter, lo + 2.0 * quarter),
            median_between(lo + 2.0 * quarter, lo + 3.0 * quarter),
        ) {
            (Some(m1), Some(m2)) => (m2 - m1).abs().atan2(quarter).to_degrees(),
            _ => 0.0,
        }
    }
}

/// Median step in brightness across each edge of `q` (inside minus outside, a few pixels
/// either side), None for an edge along the image border (the screen runs on out of view).
fn edge_contrasts(img: &GrayImage, q: &[(f32, f32); 4]) -> [Option<f32>; 4] {
    let (w, h) = (img.width() as f32, img.height() as f32);
    let mut out = [None; 4];
    for i in 0..4 {
        let (a, b) = (q[i], q[(i + 1) % 4]);
        let (ba, bb) = (on_border(a, w, h), on_border(b, w, h));
        if (0..4).any(|k| ba[k] && bb[k]) {
            continue;
        }
        let (dx, dy) = (b.0 - a.0, b.1 - a.1);
        let len = (dx * dx + dy * dy).sqrt().max(1.0);
        let (nx, ny) = (dy / len, -dx / len);
        let at = |x: f32, y: f32| {
            (x >= 0.0 && y >= 0.0 && x <= w - 1.0 && y <= h - 1.0)
                .then(|| img.get_pixel(x as u32, y as u32)[0] as f32)
        };
        let mut steps: Vec<f32> = (0..EDGE_SAMPLES)
            .filter_map(|k| {
                let t = 0.15 + 0.7 * k as f32 / (EDGE_SAMPLES - 1) as f32;
                let (x, y) = (a.0 + t * dx, a.1 + t * dy);
                let inside = at(x - EDGE_OFFSET * nx, y - EDGE_OFFSET * ny)?;
                let outside = at(x + EDGE_OFFSET * nx, y + EDGE_OFFSET * ny)?;
                Some(inside - outside)
            })
            .collect();
        if steps.len() < EDGE_SAMPLES / 2 {
            continue;
        }
        steps.sort_by(f32::total_cmp);
        out[i] = Some(steps[steps.len() / 2]);
    }
    out
}

/// How many of the measured edges show no step in brightness.
fn flat_edges(contrasts: &[Option<f32>; 4]) -> usize {
    contrasts
        .iter()
        .filter(|c| c.is_some_and(|c| c < MIN_EDGE_STEP))
        .count()
}

/// Points sampled along an edge, and how far either side of it (search-image pixels).
const EDGE_SAMPLES: usize = 24;
const EDGE_OFFSET: f32 = 4.0;

/// Least brightness step (grey levels) across an edge of a photographed screen.
const MIN_EDGE_STEP: f32 = 12.0;

/// Where a side `x = a + b y` (left, right) meets a side `y = c + d x` (top, bottom).
fn meet((a, b): (f32, f32), (c, d): (f32, f32)) -> Option<(f32, f32)> {
    let det = 1.0 - b * d;
    if det.abs() < 0.1 {
        return None;
    }
    let x = (a + b * c) / det;
    Some((x, c + d * x))
}

/// Whether the quadrilateral turns the same way at all four corners.
fn is_convex(q: &[(f32, f32); 4]) -> bool {
    let turns: Vec<f32> = (0..4)
        .map(|i| {
            let (a, b, c) = (q[i], q[(i + 1) % 4], q[(i + 2) % 4]);
            (b.0 - a.0) * (c.1 - b.1) - (b.1 - a.1) * (c.0 - b.0)
        })
        .collect();
    turns.iter().all(|&t| t > 0.0) || turns.iter().all(|&t| t < 0.0)
}

/// The median of `v` (reordered), None when empty.
fn median(v: &mut [f32]) -> Option<f32> {
    v.sort_unstable_by(f32::total_cmp);
    v.get(v.len() / 2).copied()
}

/// The least-squares line `a + b t` through `points` (t, value); None when they are fewer
/// than two or all at one t.
fn least_squares(points: &[(f32, f32)]) -> Option<(f32, f32)> {
    let n = points.len() as f32;
    if n < 2.0 {
        return None;
    }
    let (mt, mv) = points
        .iter()
        .fold((0.0, 0.0), |(st, sv), p| (st + p.0 / n, sv + p.1 / n));
    let (sxy, sxx) = points.iter().fold((0.0, 0.0), |(sxy, sxx), p| {
        (sxy + (p.0 - mt) * (p.1 - mv), sxx + (p.0 - mt).powi(2))
    });
    if sxx <= f32::EPSILON {
        return None;
    }
    let b = sxy / sxx;
    Some((mv - b * mt, b))
}

fn quad_area(q: &[(f32, f32); 4]) -> f32 {
    let mut a = 0.0;
    for i in 0..4 {
        let (x0, y0) = q[i];
        let (x1, y1) = q[(i + 1) % 4];
        a += x0 * y1 - x1 * y0;
    }
    a.abs() / 2.0
}

/// Whether (x, y) lies inside the clockwise quadrilateral `q`: test images of screens.
#[cfg(test)]
pub(crate) fn inside(q: &[(f32, f32); 4], x: f32, y: f32) -> bool {
    (0..4).all(|i| {
        let (x0, y0) = q[i];
        let (x1, y1) = q[(i + 1) % 4];
        (x1 - x0) * (y - y0) - (y1 - y0) * (x - x0) >= 0.0
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_cameras_noise_leaves_few_neighbours_equal() {
        let flat = GrayImage::from_fn(64, 64, |x, _| Luma([if x < 32 { 250 } else { 20 }]));
        assert!(!camera_noise(&flat));
        let noisy = GrayImage::from_fn(64, 64, |x, y| Luma([((x * 37 + y * 11) % 9) as u8 + 120]));
        assert!(camera_noise(&noisy));
        assert!(
            !camera_noise(&GrayImage::new(1, 40)),
            "no neighbours, no noise"
        );
    }

    use super::*;

    #[test]
    fn finds_a_tilted_bright_screen_on_a_dark_surround() {
        let (w, h) = (800u32, 600u32);
        let quad = [
            (150.0, 120.0),
            (660.0, 90.0),
            (690.0, 480.0),
            (120.0, 500.0),
        ];
        let img = GrayImage::from_fn(w, h, |x, y| {
            Luma([if inside(&quad, x as f32, y as f32) {
                220
            } else {
                40
            }])
        });
        let s = find_screen(&img).expect("screen");
        for (c, q) in s.corners.iter().zip(quad) {
            assert!(
                (c.0 - q.0).abs() < 12.0 && (c.1 - q.1).abs() < 12.0,
                "{c:?} vs {q:?}"
            );
        }
        let r = rectify(&img, &s);
        // The rectified screen is bright throughout (away from its edges), inside a margin
        // that shows what lies around it.
        let (mx, my) = (
            (r.width() as f32 * MARGIN_X / (1.0 + 2.0 * MARGIN_X)) as u32,
            (r.height() as f32 * MARGIN_Y / (1.0 + 2.0 * MARGIN_Y)) as u32,
        );
        assert!(r.get_pixel(r.width() / 2, r.height() / 2)[0] > 200);
        assert!(r.get_pixel(mx + 20, my + 20)[0] > 200);
        assert!(
            r.get_pixel(mx / 2, r.height() / 2)[0] < 100,
            "the surround shows"
        );
    }

    #[test]
    fn a_dark_themes_coloured_chart_is_no_screen() {
        // The same tilted quadrilateral, mid-grey (a chart's coloured area, lit less than
        // any screen showing a page) on a dark theme's page.
        let quad = [
            (150.0, 120.0),
            (660.0, 90.0),
            (690.0, 480.0),
            (120.0, 500.0),
        ];
        let img = GrayImage::from_fn(800, 600, |x, y| {
            Luma([if inside(&quad, x as f32, y as f32) {
                105
            } else {
                30
            }])
        });
        assert!(find_screen(&img).is_none());
    }

    #[test]
    fn a_banner_running_on_over_a_dark_sidebar_does_not_move_a_corner() {
        // A tilted screen whose dark sidebar is as dark as the surround, with a bright
        // marking banner running on along the top over the sidebar: the diagonal extreme
        // at the top left is the banner's end, 110 pixels from the content's corner.
        let quad = [
            (150.0, 120.0),
            (660.0, 90.0),
            (690.0, 480.0),
            (120.0, 500.0),
        ];
        let top = |x: f32| 120.0 + (x - 150.0) * (90.0 - 120.0) / (660.0 - 150.0);
        let img = GrayImage::from_fn(800, 600, |x, y| {
            let (xf, yf) = (x as f32, y as f32);
            let banner = (40.0..150.0).contains(&xf) && (top(xf)..top(xf) + 12.0).contains(&yf);
            Luma([if banner || inside(&quad, xf, yf) {
                220
            } else {
                40
            }])
        });
        let s = find_screen(&img).expect("screen");
        for (c, q) in s.corners.iter().zip(quad) {
            assert!(
                (c.0 - q.0).abs() < 6.0 && (c.1 - q.1).abs() < 6.0,
                "{:?} vs {quad:?}",
                s.corners
            );
        }
    }

    #[test]
    fn fitted_sides_ignore_a_minority_leaving_them() {
        // Outline points along x = 100 + 0.1 y, a fifth of them thrown 40 pixels out.
        let mut outline = Outline::new(400, 400);
        for y in 0..400u32 {
            let x = 100.0 + 0.1 * y as f32;
            let x = if y % 5 == 0 { x - 40.0 } else { x };
            outline.add(x.round() as u32, y);
            outline.add(380, y);
        }
        let (a, b) = outline.fit_side(Side::Left, 0.0, 399.0).expect("a line");
        assert!((a - 100.0).abs() < 1.0 && (b - 0.1).abs() < 0.01, "{a} {b}");
        assert_eq!(meet((100.0, 0.0), (50.0, 0.0)), Some((100.0, 50.0)));
        assert!(is_convex(&[
            (0.0, 0.0),
            (10.0, 0.0),
            (10.0, 10.0),
            (0.0, 10.0)
        ]));
        assert!(!is_convex(&[
            (0.0, 0.0),
            (10.0, 0.0),
            (2.0, 2.0),
            (0.0, 10.0)
        ]));
    }

    #[test]
    fn dark_tiles_on_a_screen_are_part_of_it() {
        // A tilted screen whose page has dark tiles, the last row cut by the screen's
        // bottom edge: the bright part is full of holes, some open to the surround.
        let quad = [
            (150.0, 120.0),
            (660.0, 90.0),
            (690.0, 480.0),
            (120.0, 500.0),
        ];
        let tile = |x: u32, y: u32| (x / 60) % 2 == 1 && (y / 70) % 2 == 1 && x > 200 && x < 600;
        let img = GrayImage::from_fn(800, 600, |x, y| {
            let on_screen = inside(&quad, x as f32, y as f32);
            Luma([if on_screen && !tile(x, y) { 220 } else { 40 }])
        });
        assert!(find_screen(&img).is_some());
    }

    #[test]
    fn screenshot_filling_the_frame_is_not_a_screen_photo() {
        let img = GrayImage::from_pixel(900, 600, Luma([240]));
        assert!(find_screen(&img).is_none());
        // A UI with a dark sidebar and banner is not a screen on a dark surround either.
        let ui = GrayImage::from_fn(900, 600, |x, y| {
            Luma([if x < 200 || y > 570 { 50 } else { 240 }])
        });
        assert!(find_screen(&ui).is_none());
        // Nor is one whose content area's edge is slanted (a rounded panel, a gradient):
        // the bright part reaches three sides of the image.
        let slanted = GrayImage::from_fn(900, 600, |x, y| {
            Luma([if (x as f32) < 200.0 + 0.05 * y as f32 || y < 6 {
                50
            } else {
                240
            }])
        });
        assert!(find_screen(&slanted).is_none());
    }

    #[test]
    fn a_level_screenshot_in_a_dark_post_frame_is_not_rectified() {
        // The bright part of a framed screenshot: the content area right of a dark sidebar,
        // the top bar reaching further left over it, a rounded bottom-right corner. Its
        // diagonal extremes make a quadrilateral whose left edge leans by 11 degrees.
        let bright = |x: u32, y: u32| {
            let (xf, yf) = (x as f32, y as f32);
            let rounded = xf > 660.0 && yf > 460.0 && (xf - 660.0).hypot(yf - 460.0) > 40.0;
            let content = (200..700).contains(&x) && (150..500).contains(&y) && !rounded;
            let top_bar = (130..700).contains(&x) && (150..180).contains(&y);
            content || top_bar
        };
        let img = GrayImage::from_fn(800, 600, |x, y| Luma([if bright(x, y) { 230 } else { 40 }]));
        assert!(find_screen(&img).is_none());
    }

    #[test]
    fn a_level_screen_on_a_dark_surround_is_a_screen_left_level() {
        // A monitor held square to the camera: a bright rectangle with a dark surround.
        let img = GrayImage::from_fn(800, 600, |x, y| {
            let on = (120..680).contains(&x) && (100..480).contains(&y);
            Luma([if on { 225 } else { 35 }])
        });
        assert!(find_screen(&img).is_none());
        assert!(shows_screen(&img));
    }

    #[test]
    fn a_gradients_contour_is_no_screen_edge() {
        // A trapezoid whose top and bottom are steps and whose sides are where a smooth
        // ramp crosses the threshold, as a login page's gradient background gives.
        let quad = [(0.0, 20.0), (359.0, 20.0), (300.0, 200.0), (60.0, 200.0)];
        let ramp = GrayImage::from_fn(360, 240, |x, y| {
            let (x, y) = (x as f32, y as f32);
            if !(20.0..=200.0).contains(&y) {
                return Luma([30]);
            }
            let t = (y - 20.0) / 180.0;
            let (left, right) = (60.0 * t, 359.0 - 59.0 * t);
            let outside = (left - x).max(x - right).max(0.0);
            Luma([(200.0 - 1.5 * outside).max(30.0) as u8])
        });
        let steps = edge_contrasts(&ramp, &quad);
        assert_eq!(flat_edges(&steps), 2, "{steps:?}");
        // The same outline drawn as a screen on a dark surround has steps all round.
        let screen = GrayImage::from_fn(360, 240, |x, y| {
            Luma([if inside(&quad, x as f32, y as f32) {
                200
            } else {
                30
            }])
        });
        let steps = edge_contrasts(&screen, &quad);
        assert!(
            steps.iter().flatten().all(|&c| c >= MIN_EDGE_STEP),
            "{steps:?}"
        );
    }
}
