//! The artifacts of a run, as `(name, bytes)`: the fill values
//! (`impute_dict.pkl`, `impute_dict.json`), `imputation_summary.json`,
//! and the reference's reports. Every writer returns a `Result`; nothing
//! here touches a file system.

mod dict;
mod manifest;
mod pickle;
mod report;
mod summary;

pub use dict::{dict_to_json, dict_to_pickle, read_dict, with_json_texts};
pub use manifest::{manifest_json, read_manifest, MANIFEST_NAME, SUCCESS_NAME};
pub use report::{report_json, summary_text, utc_timestamp, ReportInput};
pub use summary::summary_json;

/// File name of the pickled fill values.
pub const PICKLE_NAME: &str = "impute_dict.pkl";
/// File name of the JSON fill values.
pub const JSON_NAME: &str = "impute_dict.json";
/// File name of the run summary.
pub const SUMMARY_NAME: &str = "imputation_summary.json";
/// File name of the reference's JSON report.
pub const REPORT_NAME: &str = "imputation_report.json";
/// File name of the summary for people.
pub const SUMMARY_TEXT_NAME: &str = "imputation_summary.txt";

/// Every artifact a run writes, in the order it writes them.
pub const ARTIFACT_NAMES: &[&str] = &[
    PICKLE_NAME,
    JSON_NAME,
    SUMMARY_NAME,
    REPORT_NAME,
    SUMMARY_TEXT_NAME,
];

/// Cells filled per column and split, summed over the shards once (a
/// lookup, not a scan, per column: wide tables stay linear).
pub(crate) struct Filled<'a> {
    counts: std::collections::HashMap<(&'a str, &'a str), u64>,
    /// The splits, in the order of the reports.
    pub splits: Vec<&'a str>,
}

impl<'a> Filled<'a> {
    pub(crate) fn new(reports: &'a [crate::formats::ShardReport]) -> Filled<'a> {
        let mut f = Filled {
            counts: Default::default(),
            splits: Vec::new(),
        };
        for r in reports {
            if !f.splits.contains(&r.split.as_str()) {
                f.splits.push(&r.split);
            }
            for (c, n) in &r.cells_filled {
                *f.counts.entry((c.as_str(), r.split.as_str())).or_default() += n;
            }
        }
        f
    }

    /// Cells of `column` filled in `split`.
    pub(crate) fn get(&self, column: &str, split: &str) -> u64 {
        self.counts.get(&(column, split)).copied().unwrap_or(0)
    }
}

/// Which of the files of an artifacts folder hold saved fill values:
/// `impute_dict.pkl`, else `impute_dict.json`, else none (exact names only).
pub fn dict_file<'a, I: IntoIterator<Item = &'a str>>(names: I) -> Option<&'a str> {
    let names: Vec<&str> = names.into_iter().collect();
    [PICKLE_NAME, JSON_NAME]
        .into_iter()
        .find_map(|want| names.iter().copied().find(|n| *n == want))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dict_file_rule() {
        assert_eq!(
            dict_file(["notes.txt", "impute_dict.json", "impute_dict.pkl"]),
            Some("impute_dict.pkl")
        );
        assert_eq!(dict_file(["impute_dict.json"]), Some("impute_dict.json"));
        assert_eq!(dict_file(["other.pkl", "x.json"]), None);
    }
}
