//! How sure the model was of each value of a JSON answer.
//!
//! A value's confidence is the smallest probability among the tokens that
//! wrote it and that the model chose freely: each token's probability is
//! the model's distribution renormalised over the tokens the grammar
//! allowed ([`AnswerToken::prob`]), and forced tokens, which carry no
//! choice, are left out. A value written by forced tokens only (a `const`,
//! a one-value `enum`) has confidence 1. For numbers, `true`, `false` and
//! `null`, the token holding the byte after the value counts too: it
//! decided where the value ends (`1` or `12`).
//!
//! The number is the model's own, uncalibrated.

use crate::event::AnswerToken;

/// `(JSON Pointer, confidence)` of every scalar leaf of the JSON `text`,
/// in the order they appear; empty if `text` is not JSON.
pub fn per_leaf(text: &str, tokens: &[AnswerToken]) -> Vec<(String, f32)> {
    let mut leaves = Vec::new();
    let mut scan = Scan {
        b: text.as_bytes(),
        i: 0,
    };
    if scan.value(&mut String::new(), &mut leaves).is_none() {
        return Vec::new();
    }
    leaves
        .into_iter()
        .map(|(pointer, start, end, string)| {
            let end = if string { end } else { end + 1 };
            let conf = tokens
                .iter()
                .filter(|t| !t.forced && t.start < end && t.end > start)
                .map(|t| t.prob)
                .fold(1.0f32, f32::min);
            (pointer, conf)
        })
        .collect()
}

/// A scanner of JSON text recording each scalar's byte span.
struct Scan<'a> {
    b: &'a [u8],
    i: usize,
}

type Leaf = (String, usize, usize, bool);

impl Scan<'_> {
    fn ws(&mut self) {
        while self.b.get(self.i).is_some_and(|c| c.is_ascii_whitespace()) {
            self.i += 1;
        }
    }

    fn value(&mut self, pointer: &mut String, out: &mut Vec<Leaf>) -> Option<()> {
        self.ws();
        let start = self.i;
        match *self.b.get(self.i)? {
            b'{' => {
                self.i += 1;
                self.ws();
                if self.b.get(self.i) == Some(&b'}') {
                    self.i += 1;
                    return Some(());
                }
                loop {
                    self.ws();
                    let key_start = self.i;
                    self.string()?;
                    let key: String =
                        serde_json::from_slice(self.b.get(key_start..self.i)?).ok()?;
                    self.ws();
                    (self.b.get(self.i) == Some(&b':')).then_some(())?;
                    self.i += 1;
                    let len = pointer.len();
                    pointer.push('/');
                    pointer.push_str(&key.replace('~', "~0").replace('/', "~1"));
                    self.value(pointer, out)?;
                    pointer.truncate(len);
                    self.ws();
                    match self.b.get(self.i)? {
                        b',' => self.i += 1,
                        b'}' => {
                            self.i += 1;
                            return Some(());
                        }
                        _ => return None,
                    }
                }
            }
            b'[' => {
                self.i += 1;
                self.ws();
                if self.b.get(self.i) == Some(&b']') {
                    self.i += 1;
                    return Some(());
                }
                for n in 0.. {
                    let len = pointer.len();
                    pointer.push('/');
                    pointer.push_str(&n.to_string());
                    self.value(pointer, out)?;
                    pointer.truncate(len);
                    self.ws();
                    match self.b.get(self.i)? {
                        b',' => self.i += 1,
                        b']' => {
                            self.i += 1;
                            return Some(());
                        }
                        _ => return None,
                    }
                }
                None
            }
            b'"' => {
                self.string()?;
                out.push((pointer.clone(), start, self.i, true));
                Some(())
            }
            _ => {
                while self
                    .b
                    .get(self.i)
                    .is_some_and(|c| !matches!(c, b',' | b'}' | b']') && !c.is_ascii_whitespace())
                {
                    self.i += 1;
                }
                (self.i > start).then_some(())?;
                out.push((pointer.clone(), start, self.i, false));
                Some(())
            }
        }
    }

    /// Skips a string, quotes included.
    fn string(&mut self) -> Option<()> {
        (self.b.get(self.i) == Some(&b'"')).then_some(())?;
        self.i += 1;
        loop {
            match *self.b.get(self.i)? {
                b'\\' => self.i += 2,
                b'"' => {
                    self.i += 1;
                    return Some(());
                }
                _ => self.i += 1,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tok(start: usize, end: usize, prob: f32, forced: bool) -> AnswerToken {
        AnswerToken {
            start,
            end,
            prob,
            forced,
        }
    }

    #[test]
    fn the_least_sure_free_token_of_a_value_is_its_confidence() {
        // {"name":"Ada Lo","age":36,"ok":true}
        let text = r#"{"name":"Ada Lo","age":36,"ok":true}"#;
        let tokens = [
            tok(0, 9, 1.0, true),    // {"name":"
            tok(9, 12, 0.9, false),  // Ada
            tok(12, 15, 0.6, false), // " Lo"
            tok(15, 23, 1.0, true),  // ","age":
            tok(23, 24, 0.8, false), // 3
            tok(24, 25, 0.7, false), // 6
            tok(25, 31, 0.5, false), // ,"ok": decides where 36 ends
            tok(31, 35, 0.95, false),
            tok(35, 36, 1.0, true),
        ];
        let got = per_leaf(text, &tokens);
        assert_eq!(
            got,
            vec![
                ("/name".to_string(), 0.6),
                ("/age".to_string(), 0.5),
                ("/ok".to_string(), 0.95)
            ]
        );
    }

    #[test]
    fn forced_values_are_certain_and_pointers_are_escaped() {
        let text = r#"{"a/b":["x",{"~":null}]}"#;
        let tokens = [tok(0, text.len(), 1.0, true)];
        let got = per_leaf(text, &tokens);
        assert_eq!(
            got,
            vec![
                ("/a~1b/0".to_string(), 1.0),
                ("/a~1b/1/~0".to_string(), 1.0)
            ]
        );
        assert!(per_leaf("{\"a\":", &tokens).is_empty());
    }
}
