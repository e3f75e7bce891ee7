//! Hostile and odd inputs, generated at test time: every file gets exactly one record
//! (an error, or a normal result where it is a valid image), and the run finishes.

use std::io::Cursor;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use image::{DynamicImage, ImageBuffer, ImageFormat, Luma, LumaA, Rgb, RgbImage};
use serde_json::Value;

fn encode(img: &DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, format).expect("encode");
    out.into_inner()
}

/// A busy little picture, so valid images are not rejected as blank or tiny.
fn picture() -> DynamicImage {
    DynamicImage::ImageRgb8(RgbImage::from_fn(120, 80, |x, y| {
        Rgb([(x * 2) as u8, (y * 3) as u8, ((x + y) % 256) as u8])
    }))
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &b in bytes {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut c = (data.len() as u32).to_be_bytes().to_vec();
    let mut body = kind.to_vec();
    body.extend_from_slice(data);
    c.extend_from_slice(&body);
    c.extend_from_slice(&crc32(&body).to_be_bytes());
    c
}

/// A well-formed PNG header claiming `w` x `h` pixels, with almost no pixel data.
fn png_claiming(w: u32, h: u32) -> Vec<u8> {
    let mut png = vec![0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a];
    let mut ihdr = w.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 0, 0, 0, 0]);
    png.extend(chunk(b"IHDR", &ihdr));
    png.extend(chunk(
        b"IDAT",
        &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
    ));
    png.extend(chunk(b"IEND", &[]));
    png
}

struct Case {
    name: PathBuf,
    bytes: Vec<u8>,
    valid: bool,
}

#[test]
fn every_hostile_file_gets_one_record_and_the_run_finishes() {
    let dir = std::env::temp_dir().join(format!("leakshot-hostile-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");

    let pic = picture();
    let png = encode(&pic, ImageFormat::Png);
    let jpg = encode(&pic, ImageFormat::Jpeg);
    let gif = encode(&pic, ImageFormat::Gif);
    let webp = encode(&pic, ImageFormat::WebP);
    let sixteen: ImageBuffer<Luma<u16>, Vec<u16>> =
        ImageBuffer::from_fn(120, 80, |x, y| Luma([(x * 500 + y * 300) as u16]));
    let grey_alpha: ImageBuffer<LumaA<u8>, Vec<u8>> =
        ImageBuffer::from_fn(120, 80, |x, y| LumaA([(x + y) as u8, 200]));
    let animated = {
        use image::codecs::gif::GifEncoder;
        use image::{Delay, Frame};
        let mut out = Vec::new();
        {
            let mut enc = GifEncoder::new(&mut out);
            for shift in [0u8, 80] {
                let frame = image::RgbaImage::from_fn(120, 80, |x, _| {
                    image::Rgba([(x as u8).wrapping_add(shift), 90, 40, 255])
                });
                enc.encode_frame(Frame::from_parts(
                    frame,
                    0,
                    0,
                    Delay::from_numer_denom_ms(100, 1),
                ))
                .expect("gif frame");
            }
        }
        out
    };

    let cases = vec![
        Case {
            name: "zero-bytes.png".into(),
            bytes: vec![],
            valid: false,
        },
        Case {
            name: "truncated.png".into(),
            bytes: png[..png.len() / 3].to_vec(),
            valid: false,
        },
        Case {
            name: "truncated.jpg".into(),
            bytes: jpg[..jpg.len() / 3].to_vec(),
            valid: false,
        },
        Case {
            name: "truncated.webp".into(),
            bytes: webp[..webp.len() / 3].to_vec(),
            valid: false,
        },
        Case {
            name: "truncated.gif".into(),
            bytes: gif[..20.min(gif.len())].to_vec(),
            valid: false,
        },
        Case {
            name: "text-named.jpg".into(),
            bytes: b"this is not an image\n".to_vec(),
            valid: false,
        },
        Case {
            name: "claims-60000x60000.png".into(),
            bytes: png_claiming(60000, 60000),
            valid: false,
        },
        Case {
            name: "one-pixel.png".into(),
            bytes: encode(&DynamicImage::new_rgb8(1, 1), ImageFormat::Png),
            valid: false,
        },
        Case {
            name: "sixteen-bit.png".into(),
            bytes: encode(&DynamicImage::ImageLuma16(sixteen), ImageFormat::Png),
            valid: true,
        },
        Case {
            name: "grey-alpha.png".into(),
            bytes: encode(&DynamicImage::ImageLumaA8(grey_alpha), ImageFormat::Png),
            valid: true,
        },
        Case {
            name: "animated.gif".into(),
            bytes: animated,
            valid: true,
        },
        Case {
            name: "x.png/inside.png".into(),
            bytes: png.clone(),
            valid: true,
        },
        Case {
            name: PathBuf::from(std::ffi::OsStr::from_bytes(b"not-utf8-\xff.png")),
            bytes: png.clone(),
            valid: true,
        },
    ];
    for c in &cases {
        let path = dir.join(&c.name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("parent");
        }
        std::fs::write(&path, &c.bytes).expect("write case");
    }
    std::fs::create_dir_all(dir.join("loop")).expect("loop dir");
    std::os::unix::fs::symlink(&dir, dir.join("loop/back")).expect("symlink loop");

    let models = Path::new(env!("CARGO_MANIFEST_DIR")).join("models");
    let out = Command::new(env!("CARGO_BIN_EXE_leakshot"))
        .args(["scan", "--models"])
        .arg(&models)
        .arg(&dir)
        .env("OMP_THREAD_LIMIT", "1")
        .output()
        .expect("run leakshot");
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "the run must finish: {out:?}"
    );
    let records: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();

    for c in &cases {
        let tail = c.name.to_string_lossy().into_owned();
        let hits: Vec<&Value> = records
            .iter()
            .filter(|r| r["path"].as_str().is_some_and(|p| p.ends_with(&tail)))
            .collect();
        assert_eq!(hits.len(), 1, "exactly one record for {tail}: {records:#?}");
        let r = hits[0];
        if c.valid {
            assert!(r["error"].is_null(), "{tail} is a valid image: {r:#}");
        } else {
            assert!(
                r["error"].as_str().is_some_and(|e| !e.is_empty()),
                "{tail} needs an error: {r:#}"
            );
            assert_eq!(r["leak"], false);
            assert_eq!(r["confidence"], 0.0);
        }
    }
    let loop_record = records
        .iter()
        .find(|r| r["error"].as_str().is_some_and(|e| e.contains("loop")))
        .unwrap_or_else(|| panic!("the symlink loop is reported: {records:#?}"));
    assert_eq!(loop_record["leak"], false);
    let _ = std::fs::remove_dir_all(&dir);
}
