//! Token choice among the tokens the mask allows: greedy by default (the most
//! faithful extraction), or temperature and nucleus (top-p) sampling with a
//! seedable generator so a seeded request is reproducible.

use std::hash::{BuildHasher, RandomState};

use crate::constraint::TokenMask;
use crate::request::SamplingParams;

/// SplitMix64: tiny, fast, and its output for a seed never changes across
/// dependency upgrades, which keeps seeded answers stable.
#[derive(Debug, Clone)]
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Chooses tokens for one sequence.
#[derive(Debug, Clone)]
pub(crate) struct Sampler {
    temperature: f32,
    top_p: f32,
    rng: SplitMix64,
}

impl Sampler {
    pub(crate) fn new(params: &SamplingParams) -> Self {
        let seed = params
            .seed
            .unwrap_or_else(|| RandomState::new().hash_one(std::time::Instant::now()));
        Self {
            temperature: params.temperature,
            top_p: params.top_p,
            rng: SplitMix64(seed),
        }
    }

    /// The chosen token, or `None` if the mask allows nothing.
    pub(crate) fn sample(&mut self, logits: &[f32], mask: &TokenMask) -> Option<u32> {
        if self.temperature <= 0.0 {
            return argmax(logits, mask);
        }
        let mut candidates: Vec<(u32, f32)> = mask
            .iter()
            .filter_map(|id| logits.get(id as usize).map(|&l| (id, l)))
            .filter(|(_, l)| l.is_finite())
            .collect();
        if candidates.len() <= 1 {
            return candidates
                .first()
                .map(|c| c.0)
                .or_else(|| argmax(logits, mask));
        }
        candidates.sort_unstable_by(|a, b| b.1.total_cmp(&a.1));
        let max = candidates[0].1;
        let inv_t = 1.0 / self.temperature as f64;
        let weights: Vec<f64> = candidates
            .iter()
            .map(|&(_, l)| ((l - max) as f64 * inv_t).exp())
            .collect();
        let total: f64 = weights.iter().sum();
        // Keep the smallest prefix of the sorted tokens whose mass reaches top_p.
        let mut kept = 0.0;
        let mut cut = weights.len();
        for (i, w) in weights.iter().enumerate() {
            kept += w;
            if kept >= self.top_p as f64 * total {
                cut = i + 1;
                break;
            }
        }
        let mass: f64 = weights[..cut].iter().sum();
        let mut target = self.rng.next_f64() * mass;
        for (i, w) in weights[..cut].iter().enumerate() {
            target -= w;
            if target < 0.0 {
                return Some(candidates[i].0);
            }
        }
        Some(candidates[cut - 1].0)
    }
}

/// The probability of `token` under the model's distribution restricted to
/// the tokens `mask` allows (softmax at temperature 1 over them): what the
/// model thought of its choice once the grammar had ruled out the rest.
pub(crate) fn masked_probability(logits: &[f32], mask: &TokenMask, token: u32) -> f32 {
    let Some(&chosen) = logits.get(token as usize).filter(|l| l.is_finite()) else {
        return 0.0;
    };
    // One pass over the mask: the sum of exp(l - max), rescaled whenever
    // the running maximum grows.
    let (mut max, mut total) = (chosen, 0.0f64);
    for id in mask.iter() {
        let Some(&l) = logits.get(id as usize).filter(|l| l.is_finite()) else {
            continue;
        };
        if l > max {
            total *= f64::from(max - l).exp();
            max = l;
        }
        total += f64::from(l - max).exp();
    }
    if total <= 0.0 {
        return 0.0;
    }
    (f64::from(chosen - max).exp() / total) as f32
}

/// The allowed token with the highest logit (lowest id on ties).
fn argmax(logits: &[f32], mask: &TokenMask) -> Option<u32> {
    let mut best: Option<(u32, f32)> = None;
    for id in mask.iter() {
        let Some(&l) = logits.get(id as usize) else {
            break;
        };
        if best.is_none_or(|(_, b)| l > b) {
            best = Some((id, l));
        }
    }
    best.map(|(id, _)| id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mask_of(len: usize, ids: &[u32]) -> TokenMask {
        let mut m = TokenMask::new(len);
        ids.iter().for_each(|&i| m.allow(i));
        m
    }

    #[test]
    fn greedy_respects_the_mask() {
        let logits = [5.0, 1.0, 3.0, 9.0];
        let mut s = Sampler::new(&SamplingParams::default());
        assert_eq!(s.sample(&logits, &mask_of(4, &[0, 1, 2])), Some(0));
        assert_eq!(s.sample(&logits, &mask_of(4, &[1, 2])), Some(2));
        assert_eq!(s.sample(&logits, &mask_of(4, &[])), None);
    }

    #[test]
    fn seeded_sampling_is_reproducible_and_stays_in_the_mask() {
        let logits: Vec<f32> = (0..50).map(|i| (i % 7) as f32 * 0.3).collect();
        let mask = mask_of(50, &[3, 10, 17, 24, 31, 45]);
        let params = SamplingParams {
            temperature: 1.0,
            top_p: 1.0,
            seed: Some(7),
        };
        let run = || {
            let mut s = Sampler::new(&params);
            (0..32)
                .map(|_| s.sample(&logits, &mask).unwrap())
                .collect::<Vec<_>>()
        };
        let a = run();
        assert_eq!(a, run());
        assert!(a.iter().all(|&id| mask.contains(id)));
        assert!(
            a.iter().collect::<std::collections::HashSet<_>>().len() > 1,
            "sampling should vary: {a:?}"
        );
    }

    #[test]
    fn probabilities_are_renormalised_over_the_mask() {
        let logits = [0.0, 2.0f32.ln(), 9.0, 0.0];
        let mask = mask_of(4, &[0, 1, 3]);
        // Weights 1, 2 and 1 among the allowed tokens; token 2 is ruled out.
        assert!((masked_probability(&logits, &mask, 1) - 0.5).abs() < 1e-6);
        assert!((masked_probability(&logits, &mask, 3) - 0.25).abs() < 1e-6);
        assert_eq!(masked_probability(&logits, &mask_of(4, &[2]), 2), 1.0);
    }

    #[test]
    fn small_top_p_keeps_only_the_best_token() {
        let logits = [0.0, 4.0, 1.0, 3.9];
        let params = SamplingParams {
            temperature: 1.0,
            top_p: 0.01,
            seed: Some(1),
        };
        let mut s = Sampler::new(&params);
        for _ in 0..20 {
            assert_eq!(s.sample(&logits, &mask_of(4, &[0, 1, 2, 3])), Some(1));
        }
    }
}
