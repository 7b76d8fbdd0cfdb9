//! Partition refinement for DFA minimization.
//!
//! Moore's refinement rescans every state each round and needs as many
//! rounds as the longest distinguishing word, which is quadratic on the long
//! chains that enums and big unions produce. Hopcroft's algorithm refines
//! by the predecessors of one splitter block at a time and always keeps the
//! smaller half, so each state is rescanned O(log n) times.
//!
//! Both take the automaton as a flat table `flat[s * st + c]` over `n`
//! states and `st` byte classes, where every transition into a state that
//! cannot reach acceptance (`!live`) already points at state 0. They return
//! a block number per state: 0 for states that are not live, equal numbers
//! for equivalent live states.

/// Equivalence blocks of live states by Hopcroft's algorithm.
pub(crate) fn hopcroft(
    n: usize,
    st: usize,
    flat: &[u32],
    live: &[bool],
    accept: &[bool],
) -> Vec<u32> {
    // Inverse transitions into live states, grouped by (target, class): a
    // counting sort of the live edges `(source, target · st + class)`.
    let edges = || {
        (0..n).filter(|&s| live[s]).flat_map(move |s| {
            (0..st).filter_map(move |c| {
                let t = flat[s * st + c] as usize;
                live[t].then_some((s, t * st + c))
            })
        })
    };
    let mut off = vec![0u32; n * st + 1];
    for (_, key) in edges() {
        off[key + 1] += 1;
    }
    for i in 1..off.len() {
        off[i] += off[i - 1];
    }
    let mut fill = off.clone();
    let mut preds = vec![0u32; off[n * st] as usize];
    for (s, key) in edges() {
        let k = &mut fill[key];
        preds[*k as usize] = s as u32;
        *k += 1;
    }
    // The partition: `elems[first[b]..end[b]]` are the states of block `b`,
    // of which `elems[first[b]..mid[b]]` are marked in the current round.
    let mut elems: Vec<u32> = Vec::with_capacity(n);
    for want_accept in [true, false] {
        elems.extend(
            (0..n as u32).filter(|&s| live[s as usize] && accept[s as usize] == want_accept),
        );
    }
    let n_acc = (0..n).filter(|&s| live[s] && accept[s]).count() as u32;
    let total = elems.len() as u32;
    let mut first: Vec<u32> = Vec::new();
    let mut end: Vec<u32> = Vec::new();
    let mut blk = vec![u32::MAX; n];
    let mut loc = vec![0u32; n];
    for (lo, hi) in [(0, n_acc), (n_acc, total)] {
        if lo < hi {
            let b = first.len() as u32;
            first.push(lo);
            end.push(hi);
            for i in lo..hi {
                blk[elems[i as usize] as usize] = b;
            }
        }
    }
    for (i, &s) in elems.iter().enumerate() {
        loc[s as usize] = i as u32;
    }
    let mut mid = first.clone();
    // Non-live states form an implicit block that never splits, so it can
    // stay out of the worklist and every live block starts in it.
    let mut in_work: Vec<bool> = vec![true; first.len()];
    let mut work: Vec<u32> = (0..first.len() as u32).collect();
    let mut touched: Vec<u32> = Vec::new();
    let mut splitter: Vec<u32> = Vec::new();
    while let Some(a) = work.pop() {
        in_work[a as usize] = false;
        splitter.clear();
        splitter.extend_from_slice(&elems[first[a as usize] as usize..end[a as usize] as usize]);
        for c in 0..st {
            for &t in &splitter {
                let k = t as usize * st + c;
                for &p in &preds[off[k] as usize..off[k + 1] as usize] {
                    let b = blk[p as usize] as usize;
                    let i = loc[p as usize];
                    let m = mid[b];
                    if i < m {
                        continue;
                    }
                    if m == first[b] {
                        touched.push(b as u32);
                    }
                    let q = elems[m as usize];
                    elems.swap(i as usize, m as usize);
                    loc[q as usize] = i;
                    loc[p as usize] = m;
                    mid[b] = m + 1;
                }
            }
            for b in touched.drain(..) {
                let b = b as usize;
                let m = mid[b];
                if m == end[b] {
                    mid[b] = first[b];
                    continue;
                }
                // The marked part becomes a new block.
                let nb = first.len() as u32;
                first.push(first[b]);
                end.push(m);
                mid.push(first[b]);
                for i in first[b]..m {
                    blk[elems[i as usize] as usize] = nb;
                }
                first[b] = m;
                mid[b] = m;
                let small_new = m - first[nb as usize] <= end[b] - m;
                if in_work[b] || small_new {
                    in_work.push(true);
                    work.push(nb);
                } else {
                    in_work.push(false);
                    in_work[b] = true;
                    work.push(b as u32);
                }
            }
        }
    }
    blk.iter()
        .map(|&b| if b == u32::MAX { 0 } else { b + 1 })
        .collect()
}

/// Equivalence blocks of live states by Moore's refinement: the reference
/// that Hopcroft's result is checked against.
#[cfg(test)]
pub(crate) fn moore(n: usize, st: usize, flat: &[u32], live: &[bool], accept: &[bool]) -> Vec<u32> {
    use crate::hash::FastMap;
    let mut block: Vec<u32> = (0..n)
        .map(|s| u32::from(live[s]) * if accept[s] { 1 } else { 2 })
        .collect();
    let mut n_blocks = 0;
    loop {
        let mut ids: FastMap<Vec<u32>, u32> = FastMap::default();
        let next: Vec<u32> = (0..n)
            .map(|s| {
                if !live[s] {
                    return 0;
                }
                let mut sig = vec![block[s]];
                sig.extend(
                    flat[s * st..(s + 1) * st]
                        .iter()
                        .map(|&t| block[t as usize]),
                );
                let k = ids.len() as u32 + 1;
                *ids.entry(sig).or_insert(k)
            })
            .collect();
        block = next;
        if ids.len() == n_blocks {
            return block;
        }
        n_blocks = ids.len();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two block vectors describe the same partition.
    fn same_partition(a: &[u32], b: &[u32]) -> bool {
        let mut ab = std::collections::HashMap::new();
        let mut ba = std::collections::HashMap::new();
        a.iter()
            .zip(b)
            .all(|(&x, &y)| *ab.entry(x).or_insert(y) == y && *ba.entry(y).or_insert(x) == x)
    }

    #[test]
    fn hopcroft_agrees_with_moore_on_random_automata() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut rnd = |m: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % m
        };
        for round in 0..400 {
            let n = 2 + rnd(40) as usize;
            let st = 1 + rnd(4) as usize;
            // Few target states and many dead edges make equivalences likely.
            let targets = 1 + rnd(n as u64);
            let mut flat: Vec<u32> = (0..n * st)
                .map(|_| if rnd(4) == 0 { 0 } else { rnd(targets) as u32 })
                .collect();
            flat[..st].fill(0);
            let accept: Vec<bool> = (0..n).map(|s| s > 0 && rnd(3) == 0).collect();
            // Live: can reach an accepting state.
            let mut live = accept.clone();
            loop {
                let mut grew = false;
                for s in 1..n {
                    if !live[s] && flat[s * st..(s + 1) * st].iter().any(|&t| live[t as usize]) {
                        live[s] = true;
                        grew = true;
                    }
                }
                if !grew {
                    break;
                }
            }
            for t in flat.iter_mut() {
                if !live[*t as usize] {
                    *t = 0;
                }
            }
            let h = hopcroft(n, st, &flat, &live, &accept);
            let m = moore(n, st, &flat, &live, &accept);
            assert!(same_partition(&h, &m), "round {round}: {h:?} vs {m:?}");
        }
    }

    #[test]
    fn chain_of_equal_suffixes_merges() {
        // States 1..=3 spell "ab" then accept at 3; 4..=6 the same.
        let (n, st) = (7, 2);
        let mut flat = vec![0u32; n * st];
        for (s, c, t) in [(1, 0, 2), (2, 1, 3), (4, 0, 5), (5, 1, 6)] {
            flat[s * st + c] = t;
        }
        let accept = [false, false, false, true, false, false, true];
        let live = [false, true, true, true, true, true, true];
        let b = hopcroft(n, st, &flat, &live, &accept);
        assert_eq!(
            (b[0], b[1] == b[4], b[2] == b[5], b[3] == b[6]),
            (0, true, true, true)
        );
        assert!(b[1] != b[2] && b[2] != b[3]);
    }
}
