//! Settings of a run: typed, parsed once, named in one table.
//!
//! The names and defaults are the reference step's environment variables
//! (SPEC section 8), so the CLI is a drop-in replacement. [`SETTINGS`] maps
//! every setting to its environment variable, its command-line flag, its
//! JavaScript name and its key in the artifacts, so no front end keeps its
//! own list.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::pandas::{self, DEFAULT_NA_VALUES};

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
            other => Err(Error::settings(format!(
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
    #[serde(alias = "most_frequent")]
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

/// How a setting's value is written on a command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlagKind {
    /// `--flag VALUE`.
    Value,
    /// `--flag` alone means true.
    Switch,
    /// `--flag COLUMN=VALUE`, repeatable; the environment variable is
    /// `<env>` followed by the column name.
    PerColumn,
}

/// One setting's names everywhere it can be given.
#[derive(Debug, Clone, Copy)]
pub struct Setting {
    /// The environment variable (the reference's name; a prefix for
    /// [`FlagKind::PerColumn`]).
    pub env: &'static str,
    /// The command-line flag, without `--`.
    pub flag: &'static str,
    /// The JavaScript name (camelCase).
    pub js: &'static str,
    /// The key in the artifacts (snake_case): the [`Settings`] field.
    pub key: &'static str,
    /// How the flag takes its value.
    pub kind: FlagKind,
    /// The placeholder in `--help`.
    pub value_name: &'static str,
    /// One line of help, with the default.
    pub help: &'static str,
}

const fn setting(
    env: &'static str,
    flag: &'static str,
    js: &'static str,
    key: &'static str,
    kind: FlagKind,
    value_name: &'static str,
    help: &'static str,
) -> Setting {
    Setting {
        env,
        flag,
        js,
        key,
        kind,
        value_name,
        help,
    }
}

use FlagKind::{PerColumn, Switch, Value};

/// Every setting: environment variable, flag, JavaScript name, artifact key.
#[rustfmt::skip]
pub const SETTINGS: &[Setting] = &[
    setting("LABEL_FIELD", "label-field", "labelField", "label_field", Value, "NAME",
        "The label column, never imputed [default: target]"),
    setting("EXCLUDE_COLUMNS", "exclude-columns", "excludeColumns", "exclude_columns", Value, "LIST",
        "Columns never imputed, comma-separated"),
    setting("DEFAULT_NUMERICAL_STRATEGY", "default-numerical-strategy", "defaultNumericalStrategy",
        "default_numerical_strategy", Value, "S", "mean, median or constant [default: mean]"),
    setting("DEFAULT_CATEGORICAL_STRATEGY", "default-categorical-strategy", "defaultCategoricalStrategy",
        "default_categorical_strategy", Value, "S", "mode or constant [default: mode]"),
    setting("DEFAULT_TEXT_STRATEGY", "default-text-strategy", "defaultTextStrategy",
        "default_text_strategy", Value, "S", "mode, constant or empty [default: mode]"),
    setting("NUMERICAL_CONSTANT_VALUE", "numerical-constant-value", "numericalConstantValue",
        "numerical_constant_value", Value, "X", "The numerical constant [default: 0]"),
    setting("CATEGORICAL_CONSTANT_VALUE", "categorical-constant-value", "categoricalConstantValue",
        "categorical_constant_value", Value, "TEXT", "The categorical constant [default: Unknown]"),
    setting("TEXT_CONSTANT_VALUE", "text-constant-value", "textConstantValue", "text_constant_value",
        Value, "TEXT", "The text constant [default: Unknown]"),
    setting("AUTO_DETECT_CATEGORICAL", "auto-detect-categorical", "autoDetectCategorical",
        "auto_detect_categorical", Value, "BOOL",
        "Detect categorical string columns, true or false [default: true]"),
    setting("CATEGORICAL_UNIQUE_RATIO_THRESHOLD", "categorical-unique-ratio-threshold",
        "categoricalUniqueRatioThreshold", "categorical_unique_ratio_threshold", Value, "X",
        "Distinct/non-missing ratio below which a string column is categorical [default: 0.1]"),
    setting("VALIDATE_FILL_VALUES", "validate-fill-values", "validateFillValues",
        "validate_fill_values", Value, "BOOL",
        "Replace constants that would read back as missing, true or false [default: true]"),
    setting("NA_VALUES", "na-values", "naValues", "na_values", Value, "LIST",
        "Field texts read as missing, comma-separated, replacing pandas' list (the empty field is always missing)"),
    setting("RENAME_DOTS", "rename-dots", "renameDots", "rename_dots", Switch, "",
        "Write `__DOT__` in column names as `.` (the reference's streaming output)"),
    setting("COLUMN_STRATEGY_", "column-strategy", "columnStrategies", "column_strategies", PerColumn,
        "COL=S", "A column's strategy, repeatable"),
];

/// The setting of an environment variable name, and the column it names
/// (for `COLUMN_STRATEGY_<column>`).
pub fn setting_of_env(name: &str) -> Option<(&'static Setting, Option<&str>)> {
    SETTINGS.iter().find_map(|s| match s.kind {
        PerColumn => name
            .strip_prefix(s.env)
            .filter(|c| !c.is_empty())
            .map(|c| (s, Some(c))),
        _ => (name == s.env).then_some((s, None)),
    })
}

/// All settings of a run. `Default` gives the reference's defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// The label column, never imputed.
    pub label_field: String,
    /// Columns never imputed.
    pub exclude_columns: Vec<String>,
    /// Strategy for numerical columns.
    pub default_numerical_strategy: Strategy,
    /// Strategy for categorical columns.
    pub default_categorical_strategy: Strategy,
    /// Strategy for text columns.
    pub default_text_strategy: Strategy,
    /// Constant for numerical columns (finite).
    #[serde(deserialize_with = "number_or_text")]
    pub numerical_constant_value: f64,
    /// Constant for categorical columns.
    pub categorical_constant_value: String,
    /// Constant for text columns.
    pub text_constant_value: String,
    /// Detect categorical string columns.
    pub auto_detect_categorical: bool,
    /// Distinct/non-missing ratio below which a string column is categorical.
    pub categorical_unique_ratio_threshold: f64,
    /// Replace constants that would read back as missing.
    pub validate_fill_values: bool,
    /// Per-column strategies (`COLUMN_STRATEGY_<column>`), in order given.
    pub column_strategies: Vec<(String, Strategy)>,
    /// Field texts that mean "missing" in CSV/TSV; the empty field always is.
    pub na_values: Vec<String>,
    /// Write `__DOT__` in column names as `.`.
    pub rename_dots: bool,
    /// What could not be taken as given (unknown strategy names).
    #[serde(skip)]
    pub warnings: Vec<String>,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            label_field: "target".into(),
            exclude_columns: Vec::new(),
            default_numerical_strategy: Strategy::Mean,
            default_categorical_strategy: Strategy::Mode,
            default_text_strategy: Strategy::Mode,
            numerical_constant_value: 0.0,
            categorical_constant_value: "Unknown".into(),
            text_constant_value: "Unknown".into(),
            auto_detect_categorical: true,
            categorical_unique_ratio_threshold: 0.1,
            validate_fill_values: true,
            column_strategies: Vec::new(),
            na_values: DEFAULT_NA_VALUES.iter().map(|s| s.to_string()).collect(),
            rename_dots: false,
            warnings: Vec::new(),
        }
    }
}

/// A number given as a number or as its text (`"0"`, `"1e3"`).
fn number_or_text<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<f64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum NumberOrText {
        Number(f64),
        Text(String),
    }
    match NumberOrText::deserialize(d)? {
        NumberOrText::Number(x) => Ok(x),
        NumberOrText::Text(s) => pandas::parse_python_float(s.trim())
            .ok_or_else(|| serde::de::Error::custom(format!("`{s}` is not a number"))),
    }
}

/// The reference's boolean settings: `true`/`false` (also `1`/`0`, `yes`/`no`).
fn parse_flag(key: &str, value: &str) -> Result<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" => Ok(false),
        _ => Err(Error::settings(format!(
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

impl Settings {
    /// Reads the reference's environment variables from `(name, value)`
    /// pairs (e.g. `std::env::vars()`, or the lines of an `env.txt`).
    /// Other names are ignored; defaults fill what is not given.
    pub fn from_env_vars<I, K, V>(vars: I) -> Result<Settings>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let mut s = Settings::default();
        for (k, v) in vars {
            s.set_env(k.as_ref(), v.as_ref())?;
        }
        Ok(s)
    }

    /// Reads `KEY=VALUE` lines (an `env.txt`); blank lines and `#` comments skipped.
    pub fn from_env_text(text: &str) -> Result<Settings> {
        let pairs = text
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
            .filter_map(|l| l.split_once('='));
        Settings::from_env_vars(pairs)
    }

    /// Sets one setting by its environment variable name. Returns whether
    /// the name is one of ours.
    pub fn set_env(&mut self, name: &str, value: &str) -> Result<bool> {
        match setting_of_env(name) {
            Some((setting, column)) => {
                self.set(setting, column, value)?;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Sets `setting` from its text (`column` for per-column settings).
    pub fn set(&mut self, setting: &Setting, column: Option<&str>, value: &str) -> Result<()> {
        let env = match column {
            Some(c) => format!("{}{c}", setting.env),
            None => setting.env.to_string(),
        };
        let strategy = |warnings: &mut Vec<String>, current: Strategy| match Strategy::parse(value)
        {
            Some(s) => s,
            None => {
                warnings.push(format!(
                    "{env}={value}: unknown strategy; using `{}`",
                    current.name()
                ));
                current
            }
        };
        match setting.key {
            "label_field" => self.label_field = value.to_string(),
            "exclude_columns" => self.exclude_columns = split_list(value),
            "default_numerical_strategy" => {
                self.default_numerical_strategy =
                    strategy(&mut self.warnings, self.default_numerical_strategy)
            }
            "default_categorical_strategy" => {
                self.default_categorical_strategy =
                    strategy(&mut self.warnings, self.default_categorical_strategy)
            }
            "default_text_strategy" => {
                self.default_text_strategy =
                    strategy(&mut self.warnings, self.default_text_strategy)
            }
            "numerical_constant_value" => {
                self.numerical_constant_value = pandas::parse_python_float(value.trim())
                    .ok_or_else(|| Error::settings(format!("{env}={value}: not a number")))?
            }
            "categorical_constant_value" => self.categorical_constant_value = value.to_string(),
            "text_constant_value" => self.text_constant_value = value.to_string(),
            "auto_detect_categorical" => self.auto_detect_categorical = parse_flag(&env, value)?,
            "categorical_unique_ratio_threshold" => {
                self.categorical_unique_ratio_threshold = value
                    .trim()
                    .parse::<f64>()
                    .map_err(|_| Error::settings(format!("{env}={value}: expected a number")))?
            }
            "validate_fill_values" => self.validate_fill_values = parse_flag(&env, value)?,
            "na_values" => self.na_values = value.split(',').map(String::from).collect(),
            "rename_dots" => self.rename_dots = parse_flag(&env, value)?,
            "column_strategies" => {
                let column = column.ok_or_else(|| {
                    Error::settings(format!("{env}: expected a column name after the prefix"))
                })?;
                self.column_strategies.retain(|(c, _)| c != column);
                match Strategy::parse(value) {
                    Some(s) => self.column_strategies.push((column.to_string(), s)),
                    None => self.warnings.push(format!(
                        "{env}={value}: unknown strategy; the column's default applies"
                    )),
                }
            }
            other => return Err(Error::settings(format!("unknown setting `{other}`"))),
        }
        Ok(())
    }

    /// Sets a setting from its command-line flag's value (`COLUMN=STRATEGY`
    /// for `--column-strategy`).
    pub fn set_flag(&mut self, setting: &Setting, value: &str) -> Result<()> {
        match setting.kind {
            PerColumn => {
                let (column, v) = value.split_once('=').ok_or_else(|| {
                    Error::settings(format!(
                        "--{} {value}: expected {}",
                        setting.flag, setting.value_name
                    ))
                })?;
                self.set(setting, Some(column), v)
            }
            _ => self.set(setting, None, value),
        }
    }

    /// The strategy configured for `column`: an exact
    /// `COLUMN_STRATEGY_<column>` match first; then, for compatibility, the
    /// reference's rule (the name after the prefix, lower-cased, equals the
    /// column: `COLUMN_STRATEGY_PRICE` for `price`); then the name equal to
    /// the lower-cased column (`COLUMN_STRATEGY_city` for `City`).
    pub fn column_strategy(&self, column: &str) -> Option<Strategy> {
        let find = |f: &dyn Fn(&str) -> bool| {
            self.column_strategies
                .iter()
                .find(|(c, _)| f(c))
                .map(|(_, s)| *s)
        };
        let lower = column.to_lowercase();
        find(&|c| c == column)
            .or_else(|| find(&|c| c.to_lowercase() == column))
            .or_else(|| find(&|c| c == lower))
    }

    /// Whether a column is never imputed (label or excluded).
    pub fn is_skipped(&self, column: &str) -> bool {
        column == self.label_field || self.exclude_columns.iter().any(|c| c == column)
    }

    /// Checks what can be checked without data.
    pub fn validate(&self) -> Result<()> {
        let t = self.categorical_unique_ratio_threshold;
        if !(t.is_finite() && t >= 0.0) {
            return Err(Error::settings(format!(
                "CATEGORICAL_UNIQUE_RATIO_THRESHOLD={t}: expected a number >= 0"
            )));
        }
        if !self.numerical_constant_value.is_finite() {
            return Err(Error::settings(format!(
                "NUMERICAL_CONSTANT_VALUE={}: a fill value must be a finite number",
                crate::pandas::repr(self.numerical_constant_value)
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_names_and_defaults() {
        let c = Settings::from_env_text(
            "DEFAULT_NUMERICAL_STRATEGY=median\nEXCLUDE_COLUMNS=id, other\n\
             COLUMN_STRATEGY_Price=constant\nCOLUMN_STRATEGY_city=most_frequent\nUNRELATED=1\n",
        )
        .unwrap();
        assert_eq!(c.default_numerical_strategy, Strategy::Median);
        assert_eq!(c.exclude_columns, vec!["id", "other"]);
        assert_eq!(c.label_field, "target");
        // exact name, and the reference's lower-cased form
        assert_eq!(c.column_strategy("Price"), Some(Strategy::Constant));
        assert_eq!(c.column_strategy("City"), Some(Strategy::Mode));
        // the reference's rule: the lower-cased name matches a lower-case column
        assert_eq!(c.column_strategy("price"), Some(Strategy::Constant));
        assert_eq!(c.column_strategy("PRICE"), None);
        assert!(c.is_skipped("target") && c.is_skipped("id") && !c.is_skipped("x"));
    }

    #[test]
    fn bad_values_are_errors_and_unknown_strategies_warnings() {
        assert!(Settings::from_env_text("AUTO_DETECT_CATEGORICAL=maybe").is_err());
        assert!(Settings::from_env_text("CATEGORICAL_UNIQUE_RATIO_THRESHOLD=x").is_err());
        assert!(Settings::from_env_text("NUMERICAL_CONSTANT_VALUE=abc").is_err());
        let nan = Settings::from_env_text("NUMERICAL_CONSTANT_VALUE=nan").unwrap();
        let e = nan.validate().unwrap_err().to_string();
        assert!(e.contains("finite"), "{e}");
        let s =
            Settings::from_env_text("DEFAULT_TEXT_STRATEGY=bogus\nCOLUMN_STRATEGY_x=zzz").unwrap();
        assert_eq!(s.default_text_strategy, Strategy::Mode);
        assert_eq!(s.column_strategy("x"), None);
        assert_eq!(s.warnings.len(), 2, "{:?}", s.warnings);
        assert!(s.warnings[0].contains("`bogus`") || s.warnings[0].contains("bogus"));
    }

    #[test]
    fn the_table_names_every_field_once() {
        // the artifact keys are exactly the serialized fields, in order
        let json = serde_json::to_value(Settings::default()).unwrap();
        let keys: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(|k| k.as_str())
            .collect();
        let table: Vec<&str> = SETTINGS.iter().map(|s| s.key).collect();
        let mut sorted_keys = keys.clone();
        let mut sorted_table = table.clone();
        sorted_keys.sort();
        sorted_table.sort();
        assert_eq!(sorted_keys, sorted_table);
        // and every entry can be set through its environment variable
        for s in SETTINGS {
            let (name, value) = match s.kind {
                PerColumn => (format!("{}col", s.env), "median"),
                Switch => (s.env.to_string(), "true"),
                Value => (
                    s.env.to_string(),
                    match s.value_name {
                        "BOOL" => "false",
                        "X" => "0.5",
                        "S" => "constant",
                        _ => "a,b",
                    },
                ),
            };
            let mut set = Settings::default();
            assert!(set.set_env(&name, value).unwrap(), "{name}");
            assert_ne!(set, Settings::default(), "{name} changed nothing");
        }
    }

    #[test]
    fn na_values_configurable() {
        let c = Settings::from_env_text("NA_VALUES=NULL,nan").unwrap();
        assert_eq!(c.na_values, vec!["NULL", "nan"]);
    }
}
