//! Drops a leading UTF-8 byte-order mark. Spreadsheet programs write one in
//! "CSV UTF-8" exports; left in place it would become part of the first
//! column's name and that column would look missing.

use std::io::{self, Read};

const BOM: &[u8; 3] = b"\xEF\xBB\xBF";

/// A reader that skips `EF BB BF` at the very start of `inner`.
#[derive(Debug)]
pub struct SkipBom<R> {
    inner: R,
    /// Bytes read ahead while looking for the mark and not yet returned.
    head: [u8; 3],
    head_len: usize,
    head_pos: usize,
    checked: bool,
    skipped: u64,
}

impl<R: Read> SkipBom<R> {
    pub fn new(inner: R) -> Self {
        Self {
            inner,
            head: [0; 3],
            head_len: 0,
            head_pos: 0,
            checked: false,
            skipped: 0,
        }
    }

    /// Bytes dropped (3 when a mark was found, else 0).
    pub fn skipped(&self) -> u64 {
        self.skipped
    }

    fn check(&mut self) -> io::Result<()> {
        // Short reads (pipes) may deliver the mark piecewise.
        while self.head_len < 3 {
            match self.inner.read(&mut self.head[self.head_len..]) {
                Ok(0) => break,
                Ok(n) => self.head_len += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        if self.head_len == 3 && &self.head == BOM {
            self.head_pos = 3;
            self.skipped = 3;
        }
        self.checked = true;
        Ok(())
    }
}

impl<R: Read> Read for SkipBom<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if !self.checked {
            self.check()?;
        }
        if self.head_pos < self.head_len {
            let n = (self.head_len - self.head_pos).min(buf.len());
            buf[..n].copy_from_slice(&self.head[self.head_pos..self.head_pos + n]);
            self.head_pos += n;
            return Ok(n);
        }
        self.inner.read(buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hands out one byte per read, like a slow pipe.
    struct OneByte<'a>(&'a [u8]);

    impl Read for OneByte<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            match (self.0.split_first(), buf.is_empty()) {
                (Some((b, rest)), false) => {
                    buf[0] = *b;
                    self.0 = rest;
                    Ok(1)
                }
                _ => Ok(0),
            }
        }
    }

    fn all(r: impl Read) -> Vec<u8> {
        let mut out = Vec::new();
        let mut r = r;
        r.read_to_end(&mut out).unwrap();
        out
    }

    #[test]
    fn drops_the_mark_only_at_the_start() {
        assert_eq!(all(SkipBom::new(&b"\xEF\xBB\xBFa,b"[..])), b"a,b");
        assert_eq!(all(SkipBom::new(OneByte(b"\xEF\xBB\xBFa"))), b"a");
        assert_eq!(all(SkipBom::new(&b"a\xEF\xBB\xBF"[..])), b"a\xEF\xBB\xBF");
        assert_eq!(all(SkipBom::new(&b"\xEF\xBB"[..])), b"\xEF\xBB");
        assert_eq!(all(SkipBom::new(&b""[..])), b"");
        let mut r = SkipBom::new(&b"\xEF\xBB\xBF"[..]);
        assert_eq!(all(&mut r), b"");
        assert_eq!(r.skipped(), 3);
    }
}
