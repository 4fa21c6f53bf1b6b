//! A small zip reader, for a dataset sent as one archive (the edge worker's
//! request body).
//!
//! Reads the central directory of an archive held in memory, then one entry
//! at a time, so only the archive and the entry being read are in memory.
//! Stored and deflate entries only; zip64 sizes and offsets are read. Every
//! size, offset and CRC-32 is checked against the archive: a malformed or
//! hostile archive is an error naming the entry, never a panic, and an
//! entry never inflates past the size its directory record declares.

use std::io::Read;

use crate::{Error, Result};

const LOCAL: u32 = 0x0403_4b50;
const CENTRAL: u32 = 0x0201_4b50;
const END: u32 = 0x0605_4b50;
const END64: u32 = 0x0606_4b50;
const LOCATOR64: u32 = 0x0706_4b50;
/// The end record's fixed part; a comment of up to 65,535 bytes may follow.
const END_LEN: usize = 22;

/// One file of an archive, as its central directory record says.
#[derive(Debug, Clone, PartialEq)]
pub struct ZipEntry {
    /// The path inside the archive (`train/part-00000.csv`).
    pub name: String,
    /// The size of its content once read.
    pub size: u64,
    compressed: u64,
    method: u16,
    crc: u32,
    local: u64,
}

/// The files of an archive (directories left out), in directory order.
pub fn entries(zip: &[u8]) -> Result<Vec<ZipEntry>> {
    let (count, mut at) = directory(zip)?;
    let mut out = Vec::new();
    for i in 0..count {
        let what = || format!("central directory record {}", i + 1);
        let rec = slice(zip, at, 46).ok_or_else(|| Error::zip(format!("{} is cut off", what())))?;
        if u32_at(rec, 0) != CENTRAL {
            return Err(Error::zip(format!("{} has a bad signature", what())));
        }
        let (name_len, extra_len, comment_len) = (
            u16_at(rec, 28) as usize,
            u16_at(rec, 30) as usize,
            u16_at(rec, 32) as usize,
        );
        let name = slice(zip, at + 46, name_len)
            .ok_or_else(|| Error::zip(format!("{} is cut off", what())))?;
        let name = String::from_utf8_lossy(name).into_owned();
        let extra = slice(zip, at + 46 + name_len, extra_len)
            .ok_or_else(|| Error::zip(format!("{name}: its directory record is cut off")))?;
        let flags = u16_at(rec, 8);
        let mut entry = ZipEntry {
            size: u64::from(u32_at(rec, 24)),
            compressed: u64::from(u32_at(rec, 20)),
            method: u16_at(rec, 10),
            crc: u32_at(rec, 16),
            local: u64::from(u32_at(rec, 42)),
            name,
        };
        zip64_extra(&mut entry, extra)?;
        at += 46 + name_len + extra_len + comment_len;
        if entry.name.ends_with('/') {
            continue;
        }
        if flags & 1 != 0 {
            return Err(Error::zip("encrypted entries are not supported").in_file(entry.name));
        }
        if entry.method != 0 && entry.method != 8 {
            let m = entry.method;
            return Err(Error::zip(format!(
                "compression method {m} is not supported (stored or deflate only)"
            ))
            .in_file(entry.name));
        }
        out.push(entry);
    }
    Ok(out)
}

/// The content of one entry of `zip`, checked against its size and CRC-32.
pub fn read(zip: &[u8], entry: &ZipEntry) -> Result<Vec<u8>> {
    let name = &entry.name;
    let bad = |m: &str| Error::zip(m.to_string()).in_file(name.clone());
    let local = usize::try_from(entry.local).map_err(|_| bad("offset out of range"))?;
    let head = slice(zip, local, 30).ok_or_else(|| bad("its local header is past the end"))?;
    if u32_at(head, 0) != LOCAL {
        return Err(bad("its local header has a bad signature"));
    }
    let start = local + 30 + u16_at(head, 26) as usize + u16_at(head, 28) as usize;
    let len = usize::try_from(entry.compressed).map_err(|_| bad("size out of range"))?;
    let data = slice(zip, start, len).ok_or_else(|| bad("its data runs past the end"))?;
    let size = usize::try_from(entry.size).map_err(|_| bad("size out of range"))?;
    let out = match entry.method {
        0 => data.to_vec(),
        _ => {
            // never more than declared: read one byte past it to tell
            let mut out = Vec::with_capacity(size.min(data.len().saturating_mul(4)));
            flate2::read::DeflateDecoder::new(data)
                .take(entry.size.saturating_add(1))
                .read_to_end(&mut out)
                .map_err(|e| bad(&format!("cannot inflate: {e}")))?;
            out
        }
    };
    if out.len() != size {
        return Err(bad(&format!(
            "holds {} bytes, its directory record says {size}",
            out.len()
        )));
    }
    if crc32fast::hash(&out) != entry.crc {
        return Err(bad("CRC-32 mismatch"));
    }
    Ok(out)
}

/// The entry count and the central directory's offset, from the end records.
fn directory(zip: &[u8]) -> Result<(u64, usize)> {
    let from = zip.len().saturating_sub(END_LEN + 0xFFFF);
    let end = (from..=zip.len().saturating_sub(END_LEN))
        .rev()
        .find(|&i| u32_at(&zip[i..], 0) == END)
        .filter(|_| zip.len() >= END_LEN)
        .ok_or_else(|| Error::zip("no end of central directory record (not a zip archive?)"))?;
    let rec = &zip[end..];
    let mut count = u64::from(u16_at(rec, 10));
    let mut offset = u64::from(u32_at(rec, 16));
    if count == 0xFFFF || offset == 0xFFFF_FFFF {
        let loc = end
            .checked_sub(20)
            .and_then(|l| slice(zip, l, 20))
            .filter(|l| u32_at(l, 0) == LOCATOR64)
            .ok_or_else(|| Error::zip("zip64 end locator missing"))?;
        let at = usize::try_from(u64_at(loc, 8)).unwrap_or(usize::MAX);
        let rec64 = slice(zip, at, 56)
            .filter(|r| u32_at(r, 0) == END64)
            .ok_or_else(|| Error::zip("zip64 end record missing"))?;
        count = u64_at(rec64, 32);
        offset = u64_at(rec64, 48);
    }
    let offset = usize::try_from(offset)
        .ok()
        .filter(|&o| o <= zip.len())
        .ok_or_else(|| Error::zip("the central directory starts past the end"))?;
    // each record is at least 46 bytes: a larger count is a lie
    if count > (zip.len() / 46) as u64 {
        return Err(Error::zip(format!(
            "{count} entries cannot fit in {} bytes",
            zip.len()
        )));
    }
    Ok((count, offset))
}

/// Sizes and offset the directory record left at their 32-bit maximum.
fn zip64_extra(entry: &mut ZipEntry, mut extra: &[u8]) -> Result<()> {
    while extra.len() >= 4 {
        let (id, len) = (u16_at(extra, 0), u16_at(extra, 2) as usize);
        let Some(body) = slice(extra, 4, len) else {
            return Err(Error::zip("an extra field is cut off").in_file(entry.name.clone()));
        };
        if id == 1 {
            let mut fields = body.chunks_exact(8).map(|c| u64_at(c, 0));
            let mut next = |v: &mut u64| {
                if *v == 0xFFFF_FFFF {
                    match fields.next() {
                        Some(x) => *v = x,
                        None => return Err(()),
                    }
                }
                Ok(())
            };
            next(&mut entry.size)
                .and_then(|_| next(&mut entry.compressed))
                .and_then(|_| next(&mut entry.local))
                .map_err(|_| {
                    Error::zip("its zip64 extra field is too short").in_file(entry.name.clone())
                })?;
        }
        extra = &extra[4 + len..];
    }
    Ok(())
}

fn slice(b: &[u8], at: usize, len: usize) -> Option<&[u8]> {
    b.get(at..at.checked_add(len)?)
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    slice(b, at, 2).map_or(0, |s| u16::from_le_bytes([s[0], s[1]]))
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    slice(b, at, 4).map_or(0, |s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    slice(b, at, 8).map_or(0, |s| {
        let mut a = [0u8; 8];
        a.copy_from_slice(s);
        u64::from_le_bytes(a)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zip::ZipWriter;
    use std::process::Command;

    fn ours(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut z = ZipWriter::new();
        let mut out = Vec::new();
        for (n, d) in entries {
            out.extend(z.add(n, d));
        }
        out.extend(z.finish());
        out
    }

    fn read_all(zip: &[u8]) -> Result<Vec<(String, Vec<u8>)>> {
        entries(zip)?
            .iter()
            .map(|e| Ok((e.name.clone(), read(zip, e)?)))
            .collect()
    }

    #[test]
    fn reads_what_our_writer_writes() {
        let big: Vec<u8> = (0..70_000u32).map(|i| (i % 251) as u8).collect();
        let files: Vec<(&str, &[u8])> =
            vec![("train/a.csv", b"x,y\n1,\n"), ("b", &big), ("e", b"")];
        let got = read_all(&ours(&files)).unwrap();
        let want: Vec<(String, Vec<u8>)> = files
            .iter()
            .map(|(n, d)| (n.to_string(), d.to_vec()))
            .collect();
        assert_eq!(got, want);
    }

    /// Python's zipfile writes deflated entries, a directory and a comment.
    #[test]
    fn reads_deflate_from_python() {
        let script = "import io, sys, zipfile\n\
            b = io.BytesIO()\n\
            with zipfile.ZipFile(b, 'w', zipfile.ZIP_DEFLATED) as z:\n\
            \x20   z.writestr('data/', '')\n\
            \x20   z.writestr('data/train/part-00000.csv', 'a,b\\n' + '1,2\\n' * 5000)\n\
            \x20   z.writestr(zipfile.ZipInfo('data/s.txt'), 'stored')\n\
            \x20   z.comment = b'hello'\n\
            sys.stdout.buffer.write(b.getvalue())";
        let out = Command::new("python3")
            .args(["-c", script])
            .output()
            .unwrap();
        assert!(out.status.success());
        let got = read_all(&out.stdout).unwrap();
        assert_eq!(got.len(), 2, "the directory is left out");
        assert_eq!(got[0].0, "data/train/part-00000.csv");
        assert_eq!(
            got[0].1,
            format!("a,b\n{}", "1,2\n".repeat(5000)).into_bytes()
        );
        assert_eq!(got[1], ("data/s.txt".to_string(), b"stored".to_vec()));
    }

    #[test]
    fn errors_name_the_entry() {
        let mut zip = ours(&[("train/a.csv", b"hello")]);
        // a flipped content byte: the CRC-32 check names the entry
        let at = zip.windows(5).position(|w| w == b"hello").unwrap();
        zip[at] = b'j';
        let e = read_all(&zip).unwrap_err();
        assert_eq!(e.to_string(), "train/a.csv: invalid zip: CRC-32 mismatch");
        assert_eq!(e.kind().name(), "zip");
        assert!(entries(b"not a zip at all, just some text here")
            .unwrap_err()
            .to_string()
            .contains("no end of central directory"));
    }

    /// Every truncation and every single-byte change of a small archive is
    /// read or refused, never a panic.
    #[test]
    fn hostile_archives_never_panic() {
        let zip = ours(&[("a.csv", b"x\n1\n"), ("b.csv", b"y\n2\n")]);
        for n in 0..zip.len() {
            let _ = read_all(&zip[..n]);
            for v in [0u8, 0xFF, 0x7F] {
                let mut z = zip.clone();
                z[n] = v;
                let _ = read_all(&z);
            }
        }
    }
}
