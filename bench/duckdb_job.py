#!/usr/bin/env python3
"""The baseline: DuckDB doing the job of `shardimpute run --job-type training`.

Pass 1: one scan over every train shard: avg() of each numeric column and
mode() of each string column (all but the label). Pass 2: for every shard of
train/val/test, COPY (SELECT coalesce(col, fill) ...) to the same split and
file name, in the same format. Fill values go to OUT/impute_dict.json.

    duckdb_job.py INPUT OUTPUT [--label target]
"""
import argparse
import json
import os
from pathlib import Path

import duckdb

SPLITS = ["train", "val", "test"]


def reader(path: Path) -> str:
    p = str(path).replace("'", "''")
    if path.name.endswith(".parquet"):
        return f"read_parquet('{p}')"
    sep = "\\t" if ".tsv" in path.name else ","
    return f"read_csv('{p}', header=true, delim='{sep}')"


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def literal(value) -> str:
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return repr(value)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("input", type=Path)
    ap.add_argument("output", type=Path)
    ap.add_argument("--label", default="target")
    args = ap.parse_args()
    con = duckdb.connect()

    train = sorted((args.input / "train").iterdir())
    pattern = str(args.input / "train" / ("*" + "".join(train[0].suffixes)))
    scan = reader(Path(pattern))
    types = con.execute(f"DESCRIBE SELECT * FROM {scan}").fetchall()
    numeric = ("DOUBLE", "BIGINT", "INTEGER", "FLOAT", "SMALLINT", "TINYINT", "HUGEINT", "DECIMAL")
    aggs, cols = [], []
    for name, ctype, *_ in types:
        if name == args.label:
            continue
        if ctype.startswith(numeric):
            aggs.append(f"avg({quote(name)})")
        elif ctype == "VARCHAR":
            aggs.append(f"mode({quote(name)})")
        else:  # booleans, dates: most frequent
            aggs.append(f"mode({quote(name)})")
        cols.append(name)
    values = con.execute(f"SELECT {', '.join(aggs)} FROM {scan}").fetchone()
    fills = {c: v for c, v in zip(cols, values) if v is not None}

    for split in SPLITS:
        out_dir = args.output / split
        out_dir.mkdir(parents=True, exist_ok=True)
        for shard in sorted((args.input / split).iterdir()):
            select = ", ".join(
                f"coalesce({quote(n)}, {literal(fills[n])}) AS {quote(n)}" if n in fills else quote(n)
                for n, *_ in types
            )
            dest = str(out_dir / shard.name).replace("'", "''")
            fmt = "(FORMAT parquet)" if shard.name.endswith(".parquet") else "(FORMAT csv, HEADER)"
            con.execute(f"COPY (SELECT {select} FROM {reader(shard)}) TO '{dest}' {fmt}")
    (args.output / "impute_dict.json").write_text(json.dumps(fills, indent=1, default=str))


if __name__ == "__main__":
    main()
