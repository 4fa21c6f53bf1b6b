//! The fill values as files: `impute_dict.pkl` (what the downstream
//! Python code loads) and `impute_dict.json`, written and read.
//!
//! The pickle follows the reference's rule (anything `float()` accepts is
//! stored as a float); the JSON keeps values as they appear in the data.
//! Both keep column order. Every fill value read must be finite.

use crate::error::{Error, Result};
use crate::pandas;
use crate::plan::{FillDict, FillValue};

use super::pickle::{self, PickleValue};

/// `impute_dict.pkl`: a pickled dict of column -> float / str.
pub fn dict_to_pickle(dict: &FillDict) -> Vec<u8> {
    let entries: Vec<(String, PickleValue)> = dict
        .entries
        .iter()
        .map(|(k, v)| (k.clone(), pickle_value(v)))
        .collect();
    pickle::write_dict(&entries)
}

fn json_string(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

/// `impute_dict.json`, formatted like Python's `json.dumps(d, indent=1)`;
/// always valid JSON (a fill value that is not finite is an error).
pub fn dict_to_json(dict: &FillDict) -> Result<String> {
    if dict.entries.is_empty() {
        return Ok("{}\n".into());
    }
    for (k, v) in &dict.entries {
        v.check_finite(k, "not representable in JSON")?;
    }
    let items: Vec<String> = dict
        .entries
        .iter()
        .map(|(k, v)| {
            let value = match v {
                FillValue::Number(x) => pandas::repr(*x),
                FillValue::Int(i) => i.to_string(),
                FillValue::Text(s) => json_string(s),
                FillValue::Bool(b) => json_string(if *b { "True" } else { "False" }),
            };
            format!(" {}: {value}", json_string(k))
        })
        .collect();
    Ok(format!("{{\n{}\n}}\n", items.join(",\n")))
}

/// Reads saved fill values: a pickle (`.pkl`) or JSON (`.json`), by
/// `name`. Every value must be a finite number or a text.
pub fn read_dict(name: &str, bytes: &[u8]) -> Result<FillDict> {
    let dict = if name.ends_with(".json") {
        read_json(name, bytes)?
    } else {
        read_pickle(name, bytes)?
    };
    for (k, v) in &dict.entries {
        v.check_finite(k, &format!("as saved in {name}"))
            .map_err(|e| e.in_file(name))?;
    }
    Ok(dict)
}

/// The pickle's value of a fill value (the reference's `float()` rule).
fn pickle_value(v: &FillValue) -> PickleValue {
    match v {
        FillValue::Number(x) => PickleValue::Float(*x),
        FillValue::Int(i) => PickleValue::Int(*i),
        FillValue::Bool(b) => PickleValue::Float(if *b { 1.0 } else { 0.0 }),
        FillValue::Text(s) => match pandas::parse_python_float(s) {
            Some(x) => PickleValue::Float(x),
            None => PickleValue::Str(s.clone()),
        },
    }
}

/// Fill values read from `impute_dict.pkl`, each replaced by the entry of
/// the `impute_dict.json` saved beside it when that entry pickles to the
/// same value (bit for bit). The pickle stores a boolean mode `True` as
/// `1.0` and a text mode `"12"` as `12.0`; the JSON keeps `True` and
/// `"12"`, so the cells a later job fills get the same text as the
/// training job wrote. A pickle entry the JSON does not match (edited, or
/// from another run) is kept as it is.
pub fn with_json_texts(pickled: FillDict, json: &FillDict) -> FillDict {
    let same = |a: &PickleValue, b: &PickleValue| match (a, b) {
        (PickleValue::Float(x), PickleValue::Float(y)) => x.to_bits() == y.to_bits(),
        (a, b) => a == b,
    };
    // the JSON spells a boolean mode as the text `True` / `False`
    let json_value = |j: &FillValue| match j {
        FillValue::Text(t) if t == "True" || t == "False" => FillValue::Bool(t == "True"),
        other => other.clone(),
    };
    let by_column = json.index();
    let entries = pickled
        .entries
        .into_iter()
        .map(|(k, v)| {
            let from_json = by_column
                .get(k.as_str())
                .map(|j| json_value(j))
                .filter(|j| same(&pickle_value(j), &pickle_value(&v)));
            let value = from_json.unwrap_or(v);
            (k, value)
        })
        .collect();
    FillDict { entries }
}

fn read_pickle(name: &str, bytes: &[u8]) -> Result<FillDict> {
    let entries = pickle::read_dict(bytes, name)?;
    let mut dict = FillDict::default();
    for (k, v) in entries {
        let value = match v {
            PickleValue::Float(x) => FillValue::Number(x),
            PickleValue::Int(i) => FillValue::Int(i),
            PickleValue::Str(s) => FillValue::Text(s),
            PickleValue::Bool(b) => FillValue::Bool(b),
            PickleValue::None => {
                return Err(Error::artifact(format!(
                    "{name}: column `{k}` has no fill value (None)"
                )))
            }
        };
        dict.entries.push((k, value));
    }
    Ok(dict)
}

fn read_json(name: &str, bytes: &[u8]) -> Result<FillDict> {
    let value: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|e| Error::artifact(format!("{name}: not valid JSON: {e}")))?;
    let serde_json::Value::Object(map) = value else {
        return Err(Error::artifact(format!(
            "{name}: expected a JSON object of column -> fill value"
        )));
    };
    let mut dict = FillDict::default();
    for (k, v) in map {
        let value = match v {
            serde_json::Value::String(s) => FillValue::Text(s),
            serde_json::Value::Bool(b) => FillValue::Bool(b),
            serde_json::Value::Number(n) => match n.as_i64() {
                Some(i) => FillValue::Int(i),
                None => FillValue::Number(n.as_f64().unwrap_or(f64::NAN)),
            },
            other => {
                return Err(Error::artifact(format!(
                    "{name}: column `{k}`: fill value {other} is not a number or a string"
                )))
            }
        };
        dict.entries.push((k, value));
    }
    Ok(dict)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_dict_format_and_round_trip() {
        let dict = FillDict {
            entries: vec![
                ("a".into(), FillValue::Number(0.0)),
                ("b\"q".into(), FillValue::Text("naïve, \"x\"".into())),
                ("flag".into(), FillValue::Bool(true)),
                ("n".into(), FillValue::Int(3)),
            ],
        };
        let text = dict_to_json(&dict).unwrap();
        assert_eq!(
            text,
            "{\n \"a\": 0.0,\n \"b\\\"q\": \"naïve, \\\"x\\\"\",\n \"flag\": \"True\",\n \"n\": 3\n}\n"
        );
        let back = read_dict("impute_dict.json", text.as_bytes()).unwrap();
        assert_eq!(back.entries[0], ("a".into(), FillValue::Number(0.0)));
        assert_eq!(
            back.entries[2],
            ("flag".into(), FillValue::Text("True".into()))
        );
        assert!(read_dict("x.json", b"[1]").is_err());
    }

    #[test]
    fn pickle_follows_the_float_rule() {
        let dict = FillDict {
            entries: vec![
                ("s".into(), FillValue::Text("12".into())),
                ("t".into(), FillValue::Text("abc".into())),
                ("f".into(), FillValue::Bool(true)),
            ],
        };
        let back = read_dict("impute_dict.pkl", &dict_to_pickle(&dict)).unwrap();
        assert_eq!(
            back.entries,
            vec![
                ("s".into(), FillValue::Number(12.0)),
                ("t".into(), FillValue::Text("abc".into())),
                ("f".into(), FillValue::Number(1.0)),
            ]
        );
    }

    #[test]
    fn non_finite_values_are_refused() {
        let dict = FillDict {
            entries: vec![("x".into(), FillValue::Number(f64::INFINITY))],
        };
        let e = dict_to_json(&dict).unwrap_err();
        assert_eq!(e.kind().name(), "fill_value");
        let pkl = dict_to_pickle(&dict);
        let e = read_dict("impute_dict.pkl", &pkl).unwrap_err().to_string();
        assert!(
            e.contains("impute_dict.pkl") && e.contains("column `x`"),
            "{e}"
        );
    }

    #[test]
    fn json_texts_replace_pickled_values_only_when_they_agree() {
        let saved = FillDict {
            entries: vec![
                ("flag".into(), FillValue::Bool(true)),
                ("s".into(), FillValue::Text("12".into())),
                ("x".into(), FillValue::Number(0.1)),
                ("edited".into(), FillValue::Text("7".into())),
            ],
        };
        let json = read_dict("impute_dict.json", dict_to_json(&saved).unwrap().as_bytes()).unwrap();
        let mut pickled = read_dict("impute_dict.pkl", &dict_to_pickle(&saved)).unwrap();
        // the pickle was edited after the JSON was written: the pickle wins
        pickled.entries[3].1 = FillValue::Number(8.0);
        let got = with_json_texts(pickled, &json);
        assert_eq!(
            got.entries,
            vec![
                ("flag".into(), FillValue::Bool(true)),
                ("s".into(), FillValue::Text("12".into())),
                ("x".into(), FillValue::Number(0.1)),
                ("edited".into(), FillValue::Number(8.0)),
            ]
        );
    }
}
