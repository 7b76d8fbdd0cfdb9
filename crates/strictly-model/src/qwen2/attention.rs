//! Grouped-query self-attention with biased Q/K/V projections (Qwen2).
//!
//! Projections and RoPE run once over the rows of every sequence in the step;
//! the attention itself runs per sequence against that sequence's own cache,
//! so sequences of different lengths batch without padding.

use std::ops::Range;

use burn::module::Module;
use burn::tensor::module::attention;
use burn::tensor::ops::AttentionModuleOptions;
use burn::tensor::{Tensor, TensorData};

use super::host_attention;
use super::rope::Rope;
use crate::host::to_f32_vec;
use crate::kv_cache::KvCache;
use crate::linear::Linear;

/// Query rows per attention call in prefill: small enough that most of the
/// causally masked scores are skipped, large enough that each call is a
/// sizeable matrix product.
const QUERY_BLOCK: usize = 128;

/// Up to this many new tokens of a sequence in one step (a sampled token
/// with forced and draft tokens after it), each row attends on its own
/// exactly as a one-token decoding step would (on the CPU, in place in the
/// host cache). A token's logits then do not depend on how many tokens
/// share its step, so verifying draft tokens in one pass gives the same
/// greedy answer as decoding them one by one.
pub(crate) const ROW_BY_ROW: usize = 8;

/// Self-attention block of one decoder layer.
#[derive(Module, Debug)]
pub struct Attention {
    /// `[heads * head_dim, hidden]`, with bias.
    pub q_proj: Linear,
    /// `[kv_heads * head_dim, hidden]`, with bias.
    pub k_proj: Linear,
    /// `[kv_heads * head_dim, hidden]`, with bias.
    pub v_proj: Linear,
    /// `[hidden, heads * head_dim]`, no bias.
    pub o_proj: Linear,
    /// Query heads.
    pub heads: usize,
    /// Key/value heads.
    pub kv_heads: usize,
    /// Width of one head.
    pub head_dim: usize,
}

impl Attention {
    /// `x: [rows, hidden]` where `spans[i]` are the rows of sequence `i`,
    /// whose keys and values go to `caches[i]` (layer `layer`).
    pub(crate) fn forward(
        &self,
        x: Tensor<2>,
        rope: &Rope,
        spans: &[Range<usize>],
        caches: &mut [&mut KvCache],
        layer: usize,
    ) -> Tensor<2> {
        let rows = x.dims()[0];
        let (heads, kv_heads, dim) = (self.heads, self.kv_heads, self.head_dim);
        let [q, k, v] = Linear::forward_many(&[&self.q_proj, &self.k_proj, &self.v_proj], x)
            .try_into()
            .unwrap_or_else(|_| unreachable!("three projections"));
        let q = q.reshape([rows, heads, dim]);
        let k = k.reshape([rows, kv_heads, dim]);
        let v = v.reshape([rows, kv_heads, dim]);
        let q = rope.apply(q);
        let k = rope.apply(k);
        if caches.iter().all(|c| c.is_host()) {
            let attended = self.attend_host(q, k, v, spans, caches, layer);
            return self.o_proj.forward(attended);
        }

        let mut outputs = Vec::with_capacity(spans.len());
        for (span, cache) in spans.iter().zip(caches.iter_mut()) {
            let n = span.len();
            let per_seq = |t: &Tensor<3>, h: usize| -> Tensor<4> {
                // [n, h, dim] -> [1, h, n, dim]
                t.clone()
                    .slice([span.clone(), 0..h, 0..dim])
                    .swap_dims(0, 1)
                    .unsqueeze::<4>()
            };
            let (keys, values) = cache.append(layer, per_seq(&k, kv_heads), per_seq(&v, kv_heads));
            let q_seq = q.clone().slice([span.clone(), 0..heads, 0..dim]);
            let out = if n == 1 {
                self.attend_one(q_seq, keys, values)
            } else {
                self.attend_many(q_seq, keys, values)
            };
            outputs.push(out);
        }
        let attended = if outputs.len() == 1 {
            outputs.remove(0)
        } else {
            Tensor::cat(outputs, 0)
        };
        self.o_proj.forward(attended)
    }

    /// [`Self::forward`]'s attention on host caches: few rows attend in
    /// place ([`host_attention::attend`]); long prompt chunks go through
    /// Burn's attention on a copy of the cached positions.
    fn attend_host(
        &self,
        q: Tensor<3>,
        k: Tensor<3>,
        v: Tensor<3>,
        spans: &[Range<usize>],
        caches: &mut [&mut KvCache],
        layer: usize,
    ) -> Tensor<2> {
        let device = q.device();
        let dtype = q.dtype();
        let (heads, kv_heads, dim) = (self.heads, self.kv_heads, self.head_dim);
        let host = |t: Tensor<3>| {
            to_f32_vec(t).unwrap_or_else(|e| unreachable!("CPU tensors read in place: {e}"))
        };
        let (qh, kh, vh) = (host(q), host(k), host(v));
        let (qw, kw) = (heads * dim, kv_heads * dim);
        let mut out = vec![0.0f32; qh.len()];
        let mut long = Vec::new();
        for (span, cache) in spans.iter().zip(caches.iter_mut()) {
            let first = cache.len();
            let rows = span.clone();
            let (kv, capacity) = cache.append_host(
                layer,
                &kh[rows.start * kw..rows.end * kw],
                &vh[rows.start * kw..rows.end * kw],
            );
            if span.len() <= ROW_BY_ROW {
                let shape = host_attention::Heads {
                    heads,
                    kv_heads,
                    dim,
                    capacity,
                };
                host_attention::attend(
                    &qh[rows.start * qw..rows.end * qw],
                    kv,
                    shape,
                    first,
                    &mut out[rows.start * qw..rows.end * qw],
                );
            } else {
                let end = first + span.len();
                let tensor = |vals: Vec<f32>| -> Tensor<4> {
                    Tensor::from_data(
                        TensorData::new(vals, [1, kv_heads, end, dim]),
                        (&device, dtype),
                    )
                };
                let mut keys = Vec::with_capacity(kv_heads * end * dim);
                for h in 0..kv_heads {
                    for p in 0..end {
                        keys.extend((0..dim).map(|d| kv.keys[(h * dim + d) * capacity + p]));
                    }
                }
                let mut values = Vec::with_capacity(kv_heads * end * dim);
                for h in 0..kv_heads {
                    values.extend_from_slice(&kv.values[h * capacity * dim..][..end * dim]);
                }
                let (keys, values) = (tensor(keys), tensor(values));
                let q_seq = Tensor::<1>::from_data(
                    TensorData::new(
                        qh[rows.start * qw..rows.end * qw].to_vec(),
                        [span.len() * qw],
                    ),
                    (&device, dtype),
                )
                .reshape([span.len(), heads, dim]);
                long.push((rows, self.attend_many(q_seq, keys, values)));
            }
        }
        for (rows, attended) in long {
            let vals = to_f32_vec(attended)
                .unwrap_or_else(|e| unreachable!("CPU tensors read in place: {e}"));
            out[rows.start * qw..rows.end * qw].copy_from_slice(&vals);
        }
        let rows = qh.len() / qw;
        Tensor::<1>::from_data(TensorData::new(out, [rows * qw]), (&device, dtype))
            .reshape([rows, qw])
    }

    /// One new token: the query heads of each group attend to their shared
    /// key/value head as `group` query rows, so nothing is repeated and every
    /// cached position is visible (no mask needed).
    fn attend_one(&self, q: Tensor<3>, keys: Tensor<4>, values: Tensor<4>) -> Tensor<2> {
        let group = self.heads / self.kv_heads;
        let q = q.reshape([1, self.kv_heads, group, self.head_dim]);
        let out = attention(
            q,
            keys,
            values,
            None,
            None,
            AttentionModuleOptions::default(),
        );
        out.reshape([1, self.heads * self.head_dim])
    }

    /// Several new tokens (prefill): a causal mask aligned to the end of the
    /// cache hides later positions.
    ///
    /// Queries go in blocks of [`QUERY_BLOCK`] rows, each against the keys
    /// up to its own last position only, so the masked half of the score
    /// matrix is mostly never computed (the mask stays aligned: a block's
    /// last query sits at its last key). The CPU backend reads each shared
    /// key/value head in place; other backends get them repeated per query
    /// head.
    fn attend_many(&self, q: Tensor<3>, keys: Tensor<4>, values: Tensor<4>) -> Tensor<2> {
        let n = q.dims()[0];
        let q = q.swap_dims(0, 1).unsqueeze::<4>(); // [1, heads, n, dim]
        let (keys, values) = if crate::device::is_cpu(&keys.device()) {
            (keys, values)
        } else {
            (self.repeat_kv(keys), self.repeat_kv(values))
        };
        let len = keys.dims()[2];
        let options = AttentionModuleOptions {
            is_causal: true,
            ..Default::default()
        };
        let mut blocks = Vec::with_capacity(n.div_ceil(QUERY_BLOCK));
        for start in (0..n).step_by(QUERY_BLOCK) {
            let rows = QUERY_BLOCK.min(n - start);
            // Keys up to this block's last query.
            let visible = len - (n - start - rows);
            let out = attention(
                q.clone().narrow(2, start, rows),
                keys.clone().narrow(2, 0, visible),
                values.clone().narrow(2, 0, visible),
                None,
                None,
                options,
            ); // [1, heads, rows, dim]
            blocks.push(out);
        }
        let out = if blocks.len() == 1 {
            blocks.remove(0)
        } else {
            Tensor::cat(blocks, 2)
        };
        out.reshape([self.heads, n, self.head_dim])
            .swap_dims(0, 1)
            .reshape([n, self.heads * self.head_dim])
    }

    /// `[1, kv_heads, len, dim]` → `[1, heads, len, dim]`, head `h` using
    /// key/value head `h / group` as Qwen2 does.
    fn repeat_kv(&self, t: Tensor<4>) -> Tensor<4> {
        let group = self.heads / self.kv_heads;
        if group == 1 {
            return t;
        }
        let [_, kv, len, dim] = t.dims();
        t.unsqueeze_dim::<5>(2)
            .expand([1, kv, group, len, dim])
            .reshape([1, kv * group, len, dim])
    }
}
