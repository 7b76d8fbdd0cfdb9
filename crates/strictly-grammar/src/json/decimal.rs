//! Exact decimal numbers for schema bounds and `multipleOf`.
//!
//! Bounds must be compared and turned into digit automata exactly; binary
//! floating point would misplace `0.1` or `1e-7`. A `Decimal` is
//! `±digits × 10^exp` with no leading or trailing zeros in `digits`.

use std::cmp::Ordering;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Decimal {
    pub neg: bool,
    /// Significant digits, most significant first; empty for zero.
    pub digits: Vec<u8>,
    pub exp: i32,
}

impl Decimal {
    pub fn zero() -> Decimal {
        Decimal {
            neg: false,
            digits: Vec::new(),
            exp: 0,
        }
    }

    pub fn from_i64(v: i64) -> Decimal {
        Decimal::parse(&v.to_string()).unwrap_or_else(Decimal::zero)
    }

    /// Parses JSON number syntax (also accepts a leading `+` and missing
    /// integer digits, as produced by float formatting).
    pub fn parse(s: &str) -> Option<Decimal> {
        let b = s.as_bytes();
        let mut i = 0;
        let mut neg = false;
        if i < b.len() && (b[i] == b'-' || b[i] == b'+') {
            neg = b[i] == b'-';
            i += 1;
        }
        let mut digits = Vec::new();
        let mut exp: i64 = 0;
        let mut any = false;
        while i < b.len() && b[i].is_ascii_digit() {
            digits.push(b[i] - b'0');
            i += 1;
            any = true;
        }
        if i < b.len() && b[i] == b'.' {
            i += 1;
            while i < b.len() && b[i].is_ascii_digit() {
                digits.push(b[i] - b'0');
                exp -= 1;
                i += 1;
                any = true;
            }
        }
        if !any {
            return None;
        }
        if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
            i += 1;
            let mut eneg = false;
            if i < b.len() && (b[i] == b'-' || b[i] == b'+') {
                eneg = b[i] == b'-';
                i += 1;
            }
            let mut e: i64 = 0;
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                e = (e * 10 + (b[i] - b'0') as i64).min(1 << 40);
                i += 1;
            }
            if i == start {
                return None;
            }
            exp += if eneg { -e } else { e };
        }
        if i != b.len() {
            return None;
        }
        let exp = i32::try_from(exp.clamp(-(1 << 30), 1 << 30)).ok()?;
        Some(Decimal { neg, digits, exp }.normalized())
    }

    pub fn from_json(n: &serde_json::Number) -> Option<Decimal> {
        Decimal::parse(&n.to_string())
    }

    fn normalized(mut self) -> Decimal {
        let lead = self.digits.iter().take_while(|&&d| d == 0).count();
        self.digits.drain(..lead);
        while self.digits.last() == Some(&0) {
            self.digits.pop();
            self.exp += 1;
        }
        if self.digits.is_empty() {
            return Decimal::zero();
        }
        self
    }

    pub fn is_zero(&self) -> bool {
        self.digits.is_empty()
    }

    pub fn is_integer(&self) -> bool {
        self.exp >= 0
    }

    /// Position of the most significant digit: value is in [10^(m-1), 10^m).
    fn magnitude(&self) -> i64 {
        self.digits.len() as i64 + self.exp as i64
    }

    fn cmp_abs(&self, other: &Decimal) -> Ordering {
        match (self.is_zero(), other.is_zero()) {
            (true, true) => return Ordering::Equal,
            (true, false) => return Ordering::Less,
            (false, true) => return Ordering::Greater,
            _ => {}
        }
        match self.magnitude().cmp(&other.magnitude()) {
            Ordering::Equal => {}
            o => return o,
        }
        let n = self.digits.len().max(other.digits.len());
        for i in 0..n {
            let a = self.digits.get(i).copied().unwrap_or(0);
            let b = other.digits.get(i).copied().unwrap_or(0);
            match a.cmp(&b) {
                Ordering::Equal => {}
                o => return o,
            }
        }
        Ordering::Equal
    }

    pub fn negated(&self) -> Decimal {
        if self.is_zero() {
            return self.clone();
        }
        Decimal {
            neg: !self.neg,
            ..self.clone()
        }
    }

    /// The integer part as decimal digits, if it has at most `max` digits
    /// (`None` for fractions' floor computations beyond that size).
    pub fn to_i128(&self) -> Option<i128> {
        if !self.is_integer() || self.magnitude() > 36 {
            return None;
        }
        let mut v: i128 = 0;
        for &d in &self.digits {
            v = v * 10 + d as i128;
        }
        for _ in 0..self.exp {
            v *= 10;
        }
        Some(if self.neg { -v } else { v })
    }

    /// Largest integer ≤ self (None when too large for i128).
    pub fn floor(&self) -> Option<i128> {
        if self.is_integer() {
            return self.to_i128();
        }
        if self.magnitude() > 36 {
            return None;
        }
        let int_len = self.magnitude().max(0) as usize;
        let mut v: i128 = 0;
        for i in 0..int_len {
            v = v * 10 + self.digits.get(i).copied().unwrap_or(0) as i128;
        }
        Some(if self.neg { -v - 1 } else { v })
    }

    /// Smallest integer ≥ self.
    pub fn ceil(&self) -> Option<i128> {
        self.negated().floor().map(|v| -v)
    }

    /// Integer digits (possibly "0") and fraction digits of |self|.
    pub fn split_abs(&self) -> (Vec<u8>, Vec<u8>) {
        let m = self.magnitude();
        let mut int = Vec::new();
        let mut frac = Vec::new();
        if m <= 0 {
            int.push(0);
            frac.extend(std::iter::repeat_n(0, (-m) as usize));
            frac.extend_from_slice(&self.digits);
        } else {
            let m = m as usize;
            for i in 0..m {
                int.push(self.digits.get(i).copied().unwrap_or(0));
            }
            if self.digits.len() > m {
                frac.extend_from_slice(&self.digits[m..]);
            }
        }
        (int, frac)
    }

    /// Plain decimal notation, as used in generated literals.
    pub fn to_plain_string(&self) -> String {
        let (int, frac) = self.split_abs();
        let mut s = String::new();
        if self.neg {
            s.push('-');
        }
        s.extend(int.iter().map(|d| (b'0' + d) as char));
        if !frac.is_empty() {
            s.push('.');
            s.extend(frac.iter().map(|d| (b'0' + d) as char));
        }
        s
    }

    /// Number of fraction digits (0 for integers).
    pub fn scale(&self) -> u32 {
        if self.exp >= 0 { 0 } else { (-self.exp) as u32 }
    }

    /// Whether `self` is an integer multiple of `m` (m ≠ 0).
    pub fn is_multiple_of(&self, m: &Decimal) -> Option<bool> {
        if m.is_zero() {
            return None;
        }
        if self.is_zero() {
            return Some(true);
        }
        // A non-zero value smaller in magnitude than `m` is no multiple,
        // however large `m` is (`multipleOf: 1e308`).
        let magnitude = |d: &Decimal| Decimal {
            neg: false,
            ..d.clone()
        };
        if magnitude(self) < magnitude(m) {
            return Some(false);
        }
        // Scale both to integers by 10^s.
        let s = self.scale().max(m.scale()) as i32;
        let a = scaled_int(self, s)?;
        let b = scaled_int(m, s)?;
        Some(a % b == 0)
    }
}

/// `v × 10^s` as an integer, when it fits.
fn scaled_int(v: &Decimal, s: i32) -> Option<i128> {
    let e = v.exp + s;
    if e < 0 || v.digits.len() as i64 + e as i64 > 36 {
        return None;
    }
    let mut x: i128 = 0;
    for &d in &v.digits {
        x = x * 10 + d as i128;
    }
    for _ in 0..e {
        x *= 10;
    }
    Some(if v.neg { -x } else { x })
}

impl PartialOrd for Decimal {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Decimal {
    fn cmp(&self, other: &Self) -> Ordering {
        let sa = if self.is_zero() {
            0
        } else if self.neg {
            -1
        } else {
            1
        };
        let sb = if other.is_zero() {
            0
        } else if other.neg {
            -1
        } else {
            1
        };
        match sa.cmp(&sb) {
            Ordering::Equal => {}
            o => return o,
        }
        if sa >= 0 {
            self.cmp_abs(other)
        } else {
            other.cmp_abs(self)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        Decimal::parse(s).unwrap()
    }

    #[test]
    fn parse_and_compare() {
        assert_eq!(d("1.50"), d("15e-1"));
        assert_eq!(d("-0"), Decimal::zero());
        assert!(d("0.1") < d("0.10001"));
        assert!(d("-2") < d("-1.5"));
        assert!(d("1e3") > d("999.999"));
        assert_eq!(d("100").to_i128(), Some(100));
        assert_eq!(d("-1.5").floor(), Some(-2));
        assert_eq!(d("-1.5").ceil(), Some(-1));
        assert_eq!(d("2.5").floor(), Some(2));
        assert_eq!(d("0.0001").to_plain_string(), "0.0001");
        assert_eq!(d("1.2e2").to_plain_string(), "120");
        assert_eq!(d("7.5").is_multiple_of(&d("2.5")), Some(true));
        assert_eq!(d("0.3").is_multiple_of(&d("0.1")), Some(true));
        assert_eq!(d("1").is_multiple_of(&d("0.3")), Some(false));
        assert_eq!(d("0").is_multiple_of(&d("1e308")), Some(true));
        assert_eq!(d("-527.5").is_multiple_of(&d("1e308")), Some(false));
        assert_eq!(d("2e308").is_multiple_of(&d("1e308")), None);
        assert!(Decimal::parse("1.").is_none() || Decimal::parse("1.").is_some());
        assert!(Decimal::parse("abc").is_none());
    }
}
