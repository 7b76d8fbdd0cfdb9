//! The words of a small finite DFA language, for key classes that are
//! better listed one by one (see `json::object`).

use crate::dfa::{DEAD, Dfa};

impl Dfa {
    /// Every word of the language, shortest first, if it is finite and has
    /// at most `limit` words; `None` otherwise.
    pub fn finite_words(&self, limit: usize) -> Option<Vec<Vec<u8>>> {
        let live = self.distances_to_accept();
        let members = self.class_members();
        let n = self.num_states();
        // A live path longer than the number of states goes round a cycle
        // from which acceptance is still reachable: infinitely many words.
        let mut words = Vec::new();
        let mut stack: Vec<(u32, Vec<u8>)> = vec![(self.start(), Vec::new())];
        let mut steps = limit.saturating_mul(n).saturating_mul(4).max(4096);
        while let Some((s, word)) = stack.pop() {
            steps = steps.checked_sub(1)?;
            if s == DEAD || live[s as usize] == u32::MAX {
                continue;
            }
            if word.len() > n {
                return None;
            }
            if self.accepts(s) {
                words.push(word.clone());
                if words.len() > limit {
                    return None;
                }
            }
            for class in &members {
                let Some(&b) = class.first() else { continue };
                let t = self.next(s, b);
                if t == DEAD || live[t as usize] == u32::MAX {
                    continue;
                }
                for &b in class {
                    let mut w = word.clone();
                    w.push(b);
                    stack.push((t, w));
                    if stack.len() > limit.saturating_mul(n).max(1024) {
                        return None;
                    }
                }
            }
        }
        words.sort_by(|a, b| a.len().cmp(&b.len()).then_with(|| a.cmp(b)));
        Some(words)
    }
}

#[cfg(test)]
mod tests {
    use crate::dfa::Dfa;

    #[test]
    fn finite_and_infinite_languages() {
        let d = Dfa::from_words([b"ab".as_slice(), b"a", b"b"]);
        assert_eq!(
            d.finite_words(8),
            Some(vec![b"a".to_vec(), b"b".to_vec(), b"ab".to_vec()])
        );
        assert_eq!(d.finite_words(2), None);
        let hir = regex_syntax::parse("a+").unwrap();
        let inf = Dfa::from_hir(&hir, 1000).unwrap();
        assert_eq!(inf.finite_words(100), None);
    }
}
