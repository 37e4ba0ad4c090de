//! The compliance report as a PDF, made by the binary itself with [krilla] and an embedded font
//! (DejaVu Sans, licence in `assets/fonts/LICENSE-DejaVu.txt`): no browser, no external program.
//!
//! Layout comes first, into pages of drawing operations, so that every page's footer can say
//! "page n of N"; then each page is painted with its header and footer (the framework, its
//! edition and the period). Text is measured with the font's own advances: a paragraph wraps
//! at the column's width, a table cell wraps onto at most [`MAX_CELL_LINES`] lines and ends in
//! "…" beyond them, and a table that reaches the bottom of a page goes on over the next one
//! under its repeated header. Charts are bars drawn with the path API.

use krilla::Document;
use krilla::color::rgb;
use krilla::geom::{PathBuilder, Point, Rect};
use krilla::metadata::Metadata;
use krilla::num::NormalizedF32;
use krilla::page::PageSettings;
use krilla::paint::{Fill, FillRule, Stroke};
use krilla::surface::Surface;
use krilla::text::{Font, TextDirection};
use sentinel_api::Timestamp;
use sentinel_api::report::{
    ComplianceReport, ControlStatus, DurationStats, FalsePositiveRow, TrendRow,
};

const REGULAR: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans.ttf");
const BOLD: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans-Bold.ttf");

/// A4 in points.
const PAGE_W: f32 = 595.0;
const PAGE_H: f32 = 842.0;
const MARGIN: f32 = 50.0;
const CONTENT_W: f32 = PAGE_W - 2.0 * MARGIN;
/// Where the body starts and must end; the header and footer live outside.
const TOP: f32 = 72.0;
const BOTTOM: f32 = PAGE_H - 72.0;
/// A table cell longer than this many lines is cut, ending in "…".
pub const MAX_CELL_LINES: usize = 3;
/// Bars in one chart; the tables hold every row.
const MAX_BARS: usize = 10;

const INK: Rgb = (0x1f, 0x29, 0x37);
const MUTED: Rgb = (0x6b, 0x72, 0x80);
const RULE: Rgb = (0xd1, 0xd5, 0xdb);
const SHADE: Rgb = (0xf3, 0xf4, 0xf6);
const ACCENT: Rgb = (0x25, 0x63, 0xeb);
const ACCENT_LIGHT: Rgb = (0xbf, 0xdb, 0xfe);
const GOOD: Rgb = (0x16, 0xa3, 0x4a);
const WARN: Rgb = (0xd9, 0x77, 0x06);
const BAD: Rgb = (0xdc, 0x26, 0x26);

type Rgb = (u8, u8, u8);

/// The PDF could not be made (the embedded font did not load, or krilla refused the document).
#[derive(Debug, thiserror::Error)]
#[error("making the PDF: {0}")]
pub struct PdfError(String);

/// The report as PDF bytes.
pub fn compliance_pdf(r: &ComplianceReport) -> Result<Vec<u8>, PdfError> {
    let metrics = Metrics::new()?;
    let mut l = Layout::new(&metrics);
    cover(&mut l, r);
    l.new_page();
    summary(&mut l, r);
    coverage(&mut l, r);
    incidents(&mut l, r);
    triage(&mut l, r);
    oversight(&mut l, r);
    retention(&mut l, r);
    integrity(&mut l, r);
    paint(r, &metrics, &l.pages)
}

// ---------- text measurement ----------

/// The two faces, parsed once per document, to measure text.
struct Metrics {
    regular: ttf_parser::Face<'static>,
    bold: ttf_parser::Face<'static>,
}

impl Metrics {
    fn new() -> Result<Self, PdfError> {
        let parse = |data: &'static [u8]| {
            ttf_parser::Face::parse(data, 0).map_err(|e| PdfError(format!("embedded font: {e}")))
        };
        Ok(Self {
            regular: parse(REGULAR)?,
            bold: parse(BOLD)?,
        })
    }

    /// The advance of `text` at `size` points (no kerning: a hair wider than drawn, never less).
    fn width(&self, text: &str, size: f32, bold: bool) -> f32 {
        let face = if bold { &self.bold } else { &self.regular };
        let units: f32 = text
            .chars()
            .map(|c| {
                let glyph = face.glyph_index(c).unwrap_or(ttf_parser::GlyphId(0));
                f32::from(face.glyph_hor_advance(glyph).unwrap_or(0))
            })
            .sum();
        units * size / f32::from(face.units_per_em())
    }

    /// `text` broken into lines no wider than `width`, at spaces when it can, inside a word
    /// when a word alone is too wide.
    fn wrap(&self, text: &str, width: f32, size: f32, bold: bool) -> Vec<String> {
        let mut lines = Vec::new();
        for paragraph in text.split('\n') {
            let mut line = String::new();
            for word in paragraph.split_whitespace() {
                let candidate = if line.is_empty() {
                    word.to_owned()
                } else {
                    format!("{line} {word}")
                };
                if self.width(&candidate, size, bold) <= width {
                    line = candidate;
                    continue;
                }
                if !line.is_empty() {
                    lines.push(std::mem::take(&mut line));
                }
                // The word alone: break it wherever it must.
                for c in word.chars() {
                    line.push(c);
                    if self.width(&line, size, bold) > width && line.chars().count() > 1 {
                        line.pop();
                        lines.push(std::mem::take(&mut line));
                        line.push(c);
                    }
                }
            }
            lines.push(line);
        }
        lines
    }

    /// `text` cut to fit `width`, ending in "…" when it was cut.
    fn fit(&self, text: &str, width: f32, size: f32, bold: bool) -> String {
        if self.width(text, size, bold) <= width {
            return text.to_owned();
        }
        let mut s: String = text.to_owned();
        while !s.is_empty() && self.width(&format!("{s}…"), size, bold) > width {
            s.pop();
        }
        format!("{}…", s.trim_end())
    }

    /// A cell's lines: wrapped, at most `max` of them, the last ending in "…" when cut.
    fn cell(&self, text: &str, width: f32, size: f32, bold: bool, max: usize) -> Vec<String> {
        let mut lines = self.wrap(text, width, size, bold);
        if lines.len() > max {
            lines.truncate(max);
            if let Some(last) = lines.pop() {
                // Always mark the cut, even when the kept line had room to spare.
                let marked = self.fit(&format!("{last}…"), width, size, bold);
                lines.push(if marked.ends_with('…') {
                    marked
                } else {
                    format!("{marked}…")
                });
            }
        }
        lines
    }
}

// ---------- layout ----------

/// One drawing operation; `y` grows downwards from the page's top, as in krilla.
enum Op {
    Text {
        x: f32,
        y: f32,
        size: f32,
        bold: bool,
        color: Rgb,
        text: String,
    },
    Rect {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        color: Rgb,
    },
    Line {
        x1: f32,
        y1: f32,
        x2: f32,
        y2: f32,
        width: f32,
        color: Rgb,
    },
}

/// A table column: its header, its share of the width, and whether it holds numbers.
struct Col {
    title: &'static str,
    share: f32,
    right: bool,
}

const fn col(title: &'static str, share: f32) -> Col {
    Col {
        title,
        share,
        right: false,
    }
}

const fn num(title: &'static str, share: f32) -> Col {
    Col {
        title,
        share,
        right: true,
    }
}

struct Layout<'m> {
    m: &'m Metrics,
    pages: Vec<Vec<Op>>,
    y: f32,
}

impl<'m> Layout<'m> {
    fn new(m: &'m Metrics) -> Self {
        Self {
            m,
            pages: vec![Vec::new()],
            y: TOP,
        }
    }

    fn new_page(&mut self) {
        self.pages.push(Vec::new());
        self.y = TOP;
    }

    /// Starts a new page unless `h` more points fit on this one.
    fn room(&mut self, h: f32) {
        if self.y + h > BOTTOM {
            self.new_page();
        }
    }

    fn op(&mut self, op: Op) {
        if let Some(page) = self.pages.last_mut() {
            page.push(op);
        }
    }

    fn text(&mut self, x: f32, y: f32, size: f32, bold: bool, color: Rgb, text: impl Into<String>) {
        self.op(Op::Text {
            x,
            y,
            size,
            bold,
            color,
            text: text.into(),
        });
    }

    fn rect(&mut self, x: f32, y: f32, w: f32, h: f32, color: Rgb) {
        self.op(Op::Rect { x, y, w, h, color });
    }

    fn hline(&mut self, y: f32, color: Rgb) {
        self.op(Op::Line {
            x1: MARGIN,
            y1: y,
            x2: MARGIN + CONTENT_W,
            y2: y,
            width: 0.6,
            color,
        });
    }

    /// A section title, kept with at least `keep` points of what follows.
    fn heading(&mut self, title: &str, keep: f32) {
        self.room(40.0 + keep);
        if self.y > TOP {
            self.y += 14.0;
        }
        self.text(MARGIN, self.y + 15.0, 15.0, true, INK, title);
        self.y += 22.0;
        self.hline(self.y, ACCENT);
        self.y += 10.0;
    }

    fn subheading(&mut self, title: &str, keep: f32) {
        self.room(22.0 + keep);
        self.y += 6.0;
        self.text(MARGIN, self.y + 10.0, 10.5, true, INK, title);
        self.y += 16.0;
    }

    fn paragraph(&mut self, text: &str, size: f32, color: Rgb) {
        let lh = size * 1.4;
        for line in self.m.wrap(text, CONTENT_W, size, false) {
            self.room(lh);
            self.text(MARGIN, self.y + size, size, false, color, line);
            self.y += lh;
        }
        self.y += 4.0;
    }

    /// A coloured box holding a wrapped message (the retention warning, a broken chain).
    fn callout(&mut self, text: &str, color: Rgb) {
        let size = 9.5;
        let lines = self.m.wrap(text, CONTENT_W - 20.0, size, true);
        let h = lines.len() as f32 * size * 1.4 + 12.0;
        self.room(h + 6.0);
        self.rect(MARGIN, self.y, 4.0, h, color);
        for (i, line) in lines.into_iter().enumerate() {
            let y = self.y + 6.0 + size + i as f32 * size * 1.4;
            self.text(MARGIN + 12.0, y, size, true, color, line);
        }
        self.y += h + 8.0;
    }

    /// Label/value pairs in a row of boxes (at most four a row).
    fn figures(&mut self, items: &[(&str, String, Rgb)]) {
        let per_row = 4;
        let gap = 8.0;
        let w = (CONTENT_W - gap * (per_row as f32 - 1.0)) / per_row as f32;
        let h = 46.0;
        for chunk in items.chunks(per_row) {
            self.room(h + gap);
            for (i, (label, value, color)) in chunk.iter().enumerate() {
                let x = MARGIN + i as f32 * (w + gap);
                self.rect(x, self.y, w, h, SHADE);
                self.rect(x, self.y, 3.0, h, *color);
                let label = self.m.fit(label, w - 14.0, 7.5, false);
                self.text(x + 9.0, self.y + 14.0, 7.5, false, MUTED, label);
                let value = self.m.fit(value, w - 14.0, 15.0, true);
                self.text(x + 9.0, self.y + 36.0, 15.0, true, INK, value);
            }
            self.y += h + gap;
        }
    }

    /// A table; each row is as tall as its tallest cell, and a row that does not fit starts a
    /// new page under the header again.
    fn table(&mut self, cols: &[Col], rows: &[Vec<String>]) {
        let size = 7.5;
        let lh = size * 1.35;
        let pad = 4.0;
        let total: f32 = cols.iter().map(|c| c.share).sum();
        let widths: Vec<f32> = cols.iter().map(|c| CONTENT_W * c.share / total).collect();
        let header: Vec<Vec<String>> = cols
            .iter()
            .zip(&widths)
            .map(|(c, w)| self.m.cell(c.title, w - 2.0 * pad, size, true, 2))
            .collect();
        // A key/value table has no header row.
        let has_header = cols.iter().any(|c| !c.title.is_empty());
        let header_h = if has_header {
            header.iter().map(Vec::len).max().unwrap_or(1) as f32 * lh + 2.0 * pad
        } else {
            0.0
        };
        let draw_header = |l: &mut Layout<'_>| {
            if !has_header {
                return;
            }
            l.rect(MARGIN, l.y, CONTENT_W, header_h, SHADE);
            l.draw_row(cols, &widths, &header, size, true, INK);
            l.y += header_h;
            l.hline(l.y, RULE);
        };
        let cells: Vec<Vec<Vec<String>>> = rows
            .iter()
            .map(|row| {
                cols.iter()
                    .zip(&widths)
                    .enumerate()
                    .map(|(i, (_, w))| {
                        let text = row.get(i).map_or("", String::as_str);
                        self.m
                            .cell(text, w - 2.0 * pad, size, false, MAX_CELL_LINES)
                    })
                    .collect()
            })
            .collect();
        let first_h = cells.first().map_or(lh, |c| {
            c.iter().map(Vec::len).max().unwrap_or(1) as f32 * lh
        }) + 2.0 * pad;
        self.room(header_h + first_h);
        draw_header(self);
        if cells.is_empty() {
            self.room(lh + 2.0 * pad);
            self.text(
                MARGIN + pad,
                self.y + pad + size,
                size,
                false,
                MUTED,
                "None.",
            );
            self.y += lh + 2.0 * pad;
        }
        for row in &cells {
            let h = row.iter().map(Vec::len).max().unwrap_or(1) as f32 * lh + 2.0 * pad;
            if self.y + h > BOTTOM {
                self.new_page();
                draw_header(self);
            }
            self.draw_row(cols, &widths, row, size, false, INK);
            self.y += h;
            self.hline(self.y, RULE);
        }
        self.y += 8.0;
    }

    fn draw_row(
        &mut self,
        cols: &[Col],
        widths: &[f32],
        cells: &[Vec<String>],
        size: f32,
        bold: bool,
        color: Rgb,
    ) {
        let lh = size * 1.35;
        let pad = 4.0;
        let mut x = MARGIN;
        for ((c, w), lines) in cols.iter().zip(widths).zip(cells) {
            for (i, line) in lines.iter().enumerate() {
                let tx = if c.right {
                    x + w - pad - self.m.width(line, size, bold)
                } else {
                    x + pad
                };
                let y = self.y + pad + size + i as f32 * lh;
                self.text(tx, y, size, bold, color, line.clone());
            }
            x += w;
        }
    }

    /// Horizontal bars of this period (dark) against the previous one (light), with a scale.
    fn trend_chart(&mut self, rows: &[TrendRow]) {
        let rows: Vec<&TrendRow> = rows.iter().take(MAX_BARS).collect();
        if rows.is_empty() {
            self.paragraph("Nothing to chart in either period.", 8.5, MUTED);
            return;
        }
        let label_w = 130.0;
        let value_w = 70.0;
        let bar_w = CONTENT_W - label_w - value_w;
        let row_h = 18.0;
        let h = rows.len() as f32 * row_h + 26.0;
        self.room(h);
        let max = rows
            .iter()
            .map(|r| r.count.max(r.previous))
            .max()
            .unwrap_or(1)
            .max(1) as f32;
        let x0 = MARGIN + label_w;
        let top = self.y;
        for (i, r) in rows.iter().enumerate() {
            let y = top + i as f32 * row_h;
            let label = self.m.fit(&r.key, label_w - 8.0, 8.0, false);
            self.text(MARGIN, y + 10.0, 8.0, false, INK, label);
            let cur = bar_w * r.count as f32 / max;
            let prev = bar_w * r.previous as f32 / max;
            if cur > 0.0 {
                self.rect(x0, y + 2.0, cur.max(1.0), 8.0, ACCENT);
            }
            if prev > 0.0 {
                self.rect(x0, y + 11.0, prev.max(1.0), 4.0, ACCENT_LIGHT);
            }
            let value = format!("{} ({})", r.count, r.previous);
            self.text(x0 + bar_w + 6.0, y + 10.0, 8.0, false, INK, value);
        }
        let bottom = top + rows.len() as f32 * row_h;
        self.op(Op::Line {
            x1: x0,
            y1: top,
            x2: x0,
            y2: bottom,
            width: 0.8,
            color: MUTED,
        });
        self.rect(x0, bottom + 8.0, 8.0, 6.0, ACCENT);
        self.text(x0 + 12.0, bottom + 14.0, 7.0, false, MUTED, "this period");
        self.rect(x0 + 70.0, bottom + 8.0, 8.0, 6.0, ACCENT_LIGHT);
        self.text(
            x0 + 82.0,
            bottom + 14.0,
            7.0,
            false,
            MUTED,
            "previous period (count in brackets)",
        );
        self.y = bottom + 26.0;
    }

    /// One bar split into coloured parts in proportion, with a legend under it.
    fn stacked_bar(&mut self, parts: &[(&str, u64, Rgb)]) {
        let total: u64 = parts.iter().map(|p| p.1).sum();
        self.room(40.0);
        let mut x = MARGIN;
        if total == 0 {
            self.rect(MARGIN, self.y, CONTENT_W, 14.0, SHADE);
        } else {
            for (_, n, color) in parts {
                let w = CONTENT_W * *n as f32 / total as f32;
                if w > 0.0 {
                    self.rect(x, self.y, w, 14.0, *color);
                }
                x += w;
            }
        }
        self.y += 24.0;
        let mut x = MARGIN;
        for (label, n, color) in parts {
            self.rect(x, self.y - 6.0, 8.0, 6.0, *color);
            let text = format!("{label}: {n}");
            let w = self.m.width(&text, 8.0, false);
            self.text(x + 12.0, self.y, 8.0, false, INK, text);
            x += w + 28.0;
        }
        self.y += 12.0;
    }
}

// ---------- formatting ----------

/// A time as the report prints it on every page: `2026-06-01 00:00:00 UTC`.
pub fn when(t: Timestamp) -> String {
    t.0.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// The line on every page that names the period.
pub fn period_line(r: &ComplianceReport) -> String {
    format!(
        "Period {} to {}",
        when(r.period.since),
        when(r.period.until)
    )
}

fn pct(v: Option<f64>) -> String {
    v.map_or("—".to_owned(), |p| format!("{p:+.1}%"))
}

fn rate(v: Option<f64>) -> String {
    v.map_or("—".to_owned(), |p| format!("{:.1}%", p * 100.0))
}

fn duration(seconds: Option<f64>) -> String {
    let Some(s) = seconds else {
        return "—".to_owned();
    };
    let s = s.max(0.0).round() as u64;
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min {} s", s / 60, s % 60),
        3600..86_400 => format!("{} h {} min", s / 3600, s % 3600 / 60),
        _ => format!("{} d {} h", s / 86_400, s % 86_400 / 3600),
    }
}

fn status(s: ControlStatus) -> &'static str {
    match s {
        ControlStatus::Covered => "covered",
        ControlStatus::ShadowOnly => "shadow only",
        ControlStatus::Gap => "gap",
    }
}

fn names(p: &[sentinel_api::report::PolicyRef]) -> String {
    if p.is_empty() {
        "—".to_owned()
    } else {
        p.iter()
            .map(|p| p.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

// ---------- sections ----------

fn cover(l: &mut Layout<'_>, r: &ComplianceReport) {
    l.rect(0.0, 0.0, PAGE_W, 250.0, INK);
    l.text(MARGIN, 96.0, 11.0, true, ACCENT_LIGHT, "SENTINEL");
    l.text(
        MARGIN,
        140.0,
        28.0,
        true,
        (255, 255, 255),
        "Compliance report",
    );
    let name = l.m.wrap(&r.framework.name, CONTENT_W, 15.0, false);
    let mut y = 172.0;
    for line in name.iter().take(2) {
        l.text(MARGIN, y, 15.0, false, (255, 255, 255), line.clone());
        y += 20.0;
    }
    let edition = format!("Edition {} ({})", r.framework.edition, r.framework.id);
    l.text(MARGIN, y + 4.0, 11.0, false, ACCENT_LIGHT, edition);

    l.y = 290.0;
    let rows = vec![
        vec![
            "Period".to_owned(),
            format!("{} to {}", when(r.period.since), when(r.period.until)),
        ],
        vec![
            "Compared with".to_owned(),
            format!(
                "{} to {}",
                when(r.previous_period.since),
                when(r.previous_period.until)
            ),
        ],
        vec!["Generated".to_owned(), when(r.generated_at)],
    ];
    l.table(&[col("", 1.0), col("", 3.0)], &rows);

    let total = r.coverage.controls.len() as u64;
    l.y += 10.0;
    l.figures(&[
        (
            "Controls covered",
            format!("{} of {}", r.coverage.covered, total),
            if r.coverage.gaps.is_empty() {
                GOOD
            } else {
                WARN
            },
        ),
        (
            "Incidents",
            r.incidents.total.to_string(),
            if r.incidents.total == 0 { GOOD } else { WARN },
        ),
        (
            "Audit chain",
            if r.integrity.intact {
                "intact"
            } else {
                "BROKEN"
            }
            .to_owned(),
            if r.integrity.intact { GOOD } else { BAD },
        ),
        (
            "Retention",
            if r.retention.compliant {
                "compliant"
            } else {
                "too short"
            }
            .to_owned(),
            if r.retention.compliant { GOOD } else { BAD },
        ),
    ]);
    l.y += 20.0;
    l.paragraph(
        "This report is generated by Sentinel from its own records: the policies and their \
         enforcement, the violations and their triage, the event counters and the hash-chained \
         audit trail. The same figures are available as JSON, as CSV, and in an evidence bundle \
         that can be verified against the live audit chain (sentinel report verify).",
        9.0,
        MUTED,
    );
}

fn summary(l: &mut Layout<'_>, r: &ComplianceReport) {
    l.heading("Summary", 60.0);
    let i = &r.incidents;
    let t = &r.triage;
    l.figures(&[
        ("Incidents (enforced)", i.total.to_string(), ACCENT),
        ("Change vs previous", pct(i.change_pct), ACCENT),
        ("Events", i.events.to_string(), ACCENT),
        ("Shadow hits", i.shadow_hits.to_string(), ACCENT),
        ("Violations open", t.open.to_string(), WARN),
        (
            "Median time to acknowledge",
            duration(t.time_to_acknowledge.median_seconds),
            ACCENT,
        ),
        (
            "Median time to resolve",
            duration(t.time_to_resolve.median_seconds),
            ACCENT,
        ),
        ("Triage actions", r.oversight.actions.to_string(), ACCENT),
    ]);
    if let Some(w) = &r.retention.warning {
        l.callout(&format!("Retention: {w}"), BAD);
    }
    if !r.integrity.intact {
        l.callout(
            &format!(
                "The audit chain does not verify (entry {}): {}",
                r.integrity.first_bad_id.unwrap_or_default(),
                r.integrity.reason.as_deref().unwrap_or("broken")
            ),
            BAD,
        );
    }
    l.subheading("Control coverage", 40.0);
    let count =
        |s: ControlStatus| r.coverage.controls.iter().filter(|c| c.status == s).count() as u64;
    l.stacked_bar(&[
        ("covered", count(ControlStatus::Covered), GOOD),
        ("shadow only", count(ControlStatus::ShadowOnly), WARN),
        ("gap", count(ControlStatus::Gap), BAD),
    ]);
    if r.coverage.gaps.is_empty() {
        l.paragraph("Every control is covered.", 9.0, INK);
    } else {
        l.paragraph(
            &format!("Not covered: {}.", r.coverage.gaps.join(", ")),
            9.0,
            INK,
        );
    }
    l.subheading("Incidents by category", 60.0);
    l.trend_chart(&i.by_category);
}

fn coverage(l: &mut Layout<'_>, r: &ComplianceReport) {
    l.heading("Coverage", 60.0);
    l.paragraph(
        "Each control, the open policies that address it (enforced, or in shadow mode and so \
         never acted on), and the report sections it needs as evidence.",
        8.5,
        MUTED,
    );
    let rows: Vec<Vec<String>> = r
        .coverage
        .controls
        .iter()
        .map(|c| {
            let evidence = c
                .evidence
                .iter()
                .map(|e| format!("{} {}", e.kind, if e.passed { "✓" } else { "✗" }))
                .collect::<Vec<_>>()
                .join(", ");
            let mut notes = evidence;
            if let Some(note) = &c.note {
                if !notes.is_empty() {
                    notes.push_str("; ");
                }
                notes.push_str(note);
            }
            vec![
                c.id.clone(),
                c.title.clone(),
                status(c.status).to_owned(),
                names(&c.enforced_policies),
                names(&c.shadow_policies),
                if notes.is_empty() {
                    "—".to_owned()
                } else {
                    notes
                },
            ]
        })
        .collect();
    l.table(
        &[
            col("Control", 0.9),
            col("Title", 2.0),
            col("Status", 0.8),
            col("Enforced policies", 1.6),
            col("Shadow policies", 1.3),
            col("Evidence and notes", 2.2),
        ],
        &rows,
    );
}

fn trend_rows(rows: &[TrendRow]) -> Vec<Vec<String>> {
    rows.iter()
        .map(|t| {
            vec![
                t.key.clone(),
                t.count.to_string(),
                t.previous.to_string(),
                pct(t.change_pct),
            ]
        })
        .collect()
}

const TREND_COLS: [Col; 4] = [
    col("", 3.0),
    num("This period", 1.0),
    num("Previous", 1.0),
    num("Change", 1.0),
];

fn trend_table(l: &mut Layout<'_>, key: &'static str, rows: &[TrendRow]) {
    let [_, a, b, c] = TREND_COLS;
    l.table(&[col(key, 3.0), a, b, c], &trend_rows(rows));
}

fn incidents(l: &mut Layout<'_>, r: &ComplianceReport) {
    let i = &r.incidents;
    l.heading("Incidents", 60.0);
    l.paragraph(
        &format!(
            "{} violations of enforced policies in the period against {} in the previous one \
             ({}); {} events against {}. Shadow policies matched {} times (never acted on).",
            i.total,
            i.previous_total,
            pct(i.change_pct),
            i.events,
            i.previous_events,
            i.shadow_hits
        ),
        9.0,
        INK,
    );
    l.subheading("By severity", 60.0);
    l.trend_chart(&i.by_severity);
    l.subheading("By category", 40.0);
    trend_table(l, "Category", &i.by_category);
    l.subheading("By severity", 40.0);
    trend_table(l, "Severity", &i.by_severity);
    l.subheading("By application", 40.0);
    trend_table(l, "Application", &i.by_app);
    l.subheading("By model", 40.0);
    trend_table(l, "Model", &i.by_model);
}

fn duration_row(name: &str, d: &DurationStats) -> Vec<String> {
    vec![
        name.to_owned(),
        d.count.to_string(),
        duration(d.median_seconds),
        duration(d.p90_seconds),
    ]
}

fn fp_rows(rows: &[FalsePositiveRow]) -> Vec<Vec<String>> {
    rows.iter()
        .map(|f| {
            vec![
                f.name.clone(),
                f.violations.to_string(),
                f.triaged.to_string(),
                f.false_positives.to_string(),
                rate(f.false_positive_rate),
            ]
        })
        .collect()
}

fn triage(l: &mut Layout<'_>, r: &ComplianceReport) {
    let t = &r.triage;
    l.heading("Triage performance", 80.0);
    l.paragraph(
        &format!(
            "{} violations in the period: {} open, {} acknowledged, {} resolved, {} closed as \
             false positives.",
            t.violations, t.open, t.acknowledged, t.resolved, t.false_positives
        ),
        9.0,
        INK,
    );
    l.stacked_bar(&[
        ("open", t.open, WARN),
        ("acknowledged", t.acknowledged, ACCENT),
        ("resolved", t.resolved, GOOD),
        ("false positive", t.false_positives, MUTED),
    ]);
    l.table(
        &[
            col("Measure", 2.0),
            num("Count", 1.0),
            num("Median", 1.2),
            num("90th percentile", 1.2),
        ],
        &[
            duration_row("Time to acknowledge", &t.time_to_acknowledge),
            duration_row("Time to resolve", &t.time_to_resolve),
        ],
    );
    let fp_cols = |key: &'static str| {
        [
            col(key, 3.0),
            num("Violations", 1.0),
            num("Closed", 1.0),
            num("False positives", 1.0),
            num("Rate", 1.0),
        ]
    };
    l.subheading("False-positive rate by policy", 40.0);
    l.table(&fp_cols("Policy"), &fp_rows(&t.by_policy));
    l.subheading("False-positive rate by detector", 40.0);
    l.table(&fp_cols("Detector"), &fp_rows(&t.by_detector));
}

fn oversight(l: &mut Layout<'_>, r: &ComplianceReport) {
    let o = &r.oversight;
    l.heading("Human oversight", 60.0);
    l.paragraph(
        &format!(
            "{} triage changes were recorded in the audit trail in the period; {} of the \
             period's {} violations carry the name of the person who acknowledged them.",
            o.actions, o.violations_with_reviewer, o.violations
        ),
        9.0,
        INK,
    );
    let rows: Vec<Vec<String>> = o
        .reviewers
        .iter()
        .map(|a| {
            vec![
                a.actor.clone(),
                a.actions.to_string(),
                a.violations.to_string(),
                a.events.to_string(),
                a.acknowledged.to_string(),
                a.resolved.to_string(),
                a.false_positives.to_string(),
                duration(a.median_response_seconds),
            ]
        })
        .collect();
    l.table(
        &[
            col("Reviewer", 2.2),
            num("Changes", 1.0),
            num("Violations", 1.0),
            num("Events", 0.9),
            num("Acknowl.", 1.0),
            num("Resolved", 1.0),
            num("False pos.", 1.0),
            num("Median response", 1.4),
        ],
        &rows,
    );
}

fn retention(l: &mut Layout<'_>, r: &ComplianceReport) {
    let ret = &r.retention;
    l.heading("Retention", 60.0);
    if let Some(w) = &ret.warning {
        l.callout(w, BAD);
    }
    l.table(
        &[col("", 1.0), col("", 2.0)],
        &[
            vec![
                "Retention setting".to_owned(),
                ret.retention_days
                    .map_or("unset (events are kept)".to_owned(), |d| {
                        format!("{d} days")
                    }),
            ],
            vec![
                "Required (six months)".to_owned(),
                format!("{} days", ret.required_days),
            ],
            vec![
                "Compliant".to_owned(),
                if ret.compliant { "yes" } else { "no" }.to_owned(),
            ],
            vec![
                "Oldest stored event".to_owned(),
                ret.oldest_event.map_or("—".to_owned(), when),
            ],
        ],
    );
}

fn integrity(l: &mut Layout<'_>, r: &ComplianceReport) {
    let i = &r.integrity;
    l.heading("Integrity", 60.0);
    if !i.intact {
        l.callout("The audit chain does not verify.", BAD);
    }
    l.table(
        &[col("", 1.0), col("", 3.0)],
        &[
            vec![
                "Audit chain".to_owned(),
                if i.intact { "intact" } else { "BROKEN" }.to_owned(),
            ],
            vec!["Entries checked".to_owned(), i.entries.to_string()],
            vec!["Head entry".to_owned(), i.head_id.to_string()],
            vec!["Head hash".to_owned(), i.head_hash.clone()],
            vec![
                "First bad entry".to_owned(),
                i.first_bad_id.map_or("—".to_owned(), |b| b.to_string()),
            ],
            vec![
                "Reason".to_owned(),
                i.reason.clone().unwrap_or_else(|| "—".to_owned()),
            ],
        ],
    );
    l.paragraph(
        "Keep the head hash with the recipient of this report: an auditor can check it against \
         the live chain (sentinel audit verify, sentinel report verify --data-dir).",
        8.5,
        MUTED,
    );
}

// ---------- painting ----------

fn paint(r: &ComplianceReport, m: &Metrics, pages: &[Vec<Op>]) -> Result<Vec<u8>, PdfError> {
    let regular = Font::new(REGULAR.into(), 0).ok_or_else(|| PdfError("regular font".into()))?;
    let bold = Font::new(BOLD.into(), 0).ok_or_else(|| PdfError("bold font".into()))?;
    let settings =
        PageSettings::from_wh(PAGE_W, PAGE_H).ok_or_else(|| PdfError("page size".into()))?;
    let mut doc = Document::new();
    doc.set_metadata(
        Metadata::new()
            .title(format!(
                "Compliance report: {} ({}), {}",
                r.framework.name,
                r.framework.edition,
                period_line(r)
            ))
            .creator("Sentinel".to_owned())
            .producer(format!("Sentinel {}", crate::VERSION)),
    );
    let n = pages.len();
    let period = period_line(r);
    for (i, ops) in pages.iter().enumerate() {
        let mut page = doc.start_page_with(settings.clone());
        let mut surface = page.surface();
        let furniture = furniture(
            m,
            &r.framework.name,
            &r.framework.edition,
            &period,
            i + 1,
            n,
            i == 0,
        );
        for op in ops.iter().chain(&furniture) {
            draw(&mut surface, op, &regular, &bold);
        }
        surface.finish();
        page.finish();
    }
    doc.finish().map_err(|e| PdfError(e.to_string()))
}

/// Header and footer: on every page the framework with its edition, the period and the page
/// number.
fn furniture(
    m: &Metrics,
    name: &str,
    edition: &str,
    period: &str,
    page: usize,
    pages: usize,
    cover: bool,
) -> Vec<Op> {
    let mut ops = Vec::new();
    let text = |x: f32, y: f32, text: String| Op::Text {
        x,
        y,
        size: 7.5,
        bold: false,
        color: MUTED,
        text,
    };
    if !cover {
        ops.push(text(MARGIN, 40.0, "Sentinel compliance report".to_owned()));
        let t = m.fit(period, CONTENT_W * 0.6, 7.5, false);
        let w = m.width(&t, 7.5, false);
        ops.push(text(MARGIN + CONTENT_W - w, 40.0, t));
        ops.push(Op::Line {
            x1: MARGIN,
            y1: 48.0,
            x2: MARGIN + CONTENT_W,
            y2: 48.0,
            width: 0.5,
            color: RULE,
        });
    }
    ops.push(Op::Line {
        x1: MARGIN,
        y1: PAGE_H - 58.0,
        x2: MARGIN + CONTENT_W,
        y2: PAGE_H - 58.0,
        width: 0.5,
        color: RULE,
    });
    let number = format!("Page {page} of {pages}");
    let nw = m.width(&number, 7.5, false);
    // The edition must survive: when the line is too long, the framework's name is cut.
    let suffix = format!(" · edition {edition}");
    let room = CONTENT_W - nw - 20.0 - m.width(&suffix, 7.5, false);
    let framework = format!("{}{suffix}", m.fit(name, room, 7.5, false));
    ops.push(text(MARGIN, PAGE_H - 44.0, framework));
    ops.push(text(MARGIN, PAGE_H - 33.0, period.to_owned()));
    ops.push(text(MARGIN + CONTENT_W - nw, PAGE_H - 44.0, number));
    ops
}

fn draw(surface: &mut Surface<'_>, op: &Op, regular: &Font, bold: &Font) {
    let fill = |c: Rgb| Fill {
        paint: rgb::Color::new(c.0, c.1, c.2).into(),
        opacity: NormalizedF32::ONE,
        rule: FillRule::NonZero,
    };
    match op {
        Op::Text {
            x,
            y,
            size,
            bold: b,
            color,
            text,
        } => {
            surface.set_stroke(None);
            surface.set_fill(Some(fill(*color)));
            let font = if *b { bold } else { regular };
            surface.draw_text(
                Point::from_xy(*x, *y),
                font.clone(),
                *size,
                text,
                false,
                TextDirection::Auto,
            );
        }
        Op::Rect { x, y, w, h, color } => {
            if let Some(rect) = Rect::from_xywh(*x, *y, *w, *h) {
                let mut pb = PathBuilder::new();
                pb.push_rect(rect);
                if let Some(path) = pb.finish() {
                    surface.set_stroke(None);
                    surface.set_fill(Some(fill(*color)));
                    surface.draw_path(&path);
                }
            }
        }
        Op::Line {
            x1,
            y1,
            x2,
            y2,
            width,
            color,
        } => {
            let mut pb = PathBuilder::new();
            pb.move_to(*x1, *y1);
            pb.line_to(*x2, *y2);
            if let Some(path) = pb.finish() {
                surface.set_fill(None);
                surface.set_stroke(Some(Stroke {
                    paint: rgb::Color::new(color.0, color.1, color.2).into(),
                    width: *width,
                    ..Stroke::default()
                }));
                surface.draw_path(&path);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapped_lines_fit_and_keep_every_word() {
        let m = Metrics::new().unwrap();
        let text = "The audit chain's head hash is kept with the recipient of the report, so \
                    that a forged bundle can be told apart from the real one.";
        let lines = m.wrap(text, 120.0, 9.0, false);
        assert!(lines.len() > 3, "{lines:?}");
        for line in &lines {
            assert!(m.width(line, 9.0, false) <= 120.0, "{line}");
        }
        assert_eq!(lines.join(" "), text);
    }

    #[test]
    fn a_word_wider_than_the_column_is_broken_inside() {
        let m = Metrics::new().unwrap();
        let word = "x".repeat(200);
        let lines = m.wrap(&word, 50.0, 8.0, true);
        assert!(lines.len() > 1);
        assert!(lines.iter().all(|l| m.width(l, 8.0, true) <= 50.0));
        assert_eq!(lines.concat(), word);
    }

    #[test]
    fn a_long_cell_is_cut_with_an_ellipsis() {
        let m = Metrics::new().unwrap();
        let text = "word ".repeat(100);
        let lines = m.cell(&text, 60.0, 7.5, false, MAX_CELL_LINES);
        assert_eq!(lines.len(), MAX_CELL_LINES);
        let last = lines.last().unwrap();
        assert!(last.ends_with('…'), "{last}");
        assert!(m.width(last, 7.5, false) <= 60.0, "{last}");
        // A short cell is left alone.
        assert_eq!(m.cell("ok", 60.0, 7.5, false, 3), vec!["ok".to_owned()]);
    }

    #[test]
    fn fit_cuts_only_what_does_not_fit() {
        let m = Metrics::new().unwrap();
        assert_eq!(m.fit("short", 100.0, 8.0, false), "short");
        let cut = m.fit(&"long ".repeat(40), 100.0, 8.0, false);
        assert!(
            cut.ends_with('…') && m.width(&cut, 8.0, false) <= 100.0,
            "{cut}"
        );
    }
}
