//! The original 32-element block formats: one f16 scale `d` per block, `x = d * q`.

use super::f16_at;

/// `{ f16 d; u8 qs[16] }`: low nibbles are elements 0..16, high nibbles 16..32, offset 8.
pub(super) fn q4_0_block(src: &[u8], dst: &mut [f32]) {
    let d = f16_at(src, 0);
    let qs = &src[2..18];
    for j in 0..16 {
        dst[j] = ((qs[j] & 0x0f) as i32 - 8) as f32 * d;
        dst[j + 16] = ((qs[j] >> 4) as i32 - 8) as f32 * d;
    }
}

/// `{ f16 d; u8 qh[4]; u8 qs[16] }`: nibbles as in Q4_0 plus a fifth bit from `qh`
/// (bit j for element j, bit j+16 for element j+16), offset 16.
pub(super) fn q5_0_block(src: &[u8], dst: &mut [f32]) {
    let d = f16_at(src, 0);
    let qh = u32::from_le_bytes([src[2], src[3], src[4], src[5]]);
    let qs = &src[6..22];
    for j in 0..16 {
        let h0 = ((qh >> j) & 1) << 4;
        let h1 = ((qh >> (j + 16)) & 1) << 4;
        let x0 = ((qs[j] & 0x0f) as u32 | h0) as i32 - 16;
        let x1 = ((qs[j] >> 4) as u32 | h1) as i32 - 16;
        dst[j] = x0 as f32 * d;
        dst[j + 16] = x1 as f32 * d;
    }
}

/// `{ f16 d; i8 qs[32] }`.
pub(super) fn q8_0_block(src: &[u8], dst: &mut [f32]) {
    let d = f16_at(src, 0);
    for (y, &q) in dst.iter_mut().zip(&src[2..34]) {
        *y = (q as i8) as f32 * d;
    }
}
