//! KV snapshots of shared prompt prefixes. Extraction prompts with the same
//! instructions and schema share their whole system message; a sequence that
//! starts from a snapshot prefills only its document.

/// Least-recently-used store of prefix snapshots.
pub(crate) struct PrefixCache<C> {
    entries: Vec<Entry<C>>,
    capacity: usize,
    clock: u64,
}

struct Entry<C> {
    tokens: Vec<u32>,
    cache: C,
    used: u64,
}

impl<C> PrefixCache<C> {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            entries: Vec::new(),
            capacity,
            clock: 0,
        }
    }

    /// The snapshot holding exactly `prefix`, if stored.
    pub(crate) fn get(&mut self, prefix: &[u32]) -> Option<&C> {
        self.clock += 1;
        let now = self.clock;
        let entry = self.entries.iter_mut().find(|e| e.tokens == prefix)?;
        entry.used = now;
        Some(&entry.cache)
    }

    pub(crate) fn contains(&self, prefix: &[u32]) -> bool {
        self.entries.iter().any(|e| e.tokens == prefix)
    }

    /// Stores a snapshot, evicting the least recently used one when full.
    pub(crate) fn insert(&mut self, prefix: Vec<u32>, cache: C) {
        if self.capacity == 0 || self.contains(&prefix) {
            return;
        }
        if self.entries.len() >= self.capacity
            && let Some(oldest) = self
                .entries
                .iter()
                .enumerate()
                .min_by_key(|(_, e)| e.used)
                .map(|(i, _)| i)
        {
            self.entries.swap_remove(oldest);
        }
        self.clock += 1;
        self.entries.push(Entry {
            tokens: prefix,
            cache,
            used: self.clock,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_prefix_lookup_and_lru_eviction() {
        let mut c = PrefixCache::new(2);
        c.insert(vec![1, 2], "a");
        c.insert(vec![3], "b");
        assert_eq!(c.get(&[1, 2]), Some(&"a"));
        assert_eq!(c.get(&[1]), None);
        c.insert(vec![4], "c");
        assert!(c.contains(&[1, 2]));
        assert!(!c.contains(&[3]));
    }

    #[test]
    fn zero_capacity_stores_nothing() {
        let mut c = PrefixCache::new(0);
        c.insert(vec![1], ());
        assert!(!c.contains(&[1]));
    }
}
