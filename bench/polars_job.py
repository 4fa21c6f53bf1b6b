#!/usr/bin/env python3
"""A contender: Polars doing the job of `shardimpute run --job-type training`,
written the way a Polars user would.

Pass 1: one lazy scan over every train shard (`pl.scan_csv` with pandas' NA
strings as `null_values`, or `pl.scan_parquet`), collected with the
streaming engine, computing for every column but the label (and
`--exclude`) its null count and its fill value: the mean of a numeric
column (integer, float, decimal: DuckDB's choice in duckdb_job.py), the
most frequent value of any other column (ties: the smallest value, as
shardimpute and scikit-learn do). Only columns with a missing cell in
train are filled (as shardimpute does); a column with no value at all in
train gets no fill value (shardimpute fills 0.0 / "Unknown" there).

Pass 2: for every shard of train/val/test, a lazy scan with the train
schema, `fill_null` of the filled columns, and `sink_csv` /
`sink_parquet` (snappy, the input's compression) to OUT/<split>/<same
name>. All the sinks are built lazily and run by one `pl.collect_all`, so
Polars schedules them over its thread pool (POLARS_MAX_THREADS, set by the
caller). The fill values go to OUT/model_artifacts/impute_dict.json.

    polars_job.py INPUT OUTPUT [--label target] [--exclude a,b]
"""
import argparse
import json
from pathlib import Path

import polars as pl

SPLITS = ["train", "val", "test"]
# pandas' default NA strings (shardimpute's default list, SPEC section 3)
PANDAS_NA = [
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
    "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null",
]  # fmt: skip


def scan(path, schema=None) -> pl.LazyFrame:
    name = str(path[0] if isinstance(path, list) else path)
    if name.endswith(".parquet"):
        return pl.scan_parquet(path)
    sep = "\t" if ".tsv" in name else ","
    return pl.scan_csv(
        path, separator=sep, null_values=PANDAS_NA, infer_schema_length=10000, schema=schema
    )


def sink(lf: pl.LazyFrame, dest: Path) -> pl.LazyFrame:
    if dest.name.endswith(".parquet"):
        return lf.sink_parquet(dest, compression="snappy", lazy=True)
    sep = "\t" if ".tsv" in dest.name else ","
    return lf.sink_csv(dest, separator=sep, lazy=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("input", type=Path)
    ap.add_argument("output", type=Path)
    ap.add_argument("--label", default="target")
    ap.add_argument("--exclude", default="", help="comma-separated columns not to fill")
    args = ap.parse_args()
    skip = {args.label, *filter(None, args.exclude.split(","))}

    # pass 1: one scan of the whole train split
    train_files = sorted((args.input / "train").glob("part-*"))
    train = scan(train_files)
    schema = train.collect_schema()
    cols = [c for c in schema.names() if c not in skip]
    numeric = {c for c in cols if schema[c].is_numeric()}
    aggs = []
    for c in cols:
        fill = pl.col(c).mean() if c in numeric else pl.col(c).drop_nulls().mode().sort().first()
        aggs += [pl.col(c).null_count().alias(f"n:{c}"), fill.alias(f"v:{c}")]
    row = train.select(aggs).collect(engine="streaming").row(0, named=True)
    fills = {c: row[f"v:{c}"] for c in cols if row[f"n:{c}"] > 0 and row[f"v:{c}"] is not None}

    # pass 2: every shard of every split, same format and name, one collect_all
    csv_schema = None if train_files[0].name.endswith(".parquet") else schema
    fill = [pl.col(c).fill_null(v) for c, v in fills.items()]
    sinks = []
    for split in SPLITS:
        (args.output / split).mkdir(parents=True, exist_ok=True)
        for shard in sorted((args.input / split).glob("part-*")):
            sinks.append(sink(scan(shard, csv_schema).with_columns(fill), args.output / split / shard.name))
    pl.collect_all(sinks, engine="streaming")

    (args.output / "model_artifacts").mkdir(parents=True, exist_ok=True)
    (args.output / "model_artifacts" / "impute_dict.json").write_text(json.dumps(fills, indent=1, default=str))


if __name__ == "__main__":
    main()
