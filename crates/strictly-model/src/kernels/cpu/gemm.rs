//! The matrix product driver: quantize the activations once, then split the
//! weight rows into chunks that the rayon pool unpacks and multiplies.
//!
//! Parallelism is over output columns (weight rows) only, so a chunk's
//! unpacked weights serve every activation row and decode (one row) splits as
//! well as prefill. A chunk is sized so its unpacked panel stays in L2
//! (~1.5 bytes per weight) while leaving a few chunks per thread to balance.

use std::cell::RefCell;
use std::ops::Range;

use rayon::prelude::*;

#[cfg(target_arch = "x86_64")]
use super::act::FusedRows;
use super::act::QuantRows;
use super::micro::tile;
use super::offsets;
use super::unpack::Panel;
use super::{Isa, KernelError, QuantFormat, QuantWeights};

/// Activation rows per tile.
const MR: usize = 3;
/// Weight rows per tile.
const NR: usize = 4;
/// Up to this many activation rows (decoding, several tokens of a step or
/// sequences of a batch), the AVX-512 kernels read the weight blocks in
/// registers: one pass over the weights serves every row, with one
/// accumulator register per row. Beyond, the panel's unpacking pays for
/// itself.
#[cfg(target_arch = "x86_64")]
const FUSED_ROWS: usize = 8;
/// ... as long as the rows' elements number at most this many: in their
/// compact layout (~1.1 bytes each) they then stay in L1 next to the
/// streaming weights. Measured on the model's projections: the fused pass
/// takes 15 to 35% less time than the panel at 5 to 8 rows of 896
/// elements, and at 5 rows of 4864, but no less from 6 rows of 4864.
#[cfg(target_arch = "x86_64")]
const FUSED_ELEMS: usize = 24 << 10;
/// Elements of `k` per pass: the activation rows' values, scales and lane
/// biases for this many elements (~3 bytes each) stay in L1 while a chunk's
/// weight rows stream past them.
const KC: usize = 2048;
/// Target size of one chunk's unpacked panel.
const PANEL_BYTES: usize = 256 << 10;
/// Chunks per thread to aim for, so that uneven progress evens out.
const CHUNKS_PER_THREAD: usize = 4;

thread_local! {
    /// Each pool thread reuses one panel across chunks and calls.
    static PANEL: RefCell<Panel> = RefCell::new(Panel::default());
}

/// `out[i][j] = Σ_k x[i][k] · w[j][k]` on `isa`; see [`super::matmul`].
pub(super) fn matmul(
    isa: Isa,
    w: QuantWeights<'_>,
    x: &[f32],
    out: &mut [f32],
) -> Result<(), KernelError> {
    matmul_many(isa, &[w], x, &mut [out])
}

/// [`matmul`] of one input by several matrices (`outs[p] = x · ws[p]ᵀ`) in
/// one parallel pass: the activations are quantized once per zero point and
/// the pool is entered once, which matters when decoding, where each
/// product is only tens of microseconds of work.
pub(super) fn matmul_many(
    isa: Isa,
    ws: &[QuantWeights<'_>],
    x: &[f32],
    outs: &mut [&mut [f32]],
) -> Result<(), KernelError> {
    if !isa.is_supported() {
        return Err(KernelError::UnsupportedIsa(isa));
    }
    if ws.len() != outs.len() {
        return Err(KernelError::OutputLength {
            expected: ws.len(),
            actual: outs.len(),
        });
    }
    let Some(k) = ws.first().map(QuantWeights::cols) else {
        return Ok(());
    };
    if x.len() % k != 0 {
        return Err(KernelError::ActivationLength {
            len: x.len(),
            cols: k,
        });
    }
    let m = x.len() / k;
    for (w, out) in ws.iter().zip(outs.iter()) {
        if w.cols() != k {
            return Err(KernelError::ActivationLength {
                len: x.len(),
                cols: w.cols(),
            });
        }
        if out.len() != m * w.rows() {
            return Err(KernelError::OutputLength {
                expected: m * w.rows(),
                actual: out.len(),
            });
        }
    }
    if m == 0 {
        return Ok(());
    }
    #[cfg(target_arch = "x86_64")]
    if (2..=FUSED_ROWS).contains(&m)
        && m * k <= FUSED_ELEMS
        && isa == Isa::Avx512Vnni
        && ws.iter().all(|w| super::fused_avx512::supports(w.format()))
    {
        matmul_fused(ws, x, k, m, outs);
        return Ok(());
    }
    // One quantization per distinct zero point among the formats.
    let mut quantized: Vec<(u8, QuantRows)> = Vec::new();
    for w in ws {
        let zero = w.format().zero_point();
        if !quantized.iter().any(|(z, _)| *z == zero) {
            quantized.push((zero, QuantRows::quantize(x, k, zero, isa)));
        }
    }
    let products = products(ws, outs, m, |w| {
        let zero = w.format().zero_point();
        quantized
            .iter()
            .find(|(z, _)| *z == zero)
            .map(|(_, a)| a)
            .unwrap_or_else(|| unreachable!("quantized above"))
    });
    for_each_chunk(&products, |p, c| p.run_chunk(isa, m, c));
    Ok(())
}

/// [`matmul_many`] for 2 to [`FUSED_ROWS`] rows (of at most [`FUSED_ELEMS`]
/// elements in all) on AVX-512 VNNI, with
/// every format one [`super::fused_avx512`] reads: one quantization, in the
/// fused layout (biased, unbiased or both, as the formats need).
#[cfg(target_arch = "x86_64")]
fn matmul_fused(ws: &[QuantWeights<'_>], x: &[f32], k: usize, m: usize, outs: &mut [&mut [f32]]) {
    use super::fused_avx512::biased;
    let q = QuantRows::quantize(x, k, 0, Isa::Avx512Vnni);
    let layout = |b: bool| {
        ws.iter()
            .any(|w| biased(w.format()) == b)
            .then(|| FusedRows::from_quant(&q, b))
    };
    let (plain, with_bias) = (layout(false), layout(true));
    let products = products(ws, outs, m, |w| {
        match (biased(w.format()), &plain, &with_bias) {
            (false, Some(a), _) | (true, _, Some(a)) => a,
            _ => unreachable!("made above for every format present"),
        }
    });
    for_each_chunk(&products, |p, c| p.run_fused(m, c));
}

/// One [`Product`] per matrix, each with the activations `acts` picks.
fn products<'a, A>(
    ws: &[QuantWeights<'a>],
    outs: &mut [&mut [f32]],
    m: usize,
    acts: impl Fn(&QuantWeights<'a>) -> &'a A,
) -> Vec<Product<'a, A>> {
    ws.iter()
        .zip(outs.iter_mut())
        .map(|(w, out)| Product {
            w: *w,
            acts: acts(w),
            chunk: chunk_rows(w.rows(), w.cols()),
            cols: Columns {
                ptr: out.as_mut_ptr(),
                rows: m,
                cols: w.rows(),
            },
        })
        .collect()
}

/// Runs `f(product, chunk)` for every chunk of every product on the pool.
fn for_each_chunk<A: Sync>(products: &[Product<'_, A>], f: impl Fn(&Product<'_, A>, usize) + Sync) {
    let jobs: Vec<(usize, usize)> = products
        .iter()
        .enumerate()
        .flat_map(|(p, product)| (0..product.w.rows().div_ceil(product.chunk)).map(move |c| (p, c)))
        .collect();
    jobs.par_iter().for_each(|&(p, c)| f(&products[p], c));
}

/// One matrix of a [`matmul_many`] call, with its activations `A`.
struct Product<'a, A> {
    w: QuantWeights<'a>,
    acts: &'a A,
    /// Weight rows per parallel chunk.
    chunk: usize,
    cols: Columns,
}

impl<A> Product<'_, A> {
    /// Chunk `c`: its first weight row, and its weight blocks.
    fn chunk(&self, c: usize) -> (usize, &[u8]) {
        let row_bytes = self.w.row_bytes();
        let n0 = c * self.chunk;
        let rows = self.chunk.min(self.w.rows() - n0);
        (n0, &self.w.data()[n0 * row_bytes..(n0 + rows) * row_bytes])
    }
}

impl Product<'_, QuantRows> {
    /// Output columns of chunk `c`.
    fn run_chunk(&self, isa: Isa, m: usize, c: usize) {
        let (w, acts, cols) = (&self.w, self.acts, &self.cols);
        let (format, k, row_bytes) = (w.format(), w.cols(), w.row_bytes());
        let (n0, src) = self.chunk(c);
        #[cfg(target_arch = "x86_64")]
        if m == 1 && isa == Isa::Avx512Vnni && super::fused_avx512::supports(format) {
            run_fused_one(format, src, acts, n0, cols);
            return;
        }
        let kind = Kind {
            wide: format.wide(),
            offsets: format.has_offsets(),
        };
        PANEL.with_borrow_mut(|panel| {
            if m <= MR {
                run_streaming(isa, kind, format, src, row_bytes, panel, acts, m, n0, cols);
            } else {
                panel.unpack(format, src, k, true, isa);
                run_chunk(isa, kind, panel, acts, m, n0, cols);
            }
        })
    }
}

#[cfg(target_arch = "x86_64")]
impl Product<'_, FusedRows> {
    /// Output columns of chunk `c`, with no panel at all.
    fn run_fused(&self, m: usize, c: usize) {
        let (n0, src) = self.chunk(c);
        run_fused(self.w.format(), src, self.acts, m, n0, &self.cols);
    }
}

/// Weight rows per parallel chunk: a multiple of [`NR`], small enough for the
/// panel to stay in cache and for every thread to get several chunks.
fn chunk_rows(n: usize, k: usize) -> usize {
    let per_row = k + k / 2;
    let by_cache = PANEL_BYTES / per_row.max(1);
    let by_balance = n.div_ceil(rayon::current_num_threads() * CHUNKS_PER_THREAD);
    let rows = by_cache.min(by_balance).max(NR);
    // Whole 16-float vectors in the per-chunk passes over outputs.
    let align = if rows >= 16 { 16 } else { NR };
    rows.div_ceil(align) * align
}

/// Few activation rows (decoding): nothing to reuse a panel for, so each
/// group of [`NR`] weight rows is unpacked right before its tile. The panel
/// stays in L1 and loads from memory interleave with arithmetic, which keeps
/// the stream of weights flowing.
#[allow(clippy::too_many_arguments)]
fn run_streaming(
    isa: Isa,
    kind: Kind,
    format: QuantFormat,
    src: &[u8],
    row_bytes: usize,
    panel: &mut Panel,
    acts: &QuantRows,
    m: usize,
    n0: usize,
    out: &Columns,
) {
    let k = acts.k();
    let mut acc = [0.0f32; MR * NR];
    for (g, rows) in src.chunks(NR * row_bytes).enumerate() {
        panel.unpack(format, rows, k, false, isa);
        let nr = panel.rows();
        let acc = &mut acc[..m * nr];
        acc.fill(0.0);
        let at = Tile {
            i0: 0,
            j0: 0,
            ks: 0..k,
        };
        match m {
            3 => at.run_rows::<3>(nr, isa, kind, panel, acts, acc, nr),
            2 => at.run_rows::<2>(nr, isa, kind, panel, acts, acc, nr),
            _ => at.run_rows::<1>(nr, isa, kind, panel, acts, acc, nr),
        }
        finish_rows(isa, kind, panel, acts, acc, 0, m, n0 + g * NR, out);
    }
}

/// Two to [`FUSED_ROWS`] activation rows on AVX-512 VNNI, for the formats
/// [`super::fused_avx512`] reads in place: no panel at all.
#[cfg(target_arch = "x86_64")]
fn run_fused(
    format: QuantFormat,
    src: &[u8],
    acts: &FusedRows,
    m: usize,
    n0: usize,
    out: &Columns,
) {
    use super::fused_avx512::rows;
    let emit = |r: usize, dots: &[f32]| {
        for (i, &v) in dots.iter().enumerate() {
            // SAFETY: the calling chunk owns output columns n0.., and each
            // (row, column) pair is written once.
            unsafe { out.set(i, n0 + r, v) };
        }
    };
    // SAFETY (all arms): `matmul` checked that the CPU supports AVX-512 VNNI.
    unsafe {
        match m {
            8 => rows::<8>(format, src, &acts.tile::<8>(), |r, d| emit(r, &d)),
            7 => rows::<7>(format, src, &acts.tile::<7>(), |r, d| emit(r, &d)),
            6 => rows::<6>(format, src, &acts.tile::<6>(), |r, d| emit(r, &d)),
            5 => rows::<5>(format, src, &acts.tile::<5>(), |r, d| emit(r, &d)),
            4 => rows::<4>(format, src, &acts.tile::<4>(), |r, d| emit(r, &d)),
            3 => rows::<3>(format, src, &acts.tile::<3>(), |r, d| emit(r, &d)),
            2 => rows::<2>(format, src, &acts.tile::<2>(), |r, d| emit(r, &d)),
            _ => rows::<1>(format, src, &acts.tile::<1>(), |r, d| emit(r, &d)),
        }
    }
}

/// One activation row on AVX-512 VNNI, for the formats
/// [`super::fused_avx512`] reads in place.
#[cfg(target_arch = "x86_64")]
fn run_fused_one(format: QuantFormat, src: &[u8], acts: &QuantRows, n0: usize, out: &Columns) {
    // SAFETY: `matmul` checked that the CPU supports AVX-512 VNNI; the
    // calling chunk owns output columns n0.., each written once.
    unsafe {
        super::fused_avx512::rows_one(format, src, &acts.tile::<1>(0), |r, v| {
            out.set(0, n0 + r, v)
        })
    }
}

/// Subtracts offsets (if any) from the partial sums `acc` (`[mr][rows]`)
/// of activation rows `i0..i0 + mr` and writes them to columns from `n0`.
#[allow(clippy::too_many_arguments)]
fn finish_rows(
    isa: Isa,
    kind: Kind,
    panel: &Panel,
    acts: &QuantRows,
    acc: &mut [f32],
    i0: usize,
    mr: usize,
    n0: usize,
    out: &Columns,
) {
    let rows = panel.rows();
    if kind.offsets {
        let acc = &mut acc[..mr * rows];
        let sums: Vec<&[f32]> = (i0..i0 + mr).map(|i| acts.sums(i)).collect();
        match panel.offsets_t() {
            Some(offsets_t) => offsets::subtract_transposed(isa, acc, &sums, offsets_t),
            // Not transposed (the streaming path): few rows, so one
            // vectorized dot product per output.
            None => offsets::subtract_rowwise(isa, acc, &sums, panel.offsets()),
        }
    }
    for (i, sums) in acc.chunks_exact(rows).take(mr).enumerate() {
        for (j, &v) in sums.iter().enumerate() {
            // SAFETY: the calling chunk owns output columns n0..n0 + rows,
            // and each (row, column) pair is written once.
            unsafe { out.set(i0 + i, n0 + j, v) };
        }
    }
}

fn run_chunk(
    isa: Isa,
    kind: Kind,
    panel: &Panel,
    acts: &QuantRows,
    m: usize,
    n0: usize,
    out: &Columns,
) {
    let rows = panel.rows();
    let k = acts.k();
    // Partial sums of one activation-row tile over the chunk's columns.
    let mut acc = vec![0.0f32; MR * rows];
    for i0 in (0..m).step_by(MR) {
        let mr = (m - i0).min(MR);
        acc.fill(0.0);
        for k0 in (0..k).step_by(KC) {
            let ks = k0..(k0 + KC).min(k);
            for j0 in (0..rows).step_by(NR) {
                let at = Tile {
                    i0,
                    j0,
                    ks: ks.clone(),
                };
                let nr = (rows - j0).min(NR);
                match mr {
                    4 => at.run_rows::<4>(nr, isa, kind, panel, acts, &mut acc, rows),
                    3 => at.run_rows::<3>(nr, isa, kind, panel, acts, &mut acc, rows),
                    2 => at.run_rows::<2>(nr, isa, kind, panel, acts, &mut acc, rows),
                    _ => at.run_rows::<1>(nr, isa, kind, panel, acts, &mut acc, rows),
                }
            }
        }
        finish_rows(isa, kind, panel, acts, &mut acc, i0, mr, n0, out);
    }
}

/// Where a tile sits: activation rows from `i0`, panel rows from `j0`,
/// elements `ks`.
struct Tile {
    i0: usize,
    j0: usize,
    ks: Range<usize>,
}

impl Tile {
    /// [`Tile::run`] for `nr` (at most [`NR`]) weight rows.
    #[allow(clippy::too_many_arguments)]
    #[inline]
    fn run_rows<const R: usize>(
        self,
        nr: usize,
        isa: Isa,
        kind: Kind,
        panel: &Panel,
        acts: &QuantRows,
        acc: &mut [f32],
        cols: usize,
    ) {
        match nr {
            4 => self.run::<R, 4>(isa, kind, panel, acts, acc, cols),
            3 => self.run::<R, 3>(isa, kind, panel, acts, acc, cols),
            2 => self.run::<R, 2>(isa, kind, panel, acts, acc, cols),
            _ => self.run::<R, 1>(isa, kind, panel, acts, acc, cols),
        }
    }

    /// Adds the tile's partial dot products to `acc` (`[MR][cols]`).
    #[inline]
    fn run<const R: usize, const C: usize>(
        self,
        isa: Isa,
        kind: Kind,
        panel: &Panel,
        acts: &QuantRows,
        acc: &mut [f32],
        cols: usize,
    ) {
        let w = panel.tile::<C>(self.j0);
        let x = acts.tile::<R>(self.i0);
        let y = tile::<R, C>(isa, kind.wide, &w, &x, self.ks);
        for (i, y) in y.iter().enumerate() {
            for (a, &v) in acc[i * cols + self.j0..][..C].iter_mut().zip(y) {
                *a += v;
            }
        }
    }
}

/// What the driver needs to know about the weight format.
#[derive(Debug, Clone, Copy)]
struct Kind {
    /// Weight values may exceed 127.
    wide: bool,
    /// Per-group float offsets (Q4_K's minimums).
    offsets: bool,
}

/// The output matrix, written concurrently by chunks that own disjoint
/// column ranges (a column split of a row-major matrix is not a slice split,
/// hence the raw pointer).
struct Columns {
    ptr: *mut f32,
    rows: usize,
    cols: usize,
}

// SAFETY: `Columns` only hands out writes through `set`, whose contract
// (distinct callers write distinct elements) makes concurrent use race-free;
// the pointee outlives the parallel loop, which `matmul` joins before returning.
unsafe impl Sync for Columns {}

impl Columns {
    /// Writes element `(i, j)`.
    ///
    /// # Safety
    /// No other thread may read or write `(i, j)` during the parallel loop.
    #[inline]
    unsafe fn set(&self, i: usize, j: usize, v: f32) {
        assert!(i < self.rows && j < self.cols);
        // SAFETY: in bounds (asserted), exclusive per the contract.
        unsafe { self.ptr.add(i * self.cols + j).write(v) }
    }
}

/// Most activation rows for which a product on `isa` with weights of
/// `format` and `k` columns gives every row exactly (bit for bit) the result
/// it gets alone: up to there, [`matmul_many`] sends every row count down
/// paths whose per-row arithmetic is the same (the fused AVX-512 kernels,
/// or the streaming tiles of at most [`MR`] rows).
pub(super) fn row_invariant_rows(isa: Isa, format: QuantFormat, k: usize) -> usize {
    #[cfg(target_arch = "x86_64")]
    if isa == Isa::Avx512Vnni && super::fused_avx512::supports(format) {
        return FUSED_ROWS.min(FUSED_ELEMS / k.max(1)).max(1);
    }
    let _ = (isa, format, k);
    MR
}
