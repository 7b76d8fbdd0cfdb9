//! Rotary position embedding (the "rotate half" form Qwen2 uses).
//!
//! Angles are computed on the host in `f64` for each row's own position, so
//! rows of different sequences (batched decode) can sit at different
//! positions and long positions (up to 32k) lose no precision; the table is
//! tiny next to the projections it accompanies.

use burn::tensor::{DType, Device, Tensor, TensorData};

/// Cosines and sines for a batch of rows, each `[rows, 1, head_dim / 2]`.
#[derive(Debug, Clone)]
pub(crate) struct Rope {
    cos: Tensor<3>,
    sin: Tensor<3>,
}

impl Rope {
    /// Tables for `positions` (one per row) with base frequency `theta`.
    pub(crate) fn new(positions: &[usize], head_dim: usize, theta: f64, device: &Device) -> Self {
        let half = head_dim / 2;
        let inv_freq: Vec<f64> = (0..half)
            .map(|i| theta.powf(-((2 * i) as f64) / head_dim as f64))
            .collect();
        let mut cos = Vec::with_capacity(positions.len() * half);
        let mut sin = Vec::with_capacity(positions.len() * half);
        for &p in positions {
            for f in &inv_freq {
                let angle = p as f64 * f;
                cos.push(angle.cos() as f32);
                sin.push(angle.sin() as f32);
            }
        }
        let shape = [positions.len(), 1, half];
        let make = |v: Vec<f32>| Tensor::from_data(TensorData::new(v, shape), (device, DType::F32));
        Self {
            cos: make(cos),
            sin: make(sin),
        }
    }

    /// Rotates `x: [rows, heads, head_dim]`.
    pub(crate) fn apply(&self, x: Tensor<3>) -> Tensor<3> {
        let half = x.dims()[2] / 2;
        let x1 = x.clone().narrow(2, 0, half);
        let x2 = x.narrow(2, half, half);
        let rotated_1 = x1.clone() * self.cos.clone() - x2.clone() * self.sin.clone();
        let rotated_2 = x2 * self.cos.clone() + x1 * self.sin.clone();
        Tensor::cat(vec![rotated_1, rotated_2], 2)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotates_pairs_by_position_angle() {
        let device = Device::flex();
        // head_dim 4: pairs (x0, x2) at frequency 1 and (x1, x3) at theta^-0.5.
        let rope = Rope::new(&[0, 3], 4, 100.0, &device);
        let x = Tensor::<3>::from_data(
            TensorData::new(vec![1.0f32, 2.0, 3.0, 4.0, 1.0, 2.0, 3.0, 4.0], [2, 1, 4]),
            &device,
        );
        let out = crate::host::to_f32_vec(rope.apply(x)).unwrap();
        // Position 0 is the identity.
        assert_eq!(&out[..4], &[1.0, 2.0, 3.0, 4.0]);
        let (a, b) = (3.0f64, 3.0f64 * 0.1);
        let expect = [
            1.0 * a.cos() - 3.0 * a.sin(),
            2.0 * b.cos() - 4.0 * b.sin(),
            3.0 * a.cos() + 1.0 * a.sin(),
            4.0 * b.cos() + 2.0 * b.sin(),
        ];
        for (o, e) in out[4..].iter().zip(expect) {
            assert!((f64::from(*o) - e).abs() < 1e-5, "{o} vs {e}");
        }
    }
}
