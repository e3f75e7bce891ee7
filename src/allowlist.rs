//! Allowlist (`scan --ignore FILE`): images an analyst has looked at and cleared, by content
//! hash, so their reposts stop alerting.
//!
//! One entry a line: `<blake3 hex>` clears the image whatever it matched; `<blake3 hex>
//! <template>` clears it only when its best match is that template (a later, different
//! match still alerts). `#` starts a comment; blank lines are skipped. A cleared image is
//! still analysed: its record keeps the evidence, says `clean`, and names the entry.

use std::collections::HashMap;
use std::path::Path;

use serde::Serialize;

use crate::error::AllowlistError;
use crate::report::Record;
use crate::score::Verdict;

/// The entries of an allowlist file, by content hash.
#[derive(Debug, Clone, Default)]
pub struct Allowlist {
    entries: HashMap<[u8; 32], Vec<Entry>>,
}

#[derive(Debug, Clone)]
struct Entry {
    line: usize,
    template: Option<String>,
}

/// Which entry cleared an image, and what the analysis had said.
#[derive(Debug, Clone, Serialize)]
pub struct AllowlistEvidence {
    /// The entry as written (hash, then template if any).
    pub entry: String,
    /// 1-based line of the entry in the allowlist file.
    pub line: usize,
    /// The verdict, confidence and template before the entry cleared it.
    pub verdict: Verdict,
    pub confidence: f64,
    pub template: Option<String>,
}

impl Allowlist {
    /// Reads an allowlist file.
    pub fn load(path: &Path) -> Result<Allowlist, AllowlistError> {
        let text = std::fs::read_to_string(path).map_err(|source| AllowlistError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Allowlist::parse(&text).map_err(|(line, message)| AllowlistError::Parse {
            path: path.to_path_buf(),
            line,
            message,
        })
    }

    /// Parses allowlist text; an error names the 1-based line and what is wrong with it.
    pub fn parse(text: &str) -> Result<Allowlist, (usize, String)> {
        let mut list = Allowlist::default();
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            let content = raw.split('#').next().unwrap_or_default();
            let mut fields = content.split_whitespace();
            let Some(hex) = fields.next() else { continue };
            let hash = parse_hex(hex).ok_or_else(|| {
                (
                    line,
                    format!("{hex:?} is not a BLAKE3 hash (64 hexadecimal digits)"),
                )
            })?;
            let template = fields.next().map(str::to_string);
            if let Some(extra) = fields.next() {
                return Err((
                    line,
                    format!("unexpected {extra:?} after the template name"),
                ));
            }
            list.entries
                .entry(hash)
                .or_default()
                .push(Entry { line, template });
        }
        Ok(list)
    }

    pub fn len(&self) -> usize {
        self.entries.values().map(Vec::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Clears `record` (of an image with content hash `hash`) when an entry covers it: an
    /// entry without a template covers any verdict, one with a template only a `leak` or
    /// `review` match to that template. A `clean` record is left alone.
    pub fn apply(&self, hash: &[u8; 32], record: &mut Record) {
        if record.verdict == Verdict::Clean {
            return;
        }
        let Some(entries) = self.entries.get(hash) else {
            return;
        };
        let Some(entry) = entries
            .iter()
            .find(|e| e.template.is_none() || e.template == record.template)
        else {
            return;
        };
        let cleared = AllowlistEvidence {
            entry: match &entry.template {
                Some(t) => format!("{} {t}", to_hex(hash)),
                None => to_hex(hash),
            },
            line: entry.line,
            verdict: record.verdict,
            confidence: record.confidence,
            template: record.template.clone(),
        };
        if let Some(ev) = record.evidence.as_mut() {
            ev.reason = format!(
                "cleared by allowlist entry (line {}: {}); the analysis said {} ({}, confidence {:.2}): {}",
                cleared.line,
                cleared.entry,
                verdict_name(cleared.verdict),
                cleared.template.as_deref().unwrap_or("no template"),
                cleared.confidence,
                ev.reason
            );
            ev.allowlisted = Some(cleared);
        }
        record.verdict = Verdict::Clean;
        record.leak = false;
        record.template = None;
    }
}

fn verdict_name(v: Verdict) -> &'static str {
    match v {
        Verdict::Leak => "leak",
        Verdict::Review => "review",
        Verdict::Clean => "clean",
    }
}

/// Lower-case hexadecimal of a hash.
pub fn to_hex(hash: &[u8; 32]) -> String {
    hash.iter().map(|b| format!("{b:02x}")).collect()
}

/// A 64-digit hexadecimal hash (either case).
pub fn parse_hex(hex: &str) -> Option<[u8; 32]> {
    if hex.len() != 64 || !hex.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Evidence;

    fn record(verdict: Verdict, template: Option<&str>) -> Record {
        let mut r = Record::failed("x.png".into(), String::new(), Default::default());
        r.error = None;
        r.verdict = verdict;
        r.leak = verdict == Verdict::Leak;
        r.confidence = 0.9;
        r.template = template.map(String::from);
        r.evidence = Some(Evidence::empty("matched".into()));
        r
    }

    #[test]
    fn parses_entries_comments_and_refuses_junk() {
        let a = "ab".repeat(32);
        let b = "CD".repeat(32);
        let text = format!("# cleared by J.\n{a}\n\n{b} fernhill-casedesk  # press release\n");
        let list = Allowlist::parse(&text).unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(Allowlist::parse("abc\n").unwrap_err().0, 1);
        assert_eq!(
            Allowlist::parse(&format!("# x\n{a} t extra\n"))
                .unwrap_err()
                .0,
            2
        );
        assert!(Allowlist::parse(&"zz".repeat(32)).is_err());
    }

    #[test]
    fn a_template_entry_clears_only_that_template() {
        let hash = [7u8; 32];
        let list = Allowlist::parse(&format!("{} sys-a\n", to_hex(&hash))).unwrap();
        let mut other = record(Verdict::Leak, Some("sys-b"));
        list.apply(&hash, &mut other);
        assert_eq!(
            other.verdict,
            Verdict::Leak,
            "another template still alerts"
        );

        let mut same = record(Verdict::Leak, Some("sys-a"));
        list.apply(&hash, &mut same);
        assert_eq!(
            (same.verdict, same.leak, same.template.clone()),
            (Verdict::Clean, false, None)
        );
        let ev = same.evidence.unwrap();
        assert!(
            ev.reason.starts_with("cleared by allowlist entry (line 1"),
            "{}",
            ev.reason
        );
        let cleared = ev.allowlisted.unwrap();
        assert_eq!(cleared.verdict, Verdict::Leak);
        assert_eq!(cleared.template.as_deref(), Some("sys-a"));

        let mut unlisted = record(Verdict::Review, Some("sys-a"));
        list.apply(&[8u8; 32], &mut unlisted);
        assert_eq!(unlisted.verdict, Verdict::Review);
    }

    #[test]
    fn a_hash_entry_clears_any_match() {
        let hash = [1u8; 32];
        let list = Allowlist::parse(&to_hex(&hash)).unwrap();
        let mut r = record(Verdict::Review, Some("sys-b"));
        list.apply(&hash, &mut r);
        assert_eq!(r.verdict, Verdict::Clean);
        assert!(r.evidence.unwrap().allowlisted.is_some());
    }
}
