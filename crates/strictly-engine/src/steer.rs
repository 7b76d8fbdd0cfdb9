//! Finding a short way to finish a JSON answer, used to steer generation
//! when `max_tokens` is about to run out and to refuse requests whose
//! budget cannot hold any valid answer.
//!
//! The grammar is asked first: the real grammar engine computes the
//! completion with the fewest bytes exactly (see `Matcher::shortest_completion`),
//! so a schema is only refused when no answer fits. Where a grammar cannot
//! say, or its answer needs more tokens than allowed, a search over the
//! [`Matcher`] seam (mask, commit, rollback, forced tokens) runs: a
//! depth-first branch-and-bound that tries, at each state, the grammar's
//! forced tokens or else a few allowed tokens that tend to close JSON
//! quickly (`"}`, `]`, `""`, `0`, `null`...), bounded by a work budget.

use crate::constraint::{Matcher, TokenMask};
use crate::model::TextCodec;

/// Tokens tried at a state before falling back to arbitrary allowed ones.
const BRANCH: usize = 3;

/// Bytes a completion of `limit` tokens may hold, for the exact search's cap
/// (no vocabulary token is longer).
const MAX_TOKEN_BYTES: usize = 64;

/// How many of the latest tokens count as recent when ranking progress
/// characters.
const RECENT: usize = 8;

/// Vocabulary tokens that help finish JSON, best first.
#[derive(Debug, Clone, Default)]
pub(crate) struct CloserTable {
    ranked: Vec<u32>,
    /// Single characters that make progress through common lexemes where no
    /// closer is allowed: `@` and `.` for e-mail addresses and hostnames,
    /// digits and separators for dates, times and durations, a letter for
    /// names.
    progress: Vec<u32>,
}

/// The characters behind [`CloserTable::progress`], best first.
const PROGRESS: &[u8] = b"a0@.1:-T/Z2+ePD";

impl CloserTable {
    /// Scans the vocabulary once for short structural tokens.
    pub(crate) fn new(codec: &dyn TextCodec) -> Self {
        let mut scored: Vec<(i32, usize, u32)> = (0..codec.vocab_size() as u32)
            .filter(|&id| !codec.is_special(id))
            .filter_map(|id| {
                score(codec.token_bytes(id)).map(|s| (s, codec.token_bytes(id).len(), id))
            })
            .collect();
        scored.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
        let single = |b: u8| {
            (0..codec.vocab_size() as u32)
                .find(|&id| !codec.is_special(id) && codec.token_bytes(id) == [b])
        };
        Self {
            ranked: scored.into_iter().map(|(_, _, id)| id).collect(),
            progress: PROGRESS.iter().filter_map(|&b| single(b)).collect(),
        }
    }

    /// Up to `k` allowed tokens, closers first, else the lowest allowed ids.
    fn pick(&self, mask: &TokenMask, k: usize) -> Vec<u32> {
        let mut picked: Vec<u32> = self
            .ranked
            .iter()
            .copied()
            .filter(|&id| mask.contains(id))
            .take(k)
            .collect();
        if picked.is_empty() {
            picked.extend(mask.iter().take(k));
        }
        picked
    }

    /// Up to `k` allowed tokens for the second pass: closers and progress
    /// characters, those least repeated among the `recent` tokens first
    /// (inside an e-mail address `}` is allowed, but repeating it never
    /// finishes the string; `a0@1` does), else the lowest allowed ids.
    fn pick_varied(&self, mask: &TokenMask, k: usize, recent: &[u32]) -> Vec<u32> {
        let mut candidates: Vec<(usize, u32)> = self
            .ranked
            .iter()
            .chain(&self.progress)
            .copied()
            .filter(|&id| mask.contains(id))
            // One use is free: the closing quote of a string matches the
            // opening one.
            .map(|id| {
                let uses = recent.iter().filter(|&&r| r == id).count();
                (uses.saturating_sub(1), id)
            })
            .collect();
        // Stable: equally repeated tokens keep their order of merit.
        candidates.sort_by_key(|&(uses, _)| uses);
        let mut picked: Vec<u32> = Vec::with_capacity(k);
        for (_, id) in candidates {
            if picked.len() == k {
                break;
            }
            if !picked.contains(&id) {
                picked.push(id);
            }
        }
        if picked.is_empty() {
            picked.extend(mask.iter().take(k));
        }
        picked
    }
}

/// How much a token helps close JSON; `None` for tokens not worth trying.
fn score(bytes: &[u8]) -> Option<i32> {
    if bytes.is_empty() || bytes.len() > 6 {
        return None;
    }
    if matches!(bytes, b"null" | b"true" | b"false" | b"0") {
        return Some(0);
    }
    let mut s = 0;
    for &b in bytes {
        s += match b {
            b'"' | b']' | b'}' => 2,
            b'[' | b'{' => -2,
            b',' => -3,
            b':' => -1,
            _ => return None,
        };
    }
    Some(s)
}

/// A short token sequence that takes `matcher` from its current state to an
/// accepting one, of at most `limit` tokens, or `None` if the search found
/// none within `budget` commits. The matcher is left as it was found.
pub(crate) fn shortest_completion(
    matcher: &mut dyn Matcher,
    closers: &CloserTable,
    stop_tokens: &[u32],
    mask: &mut TokenMask,
    limit: usize,
    budget: usize,
) -> Option<Vec<u32>> {
    let cap = limit.saturating_mul(MAX_TOKEN_BYTES).min(1 << 20);
    if let Some(exact) = matcher.shortest_completion(cap) {
        if exact.len() <= limit && !exact.iter().any(|t| stop_tokens.contains(t)) {
            return Some(exact);
        }
    }
    // Closers first finds short answers for most grammars; where a lexeme
    // allows closers without ending (`}` inside an e-mail address) it keeps
    // repeating them, and a second pass that varies its choices is needed.
    for varied in [false, true] {
        let mut search = Search {
            matcher: &mut *matcher,
            closers,
            stop_tokens,
            mask: &mut *mask,
            budget,
            limit,
            varied,
            path: Vec::new(),
            best: None,
        };
        search.dfs();
        if search.best.is_some() {
            return search.best;
        }
    }
    None
}

struct Search<'a> {
    matcher: &'a mut dyn Matcher,
    closers: &'a CloserTable,
    stop_tokens: &'a [u32],
    mask: &'a mut TokenMask,
    budget: usize,
    limit: usize,
    /// Second pass: rank candidates by how little they were repeated.
    varied: bool,
    path: Vec<u32>,
    best: Option<Vec<u32>>,
}

impl Search<'_> {
    /// Longest path still worth exploring: shorter than the best found.
    fn bound(&self) -> usize {
        self.best
            .as_ref()
            .map_or(self.limit, |b| b.len().saturating_sub(1))
    }

    fn dfs(&mut self) {
        if self.matcher.is_accepting() {
            if self.path.len() <= self.bound() {
                self.best = Some(self.path.clone());
            }
            return;
        }
        if self.budget == 0 || self.path.len() >= self.bound() {
            return;
        }
        let forced: Vec<u32> = self
            .matcher
            .forced_tokens()
            .into_iter()
            .filter(|t| !self.stop_tokens.contains(t))
            .collect();
        if !forced.is_empty() {
            let mut committed = 0;
            for &token in &forced {
                if self.path.len() >= self.bound() || self.matcher.commit(token).is_err() {
                    break;
                }
                self.path.push(token);
                committed += 1;
                self.budget = self.budget.saturating_sub(1);
            }
            if committed == forced.len() {
                self.dfs();
            }
            self.undo(committed);
            return;
        }
        self.matcher.fill_mask(self.mask);
        let picks = if self.varied {
            let recent = &self.path[self.path.len().saturating_sub(RECENT)..];
            self.closers.pick_varied(self.mask, BRANCH, recent)
        } else {
            self.closers.pick(self.mask, BRANCH)
        };
        for token in picks {
            if self.budget == 0 || self.path.len() >= self.bound() {
                break;
            }
            if self.stop_tokens.contains(&token) || self.matcher.commit(token).is_err() {
                continue;
            }
            self.path.push(token);
            self.budget -= 1;
            self.dfs();
            self.undo(1);
        }
    }

    fn undo(&mut self, n: usize) {
        if n > 0 {
            self.matcher.rollback(n);
            self.path.truncate(self.path.len() - n);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{ByteCodec, ChoiceMatcher};

    fn search(choices: &[&str], prefix: &str, limit: usize) -> Option<String> {
        let codec = ByteCodec::new();
        let closers = CloserTable::new(&codec);
        let mut m = ChoiceMatcher::new(choices.iter().map(|c| c.as_bytes().to_vec()).collect());
        for b in prefix.bytes() {
            m.commit(b as u32).unwrap();
        }
        let mut mask = TokenMask::new(codec.vocab_size());
        let before = m.clone();
        let found = shortest_completion(
            &mut m,
            &closers,
            codec.stop_tokens(),
            &mut mask,
            limit,
            10_000,
        );
        assert_eq!(m, before, "the search must leave the matcher as it was");
        found.map(|path| path.iter().map(|&t| t as u8 as char).collect())
    }

    #[test]
    fn finds_the_shorter_of_two_completions() {
        let choices = [r#"{"a":"long text"}"#, r#"{"a":""}"#];
        assert_eq!(search(&choices, r#"{"a":"#, 20).as_deref(), Some(r#"""}"#));
    }

    #[test]
    fn respects_the_limit() {
        let choices = [r#"{"a":"xyz"}"#];
        assert_eq!(search(&choices, "{", 3), None);
        assert_eq!(search(&choices, "{", 10).as_deref(), Some(r#""a":"xyz"}"#));
    }

    #[test]
    fn an_accepting_state_needs_nothing() {
        assert_eq!(search(&["[]"], "[]", 0).as_deref(), Some(""));
    }
}
