//! The record of a published output: `_shardimpute_manifest.json` lists
//! every file a run wrote (path and size), and `_SUCCESS` (empty, the
//! Hadoop/Spark convention) is written last. An output is complete only
//! when its `_SUCCESS` exists; the manifest lets a later run remove exactly
//! what an earlier one wrote, and nothing else.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// File name of the manifest, at the root of an output.
pub const MANIFEST_NAME: &str = "_shardimpute_manifest.json";
/// File name of the marker of a complete output, written last.
pub const SUCCESS_NAME: &str = "_SUCCESS";

#[derive(Serialize, Deserialize)]
struct Manifest {
    written_by: String,
    files: Vec<Entry>,
}

#[derive(Serialize, Deserialize)]
struct Entry {
    path: String,
    bytes: u64,
}

/// The manifest of an output holding `files` (`(path, size)`, paths
/// relative to the output's root, `/`-separated), sorted by path.
pub fn manifest_json(files: &[(String, u64)]) -> Result<Vec<u8>> {
    let mut files: Vec<Entry> = files
        .iter()
        .map(|(path, bytes)| Entry {
            path: path.clone(),
            bytes: *bytes,
        })
        .collect();
    files.sort_by(|a, b| a.path.cmp(&b.path));
    let m = Manifest {
        written_by: format!("shardimpute {}", env!("CARGO_PKG_VERSION")),
        files,
    };
    let mut out = serde_json::to_vec_pretty(&m)
        .map_err(|e| Error::internal(format!("cannot write the manifest: {e}")))?;
    out.push(b'\n');
    Ok(out)
}

/// The paths a manifest lists. Each must be a plain relative path (no
/// `..`, no root, no empty part), so that removing them never reaches
/// outside the output.
pub fn read_manifest(bytes: &[u8]) -> Result<Vec<String>> {
    let m: Manifest = serde_json::from_slice(bytes)
        .map_err(|e| Error::artifact(format!("not a shardimpute manifest: {e}")))?;
    m.files
        .into_iter()
        .map(|f| {
            if is_plain_relative(&f.path) {
                Ok(f.path)
            } else {
                Err(Error::artifact(format!(
                    "the manifest lists `{}`, which is not a path inside the output",
                    f.path
                )))
            }
        })
        .collect()
}

fn is_plain_relative(path: &str) -> bool {
    !path.is_empty()
        && path
            .split('/')
            .all(|p| !p.is_empty() && p != "." && p != ".." && !p.contains(['\\', '\0']))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manifest_reads_back_sorted() {
        let bytes = manifest_json(&[("val/b.csv".into(), 3), ("train/a.csv".into(), 7)]).unwrap();
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(text.contains("\"bytes\": 7"), "{text}");
        assert_eq!(read_manifest(&bytes).unwrap(), ["train/a.csv", "val/b.csv"]);
    }

    #[test]
    fn a_manifest_may_not_reach_outside_the_output() {
        for bad in ["../x", "/etc/passwd", "a//b", "a/./b", "", "a\\..\\b"] {
            let json = format!(r#"{{"written_by":"x","files":[{{"path":{bad:?},"bytes":1}}]}}"#);
            let e = read_manifest(json.as_bytes()).unwrap_err();
            assert_eq!(e.kind().name(), "artifact", "{bad}");
        }
        assert!(read_manifest(b"{\"files\": 3}").is_err());
    }
}
