//! A small, safe pickle reader and writer for `impute_dict.pkl`.
//!
//! Downstream Python code loads the fill values with `pickle.load`, so we
//! write a plain protocol-2 pickle of a dict. Reading one must never run
//! anything (Python's own loader would call whatever a pickle names), so
//! the reader is a tiny interpreter that knows only the opcodes a dict of
//! str -> float/int/str/bool/None needs, and refuses every other opcode.

use crate::error::{Error, Result};

/// A value in an impute dict pickle.
#[derive(Debug, Clone, PartialEq)]
pub enum PickleValue {
    /// `float`.
    Float(f64),
    /// `int` (that fits in 64 bits).
    Int(i64),
    /// `str`.
    Str(String),
    /// `bool`.
    Bool(bool),
    /// `None`.
    None,
}

/// Writes `{key: value, ...}` in order as a protocol-2 pickle.
pub fn write_dict(entries: &[(String, PickleValue)]) -> Vec<u8> {
    fn unicode(out: &mut Vec<u8>, s: &str) {
        out.push(b'X'); // BINUNICODE
        out.extend_from_slice(&(s.len() as u32).to_le_bytes());
        out.extend_from_slice(s.as_bytes());
    }
    let mut out = vec![0x80, 2, b'}']; // PROTO 2, EMPTY_DICT
    for chunk in entries.chunks(1000) {
        out.push(b'('); // MARK
        for (k, v) in chunk {
            unicode(&mut out, k);
            match v {
                PickleValue::Float(x) => {
                    out.push(b'G'); // BINFLOAT
                    out.extend_from_slice(&x.to_be_bytes());
                }
                PickleValue::Int(i) => {
                    if let Ok(small) = i32::try_from(*i) {
                        out.push(b'J'); // BININT
                        out.extend_from_slice(&small.to_le_bytes());
                    } else {
                        out.extend_from_slice(&[0x8a, 8]); // LONG1, 8 bytes
                        out.extend_from_slice(&i.to_le_bytes());
                    }
                }
                PickleValue::Str(s) => unicode(&mut out, s),
                PickleValue::Bool(b) => out.push(if *b { 0x88 } else { 0x89 }),
                PickleValue::None => out.push(b'N'),
            }
        }
        out.push(b'u'); // SETITEMS
    }
    out.push(b'.'); // STOP
    out
}

#[derive(Debug, Clone, PartialEq)]
enum Item {
    Mark,
    Value(PickleValue),
    Dict(Vec<(String, PickleValue)>),
}

const MAX_STACK: usize = 1 << 20;
/// Entries a dict may be given (one per column; far above any real table).
const MAX_KEYS: usize = 1 << 20;
/// Bytes of text that memo GETs may copy in all: a small pickle that GETs
/// one large string many times must not exhaust memory.
const MAX_COPIED: usize = 256 << 20;

impl Item {
    /// The bytes of text this item holds.
    fn text_len(&self) -> usize {
        let value = |v: &PickleValue| match v {
            PickleValue::Str(s) => s.len(),
            _ => 8,
        };
        match self {
            Item::Mark => 0,
            Item::Value(v) => value(v),
            Item::Dict(d) => d.iter().map(|(k, v)| k.len() + value(v)).sum(),
        }
    }
}

struct Parser<'a> {
    data: &'a [u8],
    pos: usize,
    file: &'a str,
}

impl<'a> Parser<'a> {
    fn err(&self, at: usize, msg: impl std::fmt::Display) -> Error {
        Error::artifact(format!(
            "{}: not a plain fill-value dict pickle: {msg} (byte {at})",
            self.file
        ))
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.data.len());
        match end {
            Some(end) => {
                let s = &self.data[self.pos..end];
                self.pos = end;
                Ok(s)
            }
            None => Err(self.err(self.pos, "truncated")),
        }
    }

    fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }

    fn le(&mut self, n: usize) -> Result<u64> {
        let b = self.take(n)?;
        Ok(b.iter().rev().fold(0u64, |acc, &x| (acc << 8) | x as u64))
    }

    fn line(&mut self) -> Result<&'a [u8]> {
        let rest = &self.data[self.pos..];
        match rest.iter().position(|&b| b == b'\n') {
            Some(i) => {
                self.pos += i + 1;
                Ok(&rest[..i])
            }
            None => Err(self.err(self.pos, "truncated")),
        }
    }

    fn utf8(&self, at: usize, b: &[u8]) -> Result<String> {
        String::from_utf8(b.to_vec()).map_err(|_| self.err(at, "invalid UTF-8 in a string"))
    }
}

fn opcode_name(op: u8) -> &'static str {
    match op {
        b'c' => "GLOBAL",
        0x93 => "STACK_GLOBAL",
        b'R' => "REDUCE",
        b'b' => "BUILD",
        b'i' => "INST",
        b'o' => "OBJ",
        0x81 => "NEWOBJ",
        0x92 => "NEWOBJ_EX",
        0x82..=0x84 => "EXT",
        b'P' => "PERSID",
        b'Q' => "BINPERSID",
        b']' | b'l' => "LIST",
        b')' | b't' | 0x85..=0x87 => "TUPLE",
        0x8f => "EMPTY_SET",
        b'e' | b'a' | 0x90 => "APPENDS/ADDITEMS",
        b'B' | b'C' | 0x8e | 0x96 | 0x97 | 0x98 => "BYTES",
        _ => "unknown opcode",
    }
}

/// Reads a pickle that must be one dict of str -> float/int/str/bool/None,
/// keeping key order. `file` names the file in errors. Never executes
/// anything: any other opcode is an error.
pub fn read_dict(bytes: &[u8], file: &str) -> Result<Vec<(String, PickleValue)>> {
    let mut p = Parser {
        data: bytes,
        pos: 0,
        file,
    };
    let mut stack: Vec<Item> = Vec::new();
    let mut memo: std::collections::HashMap<u64, Item> = std::collections::HashMap::new();
    let mut copied = 0usize;
    loop {
        let at = p.pos;
        let op = p.u8()?;
        let push = |stack: &mut Vec<Item>, item: Item, p: &Parser| -> Result<()> {
            if stack.len() >= MAX_STACK {
                return Err(p.err(at, "stack too deep"));
            }
            stack.push(item);
            Ok(())
        };
        match op {
            0x80 => {
                let v = p.u8()?;
                if v > 5 {
                    return Err(p.err(at, format!("unsupported protocol {v}")));
                }
            }
            0x95 => {
                p.take(8)?; // FRAME: a length hint only
            }
            b'}' => push(&mut stack, Item::Dict(Vec::new()), &p)?,
            b'(' => push(&mut stack, Item::Mark, &p)?,
            b'd' => {
                let items = pop_to_mark(&mut stack, &p, at)?;
                let dict = pairs(items, &p, at)?;
                push(&mut stack, Item::Dict(dict), &p)?;
            }
            b's' => {
                let v = pop_value(&mut stack, &p, at)?;
                let k = pop_value(&mut stack, &p, at)?;
                let key = key_of(k, &p, at)?;
                match stack.last_mut() {
                    Some(Item::Dict(d)) => set(d, key, v).map_err(|m| p.err(at, &m))?,
                    _ => return Err(p.err(at, "SETITEM without a dict")),
                }
            }
            b'u' => {
                let items = pop_to_mark(&mut stack, &p, at)?;
                let new = pairs(items, &p, at)?;
                match stack.last_mut() {
                    Some(Item::Dict(d)) => {
                        for (k, v) in new {
                            set(d, k, v).map_err(|m| p.err(at, &m))?;
                        }
                    }
                    _ => return Err(p.err(at, "SETITEMS without a dict")),
                }
            }
            0x94 | b'p' | b'q' | b'r' => {
                let idx = match op {
                    0x94 => memo.len() as u64,
                    b'p' => parse_int(p.line()?).ok_or_else(|| p.err(at, "bad PUT index"))? as u64,
                    b'q' => p.u8()? as u64,
                    _ => p.le(4)?,
                };
                let top = stack.last().ok_or_else(|| p.err(at, "memo store on an empty stack"))?;
                if memo.len() > MAX_STACK {
                    return Err(p.err(at, "memo too large"));
                }
                memo.insert(idx, top.clone());
            }
            b'g' | b'h' | b'j' => {
                let idx = match op {
                    b'g' => parse_int(p.line()?).ok_or_else(|| p.err(at, "bad GET index"))? as u64,
                    b'h' => p.u8()? as u64,
                    _ => p.le(4)?,
                };
                let item = memo.get(&idx).ok_or_else(|| p.err(at, "memo key not found"))?;
                copied = copied.saturating_add(item.text_len());
                if copied > MAX_COPIED {
                    return Err(p.err(
                        at,
                        format!("memo GETs copy more than {} MB of text", MAX_COPIED >> 20),
                    ));
                }
                push(&mut stack, item.clone(), &p)?;
            }
            0x8c | b'X' | 0x8d => {
                let n = match op {
                    0x8c => p.u8()? as u64,
                    b'X' => p.le(4)?,
                    _ => p.le(8)?,
                };
                let n = usize::try_from(n).map_err(|_| p.err(at, "string too long"))?;
                let b = p.take(n)?;
                let s = p.utf8(at, b)?;
                push(&mut stack, Item::Value(PickleValue::Str(s)), &p)?;
            }
            b'V' => {
                let b = p.line()?;
                let s = raw_unicode_escape(b).ok_or_else(|| p.err(at, "bad UNICODE string"))?;
                push(&mut stack, Item::Value(PickleValue::Str(s)), &p)?;
            }
            b'U' | b'T' => {
                let n = if op == b'U' { p.u8()? as usize } else { p.le(4)? as usize };
                let b = p.take(n)?;
                push(&mut stack, Item::Value(PickleValue::Str(b.iter().map(|&c| c as char).collect())), &p)?;
            }
            b'S' => {
                let b = p.line()?;
                let s = std::str::from_utf8(b).ok().and_then(py2_string).ok_or_else(|| p.err(at, "bad STRING"))?;
                push(&mut stack, Item::Value(PickleValue::Str(s)), &p)?;
            }
            b'G' => {
                let b = p.take(8)?;
                let mut a = [0u8; 8];
                a.copy_from_slice(b);
                push(&mut stack, Item::Value(PickleValue::Float(f64::from_be_bytes(a))), &p)?;
            }
            b'F' => {
                let b = p.line()?;
                let x = std::str::from_utf8(b)
                    .ok()
                    .and_then(crate::pandas::parse_python_float)
                    .ok_or_else(|| p.err(at, "bad FLOAT"))?;
                push(&mut stack, Item::Value(PickleValue::Float(x)), &p)?;
            }
            b'I' => {
                let b = p.line()?;
                let v = match b {
                    b"01" => PickleValue::Bool(true),
                    b"00" => PickleValue::Bool(false),
                    _ => PickleValue::Int(parse_int(b).ok_or_else(|| p.err(at, "bad INT"))?),
                };
                push(&mut stack, Item::Value(v), &p)?;
            }
            b'L' => {
                let b = p.line()?;
                let b = b.strip_suffix(b"L").unwrap_or(b);
                let v = parse_int(b).ok_or_else(|| p.err(at, "LONG out of range"))?;
                push(&mut stack, Item::Value(PickleValue::Int(v)), &p)?;
            }
            b'J' => {
                let v = p.le(4)? as u32 as i32 as i64;
                push(&mut stack, Item::Value(PickleValue::Int(v)), &p)?;
            }
            b'K' => {
                let v = p.u8()? as i64;
                push(&mut stack, Item::Value(PickleValue::Int(v)), &p)?;
            }
            b'M' => {
                let v = p.le(2)? as i64;
                push(&mut stack, Item::Value(PickleValue::Int(v)), &p)?;
            }
            0x8a | 0x8b => {
                let n = if op == 0x8a { p.u8()? as u64 } else { p.le(4)? };
                if n > 8 {
                    return Err(p.err(at, "integer too large"));
                }
                let b = p.take(n as usize)?;
                let mut v: i64 = 0;
                for (i, &x) in b.iter().enumerate() {
                    v |= (x as i64) << (8 * i);
                }
                if n > 0 && n < 8 && b[n as usize - 1] & 0x80 != 0 {
                    v -= 1i64 << (8 * n);
                }
                push(&mut stack, Item::Value(PickleValue::Int(v)), &p)?;
            }
            b'N' => push(&mut stack, Item::Value(PickleValue::None), &p)?,
            0x88 => push(&mut stack, Item::Value(PickleValue::Bool(true)), &p)?,
            0x89 => push(&mut stack, Item::Value(PickleValue::Bool(false)), &p)?,
            b'.' => {
                if p.pos != bytes.len() {
                    return Err(p.err(p.pos, "trailing bytes after STOP"));
                }
                return match (stack.pop(), stack.is_empty()) {
                    (Some(Item::Dict(d)), true) => Ok(dedupe(d)),
                    (Some(Item::Dict(_)), false) => Err(p.err(at, "extra items on the stack")),
                    _ => Err(p.err(at, "the pickled value is not a dict")),
                };
            }
            other => {
                return Err(p.err(
                    at,
                    format!("refusing opcode {} (0x{other:02x}): only a dict of str -> float/int/str is accepted", opcode_name(other)),
                ))
            }
        }
    }
}

/// Sets `d[k] = v`; a repeated key is resolved by [`dedupe`] at the end
/// (so setting n keys takes linear time).
fn set(d: &mut Vec<(String, PickleValue)>, k: String, v: PickleValue) -> Result<(), String> {
    if d.len() >= MAX_KEYS {
        return Err(format!(
            "more than {MAX_KEYS} dict entries (one per column is expected)"
        ));
    }
    d.push((k, v));
    Ok(())
}

/// A dict's entries with repeated keys merged: first position, last value
/// (Python's dict semantics).
fn dedupe(d: Vec<(String, PickleValue)>) -> Vec<(String, PickleValue)> {
    let mut at: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let mut out: Vec<(String, PickleValue)> = Vec::with_capacity(d.len());
    for (k, v) in d {
        match at.get(&k) {
            Some(&i) => out[i].1 = v,
            None => {
                at.insert(k.clone(), out.len());
                out.push((k, v));
            }
        }
    }
    out
}

fn pop_value(stack: &mut Vec<Item>, p: &Parser, at: usize) -> Result<PickleValue> {
    match stack.pop() {
        Some(Item::Value(v)) => Ok(v),
        Some(Item::Dict(_)) => Err(p.err(at, "nested dicts are not fill values")),
        _ => Err(p.err(at, "stack underflow")),
    }
}

fn pop_to_mark(stack: &mut Vec<Item>, p: &Parser, at: usize) -> Result<Vec<Item>> {
    let mark = stack
        .iter()
        .rposition(|i| matches!(i, Item::Mark))
        .ok_or_else(|| p.err(at, "no MARK"))?;
    let items = stack.split_off(mark + 1);
    stack.pop();
    Ok(items)
}

fn key_of(v: PickleValue, p: &Parser, at: usize) -> Result<String> {
    match v {
        PickleValue::Str(s) => Ok(s),
        other => Err(p.err(at, format!("dict key {other:?} is not a str"))),
    }
}

fn pairs(items: Vec<Item>, p: &Parser, at: usize) -> Result<Vec<(String, PickleValue)>> {
    if !items.len().is_multiple_of(2) {
        return Err(p.err(at, "odd number of items for a dict"));
    }
    let mut out: Vec<(String, PickleValue)> = Vec::with_capacity(items.len() / 2);
    let mut it = items.into_iter();
    while let (Some(k), Some(v)) = (it.next(), it.next()) {
        let (Item::Value(k), Item::Value(v)) = (k, v) else {
            return Err(p.err(at, "dict items must be plain values"));
        };
        set(&mut out, key_of(k, p, at)?, v).map_err(|m| p.err(at, &m))?;
    }
    Ok(out)
}

fn parse_int(b: &[u8]) -> Option<i64> {
    std::str::from_utf8(b).ok()?.trim().parse().ok()
}

/// Protocol 0's `UNICODE` argument: raw-unicode-escape (`\uXXXX`, `\UXXXXXXXX`).
fn raw_unicode_escape(b: &[u8]) -> Option<String> {
    let mut out = String::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 1 < b.len() && (b[i + 1] == b'u' || b[i + 1] == b'U') {
            let n = if b[i + 1] == b'u' { 4 } else { 8 };
            let hex = std::str::from_utf8(b.get(i + 2..i + 2 + n)?).ok()?;
            out.push(char::from_u32(u32::from_str_radix(hex, 16).ok()?)?);
            i += 2 + n;
        } else {
            out.push(b[i] as char);
            i += 1;
        }
    }
    Some(out)
}

/// Protocol 0's `STRING` argument: a quoted Python 2 string literal.
fn py2_string(s: &str) -> Option<String> {
    let inner = s
        .strip_prefix('\'')
        .and_then(|r| r.strip_suffix('\''))
        .or_else(|| s.strip_prefix('"').and_then(|r| r.strip_suffix('"')))?;
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next()? {
            'n' => out.push('\n'),
            't' => out.push('\t'),
            'r' => out.push('\r'),
            '\\' => out.push('\\'),
            '\'' => out.push('\''),
            '"' => out.push('"'),
            'x' => {
                let h: String = chars.by_ref().take(2).collect();
                out.push(char::from_u32(u32::from_str_radix(&h, 16).ok()?)?);
            }
            _ => return None,
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    fn python(script: &str, args: &[&str]) -> Vec<u8> {
        let out = Command::new("python3")
            .arg("-c")
            .arg(script)
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    fn sample() -> Vec<(String, PickleValue)> {
        let mut v = vec![
            ("num".to_string(), PickleValue::Float(0.1)),
            ("neg".into(), PickleValue::Float(-0.0)),
            ("inf".into(), PickleValue::Float(f64::INFINITY)),
            ("int".into(), PickleValue::Int(-5)),
            ("big".into(), PickleValue::Int(1 << 40)),
            ("naïve ☕".into(), PickleValue::Str("café \"x\"\n".into())),
            ("b".into(), PickleValue::Bool(true)),
            ("none".into(), PickleValue::None),
        ];
        for i in 0..2500 {
            v.push((format!("c{i}"), PickleValue::Float(i as f64 / 3.0)));
        }
        v
    }

    #[test]
    fn python_loads_what_we_write() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.pkl");
        std::fs::write(&path, write_dict(&sample())).unwrap();
        let out = python(
            "import pickle, sys\nd = pickle.load(open(sys.argv[1], 'rb'))\n\
             print(len(d), repr(d['num']), repr(d['neg']), d['inf'], d['int'], d['big'], repr(d['naïve ☕']), d['b'], d['none'], list(d)[8], repr(d['c2499']))",
            &[path.to_str().unwrap()],
        );
        assert_eq!(
            String::from_utf8(out).unwrap().trim(),
            "2508 0.1 -0.0 inf -5 1099511627776 'café \"x\"\\n' True None c0 833.0"
        );
    }

    #[test]
    fn reads_what_python_writes_in_every_protocol() {
        for proto in 0..=5 {
            let bytes = python(
                "import pickle, sys\nd = {'a': 1.5, 'b': 'x y', 'c': 7, 'd': True, 'e': None, 'é': -2**40, 'f': 'x y'}\n\
                 sys.stdout.buffer.write(pickle.dumps(d, protocol=int(sys.argv[1])))",
                &[&proto.to_string()],
            );
            let d = read_dict(&bytes, "p.pkl").unwrap_or_else(|e| panic!("protocol {proto}: {e}"));
            assert_eq!(
                d,
                vec![
                    ("a".to_string(), PickleValue::Float(1.5)),
                    ("b".into(), PickleValue::Str("x y".into())),
                    ("c".into(), PickleValue::Int(7)),
                    ("d".into(), PickleValue::Bool(true)),
                    ("e".into(), PickleValue::None),
                    ("é".into(), PickleValue::Int(-(1 << 40))),
                    ("f".into(), PickleValue::Str("x y".into())),
                ],
                "protocol {proto}"
            );
        }
    }

    #[test]
    fn refuses_code_and_other_shapes() {
        for (script, needle) in [
            ("import os\nclass P:\n    def __reduce__(self): return (os.system, ('echo hi',))\nd = {'x': P()}", "GLOBAL"),
            ("d = {'x': [1, 2]}", "LIST"),
            ("d = [1.0]", "LIST"),
            ("d = {'x': b'raw'}", "BYTES"),
            ("d = {1: 2.0}", "not a str"),
            ("d = {'x': {'y': 1.0}}", "nested"),
        ] {
            for proto in [0, 2, 4] {
                let bytes = python(
                    &format!("import pickle, sys\n{script}\nsys.stdout.buffer.write(pickle.dumps(d, protocol={proto}))"),
                    &[],
                );
                let e = read_dict(&bytes, "bad.pkl").unwrap_err().to_string();
                assert!(e.contains("bad.pkl") && e.contains("byte"), "{e}");
                if needle != "BYTES" || proto >= 3 {
                    assert!(e.contains(needle), "protocol {proto}, {script}: {e}");
                }
            }
        }
    }

    #[test]
    fn truncated_and_mutated_input_never_panics() {
        let good = write_dict(&sample()[..10]);
        for n in 0..good.len() {
            let e = read_dict(&good[..n], "t.pkl").unwrap_err().to_string();
            assert!(e.contains("t.pkl"), "{e}");
        }
        let mut trailing = good.clone();
        trailing.push(0);
        assert!(read_dict(&trailing, "t.pkl")
            .unwrap_err()
            .to_string()
            .contains("trailing"));
        let mut rng = crate::test_rng::XorShift(42);
        for _ in 0..5000 {
            let mut m = good.clone();
            for _ in 0..3 {
                let seed = rng.next();
                let i = (seed % m.len() as u64) as usize;
                m[i] = (seed >> 32) as u8;
            }
            let _ = read_dict(&m, "fuzz.pkl");
        }
    }

    #[test]
    fn memo_gets_cannot_exhaust_memory() {
        // { 'k': one 1 MB string }, then that string fetched 300 times
        let mut b = vec![0x80, 4, b'}', b'X'];
        b.extend_from_slice(&(1u32 << 20).to_le_bytes());
        b.extend(std::iter::repeat_n(b'a', 1 << 20));
        b.push(0x94); // MEMOIZE
        for _ in 0..300 {
            b.extend_from_slice(&[b'h', 0]); // BINGET 0
        }
        b.push(b'.');
        let e = read_dict(&b, "bomb.pkl").unwrap_err().to_string();
        assert!(
            e.contains("bomb.pkl") && e.contains("memo GETs copy more than"),
            "{e}"
        );
    }

    #[test]
    fn a_dict_of_more_than_a_million_entries_is_refused() {
        let mut b = vec![0x80, 4, b'}'];
        for _ in 0..=MAX_KEYS {
            b.extend_from_slice(&[b'X', 1, 0, 0, 0, b'k', b'N', b's']);
        }
        b.push(b'.');
        let e = read_dict(&b, "wide.pkl").unwrap_err().to_string();
        assert!(e.contains("wide.pkl") && e.contains("dict entries"), "{e}");
    }

    #[test]
    fn repeated_keys_keep_their_first_place_and_last_value() {
        let script = "import pickle, sys\n\
            sys.stdout.buffer.write(pickle.dumps({'a': 1.0, 'b': 'x'}, protocol=2))";
        let mut bytes = python(script, &[]);
        // SETITEM 'a' = 'again' before STOP: Python's dict keeps 'a' first
        bytes.pop();
        bytes.extend_from_slice(b"X\x01\x00\x00\x00aX\x05\x00\x00\x00agains.");
        let d = read_dict(&bytes, "t.pkl").unwrap();
        assert_eq!(
            d,
            vec![
                ("a".to_string(), PickleValue::Str("again".into())),
                ("b".to_string(), PickleValue::Str("x".into())),
            ]
        );
    }
}
