//! The tests' random numbers: xorshift64, seeded, so every run draws the
//! same values.

/// Marsaglia's xorshift64 (shifts 13, 7, 17). The seed must not be 0.
pub(crate) struct XorShift(pub(crate) u64);

impl XorShift {
    /// The next value.
    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}
