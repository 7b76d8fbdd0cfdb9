//! ISO dates found where the document writes them another way.

use std::sync::OnceLock;

use super::Document;
use super::text::char_span;

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];

fn patterns() -> &'static [regex::Regex; 4] {
    static RE: OnceLock<[regex::Regex; 4]> = OnceLock::new();
    RE.get_or_init(|| {
        let month = r"(jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?";
        [
            r"\b(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4}|\d{2})\b".to_owned(),
            r"\b(\d{4})[/.\-](\d{1,2})[/.\-](\d{1,2})\b".to_owned(),
            format!(r"(?i)\b(\d{{1,2}})(?:st|nd|rd|th)?[ \-]+{month}[ ,\-]+(\d{{4}})\b"),
            format!(r"(?i)\b{month}[ ]+(\d{{1,2}})(?:st|nd|rd|th)?,?[ ]+(\d{{4}})\b"),
        ]
        .map(|p| regex::Regex::new(&p).unwrap_or_else(|e| unreachable!("a fixed pattern: {e}")))
    })
}

/// `(year, month, day)` of an ISO date (`2019-01-15`, or the date of a
/// date-time).
fn iso(s: &str) -> Option<(u32, u32, u32)> {
    let s = s.trim();
    let b = s.as_bytes();
    if b.len() < 10
        || b[4] != b'-'
        || b[7] != b'-'
        || (b.len() > 10 && b[10] != b'T' && b[10] != b' ')
    {
        return None;
    }
    Some((
        s[0..4].parse().ok()?,
        s[5..7].parse().ok()?,
        s[8..10].parse().ok()?,
    ))
}

fn month_of(name: &str) -> Option<u32> {
    let n = name.to_ascii_lowercase();
    MONTHS
        .iter()
        .position(|m| n.starts_with(m))
        .map(|i| i as u32 + 1)
}

fn year(y: &str) -> Option<u32> {
    let v: u32 = y.parse().ok()?;
    Some(match y.len() {
        2 if v < 70 => 2000 + v,
        2 => 1900 + v,
        _ => v,
    })
}

/// Character span of the first date of the document equal to the ISO date
/// `value`, however it is written.
pub(super) fn find(doc: &Document, value: &str) -> Option<(usize, usize)> {
    let want = iso(value)?;
    let [dmy, ymd, d_month_y, month_d_y] = patterns();
    let mut best: Option<(usize, usize)> = None;
    let mut consider = |a: usize, b: usize, dates: &[Option<(u32, u32, u32)>]| {
        if dates.iter().flatten().any(|&d| d == want) && best.is_none_or(|(s, _)| a < s) {
            best = Some((a, b));
        }
    };
    for c in dmy.captures_iter(&doc.text) {
        let (x, y, z) = (&c[1], &c[2], &c[3]);
        let (p, q, yr) = (x.parse().ok(), y.parse().ok(), year(z));
        let m = c.get(0)?;
        consider(
            m.start(),
            m.end(),
            &[
                yr.zip(q).zip(p).map(|((y, m), d)| (y, m, d)),
                yr.zip(p).zip(q).map(|((y, m), d)| (y, m, d)),
            ],
        );
    }
    for c in ymd.captures_iter(&doc.text) {
        let m = c.get(0)?;
        let d = (|| Some((c[1].parse().ok()?, c[2].parse().ok()?, c[3].parse().ok()?)))();
        consider(m.start(), m.end(), &[d]);
    }
    for c in d_month_y.captures_iter(&doc.text) {
        let m = c.get(0)?;
        let d = (|| Some((year(&c[3])?, month_of(&c[2])?, c[1].parse().ok()?)))();
        consider(m.start(), m.end(), &[d]);
    }
    for c in month_d_y.captures_iter(&doc.text) {
        let m = c.get(0)?;
        let d = (|| Some((year(&c[3])?, month_of(&c[1])?, c[2].parse().ok()?)))();
        consider(m.start(), m.end(), &[d]);
    }
    best.map(|(a, b)| char_span(doc, a, b))
}
