//! Hostile and odd inputs, generated at test time: every file gets exactly one record
//! (an error, or a normal result where it is a valid image), and the run finishes.
//! Truncated files, lying headers, CMYK/YCCK and progressive JPEGs, absurd or broken EXIF,
//! animated WebP, an unreadable file, a FIFO, a device link, a symlink loop, and a file
//! that vanishes between the walk and its analysis.

use std::io::Cursor;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
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

/// A JPEG from `jpeg-encoder` (CMYK, YCCK and progressive, which the `image` crate's
/// encoder does not write), with an optional APP1 (EXIF) segment.
fn jpeg(
    pic: &RgbImage,
    color: jpeg_encoder::ColorType,
    progressive: bool,
    app1: Option<Vec<u8>>,
) -> Vec<u8> {
    use jpeg_encoder::ColorType;
    let data: Vec<u8> = match color {
        ColorType::Cmyk | ColorType::CmykAsYcck => pic
            .pixels()
            .flat_map(|p| [255 - p[0], 255 - p[1], 255 - p[2], 0])
            .collect(),
        _ => pic.as_raw().clone(),
    };
    let mut out = Vec::new();
    let mut enc = jpeg_encoder::Encoder::new(&mut out, 90);
    enc.set_progressive(progressive);
    if let Some(segment) = app1 {
        enc.add_app_segment(1, segment).expect("APP1");
    }
    enc.encode(&data, pic.width() as u16, pic.height() as u16, color)
        .expect("jpeg-encoder");
    out
}

/// An APP1 payload: the EXIF signature and a big-endian TIFF block.
fn exif(tiff: &[u8]) -> Vec<u8> {
    let mut v = b"Exif\0\0".to_vec();
    v.extend_from_slice(tiff);
    v
}

/// A TIFF block whose first IFD, at `ifd_offset`, declares `entries` entries and holds
/// one: the orientation tag with `value`.
fn tiff_orientation(ifd_offset: u32, entries: u16, value: u16) -> Vec<u8> {
    let mut t = b"MM\0\x2a".to_vec();
    t.extend_from_slice(&ifd_offset.to_be_bytes());
    t.extend_from_slice(&entries.to_be_bytes());
    t.extend_from_slice(&0x0112u16.to_be_bytes()); // Orientation
    t.extend_from_slice(&3u16.to_be_bytes()); // SHORT
    t.extend_from_slice(&1u32.to_be_bytes()); // one value
    t.extend_from_slice(&value.to_be_bytes());
    t.extend_from_slice(&[0, 0]);
    t.extend_from_slice(&0u32.to_be_bytes()); // no next IFD
    t
}

fn riff_chunk(fourcc: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut c = fourcc.to_vec();
    c.extend_from_slice(&(data.len() as u32).to_le_bytes());
    c.extend_from_slice(data);
    if data.len() % 2 == 1 {
        c.push(0);
    }
    c
}

fn u24(v: u32) -> [u8; 3] {
    let b = v.to_le_bytes();
    [b[0], b[1], b[2]]
}

/// The lossless VP8L bitstream of `img`, taken out of the `image` crate's WebP file.
fn vp8l(img: &RgbImage) -> Vec<u8> {
    let file = encode(&DynamicImage::ImageRgb8(img.clone()), ImageFormat::WebP);
    let mut at = 12;
    while at + 8 <= file.len() {
        let size = u32::from_le_bytes(file[at + 4..at + 8].try_into().expect("size")) as usize;
        if &file[at..at + 4] == b"VP8L" {
            return file[at + 8..at + 8 + size].to_vec();
        }
        at += 8 + size + size % 2;
    }
    panic!("no VP8L chunk in the encoder's output");
}

/// An animated WebP assembled from RIFF chunks: VP8X (animation flag) with a canvas of
/// `canvas`, ANIM, and one ANMF frame per image at the origin.
fn animated_webp(canvas: (u32, u32), frames: &[RgbImage]) -> Vec<u8> {
    let mut vp8x = vec![0x02, 0, 0, 0];
    vp8x.extend_from_slice(&u24(canvas.0 - 1));
    vp8x.extend_from_slice(&u24(canvas.1 - 1));
    let mut body = b"WEBP".to_vec();
    body.extend(riff_chunk(b"VP8X", &vp8x));
    body.extend(riff_chunk(b"ANIM", &[255, 255, 255, 255, 0, 0]));
    for f in frames {
        let mut anmf = Vec::new();
        anmf.extend_from_slice(&u24(0));
        anmf.extend_from_slice(&u24(0));
        anmf.extend_from_slice(&u24(f.width() - 1));
        anmf.extend_from_slice(&u24(f.height() - 1));
        anmf.extend_from_slice(&u24(100)); // ms
        anmf.push(0);
        anmf.extend(riff_chunk(b"VP8L", &vp8l(f)));
        body.extend(riff_chunk(b"ANMF", &anmf));
    }
    let mut out = b"RIFF".to_vec();
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend(body);
    out
}

/// What the one record of a case must say.
enum Expect {
    /// A normal result; `Some((w, h))` also checks the decoded size (after EXIF rotation).
    Valid(Option<(u64, u64)>),
    /// A normal result for the part of a file that ends early, which the record says.
    Truncated,
    /// An error record whose message contains this text.
    Error(&'static str),
}

struct Case {
    name: PathBuf,
    bytes: Vec<u8>,
    expect: Expect,
}

fn case(name: &str, bytes: Vec<u8>, expect: Expect) -> Case {
    Case {
        name: name.into(),
        bytes,
        expect,
    }
}

#[test]
fn every_hostile_file_gets_one_record_and_the_run_finishes() {
    // LEAKSHOT_HOSTILE_KEEP=DIR builds the folder in DIR and keeps it (to measure a scan
    // of it, as README's Security section does).
    let keep = std::env::var_os("LEAKSHOT_HOSTILE_KEEP").map(PathBuf::from);
    let dir = keep.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("leakshot-hostile-{}", std::process::id()))
    });
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

    let rgb = pic.to_rgb8();
    let shifted = RgbImage::from_fn(120, 80, |x, y| Rgb([(y * 3) as u8, (x * 2) as u8, 200]));
    use jpeg_encoder::ColorType as Jc;
    let with_exif = |tiff: Vec<u8>| jpeg(&rgb, Jc::Rgb, false, Some(exif(&tiff)));
    let full = || Expect::Valid(Some((120, 80)));

    let mut cases = vec![
        case("zero-bytes.png", vec![], Expect::Error("file is empty")),
        case(
            "truncated.png",
            png[..png.len() / 3].to_vec(),
            Expect::Error("cannot decode"),
        ),
        case(
            "truncated.jpg",
            jpg[..jpg.len() / 3].to_vec(),
            Expect::Error("cannot decode"),
        ),
        case(
            "truncated.webp",
            webp[..webp.len() / 3].to_vec(),
            Expect::Error("cannot decode"),
        ),
        case(
            "truncated.gif",
            gif[..20.min(gif.len())].to_vec(),
            Expect::Error("cannot decode"),
        ),
        case(
            "text-named.jpg",
            b"this is not an image\n".to_vec(),
            Expect::Error("not a supported image format"),
        ),
        case(
            "claims-60000x60000.png",
            png_claiming(60000, 60000),
            Expect::Error("limit"),
        ),
        case(
            "one-pixel.png",
            encode(&DynamicImage::new_rgb8(1, 1), ImageFormat::Png),
            Expect::Error("too small"),
        ),
        case(
            "sixteen-bit.png",
            encode(&DynamicImage::ImageLuma16(sixteen), ImageFormat::Png),
            full(),
        ),
        case(
            "grey-alpha.png",
            encode(&DynamicImage::ImageLumaA8(grey_alpha), ImageFormat::Png),
            full(),
        ),
        case("animated.gif", animated.clone(), full()),
        // An animation whose later frames claim sizes past the limits (a small file: the
        // frames hold next to no data): looking for its busiest frame must not allocate
        // them. The first frame stands.
        case(
            "animated-frames-60000.gif",
            {
                let mut bytes = animated[..animated.len() - 1].to_vec();
                for side in [60_000u16, 16_000] {
                    // Graphic control extension, then an image descriptor at (0, 0), no
                    // local colour table, and an LZW stream of a clear and an end code.
                    bytes.extend([0x21, 0xf9, 0x04, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x2c]);
                    bytes.extend([0, 0, 0, 0]);
                    bytes.extend(side.to_le_bytes());
                    bytes.extend(side.to_le_bytes());
                    bytes.extend([0x00, 0x02, 0x02, 0x4c, 0x01, 0x00]);
                }
                bytes.push(0x3b);
                bytes
            },
            full(),
        ),
        case("x.png/inside.png", png.clone(), full()),
        Case {
            name: PathBuf::from(std::ffi::OsStr::from_bytes(b"not-utf8-\xff.png")),
            bytes: png.clone(),
            expect: full(),
        },
        // Print-pipeline JPEGs: four components, Adobe APP14 marker.
        case("cmyk.jpg", jpeg(&rgb, Jc::Cmyk, false, None), full()),
        case("ycck.jpg", jpeg(&rgb, Jc::CmykAsYcck, false, None), full()),
        case("progressive.jpg", jpeg(&rgb, Jc::Rgb, true, None), full()),
        // The decoder shows what arrived (the first scans, coarse), as browsers do.
        case(
            "progressive-truncated.jpg",
            {
                let p = jpeg(&rgb, Jc::Rgb, true, None);
                p[..p.len() / 2].to_vec()
            },
            Expect::Truncated,
        ),
        case(
            "baseline-truncated.jpg",
            jpg[..jpg.len() * 9 / 10].to_vec(),
            Expect::Truncated,
        ),
        // EXIF orientation: a valid one is applied (6: rotate 90, so 80x120); absurd
        // values and broken TIFF blocks are ignored, not fatal.
        case(
            "exif-orientation-6.jpg",
            with_exif(tiff_orientation(8, 1, 6)),
            Expect::Valid(Some((80, 120))),
        ),
        case(
            "exif-orientation-9.jpg",
            with_exif(tiff_orientation(8, 1, 9)),
            full(),
        ),
        case(
            "exif-orientation-ffff.jpg",
            with_exif(tiff_orientation(8, 1, 0xffff)),
            full(),
        ),
        case(
            "exif-truncated-tiff-header.jpg",
            with_exif(b"MM\0".to_vec()),
            full(),
        ),
        case(
            "exif-ifd-offset-past-end.jpg",
            with_exif(tiff_orientation(0xffff_fff0, 1, 6)),
            full(),
        ),
        case(
            "exif-65535-entries.jpg",
            with_exif(tiff_orientation(8, 0xffff, 9)),
            full(),
        ),
        case(
            "animated.webp",
            animated_webp((120, 80), &[rgb.clone(), shifted.clone()]),
            full(),
        ),
        // Canvas sizes past the decoder limits: the largest the format can state, and one
        // just past our 16384 px side.
        case(
            "animated-canvas-16M.webp",
            animated_webp((1 << 24, 1 << 24), std::slice::from_ref(&rgb)),
            Expect::Error("too large"),
        ),
        case(
            "animated-canvas-20000.webp",
            animated_webp((20_000, 20_000), std::slice::from_ref(&rgb)),
            Expect::Error("limit"),
        ),
    ];
    // The hand-made files are what they claim to be.
    let animated_webp_case = cases
        .iter()
        .find(|c| c.name.as_os_str() == "animated.webp")
        .expect("animated.webp case");
    let webp_decoder =
        image::codecs::webp::WebPDecoder::new(Cursor::new(animated_webp_case.bytes.as_slice()))
            .expect("animated.webp parses");
    assert!(webp_decoder.has_animation());
    // leakshot analyses the frame it names (lossless, composited on the canvas: within 1-2
    // levels of that frame's image, far from the other one).
    let decoded = leakshot::decode::decode_bytes(
        &animated_webp_case.bytes,
        &leakshot::decode::DecodeLimits::default(),
    )
    .expect("animated.webp decodes");
    let (rgb, shifted) = match decoded.frame {
        Some(0) => (rgb, shifted),
        Some(1) => (shifted, rgb),
        other => panic!("animated.webp analysed as frame {other:?}"),
    };
    let first = decoded.image.to_rgb8();
    let distance = |a: &Rgb<u8>, b: &Rgb<u8>| {
        a.0.iter()
            .zip(b.0)
            .map(|(&x, y)| x.abs_diff(y) as u32)
            .max()
            .unwrap_or(0)
    };
    for (x, y) in [(50, 30), (5, 70), (110, 10)] {
        let got = first.get_pixel(x, y);
        assert!(
            distance(got, rgb.get_pixel(x, y)) <= 2,
            "the frame analysed at {x},{y}: {got:?}"
        );
        assert!(
            distance(got, shifted.get_pixel(x, y)) > 8,
            "not the other frame at {x},{y}"
        );
    }
    let cmyk_case = cases
        .iter()
        .find(|c| c.name.as_os_str() == "cmyk.jpg")
        .expect("cmyk.jpg case");
    assert!(cmyk_case.bytes.windows(5).any(|w| w == b"Adobe"));

    for c in &cases {
        let path = dir.join(&c.name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("parent");
        }
        std::fs::write(&path, &c.bytes).expect("write case");
    }

    // Root reads whatever the mode bits say: then the file is a normal image.
    let locked = dir.join("no-read-permission.png");
    std::fs::write(&locked, &png).expect("write locked");
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).expect("chmod");
    let readable_anyway = std::fs::read(&locked).is_ok();
    cases.push(case(
        "no-read-permission.png",
        vec![],
        if readable_anyway {
            full()
        } else {
            Expect::Error("Permission denied")
        },
    ));
    // A FIFO named like an image would block a naive open forever; a device never ends.
    if Command::new("mkfifo")
        .arg(dir.join("fifo.png"))
        .status()
        .is_ok_and(|s| s.success())
    {
        cases.push(case(
            "fifo.png",
            vec![],
            Expect::Error("not a regular file"),
        ));
    }
    std::os::unix::fs::symlink("/dev/zero", dir.join("dev-zero.png")).expect("device link");
    cases.push(case(
        "dev-zero.png",
        vec![],
        Expect::Error("not a regular file"),
    ));
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
            .filter(|r| {
                r["path"]
                    .as_str()
                    .is_some_and(|p| p.ends_with(&format!("/{tail}")))
            })
            .collect();
        assert_eq!(hits.len(), 1, "exactly one record for {tail}: {records:#?}");
        let r = hits[0];
        match c.expect {
            Expect::Valid(dims) => {
                assert!(r["error"].is_null(), "{tail} is a valid image: {r:#}");
                if let Some((w, h)) = dims {
                    assert_eq!(
                        (r["image"]["width"].as_u64(), r["image"]["height"].as_u64()),
                        (Some(w), Some(h)),
                        "{tail}: {r:#}"
                    );
                }
                assert!(r["file"]["size"].is_u64(), "{tail}: {r:#}");
                assert_eq!(r["image"]["truncated"], false, "{tail}: {r:#}");
            }
            Expect::Truncated => {
                assert!(
                    r["error"].is_null(),
                    "{tail} decodes as far as it goes: {r:#}"
                );
                assert_eq!(r["image"]["truncated"], true, "{tail}: {r:#}");
            }
            Expect::Error(text) => {
                let error = r["error"].as_str().unwrap_or_default();
                assert!(
                    !error.is_empty() && error.contains(text) && !error.contains('\n'),
                    "{tail} needs a one-line error saying {text:?}: {r:#}"
                );
                assert_eq!(r["leak"], false);
                assert_eq!(r["confidence"], 0.0);
            }
        }
    }
    let loop_record = records
        .iter()
        .find(|r| r["error"].as_str().is_some_and(|e| e.contains("loop")))
        .unwrap_or_else(|| panic!("the symlink loop is reported: {records:#?}"));
    assert_eq!(loop_record["leak"], false);
    if keep.is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// A file the walk listed but that is gone when its turn comes (deleted by the poster, a
/// sync client, a cleanup job) gets an error record, not a crash. Deterministic: the walk
/// runs first, the deletion comes between it and the analysis.
#[test]
fn file_listed_by_the_walk_but_gone_at_decode_time_gets_an_error_record() {
    use leakshot::ingest::{walk, Input};
    use leakshot::ocr::OcrEngine;
    use leakshot::{Models, ScanOptions, Scanner};

    let dir = std::env::temp_dir().join(format!("leakshot-vanished-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let png = encode(&picture(), ImageFormat::Png);
    for name in ["a.png", "b.png"] {
        std::fs::write(dir.join(name), &png).expect("write");
    }
    let inputs: Vec<Input> = walk(std::slice::from_ref(&dir)).collect();
    assert_eq!(
        inputs,
        vec![
            Input::File(dir.join("a.png")),
            Input::File(dir.join("b.png"))
        ]
    );
    std::fs::remove_file(dir.join("a.png")).expect("delete");

    let models = Models::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("models"))
        .expect("bundled models");
    let scanner = Scanner::new(
        models,
        ScanOptions {
            jobs: 1,
            ..ScanOptions::default()
        },
    );
    let mut engine = OcrEngine::new().expect("Tesseract");
    let gone = scanner.analyze_input(&inputs[0], &mut engine);
    let error = gone.error.clone().unwrap_or_default();
    assert!(error.contains("cannot read file"), "{gone:?}");
    assert!(!gone.leak && gone.confidence == 0.0);
    assert!(gone.file.is_none(), "a vanished file cannot be stat'ed");

    let still_there = scanner.analyze_input(&inputs[1], &mut engine);
    assert!(still_there.error.is_none(), "{still_there:?}");
    assert_eq!(still_there.file.map(|f| f.size), Some(png.len() as u64));
    let _ = std::fs::remove_dir_all(&dir);
}
