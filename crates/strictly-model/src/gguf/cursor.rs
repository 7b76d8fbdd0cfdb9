//! A bounds-checked little-endian reader over the file's bytes.
//!
//! Every read checks the remaining length first, so a truncated or lying file turns into
//! [`GgufError::Truncated`] instead of a panic or an out-of-bounds read.

use super::GgufError;

pub(super) struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    pub(super) fn new(bytes: &'a [u8]) -> Self {
        Cursor { bytes, pos: 0 }
    }

    pub(super) fn pos(&self) -> usize {
        self.pos
    }

    pub(super) fn offset(&self) -> u64 {
        self.pos as u64
    }

    pub(super) fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }

    pub(super) fn take(&mut self, n: u64, what: &'static str) -> Result<&'a [u8], GgufError> {
        let available = self.remaining();
        match usize::try_from(n) {
            Ok(n) if n <= available => {
                let out = &self.bytes[self.pos..self.pos + n];
                self.pos += n;
                Ok(out)
            }
            _ => Err(GgufError::Truncated {
                what,
                offset: self.offset(),
                needed: n,
                available: available as u64,
            }),
        }
    }

    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], GgufError> {
        let b = self.take(N as u64, what)?;
        let mut out = [0u8; N];
        out.copy_from_slice(b);
        Ok(out)
    }

    pub(super) fn u8(&mut self, what: &'static str) -> Result<u8, GgufError> {
        Ok(self.array::<1>(what)?[0])
    }

    pub(super) fn u16(&mut self, what: &'static str) -> Result<u16, GgufError> {
        self.array(what).map(u16::from_le_bytes)
    }

    pub(super) fn u32(&mut self, what: &'static str) -> Result<u32, GgufError> {
        self.array(what).map(u32::from_le_bytes)
    }

    pub(super) fn u64(&mut self, what: &'static str) -> Result<u64, GgufError> {
        self.array(what).map(u64::from_le_bytes)
    }

    pub(super) fn f32(&mut self, what: &'static str) -> Result<f32, GgufError> {
        self.array(what).map(f32::from_le_bytes)
    }

    pub(super) fn f64(&mut self, what: &'static str) -> Result<f64, GgufError> {
        self.array(what).map(f64::from_le_bytes)
    }

    /// A GGUF string: u64 byte length, then UTF-8 bytes (no terminator).
    pub(super) fn string(&mut self, what: &'static str) -> Result<String, GgufError> {
        let len = self.u64(what)?;
        let at = self.offset();
        let raw = self.take(len, what)?;
        std::str::from_utf8(raw)
            .map(str::to_owned)
            .map_err(|_| GgufError::InvalidUtf8 { offset: at })
    }

    /// Reads a count of items that each take at least `min_item_bytes` in the file, and
    /// rejects counts the rest of the file cannot possibly hold, so that no caller ever
    /// preallocates memory on the word of a corrupt header.
    pub(super) fn count(
        &mut self,
        min_item_bytes: usize,
        what: &'static str,
    ) -> Result<usize, GgufError> {
        let offset = self.offset();
        let count = self.u64(what)?;
        let fits = (self.remaining() / min_item_bytes.max(1)) as u64;
        if count > fits {
            return Err(GgufError::CountTooLarge {
                what,
                count,
                offset,
            });
        }
        // `count <= remaining`, which is a usize.
        Ok(count as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_are_bounded() {
        let bytes = [1u8, 0, 0, 0, 9];
        let mut c = Cursor::new(&bytes);
        assert_eq!(c.u32("x").unwrap(), 1);
        assert!(matches!(
            c.u32("y"),
            Err(GgufError::Truncated {
                needed: 4,
                available: 1,
                ..
            })
        ));
        assert_eq!(c.u8("z").unwrap(), 9);
        assert!(c.take(u64::MAX, "huge").is_err());
    }

    #[test]
    fn counts_are_capped_by_the_file() {
        let mut bytes = 3u64.to_le_bytes().to_vec();
        bytes.extend([0u8; 24]);
        assert_eq!(Cursor::new(&bytes).count(8, "items").unwrap(), 3);
        assert!(matches!(
            Cursor::new(&bytes).count(9, "items"),
            Err(GgufError::CountTooLarge { count: 3, .. })
        ));
    }

    #[test]
    fn strings_must_be_utf8() {
        let mut bytes = 2u64.to_le_bytes().to_vec();
        bytes.extend([0xff, 0xfe]);
        assert!(matches!(
            Cursor::new(&bytes).string("s"),
            Err(GgufError::InvalidUtf8 { offset: 8 })
        ));
    }
}
