//! A streaming zip writer for the output of a run (the web app's download).
//!
//! Entries are stored (shards are already compressed where they should be),
//! each written in one piece as it finishes: [`ZipWriter::add`] returns the
//! bytes to append for an entry, [`ZipWriter::finish`] the central directory
//! to append last. Nothing is kept but one small record per entry, so the
//! archive can be streamed to disk whatever its size. Sizes and offsets past
//! 4 GiB, or more than 65,535 entries, use zip64 records. Timestamps are
//! fixed (1980-01-01), so the same outputs give the same archive bytes.

mod crc;

pub use crc::Crc;

/// Past this, a size or offset needs zip64.
const LIMIT_32: u64 = 0xFFFF_FFFF;
/// Past this, the entry count needs zip64.
const LIMIT_16: u64 = 0xFFFF;
/// General purpose flag: names are UTF-8.
const FLAG_UTF8: u16 = 1 << 11;
/// MS-DOS date of 1980-01-01 (time is 00:00).
const DOS_DATE: u16 = (1 << 5) | 1;
/// Every entry's data starts at a multiple of this in the archive: a
/// shard's bytes and their copy in the archive are then equally aligned,
/// which JavaScript engines copy 8 bytes at a time out of shared wasm
/// memory (byte by byte otherwise: V8 took 0.1 s of a 294 MB zip).
pub const ALIGN: u64 = 8;
/// Bytes of the alignment extra field before its padding: the field of
/// Android's zipalign (ID 0xD935: the alignment as a u16, then zeros),
/// which readers skip as any unknown field.
const ALIGN_FIELD: usize = 6;

struct Entry {
    name: String,
    crc: u32,
    size: u64,
    offset: u64,
}

/// Builds a zip archive entry by entry, handing out the bytes to append.
pub struct ZipWriter {
    entries: Vec<Entry>,
    offset: u64,
    limit: u64,
}

impl Default for ZipWriter {
    fn default() -> Self {
        ZipWriter::new()
    }
}

impl ZipWriter {
    /// An empty archive.
    pub fn new() -> ZipWriter {
        ZipWriter {
            entries: Vec::new(),
            offset: 0,
            limit: LIMIT_32,
        }
    }

    /// Bytes handed out so far (the archive's size before the next append).
    pub fn len(&self) -> u64 {
        self.offset
    }

    /// True before the first entry.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The bytes to append for a stored entry `name` holding `data`.
    pub fn add(&mut self, name: &str, data: &[u8]) -> Vec<u8> {
        let mut out = self.push(name, data.len() as u64, Crc::of(data));
        out.extend_from_slice(data);
        out
    }

    /// The local header of a stored entry `name` of `size` bytes with
    /// checksum `crc` ([`Crc::of`], computed wherever the data is made);
    /// append it, then the data. [`ZipWriter::add`] in two steps, so the
    /// checksum pass over a large entry can run on another thread and the
    /// data need not be copied behind its header.
    pub fn push(&mut self, name: &str, size: u64, crc: Crc) -> Vec<u8> {
        let Crc(crc) = crc;
        let zip64 = size >= self.limit;
        let mut out = Vec::with_capacity(64 + name.len());
        put32(&mut out, 0x0403_4b50);
        put16(&mut out, if zip64 { 45 } else { 20 });
        put16(&mut out, FLAG_UTF8);
        put16(&mut out, 0); // stored
        put16(&mut out, 0); // time
        put16(&mut out, DOS_DATE);
        put32(&mut out, crc);
        let small = if zip64 { LIMIT_32 as u32 } else { size as u32 };
        put32(&mut out, small);
        put32(&mut out, small);
        put16(&mut out, name.len() as u16);
        // the extra fields: zip64 sizes when needed, then padding up to
        // where the data starts at a multiple of ALIGN in the archive
        let zip64_len = if zip64 { 20 } else { 0 };
        let unpadded = self.offset + (30 + name.len() + zip64_len + ALIGN_FIELD) as u64;
        let pad = (ALIGN - unpadded % ALIGN) % ALIGN;
        put16(&mut out, (zip64_len + ALIGN_FIELD) as u16 + pad as u16);
        out.extend_from_slice(name.as_bytes());
        if zip64 {
            put16(&mut out, 0x0001);
            put16(&mut out, 16);
            put64(&mut out, size);
            put64(&mut out, size);
        }
        put16(&mut out, 0xD935);
        put16(&mut out, 2 + pad as u16);
        put16(&mut out, ALIGN as u16);
        out.resize(out.len() + pad as usize, 0);
        self.entries.push(Entry {
            name: name.to_string(),
            crc,
            size,
            offset: self.offset,
        });
        self.offset += out.len() as u64 + size;
        out
    }

    /// For the zip of a run's output: the manifest of every entry so far
    /// and `_SUCCESS`, as in a published output folder, then the central
    /// directory. Append last.
    pub fn finish_output(mut self) -> crate::Result<Vec<u8>> {
        let files: Vec<(String, u64)> = self
            .entries
            .iter()
            .map(|e| (e.name.clone(), e.size))
            .collect();
        let mut out = self.add(
            crate::MANIFEST_NAME,
            &crate::artifacts::manifest_json(&files)?,
        );
        out.extend(self.add(crate::SUCCESS_NAME, b""));
        out.extend(self.finish());
        Ok(out)
    }

    /// The central directory (and zip64 end records when needed): append last.
    pub fn finish(self) -> Vec<u8> {
        let mut out = Vec::new();
        let start = self.offset;
        for e in &self.entries {
            let big_size = e.size >= self.limit;
            let big_offset = e.offset >= self.limit;
            let mut extra = Vec::new();
            if big_size {
                put64(&mut extra, e.size);
                put64(&mut extra, e.size);
            }
            if big_offset {
                put64(&mut extra, e.offset);
            }
            let zip64 = !extra.is_empty();
            put32(&mut out, 0x0201_4b50);
            put16(&mut out, 45); // made by: zip spec 4.5
            put16(&mut out, if zip64 { 45 } else { 20 });
            put16(&mut out, FLAG_UTF8);
            put16(&mut out, 0);
            put16(&mut out, 0);
            put16(&mut out, DOS_DATE);
            put32(&mut out, e.crc);
            let small = if big_size {
                LIMIT_32 as u32
            } else {
                e.size as u32
            };
            put32(&mut out, small);
            put32(&mut out, small);
            put16(&mut out, e.name.len() as u16);
            put16(&mut out, if zip64 { 4 + extra.len() as u16 } else { 0 });
            put16(&mut out, 0); // comment
            put16(&mut out, 0); // disk
            put16(&mut out, 0); // internal attributes
            put32(&mut out, 0o100644 << 16); // a regular file, rw-r--r--
            put32(
                &mut out,
                if big_offset {
                    LIMIT_32 as u32
                } else {
                    e.offset as u32
                },
            );
            out.extend_from_slice(e.name.as_bytes());
            if zip64 {
                put16(&mut out, 0x0001);
                put16(&mut out, extra.len() as u16);
                out.extend_from_slice(&extra);
            }
        }
        let count = self.entries.len() as u64;
        let dir_size = out.len() as u64;
        let zip64 = count >= LIMIT_16.min(self.limit) || start >= self.limit;
        if zip64 {
            let end64 = start + dir_size;
            put32(&mut out, 0x0606_4b50);
            put64(&mut out, 44);
            put16(&mut out, 45);
            put16(&mut out, 45);
            put32(&mut out, 0);
            put32(&mut out, 0);
            put64(&mut out, count);
            put64(&mut out, count);
            put64(&mut out, dir_size);
            put64(&mut out, start);
            put32(&mut out, 0x0706_4b50);
            put32(&mut out, 0);
            put64(&mut out, end64);
            put32(&mut out, 1);
        }
        put32(&mut out, 0x0605_4b50);
        put16(&mut out, 0);
        put16(&mut out, 0);
        let small_count = if zip64 { LIMIT_16 as u16 } else { count as u16 };
        put16(&mut out, small_count);
        put16(&mut out, small_count);
        put32(
            &mut out,
            if zip64 {
                LIMIT_32 as u32
            } else {
                dir_size as u32
            },
        );
        put32(&mut out, if zip64 { LIMIT_32 as u32 } else { start as u32 });
        put16(&mut out, 0);
        out
    }
}

fn put16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_le_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    fn build(limit: u64, entries: &[(&str, Vec<u8>)]) -> Vec<u8> {
        let mut z = ZipWriter::new();
        z.limit = limit;
        let mut out = Vec::new();
        for (name, data) in entries {
            let len_before = z.len();
            assert_eq!(len_before, out.len() as u64);
            out.extend(z.add(name, data));
        }
        out.extend(z.finish());
        out
    }

    /// What a Python `script` prints, given the archive's path as its
    /// argument; the script must succeed.
    fn python(zip: &[u8], script: &str) -> Vec<u8> {
        // one folder per call: tests run in parallel
        static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let call = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("shardimpute-zip-{}-{call}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("out.zip");
        std::fs::write(&path, zip).unwrap();
        let out = Command::new("python3")
            .args(["-c", script, path.to_str().unwrap()])
            .output()
            .expect("python3 runs");
        std::fs::remove_dir_all(&dir).ok();
        assert!(
            out.status.success(),
            "python rejected the archive: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    /// Python's zipfile reads the archive back: names, bytes, CRCs.
    fn python_reads(zip: &[u8], entries: &[(&str, Vec<u8>)]) {
        let script = "import sys, zipfile, json\n\
            z = zipfile.ZipFile(sys.argv[1])\n\
            assert z.testzip() is None\n\
            print(json.dumps([[i.filename, z.read(i).hex(), i.compress_type] for i in z.infolist()]))";
        let out = python(zip, script);
        let got: Vec<(String, String, u32)> = serde_json::from_slice(&out).unwrap();
        assert_eq!(got.len(), entries.len());
        for ((name, hex, method), (want_name, want_data)) in got.iter().zip(entries) {
            assert_eq!(name, want_name);
            assert_eq!(*method, 0, "stored");
            let want_hex: String = want_data.iter().map(|b| format!("{b:02x}")).collect();
            assert_eq!(hex, &want_hex, "bytes of {name}");
        }
    }

    fn sample() -> Vec<(&'static str, Vec<u8>)> {
        vec![
            ("train/part-00000.csv", b"a,b\n1,2\n".to_vec()),
            (
                "val/part-00000.parquet",
                (0..=255u8).cycle().take(5000).collect(),
            ),
            ("model_artifacts/impute_dict.json", b"{}".to_vec()),
            ("empty/\u{e9}t\u{e9}.csv", Vec::new()),
        ]
    }

    #[test]
    fn python_reads_a_plain_archive() {
        let entries = sample();
        python_reads(&build(LIMIT_32, &entries), &entries);
    }

    #[test]
    fn python_reads_zip64_records() {
        // A tiny limit forces every zip64 path: sizes, offsets and the end records.
        let entries = sample();
        let zip = build(8, &entries);
        assert!(zip.windows(4).any(|w| w == [0x50, 0x4b, 0x06, 0x06]));
        python_reads(&zip, &entries);
    }

    #[test]
    fn header_then_data_equals_add() {
        for limit in [LIMIT_32, 8] {
            let (mut one, mut two) = (ZipWriter::new(), ZipWriter::new());
            one.limit = limit;
            two.limit = limit;
            let (mut a, mut b) = (Vec::new(), Vec::new());
            for (name, data) in sample() {
                a.extend(one.add(name, &data));
                b.extend(two.push(name, data.len() as u64, Crc::of(&data)));
                b.extend_from_slice(&data);
                assert_eq!(one.len(), two.len());
            }
            a.extend(one.finish());
            b.extend(two.finish());
            assert_eq!(a, b, "limit {limit}");
        }
    }

    #[test]
    fn every_entry_s_data_starts_at_a_multiple_of_8() {
        // where the data starts, found as Python's zipfile finds it (the
        // local header's offset, name and extra lengths), and its bytes
        for limit in [LIMIT_32, 8] {
            let entries = sample();
            let zip = build(limit, &entries);
            let script = "import sys, zipfile, struct\n\
                data = open(sys.argv[1], 'rb').read()\n\
                for i in zipfile.ZipFile(sys.argv[1]).infolist():\n\
                \x20   n, e = struct.unpack('<HH', data[i.header_offset + 26:i.header_offset + 30])\n\
                \x20   print(i.header_offset + 30 + n + e)";
            let starts: Vec<usize> = String::from_utf8(python(&zip, script))
                .unwrap()
                .lines()
                .map(|l| l.parse().unwrap())
                .collect();
            assert_eq!(starts.len(), entries.len());
            for (start, (name, data)) in starts.iter().zip(&entries) {
                assert_eq!(start % 8, 0, "{name} starts at {start} (limit {limit})");
                assert_eq!(&zip[*start..*start + data.len()], &data[..], "{name}");
            }
        }
    }

    #[test]
    fn same_entries_same_bytes() {
        let entries = sample();
        assert_eq!(build(LIMIT_32, &entries), build(LIMIT_32, &entries));
    }
}
