//! Unquantized float types: one element per "block".

pub(super) fn f32_block(src: &[u8], dst: &mut [f32]) {
    dst[0] = f32::from_le_bytes([src[0], src[1], src[2], src[3]]);
}

pub(super) fn f16_block(src: &[u8], dst: &mut [f32]) {
    dst[0] = super::f16_at(src, 0);
}

pub(super) fn bf16_block(src: &[u8], dst: &mut [f32]) {
    dst[0] = half::bf16::from_le_bytes([src[0], src[1]]).to_f32();
}
