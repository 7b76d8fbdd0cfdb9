//! A process-wide cache of lexeme DFAs keyed by what they were built from
//! (a pattern, a format name, a number spec).
//!
//! Building a DFA from a regex costs tens to hundreds of microseconds; the
//! same few (JSON strings, numbers, `date-time`, common patterns) recur in
//! almost every schema, and time to first mask matters.

use std::sync::{Arc, Mutex, OnceLock};

use crate::dfa::Dfa;
use crate::hash::FastMap;

/// Entries kept before the cache is cleared.
const CAPACITY: usize = 8192;

fn cache() -> &'static Mutex<FastMap<String, Arc<Dfa>>> {
    static CACHE: OnceLock<Mutex<FastMap<String, Arc<Dfa>>>> = OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(FastMap::default()))
}

/// The DFA for `key`, built with `build` on a miss.
pub(crate) fn cached<E>(key: &str, build: impl FnOnce() -> Result<Dfa, E>) -> Result<Arc<Dfa>, E> {
    if let Ok(map) = cache().lock() {
        if let Some(d) = map.get(key) {
            return Ok(d.clone());
        }
    }
    let d = Arc::new(build()?);
    if let Ok(mut map) = cache().lock() {
        if map.len() >= CAPACITY {
            map.clear();
        }
        map.insert(key.to_string(), d.clone());
    }
    Ok(d)
}
