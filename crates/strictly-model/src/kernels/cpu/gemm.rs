//! The matrix product driver: quantize the activations once, then split the
//! weight rows into chunks that the rayon pool unpacks and multiplies.
//!
//! Parallelism is over output columns (weight rows) only, so a chunk's
//! unpacked weights serve every activation row and decode (one row) splits as
//! well as prefill. A chunk is sized so its unpacked panel stays in L2
//! (~2.25 bytes per weight) while leaving a few chunks per thread to balance.

use std::cell::RefCell;

use rayon::prelude::*;

use super::act::QuantRows;
use super::micro::{Kind, tile};
use super::unpack::Panel;
use super::{Isa, KernelError, QuantWeights};

/// Activation rows per tile.
const MR: usize = 4;
/// Weight rows per tile.
const NR: usize = 2;
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
    if !isa.is_supported() {
        return Err(KernelError::UnsupportedIsa(isa));
    }
    let (n, k) = (w.rows(), w.cols());
    if x.len() % k != 0 {
        return Err(KernelError::ActivationLength {
            len: x.len(),
            cols: k,
        });
    }
    let m = x.len() / k;
    if out.len() != m * n {
        return Err(KernelError::OutputLength {
            expected: m * n,
            actual: out.len(),
        });
    }
    if m == 0 || n == 0 {
        return Ok(());
    }
    let format = w.format();
    let acts = QuantRows::quantize(x, k, format.zero_point(), isa);
    let row_bytes = w.row_bytes();
    let chunk = chunk_rows(n, k);
    let kind = Kind {
        wide: format.wide(),
        offsets: format.has_offsets(),
    };
    let cols = Columns {
        ptr: out.as_mut_ptr(),
        rows: m,
        cols: n,
    };
    w.data()
        .par_chunks(chunk * row_bytes)
        .enumerate()
        .for_each(|(c, src)| {
            PANEL.with_borrow_mut(|panel| {
                panel.unpack(format, src, k, isa);
                run_chunk(isa, kind, panel, &acts, m, c * chunk, &cols);
            })
        });
    Ok(())
}

/// Weight rows per parallel chunk: a multiple of [`NR`], small enough for the
/// panel to stay in cache and for every thread to get several chunks.
fn chunk_rows(n: usize, k: usize) -> usize {
    let per_row = k + k + k / 4;
    let by_cache = PANEL_BYTES / per_row.max(1);
    let by_balance = n.div_ceil(rayon::current_num_threads() * CHUNKS_PER_THREAD);
    by_cache.min(by_balance).max(NR).div_ceil(NR) * NR
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
    for i0 in (0..m).step_by(MR) {
        for j0 in (0..rows).step_by(NR) {
            let at = Tile { i0, j0, n0 };
            match ((m - i0).min(MR), (rows - j0).min(NR)) {
                (4, 2) => at.run::<4, 2>(isa, kind, panel, acts, out),
                (4, _) => at.run::<4, 1>(isa, kind, panel, acts, out),
                (3, 2) => at.run::<3, 2>(isa, kind, panel, acts, out),
                (3, _) => at.run::<3, 1>(isa, kind, panel, acts, out),
                (2, 2) => at.run::<2, 2>(isa, kind, panel, acts, out),
                (2, _) => at.run::<2, 1>(isa, kind, panel, acts, out),
                (_, 2) => at.run::<1, 2>(isa, kind, panel, acts, out),
                (_, _) => at.run::<1, 1>(isa, kind, panel, acts, out),
            }
        }
    }
}

/// Where a tile sits: activation row `i0`, panel row `j0`, panel start `n0`.
struct Tile {
    i0: usize,
    j0: usize,
    n0: usize,
}

impl Tile {
    #[inline]
    fn run<const R: usize, const C: usize>(
        &self,
        isa: Isa,
        kind: Kind,
        panel: &Panel,
        acts: &QuantRows,
        out: &Columns,
    ) {
        let w = panel.tile::<C>(self.j0);
        let x = acts.tile::<R>(self.i0);
        let y = tile::<R, C>(isa, kind, &w, &x);
        for (i, y) in y.iter().enumerate() {
            for (j, &v) in y.iter().enumerate() {
                // SAFETY: this chunk owns output columns n0..n0 + panel.rows()
                // and each (row, column) pair is produced by exactly one tile.
                unsafe { out.set(self.i0 + i, self.n0 + self.j0 + j, v) };
            }
        }
    }
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
