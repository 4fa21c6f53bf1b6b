//! An exact floating-point sum that can be merged in any order.
//!
//! The mean fill value must equal Python's `math.fsum(values) / count` to
//! the bit, whatever the shard order or thread count. This accumulator keeps
//! the sum as a wide fixed-point integer (every finite `f64` is an integer
//! multiple of 2^-1074), so adding and merging are exact and associative,
//! and [`ExactSum::value`] rounds once, half to even, like `fsum`.

/// Bits per digit.
const DIGIT_BITS: u32 = 32;
/// Digits: 2098 bits span all finite doubles, plus room for 2^64 additions.
const DIGITS: usize = 70;
/// Additions between carry propagations (each digit absorbs < 2^32 per add).
const NORMALIZE_EVERY: u32 = 1 << 30;

/// Exact running sum of `f64` values (the identity is `ExactSum::default()`).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ExactSum {
    digits: Box<[i64; DIGITS]>,
    pending: u32,
    pos_inf: u64,
    neg_inf: u64,
    nan: u64,
}

impl Default for ExactSum {
    fn default() -> ExactSum {
        ExactSum {
            digits: Box::new([0; DIGITS]),
            pending: 0,
            pos_inf: 0,
            neg_inf: 0,
            nan: 0,
        }
    }
}

impl ExactSum {
    /// Adds one value exactly.
    #[inline]
    pub fn add(&mut self, x: f64) {
        let bits = x.to_bits();
        let exp = ((bits >> 52) & 0x7ff) as u32;
        let frac = bits & ((1u64 << 52) - 1);
        if exp == 0x7ff {
            if frac != 0 {
                self.nan += 1;
            } else if x > 0.0 {
                self.pos_inf += 1;
            } else {
                self.neg_inf += 1;
            }
            return;
        }
        // x = m * 2^(pos - 1074) with m < 2^53
        let (m, pos) = if exp == 0 {
            (frac, 0)
        } else {
            (frac | (1u64 << 52), exp - 1)
        };
        if m == 0 {
            return;
        }
        let idx = (pos / DIGIT_BITS) as usize;
        // the three digits of m * 2^s (s < 32, under 2^85), in 64-bit
        // arithmetic (wasm has no 128-bit shifts: each is a call)
        let s = pos % DIGIT_BITS;
        let mask = (1u64 << DIGIT_BITS) - 1;
        let high = m >> (DIGIT_BITS - s); // m * 2^s / 2^32, rounded down
        let (c0, c1, c2) = (
            ((m << s) & mask) as i64,
            (high & mask) as i64,
            (high >> DIGIT_BITS) as i64,
        );
        let d = &mut self.digits;
        if bits >> 63 == 0 {
            d[idx] += c0;
            d[idx + 1] += c1;
            d[idx + 2] += c2;
        } else {
            d[idx] -= c0;
            d[idx + 1] -= c1;
            d[idx + 2] -= c2;
        }
        self.pending += 1;
        if self.pending >= NORMALIZE_EVERY {
            self.normalize();
        }
    }

    /// Adds every value of `other` (associative and commutative).
    pub fn merge(&mut self, other: &ExactSum) {
        self.normalize();
        let mut o = other.clone();
        o.normalize();
        for (a, b) in self.digits.iter_mut().zip(o.digits.iter()) {
            *a += *b;
        }
        self.pos_inf += o.pos_inf;
        self.neg_inf += o.neg_inf;
        self.nan += o.nan;
        self.normalize();
    }

    /// The exact state, for serialization: the digits carried (every digit
    /// but the last in `[0, 2^32)`), then the counts of `+inf`, `-inf` and
    /// NaN values. Equal sums give equal parts.
    pub(crate) fn to_parts(&self) -> (Vec<i64>, [u64; 3]) {
        let mut s = self.clone();
        s.normalize();
        (s.digits.to_vec(), [s.pos_inf, s.neg_inf, s.nan])
    }

    /// The sum of [`ExactSum::to_parts`]; `None` unless the digits are as
    /// it gives them.
    pub(crate) fn from_parts(digits: &[i64], specials: [u64; 3]) -> Option<ExactSum> {
        let carried = digits.len() == DIGITS
            && digits[..DIGITS - 1]
                .iter()
                .all(|d| (0..1i64 << DIGIT_BITS).contains(d))
            // the top digit holds the sign: its magnitude stays far below
            // what i64 arithmetic on it can reach
            && digits[DIGITS - 1].unsigned_abs() < 1 << 40;
        if !carried {
            return None;
        }
        let mut out = ExactSum::default();
        out.digits.copy_from_slice(digits);
        [out.pos_inf, out.neg_inf, out.nan] = specials;
        Some(out)
    }

    /// Propagates carries: every digit but the last ends in `[0, 2^32)`.
    fn normalize(&mut self) {
        let mut carry = 0i64;
        for d in self.digits.iter_mut().take(DIGITS - 1) {
            let v = *d + carry;
            carry = v >> DIGIT_BITS;
            *d = v - (carry << DIGIT_BITS);
        }
        self.digits[DIGITS - 1] += carry;
        self.pending = 0;
    }

    /// The sum rounded once to the nearest `f64`, ties to even (Python's
    /// `math.fsum`). An infinite exact sum gives an infinity; `inf + -inf`
    /// or a NaN input gives NaN.
    pub fn value(&self) -> f64 {
        self.scaled_value(0)
    }

    /// `math.fsum(values) / count`; where the exact sum of finite values is
    /// beyond `f64` but the mean is not (`1e308, 1e308`), the sum is scaled
    /// down by 2^64 before rounding and the quotient scaled back (both
    /// exact), so the mean is finite whenever every value is.
    pub fn mean(&self, count: u64) -> f64 {
        let n = count as f64;
        let sum = self.value();
        if sum.is_finite() || self.nan + self.pos_inf + self.neg_inf > 0 {
            return sum / n;
        }
        const SCALE: u32 = 64;
        self.scaled_value(SCALE) / n * 2f64.powi(SCALE as i32)
    }

    /// The sum times 2^-`down`, rounded once.
    fn scaled_value(&self, down: u32) -> f64 {
        if self.nan > 0 || (self.pos_inf > 0 && self.neg_inf > 0) {
            return f64::NAN;
        }
        if self.pos_inf > 0 {
            return f64::INFINITY;
        }
        if self.neg_inf > 0 {
            return f64::NEG_INFINITY;
        }
        let mut s = self.clone();
        s.normalize();
        let negative = s.digits[DIGITS - 1] < 0;
        if negative {
            for d in s.digits.iter_mut() {
                *d = -*d;
            }
            s.normalize();
        }
        let magnitude = s.magnitude_to_f64(down as u64);
        if negative {
            -magnitude
        } else {
            magnitude
        }
    }

    /// Rounds the (normalized, non-negative) fixed-point value times
    /// 2^-`down` to `f64` (`down` only where the value is far above 2^1023).
    fn magnitude_to_f64(&self, down: u64) -> f64 {
        let d = &self.digits;
        let Some(top) = (0..DIGITS).rev().find(|&i| d[i] != 0) else {
            return 0.0;
        };
        let bit = |i: usize| -> u64 { ((d[i / 32] >> (i % 32)) & 1) as u64 };
        let msb = top * 32 + (63 - (d[top] as u64).leading_zeros() as usize);
        if msb < 53 {
            // exact: a subnormal or the smallest binade, whose bits are M
            let m = (d[0] as u64) | ((d[1] as u64) << 32);
            return f64::from_bits(m);
        }
        let shift = msb - 52;
        let mut mant = 0u64;
        for i in (shift..=msb).rev() {
            mant = (mant << 1) | bit(i);
        }
        let round = bit(shift - 1) == 1;
        let sticky = (0..shift - 1).any(|i| bit(i) == 1);
        let mut exp_bits = (shift as u64 + 1).saturating_sub(down);
        if round && (sticky || mant & 1 == 1) {
            mant += 1;
            if mant == 1 << 53 {
                mant >>= 1;
                exp_bits += 1;
            }
        }
        if exp_bits >= 0x7ff {
            return f64::INFINITY;
        }
        f64::from_bits((exp_bits << 52) | (mant - (1 << 52)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sum(xs: &[f64]) -> f64 {
        let mut s = ExactSum::default();
        xs.iter().for_each(|&x| s.add(x));
        s.value()
    }

    struct Rng(crate::test_rng::XorShift);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0.next()
        }
        fn value(&mut self) -> f64 {
            match self.next() % 5 {
                0 => f64::from_bits(self.next()) % 1e300,
                1 => (self.next() % 1_000_000) as f64 / 1000.0 - 500.0,
                2 => f64::from_bits(self.next() >> 12), // subnormal-ish
                3 => {
                    (self.next() as f64)
                        * if self.next().is_multiple_of(2) {
                            1.0
                        } else {
                            -1.0
                        }
                }
                _ => 1e16 + (self.next() % 7) as f64,
            }
        }
    }

    #[test]
    fn cancellation_and_rounding() {
        assert_eq!(sum(&[1e100, 1.0, -1e100]), 1.0);
        assert_eq!(sum(&[0.1, 0.2, 0.3]), 0.6);
        assert_eq!(sum(&[]), 0.0);
        assert_eq!(sum(&[f64::MAX, f64::MAX]), f64::INFINITY);
        assert_eq!(sum(&[5e-324, 5e-324]), 1e-323);
        assert!(sum(&[f64::INFINITY, f64::NEG_INFINITY]).is_nan());
        // the mean does not overflow where the sum does
        let mut big = ExactSum::default();
        big.add(1e308);
        big.add(1e308);
        assert_eq!(big.mean(2), 1e308);
        big.add(-1e308);
        assert_eq!(big.mean(3).to_bits(), (1e308f64 / 3.0).to_bits());
        let mut m = ExactSum::default();
        [f64::MAX, f64::MAX, f64::MAX]
            .iter()
            .for_each(|&x| m.add(x));
        assert_eq!(m.mean(3), f64::MAX);
        let mut infs = ExactSum::default();
        infs.add(f64::INFINITY);
        infs.add(f64::NEG_INFINITY);
        assert!(infs.mean(2).is_nan());
        assert_eq!(sum(&[1.0, f64::INFINITY]), f64::INFINITY);
        // ties to even: 2^53 + 1 is halfway between 2^53 and 2^53 + 2
        assert_eq!(sum(&[9007199254740992.0, 1.0]), 9007199254740992.0);
        assert_eq!(sum(&[9007199254740992.0, 1.0, 1e-300]), 9007199254740994.0);
    }

    #[test]
    fn merge_in_any_order_equals_one_pass() {
        let mut rng = Rng(crate::test_rng::XorShift(0x9e3779b97f4a7c15));
        for _ in 0..50 {
            let xs: Vec<f64> = (0..300).map(|_| rng.value()).collect();
            let whole = sum(&xs);
            let mut parts: Vec<ExactSum> = xs
                .chunks(1 + (rng.next() % 40) as usize)
                .map(|c| {
                    let mut s = ExactSum::default();
                    c.iter().for_each(|&x| s.add(x));
                    s
                })
                .collect();
            // merge in a scrambled order
            let mut acc = ExactSum::default();
            while !parts.is_empty() {
                let i = (rng.next() % parts.len() as u64) as usize;
                acc.merge(&parts.swap_remove(i));
            }
            assert_eq!(acc.value().to_bits(), whole.to_bits());
        }
    }

    /// Python's `math.fsum` is the definition: compare on random data.
    #[test]
    fn equals_python_fsum() {
        let mut rng = Rng(crate::test_rng::XorShift(12345));
        let cases: Vec<Vec<f64>> = (0..200)
            .map(|i| (0..(1 + i % 60)).map(|_| rng.value()).collect())
            .collect();
        let mut input = String::new();
        for c in &cases {
            let hex: Vec<String> = c.iter().map(|x| format!("{:016x}", x.to_bits())).collect();
            input.push_str(&hex.join(" "));
            input.push('\n');
        }
        let script = "import sys, math, struct\n\
            for line in sys.stdin:\n\
            \x20   xs = [struct.unpack('>d', bytes.fromhex(h))[0] for h in line.split()]\n\
            \x20   try:\n\
            \x20       r = math.fsum(xs)\n\
            \x20   except OverflowError:\n\
            \x20       r = float('inf') if sum(x > 0 for x in xs) else float('-inf')\n\
            \x20   print(struct.pack('>d', r).hex())\n";
        let text = crate::pandas::tests_python(script, &input);
        let mut checked = 0;
        for (c, line) in cases.iter().zip(text.lines()) {
            let want = f64::from_bits(u64::from_str_radix(line.trim(), 16).unwrap());
            let got = sum(c);
            if want.is_infinite() {
                continue; // Python raises on intermediate overflow
            }
            assert_eq!(got.to_bits(), want.to_bits(), "case {c:?}");
            checked += 1;
        }
        assert!(checked > 150, "only {checked} cases compared");
    }
}
