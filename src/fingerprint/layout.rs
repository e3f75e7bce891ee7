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

/// A small colour picture of a screen: enough to tell, once a template is aligned on an
/// image, whether the image wears the template's chrome (its sidebar's colour, a dark top
/// bar, a white page) where the template has it. Pixels are cell means (area-averaged).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Look {
    pub width: u32,
    pub height: u32,
    /// Row-major RGB triples; stored as one hexadecimal string (a template file stays
    /// readable: one line, not thousands of numbers).
    #[serde(with = "hex_bytes")]
    pub rgb: Vec<u8>,
}

/// Bytes as a lower-case hexadecimal string in JSON (also keypoint descriptors').
pub(crate) mod hex_bytes {
    use serde::{de::Error, Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        let mut out = String::with_capacity(bytes.len() * 2);
        for b in bytes {
            out.push_str(&format!("{b:02x}"));
        }
        s.serialize_str(&out)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        if text.len() % 2 != 0 || !text.is_ascii() {
            return Err(D::Error::custom("hex string of odd length or not ASCII"));
        }
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).map_err(D::Error::custom))
            .collect()
    }
}

/// Long side of a reference's look: cells of about 28 pixels on a 1366-wide screen, the
/// size of a menu item or a bar's height.
pub const REFERENCE_LOOK_SIDE: u32 = 48;
/// Long side of an image's look: finer than a reference's, so a cell mapped from a
/// reference onto a downscaled image still spans a few of its pixels.
pub const IMAGE_LOOK_SIDE: u32 = 160;

impl Look {
    /// `img` area-averaged down to `side` pixels on its long side.
    pub fn of(img: &RgbImage, side: u32) -> Look {
        let (w, h) = img.dimensions();
        let s = (side as f32 / w.max(h).max(1) as f32).min(1.0);
        let (lw, lh) = (
            ((w as f32 * s).round() as u32).max(1),
            ((h as f32 * s).round() as u32).max(1),
        );
        let small = image::imageops::thumbnail(img, lw, lh);
        Look {
            width: lw,
            height: lh,
            rgb: small.into_raw(),
        }
    }

    /// This picture area-averaged down to `side` pixels on its long side (empty when its
    /// size and pixels disagree).
    pub fn reduced(&self, side: u32) -> Look {
        match RgbImage::from_raw(self.width, self.height, self.rgb.clone()) {
            Some(img) => Look::of(&img, side),
            None => Look::default(),
        }
    }

    /// Whether the pixel buffer matches the stated size (a template file may be edited).
    pub fn is_valid(&self) -> bool {
        (self.width as usize)
            .checked_mul(self.height as usize)
            .and_then(|n| n.checked_mul(3))
            == Some(self.rgb.len())
    }

    /// The pixel at (`x`, `y`), clamped into the picture; black for an empty or
    /// inconsistent one.
    pub fn get(&self, x: u32, y: u32) -> [u8; 3] {
        if !self.is_valid() || self.width == 0 || self.height == 0 {
            return [0; 3];
        }
        let (x, y) = (
            x.min(self.width - 1) as usize,
            y.min(self.height - 1) as usize,
        );
        let i = (y * self.width as usize + x) * 3;
        [self.rgb[i], self.rgb[i + 1], self.rgb[i + 2]]
    }

    /// Mean colour of the box centred on (`x`, `y`) (look pixels) spanning `r` pixels each
    /// way; `None` outside the picture.
    pub fn mean_around(&self, x: f32, y: f32, r: f32) -> Option<[f32; 3]> {
        if !self.is_valid() || x < 0.0 || y < 0.0 {
            return None;
        }
        let (cx, cy) = (x as u32, y as u32);
        if cx >= self.width || cy >= self.height {
            return None;
        }
        let r = r.clamp(0.0, 4.0) as u32;
        let mut sum = [0f32; 3];
        let mut n = 0f32;
        for yy in cy.saturating_sub(r)..=(cy + r).min(self.height - 1) {
            for xx in cx.saturating_sub(r)..=(cx + r).min(self.width - 1) {
                let p = self.get(xx, yy);
                for c in 0..3 {
                    sum[c] += p[c] as f32;
                }
                n += 1.0;
            }
        }
        Some(sum.map(|v| v / n))
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
    fn a_look_round_trips_through_json_as_hex() {
        let look = Look {
            width: 2,
            height: 1,
            rgb: vec![0, 15, 255, 16, 128, 7],
        };
        let json = serde_json::to_string(&look).unwrap();
        assert!(json.contains("\"000fff108007\""), "{json}");
        assert_eq!(serde_json::from_str::<Look>(&json).unwrap(), look);
        assert!(serde_json::from_str::<Look>(r#"{"width":1,"height":1,"rgb":"abc"}"#).is_err());
        // A picture whose size and pixels disagree (an edited template) is never read.
        let liar = Look {
            width: u32::MAX,
            height: u32::MAX,
            rgb: vec![1, 2, 3],
        };
        assert!(!liar.is_valid());
        assert_eq!(liar.get(5, 5), [0, 0, 0]);
        assert_eq!(liar.mean_around(1.0, 1.0, 1.0), None);
    }

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
