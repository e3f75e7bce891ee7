//! Visual fingerprint of a UI's chrome: the distribution of its saturated colours (sidebar,
//! top bar, buttons, banners). It holds on pages of a system that were never enrolled,
//! since every page wears the same chrome, and it costs nothing next to OCR.

use image::RgbImage;
use serde::{Deserialize, Serialize};

/// Bits per channel of the colour quantisation.
const BITS: u32 = 3;
/// A pixel counts as coloured when max - min channel exceeds this.
const MIN_CHROMA: i32 = 40;

/// Sparse colour histogram of the saturated pixels.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Palette {
    /// (bin, share of the coloured pixels); bins are `r<<6 | g<<3 | b` of 3-bit channels.
    pub bins: Vec<(u16, f32)>,
    /// Share of all pixels that are coloured.
    pub coloured: f32,
}

impl Palette {
    pub fn of(img: &RgbImage) -> Palette {
        let mut hist = vec![0u32; 1 << (3 * BITS)];
        let mut coloured = 0u32;
        for p in img.pixels() {
            let [r, g, b] = p.0.map(i32::from);
            let chroma = r.max(g).max(b) - r.min(g).min(b);
            if chroma < MIN_CHROMA {
                continue;
            }
            coloured += 1;
            let q = |v: i32| (v as u32) >> (8 - BITS);
            hist[((q(r) << (2 * BITS)) | (q(g) << BITS) | q(b)) as usize] += 1;
        }
        let total = (img.width() * img.height()).max(1) as f32;
        let bins = hist
            .iter()
            .enumerate()
            .filter(|(_, &c)| c > 0 && coloured > 0 && c as f32 / coloured as f32 >= 0.005)
            .map(|(i, &c)| (i as u16, c as f32 / coloured as f32))
            .collect();
        Palette {
            bins,
            coloured: coloured as f32 / total,
        }
    }

    /// Histogram intersection in [0, 1], tolerant of a one-step shift in any channel
    /// (JPEG, colour casts): each bin also meets its neighbours at half weight.
    pub fn similarity(&self, other: &Palette) -> f32 {
        if self.bins.is_empty() || other.bins.is_empty() {
            return 0.0;
        }
        let exact: f32 = self
            .bins
            .iter()
            .map(|&(b, v)| {
                other
                    .bins
                    .iter()
                    .map(|&(ob, ov)| {
                        let d = bin_distance(b, ob);
                        let w = match d {
                            0 => 1.0,
                            1 => 0.5,
                            _ => 0.0,
                        };
                        w * v.min(ov)
                    })
                    .fold(0.0f32, f32::max)
            })
            .sum();
        exact.min(1.0)
    }
}

fn bin_distance(a: u16, b: u16) -> u16 {
    let mask = (1u16 << BITS) - 1;
    let ch = |v: u16, i: u32| (v >> (i * BITS)) & mask;
    (0..3).map(|i| ch(a, i).abs_diff(ch(b, i))).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_colours_match_and_grey_is_ignored() {
        let blue = RgbImage::from_fn(40, 40, |x, _| {
            if x < 10 {
                image::Rgb([78, 115, 223])
            } else {
                image::Rgb([250, 250, 250])
            }
        });
        let red = RgbImage::from_fn(40, 40, |x, _| {
            if x < 10 {
                image::Rgb([200, 30, 40])
            } else {
                image::Rgb([250, 250, 250])
            }
        });
        let (pb, pr) = (Palette::of(&blue), Palette::of(&red));
        assert!((pb.coloured - 0.25).abs() < 1e-3);
        assert!(pb.similarity(&pb) > 0.99);
        assert!(pb.similarity(&pr) < 0.01);
        assert_eq!(Palette::of(&RgbImage::new(5, 5)).similarity(&pb), 0.0);
    }
}
