#!/usr/bin/env python3
"""The baseline: DuckDB doing the job of `shardimpute run --job-type training`.

Pass 1: one scan over every train shard (CSV: pandas' NA strings are
missing, `nullstr`): avg() of each numeric column and mode() of every other
column (all but the label; ties go to the smallest value). Pass 2: for every shard of
train/val/test, COPY (SELECT coalesce(col, fill) ...) to the same split and
file name, in the same format. Fill values go to
OUT/model_artifacts/impute_dict.json. DuckDB uses --threads threads
(default: its own choice, the core count). With --jobs N, N shards are
copied at a time (one cursor each); the default, 1, runs the COPYs one
after another (bench/run.sh passes its thread count for both).

    duckdb_job.py INPUT OUTPUT [--label target] [--threads N] [--jobs N]
"""
import argparse
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import duckdb

SPLITS = ["train", "val", "test"]
# pandas' default NA strings (shardimpute's default list, SPEC section 3):
# in CSV these fields are missing, as for shardimpute
PANDAS_NA = [
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
    "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null",
]  # fmt: skip
NULLSTR = "[" + ", ".join("'" + s.replace("'", "''") + "'" for s in PANDAS_NA) + "]"
NUMERIC = ("DOUBLE", "FLOAT", "BIGINT", "INTEGER", "SMALLINT", "TINYINT", "HUGEINT", "DECIMAL")


def reader(path: str) -> str:
    p = path.replace("'", "''")
    if path.endswith(".parquet"):
        return f"read_parquet('{p}')"
    sep = "\\t" if ".tsv" in path else ","
    return f"read_csv('{p}', header=true, delim='{sep}', nullstr={NULLSTR})"


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def literal(value) -> str:
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return repr(value)  # float, int, bool


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("input", type=Path)
    ap.add_argument("output", type=Path)
    ap.add_argument("--label", default="target")
    ap.add_argument("--threads", type=int)
    ap.add_argument("--jobs", type=int, default=1)
    args = ap.parse_args()
    con = duckdb.connect()
    if args.threads:
        con.execute(f"SET threads = {args.threads}")

    # pass 1: one scan of the whole train split
    ext = "".join(sorted((args.input / "train").glob("part-*"))[0].suffixes)
    train = reader(str(args.input / "train" / f"part-*{ext}"))
    columns = [(n, t) for n, t, *_ in con.execute(f"DESCRIBE SELECT * FROM {train}").fetchall()]
    imputed = [n for n, _ in columns if n != args.label]
    # mode(c ORDER BY c): on a tie, the smallest value (plain mode() takes the
    # first seen), as shardimpute and scikit-learn do
    aggs = [
        f"avg({quote(n)})" if t.startswith(NUMERIC) else f"mode({quote(n)} ORDER BY {quote(n)})"
        for n, t in columns
        if n != args.label
    ]
    values = con.execute(f"SELECT {', '.join(aggs)} FROM {train}").fetchone()
    fills = {n: v for n, v in zip(imputed, values) if v is not None}

    # pass 2: every shard of every split, same format and name
    select = ", ".join(
        f"coalesce({quote(n)}, {literal(fills[n])}) AS {quote(n)}" if n in fills else quote(n) for n, _ in columns
    )
    copies = []
    for split in SPLITS:
        (args.output / split).mkdir(parents=True, exist_ok=True)
        for shard in sorted((args.input / split).glob("part-*")):
            dest = str(args.output / split / shard.name).replace("'", "''")
            fmt = "(FORMAT parquet)" if shard.name.endswith(".parquet") else "(FORMAT csv, HEADER)"
            copies.append(f"COPY (SELECT {select} FROM {reader(str(shard))}) TO '{dest}' {fmt}")
    if args.jobs == 1:
        for sql in copies:
            con.execute(sql)
    else:
        with ThreadPoolExecutor(args.jobs) as pool:
            list(pool.map(lambda sql: con.cursor().execute(sql), copies))

    (args.output / "model_artifacts").mkdir(parents=True, exist_ok=True)
    (args.output / "model_artifacts" / "impute_dict.json").write_text(json.dumps(fills, indent=1, default=str))


if __name__ == "__main__":
    main()
