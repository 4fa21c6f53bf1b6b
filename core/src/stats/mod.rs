//! Pass 1 state: mergeable per-column statistics.
//!
//! Each training shard folds into a [`TrainStats`]; states merge in any order
//! with bit-identical results (exact sums, exact counts, all values for a
//! median), so shards can be read in parallel, or on different machines.
//! `TrainStats::default()` is the identity of [`Merge::merge`].
//!
//! Memory stays flat in the number of shards: a column keeps value counts
//! only while it may be a string column, every number only when its
//! strategy is the median, and nothing but cell counts when it is the label
//! or excluded.

pub(crate) mod codec;
mod counts;
mod exact_sum;

pub use codec::STATE_VERSION;

use std::sync::{Arc, Mutex};

use hashbrown::HashMap;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::io::{lock, panicked};
use crate::settings::{Settings, Strategy};
use counts::{SharedCounts, ValueCounts};
use exact_sum::ExactSum;

/// A mergeable partial state: `Default` is the identity, and `merge` is
/// associative and commutative, so any partition of the shards merged in
/// any order and tree shape gives the same state.
pub trait Merge: Default + Sized {
    /// Folds `other` into `self`.
    fn merge(&mut self, other: Self) -> Result<()>;
}

/// What pass 1 keeps of a column's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Keep {
    /// Only cell counts and type evidence (the label, excluded columns).
    Counts,
    /// Also what a fill value needs: the exact sum, string value counts.
    #[default]
    Summary,
    /// Also every number (for an exact median).
    Values,
}

/// What pass 1 keeps of `column`: cell counts only for the label and
/// excluded columns, every number where the strategy may be the median.
pub fn keep_for(settings: &Settings, column: &str) -> Keep {
    if settings.is_skipped(column) {
        return Keep::Counts;
    }
    let numerical = settings
        .column_strategy(column)
        .unwrap_or(settings.default_numerical_strategy);
    if numerical == Strategy::Median {
        Keep::Values
    } else {
        Keep::Summary
    }
}

/// What a column's values say about its type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Evidence {
    /// Nothing yet: every value seen was missing (untyped CSV).
    Unknown,
    /// Every value is a number (or the Parquet type is numeric).
    Number,
    /// Every value is a boolean.
    Bool,
    /// String values.
    Text,
    /// A Parquet type the engine does not impute (dates, lists, ...).
    Unsupported,
}

impl Evidence {
    /// The lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Evidence::Unknown => "unknown",
            Evidence::Number => "number",
            Evidence::Bool => "bool",
            Evidence::Text => "text",
            Evidence::Unsupported => "unsupported",
        }
    }
}

/// Statistics of one column over the shards folded in so far.
#[derive(Debug, Clone, Default)]
pub struct ColumnStats {
    /// Cells seen.
    pub rows: u64,
    /// Missing cells seen.
    pub missing: u64,
    evidence: Option<(Evidence, String)>,
    /// The Arrow type name, for unsupported Parquet columns.
    pub arrow_type: Option<String>,
    /// Whether the column came from an Arrow dictionary (categorical).
    pub dictionary: bool,
    keep: Keep,
    sum: ExactSum,
    numbers: u64,
    values: Option<Vec<f64>>,
    counts: ValueCounts,
    /// Texts added by [`ColumnStats::add_text`] toward the next choice of
    /// mode: the first [`PROBE`] of the shard, then, while pending, those
    /// since the last [`RECHECK`]. Left at [`PROBE`] once the choice is
    /// the table for good.
    texts_seen: u32,
    /// Whether this shard's texts look all different, so are added pending.
    texts_pending: bool,
}

/// After this many texts of a shard, a column whose texts were nearly all
/// different ([`ColumnStats::add_text`]) adds the rest pending.
const PROBE: u32 = 1024;
/// While pending, every this many texts are counted with the shard's table
/// and the choice made again, so a column that turns repetitive later in a
/// large shard keeps one entry per distinct text, not one per row.
const RECHECK: u32 = 1 << 16;

impl ColumnStats {
    /// Empty stats keeping `keep` of the values.
    pub fn new(keep: Keep) -> ColumnStats {
        ColumnStats {
            keep,
            values: (keep == Keep::Values).then(Vec::new),
            ..ColumnStats::default()
        }
    }

    /// Whether this column only counts cells (its values are never needed).
    #[inline]
    pub fn counts_only(&self) -> bool {
        self.keep == Keep::Counts
    }

    /// The type evidence, and the shard it first came from.
    pub fn evidence(&self) -> Evidence {
        self.evidence.as_ref().map_or(Evidence::Unknown, |e| e.0)
    }

    /// Records the column's evidence from `shard` (call once per shard).
    pub fn set_evidence(&mut self, evidence: Evidence, shard: &str) {
        if evidence != Evidence::Unknown {
            self.evidence = Some((evidence, shard.to_string()));
        }
    }

    /// Adds one missing cell.
    #[inline]
    pub fn add_missing(&mut self) {
        self.rows += 1;
        self.missing += 1;
    }

    /// Adds `n` missing cells.
    #[inline]
    pub fn add_missing_n(&mut self, n: u64) {
        self.rows += n;
        self.missing += n;
    }

    /// Adds one number.
    // always: for wasm32 LLVM otherwise leaves it a call for every cell
    #[inline(always)]
    pub fn add_number(&mut self, x: f64) {
        self.rows += 1;
        self.numbers += 1;
        if self.keep == Keep::Counts {
            return;
        }
        self.sum.add(x);
        if let Some(v) = &mut self.values {
            v.push(x);
        }
    }

    /// Adds one string value (text and booleans), as UTF-8 bytes. When
    /// more than 3 in 4 of a shard's first [`PROBE`] texts were different
    /// (free text, ids), its further texts are added pending: looked up
    /// once, in the total, not in the shard's table first. Every
    /// [`RECHECK`] pending texts are counted with the table, and stay
    /// pending only while more than 3 in 4 of them were new.
    #[inline]
    pub fn add_text(&mut self, s: &[u8]) {
        self.rows += 1;
        if self.keep == Keep::Counts {
            return;
        }
        if self.texts_pending {
            self.counts.add_pending(s, 1);
            self.texts_seen += 1;
            if self.texts_seen == RECHECK {
                let new = self.counts.settle();
                self.texts_pending = new * 4 > RECHECK as usize * 3;
                self.texts_seen = if self.texts_pending { 0 } else { PROBE };
            }
            return;
        }
        self.counts.add_cell(s);
        if self.texts_seen < PROBE {
            self.texts_seen += 1;
            if self.texts_seen == PROBE {
                self.counts.settle();
                self.texts_pending = self.counts.len() * 4 > PROBE as usize * 3;
                if self.texts_pending {
                    self.texts_seen = 0;
                }
            }
        }
    }

    /// Adds `n` cells holding one value of a dictionary (whose values are
    /// different from each other): pending.
    #[inline]
    pub fn add_dictionary_value(&mut self, s: &[u8], n: u64) {
        self.rows += n;
        if self.keep != Keep::Counts {
            self.counts.add_pending(s, n);
        }
    }

    /// Counts pending texts (see [`ColumnStats::add_text`]) with the rest.
    pub(crate) fn settle(&mut self) {
        self.counts.settle();
    }

    /// Every string value with its count (pending ones counted), sorted
    /// (for tests).
    #[cfg(test)]
    pub(crate) fn text_counts(&self) -> Vec<(Vec<u8>, u64)> {
        let mut counts = self.counts.clone();
        counts.settle();
        let mut v: Vec<(Vec<u8>, u64)> = counts.iter().map(|(s, n)| (s.to_vec(), n)).collect();
        v.sort();
        v
    }

    /// Non-missing cells seen.
    pub fn present(&self) -> u64 {
        self.rows - self.missing
    }

    /// Distinct non-missing values (string columns).
    pub fn distinct(&self) -> usize {
        self.counts.len()
    }

    /// Whether the column has no missing value and all-boolean values.
    pub fn is_numerical(&self) -> bool {
        match self.evidence() {
            Evidence::Number | Evidence::Unknown => true,
            Evidence::Bool => self.missing == 0,
            Evidence::Text | Evidence::Unsupported => false,
        }
    }

    /// `math.fsum(values) / count`, or `None` with no numbers.
    pub fn mean(&self) -> Option<f64> {
        match self.evidence() {
            Evidence::Bool => {
                let n = self.present();
                let t = self.counts.get(b"True");
                (n > 0).then(|| t as f64 / n as f64)
            }
            _ => (self.numbers > 0).then(|| self.sum.mean(self.numbers)),
        }
    }

    /// The exact median (numpy's: mean of the two middle values for an even
    /// count), or `None` with no numbers or when values were not kept.
    pub fn median(&self) -> Option<f64> {
        let mut v = self.values.clone()?;
        if v.is_empty() {
            return None;
        }
        v.sort_unstable_by(f64::total_cmp);
        let n = v.len();
        Some(if n % 2 == 1 {
            v[n / 2]
        } else {
            (v[n / 2 - 1] + v[n / 2]) / 2.0
        })
    }

    /// The most frequent string, ties to the smallest (by code point,
    /// which is UTF-8 byte order).
    pub fn mode(&self) -> Option<String> {
        self.counts
            .most_frequent()
            .map(|(k, _)| String::from_utf8_lossy(k).into_owned())
    }

    fn merge(&mut self, other: ColumnStats, name: &str) -> Result<()> {
        let (mine, theirs) = (self.evidence.take(), other.evidence);
        self.evidence = match (mine, theirs) {
            (None, e) | (e, None) => e,
            (Some(a), Some(b)) if a.0 == b.0 => Some(if a.1 <= b.1 { a } else { b }),
            (Some(a), Some(b)) => {
                let (first, second) = if a.1 <= b.1 { (a, b) } else { (b, a) };
                return Err(Error::schema(format!(
                    "column `{name}` is {} in {} but {} in {}",
                    describe(first.0),
                    first.1,
                    describe(second.0),
                    second.1
                )));
            }
        };
        self.rows += other.rows;
        self.missing += other.missing;
        self.dictionary |= other.dictionary;
        self.keep = self.keep.max_with(other.keep);
        if self.arrow_type.is_none() {
            self.arrow_type = other.arrow_type;
        }
        self.sum.merge(&other.sum);
        self.numbers += other.numbers;
        match (&mut self.values, other.values) {
            (Some(a), Some(b)) => a.extend(b),
            (a @ None, b) => *a = b,
            (Some(_), None) => {}
        }
        self.counts = std::mem::take(&mut self.counts).merge(other.counts);
        Ok(())
    }
}

impl Keep {
    fn max_with(self, other: Keep) -> Keep {
        let rank = |k| match k {
            Keep::Counts => 0,
            Keep::Summary => 1,
            Keep::Values => 2,
        };
        if rank(other) > rank(self) {
            other
        } else {
            self
        }
    }
}

fn describe(e: Evidence) -> &'static str {
    match e {
        Evidence::Number => "numeric",
        Evidence::Bool => "boolean",
        Evidence::Text => "text",
        Evidence::Unsupported => "of an unsupported type",
        Evidence::Unknown => "untyped",
    }
}

/// Pass 1 state over a set of training shards.
#[derive(Debug, Clone, Default)]
pub struct TrainStats {
    /// Column names, in the order of the first shard (by path).
    pub columns: Vec<String>,
    /// Stats per column, in `columns` order.
    pub stats: Vec<ColumnStats>,
    /// Rows seen.
    pub rows: u64,
    /// Shards folded in.
    pub shards: u64,
    /// The path of the first shard (by path), which sets the column order.
    first_shard: Option<String>,
}

impl TrainStats {
    /// The state of one shard.
    pub fn of_shard(shard: &str, columns: Vec<String>, stats: Vec<ColumnStats>, rows: u64) -> Self {
        TrainStats {
            columns,
            stats,
            rows,
            shards: 1,
            first_shard: Some(shard.to_string()),
        }
    }

    /// Counts every pending text (texts of a shard that looked all
    /// different, kept aside to be counted once, in the total), so the
    /// state reads as it merges. A shard's state is settled before it
    /// leaves the engine ([`crate::fit_shard`]).
    pub fn settle(&mut self) {
        self.stats.iter_mut().for_each(ColumnStats::settle);
    }

    /// The state as bytes, to send to another process or machine: a
    /// versioned, checksummed binary form that keeps exact sums and counts
    /// exact (format version [`STATE_VERSION`]).
    pub fn to_bytes(&self) -> Vec<u8> {
        codec::encode(self)
    }

    /// A state from [`TrainStats::to_bytes`]'s bytes. Damaged, truncated
    /// or foreign bytes, or another format version, are an error.
    pub fn from_bytes(bytes: &[u8]) -> Result<TrainStats> {
        codec::decode(bytes)
    }

    /// Merges two states (associative, commutative). Shards must have the
    /// same set of columns.
    pub fn merged(self, other: TrainStats) -> Result<TrainStats> {
        let (a, b) = match (&self.first_shard, &other.first_shard) {
            (None, _) => return Ok(other),
            (_, None) => return Ok(self),
            (Some(x), Some(y)) if x <= y => (self, other),
            _ => (other, self),
        };
        let (a_name, b_name) = (
            a.first_shard.clone().unwrap_or_default(),
            b.first_shard.clone().unwrap_or_default(),
        );
        {
            let in_a: hashbrown::HashSet<&String> = a.columns.iter().collect();
            let in_b: hashbrown::HashSet<&String> = b.columns.iter().collect();
            if let Some(col) = b.columns.iter().find(|c| !in_a.contains(c)) {
                return Err(Error::schema(format!(
                    "column `{col}` is in {b_name} but not in {a_name}"
                )));
            }
            if let Some(col) = a.columns.iter().find(|c| !in_b.contains(c)) {
                return Err(Error::schema(format!(
                    "column `{col}` is in {a_name} but not in {b_name}"
                )));
            }
        }
        let mut out = a;
        let mut theirs: HashMap<String, ColumnStats> = b.columns.into_iter().zip(b.stats).collect();
        for (name, stats) in out.columns.iter().zip(out.stats.iter_mut()) {
            if let Some(o) = theirs.remove(name) {
                stats.merge(o, name)?;
            }
        }
        out.rows += b.rows;
        out.shards += b.shards;
        Ok(out)
    }
}

/// A running pass 1 total that several threads fold shard states into at
/// once. Everything but the counts of distinct strings merges under one
/// lock (it is small and quick); the counts, which can be large (a
/// high-cardinality column), merge part by part under locks of their own
/// ([`SharedCounts`]), so threads do not queue behind one another's merge.
/// The result is the state [`Merge::merge`] gives, in any order.
pub struct SharedTotal {
    rest: Mutex<TrainStats>,
    counts: Mutex<HashMap<String, Arc<SharedCounts>>>,
}

impl SharedTotal {
    /// A total starting from `total`.
    pub fn new(mut total: TrainStats) -> SharedTotal {
        let counts = total
            .columns
            .iter()
            .zip(total.stats.iter_mut())
            .map(|(name, s)| {
                let c = std::mem::take(&mut s.counts);
                (name.clone(), Arc::new(SharedCounts::new(c)))
            })
            .collect();
        SharedTotal {
            rest: Mutex::new(total),
            counts: Mutex::new(counts),
        }
    }

    /// Folds in one state (a shard's). Columns that do not match are an
    /// error, as with [`Merge::merge`].
    pub fn merge(&self, mut state: TrainStats) -> Result<()> {
        let counts: Vec<(String, ValueCounts)> = state
            .columns
            .iter()
            .zip(state.stats.iter_mut())
            .filter(|(_, s)| !s.counts.is_empty())
            .map(|(name, s)| (name.clone(), std::mem::take(&mut s.counts)))
            .collect();
        lock(&self.rest)?.merge(state)?;
        for (name, c) in counts {
            let total = lock(&self.counts)?
                .entry(name)
                .or_insert_with(|| Arc::new(SharedCounts::new(ValueCounts::default())))
                .clone();
            total.add(c)?;
        }
        Ok(())
    }

    /// The merged state.
    pub fn into_inner(self) -> Result<TrainStats> {
        let mut total = self.rest.into_inner().map_err(|_| panicked())?;
        let mut counts = self.counts.into_inner().map_err(|_| panicked())?;
        for (name, s) in total.columns.iter().zip(total.stats.iter_mut()) {
            if let Some(c) = counts.remove(name) {
                let c = Arc::into_inner(c).ok_or_else(panicked)?;
                s.counts = c.into_counts()?;
            }
        }
        Ok(total)
    }
}

impl Merge for TrainStats {
    fn merge(&mut self, other: TrainStats) -> Result<()> {
        *self = std::mem::take(self).merged(other)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn num_shard(name: &str, xs: &[Option<f64>]) -> TrainStats {
        let mut s = ColumnStats::new(Keep::Values);
        for x in xs {
            match x {
                Some(x) => s.add_number(*x),
                None => s.add_missing(),
            }
        }
        s.set_evidence(Evidence::Number, name);
        TrainStats::of_shard(name, vec!["x".into()], vec![s], xs.len() as u64)
    }

    #[test]
    fn mean_median_mode() {
        let s = num_shard("a", &[Some(1.0), None, Some(4.0), Some(2.0), Some(10.0)]);
        let c = &s.stats[0];
        assert_eq!(c.mean(), Some(17.0 / 4.0));
        assert_eq!(c.median(), Some(3.0));
        assert_eq!(c.missing, 1);
        let mut t = ColumnStats::new(Keep::Summary);
        for v in ["b", "a", "b", "a", "c"] {
            t.add_text(v.as_bytes());
        }
        t.settle();
        assert_eq!(t.mode().as_deref(), Some("a")); // tie a/b goes to the smallest
        t.add_text(b"b");
        t.settle();
        assert_eq!(t.mode().as_deref(), Some("b"));
    }

    #[test]
    fn a_shard_of_different_texts_adds_them_pending_and_counts_them_all() {
        // free text: all different for the first PROBE texts, then repeats
        // (of texts seen before the switch and after it)
        let free: Vec<String> = (0..3 * PROBE)
            .map(|i| format!("note {}", if i < PROBE { i } else { i % (PROBE + 300) }))
            .collect();
        // categories: a handful of values
        let few: Vec<String> = (0..3 * PROBE).map(|i| format!("c{}", i % 7)).collect();
        for (texts, pending) in [(&free, true), (&few, false)] {
            let mut s = ColumnStats::new(Keep::Summary);
            for t in texts {
                s.add_text(t.as_bytes());
            }
            assert_eq!(s.texts_pending, pending);
            assert_eq!(s.counts.pending_len() > 0, pending);
            let mut want: Vec<(Vec<u8>, u64)> = Vec::new();
            let mut sorted_texts: Vec<&String> = texts.iter().collect();
            sorted_texts.sort();
            for t in sorted_texts {
                match want.last_mut() {
                    Some((k, n)) if k == t.as_bytes() => *n += 1,
                    _ => want.push((t.as_bytes().to_vec(), 1)),
                }
            }
            assert_eq!(s.text_counts(), want);
            // a shard's state as it leaves the engine reads like any other
            let mut state = TrainStats::of_shard("s", vec!["t".into()], vec![s], 0);
            let bytes = state.to_bytes();
            state.settle();
            assert_eq!(state.to_bytes(), bytes);
            let back = TrainStats::from_bytes(&state.to_bytes()).unwrap();
            assert_eq!(back.stats[0].distinct(), want.len());
            assert_eq!(back.stats[0].text_counts(), want);
        }
    }

    #[test]
    fn a_column_that_turns_repetitive_stops_adding_pending() {
        // all different for the first PROBE texts (so pending), then a few
        // values over and over: at the recheck the shard goes back to its
        // table, so pending entries never outnumber RECHECK
        let texts: Vec<String> = (0..PROBE + 3 * RECHECK)
            .map(|i| {
                if i < PROBE {
                    format!("id{i}")
                } else {
                    format!("c{}", i % 5)
                }
            })
            .collect();
        let mut s = ColumnStats::new(Keep::Summary);
        let mut most_pending = 0;
        for t in &texts {
            s.add_text(t.as_bytes());
            most_pending = most_pending.max(s.counts.pending_len());
        }
        assert!(!s.texts_pending);
        assert!(most_pending < RECHECK as usize, "{most_pending} pending");
        assert_eq!(s.counts.pending_len(), 0);
        s.settle();
        assert_eq!(s.distinct(), PROBE as usize + 5);
        assert_eq!(
            s.text_counts().iter().map(|(_, n)| n).sum::<u64>(),
            texts.len() as u64
        );
        assert_eq!(s.mode().as_deref(), Some("c0"));

        // all different throughout: still pending after a recheck
        let mut s = ColumnStats::new(Keep::Summary);
        for i in 0..PROBE + 2 * RECHECK {
            s.add_text(format!("id{i}").as_bytes());
        }
        assert!(s.texts_pending);
        assert_eq!(s.text_counts().len(), (PROBE + 2 * RECHECK) as usize);
    }

    #[test]
    fn merge_law_random_splits() {
        // merging any partition in any order equals one pass over all values
        let mut rng = crate::test_rng::XorShift(7);
        let mut next = || rng.next();
        let xs: Vec<Option<f64>> = (0..500)
            .map(|_| {
                let r = next();
                (r % 5 != 0).then(|| (r % 100_000) as f64 / 7.0 - 3000.0)
            })
            .collect();
        let whole = num_shard("s0", &xs);
        for _ in 0..20 {
            let mut parts = Vec::new();
            let mut i = 0;
            while i < xs.len() {
                let n = 1 + (next() % 90) as usize;
                let end = (i + n).min(xs.len());
                parts.push(num_shard(&format!("s{i:04}"), &xs[i..end]));
                i = end;
            }
            let mut acc = TrainStats::default();
            while !parts.is_empty() {
                let k = (next() % parts.len() as u64) as usize;
                acc.merge(parts.swap_remove(k)).unwrap();
            }
            let (a, b) = (&acc.stats[0], &whole.stats[0]);
            assert_eq!(a.mean().unwrap().to_bits(), b.mean().unwrap().to_bits());
            assert_eq!(a.median(), b.median());
            assert_eq!((a.rows, a.missing), (b.rows, b.missing));
        }
    }

    #[test]
    fn threads_folding_into_a_shared_total_count_every_value() {
        // 64 text shards, two columns (one high-cardinality, large enough
        // that parts are merged while the other thread holds some), folded
        // by 4 threads at once, and a schema error from one of them
        let shard = |i: usize| {
            let mut few = ColumnStats::new(Keep::Summary);
            let mut many = ColumnStats::new(Keep::Summary);
            for r in 0..3000 {
                few.add_text(format!("c{}", (i * 7 + r) % 13).as_bytes());
                many.add_text(format!("v{}", (i * 1000 + r) % 70_000).as_bytes());
            }
            few.set_evidence(Evidence::Text, "s");
            many.set_evidence(Evidence::Text, "s");
            let name = format!("train/part-{i:05}.csv");
            TrainStats::of_shard(
                &name,
                vec!["few".into(), "many".into()],
                vec![few, many],
                3000,
            )
        };
        let mut want: [std::collections::BTreeMap<String, u64>; 2] = Default::default();
        for i in 0..64 {
            for r in 0..3000 {
                *want[0].entry(format!("c{}", (i * 7 + r) % 13)).or_default() += 1;
                *want[1]
                    .entry(format!("v{}", (i * 1000 + r) % 70_000))
                    .or_default() += 1;
            }
        }
        // starting from a total that already holds the first shard
        let total = SharedTotal::new(shard(0));
        std::thread::scope(|scope| {
            for t in 0..4 {
                let total = &total;
                scope.spawn(move || {
                    for i in (1..64).filter(|i| i % 4 == t) {
                        total.merge(shard(i)).unwrap();
                    }
                });
            }
        });
        let total = total.into_inner().unwrap();
        assert_eq!((total.rows, total.shards), (64 * 3000, 64));
        for (c, want) in total.stats.iter().zip(&want) {
            let mut got: Vec<(String, u64)> = c
                .counts
                .iter()
                .map(|(k, n)| (String::from_utf8(k.to_vec()).unwrap(), n))
                .collect();
            got.sort();
            assert_eq!(
                got,
                want.iter()
                    .map(|(k, n)| (k.clone(), *n))
                    .collect::<Vec<_>>()
            );
            assert_eq!(c.counts.len(), want.len());
        }
        let top = want[1]
            .iter()
            .max_by_key(|(k, n)| (**n, std::cmp::Reverse(*k)))
            .unwrap();
        assert_eq!(total.stats[1].mode().as_deref(), Some(top.0.as_str()));
        // a shard with other columns is an error, as with `merge`
        let total = SharedTotal::new(TrainStats::default());
        total.merge(shard(1)).unwrap();
        let e = total
            .merge(num_shard("train/part-00009.csv", &[Some(1.0)]))
            .unwrap_err();
        assert!(e.to_string().contains("column `x` is in"), "{e}");
    }

    #[test]
    fn type_and_column_drift_are_errors() {
        let a = num_shard("train/part-00000.csv", &[Some(1.0)]);
        let mut t = ColumnStats::new(Keep::Summary);
        t.add_text(b"hello");
        t.set_evidence(Evidence::Text, "train/part-00001.csv");
        let b = TrainStats::of_shard("train/part-00001.csv", vec!["x".into()], vec![t], 1);
        let e = b.merged(a.clone()).unwrap_err().to_string();
        assert!(
            e.contains("`x` is numeric in train/part-00000.csv but text in train/part-00001.csv"),
            "{e}"
        );
        let c = TrainStats::of_shard(
            "train/part-00002.csv",
            vec!["y".into()],
            vec![ColumnStats::new(Keep::Summary)],
            0,
        );
        let e = a.merged(c).unwrap_err().to_string();
        assert!(
            e.contains("column `y` is in train/part-00002.csv but not in train/part-00000.csv"),
            "{e}"
        );
    }

    #[test]
    fn label_and_excluded_columns_keep_no_values() {
        let settings =
            Settings::from_env_text("EXCLUDE_COLUMNS=free\nCOLUMN_STRATEGY_m=median").unwrap();
        assert_eq!(keep_for(&settings, "target"), Keep::Counts);
        assert_eq!(keep_for(&settings, "free"), Keep::Counts);
        assert_eq!(keep_for(&settings, "m"), Keep::Values);
        assert_eq!(keep_for(&settings, "other"), Keep::Summary);
        let mut free = ColumnStats::new(keep_for(&settings, "free"));
        for i in 0..1000 {
            free.add_text(format!("value {i}").as_bytes());
        }
        free.add_missing();
        assert_eq!((free.rows, free.missing, free.distinct()), (1001, 1, 0));
    }
}
