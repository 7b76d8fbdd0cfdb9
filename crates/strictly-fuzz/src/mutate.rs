//! Byte-level mutations in the style of libFuzzer's: bit flips, byte
//! changes, inserts, deletes, copies within the input, splices with another
//! corpus entry, dictionary tokens and boundary integers.

use rand::Rng;
use rand::rngs::StdRng;

/// Integers at the edges of common widths, little-endian and as text.
const INTERESTING: [u64; 12] = [
    0,
    1,
    0x7f,
    0x80,
    0xff,
    0x7fff,
    0xffff,
    0x7fff_ffff,
    0xffff_ffff,
    0x7fff_ffff_ffff_ffff,
    u64::MAX,
    1 << 40,
];

/// One to four mutations of `base`, sometimes spliced with `other`.
pub fn mutate(base: &[u8], other: &[u8], dictionary: &[&[u8]], rng: &mut StdRng) -> Vec<u8> {
    let mut out = base.to_vec();
    for _ in 0..rng.random_range(1..=4) {
        mutate_once(&mut out, other, dictionary, rng);
    }
    out
}

fn mutate_once(out: &mut Vec<u8>, other: &[u8], dictionary: &[&[u8]], rng: &mut StdRng) {
    let len = out.len();
    match rng.random_range(0..10) {
        0 if len > 0 => {
            let i = rng.random_range(0..len);
            out[i] ^= 1 << rng.random_range(0..8);
        }
        1 if len > 0 => {
            let i = rng.random_range(0..len);
            out[i] = rng.random();
        }
        2 => {
            let i = rng.random_range(0..=len);
            let n = rng.random_range(1..=8);
            let bytes: Vec<u8> = (0..n).map(|_| rng.random()).collect();
            out.splice(i..i, bytes);
        }
        3 if len > 0 => {
            let start = rng.random_range(0..len);
            let end = (start + rng.random_range(1..=len.min(64))).min(len);
            out.drain(start..end);
        }
        4 if len > 0 => {
            // Copy a range to another place: repeats nesting, members, rows.
            let start = rng.random_range(0..len);
            let end = (start + rng.random_range(1..=len.min(256))).min(len);
            let chunk = out[start..end].to_vec();
            let at = rng.random_range(0..=len);
            out.splice(at..at, chunk);
        }
        5 if !other.is_empty() => {
            let cut = rng.random_range(0..=len);
            let from = rng.random_range(0..other.len());
            out.truncate(cut);
            out.extend_from_slice(&other[from..]);
        }
        6 | 7 if !dictionary.is_empty() => {
            let token = dictionary[rng.random_range(0..dictionary.len())];
            let at = rng.random_range(0..=len);
            if rng.random_bool(0.5) || len == 0 {
                out.splice(at..at, token.iter().copied());
            } else {
                let end = (at + token.len()).min(len);
                out.splice(at..end, token.iter().copied());
            }
        }
        8 if len > 0 => {
            let value = INTERESTING[rng.random_range(0..INTERESTING.len())];
            let width = [1usize, 2, 4, 8][rng.random_range(0..4)];
            let at = rng.random_range(0..len);
            let bytes = value.to_le_bytes();
            for (k, b) in bytes.iter().take(width).enumerate() {
                if let Some(slot) = out.get_mut(at + k) {
                    *slot = *b;
                }
            }
        }
        _ => {
            // A boundary integer as text (numbers in JSON and CSV).
            let value = INTERESTING[rng.random_range(0..INTERESTING.len())];
            let text = if rng.random_bool(0.3) {
                format!("-{value}")
            } else {
                value.to_string()
            };
            let at = rng.random_range(0..=len);
            out.splice(at..at, text.into_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_mutations() {
        let run = || {
            let mut rng = StdRng::seed_from_u64(7);
            (0..100)
                .map(|_| mutate(b"{\"type\":\"string\"}", b"[1,2]", &[b"null"], &mut rng))
                .collect::<Vec<_>>()
        };
        let first = run();
        assert_eq!(first, run());
        assert!(
            first
                .iter()
                .any(|m| m.as_slice() != b"{\"type\":\"string\"}")
        );
    }
}
