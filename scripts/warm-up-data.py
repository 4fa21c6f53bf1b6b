#!/usr/bin/env python3
"""Writes web/warm-up/: the built-in sample's training rows as one CSV and
one Parquet shard (snappy, as pandas writes it), which the web app's engine
runs through pass 1 and pass 2 when it starts (web/worker.js, `warmUp`).

Needs pandas and pyarrow (`scripts/setup.sh bench` installs them in .venv):

    .venv/bin/python scripts/warm-up-data.py
"""
from pathlib import Path

import pandas as pd

root = Path(__file__).resolve().parent.parent
out = root / "web" / "warm-up"
out.mkdir(exist_ok=True)
shards = sorted((root / "web" / "sample" / "train").glob("part-*.csv"))
rows = pd.concat([pd.read_csv(p) for p in shards], ignore_index=True)
rows.to_csv(out / "part.csv", index=False)
rows.to_parquet(out / "part.parquet", compression="snappy", index=False)
print(f"{out}: {len(rows)} rows from {len(shards)} shards")
