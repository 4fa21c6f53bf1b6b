#!/usr/bin/env python3
"""The baseline: DuckDB doing the job of `shardimpute run --job-type training`.

Pass 1: one scan over every train shard: avg() of each numeric column and
mode() of every other column (all but the label). Pass 2: for every shard of
train/val/test, COPY (SELECT coalesce(col, fill) ...) to the same split and
file name, in the same format. Fill values go to
OUT/model_artifacts/impute_dict.json. DuckDB picks its own thread count.
With --jobs N, N shards are copied at a time (one cursor each); the
default, 1, runs the COPYs one after another.

    duckdb_job.py INPUT OUTPUT [--label target] [--jobs N]
"""
import argparse
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import duckdb

SPLITS = ["train", "val", "test"]
NUMERIC = ("DOUBLE", "FLOAT", "BIGINT", "INTEGER", "SMALLINT", "TINYINT", "HUGEINT", "DECIMAL")


def reader(path: str) -> str:
    p = path.replace("'", "''")
    if path.endswith(".parquet"):
        return f"read_parquet('{p}')"
    sep = "\\t" if ".tsv" in path else ","
    return f"read_csv('{p}', header=true, delim='{sep}')"


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
    ap.add_argument("--jobs", type=int, default=1)
    args = ap.parse_args()
    con = duckdb.connect()

    # pass 1: one scan of the whole train split
    ext = "".join(sorted((args.input / "train").glob("part-*"))[0].suffixes)
    train = reader(str(args.input / "train" / f"part-*{ext}"))
    columns = [(n, t) for n, t, *_ in con.execute(f"DESCRIBE SELECT * FROM {train}").fetchall()]
    imputed = [n for n, _ in columns if n != args.label]
    aggs = [f"avg({quote(n)})" if t.startswith(NUMERIC) else f"mode({quote(n)})" for n, t in columns if n != args.label]
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
