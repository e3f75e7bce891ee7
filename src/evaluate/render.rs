//! The plain-text report: tables of the figures [`super::Report`] holds.

use std::fmt;

use super::{Fraction, GroupRow, ImageRow, Report};
use crate::score::Verdict;

/// A plain-text table: first column left-aligned, the rest right-aligned.
pub(super) fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(i, (cell, &w))| match i {
                0 => format!("{cell:<w$}"),
                _ => format!("{cell:>w$}"),
            })
            .collect();
        format!("  {}\n", padded.join("  ").trim_end())
    };
    let mut out = line(headers.to_vec());
    for row in rows {
        out += &line(row.iter().map(String::as_str).collect());
    }
    out
}

/// The verdict as written in records.
fn verdict_name(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Leak => "leak",
        Verdict::Review => "review",
        Verdict::Clean => "clean",
    }
}

fn opt<T: fmt::Display>(value: Option<T>) -> String {
    value.map_or_else(|| "-".to_owned(), |v| v.to_string())
}

fn opt_f(value: Option<f64>, decimals: usize) -> String {
    value.map_or_else(|| "-".to_owned(), |v| format!("{v:.decimals$}"))
}

/// Flag count as `k/n`, or `-` for an empty group.
pub(super) fn count(f: &Fraction) -> String {
    if f.n == 0 {
        "-".to_owned()
    } else {
        format!("{}/{}", f.hits, f.n)
    }
}

/// Threshold as `> x`: the value the positives must beat (the last excluded negative).
fn threshold_text(threshold: Option<f64>) -> String {
    match threshold {
        Some(t) if t.is_finite() => format!("> {:.4}", t.next_down()),
        Some(_) => "any".to_owned(),
        None => "-".to_owned(),
    }
}

fn image_rows(rows: &[ImageRow], with_positive_columns: bool) -> String {
    let body: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let mut cells = vec![
                r.file.clone(),
                r.kind.clone(),
                format!("{:.4}", r.confidence),
                opt(r.verdict.map(verdict_name)),
                opt(r.template.as_deref()),
                opt(r.system.as_deref()),
                opt(r.page.as_deref()),
                r.transforms.join(","),
            ];
            if with_positive_columns {
                cells.push(opt(r.org_evidence));
            }
            cells.push(opt(r.error.as_deref()));
            cells
        })
        .collect();
    let mut headers = vec![
        "file",
        "kind",
        "conf",
        "verdict",
        "template",
        "system",
        "page",
        "transforms",
    ];
    if with_positive_columns {
        headers.push("org_ev");
    }
    headers.push("error");
    table(&headers, &body)
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.counts;
        writeln!(
            f,
            "images {}  positives {}  negatives {}  errors {}  missing records {}  unmatched records {}",
            c.images, c.positives, c.negatives, c.errors, c.missing, c.unmatched_records
        )?;
        if c.relabelled > 0 {
            writeln!(
                f,
                "({} images of extra-enrolled systems counted as leaks)",
                c.relabelled
            )?;
        }
        writeln!(f, "ROC-AUC {}", opt_f(self.roc_auc, 4))?;

        writeln!(f, "\nOperating points")?;
        let rows: Vec<Vec<String>> = self
            .operating_points
            .iter()
            .map(|p| {
                vec![
                    p.name.clone(),
                    p.recall.to_string(),
                    threshold_text(p.threshold),
                    p.false_positives.to_string(),
                ]
            })
            .collect();
        f.write_str(&table(&["rule", "recall", "threshold", "FPR"], &rows))?;

        let a = &self.attribution;
        writeln!(f, "\nAttribution (template == system)")?;
        writeln!(f, "  positives with verdict leak:    {}", a.at_verdict_leak)?;
        writeln!(
            f,
            "  positives above 1%-FPR thresh.: {}",
            opt(a.at_fpr_threshold)
        )?;

        let group_table = |rows: &[GroupRow], first: &str, negatives: bool| {
            let body: Vec<Vec<String>> = rows
                .iter()
                .map(|r| {
                    let mut cells = vec![
                        r.group.clone(),
                        r.recall_leak.n.to_string(),
                        opt(r.recall_at_fpr_threshold),
                        r.recall_leak.to_string(),
                        r.recall_leak_or_review.to_string(),
                    ];
                    if negatives {
                        cells.extend([
                            r.negatives_leak.n.to_string(),
                            count(&r.negatives_leak),
                            count(&r.negatives_review),
                        ]);
                    }
                    cells
                })
                .collect();
            let mut headers = vec![first, "pos", "recall@1%FPR", "leak", "leak|review"];
            if negatives {
                headers.extend(["neg", "neg leak", "neg review"]);
            }
            table(&headers, &body)
        };
        writeln!(f, "\nBy transform")?;
        f.write_str(&group_table(&self.by_transform, "transform", true))?;
        writeln!(f, "\nBy kind")?;
        f.write_str(&group_table(&self.by_kind, "kind", true))?;
        writeln!(f, "\nPositives by organisation evidence")?;
        f.write_str(&group_table(&self.by_org_evidence, "group", false))?;
        writeln!(f, "\nPositives by page")?;
        f.write_str(&group_table(&self.by_enrolled_page, "group", false))?;

        writeln!(
            f,
            "\nFalse positives (negatives with verdict leak): {}",
            self.false_positives.len()
        )?;
        if !self.false_positives.is_empty() {
            f.write_str(&image_rows(&self.false_positives, false))?;
        }
        writeln!(f, "\nHighest-confidence negatives")?;
        f.write_str(&image_rows(&self.top_negatives, false))?;
        writeln!(
            f,
            "\nMisses (positives below the 1%-FPR threshold): {}",
            self.misses.len()
        )?;
        if !self.misses.is_empty() {
            f.write_str(&image_rows(&self.misses, true))?;
        }

        if !self.features.is_empty() {
            writeln!(f, "\nEvidence features")?;
            let rows: Vec<Vec<String>> = self
                .features
                .iter()
                .map(|r| {
                    vec![
                        r.name.clone(),
                        r.positives.to_string(),
                        opt_f(r.mean_positive, 4),
                        r.negatives.to_string(),
                        opt_f(r.mean_negative, 4),
                        opt_f(r.auc, 3),
                    ]
                })
                .collect();
            f.write_str(&table(
                &["feature", "pos", "mean pos", "neg", "mean neg", "AUC"],
                &rows,
            ))?;
        }

        writeln!(f, "\nPre-OCR gate (clean without OCR)")?;
        let rows: Vec<Vec<String>> = self
            .gated_by_kind
            .iter()
            .map(|(k, n, g)| vec![k.clone(), n.to_string(), g.to_string()])
            .collect();
        f.write_str(&table(&["kind", "images", "gated"], &rows))?;
        if self.gated_positives.is_empty() {
            writeln!(f, "  positives gated: 0")?;
        } else {
            writeln!(
                f,
                "  POSITIVES GATED ({}): {}",
                self.gated_positives.len(),
                self.gated_positives.join(" ")
            )?;
        }

        let t = &self.throughput;
        writeln!(f, "\nThroughput")?;
        match (t.scan_seconds, t.images_per_second) {
            (Some(s), Some(ips)) => writeln!(f, "  scan wall clock {s:.1} s, {ips:.2} images/s")?,
            _ => writeln!(f, "  scan not timed (records reused)")?,
        }
        let rows: Vec<Vec<String>> = t
            .stages
            .iter()
            .map(|s| {
                vec![
                    s.stage.clone(),
                    s.records.to_string(),
                    format!("{:.1}", s.mean_ms),
                ]
            })
            .collect();
        f.write_str(&table(&["stage", "records", "mean ms"], &rows))?;
        writeln!(f, "  ocr share of total: {}", opt_f(t.ocr_share, 3))
    }
}
