//! [`QuantMatrix`]: a GGUF weight kept in its quantized blocks, multiplied by
//! Burn tensors.

use std::fmt;
use std::ops::Range;
use std::sync::{Arc, Mutex};

use burn::tensor::{DType, Device, Tensor, TensorData};

use super::cpu::{self, KernelError, QuantFormat, QuantWeights};
use crate::quant::{GgmlType, dequantize};

/// Largest dense chunk created for devices without the quantized kernels:
/// some GPU drivers refuse single buffers of a few hundred MB.
const DENSE_CHUNK_BYTES: usize = 128 << 20;

/// A `[rows, cols]` weight matrix stored as GGUF blocks (Q4_K, Q5_0, Q6_K or
/// Q8_0), row-major: one output feature per row.
///
/// [`QuantMatrix::matmul`] computes `x · Wᵀ` with the integer kernels of
/// [`super::cpu`] when `x` lives on the CPU backend, and with a dense Burn
/// matmul elsewhere (the dequantized matrix is created once per device and
/// cached). Cloning is cheap: the blocks and the cache are shared.
#[derive(Clone)]
pub struct QuantMatrix {
    format: QuantFormat,
    rows: usize,
    cols: usize,
    blocks: Blocks,
    dense: Arc<Mutex<Vec<(Device, Arc<[Tensor<2>]>)>>>,
}

/// Bytes owned by something shared: a `Vec` of their own or a memory map.
#[derive(Clone)]
struct Blocks {
    owner: Arc<dyn AsRef<[u8]> + Send + Sync>,
    range: Range<usize>,
}

impl Blocks {
    fn bytes(&self) -> &[u8] {
        // The range was checked against the owner when the matrix was built
        // and the owner is immutable.
        &(*self.owner).as_ref()[self.range.clone()]
    }
}

impl fmt::Debug for QuantMatrix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QuantMatrix")
            .field("format", &self.format)
            .field("rows", &self.rows)
            .field("cols", &self.cols)
            .finish()
    }
}

impl QuantMatrix {
    /// Takes ownership of `bytes`: `rows × cols` elements of `ty`.
    pub fn new(
        ty: GgmlType,
        rows: usize,
        cols: usize,
        bytes: Vec<u8>,
    ) -> Result<Self, KernelError> {
        let len = bytes.len();
        Self::shared(ty, rows, cols, Arc::new(bytes), 0..len)
    }

    /// Copies `bytes` (`rows × cols` elements of `ty`, e.g. a tensor of a
    /// memory-mapped GGUF file that will be closed after loading).
    pub fn from_bytes(
        ty: GgmlType,
        rows: usize,
        cols: usize,
        bytes: &[u8],
    ) -> Result<Self, KernelError> {
        QuantWeights::new(ty, rows, cols, bytes)?;
        Self::new(ty, rows, cols, bytes.to_vec())
    }

    /// Uses `owner.as_ref()[range]` in place, e.g. a memory map kept alive by
    /// every matrix that points into it, so the weights are never copied.
    pub fn shared(
        ty: GgmlType,
        rows: usize,
        cols: usize,
        owner: Arc<dyn AsRef<[u8]> + Send + Sync>,
        range: Range<usize>,
    ) -> Result<Self, KernelError> {
        let bytes = (*owner)
            .as_ref()
            .get(range.clone())
            .ok_or(KernelError::WeightLength {
                format: QuantFormat::from_ggml(ty).ok_or(KernelError::UnsupportedType(ty))?,
                rows,
                cols,
                expected: range.len(),
                actual: (*owner).as_ref().len().saturating_sub(range.start),
            })?;
        let format = QuantWeights::new(ty, rows, cols, bytes)?.format();
        Ok(QuantMatrix {
            format,
            rows,
            cols,
            blocks: Blocks { owner, range },
            dense: Arc::default(),
        })
    }

    pub fn format(&self) -> QuantFormat {
        self.format
    }

    /// Output features.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Input features.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Most rows per product for which each row's result equals its result
    /// alone, on this CPU ([`cpu::row_invariant_rows`]).
    pub fn row_invariant_rows(&self) -> usize {
        cpu::row_invariant_rows(cpu::Isa::best(), self.format, self.cols)
    }

    /// Bytes of quantized storage.
    pub fn storage_bytes(&self) -> usize {
        self.blocks.range.len()
    }

    /// A borrowed view for [`cpu::matmul`].
    pub fn weights(&self) -> QuantWeights<'_> {
        // Validated at construction.
        QuantWeights::new(
            self.format.ggml(),
            self.rows,
            self.cols,
            self.blocks.bytes(),
        )
        .unwrap_or_else(|e| unreachable!("validated at construction: {e}"))
    }

    /// `x · Wᵀ` on host slices: `x` holds whole rows of [`Self::cols`]
    /// values, `out` one row of [`Self::rows`] values per row of `x`.
    pub fn matmul_f32(&self, x: &[f32], out: &mut [f32]) -> Result<(), KernelError> {
        cpu::matmul(self.weights(), x, out)
    }

    /// `x: [m, cols]` → `x · Wᵀ: [m, rows]`, in `f32`, on `x`'s device.
    ///
    /// On the CPU backend the activations are read in place when `x` is not
    /// shared (otherwise copied, which costs far less than the product) and
    /// the result is wrapped without a copy.
    ///
    /// # Panics
    /// If `x` does not have [`Self::cols`] columns, like Burn's `matmul` on
    /// mismatched shapes, or if the device fails to read `x` back.
    pub fn matmul(&self, x: Tensor<2>) -> Tensor<2> {
        Self::matmul_many(&[self], x)
            .pop()
            .unwrap_or_else(|| unreachable!("one product per matrix"))
    }

    /// `[x · Wᵀ for W in mats]`: [`Self::matmul`] of one input by several
    /// matrices with the same number of columns, in one parallel pass of the
    /// CPU kernels (one product each on other devices).
    ///
    /// # Panics
    /// As [`Self::matmul`], for any of the matrices.
    pub fn matmul_many(mats: &[&QuantMatrix], x: Tensor<2>) -> Vec<Tensor<2>> {
        let [m, k] = x.dims();
        for w in mats {
            assert_eq!(
                k, w.cols,
                "QuantMatrix::matmul: x has {k} columns, the weight {}",
                w.cols
            );
        }
        let device = x.device();
        if !is_cpu(&device) {
            return mats
                .iter()
                .map(|w| w.dense_matmul(x.clone(), &device))
                .collect();
        }
        let x = if x.dtype() == DType::F32 {
            x
        } else {
            x.cast(DType::F32)
        };
        let data = x.into_data();
        let owned;
        let xs = match data.as_slice::<f32>() {
            Ok(slice) => slice,
            Err(_) => {
                owned = data
                    .try_to_vec::<f32>()
                    .unwrap_or_else(|e| panic!("f32 tensor data: {e:?}"));
                &owned
            }
        };
        let mut outs: Vec<Vec<f32>> = mats.iter().map(|w| vec![0.0f32; m * w.rows]).collect();
        let weights: Vec<QuantWeights<'_>> = mats.iter().map(|w| w.weights()).collect();
        let mut slices: Vec<&mut [f32]> = outs.iter_mut().map(Vec::as_mut_slice).collect();
        // Shapes were checked above and the weights at construction.
        cpu::matmul_many(&weights, xs, &mut slices)
            .unwrap_or_else(|e| unreachable!("checked shapes: {e}"));
        outs.into_iter()
            .zip(mats)
            .map(|(out, w)| {
                Tensor::from_data(TensorData::new(out, [m, w.rows]), (&device, DType::F32))
            })
            .collect()
    }

    /// `out[i] = x · W[ids[i]]` for one row `x` of [`Self::cols`] values:
    /// the product restricted to a few output rows (the logits of the
    /// tokens a grammar allows). Each output is computed exactly as in the
    /// full product, so the values are the same bit for bit.
    pub fn matmul_rows_f32(
        &self,
        x: &[f32],
        ids: &[u32],
        out: &mut [f32],
    ) -> Result<(), KernelError> {
        let row_bytes = self.weights().row_bytes();
        let bytes = self.blocks.bytes();
        let mut gathered = Vec::with_capacity(ids.len() * row_bytes);
        for &id in ids {
            let id = id as usize;
            if id >= self.rows {
                return Err(KernelError::RowOutOfRange {
                    row: id,
                    rows: self.rows,
                });
            }
            gathered.extend_from_slice(&bytes[id * row_bytes..(id + 1) * row_bytes]);
        }
        let weights = QuantWeights::new(self.format.ggml(), ids.len(), self.cols, &gathered)?;
        cpu::matmul(weights, x, out)
    }

    /// Rows `ids` decoded to `f32` (an embedding lookup), row after row.
    pub fn rows_f32(&self, ids: &[u32]) -> Result<Vec<f32>, KernelError> {
        let row_bytes = self.weights().row_bytes();
        let bytes = self.blocks.bytes();
        let mut out = vec![0.0f32; ids.len() * self.cols];
        for (&id, dst) in ids.iter().zip(out.chunks_exact_mut(self.cols)) {
            let id = id as usize;
            if id >= self.rows {
                return Err(KernelError::RowOutOfRange {
                    row: id,
                    rows: self.rows,
                });
            }
            let src = &bytes[id * row_bytes..(id + 1) * row_bytes];
            dequantize(self.format.ggml(), src, self.cols, dst)?;
        }
        Ok(out)
    }

    /// Embedding lookup: rows `ids` as an `f32` tensor `[ids.len(), cols]`
    /// on `device`. Only the selected rows are decoded, so a quantized
    /// vocabulary matrix stays quantized in memory.
    pub fn embed(&self, ids: &[u32], device: &Device) -> Result<Tensor<2>, KernelError> {
        let rows = self.rows_f32(ids)?;
        Ok(Tensor::from_data(
            TensorData::new(rows, [ids.len(), self.cols]),
            (device, DType::F32),
        ))
    }

    /// The whole matrix decoded to `f32`, row-major.
    pub fn to_f32(&self) -> Result<Vec<f32>, KernelError> {
        let mut out = vec![0.0f32; self.rows * self.cols];
        dequantize(
            self.format.ggml(),
            self.blocks.bytes(),
            self.rows * self.cols,
            &mut out,
        )?;
        Ok(out)
    }

    /// The fallback for devices without the integer kernels: a dense `f32`
    /// matmul against the dequantized matrix, in row chunks of at most
    /// [`DENSE_CHUNK_BYTES`].
    fn dense_matmul(&self, x: Tensor<2>, device: &Device) -> Tensor<2> {
        let chunk_rows = (DENSE_CHUNK_BYTES / (4 * self.cols)).clamp(1, self.rows.max(1));
        let chunks = self.dense_on(device, chunk_rows);
        let x = if x.dtype() == DType::F32 {
            x
        } else {
            x.cast(DType::F32)
        };
        let parts: Vec<Tensor<2>> = chunks
            .iter()
            .map(|w| x.clone().matmul(w.clone().transpose()))
            .collect();
        if parts.len() == 1 {
            parts.into_iter().next().unwrap_or_else(|| unreachable!())
        } else {
            Tensor::cat(parts, 1)
        }
    }

    /// The dense chunks on `device`, created on first use.
    fn dense_on(&self, device: &Device, chunk_rows: usize) -> Arc<[Tensor<2>]> {
        let mut cache = self
            .dense
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some((_, chunks)) = cache.iter().find(|(d, _)| d == device) {
            return chunks.clone();
        }
        let row_bytes = self.weights().row_bytes();
        let bytes = self.blocks.bytes();
        let chunks: Arc<[Tensor<2>]> = (0..self.rows)
            .step_by(chunk_rows)
            .map(|start| {
                let n = chunk_rows.min(self.rows - start);
                let mut vals = vec![0.0f32; n * self.cols];
                let src = &bytes[start * row_bytes..(start + n) * row_bytes];
                // Lengths are consistent by construction and the format is
                // one that `dequantize` supports.
                dequantize(self.format.ggml(), src, n * self.cols, &mut vals)
                    .unwrap_or_else(|e| unreachable!("validated blocks: {e}"));
                Tensor::from_data(TensorData::new(vals, [n, self.cols]), (device, DType::F32))
            })
            .collect();
        cache.push((device.clone(), chunks.clone()));
        chunks
    }
}

/// Whether `device` is Burn's CPU backend (`flex`), whose tensors are host
/// memory the kernels can read.
fn is_cpu(device: &Device) -> bool {
    *device == Device::flex()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Q8_0 blocks with scale 1/64 and values `(row * 7 + col) % 41 - 20`.
    fn q8_0(rows: usize, cols: usize) -> Vec<u8> {
        let mut out = Vec::new();
        for r in 0..rows {
            for b in 0..cols / 32 {
                out.extend_from_slice(&half::f16::from_f32(1.0 / 64.0).to_le_bytes());
                for c in 0..32 {
                    out.push((((r * 7 + b * 32 + c) % 41) as i32 - 20) as i8 as u8);
                }
            }
        }
        out
    }

    fn host(t: Tensor<2>) -> Vec<f32> {
        t.into_data().try_to_vec::<f32>().unwrap()
    }

    #[test]
    fn product_restricted_to_some_rows_equals_the_full_product() {
        let (rows, cols) = (300, 64);
        let w = QuantMatrix::new(GgmlType::Q8_0, rows, cols, q8_0(rows, cols)).unwrap();
        let x: Vec<f32> = (0..cols).map(|i| (i as f32 * 0.37).sin()).collect();
        let mut full = vec![0.0; rows];
        w.matmul_f32(&x, &mut full).unwrap();
        let ids = [299u32, 0, 17, 17, 150];
        let mut some = vec![0.0; ids.len()];
        w.matmul_rows_f32(&x, &ids, &mut some).unwrap();
        for (&id, &v) in ids.iter().zip(&some) {
            assert_eq!(v.to_bits(), full[id as usize].to_bits(), "row {id}");
        }
        assert!(matches!(
            w.matmul_rows_f32(&x, &[300], &mut [0.0]),
            Err(KernelError::RowOutOfRange { row: 300, .. })
        ));
    }

    #[test]
    fn tensor_product_matches_host_product_and_dense_fallback() {
        let (rows, cols, m) = (37, 64, 3);
        let w = QuantMatrix::new(GgmlType::Q8_0, rows, cols, q8_0(rows, cols)).unwrap();
        let device = Device::flex();
        let xs: Vec<f32> = (0..m * cols)
            .map(|i| ((i % 13) as f32 - 6.0) / 7.0)
            .collect();
        let x = Tensor::<2>::from_data(TensorData::new(xs.clone(), [m, cols]), &device);

        let mut want = vec![0.0; m * rows];
        w.matmul_f32(&xs, &mut want).unwrap();
        let got = w.matmul(x.clone());
        assert_eq!(got.dims(), [m, rows]);
        assert_eq!(host(got), want, "the tensor path runs the same kernel");

        // A shared input (refcount > 1) is copied, with the same result.
        let _keep = x.clone();
        assert_eq!(host(w.matmul(x.clone())), want);

        // The dense fallback, in chunks of 10 rows, agrees up to the
        // activation quantization of the kernel.
        let dense = QuantMatrix::new(GgmlType::Q8_0, rows, cols, q8_0(rows, cols)).unwrap();
        let chunks = dense.dense_on(&device, 10);
        assert_eq!(chunks.len(), 4);
        let fallback = host(dense.dense_matmul(x, &device));
        let wf = w.to_f32().unwrap();
        for i in 0..m {
            for j in 0..rows {
                let exact: f32 = (0..cols).map(|c| xs[i * cols + c] * wf[j * cols + c]).sum();
                assert!(
                    (fallback[i * rows + j] - exact).abs() < 1e-4,
                    "dense is exact"
                );
                assert!((want[i * rows + j] - exact).abs() < 0.02, "kernel is close");
            }
        }
    }

    #[test]
    fn rows_and_embedding_decode_single_rows() {
        let (rows, cols) = (5, 64);
        let w = QuantMatrix::new(GgmlType::Q8_0, rows, cols, q8_0(rows, cols)).unwrap();
        let all = w.to_f32().unwrap();
        let picked = w.rows_f32(&[4, 0, 4]).unwrap();
        assert_eq!(&picked[..cols], &all[4 * cols..]);
        assert_eq!(&picked[cols..2 * cols], &all[..cols]);
        assert_eq!(
            w.rows_f32(&[5]),
            Err(KernelError::RowOutOfRange { row: 5, rows: 5 })
        );
        let e = w.embed(&[1, 2], &Device::flex()).unwrap();
        assert_eq!(e.dims(), [2, cols]);
        assert_eq!(host(e), all[cols..3 * cols].to_vec());
    }

    #[test]
    fn shared_storage_is_used_in_place_and_checked() {
        let (rows, cols) = (2, 32);
        let mut file = vec![0xaa; 10];
        file.extend(q8_0(rows, cols));
        let len = file.len();
        let owner: Arc<dyn AsRef<[u8]> + Send + Sync> = Arc::new(file);
        let w = QuantMatrix::shared(GgmlType::Q8_0, rows, cols, owner.clone(), 10..len).unwrap();
        let copy = QuantMatrix::new(GgmlType::Q8_0, rows, cols, q8_0(rows, cols)).unwrap();
        assert_eq!(w.to_f32().unwrap(), copy.to_f32().unwrap());
        assert_eq!(w.storage_bytes(), 68);
        assert!(
            QuantMatrix::shared(GgmlType::Q8_0, rows, cols, owner.clone(), 10..len + 1).is_err()
        );
        assert!(QuantMatrix::shared(GgmlType::Q8_0, rows, cols, owner, 9..len).is_err());
        assert!(matches!(
            QuantMatrix::new(GgmlType::F32, 1, 1, vec![0; 4]),
            Err(KernelError::UnsupportedType(GgmlType::F32))
        ));
    }

    #[test]
    #[should_panic(expected = "x has 31 columns")]
    fn mismatched_columns_panic_like_matmul() {
        let w = QuantMatrix::new(GgmlType::Q8_0, 1, 32, q8_0(1, 32)).unwrap();
        let x = Tensor::<2>::zeros([1, 31], &Device::flex());
        let _ = w.matmul(x);
    }
}
