//! Exact counts of distinct string values (for the mode and the distinct
//! ratio), built per shard and merged.
//!
//! Each slot keeps its key's hash, so growing the table and merging two
//! tables never hash a key again: a value is hashed once, when first seen
//! in a shard. Every table of a process hashes with the same seed, which is
//! what makes the stored hashes comparable across tables.

use std::hash::BuildHasher;
use std::sync::OnceLock;

use foldhash::fast::FixedState;
use hashbrown::hash_table::{Entry, HashTable};

#[derive(Clone, Copy)]
struct Slot {
    hash: u64,
    count: u64,
    /// The key's bytes: `arena[start..start + len]`.
    start: usize,
    len: usize,
}

/// Value → count, for one column. Keys live in one byte arena: no
/// allocation per distinct value, one free for the lot.
#[derive(Default, Clone)]
pub struct ValueCounts {
    table: HashTable<Slot>,
    arena: Vec<u8>,
}

fn hasher() -> &'static FixedState {
    static STATE: OnceLock<FixedState> = OnceLock::new();
    STATE.get_or_init(|| {
        // a per-process seed, so crafted inputs cannot aim at collisions
        let seed = std::collections::hash_map::RandomState::new().hash_one(0u64);
        FixedState::with_seed(seed)
    })
}

fn key<'a>(arena: &'a [u8], s: &Slot) -> &'a [u8] {
    &arena[s.start..s.start + s.len]
}

impl ValueCounts {
    /// Adds `n` to the count of `value`.
    pub fn add(&mut self, value: &[u8], n: u64) {
        self.add_hashed(hasher().hash_one(value), value, n);
    }

    fn add_hashed(&mut self, hash: u64, value: &[u8], n: u64) {
        let arena = &self.arena;
        match self
            .table
            .entry(hash, |s| key(arena, s) == value, |s| s.hash)
        {
            Entry::Occupied(mut e) => e.get_mut().count += n,
            Entry::Vacant(e) => {
                let start = self.arena.len();
                self.arena.extend_from_slice(value);
                e.insert(Slot {
                    hash,
                    count: n,
                    start,
                    len: value.len(),
                });
            }
        }
    }

    /// The count of `value` (0 if never seen).
    pub fn get(&self, value: &[u8]) -> u64 {
        let hash = hasher().hash_one(value);
        self.table
            .find(hash, |s| key(&self.arena, s) == value)
            .map_or(0, |s| s.count)
    }

    /// Distinct values.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// Every value and its count, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], u64)> {
        self.table.iter().map(|s| (key(&self.arena, s), s.count))
    }

    /// The counts of both: the smaller table is added to the larger.
    pub fn merge(self, other: ValueCounts) -> ValueCounts {
        let (mut big, small) = if self.len() < other.len() {
            (other, self)
        } else {
            (self, other)
        };
        big.table.reserve(small.len(), |s| s.hash);
        for slot in small.table.iter() {
            big.add_hashed(slot.hash, key(&small.arena, slot), slot.count);
        }
        big
    }
}

impl std::fmt::Debug for ValueCounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map()
            .entries(self.iter().map(|(k, n)| (String::from_utf8_lossy(k), n)))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(values: &[&str]) -> ValueCounts {
        let mut c = ValueCounts::default();
        for v in values {
            c.add(v.as_bytes(), 1);
        }
        c
    }

    fn sorted(c: &ValueCounts) -> Vec<(String, u64)> {
        let mut v: Vec<_> = c
            .iter()
            .map(|(k, n)| (String::from_utf8(k.to_vec()).unwrap(), n))
            .collect();
        v.sort();
        v
    }

    #[test]
    fn counts_and_merges_exactly_in_any_order() {
        let a = ["x", "y", "x", "", "zé"];
        let b = ["y", "y", "w"];
        let c: Vec<String> = (0..5000).map(|i| format!("v{}", i % 1700)).collect();
        let c: Vec<&str> = c.iter().map(|s| s.as_str()).collect();
        let all: Vec<&str> = a.iter().chain(&b).chain(&c).copied().collect();
        let want = sorted(&counts(&all));
        let ab_c = counts(&a).merge(counts(&b)).merge(counts(&c));
        let c_ba = counts(&c).merge(counts(&b).merge(counts(&a)));
        assert_eq!(sorted(&ab_c), want);
        assert_eq!(sorted(&c_ba), want);
        assert_eq!(ab_c.get(b"y"), 3);
        assert_eq!(ab_c.get(b"v5"), 3);
        assert_eq!(ab_c.get(b"nope"), 0);
        assert_eq!(ab_c.len(), 4 + 1 + 1700);
        assert_eq!(sorted(&ab_c.clone()), want);
    }
}
