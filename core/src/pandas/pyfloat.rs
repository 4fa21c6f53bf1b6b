//! Python's float text: `repr(float)` and `float(str)`.
//!
//! Fill values are written into CSV cells and `impute_dict.json` the way
//! pandas and Python print them (`26.0`, `1e-05`), and the pickle stores any
//! fill value that Python's `float()` accepts as a float. Both rules must
//! match Python exactly, so they live here, tested against `python3`.

/// Python's `repr(x)`: shortest round-trip digits, `.0` on integral values,
/// scientific notation when the exponent is below -4 or at least 16.
pub fn repr(x: f64) -> String {
    if x.is_nan() {
        return "nan".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf" } else { "-inf" }.into();
    }
    if x == 0.0 {
        return if x.is_sign_negative() { "-0.0" } else { "0.0" }.into();
    }
    // Rust's `{:e}` gives the shortest round-trip digits: d.ddde[-]N
    let sci = format!("{:e}", x.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let sign = if x < 0.0 { "-" } else { "" };
    if !(-4..16).contains(&exp) {
        let (first, rest) = digits.split_at(1);
        let frac = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        let esign = if exp < 0 { '-' } else { '+' };
        return format!("{sign}{first}{frac}e{esign}{:02}", exp.abs());
    }
    let n = digits.len() as i32;
    let body = if exp < 0 {
        format!("0.{}{digits}", "0".repeat((-exp - 1) as usize))
    } else if exp + 1 >= n {
        format!("{digits}{}.0", "0".repeat((exp + 1 - n) as usize))
    } else {
        let (int, frac) = digits.split_at((exp + 1) as usize);
        format!("{int}.{frac}")
    };
    format!("{sign}{body}")
}

/// Whether `s` is decimal digits with single underscores between digits.
fn digits_with_underscores(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with('_')
        && !s.ends_with('_')
        && !s.contains("__")
        && s.bytes().all(|b| b.is_ascii_digit() || b == b'_')
}

/// What Python's `float(s)` returns for a string, or `None` where it raises.
pub fn parse_python_float(s: &str) -> Option<f64> {
    let t = s.trim_matches(|c: char| c.is_whitespace());
    let (sign, body) = match t.as_bytes().first() {
        Some(b'-') => (-1.0, &t[1..]),
        Some(b'+') => (1.0, &t[1..]),
        _ => (1.0, t),
    };
    let lower = body.to_ascii_lowercase();
    if lower == "inf" || lower == "infinity" {
        return Some(sign * f64::INFINITY);
    }
    if lower == "nan" {
        return Some(f64::NAN);
    }
    let (mantissa, exponent) = match lower.split_once('e') {
        Some((m, e)) => (m, Some(e)),
        None => (lower.as_str(), None),
    };
    let (int, frac) = match mantissa.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (mantissa, None),
    };
    let int_ok = int.is_empty() || digits_with_underscores(int);
    let frac_ok = frac.is_none_or(|f| f.is_empty() || digits_with_underscores(f));
    let has_digits = !int.is_empty() || frac.is_some_and(|f| !f.is_empty());
    let exp_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['+', '-']).unwrap_or(e);
        digits_with_underscores(e)
    });
    if !(int_ok && frac_ok && has_digits && exp_ok) {
        return None;
    }
    let clean: String = body.chars().filter(|c| *c != '_').collect();
    clean.parse::<f64>().ok().map(|x| sign * x)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Runs a Python script on `input` (stdin); its stdout.
    pub(crate) fn python(script: &str, input: &str) -> String {
        use std::io::Write;
        use std::process::{Command, Stdio};
        let mut child = Command::new("python3")
            .args(["-c", script])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 runs");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap()
    }

    #[test]
    fn repr_table() {
        for (x, want) in [
            (26.0, "26.0"),
            (0.1, "0.1"),
            (1e-5, "1e-05"),
            (0.0001, "0.0001"),
            (1e16, "1e+16"),
            (1.5e16, "1.5e+16"),
            (123456789012345.6, "123456789012345.6"),
            (-2.5e-7, "-2.5e-07"),
            (-0.0, "-0.0"),
            (f64::INFINITY, "inf"),
            (5e-324, "5e-324"),
        ] {
            assert_eq!(repr(x), want);
        }
    }

    /// Python's `repr` is the definition: compare on many doubles.
    #[test]
    fn repr_equals_python() {
        let mut rng = crate::test_rng::XorShift(0x9E3779B97F4A7C15);
        let mut xs = Vec::new();
        for i in 0..4000 {
            let seed = rng.next();
            let x = match i % 4 {
                0 => f64::from_bits(seed),
                1 => (seed % 10_000_000) as f64 / 1000.0,
                2 => 10f64.powi((seed % 40) as i32 - 20) * (1.0 + (seed % 7) as f64),
                _ => (seed >> 11) as f64,
            };
            if x.is_finite() {
                xs.push(x);
            }
        }
        let input: String = xs
            .iter()
            .map(|x| format!("{:016x}\n", x.to_bits()))
            .collect();
        let out = python(
            "import sys, struct\nfor l in sys.stdin:\n    print(repr(struct.unpack('>d', bytes.fromhex(l.strip()))[0]))",
            &input,
        );
        for (x, line) in xs.iter().zip(out.lines()) {
            assert_eq!(repr(*x), line, "{x:e}");
        }
        assert_eq!(out.lines().count(), xs.len());
    }

    #[test]
    fn float_parse_equals_python() {
        let cases = [
            "12", " 12 ", "1_000.5", "1__0", "_1", "1_", "0x10", "1e", "1e5", "1E-3", ".", ".5",
            "5.", "-inf", "Infinity", "nan", "-NaN", "True", "", "abc", "1.2.3", "+7", "1e+_5",
            "1e1_0", "\t3.25\n",
        ];
        let hex = |c: &str| c.bytes().map(|b| format!("{b:02x}")).collect::<String>();
        let input: String = cases.iter().map(|c| format!("{}\n", hex(c))).collect();
        let out = python(
            "import sys\nfor l in sys.stdin:\n    s = bytes.fromhex(l.strip()).decode()\n    \
             try:\n        print(repr(float(s)))\n    except ValueError:\n        print('error')",
            &input,
        );
        for (c, line) in cases.iter().zip(out.lines()) {
            let got = match parse_python_float(c) {
                Some(x) => repr(x),
                None => "error".into(),
            };
            assert_eq!(got, line, "float({c:?})");
        }
    }
}
