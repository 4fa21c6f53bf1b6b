//! The zip's checksum: CRC-32 (the reflected polynomial 0xEDB88320).
//!
//! Natively `crc32fast` computes it with the CPU's carry-less multiply. Wasm
//! has none, and there `crc32fast` looks up tables a byte at a time (about
//! 1.6 GB/s in V8). With `simd128`, long inputs take [`sparse`] instead, which
//! needs only loads and XORs (about 8 GB/s in V8; see `docs/PERFORMANCE.md`).

/// The CRC-32 of an entry's data, for [`super::ZipWriter::push`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Crc(pub(super) u32);

impl Crc {
    /// The checksum of `data`.
    pub fn of(data: &[u8]) -> Crc {
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        if data.len() >= sparse::MIN_BYTES {
            return Crc(sparse::crc32(data));
        }
        Crc(crc32fast::hash(data))
    }
}

/// CRC-32 by a sparse multiple of the polynomial, after the method of S.
/// Russell, "Chorba: A novel CRC32 implementation" (arXiv:2412.16398).
///
/// Read the input as 64-bit little-endian words `w[0..n]`, the first word
/// the highest power of x. `Z(x) = x^300 + x^155 + x^117 + x^89 + 1` is a
/// multiple of the CRC-32 polynomial P (a test checks it), and so is
/// `Z(x^64)`. Adding `w[i]` times a power of x times `Z(x^64)` to the input
/// therefore leaves its remainder mod P, its CRC, unchanged: that clears
/// word `i` and XORs it into words `i + 145`, `i + 183`, `i + 211` and `i +
/// 300`. Done for every word but the last 300, front to back, word `i`
/// holds `v[i] = w[i] ^ v[i - 145] ^ v[i - 183] ^ v[i - 211] ^ v[i - 300]`
/// when its turn comes, and the input becomes zeros followed by the last
/// 300 words with what was pushed into them; leading zeros do not change
/// a CRC that starts from 0, so their table CRC (2,400 bytes) is the
/// input's. The CRC's initial value 0xFFFFFFFF is the same as 0 with the
/// first 4 bytes inverted, so it is XORed into the first word.
///
/// Only the last [`RING`] values of `v` are kept (4 KiB), four words at a
/// time; the ring's first four slots are mirrored past its end, so a load
/// of four never wraps.
#[cfg(any(test, all(target_arch = "wasm32", target_feature = "simd128")))]
mod sparse {
    use std::simd::u64x4;

    /// The exponents of `Z(x)` below the top one, `x^300`.
    const TERMS: [usize; 3] = [155, 117, 89];
    /// The top exponent: how far a cleared word reaches, and how many
    /// words are left for the table CRC.
    const FAR: usize = 300;
    /// Where a cleared word goes, in words after it (each at least 4, so
    /// four words can be computed at once).
    const BACK: [usize; 4] = [FAR - TERMS[0], FAR - TERMS[1], FAR - TERMS[2], FAR];
    /// Slots of the ring of `v` (a power of two over `FAR + 4`).
    const RING: usize = 512;
    const MASK: usize = RING - 1;
    /// Below this, `crc32fast` alone: the last 300 words go through its
    /// tables anyway, so a short input would gain little.
    pub(super) const MIN_BYTES: usize = 8 * 4 * FAR;

    fn word(data: &[u8], i: usize) -> u64 {
        u64::from_le_bytes(data[8 * i..8 * i + 8].try_into().expect("8 bytes"))
    }

    /// The CRC-32 of `data` (any length; fastest from [`MIN_BYTES`] on).
    pub(super) fn crc32(data: &[u8]) -> u32 {
        let words = data.len() / 8;
        if words <= FAR {
            return crc32fast::hash(data);
        }
        // words [0, end) are cleared into the ones after them
        let end = words - FAR;
        let mut ring = [0u64; RING + 4];
        let slot = |i: usize, back: usize| (i + RING - back) & MASK;
        let end4 = end & !3;
        for i in (0..end4).step_by(4) {
            let bytes = &data[8 * i..8 * i + 32];
            let mut v = u64x4::from_array(std::array::from_fn(|k| word(bytes, k)));
            if i == 0 {
                v ^= u64x4::from_array([0xFFFF_FFFF, 0, 0, 0]);
            }
            for back in BACK {
                let at = slot(i, back);
                v ^= u64x4::from_slice(&ring[at..at + 4]);
            }
            let at = i & MASK;
            v.copy_to_slice(&mut ring[at..at + 4]);
            if at == 0 {
                v.copy_to_slice(&mut ring[RING..]);
            }
        }
        // what words [0, end) pushed into word `j`
        let pushed = |ring: &[u64], j: usize| {
            BACK.iter()
                .filter(|&&back| j >= back && j - back < end)
                .fold(0, |acc, &back| acc ^ ring[(j - back) & MASK])
        };
        for i in end4..end {
            let mut v = word(data, i) ^ pushed(&ring, i);
            if i == 0 {
                v ^= 0xFFFF_FFFF;
            }
            ring[i & MASK] = v;
        }
        let mut last = [0u8; 8 * FAR];
        for (k, out) in last.chunks_exact_mut(8).enumerate() {
            let j = end + k;
            out.copy_from_slice(&(word(data, j) ^ pushed(&ring, j)).to_le_bytes());
        }
        // a hasher whose register starts at 0 (`crc32fast` inverts it)
        let mut table = crc32fast::Hasher::new_with_initial(0xFFFF_FFFF);
        table.update(&last);
        table.update(&data[8 * words..]);
        table.finalize()
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use crate::test_rng::XorShift;

        /// `x^n mod P`, P = x^32 + 0x04C11DB7 (not reflected).
        fn x_pow_mod_p(n: usize) -> u32 {
            let mul = |a: u32, b: u32| {
                let (mut a, mut b, mut p) = (a as u64, b, 0u64);
                while b != 0 {
                    if b & 1 == 1 {
                        p ^= a;
                    }
                    b >>= 1;
                    a <<= 1;
                    if a >> 32 & 1 == 1 {
                        a ^= 0x1_04C1_1DB7;
                    }
                }
                p as u32
            };
            let (mut result, mut base, mut e) = (1u32, 2u32, n);
            while e > 0 {
                if e & 1 == 1 {
                    result = mul(result, base);
                }
                base = mul(base, base);
                e >>= 1;
            }
            result
        }

        #[test]
        fn z_and_z_of_x64_are_multiples_of_the_polynomial() {
            for scale in [1, 64] {
                let z = [FAR, TERMS[0], TERMS[1], TERMS[2], 0]
                    .iter()
                    .fold(0, |acc, &e| acc ^ x_pow_mod_p(scale * e));
                assert_eq!(z, 0, "Z(x^{scale}) mod P");
            }
            // and a near miss is not (the check can fail)
            let off = [FAR, TERMS[0], TERMS[1] + 1, TERMS[2], 0]
                .iter()
                .fold(0, |acc, &e| acc ^ x_pow_mod_p(e));
            assert_ne!(off, 0);
        }

        #[test]
        fn matches_crc32fast_at_every_length_and_offset() {
            let mut rng = XorShift(7);
            let data: Vec<u8> = (0..64 * 1024).map(|_| rng.next() as u8).collect();
            // every length around the ring's size, the edge and the minimum
            for n in (0..8 * (RING + FAR + 40)).chain([MIN_BYTES, 40_000, data.len()]) {
                assert_eq!(crc32(&data[..n]), crc32fast::hash(&data[..n]), "length {n}");
            }
            for start in 0..16 {
                let part = &data[start..];
                assert_eq!(crc32(part), crc32fast::hash(part), "offset {start}");
            }
        }

        #[test]
        fn matches_crc32fast_on_runs_of_one_byte() {
            for byte in [0u8, 0xFF, b'\n'] {
                let data = vec![byte; 3 * MIN_BYTES + 5];
                assert_eq!(crc32(&data), crc32fast::hash(&data), "{byte}");
            }
        }

        /// CRC-32 a bit at a time, from its definition.
        fn bitwise(data: &[u8]) -> u32 {
            let mut crc = !0u32;
            for &b in data {
                crc ^= u32::from(b);
                for _ in 0..8 {
                    crc = if crc & 1 == 1 {
                        crc >> 1 ^ 0xEDB8_8320
                    } else {
                        crc >> 1
                    };
                }
            }
            !crc
        }

        #[test]
        fn matches_the_definition() {
            assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
            let mut rng = XorShift(11);
            let data: Vec<u8> = (0..3 * MIN_BYTES + 13).map(|_| rng.next() as u8).collect();
            assert_eq!(crc32(&data), bitwise(&data));
            assert_eq!(crate::zip::Crc::of(&data).0, bitwise(&data));
        }
    }
}
