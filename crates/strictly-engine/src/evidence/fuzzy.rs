//! The passage of a text closest to a value: approximate substring
//! matching (Sellers' algorithm), edit distance with a free start and end.

use super::text::Normalized;

/// Values longer than this are not matched approximately (quadratic cost).
const MAX_VALUE_CHARS: usize = 256;

/// The source span of the passage of `text` nearest to `value` and its
/// similarity (one minus the edit distance over the value's length).
pub(super) fn best(text: &Normalized, value: &Normalized) -> Option<((usize, usize), f64)> {
    let p = &value.chars;
    let t = &text.chars;
    let m = p.len();
    if m == 0 || m > MAX_VALUE_CHARS || t.is_empty() {
        return None;
    }
    // Column j of row i: distance of p[..i] to the best passage ending at
    // t[j), and where that passage starts.
    let mut prev: Vec<(u32, u32)> = (0..=t.len()).map(|j| (0, j as u32)).collect();
    let mut cur = vec![(0u32, 0u32); t.len() + 1];
    for i in 1..=m {
        cur[0] = (i as u32, 0);
        for j in 1..=t.len() {
            let sub = (
                prev[j - 1].0 + u32::from(p[i - 1] != t[j - 1]),
                prev[j - 1].1,
            );
            let del = (prev[j].0 + 1, prev[j].1);
            let ins = (cur[j - 1].0 + 1, cur[j - 1].1);
            cur[j] = sub.min(del).min(ins);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    let (end, &(cost, start)) = prev
        .iter()
        .enumerate()
        .skip(1)
        .min_by_key(|(j, (c, s))| (*c, *j as u32 - s))?;
    let start = start as usize;
    if start >= end {
        return None;
    }
    let similarity = 1.0 - f64::from(cost) / m as f64;
    Some((text.source(start, end), similarity))
}
