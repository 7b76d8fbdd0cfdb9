//! Per-sequence key/value cache, kept outside the model.
//!
//! The model is shared and immutable (one copy serves every request); each
//! sequence owns a [`KvCache`] and lends it to the model as `&mut` for a step.
//! Storage is preallocated for a requested capacity and grown geometrically
//! when a sequence outgrows it, up to the model's maximum position, so short
//! requests do not pay for 32k positions (≈ 800 MB in f32 for the 0.5B model)
//! while long ones still fit.
//!
//! On the CPU backend the cache lives in plain host memory, one contiguous
//! run of positions per key/value head, which host attention
//! ([`crate::qwen2`]) reads in place; other devices keep Burn tensors.

use burn::tensor::{DType, Device, Tensor};

use crate::config::Qwen2Config;

/// Capacity granularity: growing in multiples of this keeps reallocations rare.
const GROW_STEP: usize = 256;

/// Errors from cache bookkeeping.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KvCacheError {
    /// The sequence would pass the model's maximum position.
    #[error("sequence of {needed} positions exceeds the model's maximum of {max}")]
    TooLong {
        /// Positions the step needs.
        needed: usize,
        /// The model's limit.
        max: usize,
    },
    /// The cache was made for a different model shape.
    #[error("cache has {found} layers, model has {expected}")]
    LayerMismatch {
        /// Model layers.
        expected: usize,
        /// Cache layers.
        found: usize,
    },
}

/// Keys and values of one layer: `[1, kv_heads, capacity, head_dim]` each.
#[derive(Debug, Clone)]
pub(crate) struct LayerKv {
    pub(crate) keys: Tensor<4>,
    pub(crate) values: Tensor<4>,
}

/// Keys and values of one layer in host memory. Keys are stored transposed,
/// `[kv_heads][head_dim][capacity]`, so that a query's scores against every
/// position are a few long vector updates rather than one short dot product
/// (and its horizontal sum) per position; values are `[kv_heads][capacity][head_dim]`,
/// so that the weighted sum adds whole rows.
#[derive(Debug, Clone)]
pub(crate) struct HostKv {
    pub(crate) keys: Vec<f32>,
    pub(crate) values: Vec<f32>,
}

/// Where the layers' keys and values are kept.
#[derive(Debug, Clone)]
enum Store {
    Tensors(Vec<LayerKv>),
    Host(Vec<HostKv>),
}

/// Keys and values of every layer for one sequence.
#[derive(Debug, Clone)]
pub struct KvCache {
    store: Store,
    layers: usize,
    len: usize,
    capacity: usize,
    max_len: usize,
    kv_heads: usize,
    head_dim: usize,
    device: Device,
}

impl KvCache {
    /// Allocates room for `capacity` positions (clamped to the model's
    /// maximum, rounded up to a multiple of 256).
    pub fn new(config: &Qwen2Config, capacity: usize, device: &Device) -> Self {
        let max_len = config.max_position_embeddings;
        let capacity = round_up(capacity.max(1)).min(max_len);
        let kv_heads = config.num_key_value_heads;
        let head_dim = config.head_dim();
        let layers = config.num_hidden_layers;
        let store = if crate::device::is_cpu(device) {
            let size = kv_heads * capacity * head_dim;
            Store::Host(
                (0..layers)
                    .map(|_| HostKv {
                        keys: vec![0.0; size],
                        values: vec![0.0; size],
                    })
                    .collect(),
            )
        } else {
            Store::Tensors(
                (0..layers)
                    .map(|_| LayerKv {
                        keys: zeros(kv_heads, capacity, head_dim, device),
                        values: zeros(kv_heads, capacity, head_dim, device),
                    })
                    .collect(),
            )
        };
        Self {
            store,
            layers,
            len: 0,
            capacity,
            max_len,
            kv_heads,
            head_dim,
            device: device.clone(),
        }
    }

    /// Positions already stored (the position of the next token).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing is stored yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Positions that fit without reallocating.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The model's maximum sequence length.
    pub fn max_len(&self) -> usize {
        self.max_len
    }

    /// Forgets positions from `len` on (e.g. to roll back a rejected draft or
    /// reuse a shared prompt prefix). Longer `len` values are ignored.
    pub fn truncate(&mut self, len: usize) {
        self.len = self.len.min(len);
    }

    /// Empties the cache, keeping its storage.
    pub fn clear(&mut self) {
        self.len = 0;
    }

    pub(crate) fn check_layers(&self, expected: usize) -> Result<(), KvCacheError> {
        if self.layers != expected {
            return Err(KvCacheError::LayerMismatch {
                expected,
                found: self.layers,
            });
        }
        Ok(())
    }

    /// Makes room for `extra` more positions, growing the storage if needed.
    pub(crate) fn reserve(&mut self, extra: usize) -> Result<(), KvCacheError> {
        let needed = self.len + extra;
        if needed > self.max_len {
            return Err(KvCacheError::TooLong {
                needed,
                max: self.max_len,
            });
        }
        if needed <= self.capacity {
            return Ok(());
        }
        let capacity = round_up(needed.max(self.capacity * 2)).min(self.max_len);
        let (len, heads, dim) = (self.len, self.kv_heads, self.head_dim);
        match &mut self.store {
            Store::Tensors(layers) => {
                for layer in layers {
                    for t in [&mut layer.keys, &mut layer.values] {
                        let grown = zeros(heads, capacity, dim, &self.device);
                        let kept = t.clone().slice([0..1, 0..heads, 0..len, 0..dim]);
                        *t = grown.slice_assign([0..1, 0..heads, 0..len, 0..dim], kept);
                    }
                }
            }
            Store::Host(layers) => {
                let old = self.capacity;
                for layer in layers {
                    // Keys: one run of `len` per (head, dim); values: one
                    // run of `len * dim` per head.
                    let mut keys = vec![0.0; heads * dim * capacity];
                    for (row, dst) in keys.chunks_exact_mut(capacity).enumerate() {
                        dst[..len].copy_from_slice(&layer.keys[row * old..][..len]);
                    }
                    layer.keys = keys;
                    let mut values = vec![0.0; heads * capacity * dim];
                    for h in 0..heads {
                        values[h * capacity * dim..][..len * dim]
                            .copy_from_slice(&layer.values[h * old * dim..][..len * dim]);
                    }
                    layer.values = values;
                }
            }
        }
        self.capacity = capacity;
        Ok(())
    }

    /// Stores `keys`/`values` (`[1, kv_heads, n, head_dim]`) of layer `layer`
    /// at positions `len..len + n` and returns views of all `len + n`
    /// positions. [`Self::advance`] commits the new length once every layer
    /// has been written.
    ///
    /// # Panics
    /// On a host cache (use [`Self::append_host`]).
    pub(crate) fn append(
        &mut self,
        layer: usize,
        keys: Tensor<4>,
        values: Tensor<4>,
    ) -> (Tensor<4>, Tensor<4>) {
        let n = keys.dims()[2];
        let (start, heads, dim) = (self.len, self.kv_heads, self.head_dim);
        let end = start + n;
        let Store::Tensors(layers) = &mut self.store else {
            unreachable!("tensor append on a host cache");
        };
        let slot = &mut layers[layer];
        // `inplace` keeps the storage uniquely owned, so the CPU backend
        // writes into it instead of copying the whole cache.
        slot.keys
            .inplace(|t| t.slice_assign([0..1, 0..heads, start..end, 0..dim], keys));
        slot.values
            .inplace(|t| t.slice_assign([0..1, 0..heads, start..end, 0..dim], values));
        (
            slot.keys.clone().slice([0..1, 0..heads, 0..end, 0..dim]),
            slot.values.clone().slice([0..1, 0..heads, 0..end, 0..dim]),
        )
    }

    /// Whether the cache is in host memory (the CPU backend).
    pub(crate) fn is_host(&self) -> bool {
        matches!(self.store, Store::Host(_))
    }

    /// [`Self::append`] for a host cache: `keys`/`values` are `n` rows of
    /// `[kv_heads, head_dim]`. Returns the layer and its capacity, for
    /// attention to read positions `0..len + n` of each head in place.
    ///
    /// # Panics
    /// On a tensor cache, or if the rows are not whole.
    pub(crate) fn append_host(
        &mut self,
        layer: usize,
        keys: &[f32],
        values: &[f32],
    ) -> (&HostKv, usize) {
        let (heads, dim, cap) = (self.kv_heads, self.head_dim, self.capacity);
        assert!(keys.len() == values.len() && keys.len().is_multiple_of(heads * dim));
        let Store::Host(layers) = &mut self.store else {
            unreachable!("host append on a tensor cache");
        };
        let slot = &mut layers[layer];
        for (i, (k, v)) in keys
            .chunks_exact(heads * dim)
            .zip(values.chunks_exact(heads * dim))
            .enumerate()
        {
            let pos = self.len + i;
            for h in 0..heads {
                for d in 0..dim {
                    slot.keys[(h * dim + d) * cap + pos] = k[h * dim + d];
                }
                let at = (h * cap + pos) * dim;
                slot.values[at..at + dim].copy_from_slice(&v[h * dim..(h + 1) * dim]);
            }
        }
        (&layers[layer], cap)
    }

    /// Commits `n` positions written by [`Self::append`] in every layer.
    pub(crate) fn advance(&mut self, n: usize) {
        self.len += n;
    }
}

fn round_up(n: usize) -> usize {
    n.div_ceil(GROW_STEP) * GROW_STEP
}

fn zeros(heads: usize, capacity: usize, dim: usize, device: &Device) -> Tensor<4> {
    Tensor::zeros([1, heads, capacity, dim], (device, DType::F32))
}
