//! Moving tensors to host memory without panicking on readback errors.

use burn::tensor::{DType, Tensor};

/// A tensor could not be read back from its device.
#[derive(Debug, thiserror::Error)]
#[error("cannot read tensor back from the device: {0}")]
pub struct ReadbackError(pub String);

/// Reads a float tensor of any dtype into an `f32` vector (row-major).
pub fn to_f32_vec<const D: usize>(tensor: Tensor<D>) -> Result<Vec<f32>, ReadbackError> {
    tensor
        .try_into_data_dtype(DType::F32)
        .map_err(|e| ReadbackError(e.to_string()))?
        .try_into_vec::<f32>()
        .map_err(|e| ReadbackError(format!("{e:?}")))
}

/// The `k` largest logits as `(id, logit)`, largest first; ties keep the
/// lower id first, NaNs sort last.
pub fn top_k(logits: &[f32], k: usize) -> Vec<(u32, f32)> {
    let mut ids: Vec<u32> = (0..logits.len() as u32).collect();
    let key = |&i: &u32| {
        let v = logits[i as usize];
        if v.is_nan() { f32::NEG_INFINITY } else { v }
    };
    let k = k.min(ids.len());
    let order = |a: &u32, b: &u32| key(b).total_cmp(&key(a)).then(a.cmp(b));
    if k > 0 && k < ids.len() {
        ids.select_nth_unstable_by(k - 1, order);
        ids.truncate(k);
    }
    ids.sort_by(order);
    ids.truncate(k);
    ids.into_iter().map(|i| (i, logits[i as usize])).collect()
}

/// The id of the largest logit (greedy decoding); `None` for an empty slice.
pub fn argmax(logits: &[f32]) -> Option<u32> {
    top_k(logits, 1).first().map(|&(id, _)| id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_k_sorts_and_breaks_ties_by_id() {
        let logits = [0.5, 3.0, f32::NAN, 3.0, -1.0, 2.0];
        assert_eq!(top_k(&logits, 3), vec![(1, 3.0), (3, 3.0), (5, 2.0)]);
        assert_eq!(top_k(&logits, 0), vec![]);
        assert_eq!(top_k(&logits, 10).len(), 6);
        assert_eq!(argmax(&logits), Some(1));
        assert_eq!(argmax(&[]), None);
    }
}
