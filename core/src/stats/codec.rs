//! A versioned, checked binary form of [`TrainStats`], so that pass 1
//! states can travel between processes and machines and merge there.
//!
//! Layout (integers little-endian): the magic `SHIMPST1`, a `u32` format
//! version, the body, and a CRC-32 of everything before it. Exact sums are
//! written as their carried digits and value counts as sorted `(bytes,
//! count)` pairs, so decoding gives back the very state that was encoded
//! (merging and planning from it give the same bits) and equal states give
//! equal bytes. Decoding checks every length against the bytes left, every
//! tag and the checksum: a damaged or foreign input is an error, never a
//! panic or a huge allocation.

use super::counts::ValueCounts;
use super::exact_sum::ExactSum;
use super::{ColumnStats, Evidence, Keep, TrainStats};
use crate::error::{Error, Result};
use crate::plan::{FillDict, FillValue};

const MAGIC: &[u8; 8] = b"SHIMPST1";
/// The format version written; decoding accepts only it.
pub const STATE_VERSION: u32 = 1;
/// Digits of an exact sum (see `exact_sum`).
const SUM_DIGITS: usize = 70;

struct Writer(Vec<u8>);

impl Writer {
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn bytes(&mut self, b: &[u8]) {
        self.u64(b.len() as u64);
        self.0.extend_from_slice(b);
    }
    fn opt_str(&mut self, s: Option<&str>) {
        match s {
            None => self.u8(0),
            Some(s) => {
                self.u8(1);
                self.bytes(s.as_bytes());
            }
        }
    }
}

/// Encodes a state (see the module docs for the layout).
pub fn encode(stats: &TrainStats) -> Vec<u8> {
    if stats.stats.iter().any(|c| !c.counts.is_settled()) {
        let mut settled = stats.clone();
        settled.settle();
        return encode(&settled);
    }
    let mut w = Writer(Vec::new());
    w.0.extend_from_slice(MAGIC);
    w.u32(STATE_VERSION);
    w.u64(stats.rows);
    w.u64(stats.shards);
    w.opt_str(stats.first_shard.as_deref());
    w.u64(stats.columns.len() as u64);
    for (name, c) in stats.columns.iter().zip(&stats.stats) {
        w.bytes(name.as_bytes());
        column(&mut w, c);
    }
    let crc = crc32fast::hash(&w.0);
    w.u32(crc);
    w.0
}

fn column(w: &mut Writer, c: &ColumnStats) {
    w.u64(c.rows);
    w.u64(c.missing);
    match &c.evidence {
        None => w.u8(0),
        Some((e, shard)) => {
            w.u8(evidence_tag(*e));
            w.bytes(shard.as_bytes());
        }
    }
    w.opt_str(c.arrow_type.as_deref());
    w.u8(c.dictionary as u8);
    w.u8(match c.keep {
        Keep::Counts => 0,
        Keep::Summary => 1,
        Keep::Values => 2,
    });
    let (digits, specials) = c.sum.to_parts();
    for d in digits {
        w.u64(d as u64);
    }
    for n in specials {
        w.u64(n);
    }
    w.u64(c.numbers);
    match &c.values {
        None => w.u8(0),
        Some(v) => {
            w.u8(1);
            w.u64(v.len() as u64);
            for x in v {
                w.u64(x.to_bits());
            }
        }
    }
    let mut counts: Vec<(&[u8], u64)> = c.counts.iter().collect();
    counts.sort_unstable();
    w.u64(counts.len() as u64);
    for (value, n) in counts {
        w.bytes(value);
        w.u64(n);
    }
}

fn evidence_tag(e: Evidence) -> u8 {
    match e {
        Evidence::Unknown => 1,
        Evidence::Number => 2,
        Evidence::Bool => 3,
        Evidence::Text => 4,
        Evidence::Unsupported => 5,
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
    /// What is being read, for messages.
    what: String,
}

impl<'a> Reader<'a> {
    fn bad(&self, why: &str) -> Error {
        Error::artifact(format!(
            "not a valid shardimpute pass 1 state: {why} at byte {} (reading {})",
            self.at, self.what
        ))
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&e| e <= self.bytes.len())
            .ok_or_else(|| self.bad("truncated"))?;
        let out = &self.bytes[self.at..end];
        self.at = end;
        Ok(out)
    }

    fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }

    fn u32(&mut self) -> Result<u32> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u64(&mut self) -> Result<u64> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }

    /// A count of items of at least `min_size` bytes each: never more than
    /// the bytes left could hold.
    fn count(&mut self, min_size: usize) -> Result<usize> {
        let n = self.u64()?;
        let left = (self.bytes.len() - self.at) as u64;
        if n > left / min_size.max(1) as u64 {
            return Err(self.bad(&format!(
                "a count of {n} items that the bytes left cannot hold"
            )));
        }
        Ok(n as usize)
    }

    fn bytes(&mut self) -> Result<&'a [u8]> {
        let n = self.count(1)?;
        self.take(n)
    }

    fn string(&mut self) -> Result<String> {
        let b = self.bytes()?;
        std::str::from_utf8(b)
            .map(str::to_string)
            .map_err(|_| self.bad("a name that is not UTF-8"))
    }

    fn opt_string(&mut self) -> Result<Option<String>> {
        match self.u8()? {
            0 => Ok(None),
            1 => self.string().map(Some),
            t => Err(self.bad(&format!("unknown tag {t}"))),
        }
    }
}

/// Decodes [`encode`]'s bytes, checking them.
pub fn decode(bytes: &[u8]) -> Result<TrainStats> {
    let mut r = Reader {
        bytes,
        at: 0,
        what: "the header".into(),
    };
    if r.take(MAGIC.len()).ok() != Some(&MAGIC[..]) {
        r.at = 0;
        return Err(r.bad("no SHIMPST1 magic"));
    }
    let version = r.u32()?;
    if version != STATE_VERSION {
        return Err(r.bad(&format!(
            "format version {version}; this build reads version {STATE_VERSION}"
        )));
    }
    if bytes.len() < r.at + 4 {
        return Err(r.bad("truncated"));
    }
    let (body, crc) = bytes.split_at(bytes.len() - 4);
    let stored = u32::from_le_bytes([crc[0], crc[1], crc[2], crc[3]]);
    if crc32fast::hash(body) != stored {
        return Err(r.bad("checksum mismatch (damaged bytes)"));
    }
    r.bytes = body;
    let rows = r.u64()?;
    let shards = r.u64()?;
    let first_shard = r.opt_string()?;
    let n = r.count(8)?;
    let mut columns = Vec::with_capacity(n);
    let mut stats = Vec::with_capacity(n);
    for i in 0..n {
        r.what = format!("column {i}");
        let name = r.string()?;
        if columns.contains(&name) {
            return Err(r.bad(&format!("column `{name}` twice")));
        }
        r.what = format!("column `{name}`");
        stats.push(read_column(&mut r)?);
        columns.push(name);
    }
    if r.at != body.len() {
        r.what = "the end".into();
        return Err(r.bad("bytes left over"));
    }
    if first_shard.is_none() && (!columns.is_empty() || rows != 0 || shards != 0) {
        return Err(r.bad("a state with data but no shard"));
    }
    Ok(TrainStats {
        columns,
        stats,
        rows,
        shards,
        first_shard,
    })
}

fn read_column(r: &mut Reader<'_>) -> Result<ColumnStats> {
    let rows = r.u64()?;
    let missing = r.u64()?;
    if missing > rows {
        return Err(r.bad("more missing cells than cells"));
    }
    let evidence = match r.u8()? {
        0 => None,
        t => {
            let e = match t {
                1 => Evidence::Unknown,
                2 => Evidence::Number,
                3 => Evidence::Bool,
                4 => Evidence::Text,
                5 => Evidence::Unsupported,
                t => return Err(r.bad(&format!("unknown type tag {t}"))),
            };
            Some((e, r.string()?))
        }
    };
    let arrow_type = r.opt_string()?;
    let dictionary = match r.u8()? {
        0 => false,
        1 => true,
        t => return Err(r.bad(&format!("unknown flag {t}"))),
    };
    let keep = match r.u8()? {
        0 => Keep::Counts,
        1 => Keep::Summary,
        2 => Keep::Values,
        t => return Err(r.bad(&format!("unknown tag {t}"))),
    };
    let mut digits = [0i64; SUM_DIGITS];
    for d in digits.iter_mut() {
        *d = r.u64()? as i64;
    }
    let specials = [r.u64()?, r.u64()?, r.u64()?];
    let sum = ExactSum::from_parts(&digits, specials)
        .ok_or_else(|| r.bad("an exact sum whose digits are not carried"))?;
    let numbers = r.u64()?;
    let values = match r.u8()? {
        0 => None,
        1 => {
            let n = r.count(8)?;
            let mut v = Vec::with_capacity(n);
            for _ in 0..n {
                v.push(f64::from_bits(r.u64()?));
            }
            Some(v)
        }
        t => return Err(r.bad(&format!("unknown tag {t}"))),
    };
    let n = r.count(16)?;
    let mut counts = ValueCounts::default();
    let mut previous: Option<&[u8]> = None;
    for _ in 0..n {
        let value = r.bytes()?;
        let count = r.u64()?;
        if previous.is_some_and(|p| p >= value) {
            return Err(r.bad("value counts out of order or repeated"));
        }
        previous = Some(value);
        counts.add(value, count);
    }
    Ok(ColumnStats {
        rows,
        missing,
        evidence,
        arrow_type,
        dictionary,
        keep,
        sum,
        numbers,
        values,
        counts,
        texts_seen: 0,
        texts_pending: false,
    })
}

const DICT_MAGIC: &[u8; 8] = b"SHIMPFD1";

/// Encodes fill values (column order kept; numbers by their bits).
pub fn encode_dict(dict: &FillDict) -> Vec<u8> {
    let mut w = Writer(Vec::new());
    w.0.extend_from_slice(DICT_MAGIC);
    w.u32(STATE_VERSION);
    w.u64(dict.entries.len() as u64);
    for (name, value) in &dict.entries {
        w.bytes(name.as_bytes());
        match value {
            FillValue::Number(x) => {
                w.u8(0);
                w.u64(x.to_bits());
            }
            FillValue::Int(i) => {
                w.u8(1);
                w.u64(*i as u64);
            }
            FillValue::Text(s) => {
                w.u8(2);
                w.bytes(s.as_bytes());
            }
            FillValue::Bool(b) => {
                w.u8(3);
                w.u8(*b as u8);
            }
        }
    }
    let crc = crc32fast::hash(&w.0);
    w.u32(crc);
    w.0
}

/// Decodes [`encode_dict`]'s bytes, checking them.
pub fn decode_dict(bytes: &[u8]) -> Result<FillDict> {
    let mut r = Reader {
        bytes,
        at: 0,
        what: "fill values".into(),
    };
    let bad = |why: &str| Error::artifact(format!("not valid shardimpute fill values: {why}"));
    if bytes.len() < DICT_MAGIC.len() + 8 || &bytes[..DICT_MAGIC.len()] != DICT_MAGIC {
        return Err(bad("no SHIMPFD1 magic"));
    }
    let (body, crc) = bytes.split_at(bytes.len() - 4);
    if crc32fast::hash(body) != u32::from_le_bytes([crc[0], crc[1], crc[2], crc[3]]) {
        return Err(bad("checksum mismatch (damaged bytes)"));
    }
    r.bytes = body;
    r.at = DICT_MAGIC.len();
    let version = r.u32()?;
    if version != STATE_VERSION {
        return Err(bad(&format!(
            "format version {version}; this build reads version {STATE_VERSION}"
        )));
    }
    let n = r.count(9)?;
    let mut entries = Vec::with_capacity(n);
    for _ in 0..n {
        let name = r.string()?;
        let value = match r.u8()? {
            0 => FillValue::Number(f64::from_bits(r.u64()?)),
            1 => FillValue::Int(r.u64()? as i64),
            2 => FillValue::Text(r.string()?),
            3 => FillValue::Bool(r.u8()? != 0),
            t => return Err(r.bad(&format!("unknown tag {t}"))),
        };
        value.check_finite(&name, "as decoded")?;
        entries.push((name, value));
    }
    if r.at != body.len() {
        return Err(r.bad("bytes left over"));
    }
    Ok(FillDict { entries })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::Merge;

    fn sample() -> TrainStats {
        let mut x = ColumnStats::new(Keep::Values);
        for v in [1.5, -2.0, 1e300, 1e-310, f64::INFINITY] {
            x.add_number(v);
        }
        x.add_missing();
        x.set_evidence(Evidence::Number, "train/part-00000.csv");
        let mut t = ColumnStats::new(Keep::Summary);
        for v in ["b", "a", "b", "zé", ""] {
            t.add_text(v.as_bytes());
        }
        t.set_evidence(Evidence::Text, "train/part-00000.csv");
        TrainStats::of_shard(
            "train/part-00000.csv",
            vec!["x".into(), "t".into()],
            vec![x, t],
            6,
        )
    }

    #[test]
    fn round_trips_to_the_same_bytes_and_state() {
        let s = sample();
        let bytes = encode(&s);
        let back = decode(&bytes).unwrap();
        assert_eq!(encode(&back), bytes);
        assert_eq!(back.columns, s.columns);
        assert_eq!(
            back.stats[0].mean().map(f64::to_bits),
            s.stats[0].mean().map(f64::to_bits)
        );
        assert_eq!(back.stats[0].median(), s.stats[0].median());
        assert_eq!(back.stats[1].text_counts(), s.stats[1].text_counts());
        let empty = TrainStats::default();
        assert_eq!(decode(&encode(&empty)).unwrap().shards, 0);
        // merging decoded states works as merging the originals
        let mut a = back;
        a.merge(decode(&bytes).unwrap()).unwrap();
        assert_eq!(a.rows, 12);
        assert_eq!(a.stats[1].text_counts()[2], (b"b".to_vec(), 4));
    }

    #[test]
    fn every_damaged_input_is_an_error() {
        let bytes = encode(&sample());
        // every truncation
        for n in 0..bytes.len() {
            assert!(decode(&bytes[..n]).is_err(), "truncated to {n}");
        }
        // every single flipped bit: caught by the checksum or a check
        for i in 0..bytes.len() {
            for bit in [0, 3, 7] {
                let mut b = bytes.clone();
                b[i] ^= 1 << bit;
                assert!(decode(&b).is_err(), "bit {bit} of byte {i}");
            }
        }
        let e = decode(b"hello").unwrap_err().to_string();
        assert!(e.contains("no SHIMPST1 magic"), "{e}");
        let mut v2 = bytes.clone();
        v2[8] = 2;
        let e = decode(&v2).unwrap_err().to_string();
        assert!(e.contains("format version 2"), "{e}");
    }

    #[test]
    fn checks_hold_even_with_a_valid_checksum() {
        // a body that lies about a count, re-signed: refused, no allocation
        let mut w = Writer(MAGIC.to_vec());
        w.u32(STATE_VERSION);
        w.u64(1);
        w.u64(1);
        w.opt_str(Some("train/a.csv"));
        w.u64(u64::MAX);
        let crc = crc32fast::hash(&w.0);
        w.u32(crc);
        let e = decode(&w.0).unwrap_err().to_string();
        assert!(e.contains("cannot hold"), "{e}");
    }

    #[test]
    fn fill_values_round_trip_and_damage_is_an_error() {
        let dict = FillDict {
            entries: vec![
                ("a".into(), FillValue::Number(0.1 + 0.2)),
                ("b".into(), FillValue::Int(-7)),
                ("c".into(), FillValue::Text("zé".into())),
                ("d".into(), FillValue::Bool(true)),
            ],
        };
        let bytes = encode_dict(&dict);
        assert_eq!(decode_dict(&bytes).unwrap(), dict);
        for n in 0..bytes.len() {
            assert!(decode_dict(&bytes[..n]).is_err(), "truncated to {n}");
        }
        let mut b = bytes.clone();
        b[20] ^= 1;
        assert!(decode_dict(&b).is_err());
    }
}
