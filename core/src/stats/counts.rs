//! Exact counts of distinct string values (for the mode and the distinct
//! ratio), built per shard and merged.
//!
//! Each slot keeps its key's hash, so growing the table and merging two
//! tables never hash a key again: a value is hashed once, when first seen
//! in a shard. Every table of a process hashes with the same seed, which is
//! what makes the stored hashes comparable across tables.
//!
//! A table is split into [`PARTS`] parts by bits of the hash. Merging goes
//! part by part, so it touches one small part of a large table at a time
//! (cache-friendly), and two large tables merge their parts in parallel, as
//! does the search for the most frequent value. A running total that
//! several threads fold shards into at once ([`SharedCounts`]) locks each
//! part on its own, so two threads merge into different parts side by side.
//!
//! A shard's values that are likely all different (a high-cardinality
//! column, a dictionary's distinct values) can be added *pending*: kept in
//! a plain list, not looked up, and counted with the table only when merged
//! into a total or settled ([`ValueCounts::settle`]). Each is then looked
//! up once, in the total, instead of once in the shard's table and again in
//! the total.
//!
//! A running total keeps the pending values it is given pending too, and
//! counts them in batches of at least an eighth of its table: a batch is
//! grouped by where its values land in the table, so counting it walks the
//! table once, in order, rather than jumping to a random place (a cache
//! miss, once the table outgrows the caches) for every value. Keys of
//! pending values found in the table already are dropped from the arena
//! when they come to be half of it.
//!
//! A shard's cells ([`ValueCounts::add_cell`]) of a column with a handful
//! of short values (categories, flags) are counted in a few packed words
//! by a scan, with no hash and no table ([`Few`]), and counted with the
//! table when settled, like pending values.

use std::hash::BuildHasher;
use std::sync::{Mutex, OnceLock, TryLockError};

use foldhash::fast::FixedState;
use hashbrown::hash_table::{Entry, HashTable};
use rayon::prelude::*;

use crate::error::Result;
use crate::io::{lock, panicked};

/// Parts of a table: a power of two.
const PARTS: usize = 16;
/// Which bits of the hash choose the part: above those the table indexes
/// its buckets with (low bits) and below those it keeps in its control
/// bytes (the top 7).
const PART_SHIFT: u32 = 40;
/// Tables at least this large merge (and are searched) part by part in
/// parallel; below it, threads cost more than they save.
const PARALLEL_FROM: usize = 1 << 15;
// The next thresholds are small in tests, so that small inputs take every
// path.

/// A running total counts its pending values once it holds at least this
/// many, and at least an eighth as many as its table (larger batches
/// walk the table more densely but hold more memory).
const SETTLE_FROM: usize = if cfg!(test) { 1 << 8 } else { 1 << 14 };
/// Pending values at least this many are counted grouped by where they
/// land in the table ([`by_bucket`]); fewer, in the order they came.
const GROUPED_FROM: usize = if cfg!(test) { 1 << 6 } else { 1 << 12 };
/// [`by_bucket`] makes `2^GROUP_BITS` groups.
const GROUP_BITS: u32 = 8;
/// An arena is compacted when the keys no slot points to are at least
/// this many bytes and half of it.
const COMPACT_FROM: usize = if cfg!(test) { 1 << 10 } else { 1 << 20 };

/// Values [`Few`] holds at most.
const FEW: usize = 8;
/// Cells a full [`Few`] may miss before it stops looking (a column with
/// more short values than it holds).
const FEW_MISSES: u32 = 1 << 10;

#[derive(Clone, Copy)]
struct Slot {
    hash: u64,
    count: u64,
    /// Where the key is in the arena (see [`Part`]).
    start: usize,
}

/// One part of a table. Keys live in one byte arena, each as its length
/// (LEB128: one byte below 128) then its bytes: no allocation per distinct
/// value, one free for the lot, and a slot of 24 bytes, not 32 (a
/// high-cardinality column's table is mostly slots).
#[derive(Default, Clone)]
struct Part {
    table: HashTable<Slot>,
    arena: Vec<u8>,
    /// Pending counts: keys in `arena`, not yet in `table`, and possibly
    /// repeated (in `table` or here).
    pending: Vec<Slot>,
    /// Bytes of `arena` that no slot points to (keys of pending values
    /// that were in the table already).
    garbage: usize,
}

/// The first [`FEW`] different values shorter than 8 bytes of a shard's
/// cells, each packed in one word ([`few_word`]) with its count: a cell is
/// counted by comparing words, with no hash and no lookup. Counted with
/// the table when settled; a value may then be in both, until the next
/// settle adds it up.
#[derive(Default, Clone, Copy)]
struct Few {
    words: [u64; FEW],
    counts: [u64; FEW],
    len: usize,
    /// Cells missed while full; at [`FEW_MISSES`] it stops looking.
    misses: u32,
}

/// A value shorter than 8 bytes as one word: its bytes, then its length
/// in the top byte (so values that differ only by trailing zero bytes
/// differ). `None` for longer values.
#[inline]
fn few_word(v: &[u8]) -> Option<u64> {
    let n = v.len();
    let bytes = match n {
        0 => 0,
        // every byte is one of the first, the middle and the last
        1..=3 => {
            u64::from(v[0])
                | u64::from(v[n / 2]) << (n / 2 * 8)
                | u64::from(v[n - 1]) << ((n - 1) * 8)
        }
        // two overlapping 4-byte words
        4..=7 => u64::from(word4(v, 0)) | u64::from(word4(v, n - 4)) << ((n - 4) * 8),
        _ => return None,
    };
    Some(bytes | (n as u64) << 56)
}

/// The bytes of the value [`few_word`] packed into `w`, and its length.
fn few_value(w: u64) -> ([u8; 8], usize) {
    (w.to_le_bytes(), (w >> 56) as usize)
}

/// Value → count, for one column.
#[derive(Default, Clone)]
pub struct ValueCounts {
    /// Empty until the first value, then [`PARTS`] parts.
    parts: Vec<Part>,
    /// Distinct values in the tables (pending counts not included).
    len: usize,
    /// Cells counted apart from the table, until settled.
    few: Few,
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
    &arena[key_bytes(arena, s.start)]
}

/// Where the bytes are of the key that starts at `start` (its length first).
#[inline]
fn key_bytes(arena: &[u8], start: usize) -> std::ops::Range<usize> {
    let (mut len, mut at, mut shift) = (0usize, start, 0);
    loop {
        let b = arena[at];
        at += 1;
        len |= usize::from(b & 0x7f) << shift;
        if b < 0x80 {
            break;
        }
        shift += 7;
    }
    at..at + len
}

/// Appends `value` to `arena` as [`key`] reads it; returns where it starts.
fn push_key(arena: &mut Vec<u8>, value: &[u8]) -> usize {
    let start = arena.len();
    let mut n = value.len();
    while n >= 0x80 {
        arena.push(n as u8 | 0x80);
        n >>= 7;
    }
    arena.push(n as u8);
    arena.extend_from_slice(value);
    start
}

/// `a == b`, without a call into `memcmp` for keys of up to 16 bytes:
/// most lookups find a short key already in the table (a category, a
/// flag), and for those the call cost more than the comparison.
#[inline]
fn same(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    match n {
        0 => true,
        1..=3 => a[0] == b[0] && a[n / 2] == b[n / 2] && a[n - 1] == b[n - 1],
        4..=7 => word4(a, 0) == word4(b, 0) && word4(a, n - 4) == word4(b, n - 4),
        8..=16 => word8(a, 0) == word8(b, 0) && word8(a, n - 8) == word8(b, n - 8),
        _ => a == b,
    }
}

#[inline]
fn word8(x: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(x[at..at + 8].try_into().expect("8 bytes"))
}

#[inline]
fn word4(x: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(x[at..at + 4].try_into().expect("4 bytes"))
}

/// Of two values and their counts: the higher count, then the smaller value.
fn better_top<'a>(a: (&'a [u8], u64), b: (&'a [u8], u64)) -> (&'a [u8], u64) {
    if (b.1, std::cmp::Reverse(b.0)) > (a.1, std::cmp::Reverse(a.0)) {
        b
    } else {
        a
    }
}

fn part_of(hash: u64) -> usize {
    (hash >> PART_SHIFT) as usize & (PARTS - 1)
}

/// Puts `slots` in groups by the top [`GROUP_BITS`] bits of their bucket
/// in a table of `buckets` buckets (hashbrown starts a key's probe at
/// bucket `hash & (buckets - 1)`), groups in bucket order: counted in this
/// order, they visit the table a small stretch at a time. In place (no
/// second buffer): one counting pass, then each slot swapped into its
/// group, not a sort.
fn by_bucket(slots: &mut [Slot], buckets: usize) {
    const GROUPS: usize = 1 << GROUP_BITS;
    let mask = buckets - 1;
    let shift = buckets.trailing_zeros().saturating_sub(GROUP_BITS);
    let group = |s: &Slot| (s.hash as usize & mask) >> shift;
    let mut end = [0usize; GROUPS];
    for s in slots.iter() {
        end[group(s)] += 1;
    }
    // where each group's next slot goes, and where the group ends
    let mut next = [0usize; GROUPS];
    let mut at = 0;
    for g in 0..GROUPS {
        next[g] = at;
        at += end[g];
        end[g] = at;
    }
    for g in 0..GROUPS {
        while next[g] < end[g] {
            let mut s = slots[next[g]];
            let mut h = group(&s);
            while h != g {
                std::mem::swap(&mut s, &mut slots[next[h]]);
                next[h] += 1;
                h = group(&s);
            }
            slots[next[g]] = s;
            next[g] += 1;
        }
    }
}

impl Part {
    /// Adds `n` to the count of `value`; true if it was new.
    fn add_hashed(&mut self, hash: u64, value: &[u8], n: u64) -> bool {
        let arena = &self.arena;
        match self.table.entry(
            hash,
            |s| s.hash == hash && same(key(arena, s), value),
            |s| s.hash,
        ) {
            Entry::Occupied(mut e) => {
                e.get_mut().count += n;
                false
            }
            Entry::Vacant(e) => {
                let start = push_key(&mut self.arena, value);
                e.insert(Slot {
                    hash,
                    count: n,
                    start,
                });
                true
            }
        }
    }

    fn is_empty(&self) -> bool {
        self.table.is_empty() && self.pending.is_empty()
    }

    /// Counts the pending values with the table; returns how many were new.
    fn settle(&mut self) -> usize {
        let mut pending = std::mem::take(&mut self.pending);
        if pending.is_empty() {
            return 0;
        }
        self.table.reserve(pending.len(), |s| s.hash);
        if pending.len() >= GROUPED_FROM {
            by_bucket(&mut pending, self.buckets());
        }
        let mut added = 0;
        for &p in &pending {
            let arena = &self.arena;
            // the key is read only to compare it: a new value's key is not
            // touched (batches come in table order, not arena order)
            match self.table.entry(
                p.hash,
                |s| s.hash == p.hash && same(key(arena, s), key(arena, &p)),
                |s| s.hash,
            ) {
                Entry::Occupied(mut e) => {
                    e.get_mut().count += p.count;
                    self.garbage += key_bytes(arena, p.start).end - p.start;
                }
                Entry::Vacant(e) => {
                    // the key is in the arena already
                    e.insert(p);
                    added += 1;
                }
            }
        }
        // the buffer is kept for the next batch: a running total's batches
        // grow with its table, and growing a new buffer each time would
        // leave the freed ones to fragment the heap
        pending.clear();
        self.pending = pending;
        if self.garbage >= COMPACT_FROM && self.garbage * 2 >= self.arena.len() {
            self.compact();
        }
        added
    }

    /// [`Part::settle`] when no batch follows (a shard's counts, a
    /// finished total): the buffer is freed, not kept.
    fn settle_last(&mut self) -> usize {
        let added = self.settle();
        self.pending = Vec::new();
        added
    }

    /// The table's buckets, as hashbrown sizes a table of its capacity (an
    /// estimate is enough: it only orders [`by_bucket`]'s groups).
    fn buckets(&self) -> usize {
        let capacity = self.table.capacity();
        if capacity < 8 {
            (capacity + 1).next_power_of_two()
        } else {
            (capacity / 7 * 8).next_power_of_two()
        }
    }

    /// Copies the keys of the table into a new arena, dropping the rest.
    /// Nothing may be pending.
    fn compact(&mut self) {
        debug_assert!(self.pending.is_empty());
        let old = std::mem::take(&mut self.arena);
        self.arena = Vec::with_capacity(old.len() - self.garbage);
        for s in self.table.iter_mut() {
            let end = key_bytes(&old, s.start).end;
            let start = self.arena.len();
            self.arena.extend_from_slice(&old[s.start..end]);
            s.start = start;
        }
        self.garbage = 0;
    }

    /// Adds every count of `other`: its table's counts now, its pending
    /// counts as pending here, counted once enough are pending (see the
    /// module's doc). Returns how many of its table's values were new.
    fn absorb(&mut self, other: Part) -> usize {
        self.table.reserve(other.table.len(), |s| s.hash);
        let added = other
            .table
            .iter()
            .filter(|slot| self.add_hashed(slot.hash, key(&other.arena, slot), slot.count))
            .count();
        if other.pending.is_empty() {
            return added;
        }
        if other.table.is_empty() && other.garbage == 0 {
            // the arena holds the pending keys and nothing else: take it whole
            let base = self.arena.len();
            self.arena.extend_from_slice(&other.arena);
            self.pending.extend(other.pending.iter().map(|s| Slot {
                start: base + s.start,
                ..*s
            }));
        } else {
            self.pending.reserve(other.pending.len());
            for s in &other.pending {
                let start = push_key(&mut self.arena, key(&other.arena, s));
                self.pending.push(Slot { start, ..*s });
            }
        }
        if self.pending.len() >= (self.table.len() / 8).max(SETTLE_FROM) {
            self.settle();
        }
        added
    }

    /// The most frequent value, ties to the smallest.
    fn top(&self) -> Option<(&[u8], u64)> {
        let (top, tied) =
            self.table
                .iter()
                .fold((0, 0), |(top, tied), s| match s.count.cmp(&top) {
                    std::cmp::Ordering::Greater => (s.count, 1),
                    std::cmp::Ordering::Equal => (top, tied + 1),
                    std::cmp::Ordering::Less => (top, tied),
                });
        if tied == 0 {
            return None;
        }
        let smallest = if tied == self.table.len() {
            // every value ties (all different, say): the smallest key of
            // the arena, read in order rather than slot by slot. The arena
            // may also hold copies of keys that were pending, but each is
            // equal to a key of the table.
            self.arena_keys().min()
        } else {
            self.table
                .iter()
                .filter(|s| s.count == top)
                .map(|s| key(&self.arena, s))
                .min()
        };
        smallest.map(|k| (k, top))
    }

    /// Every key in the arena, in the order they were added.
    fn arena_keys(&self) -> impl Iterator<Item = &[u8]> {
        let mut at = 0;
        std::iter::from_fn(move || {
            (at < self.arena.len()).then(|| {
                let bytes = key_bytes(&self.arena, at);
                at = bytes.end;
                &self.arena[bytes]
            })
        })
    }
}

impl ValueCounts {
    /// Adds `n` to the count of `value`.
    pub fn add(&mut self, value: &[u8], n: u64) {
        let (hash, part) = self.part_for(value);
        if part.add_hashed(hash, value, n) {
            self.len += 1;
        }
    }

    /// Adds `n` to the count of `value`, pending: no lookup now (see the
    /// module's doc). Cheaper than [`ValueCounts::add`] for a value seen
    /// once; a value added pending many times is kept many times.
    pub fn add_pending(&mut self, value: &[u8], n: u64) {
        let (hash, part) = self.part_for(value);
        let start = push_key(&mut part.arena, value);
        part.pending.push(Slot {
            hash,
            count: n,
            start,
        });
    }

    /// Adds 1 to the count of `value`, a shard's cell: counted in [`Few`]
    /// when it is one of the first few short values (read only once
    /// settled, like pending values), in the table otherwise.
    #[inline]
    pub fn add_cell(&mut self, value: &[u8]) {
        let few = &mut self.few;
        if few.misses < FEW_MISSES {
            if let Some(w) = few_word(value) {
                if let Some(i) = few.words[..few.len].iter().position(|&x| x == w) {
                    few.counts[i] += 1;
                    return;
                }
                if few.len < FEW {
                    few.words[few.len] = w;
                    few.counts[few.len] = 1;
                    few.len += 1;
                    return;
                }
                few.misses += 1;
            }
        }
        self.add(value, 1);
    }

    /// Counts the cells in [`Few`] with the table.
    fn settle_few(&mut self) {
        let few = self.few;
        self.few.len = 0;
        for (&w, &n) in few.words[..few.len].iter().zip(&few.counts) {
            let (bytes, len) = few_value(w);
            self.add(&bytes[..len], n);
        }
    }

    /// The hash of `value` and the part it belongs to.
    #[inline]
    fn part_for(&mut self, value: &[u8]) -> (u64, &mut Part) {
        let hash = hasher().hash_one(value);
        if self.parts.is_empty() {
            self.parts.resize_with(PARTS, Part::default);
        }
        (hash, &mut self.parts[part_of(hash)])
    }

    /// Counts every pending value with the table, so that reading
    /// ([`ValueCounts::len`], [`ValueCounts::get`], ...) sees it; returns
    /// how many of them were new values.
    pub fn settle(&mut self) -> usize {
        let before = self.len;
        self.settle_few();
        let added = self.parts.iter_mut().map(Part::settle_last).sum::<usize>();
        self.len += added;
        self.len - before
    }

    /// Pending counts kept (for tests).
    #[cfg(test)]
    pub(crate) fn pending_len(&self) -> usize {
        self.parts.iter().map(|p| p.pending.len()).sum()
    }

    /// Whether no value was added.
    pub fn is_empty(&self) -> bool {
        self.few.len == 0 && self.parts.iter().all(Part::is_empty)
    }

    /// Whether no count is pending.
    pub fn is_settled(&self) -> bool {
        self.few.len == 0 && self.parts.iter().all(|p| p.pending.is_empty())
    }

    /// The count of `value` (0 if never seen). Settled counts only.
    pub fn get(&self, value: &[u8]) -> u64 {
        debug_assert!(self.is_settled(), "pending counts are not read");
        let hash = hasher().hash_one(value);
        self.parts.get(part_of(hash)).map_or(0, |p| {
            p.table
                .find(hash, |s| key(&p.arena, s) == value)
                .map_or(0, |s| s.count)
        })
    }

    /// Distinct values. Settled counts only.
    pub fn len(&self) -> usize {
        debug_assert!(self.is_settled(), "pending counts are not read");
        self.len
    }

    /// Every value and its count, in no particular order. Settled counts
    /// only.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], u64)> {
        debug_assert!(self.is_settled(), "pending counts are not read");
        self.table_iter()
    }

    fn table_iter(&self) -> impl Iterator<Item = (&[u8], u64)> {
        self.parts
            .iter()
            .flat_map(|p| p.table.iter().map(|s| (key(&p.arena, s), s.count)))
    }

    /// The most frequent value and its count, ties to the smallest value
    /// (by bytes); `None` when empty. Settled counts only.
    pub fn most_frequent(&self) -> Option<(&[u8], u64)> {
        debug_assert!(self.is_settled(), "pending counts are not read");
        if self.len >= PARALLEL_FROM {
            self.parts
                .par_iter()
                .filter_map(Part::top)
                .reduce_with(better_top)
        } else {
            self.parts.iter().filter_map(Part::top).reduce(better_top)
        }
    }

    /// The counts of both: the smaller table is added to the larger, part
    /// by part. The result is settled.
    pub fn merge(mut self, mut other: ValueCounts) -> ValueCounts {
        self.settle();
        other.settle();
        let (mut big, small) = if self.len() < other.len() {
            (other, self)
        } else {
            (self, other)
        };
        if small.parts.is_empty() {
            return big;
        }
        // both settled: nothing is left pending
        let added: usize = if small.len >= PARALLEL_FROM {
            big.parts
                .par_iter_mut()
                .zip(small.parts.into_par_iter())
                .map(|(b, s)| b.absorb(s))
                .sum()
        } else {
            big.parts
                .iter_mut()
                .zip(small.parts)
                .map(|(b, s)| b.absorb(s))
                .sum()
        };
        big.len += added;
        big
    }
}

/// A running total of counts that several threads add to at once: each
/// part behind a lock of its own. A thread merges the parts it can lock
/// now first and waits only when every part it has left is busy, so two
/// threads folding large tables (a high-cardinality column) work side by
/// side instead of one after the other.
pub struct SharedCounts {
    parts: Vec<Mutex<Part>>,
}

impl SharedCounts {
    /// The total so far.
    pub fn new(mut counts: ValueCounts) -> SharedCounts {
        counts.settle();
        let mut parts = counts.parts;
        parts.resize_with(PARTS, Part::default);
        SharedCounts {
            parts: parts.into_iter().map(Mutex::new).collect(),
        }
    }

    /// Adds every count of `other`.
    pub fn add(&self, mut other: ValueCounts) -> Result<()> {
        other.settle_few();
        let mut left: Vec<(usize, Part)> = other
            .parts
            .into_iter()
            .enumerate()
            .filter(|(_, p)| !p.is_empty())
            .collect();
        while !left.is_empty() {
            let before = left.len();
            let mut poisoned = false;
            left.retain_mut(|(i, part)| match self.parts[*i].try_lock() {
                Ok(mut mine) => {
                    mine.absorb(std::mem::take(part));
                    false
                }
                Err(TryLockError::WouldBlock) => true,
                Err(TryLockError::Poisoned(_)) => {
                    poisoned = true;
                    false
                }
            });
            if poisoned {
                return Err(panicked());
            }
            if left.len() == before {
                // every part left is busy: wait for one
                let (i, part) = left.swap_remove(0);
                lock(&self.parts[i])?.absorb(part);
            }
        }
        Ok(())
    }

    /// The counts, as one table again (settled: the parts in parallel
    /// when many are pending).
    pub fn into_counts(self) -> Result<ValueCounts> {
        let mut parts = Vec::with_capacity(PARTS);
        for p in self.parts {
            parts.push(p.into_inner().map_err(|_| panicked())?);
        }
        let settle = |p: &mut Part| {
            p.settle_last();
        };
        if parts.iter().map(|p| p.pending.len()).sum::<usize>() >= PARALLEL_FROM {
            parts.par_iter_mut().for_each(settle);
        } else {
            parts.iter_mut().for_each(settle);
        }
        let len = parts.iter().map(|p| p.table.len()).sum();
        Ok(if len == 0 {
            ValueCounts::default()
        } else {
            ValueCounts {
                parts,
                len,
                few: Few::default(),
            }
        })
    }
}

impl std::fmt::Debug for ValueCounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut map = f.debug_map();
        map.entries(
            self.table_iter()
                .map(|(k, n)| (String::from_utf8_lossy(k), n)),
        );
        let pending: usize = self.parts.iter().map(|p| p.pending.len()).sum();
        if pending > 0 {
            map.entry(&"(pending)", &pending);
        }
        if self.few.len > 0 {
            map.entry(&"(few)", &self.few.len);
        }
        map.finish()
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
    fn same_is_byte_equality_at_every_length() {
        let base: Vec<u8> = (0..40u8).map(|i| b'a' + i % 26).collect();
        for n in 0..base.len() {
            let a = &base[..n];
            let copy = a.to_vec();
            assert!(same(a, &copy));
            assert!(!same(a, &base[..n + 1]));
            for i in 0..n {
                let mut b = a.to_vec();
                b[i] ^= 0x20;
                assert!(!same(a, &b), "length {n}, byte {i} differs");
            }
        }
    }

    #[test]
    fn keys_of_every_length_read_back() {
        let mut c = ValueCounts::default();
        let keys: Vec<Vec<u8>> = [0usize, 1, 127, 128, 300, 16_383, 16_384, 70_000]
            .iter()
            .map(|&n| (0..n).map(|i| (i % 251) as u8).collect())
            .collect();
        for (i, k) in keys.iter().enumerate() {
            c.add(k, i as u64 + 1);
        }
        for (i, k) in keys.iter().enumerate() {
            assert_eq!(c.get(k), i as u64 + 1, "key of {} bytes", k.len());
        }
        let mut got: Vec<Vec<u8>> = c.iter().map(|(k, _)| k.to_vec()).collect();
        got.sort();
        let mut want = keys.clone();
        want.sort();
        assert_eq!(got, want);
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

    #[test]
    fn pending_counts_equal_looked_up_counts_however_they_are_read() {
        // values seen before, values repeated among the pending ones, new
        // values, a large count: added pending after some added normally
        let looked_up: Vec<String> = (0..3000).map(|i| format!("v{}", i % 900)).collect();
        let pending: Vec<String> = (0..40_000)
            .map(|i| format!("v{}", (i * 7) % 50_000))
            .collect();
        let mut want = counts(&looked_up.iter().map(String::as_str).collect::<Vec<_>>());
        let mut mixed = want.clone();
        for v in &pending {
            want.add(v.as_bytes(), 1);
            mixed.add_pending(v.as_bytes(), 1);
        }
        mixed.add_pending(b"v3", 1000);
        want.add(b"v3", 1000);
        assert!(!mixed.is_settled() && !mixed.is_empty());
        let want_sorted = sorted(&want);

        let mut settled = mixed.clone();
        settled.settle();
        assert_eq!(sorted(&settled), want_sorted);
        assert_eq!(settled.len(), want.len());
        assert_eq!(settled.most_frequent(), want.most_frequent());

        // merged either way round, into an empty or a full table
        for merged in [
            mixed.clone().merge(ValueCounts::default()),
            ValueCounts::default().merge(mixed.clone()),
        ] {
            assert_eq!(sorted(&merged), want_sorted);
            assert_eq!(merged.len(), want.len());
        }
        let doubled = mixed.clone().merge(mixed.clone());
        assert_eq!(doubled.get(b"v3"), 2 * want.get(b"v3"));
        assert_eq!(doubled.len(), want.len());

        // folded into a shared total, as pass 1's threads do
        let total = SharedCounts::new(ValueCounts::default());
        total.add(mixed.clone()).unwrap();
        let total = total.into_counts().unwrap();
        assert_eq!(sorted(&total), want_sorted);
        assert_eq!(total.len(), want.len());

        // only pending values
        let mut only = ValueCounts::default();
        only.add_pending(b"x", 2);
        only.add_pending(b"x", 3);
        assert!(!only.is_empty());
        let total = SharedCounts::new(ValueCounts::default());
        total.add(only).unwrap();
        let total = total.into_counts().unwrap();
        assert_eq!((total.len(), total.get(b"x")), (1, 5));
    }

    #[test]
    fn by_bucket_is_a_permutation_in_bucket_group_order() {
        let slots: Vec<Slot> = (0..5000u64)
            .map(|i| Slot {
                hash: hasher().hash_one(i),
                count: i,
                start: i as usize,
            })
            .collect();
        for buckets in [1usize, 8, 1 << 10, 1 << 20] {
            let mut out = slots.clone();
            by_bucket(&mut out, buckets);
            let mut counts: Vec<u64> = out.iter().map(|s| s.count).collect();
            counts.sort();
            assert_eq!(counts, (0..5000).collect::<Vec<_>>(), "{buckets} buckets");
            let shift = buckets.trailing_zeros().saturating_sub(GROUP_BITS);
            let groups: Vec<usize> = out
                .iter()
                .map(|s| (s.hash as usize & (buckets - 1)) >> shift)
                .collect();
            assert!(groups.windows(2).all(|w| w[0] <= w[1]), "{buckets} buckets");
            assert!(out.iter().all(|s| s.start as u64 == s.count));
        }
    }

    #[test]
    fn cells_counted_apart_read_as_counts_in_the_table() {
        // values that pack alike but for their length or a zero byte,
        // 7- and 8-byte values (the last that pack, the first that do
        // not), and more short values than `Few` holds
        let tricky: Vec<Vec<u8>> = [
            &b""[..],
            b"\0",
            b"\0\0",
            b"a",
            b"a\0",
            b"\0a",
            b"ab",
            b"abc",
            b"abcd",
            b"abcde",
            b"abcdef",
            b"abcdefg",
            b"abcdefgh",
            b"abcdeg",
            b"bbcdefg",
            b"abcdefga",
        ]
        .iter()
        .map(|v| v.to_vec())
        .collect();
        let mut rng = crate::test_rng::XorShift(7);
        let mut next = || rng.next();
        for (distinct, cells) in [(3, 100), (FEW, 5_000), (tricky.len(), 5_000), (40, 20_000)] {
            let values: Vec<Vec<u8>> = (0..distinct)
                .map(|i| {
                    tricky
                        .get(i)
                        .cloned()
                        .unwrap_or_else(|| format!("v{i}").into_bytes())
                })
                .collect();
            let mut want: std::collections::HashMap<Vec<u8>, u64> = Default::default();
            let mut c = ValueCounts::default();
            for k in 0..cells {
                // skewed, so the first few seen are not always the most
                // frequent
                let v = &values[(next() % distinct as u64).min(next() % distinct as u64) as usize];
                c.add_cell(v);
                *want.entry(v.clone()).or_default() += 1;
                if k == cells / 2 {
                    // a settle midway: the next cells may be in both
                    c.settle();
                }
            }
            let shared = SharedCounts::new(ValueCounts::default());
            shared.add(c.clone()).unwrap();
            let merged = ValueCounts::default().merge(c.clone());
            // the cells took the scan, and a column of many values stopped it
            if distinct <= FEW {
                assert!(c.few.len == distinct && !c.is_settled());
            } else {
                assert_eq!(c.few.misses, FEW_MISSES);
            }
            c.settle();
            for got in [c, shared.into_counts().unwrap(), merged] {
                assert_eq!(got.len(), want.len(), "{distinct} values");
                for (v, n) in &want {
                    assert_eq!(got.get(v), *n, "{v:?} of {distinct} values");
                }
                let top = want
                    .iter()
                    .max_by_key(|(v, n)| (**n, std::cmp::Reverse(*v)))
                    .unwrap();
                assert_eq!(got.most_frequent(), Some((&top.0[..], *top.1)));
            }
        }
    }

    #[test]
    fn a_shared_total_of_many_pending_shards_counts_exactly_and_keeps_its_arena_small() {
        // 60 shards from two threads; each: a few values looked up (none
        // in every third shard), the rest pending; values new, repeated
        // across shards (their keys become garbage) and within a shard
        let shard = |k: u64| {
            let mut c = ValueCounts::default();
            let mut want: Vec<(Vec<u8>, u64)> = Vec::new();
            for i in 0..2000u64 {
                let v = match i % 4 {
                    0 => format!("new value {k}/{i}"),
                    1 | 2 => format!("shared {}", (i * 31 + k) % 1500),
                    _ => format!("c{}", i % 3),
                };
                let n = 1 + i % 3;
                if i < 50 && !k.is_multiple_of(3) {
                    c.add(v.as_bytes(), n);
                } else {
                    c.add_pending(v.as_bytes(), n);
                }
                want.push((v.into_bytes(), n));
            }
            (c, want)
        };
        let mut want: std::collections::HashMap<Vec<u8>, u64> = Default::default();
        let total = SharedCounts::new(ValueCounts::default());
        std::thread::scope(|scope| {
            let runs: Vec<_> = [0u64, 1]
                .map(|t| {
                    let total = &total;
                    scope.spawn(move || {
                        let mut seen = Vec::new();
                        for k in (t..60).step_by(2) {
                            let (c, w) = shard(k);
                            total.add(c).unwrap();
                            seen.extend(w);
                        }
                        seen
                    })
                })
                .into_iter()
                .collect();
            for r in runs {
                for (v, n) in r.join().unwrap() {
                    *want.entry(v).or_default() += n;
                }
            }
        });
        let got = total.into_counts().unwrap();
        assert!(got.is_settled());
        assert_eq!(got.len(), want.len());
        for (v, n) in &want {
            assert_eq!(got.get(v), *n);
        }
        let top = want
            .iter()
            .map(|(v, n)| (*n, std::cmp::Reverse(v)))
            .max()
            .unwrap();
        assert_eq!(got.most_frequent(), Some((&top.1 .0[..], top.0)));
        // repeats' keys were dropped: at most half of an arena is garbage
        // once it is large
        let live: usize = want.keys().map(|k| k.len() + 1).sum();
        let arena: usize = got.parts.iter().map(|p| p.arena.len()).sum();
        for p in &got.parts {
            assert!(p.garbage < COMPACT_FROM || p.garbage * 2 < p.arena.len());
        }
        // without dropping them the arenas hold 1.27 MB here, over this
        // bound (1.09 MB). How much garbage each part holds at the end
        // depends on how the two threads' merges interleave, so no part is
        // asked for less than the half above
        assert!(
            arena < 2 * live + PARTS * COMPACT_FROM,
            "{arena} bytes for {live}"
        );
    }

    #[test]
    fn most_frequent_is_the_top_count_then_the_smallest_value() {
        assert_eq!(ValueCounts::default().most_frequent(), None);
        // small and large tables (the large one searched in parallel),
        // with ties for first among many values
        for n in [10usize, 3 * PARALLEL_FROM] {
            let values: Vec<String> = (0..n).map(|i| format!("k{}", (i * 7919) % n)).collect();
            let mut c = ValueCounts::default();
            for v in &values {
                c.add(v.as_bytes(), 1);
            }
            let want = values.iter().min().unwrap().clone();
            assert_eq!(c.most_frequent(), Some((want.as_bytes(), 1)));
            for v in ["k5", "k3", "k9"] {
                c.add(v.as_bytes(), 4);
            }
            assert_eq!(c.most_frequent(), Some((&b"k3"[..], 5)));
            let merged = c.clone().merge(c);
            assert_eq!(merged.most_frequent(), Some((&b"k3"[..], 10)));
            assert_eq!(merged.len(), n);
        }
        // every value tied, with copies of keys left in the arena by
        // pending counts that were already in the table
        let mut c = ValueCounts::default();
        for v in ["m", "zz", "b"] {
            c.add(v.as_bytes(), 1);
        }
        for v in ["zz", "b", "m"] {
            c.add_pending(v.as_bytes(), 1);
        }
        c.settle();
        assert_eq!(c.most_frequent(), Some((&b"b"[..], 2)));
        c.add(b"zz", 1);
        assert_eq!(c.most_frequent(), Some((&b"zz"[..], 3)));
    }
}
