//! Number lexemes: JSON numbers within bounds and `multipleOf`, as DFAs.
//!
//! Bounds are compiled exactly, digit by digit, from decimal comparisons
//! (`x ≥ 12.5` is "integer part > 12, or 12 followed by a fraction ≥ .5"),
//! then intersected with the JSON number syntax. With bounds or divisors the
//! exponent form is left out, which keeps the language exact and sound
//! (every accepted number is in range) at the cost of rejecting `1e2`.

use regex_syntax::ParserBuilder;

use super::decimal::Decimal;
use crate::dfa::{Dfa, SetOp};
use crate::error::DfaError;

/// Largest divisor (after scaling to an integer) compiled into a DFA.
pub(crate) const MAX_DIVISOR: i128 = 100_000;

/// A numeric bound.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Bound {
    pub value: Decimal,
    pub exclusive: bool,
}

/// What a number lexeme must satisfy.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub(crate) struct NumSpec {
    pub integer: bool,
    pub min: Option<Bound>,
    pub max: Option<Bound>,
    pub multiple_of: Vec<Decimal>,
    pub not_multiple_of: Vec<Decimal>,
    /// Values excluded (from `not` with `const`/`enum`).
    pub excluded: Vec<Decimal>,
}

impl NumSpec {
    /// Whether every constraint is trivially satisfiable in plain syntax.
    fn unconstrained(&self) -> bool {
        self.min.is_none()
            && self.max.is_none()
            && self.multiple_of.is_empty()
            && self.not_multiple_of.is_empty()
            && self.excluded.is_empty()
    }

    /// Whether `v` satisfies the spec (for enum filtering); `None` if unknown.
    pub fn admits(&self, v: &Decimal) -> Option<bool> {
        if self.integer && !v.is_integer() {
            return Some(false);
        }
        if let Some(b) = &self.min {
            if *v < b.value || (b.exclusive && *v == b.value) {
                return Some(false);
            }
        }
        if let Some(b) = &self.max {
            if *v > b.value || (b.exclusive && *v == b.value) {
                return Some(false);
            }
        }
        for m in &self.multiple_of {
            if !v.is_multiple_of(m)? {
                return Some(false);
            }
        }
        for m in &self.not_multiple_of {
            if v.is_multiple_of(m)? {
                return Some(false);
            }
        }
        if self.excluded.contains(v) {
            return Some(false);
        }
        Some(true)
    }
}

fn re(s: &str, limit: usize) -> Result<Dfa, DfaError> {
    let hir = ParserBuilder::new()
        .unicode(false)
        .utf8(false)
        .build()
        .parse(s)
        .map_err(|e| DfaError::Nfa(e.to_string()))?;
    Dfa::from_hir(&hir, limit)
}

const INT: &str = "-?(?:0|[1-9][0-9]*)";
const FRAC: &str = r"(?:\.[0-9]+)?";
const EXP: &str = "(?:[eE][+-]?[0-9]+)?";

fn digits(d: &[u8]) -> String {
    d.iter().map(|&x| (b'0' + x) as char).collect()
}

fn class(lo: u8, hi: u8) -> Option<String> {
    (lo <= hi).then(|| {
        if lo == hi {
            format!("{lo}")
        } else {
            format!("[{lo}-{hi}]")
        }
    })
}

/// Integer digit strings (canonical, no sign) greater than `a`.
fn int_gt(a: &[u8]) -> String {
    let n = a.len();
    let mut alts = vec![format!("[1-9][0-9]{{{n},}}")];
    // Same length, first differing digit larger.
    for i in 0..n {
        let lo = a[i] + 1;
        let lo = if i == 0 { lo.max(1) } else { lo };
        if let Some(c) = class(lo, 9) {
            alts.push(format!("{}{}[0-9]{{{}}}", digits(&a[..i]), c, n - i - 1));
        }
    }
    format!("(?:{})", alts.join("|"))
}

/// Integer digit strings (canonical, no sign) less than `a`.
fn int_lt(a: &[u8]) -> Option<String> {
    let n = a.len();
    let mut alts = Vec::new();
    if n >= 2 {
        alts.push("0".to_string());
        if n >= 3 {
            alts.push(format!("[1-9][0-9]{{0,{}}}", n - 2));
        } else {
            alts.push("[1-9]".to_string());
        }
    }
    for i in 0..n {
        if a[i] == 0 {
            continue;
        }
        let lo = if i == 0 && n > 1 { 1 } else { 0 };
        if let Some(c) = class(lo, a[i] - 1) {
            alts.push(format!("{}{}[0-9]{{{}}}", digits(&a[..i]), c, n - i - 1));
        }
    }
    (!alts.is_empty()).then(|| format!("(?:{})", alts.join("|")))
}

/// Fraction digit strings f with 0.f ≥ 0.b (b non-empty, last digit non-zero).
fn frac_ge(b: &[u8]) -> String {
    match b.split_first() {
        None => "[0-9]*".into(),
        Some((&d, rest)) => {
            let mut alts = vec![format!("{d}{}", frac_ge(rest))];
            if let Some(c) = class(d + 1, 9) {
                alts.push(format!("{c}[0-9]*"));
            }
            format!("(?:{})", alts.join("|"))
        }
    }
}

/// Fraction digit strings with 0.f > 0.b.
fn frac_gt(b: &[u8]) -> String {
    match b.split_first() {
        None => "[0-9]*[1-9][0-9]*".into(),
        Some((&d, rest)) => {
            let mut alts = vec![format!("{d}{}", frac_gt(rest))];
            if let Some(c) = class(d + 1, 9) {
                alts.push(format!("{c}[0-9]*"));
            }
            format!("(?:{})", alts.join("|"))
        }
    }
}

/// Non-empty fraction digit strings with 0.f ≤ 0.b.
fn frac_le(b: &[u8]) -> String {
    match b.split_first() {
        None => "0+".into(),
        Some((&d, rest)) => {
            let mut alts = vec![format!("{d}(?:{})?", frac_le(rest))];
            if d > 0 {
                if let Some(c) = class(0, d - 1) {
                    alts.push(format!("{c}[0-9]*"));
                }
            }
            format!("(?:{})", alts.join("|"))
        }
    }
}

/// Non-empty fraction digit strings with 0.f < 0.b (b non-empty).
fn frac_lt(b: &[u8]) -> Option<String> {
    let (&d, rest) = b.split_first()?;
    let mut alts = Vec::new();
    if !rest.is_empty() {
        match frac_lt(rest) {
            Some(r) => alts.push(format!("{d}(?:{r})?")),
            None => alts.push(format!("{d}")),
        }
    }
    if d > 0 {
        if let Some(c) = class(0, d - 1) {
            alts.push(format!("{c}[0-9]*"));
        }
    }
    (!alts.is_empty()).then(|| format!("(?:{})", alts.join("|")))
}

/// Unsigned decimal strings y (no exponent) with y ≥ a, y > a, y ≤ a or
/// y < a, for a ≥ 0. `None` for the empty language.
fn unsigned_cmp(a: &Decimal, op: &str) -> Option<String> {
    let (int, frac) = a.split_abs();
    let i = digits(&int);
    let any_frac = r"(?:\.[0-9]+)?";
    let (int_part, same) = match op {
        ">=" => (
            Some(int_gt(&int)),
            Some(if frac.is_empty() {
                format!("{i}{any_frac}")
            } else {
                format!(r"{i}\.{}", frac_ge(&frac))
            }),
        ),
        ">" => (
            Some(int_gt(&int)),
            Some(format!(r"{i}\.{}", frac_gt(&frac))),
        ),
        "<=" => (
            int_lt(&int),
            Some(if frac.is_empty() {
                format!(r"{i}(?:\.0+)?")
            } else {
                format!(r"{i}(?:\.{})?", frac_le(&frac))
            }),
        ),
        _ => (
            int_lt(&int),
            if frac.is_empty() {
                None
            } else {
                frac_lt(&frac).map(|f| format!(r"{i}(?:\.{f})?"))
            },
        ),
    };
    let mut alts = Vec::new();
    if let Some(p) = int_part {
        alts.push(format!("{p}{any_frac}"));
    }
    if let Some(s) = same {
        alts.push(s);
    }
    (!alts.is_empty()).then(|| format!("(?:{})", alts.join("|")))
}

fn cmp_dfa(a: &Decimal, op: &str, limit: usize) -> Result<Dfa, DfaError> {
    match unsigned_cmp(a, op) {
        Some(s) => re(&s, limit),
        None => Ok(Dfa::from_words(std::iter::empty::<&[u8]>())),
    }
}

/// Unsigned numbers y with lo ≤ y ≤ hi (bounds optional, on y ≥ 0).
fn unsigned_range(
    lo: Option<(&Decimal, bool)>,
    hi: Option<(&Decimal, bool)>,
    limit: usize,
) -> Result<Dfa, DfaError> {
    let mut d = re(r"(?:0|[1-9][0-9]*)(?:\.[0-9]+)?", limit)?;
    if let Some((v, excl)) = lo {
        if !v.neg {
            d = Dfa::product(
                &d,
                &cmp_dfa(v, if excl { ">" } else { ">=" }, limit)?,
                SetOp::Intersect,
                limit,
            )?;
        } else if v.is_zero() && excl {
            d = Dfa::product(&d, &cmp_dfa(v, ">", limit)?, SetOp::Intersect, limit)?;
        }
    }
    if let Some((v, excl)) = hi {
        if v.neg {
            return Ok(Dfa::from_words(std::iter::empty::<&[u8]>()));
        }
        d = Dfa::product(
            &d,
            &cmp_dfa(v, if excl { "<" } else { "<=" }, limit)?,
            SetOp::Intersect,
            limit,
        )?;
    }
    Ok(d)
}

/// Prefixes every word of `d` with `-`.
fn negative(d: &Dfa, limit: usize) -> Result<Dfa, DfaError> {
    // (-)(language of d): build as the product of "-" + any with a shifted copy.
    // Simplest exact construction: a DFA that reads '-' then runs d.
    let n = d.num_states() as u32;
    let start = d.start();
    if start == crate::dfa::DEAD {
        return Ok(d.clone());
    }
    // States: 0..n are d's states (0 dead), n is the new start.
    let out = Dfa::from_fn(
        n as usize + 1,
        n,
        b"-.0123456789",
        |s| s < n && s != 0 && d.accepts(s),
        |s, b| {
            if s == n {
                (b == b'-').then_some(start)
            } else if s == 0 {
                None
            } else {
                let t = d.next(s, b);
                (t != 0).then_some(t)
            }
        },
    );
    let _ = limit;
    Ok(out)
}

/// Numbers (with sign, no exponent) in the range given by `spec`'s bounds.
fn range_dfa(spec: &NumSpec, limit: usize) -> Result<Dfa, DfaError> {
    let lo = spec.min.as_ref().map(|b| (&b.value, b.exclusive));
    let hi = spec.max.as_ref().map(|b| (&b.value, b.exclusive));
    // Non-negative part: y = x.
    let pos = unsigned_range(lo, hi, limit)?;
    // Negative part: x = -y with y > 0; x ≥ lo ⟺ y ≤ -lo, x ≤ hi ⟺ y ≥ -hi.
    let zero = Decimal::zero();
    let nlo_v = hi.map(|(v, e)| (v.negated(), e));
    let nhi_v = lo.map(|(v, e)| (v.negated(), e));
    let neg_lo = match &nlo_v {
        Some((v, e)) if !v.neg && !v.is_zero() => Some((v, *e)),
        _ => Some((&zero, true)),
    };
    let neg_hi = nhi_v.as_ref().map(|(v, e)| (v, *e));
    let neg = if hi.is_some_and(|(v, _)| !v.neg && !v.is_zero()) || hi.is_none() {
        // hi ≥ 0 puts no lower bound on y beyond y > 0.
        unsigned_range(Some((&zero, true)), neg_hi, limit)?
    } else {
        unsigned_range(neg_lo, neg_hi, limit)?
    };
    let neg = negative(&neg, limit)?;
    Dfa::product(&pos, &neg, SetOp::Union, limit)
}

/// Numbers (sign, integer digits, optional fraction, no exponent) that are
/// multiples of `m` (m > 0); fractions allowed only when `allow_frac`.
///
/// With m = k × 10^-s, x is a multiple iff x × 10^s is an integer multiple
/// of k: the DFA tracks the remainder mod k over the integer digits and the
/// first s fraction digits; later fraction digits must be zeros.
fn multiple_dfa(m: &Decimal, allow_frac: bool, limit: usize) -> Result<Dfa, DfaError> {
    let s = m.scale();
    let scaled = Decimal {
        neg: false,
        digits: m.digits.clone(),
        exp: m.exp + s as i32,
    };
    let k = scaled
        .to_i128()
        .filter(|&v| v > 0 && v <= MAX_DIVISOR)
        .ok_or(DfaError::TooManyStates(limit))? as u32;
    // State (rem, f): f = 0 in the integer part, f = 1 + digits read after '.'.
    let per = s + 2;
    let base = 2u32;
    let n = (base + k * per) as usize;
    let idx = |rem: u32, f: u32| base + rem * per + f;
    let pow10 = |e: u32| -> u64 {
        let mut v = 1u64;
        for _ in 0..e {
            v = v * 10 % k as u64;
        }
        v
    };
    let accept = |st: u32| -> bool {
        if st < base {
            return false;
        }
        let rem = (st - base) / per;
        let f = (st - base) % per;
        let read = f.saturating_sub(1);
        (rem as u64 * pow10(s - read)) % k as u64 == 0
    };
    let dfa = Dfa::from_fn(n, 0, b"-.0123456789", accept, |st, b| {
        let digit = b.is_ascii_digit().then(|| (b - b'0') as u32);
        if st < base {
            return match (st, b) {
                (0, b'-') => Some(1),
                _ => digit.map(|d| idx(d % k, 0)),
            };
        }
        let rem = (st - base) / per;
        let f = (st - base) % per;
        if f == 0 {
            return match (b, digit) {
                (b'.', _) if allow_frac => Some(idx(rem, 1)),
                (_, Some(d)) => Some(idx((rem * 10 + d) % k, 0)),
                _ => None,
            };
        }
        let d = digit?;
        if f <= s {
            Some(idx((rem * 10 + d) % k, f + 1))
        } else {
            (d == 0).then_some(st)
        }
    });
    let _ = limit;
    Ok(dfa)
}

/// `d` without the numbers whose exponent has three digits or more (see
/// `JsonOptions::finite_numbers`): large positive ones overflow a double,
/// large negative ones underflow it to zero, which may break a bound such
/// as `exclusiveMinimum: 0` the text itself satisfies. Integer parts keep
/// to 15 digits (a double holds them exactly, so `multipleOf` and `oneOf`
/// judge the value written) and `-0` is left out (parsers read it as the
/// float -0.0, which validators do not call an integer).
pub(crate) fn finite_only(d: &Dfa, limit: usize) -> Result<Dfa, DfaError> {
    let finite = re(
        r"(?:(?:0|[1-9][0-9]{0,14})(?:\.[0-9]+)?|-(?:[1-9][0-9]{0,14}(?:\.[0-9]+)?|0\.[0-9]*[1-9][0-9]*))(?:[eE][-+]?[0-9]{1,2})?",
        limit,
    )?;
    Dfa::product(d, &finite, SetOp::Intersect, limit)
}

/// The DFA of numbers satisfying `spec` (JSON syntax; see module docs).
pub(crate) fn number_dfa(spec: &NumSpec, limit: usize) -> Result<Dfa, DfaError> {
    if spec.unconstrained() {
        let s = if spec.integer {
            INT.to_string()
        } else {
            format!("{INT}{FRAC}{EXP}")
        };
        return re(&s, limit);
    }
    let syntax = if spec.integer {
        re(INT, limit)?
    } else {
        re(&format!("{INT}{FRAC}"), limit)?
    };
    let mut d = syntax.clone();
    if spec.min.is_some() || spec.max.is_some() {
        d = Dfa::product(&d, &range_dfa(spec, limit)?, SetOp::Intersect, limit)?;
    }
    for m in &spec.multiple_of {
        d = Dfa::product(
            &d,
            &multiple_dfa(m, !spec.integer, limit)?,
            SetOp::Intersect,
            limit,
        )?;
    }
    for m in &spec.not_multiple_of {
        d = Dfa::product(
            &d,
            &multiple_dfa(m, !spec.integer, limit)?,
            SetOp::Difference,
            limit,
        )?;
    }
    for v in &spec.excluded {
        let s = v.to_plain_string().replace('.', r"\.").replace('-', r"\-");
        let lit = if v.is_integer() {
            format!(r"{s}(?:\.0+)?")
        } else {
            format!("{s}0*")
        };
        d = Dfa::product(&d, &re(&lit, limit)?, SetOp::Difference, limit)?;
    }
    // "-0" style oddities are removed by the syntax intersection.
    let d = Dfa::product(&d, &syntax, SetOp::Intersect, limit)?;
    // Serializers write small magnitudes with exponents (1e-06): such a
    // number is in (0, 1) (or (-1, 0)), so it is allowed whenever the whole
    // interval is.
    if spec.integer
        || !spec.multiple_of.is_empty()
        || !spec.not_multiple_of.is_empty()
        || !spec.excluded.is_empty()
    {
        return Ok(d);
    }
    let le = |b: &Option<Bound>, v: i64| b.as_ref().is_none_or(|b| b.value <= Decimal::from_i64(v));
    let ge = |b: &Option<Bound>, v: i64| b.as_ref().is_none_or(|b| b.value >= Decimal::from_i64(v));
    let small = r"[1-9](?:\.[0-9]+)?[eE]-0*[1-9][0-9]*";
    let mut alts = Vec::new();
    if le(&spec.min, 0) && ge(&spec.max, 1) {
        alts.push(small.to_string());
    }
    if le(&spec.min, -1) && ge(&spec.max, 0) {
        alts.push(format!("-{small}"));
    }
    if alts.is_empty() {
        return Ok(d);
    }
    let e = re(&alts.join("|"), limit)?;
    Dfa::product(&d, &e, SetOp::Union, limit)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(s: &str) -> Decimal {
        Decimal::parse(s).unwrap()
    }

    fn spec(min: Option<(&str, bool)>, max: Option<(&str, bool)>, integer: bool) -> NumSpec {
        NumSpec {
            integer,
            min: min.map(|(v, e)| Bound {
                value: dec(v),
                exclusive: e,
            }),
            max: max.map(|(v, e)| Bound {
                value: dec(v),
                exclusive: e,
            }),
            ..Default::default()
        }
    }

    /// Exhaustive check of bounded numbers against exact comparison.
    #[test]
    fn ranges_match_exact_comparison() {
        let samples: Vec<String> = {
            let mut v = Vec::new();
            for i in -130..=130 {
                v.push(format!("{}", i));
                v.push(format!("{}.5", i));
                v.push(format!("{}.05", i));
                v.push(format!("{}.0", i));
            }
            v.push("-0.5".into());
            v.push("0.25".into());
            v.push("-0.25".into());
            v.push("12.345".into());
            v
        };
        let bounds = [
            "-100", "-12.5", "-1", "-0.25", "0", "0.25", "1", "12.5", "99", "100", "120.05",
        ];
        for lo in bounds.iter().map(|s| Some(*s)).chain([None]) {
            for hi in bounds.iter().map(|s| Some(*s)).chain([None]) {
                for (le, he) in [(false, false), (true, true), (true, false)] {
                    for integer in [false, true] {
                        let sp = spec(lo.map(|v| (v, le)), hi.map(|v| (v, he)), integer);
                        let d = number_dfa(&sp, 100_000).unwrap();
                        for s in &samples {
                            let v = dec(s);
                            let canonical_int = !s.contains('.');
                            let want =
                                sp.admits(&v).unwrap() && (!integer || canonical_int) && s != "-0";
                            let got = d.matches(s.as_bytes());
                            if s.starts_with("-0") && v.is_zero() {
                                continue;
                            }
                            assert_eq!(got, want, "{s} in {lo:?}{le} .. {hi:?}{he} int={integer}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn small_exponents_within_unit_interval() {
        let d = number_dfa(
            &spec(Some(("0", false)), Some(("1", false)), false),
            100_000,
        )
        .unwrap();
        assert!(
            d.matches(b"1e-06")
                && d.matches(b"2.5E-3")
                && !d.matches(b"1e6")
                && !d.matches(b"-1e-06")
        );
        let d = number_dfa(
            &spec(Some(("0.5", false)), Some(("1", false)), false),
            100_000,
        )
        .unwrap();
        assert!(!d.matches(b"1e-06"));
        let d = number_dfa(
            &spec(Some(("-10", false)), Some(("0", false)), false),
            100_000,
        )
        .unwrap();
        assert!(d.matches(b"-1e-06") && !d.matches(b"1e-06"));
    }

    #[test]
    fn multiples() {
        let sp = NumSpec {
            integer: true,
            multiple_of: vec![dec("7")],
            ..Default::default()
        };
        let d = number_dfa(&sp, 100_000).unwrap();
        for i in -200..200 {
            assert_eq!(d.matches(i.to_string().as_bytes()), i % 7 == 0, "{i}");
        }
        let sp = NumSpec {
            integer: false,
            multiple_of: vec![dec("0.25")],
            ..Default::default()
        };
        let d = number_dfa(&sp, 100_000).unwrap();
        for (s, ok) in [
            ("0.5", true),
            ("0.75", true),
            ("1", true),
            ("1.1", false),
            ("2.250", true),
            ("0.125", false),
            ("-3.25", true),
        ] {
            assert_eq!(d.matches(s.as_bytes()), ok, "{s}");
        }
        let sp = NumSpec {
            integer: false,
            multiple_of: vec![dec("3")],
            ..Default::default()
        };
        let d = number_dfa(&sp, 100_000).unwrap();
        for (s, ok) in [
            ("3", true),
            ("3.0", true),
            ("4.0", false),
            ("3.5", false),
            ("-6", true),
        ] {
            assert_eq!(d.matches(s.as_bytes()), ok, "{s}");
        }
        let sp = NumSpec {
            integer: true,
            not_multiple_of: vec![dec("2")],
            excluded: vec![dec("5")],
            ..Default::default()
        };
        let d = number_dfa(&sp, 100_000).unwrap();
        for (s, ok) in [("3", true), ("4", false), ("5", false), ("7", true)] {
            assert_eq!(d.matches(s.as_bytes()), ok, "{s}");
        }
    }
}
