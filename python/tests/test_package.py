"""Tests of the Python package, against things other than the package:
the conformance fixtures' expected answers (tests/fixtures/), the native
CLI binary's output (byte for byte), and Python's own pickle.load.

Run with `make python-test` (it builds the wheel into .venv-py first).
SHARDIMPUTE_BIN names the native binary (default: target/debug/shardimpute).
"""

from __future__ import annotations

import atexit
import csv
import io
import json
import math
import os
import pickle
import random
import re
import shutil
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import pyarrow.parquet as pq

import shardimpute
from shardimpute import FillPlan, ShardImputeError, State

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
BIN = Path(os.environ.get("SHARDIMPUTE_BIN", ROOT / "target" / "debug" / "shardimpute"))
ORACLE_PYTHON = ROOT / ".venv-test" / "bin" / "python"


def random_cases(count: int, seed: int) -> List[Path]:
    """Random cases (tests/fixtures/random_cases.py: other data, formats
    and settings, expected answers from the same oracle), written in the
    oracle's venv to a folder removed at exit."""
    if count <= 0:
        return []
    root = Path(tempfile.mkdtemp(prefix="shardimpute-py-random-"))
    atexit.register(shutil.rmtree, root, True)
    subprocess.run(
        [str(ORACLE_PYTHON), str(FIXTURES / "random_cases.py"), "--out", str(root),
         "--seed", str(seed), "--count", str(count)],
        check=True, capture_output=True, timeout=600,
    )
    return [root / f"random-{seed}-{k}" for k in range(count)]


# the fixtures, and 4 random cases (SHARDIMPUTE_PY_RANDOM_CASES) from seed 1
# (SHARDIMPUTE_RANDOM_SEED)
CASES = sorted(p for p in FIXTURES.iterdir() if (p / "job_type.txt").is_file()) + random_cases(
    int(os.environ.get("SHARDIMPUTE_PY_RANDOM_CASES", "4")),
    int(os.environ.get("SHARDIMPUTE_RANDOM_SEED", "1")),
)
# pandas' default NA strings (the conformance rule's missing cells)
PANDAS_NA = {
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND",
    "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null",
}


def env_of(case: Path) -> Dict[str, str]:
    out = {}
    for line in (case / "env.txt").read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            k, v = line.split("=", 1)
            out[k.strip()] = v.strip()
    return out


def clean_env(case: Path) -> Dict[str, str]:
    """The process environment without settings variables, plus the case's."""
    names = {env for _k, env, _kind in shardimpute._native.settings_table()}
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in names and not k.startswith("COLUMN_STRATEGY_")
    }
    env.update(env_of(case))
    return env


def run_args(case: Path, out: Path) -> List[str]:
    job = (case / "job_type.txt").read_text().strip()
    args = ["run", "--job-type", job, "--input", str(case / "input"), "--output", str(out)]
    if (case / "artifacts_in").is_dir():
        args += ["--artifacts-in", str(case / "artifacts_in")]
    return args + ["--quiet"]


def python_m(args: List[str], env: Dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "shardimpute", *args], env=env, capture_output=True, timeout=600
    )


def native(args: List[str], env: Dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN), *args], env=env, capture_output=True, timeout=600)


TIMESTAMP = re.compile(rb'("timestamp": ")[^"]*(")|(time: )\S+')


def tree(root: Path) -> Dict[str, bytes]:
    """Every file below root and its bytes, report timestamps masked."""
    out = {}
    for p in sorted(root.rglob("*")):
        if p.is_file():
            data = p.read_bytes()
            if p.name in ("imputation_report.json", "imputation_summary.txt"):
                data = TIMESTAMP.sub(lambda m: (m.group(1) or m.group(3)) + b"T" + (m.group(2) or b""), data)
            out[str(p.relative_to(root))] = data
    return out


def na_list(case: Path) -> set:
    env = env_of(case)
    if "NA_VALUES" in env:
        return {"", *[s.strip() for s in env["NA_VALUES"].split(",") if s.strip()]}
    return PANDAS_NA


def same_cell(got: Optional[str], want: str, na: set, reads: Dict[str, float]) -> bool:
    """The conformance rule (tests/fixtures/README.md): equal texts, or
    numbers equal as float64, or both missing. pandas' number parser is
    not always correctly rounded: an input text it reads to another double
    (`reads`, from the oracle) matches that double."""
    got_missing = got is None or got in na
    if got_missing or want in na:
        return got_missing and want in na
    if got == want:
        return True
    try:
        a, b = float(got), float(want)
    except ValueError:
        return False
    return a == b or reads.get(got.strip()) == b


_READS: Dict[str, Dict[str, float]] = {}


def pandas_reads(case: Path) -> Dict[str, float]:
    """The numbers of a case's input that pandas reads to another double
    than the correctly rounded one (`oracle.py floats`, in the oracle's
    venv, .venv-test)."""
    if not _READS:
        r = subprocess.run(
            [str(ORACLE_PYTHON), str(FIXTURES / "oracle.py"), "floats", *map(str, CASES)],
            capture_output=True, check=True, timeout=600,
        )
        for name, m in json.loads(r.stdout).items():
            _READS[name] = {t: float(v) for t, v in m.items()}
    return _READS.get(case.name, {})


def read_csv_text(data: bytes, delimiter: str) -> List[List[str]]:
    """The records of a CSV/TSV text; blank lines are no record (pandas skips them)."""
    rows = csv.reader(io.StringIO(data.decode("utf-8"), newline=""), delimiter=delimiter)
    return [r for r in rows if r]


def split_rows(out: Path, split: str) -> Tuple[List[str], List[List[Optional[str]]]]:
    """Every output shard of a split, concatenated: header and rows."""
    import gzip

    header: List[str] = []
    rows: List[List[Optional[str]]] = []
    for p in sorted((out / split).iterdir()):
        if p.name.endswith(".parquet"):
            t = pq.read_table(p)
            header = t.column_names
            cols = [t.column(i).to_pylist() for i in range(t.num_columns)]
            for r in range(t.num_rows):
                rows.append([cell_text(c[r]) for c in cols])
            continue
        data = p.read_bytes()
        if p.name.endswith(".gz"):
            data = gzip.decompress(data)
        delim = "\t" if ".tsv" in p.name else ","
        lines = read_csv_text(data, delim)
        if lines:
            header = lines[0]
            rows.extend(lines[1:])
    return header, rows


def cell_text(v) -> Optional[str]:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    if isinstance(v, bool):
        return "True" if v else "False"
    return repr(v) if isinstance(v, float) else str(v)


def check_expected(test: unittest.TestCase, case: Path, out: Path) -> None:
    """The output holds the case's expected answers."""
    expected = case / "expected"
    arts = out / "model_artifacts"
    if (expected / "impute_dict.pkl").exists():
        with open(arts / "impute_dict.pkl", "rb") as f:
            got = pickle.load(f)
        with open(expected / "impute_dict.pkl", "rb") as f:
            want = pickle.load(f)
        test.assertEqual(list(got), list(want), case.name)
        for k in want:
            test.assertEqual(type(got[k]), type(want[k]), f"{case.name}: {k}")
            test.assertEqual(got[k], want[k], f"{case.name}: {k}")
        test.assertEqual(
            json.loads((arts / "impute_dict.json").read_text()),
            json.loads((expected / "impute_dict.json").read_text()),
            case.name,
        )
    na = na_list(case)
    reads = pandas_reads(case)
    for want_file in sorted(expected.glob("*.csv")):
        split = want_file.stem
        header, rows = split_rows(out, split)
        want = read_csv_text(want_file.read_bytes(), ",")
        test.assertEqual(header, want[0], f"{case.name}/{split}: header")
        test.assertEqual(len(rows), len(want) - 1, f"{case.name}/{split}: rows")
        for i, (g, w) in enumerate(zip(rows, want[1:])):
            for j, (gc, wc) in enumerate(zip(g, w)):
                test.assertTrue(
                    same_cell(gc, wc, na, reads),
                    f"{case.name}/{split} row {i} column {header[j]}: {gc!r} != {wc!r}",
                )


class CommandLine(unittest.TestCase):
    """`python -m shardimpute` is the native command line."""

    @classmethod
    def setUpClass(cls) -> None:
        if not BIN.is_file():
            raise unittest.SkipTest(f"no native binary at {BIN}: cargo build -p shardimpute")
        cls.tmp = Path(tempfile.mkdtemp(prefix="shardimpute-py-"))

    @classmethod
    def tearDownClass(cls) -> None:
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def run_case(self, case: Path, how: str, extra: List[str]) -> Path:
        out = self.tmp / how / case.name
        env = clean_env(case)
        args = run_args(case, out) + extra
        r = native(args, env) if how == "native" else python_m(args, env)
        self.assertEqual(r.returncode, 0, f"{how} {case.name}: {r.stderr.decode()}")
        self.assertTrue((out / "_SUCCESS").exists(), f"{how} {case.name}: no _SUCCESS")
        return out

    def test_conformance_cases_locally_and_on_a_cluster(self) -> None:
        """Every case: the expected answers, and the same files and bytes
        from the native binary, `python -m shardimpute run` and
        `--cluster local:2`."""
        for case in CASES:
            with self.subTest(case=case.name):
                want = tree(self.run_case(case, "native", []))
                local = self.run_case(case, "python", [])
                check_expected(self, case, local)
                self.assertEqual(tree(local), want, f"{case.name}: python -m vs native")
                cluster = self.run_case(case, "cluster", ["--cluster", "local:2"])
                self.assertEqual(tree(cluster), want, f"{case.name}: --cluster local:2 vs native")

    def test_same_messages_and_exit_codes(self) -> None:
        case = FIXTURES / "csv-defaults"
        env = clean_env(case)
        bad = [
            ["run", "--job-type", "nope", "--input", "x", "--output", "y"],  # exit 2
            ["run", "--job-type", "training", "--input", str(self.tmp / "absent"),
             "--output", str(self.tmp / "o")],  # exit 1
            ["--help"],
            ["--version"],
        ]
        for args in bad:
            with self.subTest(args=args):
                n, p = native(args, env), python_m(args, env)
                self.assertEqual(p.returncode, n.returncode)
                self.assertEqual(p.stdout, n.stdout)
                self.assertEqual(p.stderr, n.stderr)
        self.assertEqual(native(bad[0], env).returncode, 2)
        self.assertEqual(native(bad[1], env).returncode, 1)
        # a bad shard fails the cluster run with the engine's message, and
        # leaves nothing behind
        data = self.tmp / "ragged"
        shutil.copytree(case / "input", data)
        (data / "train" / "part-00001.csv").write_text("a,b,target\n1,2\n")
        stderr = {}
        for how, extra in (("native", []), ("cluster", ["--cluster", "local:2"])):
            out = self.tmp / f"ragged-out-{how}"
            args = ["run", "--job-type", "training", "--input", str(data), "--output", str(out)]
            r = native(args, env) if how == "native" else python_m(args + extra, env)
            self.assertEqual(r.returncode, 1, how)
            self.assertIn(b"train/part-00001.csv: line 2: invalid CSV", r.stderr, how)
            self.assertEqual([p for p in out.rglob("*") if p.is_file()], [], how)
            stderr[how] = r.stderr
        self.assertEqual(stderr["cluster"], stderr["native"])
        # a bad shard in pass 2: what the other workers staged is removed
        shutil.copy(case / "input" / "train" / "part-00001.csv", data / "train" / "part-00001.csv")
        (data / "val" / "part-00001.csv").write_bytes(b"id,target\n1,0\n\"open\n")
        out = self.tmp / "ragged-fill"
        args = ["run", "--job-type", "training", "--input", str(data), "--output", str(out)]
        n, c = native(args, env), python_m(args + ["--cluster", "local:2"], env)
        self.assertEqual((c.returncode, c.stderr), (n.returncode, n.stderr))
        self.assertEqual(c.returncode, 1)
        self.assertIn(b"val/part-00001.csv", c.stderr)
        self.assertEqual([p for p in out.rglob("*") if p.is_file()], [])
        r = python_m(["run", "--cluster", "local:x"], env)
        self.assertEqual(r.returncode, 2)
        self.assertIn(b"local:N needs a number", r.stderr)


class Api(unittest.TestCase):
    """The job's pieces from Python."""

    @classmethod
    def setUpClass(cls) -> None:
        cls.tmp = Path(tempfile.mkdtemp(prefix="shardimpute-api-"))

    @classmethod
    def tearDownClass(cls) -> None:
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def states(self, case: Path) -> List[State]:
        settings = env_of(case)
        return [shardimpute.fit_shard(p, settings) for p in sorted((case / "input" / "train").iterdir())]

    def test_any_merge_tree_gives_the_expected_impute_dict(self) -> None:
        rng = random.Random(8)
        for name in ("csv-40-shards", "csv-median-constant", "parquet-median-bool", "csv-defaults"):
            case = FIXTURES / name
            with open(case / "expected" / "impute_dict.pkl", "rb") as f:
                want = pickle.load(f)
            states = self.states(case)
            pickles = set()
            for _ in range(6):
                pool = list(states)
                rng.shuffle(pool)
                while len(pool) > 1:
                    a = pool.pop(rng.randrange(len(pool)))
                    b = pool.pop(rng.randrange(len(pool)))
                    # each merged state travels as bytes, or as a pickle
                    m = a.merge(b)
                    m = State.from_bytes(m.to_bytes()) if rng.random() < 0.5 else pickle.loads(pickle.dumps(m))
                    pool.append(m)
                p = shardimpute.plan(pool[0])
                got = p.impute_dict()
                self.assertEqual(got, want, name)
                self.assertEqual([type(v) for v in got.values()], [type(v) for v in want.values()])
                pickles.add(p.impute_dict_pickle())
            self.assertEqual(len(pickles), 1, f"{name}: plans differ between merge trees")

    def test_fill_shard_and_table_match_the_native_output(self) -> None:
        for name in ("csv-defaults", "parquet-median-bool", "csvgz-defaults"):
            case = FIXTURES / name
            out = self.tmp / "native" / name
            r = native(run_args(case, out), clean_env(case))
            self.assertEqual(r.returncode, 0, r.stderr)
            states = self.states(case)
            state = states[0]
            for s in states[1:]:
                state = state.merge(s)
            plan = pickle.loads(pickle.dumps(shardimpute.plan(state)))
            with open(out / "model_artifacts" / "impute_dict.pkl", "rb") as f:
                self.assertEqual(plan.impute_dict(), pickle.load(f))
            for src in sorted((case / "input").rglob("part-*")):
                rel = src.relative_to(case / "input")
                dst = self.tmp / "api" / name / rel
                dst.parent.mkdir(parents=True, exist_ok=True)
                report = shardimpute.fill_shard(src, dst, plan)
                self.assertEqual(report["rows_in"], report["rows_out"])
                self.assertEqual(dst.read_bytes(), (out / rel).read_bytes(), str(rel))
                if src.name.endswith(".parquet"):
                    filled = shardimpute.fill_table(pq.read_table(src), plan)
                    self.assertTrue(filled.equals(pq.read_table(out / rel)), str(rel))

    def test_urls_through_fsspec(self) -> None:
        import fsspec

        case = FIXTURES / "csv-defaults"
        fs = fsspec.filesystem("memory")
        srcs = sorted((case / "input" / "train").iterdir())
        for p in srcs:
            fs.pipe(f"memory://bucket/train/{p.name}", p.read_bytes())
        by_url = [shardimpute.fit_shard(f"memory://bucket/train/{p.name}") for p in srcs]
        by_path = [shardimpute.fit_shard(p) for p in srcs]
        merged = lambda xs: xs[0] if len(xs) == 1 else xs[0].merge(merged(xs[1:]))
        plan = shardimpute.plan(merged(by_url))
        self.assertEqual(plan.impute_dict_pickle(), shardimpute.plan(merged(by_path)).impute_dict_pickle())
        shardimpute.fill_shard(f"memory://bucket/train/{srcs[0].name}", "memory://bucket/out/part.csv", plan)
        local = self.tmp / "url" / "train" / srcs[0].name
        local.parent.mkdir(parents=True)
        shardimpute.fill_shard(srcs[0], local, plan)
        self.assertEqual(fs.cat("memory://bucket/out/part.csv"), local.read_bytes())

    def test_run_writes_what_the_cli_writes(self) -> None:
        case = FIXTURES / "csv-median-constant"
        settings = {k.lower(): v for k, v in env_of(case).items()}
        summary = shardimpute.run("training", case / "input", self.tmp / "run", **settings)
        self.assertEqual(summary["shards"], 6)
        r = native(run_args(case, self.tmp / "run-native"), clean_env(case))
        self.assertEqual(r.returncode, 0)
        self.assertEqual(tree(self.tmp / "run"), tree(self.tmp / "run-native"))
        check_expected(self, case, self.tmp / "run")

    def test_stubs_cover_the_extension(self) -> None:
        import ast

        import shardimpute._native as native_mod

        stub = ast.parse((Path(shardimpute.__file__).parent / "_native.pyi").read_text())
        stubbed = {n.name for n in stub.body if isinstance(n, ast.FunctionDef)}
        exported = {n for n in dir(native_mod) if not n.startswith("_")}
        self.assertEqual(stubbed, exported)
        self.assertTrue((Path(shardimpute.__file__).parent / "py.typed").exists())

    def test_errors_carry_the_engine_message(self) -> None:
        bad = self.tmp / "bad" / "train" / "part-00000.csv"
        bad.parent.mkdir(parents=True)
        bad.write_text("a,b,target\n1,2,3\n4,5\n")
        with self.assertRaises(ShardImputeError) as e:
            shardimpute.fit_shard(bad)
        self.assertEqual(e.exception.kind, "csv")
        self.assertEqual(e.exception.file, "train/part-00000.csv")
        self.assertIn("train/part-00000.csv: line 3: invalid CSV", str(e.exception))
        good = self.tmp / "bad" / "train" / "part-00001.csv"
        good.write_text("a,b\n1,\n")
        with self.assertRaises(ShardImputeError) as e:
            shardimpute.plan(shardimpute.fit_shard(good))
        self.assertIn("label column `target` (LABEL_FIELD) is not in the training data", str(e.exception))
        with self.assertRaises(ShardImputeError) as e:
            shardimpute.fit_shard(good, {"no_such_setting": 1})
        self.assertEqual(e.exception.kind, "settings")
        with self.assertRaises(ShardImputeError) as e:
            shardimpute.fit_shard(good, default_numerical_strategy="median").merge(shardimpute.fit_shard(good))
        self.assertIn("different settings", str(e.exception))
        data = shardimpute.fit_shard(good, label_field="a").to_bytes()
        for n in (0, 5, len(data) // 2, len(data) - 1):
            with self.assertRaises(ShardImputeError):
                State.from_bytes(data[:n])
        flipped = bytearray(data)
        flipped[-10] ^= 1
        with self.assertRaises(ShardImputeError) as e:
            State.from_bytes(bytes(flipped))
        self.assertIn("checksum", str(e.exception))
        with self.assertRaises(ShardImputeError):
            FillPlan.from_bytes(b"SHIMPPP1")


class Cluster(unittest.TestCase):
    """The merge law over a Dask cluster (started and stopped here)."""

    @classmethod
    def setUpClass(cls) -> None:
        import logging

        from distributed import Client, LocalCluster

        cls.cluster = LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True,
            dashboard_address=None, silence_logs=logging.ERROR,
        )
        cls.client = Client(cls.cluster)
        cls.tmp = Path(tempfile.mkdtemp(prefix="shardimpute-cluster-"))

    @classmethod
    def tearDownClass(cls) -> None:
        cls.client.close()
        cls.cluster.close()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_states_merged_on_the_cluster_in_any_tree(self) -> None:
        from shardimpute import _dask

        case = FIXTURES / "csv-40-shards"
        settings = shardimpute.settings_json(env_of(case))
        shards = sorted((case / "input" / "train").iterdir())
        want = shardimpute.plan(
            __import__("functools").reduce(State.merge, [shardimpute.fit_shard(p, settings) for p in shards])
        ).impute_dict_pickle()
        with open(case / "expected" / "impute_dict.pkl", "rb") as f:
            self.assertEqual(pickle.loads(want), pickle.load(f))
        def fit_group(paths: List[str], settings: str) -> bytes:
            """One task folding several shards into one state (a worker's
            share); a local function, so Dask sends it by value."""
            import shardimpute

            state = shardimpute.fit_shard(paths[0], settings)
            for p in paths[1:]:
                state = state.merge(shardimpute.fit_shard(p, settings))
            return state._state

        rng = random.Random(3)
        for trial in range(4):
            # a random partition: each task folds a random group of shards
            groups: Dict[int, List[Path]] = {}
            for p in shards:
                groups.setdefault(rng.randrange(1 + trial * 3), []).append(p)
            futures = [
                self.client.submit(fit_group, [str(p) for p in g], settings, pure=False)
                for g in groups.values()
            ]
            rng.shuffle(futures)
            state = _dask.merge_tree(self.client, futures).result()
            fill_values, _ = shardimpute._native.plan_state(state, settings)
            self.assertEqual(shardimpute._native.dict_pickle(fill_values), want, f"trial {trial}")

    def test_run_on_an_existing_cluster(self) -> None:
        case = FIXTURES / "parquet-defaults"
        address = self.cluster.scheduler_address
        shardimpute.run("training", case / "input", self.tmp / "joined", cluster=address)
        r = native(run_args(case, self.tmp / "native"), clean_env(case))
        self.assertEqual(r.returncode, 0)
        self.assertEqual(tree(self.tmp / "joined"), tree(self.tmp / "native"))
        check_expected(self, case, self.tmp / "joined")


if __name__ == "__main__":
    unittest.main()
