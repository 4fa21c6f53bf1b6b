#!/usr/bin/env python3
"""Writes web/warm-up/: the built-in sample's training rows as one CSV and
one Parquet shard, which the web app's engine runs through pass 1 and
pass 2 when it starts (web/worker.js, `warmUp`). The CSV is the sample's
own text, header once (its NA tokens and number spellings kept, so the
warm-up runs the same code as real shards); the Parquet is what pandas
writes from it (snappy).

Needs pandas and pyarrow (`scripts/setup.sh bench` installs them in .venv):

    .venv/bin/python scripts/warm-up-data.py
"""
from pathlib import Path

import pandas as pd

root = Path(__file__).resolve().parent.parent
out = root / "web" / "warm-up"
out.mkdir(exist_ok=True)
shards = sorted((root / "web" / "sample" / "train").glob("part-*.csv"))
texts = [p.read_bytes() for p in shards]
header = texts[0].split(b"\n", 1)[0] + b"\n"
assert all(t.startswith(header) for t in texts), "the sample's shards differ in header"
# joined as they are: a shard without a final newline would run its last
# row into the next shard's first
assert all(t.endswith(b"\n") for t in texts), "a sample shard does not end with a newline"
(out / "part.csv").write_bytes(header + b"".join(t[len(header):] for t in texts))
rows = pd.concat([pd.read_csv(p) for p in shards], ignore_index=True)
rows.to_parquet(out / "part.parquet", compression="snappy", index=False)
print(f"{out}: {len(rows)} rows from {len(shards)} shards")
