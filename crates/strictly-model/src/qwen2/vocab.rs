//! The vocabulary-sized matrix shared by the embedding and the LM head.
//!
//! Qwen2.5-0.5B ties its LM head to the embedding, so one `[vocab, hidden]`
//! matrix serves both lookups and logits. Dense storage is split into row
//! chunks because some GPU drivers cannot allocate one 545 MB buffer (the
//! f32 matrix); on the CPU backend it is a single chunk, or GGUF blocks that
//! the integer kernels read directly.

use burn::module::Module;
use burn::tensor::{DType, Device, Int, Tensor, TensorData};

use crate::kernels::{KernelError, QuantMatrix};
use crate::linear::dense_matmul;

/// How the `[vocab, hidden]` matrix is stored.
#[derive(Debug, Clone)]
pub enum VocabStore {
    /// Consecutive row blocks of `chunk_rows` rows (the last may be shorter).
    Dense {
        /// The blocks, in vocabulary order.
        chunks: Vec<Tensor<2>>,
        /// Rows per block.
        chunk_rows: usize,
    },
    /// GGUF blocks: rows are decoded on lookup, logits use the CPU kernels.
    Quantized(QuantMatrix),
}

/// `[vocab, hidden]`, rows in vocabulary order.
#[derive(Module, Debug)]
pub struct VocabMatrix {
    /// Not a Burn parameter, for the same reason as [`crate::linear::Linear`].
    #[module(skip)]
    pub store: VocabStore,
}

impl VocabMatrix {
    /// Dense chunks of `chunk_rows` rows each.
    pub fn dense(chunks: Vec<Tensor<2>>, chunk_rows: usize) -> Self {
        Self {
            store: VocabStore::Dense { chunks, chunk_rows },
        }
    }

    /// GGUF blocks.
    pub fn quantized(matrix: QuantMatrix) -> Self {
        Self {
            store: VocabStore::Quantized(matrix),
        }
    }

    /// As [`crate::linear::Linear::row_invariant_rows`].
    pub fn row_invariant_rows(&self) -> usize {
        match &self.store {
            VocabStore::Dense { .. } => 1,
            VocabStore::Quantized(q) => q.row_invariant_rows(),
        }
    }

    /// Total rows.
    pub fn rows(&self) -> usize {
        match &self.store {
            VocabStore::Dense { chunks, .. } => chunks.iter().map(|c| c.dims()[0]).sum(),
            VocabStore::Quantized(q) => q.rows(),
        }
    }

    /// Embedding lookup: rows for `ids` as `[ids.len(), hidden]` in f32.
    ///
    /// Ids must be `< rows()`; the caller checks them so that a bad id is an
    /// error rather than an out-of-bounds gather.
    pub fn embed(&self, ids: &[u32], device: &Device) -> Result<Tensor<2>, KernelError> {
        let (chunks, chunk_rows) = match &self.store {
            VocabStore::Quantized(q) => return q.embed(ids, device),
            VocabStore::Dense { chunks, chunk_rows } => (chunks, *chunk_rows),
        };
        let index = |v: Vec<i64>| -> Tensor<1, Int> {
            let n = v.len();
            Tensor::from_data(TensorData::new(v, [n]), device)
        };
        if let [only] = chunks.as_slice() {
            let ids = ids.iter().map(|&i| i64::from(i)).collect();
            return Ok(only.clone().select(0, index(ids)).cast(DType::F32));
        }
        // Gather per chunk, then restore the caller's order with one select.
        let mut parts = Vec::new();
        let mut order = vec![0i64; ids.len()];
        let mut next = 0i64;
        for (c, chunk) in chunks.iter().enumerate() {
            let lo = c * chunk_rows;
            let hi = lo + chunk.dims()[0];
            let mut local = Vec::new();
            for (pos, &id) in ids.iter().enumerate() {
                let id = id as usize;
                if (lo..hi).contains(&id) {
                    local.push((id - lo) as i64);
                    order[pos] = next;
                    next += 1;
                }
            }
            if !local.is_empty() {
                parts.push(chunk.clone().select(0, index(local)).cast(DType::F32));
            }
        }
        Ok(Tensor::cat(parts, 0).select(0, index(order)))
    }

    /// The logits of `ids` only, for one hidden row `x` (`hidden` values),
    /// in a full-width row where every other token is `-inf`; `None` where
    /// the matrix is not read by the CPU kernels (the caller then computes
    /// the whole row).
    ///
    /// Constrained decoding knows the allowed tokens before the step: inside
    /// a number or an enum a few dozen, against a vocabulary of 152k, so the
    /// largest matrix of a small model needs only those rows.
    pub fn logits_for(&self, x: &[f32], ids: &[u32]) -> Option<Result<Vec<f32>, KernelError>> {
        let VocabStore::Quantized(q) = &self.store else {
            return None;
        };
        let mut some = vec![0.0f32; ids.len()];
        Some(q.matmul_rows_f32(x, ids, &mut some).map(|()| {
            let mut row = vec![f32::NEG_INFINITY; q.rows()];
            for (&id, &v) in ids.iter().zip(&some) {
                row[id as usize] = v;
            }
            row
        }))
    }

    /// Logits `x · Mᵀ` for `x: [rows, hidden]` (f32) → `[rows, vocab]` (f32).
    pub fn logits(&self, x: Tensor<2>) -> Tensor<2> {
        match &self.store {
            VocabStore::Quantized(q) => q.matmul(x),
            VocabStore::Dense { chunks, .. } => {
                let parts: Vec<Tensor<2>> = chunks
                    .iter()
                    .map(|chunk| dense_matmul(x.clone(), chunk.clone()))
                    .collect();
                Tensor::cat(parts, 1)
            }
        }
    }
}
