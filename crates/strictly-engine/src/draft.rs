//! Draft tokens copied from the document (prompt-lookup speculation).
//!
//! An extraction answer repeats the document: names, addresses, dates,
//! phrases. Once the answer's last bytes are found in the document, the
//! bytes that follow them there are a cheap guess of what comes next. The
//! guess is tokenized, cut where the grammar refuses it, and fed to the
//! model after the sequence's real tokens; one forward pass then yields the
//! logits after every guessed token, and each guess is kept only if
//! sampling from those logits picks it. The answer is the same as without
//! drafts (for greedy decoding, token for token); only the number of forward
//! passes changes.
//!
//! Matching is on bytes, not tokens, because a value inside a JSON string is
//! tokenized differently from the same words in running text (`"Acme` vs
//! ` Acme`).

use std::collections::HashMap;

/// Shortest answer tail that counts as a match: shorter tails (a quote, a
/// digit) occur everywhere and would mostly draft noise.
pub(crate) const MIN_MATCH: usize = 3;
/// Longest answer tail compared; longer matches gain nothing.
pub(crate) const MAX_MATCH: usize = 32;
/// Occurrences of a trigram examined per lookup, so a frequent trigram in a
/// long document cannot make a step slow.
const MAX_CANDIDATES: usize = 256;

/// The document's bytes with an index of where each 3-byte string starts.
#[derive(Debug)]
pub(crate) struct CopySource {
    text: Vec<u8>,
    starts: HashMap<[u8; MIN_MATCH], Vec<u32>>,
    /// End of the previous match: the answer usually walks the document in
    /// order, so among equally long matches the next one after it wins.
    cursor: usize,
}

impl CopySource {
    /// Indexes `text`; `None` if it is too short to draft from.
    pub(crate) fn new(text: &str) -> Option<Self> {
        let text = text.as_bytes().to_vec();
        if text.len() <= MIN_MATCH || text.len() > u32::MAX as usize {
            return None;
        }
        let mut starts: HashMap<[u8; MIN_MATCH], Vec<u32>> = HashMap::new();
        for (i, w) in text.windows(MIN_MATCH).enumerate() {
            let key = [w[0], w[1], w[2]];
            starts.entry(key).or_default().push(i as u32);
        }
        Some(Self {
            text,
            starts,
            cursor: 0,
        })
    }

    /// Up to `max_bytes` of the document that follow the longest match of
    /// the end of `answer` (at least [`MIN_MATCH`] bytes), or `None`.
    pub(crate) fn continuation(&mut self, answer: &[u8], max_bytes: usize) -> Option<&[u8]> {
        if answer.len() < MIN_MATCH {
            return None;
        }
        let tail = &answer[answer.len() - answer.len().min(MAX_MATCH)..];
        let last = &tail[tail.len() - MIN_MATCH..];
        let positions = self.starts.get(&[last[0], last[1], last[2]])?;
        // (match length, end in the document), best first.
        let mut best: Option<(usize, usize)> = None;
        for &start in positions.iter().take(MAX_CANDIDATES) {
            let end = start as usize + MIN_MATCH;
            if end >= self.text.len() {
                continue;
            }
            let len = self.text[..end]
                .iter()
                .rev()
                .zip(tail.iter().rev())
                .take_while(|(a, b)| a == b)
                .count();
            let better = match best {
                None => true,
                Some((best_len, best_end)) => {
                    len > best_len
                        || (len == best_len && best_end <= self.cursor && end > self.cursor)
                }
            };
            if better {
                best = Some((len, end));
            }
        }
        let (_, end) = best?;
        self.cursor = end;
        let stop = (end + max_bytes).min(self.text.len());
        Some(&self.text[end..stop])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continues_after_the_longest_match() {
        let mut src = CopySource::new("Bill to: Acme Corp, 12 Main St. Ship to: Acme Ltd").unwrap();
        assert_eq!(
            src.continuation(b"{\"name\":\"Acme", 5),
            Some(&b" Corp"[..])
        );
        // "p to: Acme" matches the second occurrence further than the first.
        assert_eq!(
            src.continuation(b"\"ship\":\"Ship to: Acme", 4),
            Some(&b" Ltd"[..])
        );
    }

    #[test]
    fn prefers_the_next_occurrence_in_reading_order() {
        let mut src = CopySource::new("qty 2 x 4.50; qty 3 x 9.00").unwrap();
        assert_eq!(src.continuation(b"qty", 2), Some(&b" 2"[..]));
        assert_eq!(src.continuation(b"qty", 2), Some(&b" 3"[..]));
    }

    #[test]
    fn short_or_absent_tails_draft_nothing() {
        let mut src = CopySource::new("hello world").unwrap();
        assert_eq!(src.continuation(b"lo", 4), None);
        assert_eq!(src.continuation(b"xyz", 4), None);
        // A match at the very end has nothing after it.
        assert_eq!(src.continuation(b"rld", 4), None);
        assert!(CopySource::new("ab").is_none());
    }
}
