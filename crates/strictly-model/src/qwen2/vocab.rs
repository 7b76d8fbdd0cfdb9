//! The vocabulary-sized matrix shared by the embedding and the LM head.
//!
//! Qwen2.5-0.5B ties its LM head to the embedding, so one `[vocab, hidden]`
//! matrix serves both lookups and logits. The matrix is split into row chunks
//! because some GPU drivers cannot allocate one 545 MB buffer (the f32
//! matrix); on the CPU backend it stays a single chunk.

use burn::module::{Module, Param};
use burn::tensor::{DType, Device, Int, Tensor, TensorData};

/// `[vocab, hidden]` in row chunks, rows in vocabulary order.
#[derive(Module, Debug)]
pub struct VocabMatrix {
    /// Consecutive row blocks; all but the last have `chunk_rows` rows.
    pub chunks: Vec<Param<Tensor<2>>>,
    /// Rows per chunk (the last may be shorter).
    pub chunk_rows: usize,
}

impl VocabMatrix {
    /// Wraps already-created chunks of `chunk_rows` rows each.
    pub fn new(chunks: Vec<Tensor<2>>, chunk_rows: usize) -> Self {
        Self {
            chunks: chunks.into_iter().map(Param::from_tensor).collect(),
            chunk_rows,
        }
    }

    /// Total rows.
    pub fn rows(&self) -> usize {
        self.chunks.iter().map(|c| c.dims()[0]).sum()
    }

    /// Embedding lookup: rows for `ids` as `[ids.len(), hidden]` in f32.
    ///
    /// Ids must be `< rows()`; the caller checks them so that a bad id is an
    /// error rather than an out-of-bounds gather.
    pub fn embed(&self, ids: &[u32], device: &Device) -> Tensor<2> {
        let index = |v: Vec<i64>| -> Tensor<1, Int> {
            let n = v.len();
            Tensor::from_data(TensorData::new(v, [n]), device)
        };
        if let [only] = self.chunks.as_slice() {
            let ids = ids.iter().map(|&i| i64::from(i)).collect();
            return only.val().select(0, index(ids)).cast(DType::F32);
        }
        // Gather per chunk, then restore the caller's order with one select.
        let mut parts = Vec::new();
        let mut order = vec![0i64; ids.len()];
        let mut next = 0i64;
        for (c, chunk) in self.chunks.iter().enumerate() {
            let lo = c * self.chunk_rows;
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
                parts.push(chunk.val().select(0, index(local)).cast(DType::F32));
            }
        }
        Tensor::cat(parts, 0).select(0, index(order))
    }

    /// Logits `x · Mᵀ` for `x: [rows, hidden]` (f32) → `[rows, vocab]` (f32).
    pub fn logits(&self, x: Tensor<2>) -> Tensor<2> {
        let parts: Vec<Tensor<2>> = self
            .chunks
            .iter()
            .map(|chunk| {
                let w = chunk.val();
                let xw = if x.dtype() == w.dtype() {
                    x.clone()
                } else {
                    x.clone().cast(w.dtype())
                };
                xw.matmul(w.transpose()).cast(DType::F32)
            })
            .collect();
        Tensor::cat(parts, 1)
    }
}
