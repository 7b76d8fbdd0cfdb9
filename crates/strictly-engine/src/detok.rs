//! Incremental detokenization: byte-level BPE tokens may end in the middle of
//! a UTF-8 character, so text is released only once it is complete.

/// Turns token bytes into text pieces as characters complete.
#[derive(Debug, Default)]
pub(crate) struct Utf8Stream {
    pending: Vec<u8>,
    text: String,
}

impl Utf8Stream {
    /// Adds a token's bytes and returns the text they complete.
    pub(crate) fn push(&mut self, bytes: &[u8]) -> String {
        self.pending.extend_from_slice(bytes);
        let valid = match std::str::from_utf8(&self.pending) {
            Ok(_) => self.pending.len(),
            // An incomplete character at the end waits for the next token; an
            // invalid sequence (impossible under a JSON grammar, possible in
            // free text) is replaced so the stream never stalls.
            Err(err) if err.error_len().is_none() => err.valid_up_to(),
            Err(_) => {
                let lossy = String::from_utf8_lossy(&self.pending).into_owned();
                self.pending.clear();
                self.text.push_str(&lossy);
                return lossy;
            }
        };
        let piece: String = std::str::from_utf8(&self.pending[..valid])
            .map(str::to_owned)
            .unwrap_or_default();
        self.pending.drain(..valid);
        self.text.push_str(&piece);
        piece
    }

    /// The last `n` bytes of the answer so far (fewer at its start),
    /// released text and any incomplete character together.
    pub(crate) fn last_bytes(&self, n: usize) -> Vec<u8> {
        let from_pending = self.pending.len().min(n);
        let from_text = (n - from_pending).min(self.text.len());
        let mut out = Vec::with_capacity(from_text + from_pending);
        out.extend_from_slice(&self.text.as_bytes()[self.text.len() - from_text..]);
        out.extend_from_slice(&self.pending[self.pending.len() - from_pending..]);
        out
    }

    /// All text so far, with any incomplete trailing character replaced.
    pub(crate) fn finish(mut self) -> String {
        if !self.pending.is_empty() {
            self.text.push_str(&String::from_utf8_lossy(&self.pending));
        }
        self.text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_character_is_released_when_complete() {
        let mut s = Utf8Stream::default();
        let euro = "€".as_bytes();
        assert_eq!(s.push(b"a"), "a");
        assert_eq!(s.push(&euro[..1]), "");
        assert_eq!(s.push(&euro[1..2]), "");
        assert_eq!(s.push(&[euro[2], b'b']), "€b");
        s.push(&euro[..2]);
        assert_eq!(s.last_bytes(3), [b'b', euro[0], euro[1]]);
        assert_eq!(s.last_bytes(100).len(), 7);
        s.push(&euro[2..]);
        assert_eq!(s.finish(), "a€b€");
    }

    #[test]
    fn invalid_bytes_do_not_stall() {
        let mut s = Utf8Stream::default();
        assert_eq!(s.push(&[0xff, b'x']), "\u{fffd}x");
        assert_eq!(s.push(b"y"), "y");
    }

    #[test]
    fn trailing_fragment_is_replaced_at_the_end() {
        let mut s = Utf8Stream::default();
        s.push(&"é".as_bytes()[..1]);
        assert_eq!(s.finish(), "\u{fffd}");
    }
}
