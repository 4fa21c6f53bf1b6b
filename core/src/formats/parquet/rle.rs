//! Parquet's RLE / bit-packing hybrid, the encoding of definition levels
//! and dictionary indices: runs of one repeated value, and groups of 8
//! values packed `bit_width` bits each, least significant bit first.

use crate::formats::push_leb128;

/// Bit-packed groups per run at most: 63, the largest count some readers
/// accept.
const MAX_GROUPS: usize = 63;

/// Reads an unsigned LEB128 number of at most 32 bits at `*at`.
fn varint(data: &[u8], at: &mut usize) -> Result<u32, String> {
    let mut value = 0u64;
    for shift in (0..35).step_by(7) {
        let b = *data
            .get(*at)
            .ok_or("a run header runs past the end of the data")?;
        *at += 1;
        value |= u64::from(b & 0x7f) << shift;
        if b < 0x80 {
            return u32::try_from(value).map_err(|_| "a run header over 32 bits".to_string());
        }
    }
    Err("a run header over 32 bits".into())
}

/// Appends `n` values of `bit_width` bits (at most 32) decoded from the
/// start of `data` to `out`; returns how many bytes they took. Corrupt or
/// short data is an error, never a panic.
pub fn decode(data: &[u8], bit_width: u8, n: usize, out: &mut Vec<u32>) -> Result<usize, String> {
    if bit_width > 32 {
        return Err(format!("bit width {bit_width} (over 32)"));
    }
    let width = usize::from(bit_width);
    let mask = if width == 32 {
        u64::from(u32::MAX)
    } else {
        (1u64 << width) - 1
    };
    let value_bytes = width.div_ceil(8);
    let end = out.len() + n;
    out.reserve(n);
    let mut at = 0;
    while out.len() < end {
        let header = varint(data, &mut at)? as usize;
        let left = end - out.len();
        if header & 1 == 0 {
            let bytes = data
                .get(at..at + value_bytes)
                .ok_or("a repeated run's value runs past the end of the data")?;
            at += value_bytes;
            let mut le = [0u8; 4];
            le[..value_bytes].copy_from_slice(bytes);
            let value = u32::from_le_bytes(le);
            if u64::from(value) > mask {
                return Err(format!("a repeated value {value} wider than {width} bits"));
            }
            let count = header >> 1;
            if count == 0 {
                return Err("an empty repeated run".into());
            }
            out.extend(std::iter::repeat_n(value, count.min(left)));
        } else {
            let values = (header >> 1) * 8;
            let take = values.min(left);
            // the run's bytes; the last run may stop short of its groups,
            // as long as it holds the values still wanted
            let need = (take * width).div_ceil(8);
            let run = data
                .get(at..)
                .filter(|rest| rest.len() >= need)
                .ok_or("a bit-packed run runs past the end of the data")?;
            // loads may read past the run into what follows it (masked
            // off): only the end of `data` needs the slow path
            unpack(run, width, mask, take, out);
            at += (values * width / 8).min(run.len());
        }
    }
    Ok(at)
}

/// Appends the first `n` values of `width` bits packed at the start of
/// `run`, which holds at least `n * width` bits (and may go on with other
/// data).
fn unpack(run: &[u8], width: usize, mask: u64, n: usize, out: &mut Vec<u32>) {
    out.reserve(n);
    let mut i = 0;
    if (1..=16).contains(&width) {
        // a group of 8 values is `width` bytes: two 8-byte loads each
        // (16 bytes) while that stays within the run
        let groups = if run.len() >= 16 {
            ((run.len() - 16) / width + 1).min(n / 8)
        } else {
            0
        };
        for g in 0..groups {
            let at = g * width;
            let word = |k: usize| {
                let bytes: [u8; 8] = run[k..k + 8].try_into().unwrap_or_default();
                u64::from_le_bytes(bytes)
            };
            // two 64-bit halves (in wasm a 128-bit shift is a call)
            let (low, high) = (word(at), word(at + 8));
            out.extend((0..8).map(|j| {
                let bit = j * width;
                let v = match bit {
                    0 => low,
                    1..64 => (low >> bit) | (high << (64 - bit)),
                    _ => high >> (bit - 64),
                };
                (v & mask) as u32
            }));
        }
        i = groups * 8;
    }
    // then whole 8-byte loads while they stay within the run (a value
    // starts at most 7 bits into its first byte and is at most 32 bits)
    let fast = match width {
        0 => n,
        _ if run.len() >= 8 => ((run.len() - 8) * 8 / width + 1).min(n),
        _ => 0,
    };
    out.extend((i.min(fast)..fast).map(|i| {
        let bit = i * width;
        let (byte, shift) = (bit / 8, bit % 8);
        let word = match run.get(byte..byte + 8) {
            Some(w) => u64::from_le_bytes(w.try_into().unwrap_or_default()),
            None => 0,
        };
        ((word >> shift) & mask) as u32
    }));
    for i in i.max(fast)..n {
        let bit = i * width;
        let (byte, shift) = (bit / 8, bit % 8);
        let word = run
            .iter()
            .skip(byte)
            .take(8)
            .rev()
            .fold(0u64, |w, &b| (w << 8) | u64::from(b));
        out.push(((word >> shift) & mask) as u32);
    }
}

/// Appends `values`, `bit_width` bits each (at most 32, wide enough for
/// every value), encoded: a value repeated 8 times or more as a repeated
/// run, the others bit-packed by groups of 8 (the last group padded with
/// zeros).
pub fn encode(values: &[u32], bit_width: u8, out: &mut Vec<u8>) {
    debug_assert!(bit_width <= 32);
    debug_assert!(values
        .iter()
        .all(|&v| bit_width == 32 || v >> bit_width == 0));
    let n = values.len();
    let repeats_8_at =
        |i: usize| i + 8 <= n && values[i + 1..i + 8].iter().all(|&v| v == values[i]);
    let mut i = 0;
    while i < n {
        if repeats_8_at(i) {
            let run = values[i..].iter().take_while(|&&v| v == values[i]).count();
            push_leb128(out, (run as u64) << 1);
            out.extend_from_slice(&values[i].to_le_bytes()[..usize::from(bit_width).div_ceil(8)]);
            i += run;
            continue;
        }
        // groups of 8 up to the next repeated run (or the end)
        let mut groups = 1;
        while groups < MAX_GROUPS && i + groups * 8 < n && !repeats_8_at(i + groups * 8) {
            groups += 1;
        }
        push_leb128(out, ((groups as u64) << 1) | 1);
        let (mut acc, mut bits) = (0u64, 0u32);
        for k in 0..groups * 8 {
            acc |= u64::from(values.get(i + k).copied().unwrap_or(0)) << bits;
            bits += u32::from(bit_width);
            while bits >= 8 {
                out.push(acc as u8);
                acc >>= 8;
                bits -= 8;
            }
        }
        i = (i + groups * 8).min(n);
    }
}

/// The bits an index below `len` needs (at least 1).
pub fn bit_width_for(len: usize) -> u8 {
    let max = len.saturating_sub(1) as u64;
    (64 - max.leading_zeros()).max(1) as u8
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn decodes_the_format_documents_example() {
        // bit width 3, values 0..=7 bit-packed: one group
        let packed = [0b0000_0011, 0b1000_1000, 0b1100_0110, 0b1111_1010];
        let mut out = Vec::new();
        assert_eq!(decode(&packed, 3, 8, &mut out), Ok(4));
        assert_eq!(out, [0, 1, 2, 3, 4, 5, 6, 7]);
        // a repeated run of 300 fives, then two bit-packed ones
        let mut out = Vec::new();
        let data = [0xd8, 0x04, 5, 0x03, 0b0000_0011];
        assert_eq!(decode(&data, 3, 302, &mut out), Ok(5));
        assert_eq!(&out[..300], &[5; 300][..]);
        assert_eq!(&out[300..], [3, 0]);
    }

    #[test]
    fn corrupt_data_is_an_error_not_a_panic() {
        let mut out = Vec::new();
        assert!(decode(&[], 1, 1, &mut out).is_err());
        assert!(decode(&[0x02], 8, 1, &mut out).is_err()); // no value byte
        assert!(decode(&[0x00], 8, 1, &mut out).is_err()); // empty run
        assert!(decode(&[0x03, 0xff], 16, 8, &mut out).is_err()); // short
        assert!(decode(&[0x02, 9], 3, 1, &mut out).is_err()); // too wide
        assert!(decode(&[0xff; 6], 1, 1, &mut out).is_err()); // header
        assert!(decode(&[0x02, 1], 33, 1, &mut out).is_err());
    }

    #[test]
    fn bit_widths_cover_the_largest_index() {
        let cases = [(0, 1), (1, 1), (2, 1), (3, 2), (4, 2), (5, 3), (257, 9)];
        for (len, bits) in cases {
            assert_eq!(bit_width_for(len), bits, "len {len}");
        }
    }

    fn runs() -> impl Strategy<Value = (u8, Vec<u32>)> {
        (0u8..=32).prop_flat_map(|w| {
            let max = if w == 32 { u32::MAX } else { (1u32 << w) - 1 };
            let run = (0..=max, 1usize..40);
            (
                Just(w),
                proptest::collection::vec(run, 0..40).prop_map(|rs| {
                    rs.into_iter()
                        .flat_map(|(v, k)| std::iter::repeat_n(v, k))
                        .collect()
                }),
            )
        })
    }

    proptest! {
        #[test]
        fn encoding_then_decoding_gives_the_values_back((w, values) in runs()) {
            let mut data = vec![7u8]; // not at the start of the buffer
            encode(&values, w, &mut data);
            let end = data.len();
            data.extend_from_slice(&[0xee; 3]); // and followed by more
            let mut back = vec![1];
            let used = decode(&data[1..], w, values.len(), &mut back).unwrap();
            prop_assert_eq!(used, end - 1);
            prop_assert_eq!(&back[1..], &values[..]);
        }
    }
}
