//! The trie walk that computes a mask.

use crate::mask::TokenMask;
use crate::matcher::{Cursor, Matcher};
use crate::toktrie::{NO_TOKEN, TokTrie};

/// Sets every token of the trie that the matcher can accept next.
pub(crate) fn fill_mask(m: &mut Matcher, out: &mut TokenMask) {
    let factory = m.factory.clone();
    let trie = factory.trie();
    let c = m.cursor;
    walk_children(m, trie, 0, c, out);
}

/// Visits the children of `node`, with `c` the cursor after `node`'s bytes.
pub(crate) fn walk_children(
    m: &mut Matcher,
    trie: &TokTrie,
    node: u32,
    c: Cursor,
    out: &mut TokenMask,
) {
    let nodes = trie.nodes();
    let end = nodes[node as usize].subtree_end;
    let mut ch = node + 1;
    while ch < end {
        let n = nodes[ch as usize];
        if let Some(c2) = m.advance(c, n.byte, true) {
            if n.token != NO_TOKEN {
                out.insert(n.token);
                if trie.has_duplicates() {
                    for t in trie.duplicates_at(ch) {
                        out.insert(t);
                    }
                }
            }
            if ch + 1 < n.subtree_end {
                walk_children(m, trie, ch, c2, out);
            }
        }
        ch = n.subtree_end;
    }
}
