//! The set of rows already in the output, as a bitset over row numbers:
//! resuming a ten-million-row run costs about a megabyte, not a hash set
//! of every row.

/// Row numbers (1-based) that are done.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DoneSet {
    words: Vec<u64>,
    len: u64,
}

impl DoneSet {
    pub fn new() -> Self {
        Self::default()
    }

    /// Marks `row` done; returns false when it already was (a duplicate).
    pub fn insert(&mut self, row: u64) -> bool {
        let (word, bit) = ((row / 64) as usize, row % 64);
        if word >= self.words.len() {
            self.words.resize(word + 1, 0);
        }
        let fresh = self.words[word] & (1 << bit) == 0;
        self.words[word] |= 1 << bit;
        self.len += u64::from(fresh);
        fresh
    }

    pub fn contains(&self, row: u64) -> bool {
        self.words
            .get((row / 64) as usize)
            .is_some_and(|w| w & (1 << (row % 64)) != 0)
    }

    /// Number of rows in the set.
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The largest row in the set.
    pub fn max(&self) -> Option<u64> {
        let (i, w) = self
            .words
            .iter()
            .enumerate()
            .rev()
            .find(|(_, w)| **w != 0)?;
        Some(i as u64 * 64 + 63 - u64::from(w.leading_zeros()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_contains_len_and_max() {
        let mut done = DoneSet::new();
        assert!(done.is_empty() && done.max().is_none());
        assert!(done.insert(1));
        assert!(done.insert(640));
        assert!(!done.insert(1));
        assert!(done.contains(1) && done.contains(640));
        assert!(!done.contains(2) && !done.contains(100_000));
        assert_eq!(done.len(), 2);
        assert_eq!(done.max(), Some(640));
    }
}
