//! Tile kernels: `MR` activation rows × `NR` weight rows, each a dot product
//! over a range of elements.
//!
//! With `u` and the group scales of [`super::unpack`] and the activation
//! layout of [`super::act`], a tile computes, per output,
//!
//! ```text
//! Σ_lanes scale·xs·(bias + Σ_{4 elements} u·q)
//! ```
//!
//! where the integer lane sums are exact and everything else is `f32`.
//! Q4_K's float offsets are subtracted afterwards by the driver, for a whole
//! row of outputs at once.

use std::ops::Range;

use super::Isa;
use super::act::{ActTile, GROUP, LANE};
use super::unpack::WeightTile;

/// The tile's dot products over elements `ks` (a range of whole 32-element
/// blocks), with the kernel for `isa` (which must be supported). `wide` says
/// that weight values may exceed 127 ([`super::QuantFormat`]).
#[inline]
pub(crate) fn tile<const MR: usize, const NR: usize>(
    isa: Isa,
    wide: bool,
    w: &WeightTile<'_, NR>,
    x: &ActTile<'_, MR>,
    ks: Range<usize>,
) -> [[f32; NR]; MR] {
    #[cfg(target_arch = "x86_64")]
    {
        use super::{micro_avx2 as avx2, micro_avx512 as avx512};
        // SAFETY (all arms): callers only pass instruction sets the CPU
        // supports (`gemm::matmul` checks `Isa::is_supported` once per call).
        match (isa, wide) {
            (Isa::Avx512Vnni, _) => return unsafe { avx512::tile::<MR, NR>(w, x, ks) },
            (Isa::Avx2, true) => return unsafe { avx2::tile::<MR, NR, true>(w, x, ks) },
            (Isa::Avx2, false) => return unsafe { avx2::tile::<MR, NR, false>(w, x, ks) },
            (Isa::Scalar, _) => {}
        }
    }
    tile_scalar::<MR, NR>(w, x, ks)
}

/// The portable kernel, and the reference the SIMD ones are tested against.
pub(crate) fn tile_scalar<const MR: usize, const NR: usize>(
    w: &WeightTile<'_, NR>,
    x: &ActTile<'_, MR>,
    ks: Range<usize>,
) -> [[f32; NR]; MR] {
    let k = x.k;
    let lanes = ks.start / LANE..ks.end / LANE;
    let groups = ks.start / GROUP..ks.end / GROUP;
    let mut out = [[0.0f32; NR]; MR];
    for (i, out) in out.iter_mut().enumerate() {
        let xv = &x.vals[i * k..][ks.clone()];
        let xs = &x.scales[i * k / LANE..][lanes.clone()];
        let bias = &x.bias[i * k / LANE..][lanes.clone()];
        for (j, out) in out.iter_mut().enumerate() {
            let wv = &w.vals[j * k..][ks.clone()];
            let ws = &w.scales[j * k / GROUP..][groups.clone()];
            let mut acc = 0.0f32;
            let quads = wv.chunks_exact(LANE).zip(xv.chunks_exact(LANE));
            for (l, (u, q)) in quads.enumerate() {
                let dot: i32 = u
                    .iter()
                    .zip(q)
                    .map(|(&u, &q)| i32::from(u) * i32::from(q))
                    .sum();
                acc += (bias[l] + dot) as f32 * (ws[l * LANE / GROUP] * xs[l]);
            }
            *out = acc;
        }
    }
    out
}
