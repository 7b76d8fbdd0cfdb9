//! A bitset over the whole model vocabulary.
//!
//! Masks are produced once per decoding step and applied to the logits, so they
//! are plain words: cheap to clear, copy and union, and easy to hand to a GPU.

/// One bit per token id; a set bit means the token is allowed.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenMask {
    words: Vec<u64>,
    len: usize,
}

impl TokenMask {
    /// An all-zero mask over `len` token ids.
    pub fn new(len: usize) -> Self {
        TokenMask {
            words: vec![0; len.div_ceil(64)],
            len,
        }
    }

    /// Number of token ids the mask spans (the model's vocabulary size).
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether token `id` is allowed; ids past the end are never allowed.
    #[inline]
    pub fn contains(&self, id: u32) -> bool {
        let i = id as usize;
        i < self.len && (self.words[i >> 6] >> (i & 63)) & 1 == 1
    }

    #[inline]
    pub fn insert(&mut self, id: u32) {
        let i = id as usize;
        debug_assert!(i < self.len);
        self.words[i >> 6] |= 1u64 << (i & 63);
    }

    #[inline]
    pub fn remove(&mut self, id: u32) {
        let i = id as usize;
        if i < self.len {
            self.words[i >> 6] &= !(1u64 << (i & 63));
        }
    }

    pub fn clear(&mut self) {
        self.words.fill(0);
    }

    /// Makes `self` a copy of `other` without reallocating.
    pub fn copy_from(&mut self, other: &TokenMask) {
        debug_assert_eq!(self.len, other.len);
        self.words.copy_from_slice(&other.words);
    }

    /// Makes `self` the intersection of `a` and `b` in one pass (no copy
    /// of `a` first: the mask is large and this runs once per step).
    pub fn assign_and(&mut self, a: &TokenMask, b: &TokenMask) {
        debug_assert!(self.len == a.len && self.len == b.len);
        for ((o, x), y) in self.words.iter_mut().zip(&a.words).zip(&b.words) {
            *o = *x & *y;
        }
    }

    pub fn union_with(&mut self, other: &TokenMask) {
        for (a, b) in self.words.iter_mut().zip(&other.words) {
            *a |= *b;
        }
    }

    pub fn intersect_with(&mut self, other: &TokenMask) {
        for (a, b) in self.words.iter_mut().zip(&other.words) {
            *a &= *b;
        }
    }

    pub fn subtract(&mut self, other: &TokenMask) {
        for (a, b) in self.words.iter_mut().zip(&other.words) {
            *a &= !*b;
        }
    }

    /// Number of allowed tokens.
    pub fn count(&self) -> usize {
        self.words.iter().map(|w| w.count_ones() as usize).sum()
    }

    pub fn is_all_clear(&self) -> bool {
        self.words.iter().all(|&w| w == 0)
    }

    /// Allowed token ids in increasing order.
    pub fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        self.words.iter().enumerate().flat_map(|(wi, &w)| {
            let mut w = w;
            std::iter::from_fn(move || {
                if w == 0 {
                    return None;
                }
                let b = w.trailing_zeros();
                w &= w - 1;
                Some((wi as u32) * 64 + b)
            })
        })
    }

    /// The raw words, bit `i % 64` of word `i / 64` for token `i`.
    pub fn as_words(&self) -> &[u64] {
        &self.words
    }
}

impl std::fmt::Debug for TokenMask {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown: Vec<u32> = self.iter().take(16).collect();
        write!(f, "TokenMask({} of {}: {:?}", self.count(), self.len, shown)?;
        if self.count() > shown.len() {
            write!(f, "…")?;
        }
        write!(f, ")")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_ops_and_iteration() {
        let mut a = TokenMask::new(130);
        a.insert(0);
        a.insert(64);
        a.insert(129);
        assert!(a.contains(64) && !a.contains(65) && !a.contains(500));
        assert_eq!(a.iter().collect::<Vec<_>>(), vec![0, 64, 129]);
        let mut b = TokenMask::new(130);
        b.insert(64);
        b.insert(1);
        let mut u = a.clone();
        u.union_with(&b);
        assert_eq!(u.count(), 4);
        let mut i = a.clone();
        i.intersect_with(&b);
        assert_eq!(i.iter().collect::<Vec<_>>(), vec![64]);
        let mut j = u.clone();
        j.assign_and(&a, &b);
        assert_eq!(j, i);
        a.subtract(&b);
        assert_eq!(a.iter().collect::<Vec<_>>(), vec![0, 129]);
        a.remove(0);
        a.remove(1000);
        assert_eq!(a.count(), 1);
    }
}
