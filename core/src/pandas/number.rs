//! Numbers in CSV fields, read exactly as pandas' `read_csv` reads them.
//!
//! The fill values must equal the pandas oracle to the bit, and pandas does
//! not parse decimals with correct rounding: its default converter
//! (`precise_xstrtod` in pandas' C tokenizer) accumulates up to 17 digits in
//! a double and scales by a table of powers of ten. `"0.1234..."` can differ
//! from Rust's (correctly rounded) `str::parse` in the last bit, and that
//! changes a mean. So this module does the same arithmetic, step by step.

use std::sync::OnceLock;

/// Correctly rounded `1e0 ..= 1e308`, as the C compiler writes the table.
fn powers_of_ten() -> &'static [f64; 309] {
    static TABLE: OnceLock<[f64; 309]> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut t = [0.0; 309];
        for (i, v) in t.iter_mut().enumerate() {
            *v = format!("1e{i}").parse().unwrap_or(f64::INFINITY);
        }
        t
    })
}

#[inline]
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | b'\x0b' | b'\x0c')
}

/// The value pandas gives a CSV field in a numeric column, or `None` when
/// pandas would not read it as a number (the column is then strings).
#[inline]
pub fn parse(field: &[u8]) -> Option<f64> {
    match xstrtod(field) {
        Some(x) => Some(x),
        None => parse_infinity(field),
    }
}

/// `inf`, `infinity`, with an optional sign, any case (pandas' fallback).
fn parse_infinity(field: &[u8]) -> Option<f64> {
    let (neg, rest) = match field.first() {
        Some(b'-') => (true, &field[1..]),
        Some(b'+') => (false, &field[1..]),
        _ => (false, field),
    };
    if rest.eq_ignore_ascii_case(b"inf") || rest.eq_ignore_ascii_case(b"infinity") {
        Some(if neg {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        })
    } else {
        None
    }
}

/// Digits of a number, accumulated as pandas does (see [`xstrtod`]).
#[derive(Default)]
struct Digits {
    /// The first 15 digits, as an integer.
    int: u64,
    /// The value in double, from the 15th digit on.
    number: f64,
    count: i32,
}

impl Digits {
    #[inline]
    fn push(&mut self, digit: u8) {
        if self.count < 15 {
            self.int = self.int * 10 + u64::from(digit);
            if self.count == 14 {
                self.number = self.int as f64;
            }
        } else {
            self.number = self.number * 10.0 + f64::from(digit);
        }
        self.count += 1;
    }

    /// Takes runs of eight digits at `s[*p..]` ([`eight_digits`]) while
    /// they stay within the first 14, moving `p` past them; returns how
    /// many digits it took.
    #[inline]
    fn push_eights(&mut self, s: &[u8], p: &mut usize) -> i32 {
        let before = self.count;
        while self.count <= 6 {
            let Some(value) = eight_digits(s, *p) else {
                break;
            };
            self.int = self.int * 100_000_000 + value;
            self.count += 8;
            *p += 8;
        }
        self.count - before
    }
}

/// The value of the eight bytes at `s[p..]` read as decimal digits, if
/// there are eight and all are ASCII digits (a few word operations, not a
/// loop).
#[inline]
fn eight_digits(s: &[u8], p: usize) -> Option<u64> {
    let bytes: [u8; 8] = s.get(p..p + 8)?.try_into().ok()?;
    // the first digit in the low byte
    let v = u64::from_le_bytes(bytes);
    const HIGH: u64 = 0xF0F0_F0F0_F0F0_F0F0;
    // each byte 0x30..=0x39: its high nibble is 3, and adding 6 keeps it 3
    let nibbles = (v & HIGH) | ((v.wrapping_add(0x0606_0606_0606_0606) & HIGH) >> 4);
    if nibbles != 0x3333_3333_3333_3333 {
        return None;
    }
    let v = v - 0x3030_3030_3030_3030;
    // bytes 0, 2, 4, 6: two digits each (10 * first + second)
    let v = v * 10 + (v >> 8);
    const PAIRS: u64 = 0x0000_00FF_0000_00FF;
    let first = (v & PAIRS).wrapping_mul(100 + (1_000_000 << 32));
    let second = ((v >> 16) & PAIRS).wrapping_mul(1 + (10_000 << 32));
    Some(first.wrapping_add(second) >> 32)
}

/// pandas' `precise_xstrtod` with `skip_trailing`; `None` on any error or
/// leftover text.
fn xstrtod(s: &[u8]) -> Option<f64> {
    const MAX_DIGITS: i32 = 17;
    let n = s.len();
    let mut p = 0;
    while p < n && is_space(s[p]) {
        p += 1;
    }
    let mut negative = false;
    if p < n && (s[p] == b'-' || s[p] == b'+') {
        negative = s[p] == b'-';
        p += 1;
    }
    // Digits are accumulated as an integer while that is exact in a double
    // (15 digits < 2^53); pandas' double arithmetic gives the same value
    // there, and any 16th and 17th digits are then added in double, as
    // pandas does. Runs of eight digits among the first 14 are read at
    // once ([`eight_digits`]).
    let mut d = Digits::default();
    let mut exponent: i32 = 0;
    let mut num_decimals: i32 = 0;
    d.push_eights(s, &mut p);
    while p < n && s[p].is_ascii_digit() {
        if d.count < MAX_DIGITS {
            d.push(s[p] - b'0');
        } else {
            exponent += 1;
        }
        p += 1;
    }
    if p < n && s[p] == b'.' {
        p += 1;
        num_decimals += d.push_eights(s, &mut p);
        while d.count < MAX_DIGITS && p < n && s[p].is_ascii_digit() {
            d.push(s[p] - b'0');
            p += 1;
            num_decimals += 1;
        }
        if d.count >= MAX_DIGITS {
            while p < n && s[p].is_ascii_digit() {
                p += 1;
            }
        }
        exponent -= num_decimals;
    }
    let (num_digits, mut number) = (d.count, d.number);
    if num_digits < 15 {
        number = d.int as f64;
    }
    if num_digits == 0 {
        return None;
    }
    if negative {
        number = -number;
    }
    if p < n && (s[p] == b'e' || s[p] == b'E') {
        let e_pos = p;
        p += 1;
        let mut neg_exp = false;
        if p < n && (s[p] == b'-' || s[p] == b'+') {
            neg_exp = s[p] == b'-';
            p += 1;
        }
        let mut digits = 0;
        let mut e: i32 = 0;
        while digits < MAX_DIGITS && p < n && s[p].is_ascii_digit() {
            e = e.saturating_mul(10).saturating_add((s[p] - b'0') as i32);
            digits += 1;
            p += 1;
        }
        if digits == 0 {
            // no digits after the `e`: un-consume it (and any sign: then
            // trailing text remains and the field is not a number)
            p = e_pos;
        } else if neg_exp {
            exponent = exponent.saturating_sub(e);
        } else {
            exponent = exponent.saturating_add(e);
        }
    }
    let table = powers_of_ten();
    if exponent > 308 {
        return None;
    } else if exponent > 0 {
        number *= table[exponent as usize];
    } else if exponent < -308 {
        if exponent < -616 {
            number = 0.0;
        } else {
            number /= table[(-308 - exponent) as usize];
            number /= table[308];
        }
    } else {
        number /= table[(-exponent) as usize];
    }
    if number.is_infinite() {
        return None;
    }
    while p < n && is_space(s[p]) {
        p += 1;
    }
    (p == n).then_some(number)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Option<f64> {
        parse(s.as_bytes())
    }

    #[test]
    fn accepts_what_pandas_accepts() {
        assert_eq!(p("26"), Some(26.0));
        assert_eq!(p("-1.5"), Some(-1.5));
        assert_eq!(p("+.5"), Some(0.5));
        assert_eq!(p("5."), Some(5.0));
        assert_eq!(p("1e3"), Some(1000.0));
        assert_eq!(p("1E-2"), Some(0.01));
        assert_eq!(p(" 12 "), Some(12.0));
        assert_eq!(p("inf"), Some(f64::INFINITY));
        assert_eq!(p("-Infinity"), Some(f64::NEG_INFINITY));
        for bad in [
            "", ".", "-", "abc", "1.2.3", "1e", "0x10", "1,000", "True", "nan", "1e400", "12a",
        ] {
            assert_eq!(p(bad), None, "{bad}");
        }
    }

    /// Digits past the 17th are dropped (leading zeros count; in the
    /// integer part they scale instead).
    #[test]
    fn seventeen_digit_cap() {
        let ours = p("0.0011973218062880574").unwrap();
        let expected: f64 = 11973218062880.0 / 1e16;
        assert_eq!(ours.to_bits(), expected.to_bits());
        assert_eq!(
            p("123456789012345678901").unwrap(),
            12345678901234567.0 * 1e4
        );
    }

    #[test]
    fn eight_digits_reads_exactly_eight_ascii_digits() {
        let mut rng = crate::test_rng::XorShift(0x9E37_79B9_7F4A_7C15);
        for _ in 0..20_000 {
            let seed = rng.next();
            let text = format!("{:08}", seed % 100_000_000);
            assert_eq!(
                eight_digits(text.as_bytes(), 0),
                text.parse().ok(),
                "{text}"
            );
            // any other byte anywhere: not eight digits
            for at in 0..8 {
                for b in [b'/', b':', b'.', b'e', b' ', 0x00, 0xB5, 0xFF] {
                    let mut bytes = text.clone().into_bytes();
                    bytes[at] = b;
                    assert_eq!(eight_digits(&bytes, 0), None, "{bytes:?}");
                }
            }
        }
        assert_eq!(eight_digits(b"x12345678", 1), Some(12_345_678));
        assert_eq!(eight_digits(b"1234567", 0), None);
        assert_eq!(eight_digits(b"12345678", 1), None);
    }

    /// pandas' loop as written (digits accumulated in double), to check the
    /// integer fast path against.
    fn reference(mantissa: &str, exp10: i32) -> f64 {
        let mut number = 0.0f64;
        let mut digits = 0;
        let mut decimals = 0;
        let mut seen_dot = false;
        let mut exponent = 0;
        for c in mantissa.bytes() {
            if c == b'.' {
                seen_dot = true;
                continue;
            }
            if digits < 17 {
                number = number * 10.0 + (c - b'0') as f64;
                digits += 1;
                if seen_dot {
                    decimals += 1;
                }
            } else if !seen_dot {
                exponent += 1;
            }
        }
        exponent = exponent - decimals + exp10;
        let t = powers_of_ten();
        if exponent >= 0 {
            number * t[exponent as usize]
        } else {
            number / t[(-exponent) as usize]
        }
    }

    #[test]
    fn fast_path_equals_pandas_loop() {
        let mut rng = crate::test_rng::XorShift(0x2545F4914F6CDD1D);
        let mut next = || rng.next();
        for _ in 0..200_000 {
            let int_len = (next() % 20) as usize;
            let frac_len = (next() % 22) as usize;
            let digit = |r: u64| (b'0' + (r % 10) as u8) as char;
            let mut m: String = (0..int_len).map(|_| digit(next())).collect();
            if m.is_empty() || frac_len > 0 {
                m.push('.');
                m.extend((0..frac_len.max(1)).map(|_| digit(next())));
            }
            let e = (next() % 40) as i32 - 20;
            let text = format!("{m}e{e}");
            let got = p(&text).unwrap();
            assert_eq!(got.to_bits(), reference(&m, e).to_bits(), "{text}");
        }
    }
}
