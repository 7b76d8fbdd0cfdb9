//! Distinct object keys.
//!
//! A context-free grammar cannot say "no key twice": an object whose extra
//! keys are counted for `minProperties` would take `{"a":1,"a":2}` as two
//! members, while every JSON parser keeps one of them (and a validator then
//! counts one). So matchers of JSON Schema grammars also follow the JSON
//! text they accept and refuse a key already present in its object, both
//! when a token is committed and in the mask. Only a token containing a
//! quote can close a key, so only those tokens are checked in the mask.

use std::collections::HashSet;

/// One open object or array.
#[derive(Debug, Clone)]
struct Frame {
    object: bool,
    /// The next string in this object is a key.
    expect_key: bool,
    /// Keys seen, decoded (escapes resolved).
    keys: HashSet<Box<[u8]>>,
}

/// An open string: its raw bytes so far and whether a backslash is pending.
#[derive(Debug, Clone, Default)]
struct Str {
    key: bool,
    raw: Vec<u8>,
    escaped: bool,
}

/// Follows JSON text byte by byte; see the module docs.
#[derive(Debug, Clone, Default)]
pub(crate) struct KeyTracker {
    frames: Vec<Frame>,
    string: Option<Str>,
}

/// The stack operations one byte needs, so that the same step serves the
/// tracker and a cheap simulation over it.
trait Stack {
    fn push(&mut self, object: bool);
    fn pop(&mut self);
    /// Whether the innermost frame is an object that expects a key.
    fn expects_key(&self) -> bool;
    fn set_expect_key(&mut self, v: bool);
    /// Adds `key` to the innermost object; false when it was there.
    fn insert_key(&mut self, key: Box<[u8]>) -> bool;
}

/// The key as a parser sees it: escapes decoded; text that does not decode
/// (a lone surrogate) is kept raw behind a byte no UTF-8 text contains.
fn decode_key(raw: &[u8]) -> Box<[u8]> {
    if !raw.contains(&b'\\') {
        return raw.into();
    }
    let mut quoted = Vec::with_capacity(raw.len() + 2);
    quoted.push(b'"');
    quoted.extend_from_slice(raw);
    quoted.push(b'"');
    match serde_json::from_slice::<String>(&quoted) {
        Ok(s) => s.into_bytes().into_boxed_slice(),
        Err(_) => {
            let mut v = vec![0xff];
            v.extend_from_slice(raw);
            v.into_boxed_slice()
        }
    }
}

/// One byte; false when it closes a key already in its object.
fn step(stack: &mut impl Stack, string: &mut Option<Str>, b: u8) -> bool {
    if let Some(s) = string {
        if s.escaped {
            s.escaped = false;
        } else if b == b'\\' {
            s.escaped = true;
        } else if b == b'"' {
            let done = string.take().unwrap_or_default();
            if done.key {
                return stack.insert_key(decode_key(&done.raw));
            }
            return true;
        }
        if let Some(s) = string {
            if s.key {
                s.raw.push(b);
            }
        }
        return true;
    }
    match b {
        b'{' => stack.push(true),
        b'[' => stack.push(false),
        b'}' | b']' => stack.pop(),
        b',' => stack.set_expect_key(true),
        b':' => stack.set_expect_key(false),
        b'"' => {
            *string = Some(Str {
                key: stack.expects_key(),
                ..Str::default()
            })
        }
        _ => {}
    }
    true
}

impl Stack for Vec<Frame> {
    fn push(&mut self, object: bool) {
        Vec::push(
            self,
            Frame {
                object,
                expect_key: object,
                keys: HashSet::new(),
            },
        );
    }
    fn pop(&mut self) {
        Vec::pop(self);
    }
    fn expects_key(&self) -> bool {
        self.last().is_some_and(|f| f.object && f.expect_key)
    }
    fn set_expect_key(&mut self, v: bool) {
        if let Some(f) = self.last_mut() {
            f.expect_key = f.object && v;
        }
    }
    fn insert_key(&mut self, key: Box<[u8]>) -> bool {
        match self.last_mut() {
            Some(f) if f.object => {
                f.expect_key = false;
                f.keys.insert(key)
            }
            _ => true,
        }
    }
}

/// The tracker's stack as a token would change it, without copying it:
/// frames below `depth` are read from the tracker (a token can only close
/// them), frames the token opens live in `local`.
struct Overlay<'a> {
    base: &'a [Frame],
    depth: usize,
    /// `expect_key` of the innermost base frame, once the token changed it.
    top_expect: Option<bool>,
    /// Keys the token added to the innermost base frame.
    top_added: Vec<Box<[u8]>>,
    local: Vec<Frame>,
}

impl Overlay<'_> {
    fn base_top(&self) -> Option<&Frame> {
        self.depth.checked_sub(1).map(|i| &self.base[i])
    }
}

impl Stack for Overlay<'_> {
    fn push(&mut self, object: bool) {
        Stack::push(&mut self.local, object);
    }
    fn pop(&mut self) {
        if self.local.pop().is_none() && self.depth > 0 {
            self.depth -= 1;
            // The frame below held the value just closed: no key expected.
            self.top_expect = Some(false);
            self.top_added.clear();
        }
    }
    fn expects_key(&self) -> bool {
        if !self.local.is_empty() {
            return self.local.expects_key();
        }
        self.base_top()
            .is_some_and(|f| f.object && self.top_expect.unwrap_or(f.expect_key))
    }
    fn set_expect_key(&mut self, v: bool) {
        if !self.local.is_empty() {
            self.local.set_expect_key(v);
        } else {
            self.top_expect = Some(v);
        }
    }
    fn insert_key(&mut self, key: Box<[u8]>) -> bool {
        if !self.local.is_empty() {
            return self.local.insert_key(key);
        }
        self.top_expect = Some(false);
        match self.base_top() {
            Some(f) if f.object => {
                if f.keys.contains(&key) || self.top_added.contains(&key) {
                    return false;
                }
                self.top_added.push(key);
                true
            }
            _ => true,
        }
    }
}

impl KeyTracker {
    /// Whether any open object already holds a key (else nothing can be a
    /// duplicate and the mask needs no check).
    pub fn has_keys(&self) -> bool {
        self.frames.iter().any(|f| !f.keys.is_empty())
    }

    /// Whether `bytes` would close no duplicate key; the tracker is unchanged.
    pub fn accepts(&self, bytes: &[u8]) -> bool {
        let mut overlay = Overlay {
            base: &self.frames,
            depth: self.frames.len(),
            top_expect: None,
            top_added: Vec::new(),
            local: Vec::new(),
        };
        let mut string = self.string.clone();
        bytes.iter().all(|&b| step(&mut overlay, &mut string, b))
    }

    /// Follows `bytes`; false (and the tracker in an unspecified state) when
    /// they close a duplicate key, so check with [`Self::accepts`] first.
    pub fn feed(&mut self, bytes: &[u8]) -> bool {
        bytes
            .iter()
            .all(|&b| step(&mut self.frames, &mut self.string, b))
    }
}

/// The tracker with the text it followed, so that a rollback can replay.
#[derive(Debug, Clone, Default)]
pub(crate) struct KeyHistory {
    pub tracker: KeyTracker,
    text: Vec<u8>,
}

impl KeyHistory {
    pub fn len(&self) -> usize {
        self.text.len()
    }

    /// Follows `bytes` if they close no duplicate key.
    pub fn commit(&mut self, bytes: &[u8]) -> bool {
        if !self.tracker.accepts(bytes) {
            return false;
        }
        self.tracker.feed(bytes);
        self.text.extend_from_slice(bytes);
        true
    }

    /// Back to the first `len` bytes (replayed: rollbacks are short and
    /// answers small, and the tracker then needs no per-commit copies).
    pub fn truncate(&mut self, len: usize) {
        if len >= self.text.len() {
            return;
        }
        self.text.truncate(len);
        self.tracker = KeyTracker::default();
        self.tracker.feed(&self.text);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accepts(text: &str) -> bool {
        KeyTracker::default().accepts(text.as_bytes())
    }

    #[test]
    fn duplicates_are_refused_per_object() {
        assert!(accepts(r#"{"a":1,"b":{"a":2},"c":[{"a":3},{"a":4}]}"#));
        assert!(!accepts(r#"{"a":1,"a":2}"#));
        assert!(!accepts(r#"{"a":{"x":1},"a":2}"#));
        assert!(!accepts(r#"[{"k":1,"j":2,"k":3}]"#));
        // A value equal to a key is no key.
        assert!(accepts(r#"{"a":"a","b":["a","a"]}"#));
        // Escapes decode before comparing.
        assert!(!accepts(r#"{"a":1,"\u0061":2}"#));
        assert!(accepts(r#"{"a\"":1,"a":2}"#));
    }

    #[test]
    fn overlay_agrees_with_feeding_across_tokens() {
        let text = br#"{"ab":1,"c":{"ab":[1,{"x":2}],"d":3},"e":4}"#;
        for split in 0..text.len() {
            let mut t = KeyTracker::default();
            assert!(t.feed(&text[..split]));
            assert!(t.accepts(&text[split..]), "split at {split}");
        }
        let dup = br#"{"ab":1,"c":{"d":[1]},"ab":2}"#;
        for split in 0..dup.len() - 5 {
            let mut t = KeyTracker::default();
            assert!(t.feed(&dup[..split]));
            assert!(!t.accepts(&dup[split..]), "split at {split}");
        }
    }

    #[test]
    fn rollback_replays() {
        let mut h = KeyHistory::default();
        assert!(h.commit(br#"{"a":1"#));
        let n = h.len();
        assert!(h.commit(br#","b":2"#));
        assert!(!h.commit(br#","b":3"#));
        h.truncate(n);
        assert!(h.commit(br#","b":3}"#));
    }
}
