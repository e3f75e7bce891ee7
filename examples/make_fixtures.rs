//! Generates the test fixtures in `test-images/`.
//!
//! ```text
//! cargo run --release --example make_fixtures -- \
//!     --font /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf \
//!     --bold-font /usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf \
//!     --out test-images
//! ```
//!
//! It draws screens of fictional internal web systems (sidebar, top bar,
//! protective-marking banner, cards, data table, footer) at 1366x768 with
//! ordinary UI text sizes, so that OCR and layout matching behave much as they
//! would on real admin screenshots. Everything is deterministic: the only
//! randomness comes from a fixed-seed xorshift generator below, and the same
//! fonts give byte-identical files.
//!
//! All organisations, systems, people, references and amounts are invented.

// Drawing helpers take position, size, font and colour as plain arguments.
#![allow(clippy::too_many_arguments)]

use std::fs;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use ab_glyph::{FontRef, PxScale};
use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::{CompressionType, FilterType as PngFilter, PngEncoder};
use image::imageops::{self, FilterType};
use image::{ImageEncoder, Rgb, RgbImage};
use imageproc::drawing::{
    draw_filled_circle_mut, draw_filled_rect_mut, draw_line_segment_mut, draw_text_mut, text_size,
};
use imageproc::geometric_transformations::{warp_into, Interpolation, Projection};
use imageproc::rect::Rect;

const W: u32 = 1366;
const H: u32 = 768;
const SIDEBAR_W: i32 = 224;
const TOPBAR_H: i32 = 56;
const BANNER_H: i32 = 20;
const CONTENT_X: i32 = SIDEBAR_W + 24;
const CONTENT_W: i32 = W as i32 - CONTENT_X - 24;

// ---------------------------------------------------------------------------
// Tiny deterministic PRNG (xorshift64*), so no `rand` dependency is needed.

struct XorShift(u64);

impl XorShift {
    fn new(seed: u64) -> Self {
        // Avoid the all-zero state, which xorshift never leaves.
        XorShift((seed ^ 0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform integer in `0..n` (n > 0).
    fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
    /// Uniform integer in `lo..=hi`.
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1) as u64) as i64
    }
    /// Uniform float in `[0, 1)`.
    fn unit(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

// ---------------------------------------------------------------------------
// Colours and small drawing helpers.

fn hex(c: u32) -> Rgb<u8> {
    Rgb([(c >> 16) as u8, (c >> 8) as u8, c as u8])
}

/// Linear mix: `t = 0` gives `a`, `t = 1` gives `b`.
fn mix(a: Rgb<u8>, b: Rgb<u8>, t: f32) -> Rgb<u8> {
    let f = |x: u8, y: u8| {
        (x as f32 + (y as f32 - x as f32) * t)
            .round()
            .clamp(0.0, 255.0) as u8
    };
    Rgb([f(a[0], b[0]), f(a[1], b[1]), f(a[2], b[2])])
}

const WHITE: u32 = 0xffffff;

struct Fonts<'a> {
    regular: FontRef<'a>,
    bold: FontRef<'a>,
}

impl Fonts<'_> {
    fn font(&self, bold: bool) -> &FontRef<'_> {
        if bold {
            &self.bold
        } else {
            &self.regular
        }
    }
}

fn text_w(fonts: &Fonts, px: f32, bold: bool, s: &str) -> i32 {
    text_size(PxScale::from(px), fonts.font(bold), s).0 as i32
}

/// Draws `s` with its em box starting at `(x, y)` (y is the top of the line).
fn text(
    img: &mut RgbImage,
    fonts: &Fonts,
    x: i32,
    y: i32,
    px: f32,
    bold: bool,
    color: u32,
    s: &str,
) {
    draw_text_mut(
        img,
        hex(color),
        x,
        y,
        PxScale::from(px),
        fonts.font(bold),
        s,
    );
}

/// Draws `s` vertically centred in the band `top..top+height`.
fn text_vc(
    img: &mut RgbImage,
    fonts: &Fonts,
    x: i32,
    top: i32,
    height: i32,
    px: f32,
    bold: bool,
    color: u32,
    s: &str,
) {
    // DejaVu's ascender is ~0.93 em and caps are ~0.73 em tall: centring the
    // cap height looks right for UI labels.
    let y = top + ((height as f32 - 0.73 * px) / 2.0 - 0.2 * px).round() as i32;
    text(img, fonts, x, y, px, bold, color, s);
}

fn fill(img: &mut RgbImage, x: i32, y: i32, w: i32, h: i32, color: Rgb<u8>) {
    if w > 0 && h > 0 {
        draw_filled_rect_mut(img, Rect::at(x, y).of_size(w as u32, h as u32), color);
    }
}

fn hline(img: &mut RgbImage, x0: i32, x1: i32, y: i32, color: Rgb<u8>) {
    draw_line_segment_mut(
        img,
        (x0 as f32, y as f32),
        ((x1 - 1) as f32, y as f32),
        color,
    );
}

/// Filled rectangle with corner radius `r`.
fn rounded(img: &mut RgbImage, x: i32, y: i32, w: i32, h: i32, r: i32, color: Rgb<u8>) {
    fill(img, x + r, y, w - 2 * r, h, color);
    fill(img, x, y + r, w, h - 2 * r, color);
    for (cx, cy) in [
        (x + r, y + r),
        (x + w - r - 1, y + r),
        (x + r, y + h - r - 1),
        (x + w - r - 1, y + h - r - 1),
    ] {
        draw_filled_circle_mut(img, (cx, cy), r, color);
    }
}

/// Rounded rectangle with a 1 px border.
fn rounded_box(
    img: &mut RgbImage,
    x: i32,
    y: i32,
    w: i32,
    h: i32,
    r: i32,
    bg: Rgb<u8>,
    border: Rgb<u8>,
) {
    rounded(img, x, y, w, h, r, border);
    rounded(img, x + 1, y + 1, w - 2, h - 2, (r - 1).max(0), bg);
}

// ---------------------------------------------------------------------------
// What a system looks like (chrome) and what one page shows (content).

struct Theme {
    org: &'static str,
    system: &'static str,
    version: &'static str,
    brand: &'static str,
    user: &'static str,
    initials: &'static str,
    sidebar: u32,
    accent: u32,
    /// Protective marking shown in a thin banner at the very top, if any.
    marking: Option<&'static str>,
    search_hint: &'static str,
    menu: [&'static str; 8],
}

struct Card {
    label: String,
    value: String,
    delta: String,
    good: bool,
}

#[derive(Clone, Copy, PartialEq)]
enum Align {
    Left,
    Right,
    /// Left-aligned coloured pill (status column).
    Pill,
}

struct Column {
    header: &'static str,
    width: i32,
    align: Align,
}

struct Page {
    title: &'static str,
    active: usize,
    cards: Vec<Card>,
    /// Shown instead of cards when there are none (a filter bar).
    filters: Vec<&'static str>,
    table_title: &'static str,
    columns: Vec<Column>,
    rows: Vec<Vec<String>>,
}

fn col(header: &'static str, width: i32, align: Align) -> Column {
    Column {
        header,
        width,
        align,
    }
}

fn card(label: &str, value: &str, delta: &str, good: bool) -> Card {
    Card {
        label: label.into(),
        value: value.into(),
        delta: delta.into(),
        good,
    }
}

fn render(theme: &Theme, page: &Page, fonts: &Fonts) -> RgbImage {
    let mut img = RgbImage::from_pixel(W, H, hex(0xf3f5f7));
    let top = if theme.marking.is_some() { BANNER_H } else { 0 };

    // Protective-marking banner across the full width.
    if let Some(marking) = theme.marking {
        fill(&mut img, 0, 0, W as i32, BANNER_H, hex(0x8b0000));
        let tw = text_w(fonts, 13.0, true, marking);
        text_vc(
            &mut img,
            fonts,
            (W as i32 - tw) / 2,
            0,
            BANNER_H,
            13.0,
            true,
            WHITE,
            marking,
        );
    }

    draw_sidebar(&mut img, theme, page, fonts, top);
    draw_topbar(&mut img, theme, fonts, top);

    // Breadcrumb and page title.
    let crumb = format!("Home  /  {}", page.title);
    text(
        &mut img,
        fonts,
        CONTENT_X,
        top + 70,
        13.0,
        false,
        0x6b7280,
        &crumb,
    );
    text(
        &mut img,
        fonts,
        CONTENT_X,
        top + 88,
        28.0,
        true,
        0x1f2937,
        page.title,
    );
    let updated = "Last updated 09:42 today";
    let uw = text_w(fonts, 13.0, false, updated);
    text(
        &mut img,
        fonts,
        CONTENT_X + CONTENT_W - uw,
        top + 100,
        13.0,
        false,
        0x6b7280,
        updated,
    );

    let mut y = top + 140;
    if !page.cards.is_empty() {
        draw_cards(&mut img, theme, &page.cards, fonts, y);
        y += 92 + 20;
    } else {
        draw_filters(&mut img, theme, &page.filters, fonts, y);
        y += 38 + 20;
    }
    draw_table(&mut img, theme, page, fonts, y);

    // Footer.
    let fy = H as i32 - 34;
    hline(
        &mut img,
        CONTENT_X,
        CONTENT_X + CONTENT_W,
        fy,
        hex(0xdde1e6),
    );
    let left = format!("Copyright © {} 2026", theme.org);
    text(
        &mut img,
        fonts,
        CONTENT_X,
        fy + 10,
        13.0,
        false,
        0x6b7280,
        &left,
    );
    let right = format!(
        "{} {}  ·  Help  ·  Accessibility",
        theme.system, theme.version
    );
    let rw = text_w(fonts, 13.0, false, &right);
    text(
        &mut img,
        fonts,
        CONTENT_X + CONTENT_W - rw,
        fy + 10,
        13.0,
        false,
        0x6b7280,
        &right,
    );
    img
}

fn draw_sidebar(img: &mut RgbImage, theme: &Theme, page: &Page, fonts: &Fonts, top: i32) {
    let base = hex(theme.sidebar);
    let dark = mix(base, hex(0x000000), 0.25);
    let light = mix(base, hex(WHITE), 0.45);
    fill(img, 0, top, SIDEBAR_W, H as i32 - top, base);

    // Brand block.
    fill(img, 0, top, SIDEBAR_W, 68, dark);
    text(img, fonts, 20, top + 12, 20.0, true, WHITE, theme.brand);
    // Pure white: thin 13 px light-grey strokes on a dark fill fall apart
    // under Tesseract's global threshold.
    text(img, fonts, 20, top + 40, 13.0, false, WHITE, theme.org);

    // Menu: icon square + label; the current page is highlighted.
    let mut y = top + 88;
    text(img, fonts, 20, y, 13.0, true, 0xc9d6d9, "MENU");
    y += 26;
    for (i, item) in theme.menu.iter().enumerate() {
        if i == page.active {
            fill(img, 0, y, SIDEBAR_W, 40, mix(base, hex(WHITE), 0.18));
            fill(img, 0, y, 4, 40, hex(theme.accent));
        }
        let icon = if i == page.active { hex(WHITE) } else { light };
        rounded(img, 20, y + 13, 14, 14, 3, icon);
        // Semi-bold-looking (bold) menu labels, as many admin UIs use; regular
        // weight at 15 px on a dark sidebar OCRs unreliably on the full page.
        text_vc(img, fonts, 46, y, 40, 15.0, true, WHITE, item);
        y += 40;
    }

    // Small status line at the bottom of the sidebar.
    let by = H as i32 - 40;
    hline(img, 16, SIDEBAR_W - 16, by, light);
    draw_filled_circle_mut(img, (24, by + 20), 4, hex(0x4ade80));
    text_vc(
        img,
        fonts,
        36,
        by,
        40,
        13.0,
        false,
        WHITE,
        "All services online",
    );
}

fn draw_topbar(img: &mut RgbImage, theme: &Theme, fonts: &Fonts, top: i32) {
    let x0 = SIDEBAR_W;
    fill(img, x0, top, W as i32 - x0, TOPBAR_H, hex(WHITE));
    hline(img, x0, W as i32, top + TOPBAR_H - 1, hex(0xdde1e6));

    // Hamburger.
    for k in 0..3 {
        fill(img, x0 + 20, top + 20 + k * 7, 18, 2, hex(0x4b5563));
    }

    // Search box.
    let sx = x0 + 56;
    rounded_box(img, sx, top + 12, 380, 32, 6, hex(0xf3f4f6), hex(0xd1d5db));
    draw_filled_circle_mut(img, (sx + 17, top + 26), 5, hex(0x9ca3af));
    draw_filled_circle_mut(img, (sx + 17, top + 26), 3, hex(0xf3f4f6));
    draw_line_segment_mut(
        img,
        ((sx + 21) as f32, (top + 30) as f32),
        ((sx + 25) as f32, (top + 34) as f32),
        hex(0x9ca3af),
    );
    text_vc(
        img,
        fonts,
        sx + 34,
        top + 12,
        32,
        14.0,
        false,
        0x6b7280,
        theme.search_hint,
    );

    // User badge at the right: initials circle, then name and staff number.
    let name_w = text_w(fonts, 14.0, false, theme.user);
    let caret_x = W as i32 - 24 - 10;
    let name_x = caret_x - 10 - name_w;
    // Keep a clear gap after the circle: OCR otherwise glues the initials
    // to the name ("JO J. Okafor" -> "jemes Okafor").
    let circ_x = name_x - 34;
    draw_filled_circle_mut(img, (circ_x, top + 28), 16, hex(theme.accent));
    let iw = text_w(fonts, 13.0, true, theme.initials);
    text_vc(
        img,
        fonts,
        circ_x - iw / 2,
        top + 12,
        32,
        13.0,
        true,
        WHITE,
        theme.initials,
    );
    text_vc(
        img, fonts, name_x, top, TOPBAR_H, 14.0, false, 0x1f2937, theme.user,
    );
    for k in 0..5 {
        hline(
            img,
            caret_x + k,
            caret_x + 10 - k,
            top + 26 + k,
            hex(0x6b7280),
        );
    }

    // Notification and message icons, each with a coloured dot.
    let mut ix = circ_x - 16 - 24 - 30;
    for dot in [0xdc2626u32, 0xf59e0b] {
        rounded(img, ix, top + 18, 20, 20, 4, hex(0x9ca3af));
        rounded(img, ix + 3, top + 21, 14, 14, 3, hex(WHITE));
        draw_filled_circle_mut(img, (ix + 19, top + 18), 5, hex(dot));
        ix -= 40;
    }
    // Divider between icons and user.
    fill(img, circ_x - 16 - 14, top + 14, 1, 28, hex(0xdde1e6));
}

fn draw_cards(img: &mut RgbImage, theme: &Theme, cards: &[Card], fonts: &Fonts, y: i32) {
    let gap = 16;
    let n = cards.len() as i32;
    let cw = (CONTENT_W - gap * (n - 1)) / n;
    for (i, c) in cards.iter().enumerate() {
        let x = CONTENT_X + i as i32 * (cw + gap);
        rounded_box(img, x, y, cw, 92, 8, hex(WHITE), hex(0xdde1e6));
        fill(img, x + 1, y + 8, 3, 76, hex(theme.accent));
        text(img, fonts, x + 18, y + 14, 13.0, false, 0x6b7280, &c.label);
        text(img, fonts, x + 18, y + 34, 26.0, true, 0x111827, &c.value);
        let color = if c.good { 0x15803d } else { 0xb91c1c };
        text(img, fonts, x + 18, y + 68, 13.0, false, color, &c.delta);
    }
}

fn draw_filters(img: &mut RgbImage, theme: &Theme, filters: &[&str], fonts: &Fonts, y: i32) {
    let mut x = CONTENT_X;
    for f in filters {
        let w = text_w(fonts, 14.0, false, f) + 40;
        rounded_box(img, x, y, w, 38, 6, hex(WHITE), hex(0xd1d5db));
        text_vc(img, fonts, x + 12, y, 38, 14.0, false, 0x374151, f);
        // Dropdown caret.
        for k in 0..4 {
            hline(
                img,
                x + w - 20 + k,
                x + w - 12 - k,
                y + 17 + k,
                hex(0x6b7280),
            );
        }
        x += w + 12;
    }
    let label = "+ New case";
    let bw = text_w(fonts, 14.0, true, label) + 32;
    let bx = CONTENT_X + CONTENT_W - bw;
    rounded(img, bx, y, bw, 38, 6, hex(theme.accent));
    text_vc(img, fonts, bx + 16, y, 38, 14.0, true, WHITE, label);
    let label2 = "Export CSV";
    let bw2 = text_w(fonts, 14.0, false, label2) + 32;
    let bx2 = bx - 12 - bw2;
    rounded_box(img, bx2, y, bw2, 38, 6, hex(WHITE), hex(0xd1d5db));
    text_vc(img, fonts, bx2 + 16, y, 38, 14.0, false, 0x374151, label2);
}

fn status_colours(s: &str) -> (u32, u32) {
    match s {
        "Open" | "Active" | "Ready" => (0xdbeafe, 0x1e40af),
        "Closed" | "Resolved" | "Completed" | "Paid" => (0xdcfce7, 0x166534),
        "Overdue" | "Escalated" | "Failed" => (0xfee2e2, 0x991b1b),
        _ => (0xfef3c7, 0x92400e),
    }
}

fn draw_table(img: &mut RgbImage, theme: &Theme, page: &Page, fonts: &Fonts, y: i32) {
    let row_h = 30;
    let head_h = 30;
    let title_h = 44;
    let h = title_h + head_h + row_h * page.rows.len() as i32 + 8;
    rounded_box(
        img,
        CONTENT_X,
        y,
        CONTENT_W,
        h,
        8,
        hex(WHITE),
        hex(0xdde1e6),
    );

    text_vc(
        img,
        fonts,
        CONTENT_X + 18,
        y,
        title_h,
        16.0,
        true,
        0x111827,
        page.table_title,
    );
    let link = "View all";
    let lw = text_w(fonts, 14.0, false, link);
    text_vc(
        img,
        fonts,
        CONTENT_X + CONTENT_W - 18 - lw,
        y,
        title_h,
        14.0,
        false,
        theme.accent,
        link,
    );

    let hy = y + title_h;
    fill(img, CONTENT_X + 1, hy, CONTENT_W - 2, head_h, hex(0xf1f3f6));
    hline(
        img,
        CONTENT_X + 1,
        CONTENT_X + CONTENT_W - 1,
        hy,
        hex(0xdde1e6),
    );
    hline(
        img,
        CONTENT_X + 1,
        CONTENT_X + CONTENT_W - 1,
        hy + head_h - 1,
        hex(0xdde1e6),
    );

    // Column x positions (widths are proportions of the table width).
    let total: i32 = page.columns.iter().map(|c| c.width).sum();
    let inner = CONTENT_W - 36;
    let mut xs = Vec::new();
    let mut acc = 0;
    for c in &page.columns {
        xs.push(CONTENT_X + 18 + acc * inner / total);
        acc += c.width;
    }
    let col_right = |i: usize| {
        if i + 1 < xs.len() {
            xs[i + 1] - 24
        } else {
            CONTENT_X + CONTENT_W - 18
        }
    };

    for (i, c) in page.columns.iter().enumerate() {
        let x = if c.align == Align::Right {
            col_right(i) - text_w(fonts, 13.0, true, c.header)
        } else {
            xs[i]
        };
        text_vc(img, fonts, x, hy, head_h, 13.0, true, 0x374151, c.header);
    }

    for (r, row) in page.rows.iter().enumerate() {
        let ry = hy + head_h + r as i32 * row_h;
        if r > 0 {
            hline(
                img,
                CONTENT_X + 1,
                CONTENT_X + CONTENT_W - 1,
                ry,
                hex(0xeef0f3),
            );
        }
        for (i, cell) in row.iter().enumerate() {
            let c = &page.columns[i];
            match c.align {
                Align::Left => {
                    let color = if i == 0 { theme.accent } else { 0x1f2937 };
                    text_vc(img, fonts, xs[i], ry, row_h, 14.0, false, color, cell);
                }
                Align::Right => {
                    let x = col_right(i) - text_w(fonts, 14.0, false, cell);
                    text_vc(img, fonts, x, ry, row_h, 14.0, false, 0x1f2937, cell);
                }
                Align::Pill => {
                    let (bg, fg) = status_colours(cell);
                    let pw = text_w(fonts, 13.0, true, cell) + 20;
                    rounded(img, xs[i], ry + 5, pw, 20, 10, hex(bg));
                    text_vc(img, fonts, xs[i] + 10, ry + 5, 20, 13.0, true, fg, cell);
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Invented content.

// Residents (members of the public) appear on one page only; staff names
// recur across the pages of their own system, as on a real one. The two
// organisations share no people, so only generic words (menu labels, months,
// "Help", "Accessibility", ...) are common to both.
const FIRST: &[&str] = &[
    "Amara", "Declan", "Priya", "Tomasz", "Eleanor", "Kwame", "Siobhan", "Rhys", "Yusuf",
    "Harriet", "Mateo", "Niamh", "Oliver", "Farah", "Callum", "Ingrid", "Dev", "Lucia", "Gareth",
    "Mei",
];
const RESIDENT_LAST: &[&str] = &[
    "Fairbairn",
    "Pemberton",
    "Mensah",
    "Drummond",
    "Haldane",
    "Castellano",
    "Brennan",
    "Thorne",
    "Lindqvist",
    "Varma",
    "Ferreira",
    "Rahman",
];
const FBC_STAFF: &[&str] = &[
    "I. Whitlock",
    "L. Kowalczyk",
    "S. Pryce",
    "F. Maclean",
    "Y. Adeyemi",
    "S. Qureshi",
    "A. Ashworth",
    "H. Tanaka",
];
const AWS_STAFF: &[&str] = &[
    "D. Marchetti",
    "K. Osei",
    "P. Lindgren",
    "E. Blackwood",
    "T. Nakamura",
    "G. Abernethy",
    "C. Oyelaran",
    "M. Rourke",
];
const MONTHS: &[&str] = &["Jan", "Feb", "Mar", "Apr", "May", "Jun"];

fn resident(rng: &mut XorShift) -> String {
    format!("{} {}", rng.pick(FIRST), rng.pick(RESIDENT_LAST))
}

/// Dates going back in time from `day month 2026`, newest first, as a
/// "recent items" table would list them.
struct Dates {
    month: usize,
    day: i64,
}

impl Dates {
    fn from(day: i64, month: usize) -> Self {
        Dates { month, day }
    }
    fn next(&mut self, rng: &mut XorShift) -> String {
        let s = format!("{:02} {} 2026", self.day, MONTHS[self.month]);
        self.day -= rng.range(0, 3);
        if self.day < 1 {
            self.month = self.month.saturating_sub(1);
            self.day += 28;
        }
        s
    }
}

fn money(pounds: i64, pence: i64) -> String {
    let mut digits = pounds.to_string();
    let mut out = String::new();
    while digits.len() > 3 {
        let tail = digits.split_off(digits.len() - 3);
        out = format!(",{tail}{out}");
    }
    format!("£{digits}{out}.{pence:02}")
}

fn fernhill() -> Theme {
    Theme {
        org: "Fernhill Borough Council",
        system: "Fernhill Case Desk",
        version: "v4.2.1",
        brand: "FBC CASE DESK",
        user: "J. Okafor (FBC-2231)",
        initials: "JO",
        sidebar: 0x1f6f78,
        accent: 0x0e7490,
        marking: Some("OFFICIAL-SENSITIVE"),
        search_hint: "Search cases, residents, references",
        menu: MENU,
    }
}

fn ashcombe() -> Theme {
    Theme {
        org: "Ashcombe Water Services",
        system: "Ashcombe Water Services — Asset Desk",
        version: "v3.8.0",
        brand: "AWS ASSET DESK",
        user: "R. Delacroix (AWS-0417)",
        initials: "RD",
        sidebar: 0x5b3c88,
        accent: 0xc2410c,
        marking: None,
        search_hint: "Search assets, sites, work orders",
        menu: MENU,
    }
}

/// Generic menu words shared by both systems (the look-alike must not be
/// distinguishable by them).
const MENU: [&str; 8] = [
    "Dashboard",
    "Cases",
    "Residents",
    "Payments",
    "Reports",
    "Documents",
    "Messages",
    "Settings",
];

fn fernhill_dashboard() -> Page {
    let mut rng = XorShift::new(0xF0B1);
    let mut dates = Dates::from(14, 3);
    let cats = [
        "Housing repair",
        "Council tax",
        "Noise complaint",
        "Parking permit",
        "Waste collection",
        "Planning enquiry",
    ];
    let statuses = [
        "Open",
        "In review",
        "Overdue",
        "Closed",
        "Open",
        "Awaiting info",
    ];
    let rows = (0..10)
        .map(|i| {
            vec![
                format!("FBC-{}", 48213 - i * 7 - rng.range(0, 5)),
                resident(&mut rng),
                cats[rng.below(cats.len() as u64) as usize].to_string(),
                rng.pick(FBC_STAFF).to_string(),
                dates.next(&mut rng),
                statuses[rng.below(statuses.len() as u64) as usize].to_string(),
            ]
        })
        .collect();
    Page {
        title: "Dashboard",
        active: 0,
        cards: vec![
            card("Open cases", "1,284", "+3.1% vs last week", false),
            card("Due this week", "96", "12 due today", false),
            card("Overdue", "37", "-8 since Monday", true),
            card("Closed (30 days)", "412", "+5.4% vs last month", true),
        ],
        filters: vec![],
        table_title: "Recent cases",
        columns: vec![
            col("Case ref", 11, Align::Left),
            col("Resident", 17, Align::Left),
            col("Category", 17, Align::Left),
            col("Officer", 14, Align::Left),
            col("Opened", 12, Align::Left),
            col("Status", 12, Align::Pill),
        ],
        rows,
    }
}

fn fernhill_cases() -> Page {
    let mut rng = XorShift::new(0xCA5E5);
    let mut dates = Dates::from(16, 3);
    let subjects = [
        "Damp and mould, flat 4",
        "Missed bin collection",
        "Blue badge renewal",
        "Fence boundary dispute",
        "Council tax reduction",
        "Street light fault",
        "Fly-tipping, rear lane",
        "Housing benefit review",
    ];
    let wards = [
        "Northgate",
        "Millbrook",
        "St Anne's",
        "Castle Hill",
        "Riverside",
        "Oakfield",
    ];
    let prio = ["High", "Medium", "Low", "Medium"];
    let rows = (0..12)
        .map(|i| {
            vec![
                format!("FBC-{}", 47950 - i * 11 - rng.range(0, 9)),
                subjects[rng.below(subjects.len() as u64) as usize].to_string(),
                wards[rng.below(wards.len() as u64) as usize].to_string(),
                prio[rng.below(prio.len() as u64) as usize].to_string(),
                rng.pick(FBC_STAFF).to_string(),
                dates.next(&mut rng),
            ]
        })
        .collect();
    Page {
        title: "Cases",
        active: 1,
        cards: vec![],
        filters: vec![
            "Status: All open",
            "Ward: Any",
            "Officer: Me",
            "Priority: Any",
        ],
        table_title: "All cases (1,284)",
        columns: vec![
            col("Case ref", 10, Align::Left),
            col("Subject", 22, Align::Left),
            col("Ward", 12, Align::Left),
            col("Priority", 9, Align::Left),
            col("Assigned to", 13, Align::Left),
            col("Last update", 11, Align::Left),
        ],
        rows,
    }
}

fn fernhill_reports() -> Page {
    let mut rng = XorShift::new(0x4E9047);
    let reports = [
        "Monthly case volumes",
        "Housing repairs backlog",
        "Council tax arrears",
        "Complaints by ward",
        "Officer workload",
        "Payments reconciliation",
        "FOI request log",
        "Temporary accommodation",
    ];
    let periods = ["Q1 2026", "Mar 2026", "Apr 2026", "Week 14", "Feb 2026"];
    let states = ["Ready", "Ready", "Scheduled", "Failed", "Ready"];
    let rows = (0..10)
        .map(|i| {
            vec![
                format!("RPT-{}", 3120 - i * 3),
                reports[(i as usize + rng.below(3) as usize) % reports.len()].to_string(),
                rng.pick(FBC_STAFF).to_string(),
                periods[rng.below(periods.len() as u64) as usize].to_string(),
                money(rng.range(1_200, 480_000), rng.range(0, 99)),
                states[rng.below(states.len() as u64) as usize].to_string(),
            ]
        })
        .collect();
    Page {
        title: "Reports",
        active: 4,
        cards: vec![
            card("Reports generated", "218", "+14 this month", true),
            card("Scheduled", "34", "3 run tonight", true),
            card("Spend YTD", "£2.41m", "+6.2% vs budget", false),
            card("Data requests", "57", "9 awaiting approval", false),
        ],
        filters: vec![],
        table_title: "Recent reports",
        columns: vec![
            col("Report ID", 10, Align::Left),
            col("Report", 22, Align::Left),
            col("Owner", 13, Align::Left),
            col("Period", 10, Align::Left),
            col("Amount", 13, Align::Right),
            col("State", 10, Align::Pill),
        ],
        rows,
    }
}

fn ashcombe_dashboard() -> Page {
    let mut rng = XorShift::new(0xA5C0);
    let mut dates = Dates::from(9, 3);
    let sites = [
        "Hollow Lane PS",
        "Brackenford WTW",
        "Kilnsey Reservoir",
        "Marsh Road SPS",
        "Upper Tarn",
        "Eastwick DMA 12",
    ];
    let kinds = [
        "Pump",
        "Valve",
        "Flow meter",
        "Chlorinator",
        "Pressure sensor",
        "Main 300mm",
    ];
    let statuses = ["Open", "Active", "Escalated", "Completed", "Awaiting parts"];
    let rows = (0..10)
        .map(|i| {
            vec![
                format!("WO-{}", 77104 - i * 5 - rng.range(0, 4)),
                sites[rng.below(sites.len() as u64) as usize].to_string(),
                kinds[rng.below(kinds.len() as u64) as usize].to_string(),
                rng.pick(AWS_STAFF).to_string(),
                dates.next(&mut rng),
                statuses[rng.below(statuses.len() as u64) as usize].to_string(),
            ]
        })
        .collect();
    Page {
        title: "Dashboard",
        active: 0,
        cards: vec![
            card("Open work orders", "3,512", "+2.4% vs last week", false),
            card("Assets monitored", "48,209", "+120 this month", true),
            card("Alerts today", "23", "4 critical", false),
            card("Crews on shift", "41", "All zones covered", true),
        ],
        filters: vec![],
        table_title: "Recent work orders",
        columns: vec![
            col("Work order", 11, Align::Left),
            col("Site", 17, Align::Left),
            col("Asset type", 15, Align::Left),
            col("Engineer", 14, Align::Left),
            col("Raised", 12, Align::Left),
            col("Status", 13, Align::Pill),
        ],
        rows,
    }
}

// ---------------------------------------------------------------------------
// A non-screen photo: sky, sea, a beach, soft clouds and sensor noise.

fn holiday_photo() -> RgbImage {
    let (w, h) = (800u32, 600u32);
    let mut rng = XorShift::new(0x5EA51DE);
    let horizon = 300.0;
    let shore = 470.0;

    // Soft clouds: random ellipses blended into the sky.
    let clouds: Vec<(f32, f32, f32, f32)> = (0..14)
        .map(|_| {
            (
                rng.unit() * w as f32,
                40.0 + rng.unit() * 200.0,
                40.0 + rng.unit() * 90.0,
                12.0 + rng.unit() * 22.0,
            )
        })
        .collect();
    // Rocks/people on the beach: dark soft blobs.
    let blobs: Vec<(f32, f32, f32)> = (0..9)
        .map(|_| {
            (
                rng.unit() * w as f32,
                shore + 20.0 + rng.unit() * 100.0,
                6.0 + rng.unit() * 16.0,
            )
        })
        .collect();

    let mut img = RgbImage::new(w, h);
    for y in 0..h {
        for x in 0..w {
            let (fx, fy) = (x as f32, y as f32);
            let mut c: [f32; 3] = if fy < horizon {
                let t = fy / horizon;
                let top = [60.0, 120.0, 200.0];
                let low = [190.0, 215.0, 235.0];
                std::array::from_fn(|k| top[k] + (low[k] - top[k]) * t)
            } else if fy < shore + 6.0 * (fx / 60.0).sin() {
                let t = (fy - horizon) / (shore - horizon);
                let far = [40.0, 110.0, 150.0];
                let near = [60.0, 150.0, 160.0];
                let wave = 10.0 * ((fx * 0.05 + fy * 0.4).sin() * (fy * 0.13).cos());
                std::array::from_fn(|k| far[k] + (near[k] - far[k]) * t + wave)
            } else {
                let t = (fy - shore) / (h as f32 - shore);
                let wet = [170.0, 150.0, 115.0];
                let dry = [225.0, 205.0, 160.0];
                std::array::from_fn(|k| wet[k] + (dry[k] - wet[k]) * t.min(1.0))
            };
            if fy < horizon {
                for &(cx, cy, rx, ry) in &clouds {
                    let d = ((fx - cx) / rx).powi(2) + ((fy - cy) / ry).powi(2);
                    if d < 1.0 {
                        let a = (1.0 - d).powf(1.5) * 0.8;
                        for v in c.iter_mut() {
                            *v += (250.0 - *v) * a;
                        }
                    }
                }
            }
            for &(bx, by, r) in &blobs {
                let d = ((fx - bx).powi(2) + (fy - by).powi(2)).sqrt() / r;
                if d < 1.0 {
                    let a = (1.0 - d * d) * 0.85;
                    let dark = [70.0, 60.0, 50.0];
                    for k in 0..3 {
                        c[k] += (dark[k] - c[k]) * a;
                    }
                }
            }
            let noise = (rng.unit() - 0.5) * 10.0;
            img.put_pixel(
                x,
                y,
                Rgb(c.map(|v| (v + noise).round().clamp(0.0, 255.0) as u8)),
            );
        }
    }
    img
}

/// Simulates a phone photo of a monitor showing `page`: the screen a tilted
/// quadrilateral in a dark, uneven surround (desk and wall), then the optics and
/// sensor: defocus blur, moire bands (the camera's pixel grid beating against
/// the monitor's), glare towards one corner and sensor noise.
fn monitor_photo(page: &RgbImage) -> RgbImage {
    let (w, h) = (1280u32, 960u32);
    let mut rng = XorShift::new(0x9407_0F0C);
    // Page corners to screen corners: the phone held a little left of centre and
    // below, tilted by a few degrees.
    let (pw, ph) = (page.width() as f32, page.height() as f32);
    let from = [(0.0, 0.0), (pw, 0.0), (pw, ph), (0.0, ph)];
    let to = [
        (150.0, 150.0),
        (1150.0, 118.0),
        (1178.0, 712.0),
        (128.0, 738.0),
    ];
    let projection = Projection::from_control_points(from, to)
        .expect("the screen's corners are in general position");
    let surround = Rgb([38, 36, 40]);
    let mut img = RgbImage::from_pixel(w, h, surround);
    warp_into(
        page,
        &projection,
        Interpolation::Bilinear,
        surround,
        &mut img,
    );
    let mut img = imageops::blur(&img, 1.1);
    let angle = 0.52f32; // ~30 degrees
    let (ca, sa) = (angle.cos(), angle.sin());
    for (x, y, px) in img.enumerate_pixels_mut() {
        let (fx, fy) = (x as f32, y as f32);
        let moire = 1.0 + 0.07 * ((fx * ca + fy * sa) * std::f32::consts::TAU / 11.0).sin();
        let glare = 28.0 * (-((fx - 1000.0).powi(2) + (fy - 200.0).powi(2)) / 90_000.0).exp();
        // The surround darkens towards the bottom (desk in shadow).
        let shade = if px.0 == surround.0 {
            fy / h as f32 * -10.0
        } else {
            0.0
        };
        let noise = (rng.unit() - 0.5) * 14.0;
        px.0 = px.0.map(|v| {
            (v as f32 * moire + glare + shade + noise)
                .round()
                .clamp(0.0, 255.0) as u8
        });
    }
    img
}

// ---------------------------------------------------------------------------
// Encoding and main.

fn png_bytes(img: &RgbImage) -> Vec<u8> {
    // Flat UI colours deflate best unfiltered (~15% smaller than adaptive).
    let mut buf = Vec::new();
    PngEncoder::new_with_quality(&mut buf, CompressionType::Best, PngFilter::NoFilter)
        .write_image(
            img.as_raw(),
            img.width(),
            img.height(),
            image::ExtendedColorType::Rgb8,
        )
        .expect("PNG encoding to memory cannot fail");
    buf
}

fn jpeg_bytes(img: &RgbImage, quality: u8) -> Vec<u8> {
    let mut buf = Cursor::new(Vec::new());
    JpegEncoder::new_with_quality(&mut buf, quality)
        .encode_image(img)
        .expect("JPEG encoding to memory cannot fail");
    buf.into_inner()
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), String> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    }
    fs::write(path, bytes).map_err(|e| format!("writing {}: {e}", path.display()))?;
    println!("wrote {} ({} bytes)", path.display(), bytes.len());
    Ok(())
}

/// Simulates a screenshot as it gets posted: cropped at the right and
/// bottom, scaled down, then JPEG-compressed.
fn posted_style(img: &RgbImage, keep: f32, scale: f32) -> RgbImage {
    let cw = (img.width() as f32 * keep).round() as u32;
    let ch = (img.height() as f32 * keep).round() as u32;
    let cropped = imageops::crop_imm(img, 0, 0, cw, ch).to_image();
    let nw = (cw as f32 * scale).round() as u32;
    let nh = (ch as f32 * scale).round() as u32;
    imageops::resize(&cropped, nw, nh, FilterType::Lanczos3)
}

struct Args {
    font: PathBuf,
    bold_font: PathBuf,
    out: PathBuf,
}

const USAGE: &str = "usage: make_fixtures --font REGULAR.ttf --bold-font BOLD.ttf --out DIR";

fn parse_args() -> Result<Args, String> {
    let (mut font, mut bold_font, mut out) = (None, None, None);
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let slot = match a.as_str() {
            "--font" => &mut font,
            "--bold-font" => &mut bold_font,
            "--out" => &mut out,
            "-h" | "--help" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        };
        *slot = Some(PathBuf::from(
            it.next()
                .ok_or_else(|| format!("{a} needs a value\n{USAGE}"))?,
        ));
    }
    Ok(Args {
        font: font.ok_or_else(|| format!("--font is required\n{USAGE}"))?,
        bold_font: bold_font.ok_or_else(|| format!("--bold-font is required\n{USAGE}"))?,
        out: out.ok_or_else(|| format!("--out is required\n{USAGE}"))?,
    })
}

fn run() -> Result<(), String> {
    let args = parse_args()?;
    let regular =
        fs::read(&args.font).map_err(|e| format!("reading {}: {e}", args.font.display()))?;
    let bold = fs::read(&args.bold_font)
        .map_err(|e| format!("reading {}: {e}", args.bold_font.display()))?;
    let fonts = Fonts {
        regular: FontRef::try_from_slice(&regular)
            .map_err(|e| format!("{}: {e}", args.font.display()))?,
        bold: FontRef::try_from_slice(&bold)
            .map_err(|e| format!("{}: {e}", args.bold_font.display()))?,
    };
    let out = &args.out;
    let enrol = out.join("enroll").join("fernhill-casedesk");
    // What a monitoring job would meet: the README's main command scans this folder.
    let posted = out.join("posted");

    let fbc = fernhill();
    let dashboard = png_bytes(&render(&fbc, &fernhill_dashboard(), &fonts));
    write(&enrol.join("dashboard.png"), &dashboard)?;
    write(
        &enrol.join("cases.png"),
        &png_bytes(&render(&fbc, &fernhill_cases(), &fonts)),
    )?;

    // Positive: a page that was never enrolled, posted-style (crop ~15% off the
    // right and bottom, 0.7x, JPEG quality 70).
    let reports = render(&fbc, &fernhill_reports(), &fonts);
    write(
        &posted.join("positive-reports-page.jpg"),
        &jpeg_bytes(&posted_style(&reports, 0.85, 0.7), 70),
    )?;

    // Positive: a phone photo of the monitor showing the enrolled dashboard.
    write(
        &posted.join("positive-monitor-photo.jpg"),
        &jpeg_bytes(
            &monitor_photo(&render(&fbc, &fernhill_dashboard(), &fonts)),
            80,
        ),
    )?;

    // Negative: same layout and menu words, different organisation.
    let other = render(&ashcombe(), &ashcombe_dashboard(), &fonts);
    write(
        &posted.join("lookalike-other-org.jpg"),
        &jpeg_bytes(&other, 75),
    )?;

    // Negative: not a screen at all.
    write(
        &posted.join("holiday-photo.jpg"),
        &jpeg_bytes(&holiday_photo(), 80),
    )?;

    // Undecodable: a valid PNG cut off after 300 bytes.
    write(&posted.join("corrupt.png"), &dashboard[..300])?;
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("make_fixtures: {e}");
            ExitCode::from(2)
        }
    }
}
