//! The 256-element "k-quant" super-block formats.
//!
//! Q4_K and Q5_K split a super-block into eight 32-element sub-blocks, each with a 6-bit
//! scale and a 6-bit min packed into 12 bytes; Q6_K has sixteen 16-element sub-blocks with
//! signed 8-bit scales.

use super::f16_at;

/// Unpacks the 6-bit (scale, min) pair of sub-block `j` from the 12 packed bytes: the first
/// four pairs sit in the low 6 bits of bytes 0..8, the last four are split between the
/// nibbles of bytes 8..12 and the top 2 bits of bytes 0..8.
#[inline]
fn scale_min_k4(j: usize, q: &[u8]) -> (f32, f32) {
    if j < 4 {
        ((q[j] & 63) as f32, (q[j + 4] & 63) as f32)
    } else {
        let sc = (q[j + 4] & 0x0f) | ((q[j - 4] >> 6) << 4);
        let m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
        (sc as f32, m as f32)
    }
}

/// `{ f16 d; f16 dmin; u8 scales[12]; u8 qs[128] }`, `x = d*sc*q - dmin*m`.
pub(super) fn q4_k_block(src: &[u8], dst: &mut [f32]) {
    let d = f16_at(src, 0);
    let dmin = f16_at(src, 2);
    let scales = &src[4..16];
    let qs = &src[16..144];
    for (chunk, (q, y)) in qs
        .chunks_exact(32)
        .zip(dst.chunks_exact_mut(64))
        .enumerate()
    {
        let (sc1, m1) = scale_min_k4(2 * chunk, scales);
        let (sc2, m2) = scale_min_k4(2 * chunk + 1, scales);
        let (d1, m1) = (d * sc1, dmin * m1);
        let (d2, m2) = (d * sc2, dmin * m2);
        for l in 0..32 {
            y[l] = d1 * (q[l] & 0x0f) as f32 - m1;
            y[l + 32] = d2 * (q[l] >> 4) as f32 - m2;
        }
    }
}

/// `{ f16 d; f16 dmin; u8 scales[12]; u8 qh[32]; u8 qs[128] }`: Q4_K plus a fifth bit per
/// element from `qh` (two bits of each `qh` byte per 64-element chunk).
pub(super) fn q5_k_block(src: &[u8], dst: &mut [f32]) {
    let d = f16_at(src, 0);
    let dmin = f16_at(src, 2);
    let scales = &src[4..16];
    let qh = &src[16..48];
    let qs = &src[48..176];
    for (chunk, (q, y)) in qs
        .chunks_exact(32)
        .zip(dst.chunks_exact_mut(64))
        .enumerate()
    {
        let (sc1, m1) = scale_min_k4(2 * chunk, scales);
        let (sc2, m2) = scale_min_k4(2 * chunk + 1, scales);
        let (d1, m1) = (d * sc1, dmin * m1);
        let (d2, m2) = (d * sc2, dmin * m2);
        let u1 = 1u8 << (2 * chunk);
        let u2 = 2u8 << (2 * chunk);
        for l in 0..32 {
            let h1 = if qh[l] & u1 != 0 { 16 } else { 0 };
            let h2 = if qh[l] & u2 != 0 { 16 } else { 0 };
            y[l] = d1 * ((q[l] & 0x0f) + h1) as f32 - m1;
            y[l + 32] = d2 * ((q[l] >> 4) + h2) as f32 - m2;
        }
    }
}

/// `{ u8 ql[128]; u8 qh[64]; i8 scales[16]; f16 d }`, 6-bit values offset by 32.
pub(super) fn q6_k_block(src: &[u8], dst: &mut [f32]) {
    let d = f16_at(src, 208);
    for half in 0..2 {
        let ql = &src[64 * half..64 * half + 64];
        let qh = &src[128 + 32 * half..128 + 32 * half + 32];
        let sc = &src[192 + 8 * half..192 + 8 * half + 8];
        let y = &mut dst[128 * half..128 * half + 128];
        for l in 0..32 {
            let is = l / 16;
            let q1 = ((ql[l] & 0x0f) | ((qh[l] & 3) << 4)) as i32 - 32;
            let q2 = ((ql[l + 32] & 0x0f) | (((qh[l] >> 2) & 3) << 4)) as i32 - 32;
            let q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) as i32 - 32;
            let q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) as i32 - 32;
            y[l] = d * (sc[is] as i8) as f32 * q1 as f32;
            y[l + 32] = d * (sc[is + 2] as i8) as f32 * q2 as f32;
            y[l + 64] = d * (sc[is + 4] as i8) as f32 * q3 as f32;
            y[l + 96] = d * (sc[is + 6] as i8) as f32 * q4 as f32;
        }
    }
}

/// `{ f32 d; i8 qs[256]; i16 bsums[16] }`; `bsums` only serve dot products.
pub(super) fn q8_k_block(src: &[u8], dst: &mut [f32]) {
    let d = f32::from_le_bytes([src[0], src[1], src[2], src[3]]);
    for (y, &q) in dst.iter_mut().zip(&src[4..260]) {
        *y = (q as i8) as f32 * d;
    }
}
