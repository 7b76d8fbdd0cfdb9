//! Normalised text with a way back to the document's offsets, and numbers
//! as documents write them.

use std::sync::OnceLock;

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::canonical_combining_class;

use super::Document;

/// Text in lower case, NFC, with runs of whitespace as one space; each
/// character remembers the span of document characters it came from.
pub struct Normalized {
    pub(super) chars: Vec<char>,
    /// Per normalised character: `[start, end)` in the source characters.
    pub(super) spans: Vec<(usize, usize)>,
}

impl Normalized {
    /// Normalises `chars`. A base character and the combining marks after
    /// it are composed together, so `e` + U+0301 matches `é`.
    pub fn of(chars: &[char]) -> Self {
        let mut out = Normalized {
            chars: Vec::with_capacity(chars.len()),
            spans: Vec::with_capacity(chars.len()),
        };
        let mut i = 0;
        while i < chars.len() {
            if chars[i].is_whitespace() {
                let start = i;
                while i < chars.len() && chars[i].is_whitespace() {
                    i += 1;
                }
                out.chars.push(' ');
                out.spans.push((start, i));
                continue;
            }
            let start = i;
            i += 1;
            while i < chars.len() && canonical_combining_class(chars[i]) != 0 {
                i += 1;
            }
            let cluster: String = chars[start..i].iter().collect();
            for c in cluster.nfc().flat_map(char::to_lowercase) {
                out.chars.push(c);
                out.spans.push((start, i));
            }
        }
        out
    }

    /// Normalises a value, without leading or trailing whitespace.
    pub fn of_str(s: &str) -> Self {
        let chars: Vec<char> = s.trim().chars().collect();
        Self::of(&chars)
    }

    /// Source span of the first occurrence of `needle`.
    pub fn find(&self, needle: &Normalized) -> Option<(usize, usize)> {
        let n = needle.chars.len();
        if n == 0 || n > self.chars.len() {
            return None;
        }
        let at = self
            .chars
            .windows(n)
            .position(|w| w == needle.chars.as_slice())?;
        Some(self.source(at, at + n))
    }

    /// The source span of normalised characters `[a, b)`.
    pub(super) fn source(&self, a: usize, b: usize) -> (usize, usize) {
        (self.spans[a].0, self.spans[b - 1].1)
    }
}

/// Numbers as documents write them: `1,250.00`, `1.250,00`, `1 250`, `-3`.
fn number_tokens() -> &'static regex::Regex {
    static RE: OnceLock<regex::Regex> = OnceLock::new();
    RE.get_or_init(|| {
        regex::Regex::new(r"-?\d{1,3}(?:[,.' \u{a0}]\d{3})+(?:[.,]\d+)?|-?\d+(?:[.,]\d+)?")
            .unwrap_or_else(|e| unreachable!("a fixed pattern: {e}"))
    })
}

/// Character span of a number token of the document written exactly as
/// `written` (not part of a longer number).
pub(super) fn find_number_exact(doc: &Document, written: &str) -> Option<(usize, usize)> {
    number_tokens()
        .find_iter(&doc.text)
        .find(|m| m.as_str() == written)
        .map(|m| char_span(doc, m.start(), m.end()))
}

/// Character span of a number token of the document whose value, under
/// some reading of its separators, is the number `s`.
pub(super) fn find_number(doc: &Document, s: &str) -> Option<(usize, usize)> {
    let target: f64 = s.trim().parse().ok()?;
    number_tokens()
        .find_iter(&doc.text)
        .find(|m| readings(m.as_str()).any(|v| same(v, target)))
        .map(|m| char_span(doc, m.start(), m.end()))
}

fn same(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

/// The values a number token may mean: the last `.` or `,` as the decimal
/// mark (the others grouping digits), or every mark grouping digits.
fn readings(token: &str) -> impl Iterator<Item = f64> {
    let digits_only = |s: &str| -> String {
        s.chars()
            .filter(|c| c.is_ascii_digit() || *c == '-')
            .collect()
    };
    let mut out = Vec::new();
    if let Ok(v) = digits_only(token).parse() {
        out.push(v);
    }
    if let Some(i) = token.rfind(['.', ',']) {
        let (int, frac) = token.split_at(i);
        if let Ok(v) = format!("{}.{}", digits_only(int), &frac[1..]).parse() {
            out.push(v);
        }
    }
    out.into_iter()
}

/// Character offsets of the byte span `[a, b)` of the document.
pub(super) fn char_span(doc: &Document, a: usize, b: usize) -> (usize, usize) {
    let start = doc.text[..a].chars().count();
    (start, start + doc.text[a..b].chars().count())
}
