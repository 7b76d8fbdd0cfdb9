//! GPT-2's byte-level alphabet: every byte is written as a printable character in BPE
//! vocabularies (space becomes `Ġ`, newline `Ċ`), so a token's raw bytes are recovered by
//! mapping each character back.

use std::sync::OnceLock;

/// `char -> byte` for the 256 characters of the alphabet, indexed by code point (all are
/// below 324).
fn table() -> &'static [Option<u8>; 324] {
    static TABLE: OnceLock<[Option<u8>; 324]> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut t = [None; 324];
        let mut extra = 0u32;
        for b in 0..=255u8 {
            let printable = matches!(b, b'!'..=b'~' | 0xa1..=0xac | 0xae..=0xff);
            let c = if printable {
                u32::from(b)
            } else {
                extra += 1;
                255 + extra
            };
            t[c as usize] = Some(b);
        }
        t
    })
}

/// The raw bytes a byte-level token string stands for, or `None` if some character is not
/// in the alphabet (the string is then not byte-level encoded).
pub(crate) fn decode(token: &str) -> Option<Vec<u8>> {
    token
        .chars()
        .map(|c| table().get(c as usize).copied().flatten())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_characters() {
        assert_eq!(decode("Ġ").unwrap(), b" ");
        assert_eq!(decode("Ċ").unwrap(), b"\n");
        assert_eq!(decode("ĉ").unwrap(), b"\t");
        assert_eq!(decode("Ā").unwrap(), [0u8]);
        assert_eq!(decode("hello").unwrap(), b"hello");
        // "é" in UTF-8 is c3 a9, written as the characters U+00C3 U+00A9.
        assert_eq!(decode("Ã©").unwrap(), "é".as_bytes());
        assert_eq!(decode("日"), None);
    }

    #[test]
    fn alphabet_is_a_bijection() {
        let mut seen = [false; 256];
        for b in table().iter().flatten() {
            assert!(!seen[*b as usize]);
            seen[*b as usize] = true;
        }
        assert!(seen.iter().all(|&s| s));
    }
}
