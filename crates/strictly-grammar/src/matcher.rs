//! One matcher per sequence: masks, commits, rollback, forced continuations.
//!
//! The mask walks the token trie from the current lexer position: a byte
//! either extends the current lexeme, or ends it, in which case the Earley
//! parser scans the completed lexeme and the byte starts the next one. Rows
//! scanned during the walk are speculative and dropped at the end; scans
//! from the same row and lexer state are memoized for the duration of one
//! walk, since many tokens end a lexeme the same way (`",`, `"}`, ...).
//! Wide lexer states (inside a free-form string) use the per-tokenizer
//! cache in `inside`, so the walk only visits tokens that leave the lexeme.

use std::sync::Arc;

use crate::earley::Parser;
use crate::error::MatchError;
use crate::factory::{CompiledGrammar, Factory};
use crate::grammar::Grammar;
use crate::hash::FastMap;
use crate::inside::InsideEntry;
use crate::keys::KeyHistory;
use crate::lexer::{LexPos, Lexer, Step};
use crate::mask::TokenMask;

/// Where the matcher stands: the parser row and the lexer position after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cursor {
    pub row: u32,
    pub pos: LexPos,
}

/// Saved before each committed token, for rollback.
#[derive(Debug, Clone, Copy)]
struct Saved {
    rows: usize,
    cursor: Cursor,
    finished: bool,
    /// Bytes the key tracker had followed.
    text: usize,
}

/// Constrains one sequence to a compiled grammar.
pub struct Matcher {
    pub(crate) factory: Arc<Factory>,
    pub(crate) grammar: Arc<CompiledGrammar>,
    pub(crate) parser: Parser,
    pub(crate) lexer: Lexer,
    pub(crate) cursor: Cursor,
    history: Vec<Saved>,
    finished: bool,
    /// Object keys so far, for grammars whose keys must be distinct.
    keys: Option<KeyHistory>,
    /// `(row, lexer state, completed lexemes)` → scanned row (or
    /// `u32::MAX`), for one walk.
    pub(crate) memo: FastMap<(u32, u32, u32), u32>,
    /// `(lexer state, whitespace)` → shared inside-token entry, if any.
    pub(crate) inside_memo: FastMap<(u32, u8), Option<Arc<InsideEntry>>>,
}

impl Matcher {
    pub(crate) fn new(factory: Arc<Factory>, grammar: Arc<CompiledGrammar>) -> Matcher {
        let parser = Parser::new(&grammar.grammar);
        let grammar_keys = grammar.distinct_keys.then(KeyHistory::default);
        let mut lexer = Lexer::new();
        let g = &grammar.grammar;
        let allowed = parser.row(0).allowed;
        let l = lexer.start_state(g, allowed, parser.allowed_set(allowed));
        Matcher {
            factory,
            grammar,
            parser,
            lexer,
            cursor: Cursor {
                row: 0,
                pos: LexPos::start(l),
            },
            history: Vec::new(),
            finished: false,
            keys: grammar_keys,
            memo: FastMap::default(),
            inside_memo: FastMap::default(),
        }
    }

    pub fn grammar(&self) -> &Arc<CompiledGrammar> {
        &self.grammar
    }

    /// Size of the masks this matcher produces (the model's vocabulary).
    pub fn vocab_len(&self) -> usize {
        self.factory.vocab().len()
    }

    /// Feeds one byte from `c`, scanning a completed lexeme when the byte
    /// ends it; `memoize` reuses scans within one walk.
    #[inline]
    pub(crate) fn advance(&mut self, c: Cursor, b: u8, memoize: bool) -> Option<Cursor> {
        let g: &Grammar = &self.grammar.grammar;
        match self.lexer.step_inline(g, c.pos, b) {
            Step::Continue(pos) => Some(Cursor { row: c.row, pos }),
            Step::Dead => None,
            Step::End => {
                let row = self.scan_end(c, memoize)?;
                let g: &Grammar = &self.grammar.grammar;
                let allowed = self.parser.row(row).allowed;
                let l = self
                    .lexer
                    .start_state(g, allowed, self.parser.allowed_set(allowed));
                match self.lexer.step(g, LexPos::start(l), b) {
                    Step::Continue(pos) => Some(Cursor { row, pos }),
                    _ => None,
                }
            }
        }
    }

    /// Scans the lexeme complete at `c` and returns the new row.
    pub(crate) fn scan_end(&mut self, c: Cursor, memoize: bool) -> Option<u32> {
        let g: &Grammar = &self.grammar.grammar;
        // The scan depends on which lexemes are complete, not on the count
        // itself: strings of any length within their bounds share a scan.
        let chars = if self.lexer.count_dependent(c.pos.l) {
            let acc = &self.lexer.state(c.pos.l).accepting;
            if acc.len() < 31 {
                let mut bits = 1u32 << 31;
                for (i, &t) in acc.iter().enumerate() {
                    let def = g.lexeme(t);
                    if def.min_chars <= c.pos.chars && c.pos.chars <= def.max_chars {
                        bits |= 1 << i;
                    }
                }
                bits
            } else {
                c.pos.chars & !(1 << 31)
            }
        } else {
            0
        };
        let key = (c.row, c.pos.l, chars);
        if memoize {
            if let Some(&r) = self.memo.get(&key) {
                return if r == u32::MAX { None } else { Some(r) };
            }
        }
        let accepted = self.lexer.accepted(g, c.pos);
        let r = self.parser.scan(g, c.row, accepted);
        if memoize {
            self.memo.insert(key, r.unwrap_or(u32::MAX));
        }
        r
    }

    /// Whether the bytes so far form a complete instance (EOS is allowed).
    pub fn is_accepting(&mut self) -> bool {
        if self.finished {
            return true;
        }
        let c = self.cursor;
        if self.lexer.state(c.pos.l).is_start {
            return c.pos.ws == 0 && self.parser.row(c.row).accepting;
        }
        let n = self.parser.num_rows();
        let ok = match self.scan_end(c, false) {
            Some(r) => self.parser.row(r).accepting,
            None => false,
        };
        self.parser.truncate(n);
        ok
    }

    /// A one-line description of the current lexer position (for profiling).
    #[doc(hidden)]
    pub fn debug_position(&self) -> String {
        let c = self.cursor;
        let st = self.lexer.state(c.pos.l);
        format!(
            "row={} l={} comps={:?} start={} accepting={:?} chars={} esc={} ws={}",
            c.row, c.pos.l, st.comps, st.is_start, st.accepting, c.pos.chars, c.pos.esc, c.pos.ws
        )
    }

    /// Whether an EOS token has been committed.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// Computes the set of allowed tokens into `out` (sized to the vocabulary).
    pub fn compute_mask_into(&mut self, out: &mut TokenMask) {
        if self.finished {
            out.clear();
            return;
        }
        // `fill_mask` clears `out` or overwrites it whole.
        let committed = self.parser.num_rows();
        self.memo.clear();
        crate::walk::fill_mask(self, out);
        self.drop_duplicate_keys(out);
        // Before the speculative rows go: the walk has often scanned the
        // current lexeme already, and the memo then answers.
        let accepting = self.accepting_at_memo(self.cursor);
        self.parser.truncate(committed);
        self.memo.clear();
        if accepting {
            for &e in self.factory.vocab().eos_ids() {
                out.insert(e);
            }
        }
    }

    /// `accepting_at` with the walk's scan memo (rows stay until the caller
    /// truncates).
    fn accepting_at_memo(&mut self, c: Cursor) -> bool {
        let st = self.lexer.state(c.pos.l);
        if st.is_start {
            return c.pos.ws == 0 && self.parser.row(c.row).accepting;
        }
        // Inside a lexeme that cannot end here (an open string): no scan.
        if st.accepting.is_empty() {
            return false;
        }
        match self.scan_end(c, true) {
            Some(r) => self.parser.row(r).accepting,
            None => false,
        }
    }

    /// The mask by a full trie walk, without the shared token-set cache:
    /// slower, for checking the fast path.
    #[doc(hidden)]
    pub fn compute_mask_reference(&mut self) -> TokenMask {
        let mut out = TokenMask::new(self.vocab_len());
        if self.finished {
            return out;
        }
        let committed = self.parser.num_rows();
        self.memo.clear();
        let trie = self.factory.clone();
        let c = self.cursor;
        crate::walk::walk_children(self, trie.trie(), 0, c, &mut out);
        self.drop_duplicate_keys(&mut out);
        self.parser.truncate(committed);
        self.memo.clear();
        if self.is_accepting() {
            for &e in self.factory.vocab().eos_ids() {
                out.insert(e);
            }
        }
        out
    }

    /// Computes the set of allowed tokens.
    pub fn compute_mask(&mut self) -> TokenMask {
        let mut m = TokenMask::new(self.vocab_len());
        self.compute_mask_into(&mut m);
        m
    }

    /// Advances over `bytes` from the current cursor without touching history.
    fn feed(&mut self, bytes: &[u8]) -> Result<Cursor, MatchError> {
        let mut c = self.cursor;
        for (i, &b) in bytes.iter().enumerate() {
            c = match self.advance(c, b, false) {
                Some(c) => c,
                None => return Err(MatchError::ByteRejected { byte: b, offset: i }),
            };
        }
        Ok(c)
    }

    /// Commits token `id`: an EOS id when accepting, or a token whose bytes
    /// continue the instance. On error the matcher is unchanged.
    pub fn commit_token(&mut self, id: u32) -> Result<(), MatchError> {
        if self.finished {
            return Err(MatchError::Finished);
        }
        let vocab = self.factory.vocab().clone();
        let saved = self.saved();
        if vocab.is_eos(id) {
            if !self.is_accepting() {
                return Err(MatchError::TokenRejected(id));
            }
            self.history.push(saved);
            self.finished = true;
            return Ok(());
        }
        if vocab.is_special(id) {
            return Err(MatchError::TokenRejected(id));
        }
        match self.feed(vocab.token_bytes(id)) {
            Ok(c) if self.keys_commit(vocab.token_bytes(id)) => {
                self.history.push(saved);
                self.cursor = c;
                Ok(())
            }
            _ => {
                self.parser.truncate(saved.rows);
                Err(MatchError::TokenRejected(id))
            }
        }
    }

    /// Commits raw bytes as one step of history (for forced continuations
    /// and tests). On error the matcher is unchanged.
    pub fn commit_bytes(&mut self, bytes: &[u8]) -> Result<(), MatchError> {
        if self.finished {
            return Err(MatchError::Finished);
        }
        let saved = self.saved();
        match self.feed(bytes) {
            Ok(c) if self.keys_commit(bytes) => {
                self.history.push(saved);
                self.cursor = c;
                Ok(())
            }
            Ok(_) => {
                self.parser.truncate(saved.rows);
                Err(MatchError::DuplicateKey)
            }
            Err(e) => {
                self.parser.truncate(saved.rows);
                Err(e)
            }
        }
    }

    /// Undoes the last `n` commits.
    pub fn rollback(&mut self, n: usize) -> Result<(), MatchError> {
        if n > self.history.len() {
            return Err(MatchError::RollbackTooFar {
                requested: n,
                available: self.history.len(),
            });
        }
        if n == 0 {
            return Ok(());
        }
        let saved = self.history[self.history.len() - n];
        self.history.truncate(self.history.len() - n);
        self.parser.truncate(saved.rows);
        self.cursor = saved.cursor;
        self.finished = saved.finished;
        if let Some(k) = &mut self.keys {
            k.truncate(saved.text);
        }
        Ok(())
    }

    fn saved(&self) -> Saved {
        Saved {
            rows: self.parser.num_rows(),
            cursor: self.cursor,
            finished: self.finished,
            text: self.keys.as_ref().map_or(0, KeyHistory::len),
        }
    }

    /// Follows `bytes` in the key tracker; false when they repeat a key.
    fn keys_commit(&mut self, bytes: &[u8]) -> bool {
        self.keys.as_mut().is_none_or(|k| k.commit(bytes))
    }

    /// Whether `bytes` from here repeat no key (see `keys`).
    pub(crate) fn keys_accept(&self, bytes: &[u8]) -> bool {
        self.keys.as_ref().is_none_or(|k| k.tracker.accepts(bytes))
    }

    /// Removes from `out` the tokens that would close a key already in its
    /// object.
    fn drop_duplicate_keys(&self, out: &mut TokenMask) {
        let Some(k) = &self.keys else { return };
        if !k.tracker.has_keys() {
            return;
        }
        let vocab = self.factory.vocab();
        for &t in self.factory.quote_tokens() {
            if out.contains(t) && !k.tracker.accepts(vocab.token_bytes(t)) {
                out.remove(t);
            }
        }
    }

    /// Number of commits that can be rolled back.
    pub fn num_commits(&self) -> usize {
        self.history.len()
    }

    /// Back to the start of the grammar (caches are kept).
    pub fn reset(&mut self) {
        if !self.history.is_empty() {
            let n = self.history.len();
            // Cannot fail: n commits exist.
            let _ = self.rollback(n);
        }
    }

    /// The bytes every continuation must start with (empty when there is a
    /// choice, or when the instance may end here).
    pub fn forced_bytes(&mut self) -> Vec<u8> {
        let committed = self.parser.num_rows();
        let mut out = Vec::new();
        let mut c = self.cursor;
        if self.finished {
            return out;
        }
        while out.len() < 4096 {
            if self.accepting_at(c) {
                break;
            }
            let mut only: Option<(u8, Cursor)> = None;
            let mut many = false;
            for b in 0..=255u8 {
                let n = self.parser.num_rows();
                if let Some(next) = self.advance(c, b, false) {
                    if only.is_some() {
                        many = true;
                        self.parser.truncate(n);
                        break;
                    }
                    only = Some((b, next));
                    // Keep the rows of the single candidate for now.
                    continue;
                }
                self.parser.truncate(n);
            }
            match (many, only) {
                (false, Some((b, next))) => {
                    out.push(b);
                    c = next;
                }
                _ => break,
            }
        }
        self.parser.truncate(committed);
        out
    }

    fn accepting_at(&mut self, c: Cursor) -> bool {
        if self.lexer.state(c.pos.l).is_start {
            return c.pos.ws == 0 && self.parser.row(c.row).accepting;
        }
        let n = self.parser.num_rows();
        let ok = match self.scan_end(c, false) {
            Some(r) => self.parser.row(r).accepting,
            None => false,
        };
        self.parser.truncate(n);
        ok
    }

    /// Tokens that spell the forced bytes, as long as the split is certain:
    /// the last piece is left out when a longer token could also start there.
    pub fn forced_tokens(&mut self) -> Vec<u32> {
        let bytes = self.forced_bytes();
        let trie = self.factory.trie();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            let found = trie.longest_prefix(&bytes[i..]);
            // If every forced byte fit and longer tokens exist beyond them,
            // the model may legitimately pick one of those: stop here.
            if found.read_all && trie.node(found.node).subtree_end > found.node + 1 {
                break;
            }
            match found.token {
                Some((len, tok)) => {
                    out.push(tok);
                    i += len;
                }
                None => break,
            }
        }
        out
    }
}
