#!/usr/bin/env python3
"""Checks that a contender computed the same fill values as shardimpute, so
that the benchmark compares the same job.

REF is a folder holding shardimpute's impute_dict.json and
imputation_summary.json; OTHER is the contender's impute_dict.json. For
every column shardimpute fills, the contender must have the same value: a
mean equal within 1e-9 relative, a mode equal as text (a boolean mode
`true` equals the CSV text `True`). Allowed differences, reported:

* a column with no value at all in train: shardimpute fills its default
  (0.0 or "Unknown"); a contender may leave it unfilled;
* a contender may have a fill value for a column without any missing cell
  in train (shardimpute skips it): filling it changes nothing there.

Prints one line; exits 1 (listing the differences) otherwise.

    check_fills.py REF OTHER [--name polars] [--set csv-60]
"""
import argparse
import json
import math
import sys
from pathlib import Path

REL = 1e-9


def same(ref, other) -> bool:
    if isinstance(ref, str):
        if isinstance(other, bool):
            other = str(other)  # a boolean mode: pandas' text is True / False
        return isinstance(other, str) and other == ref
    if isinstance(other, bool) or not isinstance(other, (int, float)):
        return False
    if ref == other:
        return True
    return math.isfinite(other) and abs(ref - other) <= REL * max(abs(ref), abs(other))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("ref", type=Path)
    ap.add_argument("other", type=Path)
    ap.add_argument("--name", default="contender")
    ap.add_argument("--set", default="")
    a = ap.parse_args()
    ref = json.loads((a.ref / "impute_dict.json").read_text())
    summary = json.loads((a.ref / "imputation_summary.json").read_text())
    other = json.loads(a.other.read_text())
    cols = {c["name"]: c for c in summary["columns"]}

    bad, notes, agree = [], [], 0
    for name, value in ref.items():
        if name in other:
            if same(value, other[name]):
                agree += 1
            else:
                bad.append(f"{name}: shardimpute {value!r}, {a.name} {other[name]!r}")
        elif cols.get(name, {}).get("missing_pct") == 100.0:
            notes.append(f"{name} has no value in train: not filled by {a.name}, shardimpute fills {value!r}")
        else:
            bad.append(f"{name}: shardimpute {value!r}, {a.name} has no fill value")
    for name in other.keys() - ref.keys():
        if cols.get(name, {}).get("missing_count") == 0 and cols[name].get("skipped") != "label column":
            notes.append(f"{name}: {a.name} has a fill value, but train has no missing cell (no effect there)")
        else:
            bad.append(f"{name}: {a.name} fills it with {other[name]!r}, shardimpute does not fill it")

    where = f"{a.set}: " if a.set else ""
    line = f"{where}fill values: {a.name} agrees with shardimpute on {agree} of {len(ref)} columns"
    if bad:
        print(f"{line}; DIFFERENT: " + "; ".join(bad), file=sys.stderr)
        for n in notes:
            print(f"  ({n})", file=sys.stderr)
        sys.exit(1)
    print(line + (" (" + "; ".join(notes) + ")" if notes else ""))


if __name__ == "__main__":
    main()
