//! Settings of a run, one typed struct.
//!
//! The names and defaults are the reference pipeline step's environment
//! variables (SPEC section 8), so the CLI can be a drop-in replacement:
//! [`Config::from_env_vars`] reads them, flags and the JS options object
//! then override single fields.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// pandas' default NA strings: a CSV field whose whole text is one of these
/// is missing (the empty field is always missing).
pub const DEFAULT_NA_VALUES: &[&str] = &[
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
    "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null",
];

/// The job a run does (the reference's `--job_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobType {
    /// Pass 1 on `train`, pass 2 on `train`, `val`, `test`.
    Training,
    /// Pass 2 on `validation/` with saved fill values.
    Validation,
    /// Pass 2 on `testing/` with saved fill values.
    Testing,
    /// Pass 2 on `calibration/` with saved fill values.
    Calibration,
}

impl JobType {
    /// Parses `training`, `validation`, `testing` or `calibration`.
    pub fn parse(s: &str) -> Result<JobType> {
        match s.trim().to_ascii_lowercase().as_str() {
            "training" => Ok(JobType::Training),
            "validation" => Ok(JobType::Validation),
            "testing" => Ok(JobType::Testing),
            "calibration" => Ok(JobType::Calibration),
            other => Err(Error::config(format!(
                "unknown job type `{other}` (expected training, validation, testing or calibration)"
            ))),
        }
    }

    /// The job type's name.
    pub fn name(self) -> &'static str {
        match self {
            JobType::Training => "training",
            JobType::Validation => "validation",
            JobType::Testing => "testing",
            JobType::Calibration => "calibration",
        }
    }

    /// The splits pass 2 goes over by default.
    pub fn default_splits(self) -> Vec<String> {
        match self {
            JobType::Training => vec!["train".into(), "val".into(), "test".into()],
            other => vec![other.name().to_string()],
        }
    }
}

/// How a column's fill value is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Strategy {
    /// Mean of the non-missing values (numerical).
    Mean,
    /// Exact median (numerical).
    Median,
    /// Most frequent value, ties to the smallest (categorical, text).
    Mode,
    /// A configured constant.
    Constant,
    /// The empty string (text).
    Empty,
}

impl Strategy {
    /// Parses a strategy name, case-insensitively; `None` if unknown.
    pub fn parse(s: &str) -> Option<Strategy> {
        match s.trim().to_ascii_lowercase().as_str() {
            "mean" => Some(Strategy::Mean),
            "median" => Some(Strategy::Median),
            "mode" | "most_frequent" => Some(Strategy::Mode),
            "constant" => Some(Strategy::Constant),
            "empty" => Some(Strategy::Empty),
            _ => None,
        }
    }

    /// The strategy's name.
    pub fn name(self) -> &'static str {
        match self {
            Strategy::Mean => "mean",
            Strategy::Median => "median",
            Strategy::Mode => "mode",
            Strategy::Constant => "constant",
            Strategy::Empty => "empty",
        }
    }
}

/// All settings of a run. `Default` gives the reference's defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Config {
    /// The label column, never imputed (`LABEL_FIELD`, default `target`).
    pub label_field: String,
    /// Columns never imputed (`EXCLUDE_COLUMNS`, comma-separated).
    pub exclude_columns: Vec<String>,
    /// Strategy name for numerical columns (`DEFAULT_NUMERICAL_STRATEGY`, `mean`).
    pub default_numerical_strategy: String,
    /// Strategy name for categorical columns (`DEFAULT_CATEGORICAL_STRATEGY`, `mode`).
    pub default_categorical_strategy: String,
    /// Strategy name for text columns (`DEFAULT_TEXT_STRATEGY`, `mode`).
    pub default_text_strategy: String,
    /// Constant for numerical columns (`NUMERICAL_CONSTANT_VALUE`, `0`).
    pub numerical_constant_value: String,
    /// Constant for categorical columns (`CATEGORICAL_CONSTANT_VALUE`, `Unknown`).
    pub categorical_constant_value: String,
    /// Constant for text columns (`TEXT_CONSTANT_VALUE`, `Unknown`).
    pub text_constant_value: String,
    /// Detect categorical string columns (`AUTO_DETECT_CATEGORICAL`, true).
    pub auto_detect_categorical: bool,
    /// Distinct/non-missing ratio below which a string column is categorical
    /// (`CATEGORICAL_UNIQUE_RATIO_THRESHOLD`, 0.1).
    pub categorical_unique_ratio_threshold: f64,
    /// Replace constants that would read back as missing (`VALIDATE_FILL_VALUES`, true).
    pub validate_fill_values: bool,
    /// Per-column strategy names (`COLUMN_STRATEGY_<column>`), in order given.
    pub column_strategies: Vec<(String, String)>,
    /// Field texts that mean "missing" in CSV/TSV (`NA_VALUES`, comma-separated;
    /// default pandas' list). The empty field is always missing.
    pub na_values: Vec<String>,
    /// Write `__DOT__` in column names as `.` (the reference's streaming output).
    pub rename_dots: bool,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            label_field: "target".into(),
            exclude_columns: Vec::new(),
            default_numerical_strategy: "mean".into(),
            default_categorical_strategy: "mode".into(),
            default_text_strategy: "mode".into(),
            numerical_constant_value: "0".into(),
            categorical_constant_value: "Unknown".into(),
            text_constant_value: "Unknown".into(),
            auto_detect_categorical: true,
            categorical_unique_ratio_threshold: 0.1,
            validate_fill_values: true,
            column_strategies: Vec::new(),
            na_values: DEFAULT_NA_VALUES.iter().map(|s| s.to_string()).collect(),
            rename_dots: false,
        }
    }
}

fn parse_bool(key: &str, value: &str) -> Result<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" => Ok(false),
        _ => Err(Error::config(format!(
            "{key}={value}: expected true or false"
        ))),
    }
}

/// Splits a comma-separated list, dropping empty items.
pub fn split_list(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

impl Config {
    /// Reads the reference's environment variables from `(name, value)`
    /// pairs (e.g. `std::env::vars()`, or the lines of an `env.txt`).
    /// Unknown names are ignored; defaults fill what is not given.
    pub fn from_env_vars<I, K, V>(vars: I) -> Result<Config>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let mut c = Config::default();
        for (k, v) in vars {
            c.set(k.as_ref(), v.as_ref())?;
        }
        Ok(c)
    }

    /// Sets one setting by its environment-variable name. Returns whether the
    /// name was one of ours.
    pub fn set(&mut self, key: &str, value: &str) -> Result<bool> {
        match key {
            "LABEL_FIELD" => self.label_field = value.to_string(),
            "EXCLUDE_COLUMNS" => self.exclude_columns = split_list(value),
            "DEFAULT_NUMERICAL_STRATEGY" => self.default_numerical_strategy = value.into(),
            "DEFAULT_CATEGORICAL_STRATEGY" => self.default_categorical_strategy = value.into(),
            "DEFAULT_TEXT_STRATEGY" => self.default_text_strategy = value.into(),
            "NUMERICAL_CONSTANT_VALUE" => self.numerical_constant_value = value.into(),
            "CATEGORICAL_CONSTANT_VALUE" => self.categorical_constant_value = value.into(),
            "TEXT_CONSTANT_VALUE" => self.text_constant_value = value.into(),
            "AUTO_DETECT_CATEGORICAL" => self.auto_detect_categorical = parse_bool(key, value)?,
            "CATEGORICAL_UNIQUE_RATIO_THRESHOLD" => {
                self.categorical_unique_ratio_threshold = value
                    .trim()
                    .parse::<f64>()
                    .map_err(|_| Error::config(format!("{key}={value}: expected a number")))?
            }
            "VALIDATE_FILL_VALUES" => self.validate_fill_values = parse_bool(key, value)?,
            "NA_VALUES" => self.na_values = value.split(',').map(String::from).collect(),
            "RENAME_DOTS" => self.rename_dots = parse_bool(key, value)?,
            _ => match key.strip_prefix("COLUMN_STRATEGY_") {
                Some(col) if !col.is_empty() => {
                    self.column_strategies.retain(|(c, _)| c != col);
                    self.column_strategies
                        .push((col.to_string(), value.to_string()));
                }
                _ => return Ok(false),
            },
        }
        Ok(true)
    }

    /// Reads `KEY=VALUE` lines (an `env.txt`); blank lines and `#` comments skipped.
    pub fn from_env_text(text: &str) -> Result<Config> {
        let pairs = text
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
            .filter_map(|l| l.split_once('='));
        Config::from_env_vars(pairs)
    }

    /// The strategy name configured for `column`: an exact
    /// `COLUMN_STRATEGY_<column>` match first, then the lower-cased form
    /// (the reference's only form).
    pub fn column_strategy(&self, column: &str) -> Option<&str> {
        let exact = self.column_strategies.iter().find(|(c, _)| c == column);
        let lower = column.to_lowercase();
        exact
            .or_else(|| self.column_strategies.iter().find(|(c, _)| *c == lower))
            .map(|(_, s)| s.as_str())
    }

    /// Whether a column is never imputed (label or excluded).
    pub fn is_skipped(&self, column: &str) -> bool {
        column == self.label_field || self.exclude_columns.iter().any(|c| c == column)
    }

    /// Checks the settings that can be checked without data.
    pub fn validate(&self) -> Result<()> {
        let t = self.categorical_unique_ratio_threshold;
        if !(t.is_finite() && t >= 0.0) {
            return Err(Error::config(format!(
                "CATEGORICAL_UNIQUE_RATIO_THRESHOLD={t}: expected a number >= 0"
            )));
        }
        if crate::pyfloat::parse_python_float(&self.numerical_constant_value).is_none() {
            return Err(Error::config(format!(
                "NUMERICAL_CONSTANT_VALUE={}: not a number",
                self.numerical_constant_value
            )));
        }
        Ok(())
    }

    /// Whether a CSV field's text is one of the NA strings.
    pub fn is_na_text(&self, field: &[u8]) -> bool {
        field.is_empty() || self.na_values.iter().any(|na| na.as_bytes() == field)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_names_and_defaults() {
        let c = Config::from_env_text(
            "DEFAULT_NUMERICAL_STRATEGY=median\nEXCLUDE_COLUMNS=id, other\n\
             COLUMN_STRATEGY_Price=constant\nCOLUMN_STRATEGY_city=mode\nUNRELATED=1\n",
        )
        .unwrap();
        assert_eq!(c.default_numerical_strategy, "median");
        assert_eq!(c.exclude_columns, vec!["id", "other"]);
        assert_eq!(c.label_field, "target");
        // exact name, and the reference's lower-cased form
        assert_eq!(c.column_strategy("Price"), Some("constant"));
        assert_eq!(c.column_strategy("City"), Some("mode"));
        assert_eq!(c.column_strategy("price"), None);
        assert!(c.is_skipped("target") && c.is_skipped("id") && !c.is_skipped("x"));
    }

    #[test]
    fn bad_values_are_errors() {
        assert!(Config::from_env_text("AUTO_DETECT_CATEGORICAL=maybe").is_err());
        assert!(Config::from_env_text("CATEGORICAL_UNIQUE_RATIO_THRESHOLD=x").is_err());
        let c = Config::from_env_text("NUMERICAL_CONSTANT_VALUE=abc").unwrap();
        assert!(c.validate().is_err());
    }

    #[test]
    fn na_values_configurable() {
        let c = Config::default();
        assert!(c.is_na_text(b"NA") && c.is_na_text(b"") && !c.is_na_text(b"na"));
        let c = Config::from_env_text("NA_VALUES=NULL,nan").unwrap();
        assert!(!c.is_na_text(b"NA") && c.is_na_text(b"NULL") && c.is_na_text(b""));
    }
}
