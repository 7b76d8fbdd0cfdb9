//! Tile kernels: `MR` activation rows × `NR` weight rows, each a full dot
//! product over `k`.
//!
//! With `u`, the group scales and offsets of [`super::unpack`] and the
//! activation layout of [`super::act`], every output is
//!
//! ```text
//! y = Σ_lanes scale·xs·(bias + Σ_{4 elements} u·q)  −  Σ_groups offset·sum
//! ```
//!
//! where the integer lane sums are exact and everything else is `f32`; the
//! offset term exists only for Q4_K (`OFFSETS`).

use super::Isa;
use super::act::{ActTile, GROUP, LANE};
use super::unpack::WeightTile;

/// What a tile kernel needs to know about the weight format.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Kind {
    /// Weight values may exceed 127 (AVX2 must split them).
    pub wide: bool,
    /// The format has per-group float offsets.
    pub offsets: bool,
}

/// Computes the tile with the kernel for `isa` (which must be supported).
#[inline]
pub(crate) fn tile<const MR: usize, const NR: usize>(
    isa: Isa,
    kind: Kind,
    w: &WeightTile<'_, NR>,
    x: &ActTile<'_, MR>,
) -> [[f32; NR]; MR] {
    #[cfg(target_arch = "x86_64")]
    {
        use super::{micro_avx2 as avx2, micro_avx512 as avx512};
        // SAFETY (all arms): callers only pass instruction sets the CPU
        // supports (`gemm::matmul` checks `Isa::is_supported` once per call).
        match (isa, kind.offsets, kind.wide) {
            (Isa::Avx512Vnni, true, _) => return unsafe { avx512::tile::<MR, NR, true>(w, x) },
            (Isa::Avx512Vnni, false, _) => return unsafe { avx512::tile::<MR, NR, false>(w, x) },
            (Isa::Avx2, true, true) => return unsafe { avx2::tile::<MR, NR, true, true>(w, x) },
            (Isa::Avx2, true, false) => return unsafe { avx2::tile::<MR, NR, true, false>(w, x) },
            (Isa::Avx2, false, true) => return unsafe { avx2::tile::<MR, NR, false, true>(w, x) },
            (Isa::Avx2, false, false) => {
                return unsafe { avx2::tile::<MR, NR, false, false>(w, x) };
            }
            (Isa::Scalar, ..) => {}
        }
    }
    tile_scalar::<MR, NR>(kind, w, x)
}

/// The portable kernel, and the reference the SIMD ones are tested against.
pub(crate) fn tile_scalar<const MR: usize, const NR: usize>(
    kind: Kind,
    w: &WeightTile<'_, NR>,
    x: &ActTile<'_, MR>,
) -> [[f32; NR]; MR] {
    let k = x.k;
    let mut out = [[0.0f32; NR]; MR];
    for (i, out) in out.iter_mut().enumerate() {
        let xv = &x.vals[i * k..(i + 1) * k];
        let xs = &x.scales[i * k / LANE..(i + 1) * k / LANE];
        let bias = &x.bias[i * k / LANE..(i + 1) * k / LANE];
        for (j, out) in out.iter_mut().enumerate() {
            let wv = &w.vals[j * k..(j + 1) * k];
            let ws = &w.scales[j * k / GROUP..(j + 1) * k / GROUP];
            let mut acc = 0.0f32;
            let lanes = wv.chunks_exact(LANE).zip(xv.chunks_exact(LANE));
            for (l, (u, q)) in lanes.enumerate() {
                let dot: i32 = u
                    .iter()
                    .zip(q)
                    .map(|(&u, &q)| i32::from(u) * i32::from(q))
                    .sum();
                acc += (bias[l] + dot) as f32 * (ws[l * LANE / GROUP] * xs[l]);
            }
            if kind.offsets {
                let wo = &w.offsets[j * k / GROUP..(j + 1) * k / GROUP];
                let sums = &x.sums[i * k / GROUP..(i + 1) * k / GROUP];
                acc -= wo.iter().zip(sums).map(|(o, s)| o * s).sum::<f32>();
            }
            *out = acc;
        }
    }
    out
}
