//! Local-feature layout signal: FAST corners described by BRIEF, matched to a reference
//! and verified by a RANSAC similarity fit.
//!
//! It reads no text, so it may hold where OCR fails (a blurred phone photo, a tiny mobile
//! crop): the corners of a system's icons, bars and boxes sit where they sit on the
//! reference. BRIEF is not scale-invariant, so both sides are brought to a common size
//! measured by their text, not by their width: a crop changes the width, not the glyphs,
//! and a 1920-wide render of a page has the same glyphs as its 1366-wide render. A
//! reference is stored at a few scales around that size, since the glyph estimate of a
//! posted image is only roughly right.

use image::imageops::FilterType;
use image::GrayImage;
use imageproc::binary_descriptors::brief::{brief, TestPair};
use imageproc::corners::{corners_fast9, Corner};
use imageproc::point::Point;
use serde::{Deserialize, Serialize};

/// Glyph height (pixels, as `estimate_glyph_height` measures it) both sides are scaled to.
/// Small enough that most posted images are reduced, not enlarged, and that a 31-pixel
/// BRIEF patch spans a few text lines.
pub const TARGET_GLYPH: f32 = 6.0;

/// Scales of a reference relative to its glyph-normalised size: a quarter octave apart,
/// so an image is within an eighth of an octave of one of them (BRIEF tolerates ~15%),
/// three each way: a posted image's glyph estimate is often a third off.
pub const REFERENCE_LEVELS: [f32; 7] = [0.595, 0.707, 0.841, 1.0, 1.189, 1.414, 1.682];

/// Bits of a descriptor.
pub const DESCRIPTOR_BITS: usize = 256;

/// BRIEF patch radius in imageproc (31x31 patches): keypoints must keep this far plus one
/// from every edge.
const PATCH_MARGIN: u32 = 17;

/// Largest working image, in pixels: bounds the cost of a huge photo whose glyphs were
/// misjudged as tiny.
const MAX_WORKING_PIXELS: f32 = 3.0e6;

/// Why keypoints could not be extracted or a stored set is unusable.
#[derive(Debug, thiserror::Error)]
pub enum KeypointError {
    #[error("image is empty")]
    EmptyImage,
    #[error("working scale {0} is not a positive finite number")]
    BadScale(f32),
    #[error("BRIEF failed: {0}")]
    Descriptor(String),
    #[error("{points} keypoint positions but {descriptors} descriptors")]
    Inconsistent { points: usize, descriptors: usize },
}

/// One 256-bit BRIEF descriptor.
pub type Descriptor = [u64; 4];

/// Keypoints of one image at one working scale.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Keypoints {
    /// Working pixels per image pixel: the scale the corners were found at.
    pub scale: f32,
    /// Size of the image the positions refer to (image pixels).
    pub width: u32,
    pub height: u32,
    /// Positions in image pixels, rounded to a tenth.
    pub points: Vec<[f32; 2]>,
    /// One descriptor per point, all as one hexadecimal string (64 digits each).
    #[serde(with = "hex_descriptors")]
    pub descriptors: Vec<Descriptor>,
}

/// A reference's keypoints at each of `REFERENCE_LEVELS`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReferenceKeypoints {
    pub levels: Vec<Keypoints>,
}

/// How corners are found and kept.
#[derive(Debug, Clone, Copy)]
pub struct ExtractOptions {
    /// Most keypoints kept.
    pub max_points: usize,
    /// FAST-9 intensity threshold: low, since a photo has little contrast; the grid and
    /// the score keep the best.
    pub fast_threshold: u8,
    /// Gaussian smoothing before BRIEF (working pixels): BRIEF compares pixel pairs and
    /// is fragile to noise, JPEG blocks and moire without it.
    pub blur_sigma: f32,
    /// Side of the grid cells (working pixels) that share out the keypoints, so text-dense
    /// areas do not take them all. In working pixels, not a fraction of the image, so a
    /// crop keeps the same cells' worth of points where it keeps the content.
    pub cell: u32,
}

impl Default for ExtractOptions {
    fn default() -> Self {
        ExtractOptions {
            max_points: 500,
            fast_threshold: 12,
            blur_sigma: 1.2,
            cell: 48,
        }
    }
}

/// Working scale of an image: its glyphs brought to `TARGET_GLYPH`. Without text-like
/// shapes, the long side is brought to 800 pixels (a 1366-wide screen's glyph scale).
pub fn working_scale(gray: &GrayImage) -> f32 {
    let (w, h) = (gray.width().max(1) as f32, gray.height().max(1) as f32);
    let scale = match crate::preprocess::estimate_glyph_height(gray) {
        Some(g) if g > 1.0 => TARGET_GLYPH / g,
        _ => 800.0 / w.max(h),
    };
    let cap = (MAX_WORKING_PIXELS / (w * h)).sqrt();
    scale.clamp(0.05, 3.0).min(cap)
}

/// Keypoints of `gray` found at `scale` (working pixels per image pixel).
pub fn extract(
    gray: &GrayImage,
    scale: f32,
    opts: &ExtractOptions,
) -> Result<Keypoints, KeypointError> {
    if gray.width() == 0 || gray.height() == 0 {
        return Err(KeypointError::EmptyImage);
    }
    if !(scale.is_finite() && scale > 0.0) {
        return Err(KeypointError::BadScale(scale));
    }
    let working = if (scale - 1.0).abs() < 0.01 {
        gray.clone()
    } else {
        let w = ((gray.width() as f32 * scale).round() as u32).max(1);
        let h = ((gray.height() as f32 * scale).round() as u32).max(1);
        crate::preprocess::resize_gray_to(gray, w, h, FilterType::Triangle)
    };
    let mut out = Keypoints {
        scale,
        width: gray.width(),
        height: gray.height(),
        ..Keypoints::default()
    };
    let (ww, wh) = working.dimensions();
    if ww <= 2 * PATCH_MARGIN || wh <= 2 * PATCH_MARGIN {
        return Ok(out);
    }
    let corners = corners_fast9(&working, opts.fast_threshold);
    let corners = imageproc::suppress::local_maxima(&corners, 2);
    let kept = spread_over_grid(corners, ww, wh, opts);
    if kept.is_empty() {
        return Ok(out);
    }
    let smooth = imageproc::filter::gaussian_blur_f32(&working, opts.blur_sigma);
    let positions: Vec<Point<u32>> = kept.iter().map(|c| Point::new(c.x, c.y)).collect();
    let (descriptors, _) = brief(&smooth, &positions, DESCRIPTOR_BITS, Some(test_pairs()))
        .map_err(KeypointError::Descriptor)?;
    for (c, d) in kept.iter().zip(&descriptors) {
        let round = |v: f32| (v * 10.0).round() / 10.0;
        out.points
            .push([round(c.x as f32 / scale), round(c.y as f32 / scale)]);
        let mut words = [0u64; 4];
        for (i, chunk) in d.bits.iter().enumerate().take(2) {
            words[2 * i] = *chunk as u64;
            words[2 * i + 1] = (*chunk >> 64) as u64;
        }
        out.descriptors.push(words);
    }
    Ok(out)
}

/// A reference's keypoints at each of `REFERENCE_LEVELS` around its glyph-normalised size.
pub fn extract_reference(
    gray: &GrayImage,
    opts: &ExtractOptions,
) -> Result<ReferenceKeypoints, KeypointError> {
    let base = working_scale(gray);
    let levels = REFERENCE_LEVELS
        .iter()
        .map(|l| extract(gray, base * l, opts))
        .collect::<Result<_, _>>()?;
    Ok(ReferenceKeypoints { levels })
}

/// The strongest corners away from the edges, at most a fair share per grid cell (twice
/// the even share, at least 4), strongest first.
fn spread_over_grid(
    mut corners: Vec<Corner>,
    w: u32,
    h: u32,
    opts: &ExtractOptions,
) -> Vec<Corner> {
    corners.retain(|c| {
        c.x >= PATCH_MARGIN
            && c.y >= PATCH_MARGIN
            && c.x + PATCH_MARGIN < w
            && c.y + PATCH_MARGIN < h
    });
    corners.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then((a.y, a.x).cmp(&(b.y, b.x)))
    });
    let cell = opts.cell.max(8);
    let (cols, rows) = (w.div_ceil(cell) as usize, h.div_ceil(cell) as usize);
    let cap = (2 * opts.max_points).div_ceil(cols * rows).max(4);
    let mut taken = vec![0usize; cols * rows];
    let mut kept = Vec::with_capacity(opts.max_points);
    for c in corners {
        let i = (c.y / cell) as usize * cols + (c.x / cell) as usize;
        if taken[i] < cap {
            taken[i] += 1;
            kept.push(c);
            if kept.len() == opts.max_points {
                break;
            }
        }
    }
    kept
}

/// The BRIEF test pairs: fixed, so stored descriptors stay comparable across runs (imageproc
/// draws them from the thread RNG when none are given). Isotropic Gaussian around the patch
/// centre, sigma 6.6 as in imageproc and the BRIEF paper.
fn test_pairs() -> &'static Vec<TestPair> {
    static PAIRS: std::sync::OnceLock<Vec<TestPair>> = std::sync::OnceLock::new();
    PAIRS.get_or_init(|| {
        let mut rng = XorShift::new(0x5eed_b41e_f00d);
        let mut coord = || loop {
            let v = 16.0 + 6.6 * rng.gaussian();
            if (0.0..31.0).contains(&v) {
                return v as u32;
            }
        };
        (0..DESCRIPTOR_BITS)
            .map(|_| TestPair {
                p0: Point::new(coord(), coord()),
                p1: Point::new(coord(), coord()),
            })
            .collect()
    })
}

/// Small deterministic generator: RANSAC and the test pairs must give the same result on
/// every run.
struct XorShift(u64);

impl XorShift {
    fn new(seed: u64) -> Self {
        XorShift(seed.max(1))
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 24) as f32
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    /// Standard normal (Box-Muller).
    fn gaussian(&mut self) -> f32 {
        let u1 = self.unit().max(1e-7);
        let u2 = self.unit();
        (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos()
    }
}

fn hamming(a: &Descriptor, b: &Descriptor) -> u32 {
    a.iter().zip(b).map(|(x, y)| (x ^ y).count_ones()).sum()
}

/// Maps reference pixels to image pixels: `(x, y) -> s·R(θ)·(x, y) + (tx, ty)`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Similarity {
    pub scale: f32,
    /// Rotation in radians.
    pub rotation: f32,
    pub tx: f32,
    pub ty: f32,
}

impl Similarity {
    pub fn apply(&self, (x, y): (f32, f32)) -> (f32, f32) {
        let (a, b) = self.ab();
        (a * x - b * y + self.tx, b * x + a * y + self.ty)
    }

    fn ab(&self) -> (f32, f32) {
        (
            self.scale * self.rotation.cos(),
            self.scale * self.rotation.sin(),
        )
    }

    fn from_ab(a: f32, b: f32, tx: f32, ty: f32) -> Self {
        Similarity {
            scale: a.hypot(b),
            rotation: b.atan2(a),
            tx,
            ty,
        }
    }
}

/// How matching and verification are done.
#[derive(Debug, Clone, Copy)]
pub struct MatchOptions {
    /// Largest Hamming distance of a putative match (of 256 bits).
    pub max_hamming: u32,
    /// Lowe's ratio: best distance below this share of the second best (text repeats the
    /// same letter corners everywhere; only unambiguous matches are kept).
    pub ratio: f32,
    /// Reprojection tolerance of an inlier, in working pixels.
    pub inlier_px: f32,
    pub iterations: usize,
    /// Relative scale a hypothesis may have at a level (the levels are a quarter octave
    /// apart; more is a degenerate fit).
    pub max_scale_error: f32,
    /// Largest rotation (radians) of a hypothesis: posts are upright, photos nearly so.
    pub max_rotation: f32,
    /// Cells per side of the grid over the reference that `spread` counts.
    pub spread_grid: u32,
    /// Side (working pixels, about four glyph heights) of the cells `distinct` counts.
    pub distinct_cell: f32,
}

impl Default for MatchOptions {
    fn default() -> Self {
        MatchOptions {
            max_hamming: 70,
            ratio: 0.85,
            inlier_px: 3.0,
            iterations: 500,
            max_scale_error: 1.35,
            max_rotation: 0.25,
            spread_grid: 8,
            distinct_cell: 24.0,
        }
    }
}

/// The verified match of an image to one reference.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayoutMatch {
    /// Index into `ReferenceKeypoints::levels` of the best level.
    pub level: usize,
    /// Putative matches (after the ratio test) at that level.
    pub putative: usize,
    /// Matches consistent with `transform`.
    pub inliers: usize,
    /// `inliers / putative` (0 without putative matches).
    pub inlier_ratio: f32,
    /// Bounding box of the inliers as a share of the reference's area: inliers clustered
    /// on one icon mean less than inliers across the page.
    pub coverage: f32,
    /// Share of the cells of a grid over the reference holding an inlier.
    pub spread: f32,
    /// Small cells (`MatchOptions::distinct_cell`) of the reference holding an inlier: the
    /// inlier count with clusters (one icon's corners, a repeated glyph) counted once.
    pub distinct: usize,
    /// Reference pixels to image pixels.
    pub transform: Similarity,
    /// The inliers' positions on the reference (reference pixels): whether they fall on
    /// what names the organisation (its logo, its name) says more than their count.
    pub inlier_points: Vec<[f32; 2]>,
}

/// Best match of `image` to any level of `reference` (by distinct inlier cells, then
/// inliers).
pub fn match_reference(
    image: &Keypoints,
    reference: &ReferenceKeypoints,
    opts: &MatchOptions,
) -> Option<LayoutMatch> {
    reference
        .levels
        .iter()
        .enumerate()
        .filter_map(|(i, level)| {
            let mut m = match_level(image, level, opts)?;
            m.level = i;
            Some(m)
        })
        .max_by_key(|m| (m.distinct, m.inliers))
}

/// A putative correspondence in working pixels: reference point, image point.
#[derive(Debug, Clone, Copy)]
struct Pair {
    r: (f32, f32),
    i: (f32, f32),
}

/// Matches `image` to one level of a reference and verifies the matches geometrically.
pub fn match_level(
    image: &Keypoints,
    reference: &Keypoints,
    opts: &MatchOptions,
) -> Option<LayoutMatch> {
    if image.points.len() != image.descriptors.len()
        || reference.points.len() != reference.descriptors.len()
        || reference.descriptors.is_empty()
    {
        return None;
    }
    let pairs = putative_pairs(image, reference, opts);
    let putative = pairs.len();
    let (model, inliers) = ransac_similarity(&pairs, opts)?;
    let (rs, is) = (reference.scale, image.scale);
    let ref_w = reference.width as f32 * rs;
    let ref_h = reference.height as f32 * rs;
    let in_pairs: Vec<&Pair> = inliers.iter().map(|&k| &pairs[k]).collect();
    let (mut x0, mut y0, mut x1, mut y1) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
    let g = opts.spread_grid.max(1) as usize;
    let mut cells = vec![false; g * g];
    for p in &in_pairs {
        x0 = x0.min(p.r.0);
        y0 = y0.min(p.r.1);
        x1 = x1.max(p.r.0);
        y1 = y1.max(p.r.1);
        let cx = ((p.r.0 / ref_w.max(1.0)) * g as f32).clamp(0.0, g as f32 - 1.0) as usize;
        let cy = ((p.r.1 / ref_h.max(1.0)) * g as f32).clamp(0.0, g as f32 - 1.0) as usize;
        cells[cy * g + cx] = true;
    }
    let mut small_cells: Vec<(i32, i32)> = in_pairs
        .iter()
        .map(|p| {
            let c = opts.distinct_cell.max(1.0);
            ((p.r.0 / c) as i32, (p.r.1 / c) as i32)
        })
        .collect();
    small_cells.sort_unstable();
    small_cells.dedup();
    let coverage = ((x1 - x0).max(0.0) * (y1 - y0).max(0.0)) / (ref_w * ref_h).max(1.0);
    // Working-pixel model to image pixels: x_img = (s R (rs x_ref) + t) / is.
    let (a, b) = model.ab();
    let transform = Similarity::from_ab(a * rs / is, b * rs / is, model.tx / is, model.ty / is);
    Some(LayoutMatch {
        level: 0,
        putative,
        inliers: inliers.len(),
        inlier_ratio: inliers.len() as f32 / putative.max(1) as f32,
        coverage: coverage.min(1.0),
        spread: cells.iter().filter(|&&c| c).count() as f32 / (g * g) as f32,
        distinct: small_cells.len(),
        transform,
        inlier_points: in_pairs.iter().map(|p| [p.r.0 / rs, p.r.1 / rs]).collect(),
    })
}

/// Nearest reference descriptor of each image descriptor, kept when unambiguous (ratio
/// test); a reference point keeps only its closest image point, so one repeated pattern
/// cannot count many times.
fn putative_pairs(image: &Keypoints, reference: &Keypoints, opts: &MatchOptions) -> Vec<Pair> {
    let mut best_for_ref: Vec<Option<(u32, usize)>> = vec![None; reference.descriptors.len()];
    for (ii, d) in image.descriptors.iter().enumerate() {
        let (mut best, mut second, mut best_j) = (u32::MAX, u32::MAX, 0);
        for (j, r) in reference.descriptors.iter().enumerate() {
            let h = hamming(d, r);
            if h < best {
                second = best;
                best = h;
                best_j = j;
            } else if h < second {
                second = h;
            }
        }
        if best > opts.max_hamming || best as f32 >= opts.ratio * second as f32 {
            continue;
        }
        match best_for_ref[best_j] {
            Some((h, _)) if h <= best => {}
            _ => best_for_ref[best_j] = Some((best, ii)),
        }
    }
    best_for_ref
        .iter()
        .enumerate()
        .filter_map(|(j, m)| {
            let (_, ii) = (*m)?;
            let r = reference.points[j];
            let i = image.points[ii];
            Some(Pair {
                r: (r[0] * reference.scale, r[1] * reference.scale),
                i: (i[0] * image.scale, i[1] * image.scale),
            })
        })
        .collect()
}

/// Two-point RANSAC for a similarity (working pixels), refined by least squares on its
/// inliers. `None` with fewer than 3 pairs or no plausible hypothesis.
fn ransac_similarity(pairs: &[Pair], opts: &MatchOptions) -> Option<(Similarity, Vec<usize>)> {
    if pairs.len() < 3 {
        return None;
    }
    let mut rng = XorShift::new(0x9e37_79b9_7f4a_7c15 ^ pairs.len() as u64);
    let tol2 = opts.inlier_px * opts.inlier_px;
    let plausible = |m: &Similarity| {
        m.scale.is_finite()
            && m.scale <= opts.max_scale_error
            && m.scale >= 1.0 / opts.max_scale_error
            && m.rotation.abs() <= opts.max_rotation
    };
    let inliers_of = |m: &Similarity| -> Vec<usize> {
        pairs
            .iter()
            .enumerate()
            .filter(|(_, p)| {
                let (x, y) = m.apply(p.r);
                (x - p.i.0).powi(2) + (y - p.i.1).powi(2) <= tol2
            })
            .map(|(k, _)| k)
            .collect()
    };
    let mut best: Option<(Similarity, Vec<usize>)> = None;
    for _ in 0..opts.iterations {
        let k1 = rng.below(pairs.len());
        let k2 = rng.below(pairs.len());
        let (p, q) = (pairs[k1], pairs[k2]);
        let (drx, dry) = (q.r.0 - p.r.0, q.r.1 - p.r.1);
        let (dix, diy) = (q.i.0 - p.i.0, q.i.1 - p.i.1);
        let n = drx * drx + dry * dry;
        // Close points give a scale and rotation dominated by pixel noise.
        if n < 100.0 {
            continue;
        }
        // (dix + i·diy) / (drx + i·dry) as a complex number a + i·b.
        let a = (dix * drx + diy * dry) / n;
        let b = (diy * drx - dix * dry) / n;
        let tx = p.i.0 - (a * p.r.0 - b * p.r.1);
        let ty = p.i.1 - (b * p.r.0 + a * p.r.1);
        let m = Similarity::from_ab(a, b, tx, ty);
        if !plausible(&m) {
            continue;
        }
        let inl = inliers_of(&m);
        if best.as_ref().is_none_or(|(_, b)| inl.len() > b.len()) {
            best = Some((m, inl));
        }
    }
    let (mut model, mut inliers) = best?;
    for _ in 0..2 {
        let Some(refined) = least_squares(pairs, &inliers) else {
            break;
        };
        let again = inliers_of(&refined);
        if !plausible(&refined) || again.len() < inliers.len() {
            break;
        }
        model = refined;
        inliers = again;
    }
    Some((model, inliers))
}

/// Least-squares similarity through the pairs `idx` (closed form in complex numbers).
fn least_squares(pairs: &[Pair], idx: &[usize]) -> Option<Similarity> {
    if idx.len() < 2 {
        return None;
    }
    let n = idx.len() as f32;
    let mean = |f: &dyn Fn(&Pair) -> f32| idx.iter().map(|&k| f(&pairs[k])).sum::<f32>() / n;
    let (rx, ry) = (mean(&|p| p.r.0), mean(&|p| p.r.1));
    let (ix, iy) = (mean(&|p| p.i.0), mean(&|p| p.i.1));
    let (mut sa, mut sb, mut sn) = (0f32, 0f32, 0f32);
    for &k in idx {
        let p = &pairs[k];
        let (ux, uy) = (p.r.0 - rx, p.r.1 - ry);
        let (vx, vy) = (p.i.0 - ix, p.i.1 - iy);
        sa += vx * ux + vy * uy;
        sb += vy * ux - vx * uy;
        sn += ux * ux + uy * uy;
    }
    if sn < 1e-3 {
        return None;
    }
    let (a, b) = (sa / sn, sb / sn);
    Some(Similarity::from_ab(
        a,
        b,
        ix - (a * rx - b * ry),
        iy - (b * rx + a * ry),
    ))
}

impl Keypoints {
    /// Whether positions and descriptors agree (a stored file may be edited).
    pub fn validate(&self) -> Result<(), KeypointError> {
        if self.points.len() != self.descriptors.len() {
            return Err(KeypointError::Inconsistent {
                points: self.points.len(),
                descriptors: self.descriptors.len(),
            });
        }
        if !(self.scale.is_finite() && self.scale > 0.0) {
            return Err(KeypointError::BadScale(self.scale));
        }
        Ok(())
    }
}

/// Descriptors as one lower-case hexadecimal string, 64 digits per descriptor: each
/// descriptor's words big-endian, in the looks' byte encoding.
mod hex_descriptors {
    use super::Descriptor;
    use crate::fingerprint::layout::hex_bytes;
    use serde::{de::Error, Deserializer, Serializer};

    const BYTES: usize = std::mem::size_of::<Descriptor>();

    pub fn serialize<S: Serializer>(ds: &[Descriptor], s: S) -> Result<S::Ok, S::Error> {
        let bytes: Vec<u8> = ds.iter().flatten().flat_map(|w| w.to_be_bytes()).collect();
        hex_bytes::serialize(&bytes, s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Descriptor>, D::Error> {
        let bytes = hex_bytes::deserialize(d)?;
        if bytes.len() % BYTES != 0 {
            return Err(D::Error::custom(
                "descriptor hex string not a multiple of 64 digits",
            ));
        }
        Ok(bytes
            .chunks_exact(BYTES)
            .map(|chunk| {
                let mut d = [0u64; 4];
                for (w, word) in d.iter_mut().zip(chunk.chunks_exact(8)) {
                    let mut be = [0u8; 8];
                    be.copy_from_slice(word);
                    *w = u64::from_be_bytes(be);
                }
                d
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Luma;

    /// A UI-like picture: a light page with bars, boxes and small blobs of random shades.
    fn synthetic_page(seed: u64, w: u32, h: u32) -> GrayImage {
        let mut rng = XorShift::new(seed);
        let mut img = GrayImage::from_pixel(w, h, Luma([235]));
        let fill = |img: &mut GrayImage, x: u32, y: u32, bw: u32, bh: u32, v: u8| {
            for yy in y..(y + bh).min(h) {
                for xx in x..(x + bw).min(w) {
                    img.put_pixel(xx, yy, Luma([v]));
                }
            }
        };
        for _ in 0..40 {
            let (x, y) = (rng.below(w as usize) as u32, rng.below(h as usize) as u32);
            let (bw, bh) = (20 + rng.below(120) as u32, 10 + rng.below(60) as u32);
            fill(&mut img, x, y, bw, bh, rng.below(200) as u8);
        }
        for _ in 0..300 {
            let (x, y) = (rng.below(w as usize) as u32, rng.below(h as usize) as u32);
            let (bw, bh) = (2 + rng.below(8) as u32, 3 + rng.below(8) as u32);
            fill(&mut img, x, y, bw, bh, rng.below(256) as u8);
        }
        img
    }

    fn reference_at_unit_scale(img: &GrayImage) -> ReferenceKeypoints {
        let opts = ExtractOptions::default();
        ReferenceKeypoints {
            levels: REFERENCE_LEVELS
                .iter()
                .map(|&l| extract(img, l, &opts).unwrap())
                .collect(),
        }
    }

    #[test]
    fn scaled_shifted_cropped_copy_matches_with_its_transform() {
        let page = synthetic_page(7, 640, 420);
        let reference = reference_at_unit_scale(&page);
        // 0.8x, then a crop starting at (30, 20): x_img = 0.8 x_ref - 30.
        let small = image::imageops::resize(&page, 512, 336, FilterType::Triangle);
        let crop = image::imageops::crop_imm(&small, 30, 20, 420, 280).to_image();
        let keys = extract(&crop, 1.0, &ExtractOptions::default()).unwrap();
        let m = match_reference(&keys, &reference, &MatchOptions::default()).unwrap();
        assert!(m.inliers >= 40, "{m:?}");
        assert!(m.inlier_ratio > 0.5, "{m:?}");
        assert!((m.transform.scale - 0.8).abs() < 0.02, "{m:?}");
        assert!(m.transform.rotation.abs() < 0.02, "{m:?}");
        assert!((m.transform.tx + 30.0).abs() < 2.0, "{m:?}");
        assert!((m.transform.ty + 20.0).abs() < 2.0, "{m:?}");
        assert!(m.coverage > 0.3 && m.spread > 0.2, "{m:?}");
    }

    #[test]
    fn unrelated_page_gets_few_inliers() {
        let reference = reference_at_unit_scale(&synthetic_page(7, 640, 420));
        let other = synthetic_page(99, 640, 420);
        let keys = extract(&other, 1.0, &ExtractOptions::default()).unwrap();
        let inliers =
            match_reference(&keys, &reference, &MatchOptions::default()).map_or(0, |m| m.inliers);
        assert!(inliers < 8, "{inliers}");
    }

    #[test]
    fn keypoints_are_bounded_and_survive_json() {
        let page = synthetic_page(3, 640, 420);
        let opts = ExtractOptions {
            max_points: 120,
            ..ExtractOptions::default()
        };
        let keys = extract(&page, 0.75, &opts).unwrap();
        assert!(keys.points.len() > 60 && keys.points.len() <= 120);
        let json = serde_json::to_string(&keys).unwrap();
        let back: Keypoints = serde_json::from_str(&json).unwrap();
        assert_eq!(back, keys);
        back.validate().unwrap();
        let bad = json.replacen("\"descriptors\":\"", "\"descriptors\":\"0", 1);
        assert!(serde_json::from_str::<Keypoints>(&bad).is_err());
    }

    #[test]
    fn extraction_is_deterministic() {
        let page = synthetic_page(5, 300, 200);
        let a = extract(&page, 1.0, &ExtractOptions::default()).unwrap();
        let b = extract(&page, 1.0, &ExtractOptions::default()).unwrap();
        assert_eq!(a, b);
        assert!(extract(&page, f32::NAN, &ExtractOptions::default()).is_err());
    }
}
