//! A trie over the bytes of every ordinary token, stored in preorder.
//!
//! Computing a mask walks this trie once, feeding bytes to the lexer: when a
//! byte is rejected the whole subtree is skipped, so tokens that share a
//! prefix share the work. Preorder storage makes "skip the subtree" a jump to
//! `subtree_end`, and children are the nodes between `n + 1` and that end.
//!
//! ```text
//!   root ─ "a" ─ "b" ─ "c"        nodes: [root, a, b, c, x]
//!        └ "x"                    a.subtree_end = 4, x.subtree_end = 5
//! ```

use crate::vocab::Vocabulary;

/// Marks a node that ends no token.
pub const NO_TOKEN: u32 = u32::MAX;

#[derive(Debug, Clone, Copy)]
pub struct Node {
    /// The byte on the edge from the parent (unused for the root).
    pub byte: u8,
    /// The token whose bytes spell the path to this node, or `NO_TOKEN`.
    pub token: u32,
    /// One past the last node of this node's subtree.
    pub subtree_end: u32,
}

/// Token trie; node 0 is the root.
#[derive(Debug, Clone)]
pub struct TokTrie {
    nodes: Vec<Node>,
    /// Tokens whose bytes equal another token's: `(node, token)` pairs, sorted.
    duplicates: Vec<(u32, u32)>,
    max_token_len: usize,
}

impl TokTrie {
    /// Builds the trie from all non-special tokens of `vocab`.
    pub fn new(vocab: &Vocabulary) -> TokTrie {
        let mut ids: Vec<u32> = (0..vocab.len() as u32)
            .filter(|&i| !vocab.is_special(i))
            .collect();
        ids.sort_by(|&a, &b| vocab.token_bytes(a).cmp(vocab.token_bytes(b)));
        let mut nodes = vec![Node {
            byte: 0,
            token: NO_TOKEN,
            subtree_end: 0,
        }];
        let mut duplicates = Vec::new();
        // `path[d]` is the node at depth d + 1 along the current token.
        let mut path: Vec<u32> = Vec::new();
        let mut prev: &[u8] = &[];
        let mut max_token_len = 0;
        for &id in &ids {
            let bytes = vocab.token_bytes(id);
            max_token_len = max_token_len.max(bytes.len());
            let common = prev.iter().zip(bytes).take_while(|(a, b)| a == b).count();
            while path.len() > common {
                if let Some(n) = path.pop() {
                    nodes[n as usize].subtree_end = nodes.len() as u32;
                }
            }
            for &b in &bytes[common..] {
                path.push(nodes.len() as u32);
                nodes.push(Node {
                    byte: b,
                    token: NO_TOKEN,
                    subtree_end: 0,
                });
            }
            if let Some(&last) = path.last() {
                let node = &mut nodes[last as usize];
                if node.token == NO_TOKEN {
                    node.token = id;
                } else {
                    duplicates.push((last, id));
                }
            }
            prev = bytes;
        }
        let end = nodes.len() as u32;
        for n in path {
            nodes[n as usize].subtree_end = end;
        }
        nodes[0].subtree_end = end;
        duplicates.sort_unstable();
        TokTrie {
            nodes,
            duplicates,
            max_token_len,
        }
    }

    #[inline]
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    #[inline]
    pub fn node(&self, n: u32) -> &Node {
        &self.nodes[n as usize]
    }

    /// Tokens other than `node.token` that end at node `n` (rare).
    pub fn duplicates_at(&self, n: u32) -> impl Iterator<Item = u32> + '_ {
        let start = self.duplicates.partition_point(|&(m, _)| m < n);
        self.duplicates[start..]
            .iter()
            .take_while(move |&&(m, _)| m == n)
            .map(|&(_, t)| t)
    }

    pub fn has_duplicates(&self) -> bool {
        !self.duplicates.is_empty()
    }

    /// Length in bytes of the longest token.
    pub fn max_token_len(&self) -> usize {
        self.max_token_len
    }

    /// The child of `n` reached by byte `b`, if any.
    pub fn child(&self, n: u32, b: u8) -> Option<u32> {
        let end = self.nodes[n as usize].subtree_end;
        let mut c = n + 1;
        while c < end {
            let node = &self.nodes[c as usize];
            if node.byte == b {
                return Some(c);
            }
            c = node.subtree_end;
        }
        None
    }

    /// The longest token spelling a prefix of `bytes`, from the root.
    pub fn longest_prefix(&self, bytes: &[u8]) -> LongestPrefix {
        let mut n = 0u32;
        let mut token = None;
        for (j, &b) in bytes.iter().enumerate() {
            match self.child(n, b) {
                Some(c) => {
                    n = c;
                    let tok = self.nodes[c as usize].token;
                    if tok != NO_TOKEN {
                        token = Some((j + 1, tok));
                    }
                }
                None => {
                    return LongestPrefix {
                        token,
                        node: n,
                        read_all: false,
                    };
                }
            }
        }
        LongestPrefix {
            token,
            node: n,
            read_all: true,
        }
    }

    /// The node spelled by `bytes` from the root, if every prefix is in the trie.
    pub fn lookup(&self, bytes: &[u8]) -> Option<u32> {
        let mut n = 0;
        for &b in bytes {
            n = self.child(n, b)?;
        }
        Some(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preorder_layout() {
        let v = Vocabulary::new(
            vec![
                (b"ab".to_vec(), false),
                (b"a".to_vec(), false),
                (b"abc".to_vec(), false),
                (b"x".to_vec(), false),
                (b"ab".to_vec(), false),
                (b"<s>".to_vec(), true),
            ],
            vec![5],
        )
        .unwrap();
        let t = TokTrie::new(&v);
        assert_eq!(t.nodes().len(), 5);
        let a = t.lookup(b"a").unwrap();
        assert_eq!(t.node(a).token, 1);
        let ab = t.lookup(b"ab").unwrap();
        assert_eq!(t.node(ab).token, 0);
        assert_eq!(t.duplicates_at(ab).collect::<Vec<_>>(), vec![4]);
        assert_eq!(t.node(a).subtree_end, 4);
        assert!(
            t.lookup(b"<s>").is_none(),
            "special tokens are not in the trie"
        );
        assert_eq!(t.node(t.lookup(b"abc").unwrap()).token, 2);
        assert_eq!(t.max_token_len(), 3);
    }
}

/// What [`TokTrie::longest_prefix`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LongestPrefix {
    /// The longest token: its length in bytes and its id.
    pub token: Option<(usize, u32)>,
    /// The node where the walk stopped.
    pub node: u32,
    /// Whether every byte was in the trie.
    pub read_all: bool,
}
