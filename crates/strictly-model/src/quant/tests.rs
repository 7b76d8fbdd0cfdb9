//! Hand-computed blocks for each format, plus the fixtures produced by an independent
//! implementation (`tests/reference/quant`).

use super::*;

fn h(x: f32) -> [u8; 2] {
    half::f16::from_f32(x).to_le_bytes()
}

fn decode(ty: GgmlType, bytes: &[u8]) -> Vec<f32> {
    let n = bytes.len() / ty.type_size() * ty.block_size();
    let mut out = vec![f32::NAN; n];
    dequantize(ty, bytes, n, &mut out).unwrap();
    out
}

#[test]
fn floats() {
    let bytes: Vec<u8> = [1.5f32, -0.25]
        .iter()
        .flat_map(|x| x.to_le_bytes())
        .collect();
    assert_eq!(decode(GgmlType::F32, &bytes), [1.5, -0.25]);
    let bytes: Vec<u8> = [h(1.5), h(-65504.0)].concat();
    assert_eq!(decode(GgmlType::F16, &bytes), [1.5, -65504.0]);
    // bf16 is the top half of an f32: 0x3fc0 = 1.5, 0xc2f7 = -123.5.
    assert_eq!(
        decode(GgmlType::BF16, &[0xc0, 0x3f, 0xf7, 0xc2]),
        [1.5, -123.5]
    );
}

#[test]
fn q8_0() {
    let mut b = h(0.25).to_vec();
    b.extend((0..32).map(|i: i32| (i * 8 - 128) as i8 as u8));
    let want: Vec<f32> = (0..32).map(|i| (i * 8 - 128) as f32 * 0.25).collect();
    assert_eq!(decode(GgmlType::Q8_0, &b), want);
}

#[test]
fn q4_0() {
    // Low nibble j -> element j, high nibble -> element j+16, both minus 8.
    let mut b = h(2.0).to_vec();
    b.extend((0..16u8).map(|j| j | ((15 - j) << 4)));
    let mut want: Vec<f32> = (0..16).map(|j| (j - 8) as f32 * 2.0).collect();
    want.extend((0..16).map(|j| (7 - j) as f32 * 2.0));
    assert_eq!(decode(GgmlType::Q4_0, &b), want);
}

#[test]
fn q5_0() {
    // qh bit j adds 16 to element j; bit j+16 to element j+16. Set bits 0 and 31.
    let mut b = h(0.5).to_vec();
    b.extend((1u32 | (1 << 31)).to_le_bytes());
    b.extend([0x31u8; 16]); // low nibble 1, high nibble 3
    let mut want = vec![(1 - 16) as f32 * 0.5; 16];
    want.extend(vec![(3 - 16) as f32 * 0.5; 16]);
    want[0] = (1 + 16 - 16) as f32 * 0.5;
    want[31] = (3 + 16 - 16) as f32 * 0.5;
    assert_eq!(decode(GgmlType::Q5_0, &b), want);
}

/// The 12 packed bytes for eight (scale, min) pairs of 6 bits each.
fn pack_scales(sc: [u8; 8], m: [u8; 8]) -> [u8; 12] {
    let mut q = [0u8; 12];
    for j in 0..4 {
        q[j] = sc[j] | ((sc[j + 4] >> 4) << 6);
        q[j + 4] = m[j] | ((m[j + 4] >> 4) << 6);
        q[j + 8] = (sc[j + 4] & 0x0f) | ((m[j + 4] & 0x0f) << 4);
    }
    q
}

#[test]
fn q4_k() {
    let sc = [1, 2, 3, 63, 17, 33, 48, 63];
    let m = [0, 5, 63, 1, 40, 16, 2, 63];
    let (d, dmin) = (0.5f32, 0.125f32);
    let mut b = [h(d), h(dmin)].concat();
    b.extend(pack_scales(sc, m));
    // Byte l of chunk c: low nibble = (l + c) % 16, high nibble = (l * 3) % 16.
    for c in 0..4 {
        b.extend((0..32).map(|l| ((l + c) % 16) as u8 | ((((l * 3) % 16) as u8) << 4)));
    }
    let mut want = Vec::new();
    for c in 0..4 {
        let (s1, m1) = (sc[2 * c] as f32, m[2 * c] as f32);
        let (s2, m2) = (sc[2 * c + 1] as f32, m[2 * c + 1] as f32);
        want.extend((0..32).map(|l| d * s1 * ((l + c) % 16) as f32 - dmin * m1));
        want.extend((0..32).map(|l| d * s2 * ((l * 3) % 16) as f32 - dmin * m2));
    }
    assert_eq!(decode(GgmlType::Q4_K, &b), want);
}

#[test]
fn q5_k() {
    let sc = [9, 2, 3, 4, 5, 6, 7, 8];
    let m = [1, 2, 3, 4, 5, 6, 7, 63];
    let (d, dmin) = (0.25f32, 1.0f32);
    let mut b = [h(d), h(dmin)].concat();
    b.extend(pack_scales(sc, m));
    // qh byte l: bit 2c is the fifth bit of element l of chunk c's low half, bit 2c+1 of its
    // high half. Use qh[l] = l * 7 (mod 256).
    let qh: Vec<u8> = (0..32).map(|l| (l * 7) as u8).collect();
    b.extend(&qh);
    b.extend(std::iter::repeat_n(0x5au8, 128)); // low nibble 10, high nibble 5
    let mut want = Vec::new();
    for c in 0..4 {
        let (s1, m1) = (sc[2 * c] as f32, m[2 * c] as f32);
        let (s2, m2) = (sc[2 * c + 1] as f32, m[2 * c + 1] as f32);
        let bit = |l: usize, k: usize| if qh[l] >> k & 1 == 1 { 16.0 } else { 0.0 };
        want.extend((0..32).map(|l| d * s1 * (10.0 + bit(l, 2 * c)) - dmin * m1));
        want.extend((0..32).map(|l| d * s2 * (5.0 + bit(l, 2 * c + 1)) - dmin * m2));
    }
    assert_eq!(decode(GgmlType::Q5_K, &b), want);
}

#[test]
fn q6_k() {
    // Element e of a 128-half: sub-group g = e / 32, lane l = e % 32. ql[l] low nibbles feed
    // g=0, ql[l+32] low g=1, ql[l] high g=2, ql[l+32] high g=3; qh[l] bits 2g..2g+2 are the
    // top bits; the scale index is 2g + l/16 (+8 for the second half).
    let ql: Vec<u8> = (0..128).map(|i| (i * 37 % 256) as u8).collect();
    let qh: Vec<u8> = (0..64).map(|i| (i * 91 % 256) as u8).collect();
    let scales: Vec<i8> = (0..16).map(|i| (i as i8 - 8) * 9).collect();
    let d = 0.0625f32;
    let mut b = ql.clone();
    b.extend(&qh);
    b.extend(scales.iter().map(|&s| s as u8));
    b.extend(h(d));
    let mut want = vec![0f32; 256];
    for half in 0..2 {
        for g in 0..4 {
            for l in 0..32 {
                let lo_byte = ql[64 * half + l + 32 * (g % 2)];
                let lo = if g < 2 { lo_byte & 15 } else { lo_byte >> 4 };
                let hi = (qh[32 * half + l] >> (2 * g)) & 3;
                let q = ((lo | (hi << 4)) as i32 - 32) as f32;
                let s = scales[8 * half + 2 * g + l / 16] as f32;
                want[128 * half + 32 * g + l] = d * s * q;
            }
        }
    }
    assert_eq!(decode(GgmlType::Q6_K, &b), want);
}

#[test]
fn q8_k() {
    let mut b = 0.75f32.to_le_bytes().to_vec();
    b.extend((0..256).map(|i| (i as u8).wrapping_mul(3)));
    b.extend([0u8; 32]);
    let want: Vec<f32> = (0..256)
        .map(|i| ((i as u8).wrapping_mul(3) as i8) as f32 * 0.75)
        .collect();
    assert_eq!(decode(GgmlType::Q8_K, &b), want);
}

#[test]
fn length_errors() {
    let mut out = vec![0.0; 32];
    assert_eq!(
        dequantize(GgmlType::Q8_0, &[0; 33], 32, &mut out),
        Err(QuantError::InputLength {
            ty: GgmlType::Q8_0,
            n_elems: 32,
            expected: 34,
            actual: 33
        })
    );
    assert!(matches!(
        dequantize(GgmlType::Q8_0, &[0; 34], 16, &mut out[..16]),
        Err(QuantError::PartialBlock { .. })
    ));
    assert!(matches!(
        dequantize(GgmlType::Q8_0, &[0; 34], 32, &mut out[..31]),
        Err(QuantError::OutputLength { .. })
    ));
    assert_eq!(
        dequantize(GgmlType::Q2_K, &[0; 84], 256, &mut vec![0.0; 256]),
        Err(QuantError::Unsupported(GgmlType::Q2_K))
    );
}

#[test]
fn parallel_path_matches_serial() {
    // Enough blocks to take the rayon path; compare against block-by-block decoding.
    let n_blocks = PARALLEL_MIN_BLOCKS + 3;
    let bytes: Vec<u8> = (0..n_blocks * 34)
        .map(|i| {
            if i % 34 == 1 {
                0x3c
            } else {
                (i * 131 % 251) as u8
            }
        })
        .collect();
    let all = decode(GgmlType::Q8_0, &bytes);
    for (blk, want) in bytes.chunks(34).zip(all.chunks(32)).step_by(97) {
        assert_eq!(decode(GgmlType::Q8_0, blk), want);
    }
}

/// Blocks decoded by the `gguf` Python package; see `tests/reference/quant/make_blocks.py`.
const REFERENCE: &str = include_str!("../../../../tests/reference/quant/blocks.json");

fn type_by_name(name: &str) -> GgmlType {
    (0..64)
        .filter_map(GgmlType::from_id)
        .find(|t| format!("{t:?}") == name)
        .unwrap_or_else(|| panic!("unknown type {name} in fixture"))
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn matches_independent_reference() {
    let doc: serde_json::Value = serde_json::from_str(REFERENCE).unwrap();
    let cases = doc["cases"].as_array().unwrap();
    let mut seen = std::collections::BTreeSet::new();
    for c in cases {
        let ty = type_by_name(c["type"].as_str().unwrap());
        let source = c["source"].as_str().unwrap();
        let bytes = hex(c["bytes"].as_str().unwrap());
        let want: Vec<u32> = c["f32_bits"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| u32::from_str_radix(v.as_str().unwrap(), 16).unwrap())
            .collect();
        let got: Vec<u32> = decode(ty, &bytes).iter().map(|v| v.to_bits()).collect();
        assert_eq!(got.len(), want.len(), "{ty:?} from {source}");
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert_eq!(
                g,
                w,
                "{ty:?} from {source}, element {i}: {} vs reference {}",
                f32::from_bits(*g),
                f32::from_bits(*w)
            );
        }
        seen.insert(format!("{ty:?}"));
    }
    for required in [
        "F32", "F16", "BF16", "Q4_0", "Q5_0", "Q8_0", "Q4_K", "Q5_K", "Q6_K",
    ] {
        assert!(seen.contains(required), "fixture lacks {required}");
    }
}
