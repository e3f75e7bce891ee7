//! The chrome's look: whether the image wears the template's colours (sidebar, bars, page)
//! where the alignment puts them.

use super::{IndexedTemplate, Similarity};
use crate::fingerprint::ImageFingerprint;

/// Fewer chrome cells in view than this and the look comparison is shrunk towards 0.
const LOOK_CELLS_PRIOR: f32 = 12.0;
/// Colour distance (mean per channel) below which two references' cells are the same.
const SAME_CELL: f32 = 12.0;

/// Per reference, the cells of its look that every other reference of the same size shows
/// alike: the chrome. With no such other reference, every cell counts.
pub(super) fn chrome_cells(references: &[crate::template::Reference]) -> Vec<Vec<bool>> {
    references
        .iter()
        .enumerate()
        .map(|(i, r)| {
            if !r.look.is_valid() {
                return Vec::new();
            }
            let n = r.look.rgb.len() / 3;
            let peers: Vec<&crate::template::Reference> = references
                .iter()
                .enumerate()
                .filter(|&(j, o)| {
                    j != i
                        && o.look.is_valid()
                        && (o.look.width, o.look.height) == (r.look.width, r.look.height)
                        && (o.width, o.height) == (r.width, r.height)
                })
                .map(|(_, o)| o)
                .collect();
            (0..n)
                .map(|c| {
                    let a = &r.look.rgb[3 * c..3 * c + 3];
                    peers.iter().all(|o| {
                        let b = &o.look.rgb[3 * c..3 * c + 3];
                        let d: f32 = a.iter().zip(b).map(|(&x, &y)| x.abs_diff(y) as f32).sum();
                        d / 3.0 < SAME_CELL
                    })
                })
                .collect()
        })
        .collect()
}

/// Compares the reference's chrome cells, mapped into the image by the alignment, with
/// the image's colours there (see [`Features::chrome_look`]).
pub(super) fn chrome_look(
    image: &ImageFingerprint,
    tpl: &IndexedTemplate,
    r: usize,
    sim: &Similarity,
) -> f32 {
    let reference = &tpl.template.references[r];
    let (look, img_look) = (&reference.look, &image.look);
    let Some(chrome) = tpl.chrome_cells.get(r).filter(|c| !c.is_empty()) else {
        return 0.0;
    };
    if !img_look.is_valid() || img_look.width == 0 {
        return 0.0;
    }
    let (iw, _) = image.image_size();
    let to_look = img_look.width as f32 / iw.max(1.0);
    let cell_w = reference.width as f32 / look.width as f32;
    let cell_h = reference.height as f32 / look.height as f32;
    // Sample a box of about half a cell around each mapped centre.
    let radius = 0.25 * cell_w.min(cell_h) * sim.scale * to_look;
    let (tw, th) = (image.width as f32, image.height as f32);
    let mut pairs: Vec<([f32; 3], [f32; 3])> = Vec::new();
    for cy in 0..look.height {
        for cx in 0..look.width {
            if !chrome[(cy * look.width + cx) as usize] {
                continue;
            }
            let (x, y) = sim.apply(((cx as f32 + 0.5) * cell_w, (cy as f32 + 0.5) * cell_h));
            if x < 0.0 || y < 0.0 || x >= tw || y >= th {
                continue;
            }
            let (px, py) = image.image_point(x, y);
            let Some(seen) = img_look.mean_around(px * to_look, py * to_look, radius) else {
                continue;
            };
            let t = look.get(cx, cy).map(f32::from);
            pairs.push((t, seen));
        }
    }
    look_agreement(&pairs, LOOK_CELLS_PRIOR)
}

/// Agreement, from -1 to 1, between template cell colours and the image's colours where
/// the alignment puts them (`pairs`: template, image). The image's light levels are first
/// mapped onto the template's (a photo's exposure and contrast differ), by the shift of
/// the medians, or by matching the dark and bright ends when the template spans enough
/// of them. Cells that stand out from the template's page (bars, sidebars, buttons)
/// count fully, page background a fifth: the background is alike on most UIs. With fewer
/// cells than `prior` in view, the result shrinks towards 0.
pub(super) fn look_agreement(pairs: &[([f32; 3], [f32; 3])], prior: f32) -> f32 {
    if pairs.is_empty() {
        return 0.0;
    }
    fn sorted(values: impl Iterator<Item = f32>) -> Vec<f32> {
        let mut v: Vec<f32> = values.collect();
        v.sort_by(f32::total_cmp);
        v
    }
    let q = |v: &[f32], f: f32| v[((v.len() - 1) as f32 * f).round() as usize];
    let tl = sorted(pairs.iter().map(|p| luminance(p.0)));
    let il = sorted(pairs.iter().map(|p| luminance(p.1)));
    let diff = sorted(pairs.iter().map(|p| luminance(p.1) - luminance(p.0)));
    let (t10, t50, t90) = (q(&tl, 0.1), q(&tl, 0.5), q(&tl, 0.9));
    let (i10, i90) = (q(&il, 0.1), q(&il, 0.9));
    let shift = q(&diff, 0.5);
    let predict = |t: f32| {
        if t90 - t10 >= 80.0 && i90 - i10 >= 30.0 {
            i10 + (t - t10) * (i90 - i10) / (t90 - t10)
        } else {
            t + shift
        }
    };
    let chroma = |p: [f32; 3]| {
        p.iter().cloned().fold(f32::MIN, f32::max) - p.iter().cloned().fold(f32::MAX, f32::min)
    };
    let (mut agree, mut total) = (0.0f32, 0.0f32);
    for &(t, i) in pairs {
        let (ct, ci) = (chroma(t), chroma(i));
        let salient = (luminance(t) - t50).abs() > 30.0 || ct >= 40.0;
        let w = if salient { 1.0 } else { 0.2 };
        let light_ok = (luminance(i) - predict(luminance(t))).abs() <= 40.0;
        let colour_ok = if ct >= 60.0 {
            ci >= 20.0 && hue_distance(t, i) <= 45.0
        } else {
            // A neutral (grey, white, black) cell showing a strong colour.
            !(ct < 25.0 && ci > 90.0)
        };
        total += w;
        if light_ok && colour_ok {
            agree += w;
        }
    }
    (agree - (total - agree)) / total.max(prior)
}

/// Angle between two colours' hues, in degrees.
fn hue_distance(a: [f32; 3], b: [f32; 3]) -> f32 {
    let hue = |p: [f32; 3]| {
        let (r, g, b) = (p[0], p[1], p[2]);
        let x = 0.5 * (2.0 * r - g - b);
        let y = 0.866_025_4 * (g - b);
        y.atan2(x).to_degrees()
    };
    let d = (hue(a) - hue(b)).abs() % 360.0;
    d.min(360.0 - d)
}

/// Luma (Rec. 601) of an RGB colour.
pub(super) fn luminance(c: [f32; 3]) -> f32 {
    0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2]
}
