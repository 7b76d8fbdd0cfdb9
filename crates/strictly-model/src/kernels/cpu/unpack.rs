//! Unpacking GGUF weight rows into the kernels' integer panel layout.
//!
//! Every format becomes the same thing: one unsigned byte per element plus a
//! scale per 16-element group (the finest granularity, Q6_K's), so a single
//! family of dot-product kernels serves all of them:
//!
//! ```text
//! w_i = scale(g) * (u_i - z) - offset(g)        g = i / 16, u_i in 0..=255
//! ```
//!
//! | format | `u`          | `z`  | scale     | offset      |
//! |--------|--------------|------|-----------|-------------|
//! | Q4_K   | `q` (0..16)  | 0    | `d·sc_j`  | `dmin·m_j`  |
//! | Q5_0   | `q` (0..32)  | 16   | `d`       | —           |
//! | Q6_K   | `q` (0..64)  | 32   | `d·sc_g`  | —           |
//! | Q8_0   | `q+128`      | 128  | `d`       | —           |
//!
//! Unsigned weights are what `vpdpbusd` and `maddubs` want (one operand
//! unsigned, the other signed). The constant zero point `z` is folded into
//! the activations' lane sums ([`super::act`]); Q4_K's float offsets are kept
//! transposed (group-major) so that the driver subtracts them from a whole
//! row of outputs with vector operations. Only Q4_K has offsets.
//!
//! A row is unpacked once per call and reused for every activation row, so
//! prefill amortizes it; for single-row decode it costs about as much as the
//! dot product, which is why it is kept to byte shuffles and two small
//! tables (and why decoding on AVX-512 VNNI skips the panel altogether,
//! see [`super::fused_avx512`]).

use super::act::{ACT_BLOCK, GROUP};
use super::{Isa, QuantFormat};

/// Unpacked weight rows: `u` values, group scales and (Q4_K) group offsets.
#[derive(Debug, Default)]
pub(crate) struct Panel {
    k: usize,
    rows: usize,
    vals: Vec<u8>,
    scales: Vec<f32>,
    /// One per 32 elements (Q4_K's sub-blocks), row-major.
    offsets: Vec<f32>,
    /// `offsets` transposed, if asked for: block `b` of every row at `b * rows..`.
    offsets_t: Vec<f32>,
    /// Whether the last unpack filled `offsets_t`.
    transposed: bool,
}

/// `C` consecutive unpacked weight rows (row `r` at `r * k`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct WeightTile<'a, const C: usize> {
    pub vals: &'a [u8],
    pub scales: &'a [f32],
}

/// The four outputs of an unpacker, for whole blocks of one format.
pub(crate) struct Dest<'a> {
    pub vals: &'a mut [u8],
    pub scales: &'a mut [f32],
    pub offsets: &'a mut [f32],
}

impl Panel {
    /// Unpacks the rows in `src` (whole rows of `k` elements of `format`),
    /// reusing this panel's buffers; `transpose` also fills
    /// [`Panel::offsets_t`].
    pub(crate) fn unpack(
        &mut self,
        format: QuantFormat,
        src: &[u8],
        k: usize,
        transpose: bool,
        isa: Isa,
    ) {
        let blocks = src.len() / format.block_bytes();
        let n = blocks * format.block_elems();
        self.k = k;
        self.rows = n / k.max(1);
        self.vals.resize(n, 0);
        self.scales.resize(n / GROUP, 0.0);
        self.offsets.resize(n / ACT_BLOCK, 0.0);
        let dest = Dest {
            vals: &mut self.vals,
            scales: &mut self.scales,
            offsets: &mut self.offsets,
        };
        match isa {
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512Vnni if isa.is_supported() => {
                // SAFETY: the CPU supports the AVX-512 subset (checked just above).
                unsafe { super::unpack_avx2::unpack_avx512(format, src, dest) }
            }
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 if isa.is_supported() => {
                // SAFETY: the CPU supports AVX2 and F16C (checked just above).
                unsafe { super::unpack_avx2::unpack_avx2(format, src, dest) }
            }
            _ => match format {
                QuantFormat::Q4K => q4_k(src, dest),
                QuantFormat::Q5_0 => q5_0(src, dest),
                QuantFormat::Q6K => q6_k(src, dest),
                QuantFormat::Q8_0 => q8_0(src, dest),
            },
        }
        self.transposed = transpose && format.has_offsets();
        if self.transposed {
            let blocks = k / ACT_BLOCK;
            self.offsets_t.resize(n / ACT_BLOCK, 0.0);
            for (r, row) in self.offsets.chunks_exact(blocks).enumerate() {
                for (b, &o) in row.iter().enumerate() {
                    self.offsets_t[b * self.rows + r] = o;
                }
            }
        }
    }

    /// Offsets of the last unpack, one per 32 elements, row-major
    /// (`[rows][k / 32]`); only meaningful for formats with offsets.
    pub(crate) fn offsets(&self) -> &[f32] {
        &self.offsets
    }

    /// [`Panel::offsets`] transposed (`[k / 32][rows]`), if the last unpack
    /// asked for it (and the format has offsets).
    pub(crate) fn offsets_t(&self) -> Option<&[f32]> {
        self.transposed.then_some(&self.offsets_t[..])
    }

    /// Number of rows unpacked by the last [`Panel::unpack`].
    pub(crate) fn rows(&self) -> usize {
        self.rows
    }

    /// Rows `j0..j0 + C`.
    #[inline]
    pub(crate) fn tile<const C: usize>(&self, j0: usize) -> WeightTile<'_, C> {
        let k = self.k;
        WeightTile {
            vals: &self.vals[j0 * k..(j0 + C) * k],
            scales: &self.scales[j0 * k / GROUP..(j0 + C) * k / GROUP],
        }
    }
}

/// Splits `src` and `dest` into per-block arrays: `B` bytes in, `E` values,
/// `G = E / 16` scales and `O = E / 32` offsets out.
#[inline(always)]
#[allow(clippy::type_complexity)]
pub(crate) fn blocks<'s, 'd, const B: usize, const E: usize, const G: usize, const O: usize>(
    src: &'s [u8],
    dest: Dest<'d>,
) -> impl Iterator<
    Item = (
        &'s [u8; B],
        (&'d mut [u8; E], (&'d mut [f32; G], &'d mut [f32; O])),
    ),
> {
    debug_assert!(E / GROUP == G && E / ACT_BLOCK == O);
    let (src, _) = src.as_chunks::<B>();
    let (vals, _) = dest.vals.as_chunks_mut::<E>();
    let (scales, _) = dest.scales.as_chunks_mut::<G>();
    let (offsets, _) = dest.offsets.as_chunks_mut::<O>();
    src.iter().zip(
        vals.iter_mut()
            .zip(scales.iter_mut().zip(offsets.iter_mut())),
    )
}

/// Little-endian IEEE half at `b[at..at + 2]`.
#[inline(always)]
pub(crate) fn f16_at(b: &[u8], at: usize) -> f32 {
    half::f16::from_le_bytes([b[at], b[at + 1]]).to_f32()
}

/// Q4_K's packed 6-bit (scale, min) of sub-block `j` (ggml's
/// `get_scale_min_k4`): pairs 0..4 sit in the low 6 bits of bytes 0..8, pairs
/// 4..8 in the nibbles of bytes 8..12 plus the top 2 bits of bytes 0..8.
#[inline(always)]
fn q4_k_scale_min(j: usize, q: &[u8; 12]) -> (u8, u8) {
    if j < 4 {
        (q[j] & 63, q[j + 4] & 63)
    } else {
        (
            (q[j + 4] & 0x0f) | ((q[j - 4] >> 6) << 4),
            (q[j + 4] >> 4) | ((q[j] >> 6) << 4),
        )
    }
}

/// Scales and offsets of one Q4_K super-block (8 sub-blocks of 32).
#[inline(always)]
pub(crate) fn q4_k_tables(src: &[u8; 144], d: f32, dmin: f32, s: &mut [f32; 16], o: &mut [f32; 8]) {
    let packed: &[u8; 12] = src[4..16].try_into().unwrap_or(&[0; 12]);
    for j in 0..8 {
        let (sc, m) = q4_k_scale_min(j, packed);
        let (sc, m) = (d * f32::from(sc), dmin * f32::from(m));
        s[2 * j] = sc;
        s[2 * j + 1] = sc;
        o[j] = m;
    }
}

/// Scales of one Q6_K super-block (16 sub-blocks of 16).
#[inline(always)]
pub(crate) fn q6_k_scales(src: &[u8; 210], d: f32, s: &mut [f32; 16]) {
    for g in 0..16 {
        s[g] = d * f32::from(src[192 + g] as i8);
    }
}

/// `{ f16 d; f16 dmin; u8 scales[12]; u8 qs[128] }`: each 32 bytes of `qs`
/// hold sub-block `2c` in the low nibbles and `2c+1` in the high ones.
fn q4_k(src: &[u8], dest: Dest<'_>) {
    for (b, (u, (s, o))) in blocks::<144, 256, 16, 8>(src, dest) {
        q4_k_tables(b, f16_at(b, 0), f16_at(b, 2), s, o);
        for c in 0..4 {
            for l in 0..32 {
                let q = b[16 + 32 * c + l];
                u[64 * c + l] = q & 0x0f;
                u[64 * c + l + 32] = q >> 4;
            }
        }
    }
}

/// `{ f16 d; u8 qh[4]; u8 qs[16] }`: element `j < 16` is the low nibble of
/// `qs[j]` plus bit `j` of `qh` as bit 4; element `j + 16` the high nibble
/// plus bit `j + 16`.
fn q5_0(src: &[u8], dest: Dest<'_>) {
    for (b, (u, (s, _))) in blocks::<22, 32, 2, 1>(src, dest) {
        *s = [f16_at(b, 0); 2];
        let qh = u32::from_le_bytes([b[2], b[3], b[4], b[5]]);
        for j in 0..16 {
            let q = b[6 + j];
            u[j] = (q & 0x0f) | ((((qh >> j) & 1) as u8) << 4);
            u[j + 16] = (q >> 4) | ((((qh >> (j + 16)) & 1) as u8) << 4);
        }
    }
}

/// `{ u8 ql[128]; u8 qh[64]; i8 scales[16]; f16 d }`: in each 128-element
/// half, `ql` holds the low 4 bits (elements `l` and `l+32` in the low
/// nibbles of `ql[l]`, `ql[l+32]`, elements `l+64`, `l+96` in the high ones)
/// and `qh[l]` the top 2 bits of all four.
fn q6_k(src: &[u8], dest: Dest<'_>) {
    for (b, (u, (s, _))) in blocks::<210, 256, 16, 8>(src, dest) {
        q6_k_scales(b, f16_at(b, 208), s);
        for half in 0..2 {
            let (ql, qh, at) = (64 * half, 128 + 32 * half, 128 * half);
            for l in 0..32 {
                let (lo, hi, h) = (b[ql + l], b[ql + l + 32], b[qh + l]);
                u[at + l] = (lo & 0x0f) | ((h & 3) << 4);
                u[at + l + 32] = (hi & 0x0f) | (((h >> 2) & 3) << 4);
                u[at + l + 64] = (lo >> 4) | (((h >> 4) & 3) << 4);
                u[at + l + 96] = (hi >> 4) | (((h >> 6) & 3) << 4);
            }
        }
    }
}

/// `{ f16 d; i8 qs[32] }`: `u = q + 128`, i.e. the sign bit flipped.
fn q8_0(src: &[u8], dest: Dest<'_>) {
    for (b, (u, (s, _))) in blocks::<34, 32, 2, 1>(src, dest) {
        *s = [f16_at(b, 0); 2];
        for (u, &q) in u.iter_mut().zip(&b[2..]) {
            *u = q ^ 0x80;
        }
    }
}
