"""shardimpute: fill missing values in sharded CSV/TSV/Parquet datasets,
exactly (pass 1 computes one fill value per column over the training
shards; pass 2 fills every shard of every split).

The whole job::

    shardimpute.run("training", "data/", "out/", label_field="y")

The pieces a distributed engine needs (``shardimpute._dask`` runs them on
Dask)::

    states = [shardimpute.fit_shard(p, settings) for p in train_shards]
    state = functools.reduce(shardimpute.State.merge, states)  # any order, any tree
    plan = shardimpute.plan(state)
    plan.impute_dict()          # == pickle.load(open("impute_dict.pkl", "rb"))
    shardimpute.fill_shard("val/part-00000.csv", "out/val/part-00000.csv", plan)

Settings are keyword arguments or a dict, by their snake_case name
(``label_field``, ``exclude_columns``, ``column_strategies={"x": "median"}``,
...) or by the reference step's environment variable
(``LABEL_FIELD``, ``COLUMN_STRATEGY_x``). Environment variables of the
process are not read (the command line reads them). Engine errors raise
:class:`ShardImputeError` with the engine's message.
"""

from __future__ import annotations

import io
import json
import os
import pickle
from typing import Any, Dict, List, Mapping, Optional, Tuple, Union

from shardimpute import _native
from shardimpute._errors import ShardImputeError
from shardimpute._io import is_url, read_bytes, shard_name, write_bytes

__all__ = [
    "ShardImputeError",
    "State",
    "FillPlan",
    "run",
    "fit_shard",
    "plan",
    "fill_shard",
    "fill_table",
    "settings_json",
    "main",
]

PathLike = Union[str, "os.PathLike[str]"]
Settings = Optional[Mapping[str, Any]]

_TABLE = _native.settings_table()
_BY_KEY = {key: (env, kind) for key, env, kind in _TABLE}
_BY_ENV = {env: (env, kind) for _key, env, kind in _TABLE if kind != "per_column"}
_PER_COLUMN = [env for _key, env, kind in _TABLE if kind == "per_column"]


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    return str(value)


def _pairs(settings: Settings) -> List[Tuple[str, str]]:
    pairs: List[Tuple[str, str]] = []
    for key, value in (settings or {}).items():
        if key in _BY_KEY or key in _BY_ENV:
            env, kind = _BY_KEY.get(key) or _BY_ENV[key]
        elif any(key.startswith(p) and len(key) > len(p) for p in _PER_COLUMN):
            pairs.append((key, _text(value)))
            continue
        else:
            known = ", ".join(sorted(_BY_KEY))
            raise ShardImputeError(
                f"invalid setting: unknown setting `{key}` (settings are: {known})",
                "settings",
            )
        if kind == "per_column":
            if not isinstance(value, Mapping):
                raise ShardImputeError(
                    f"invalid setting: {key} takes a dict of column -> strategy", "settings"
                )
            pairs.extend((env + str(c), _text(s)) for c, s in value.items())
        elif value is not None:
            pairs.append((env, _text(value)))
    return pairs


def settings_json(settings: Settings = None, **kwargs: Any) -> str:
    """The engine's settings (defaults, then ``settings``, then keyword
    arguments), checked, as JSON."""
    merged: Dict[str, Any] = dict(settings or {})
    merged.update(kwargs)
    return _native.settings_json(_pairs(merged))


_STATE_MAGIC = b"SHIMPPS1"
_PLAN_MAGIC = b"SHIMPPP1"


def _frame(magic: bytes, *parts: bytes) -> bytes:
    out = bytearray(magic)
    for p in parts:
        out += len(p).to_bytes(8, "little") + p
    return bytes(out)


def _unframe(magic: bytes, data: bytes, n: int, what: str) -> List[bytes]:
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"{what}: expected bytes, got {type(data).__name__}")
    data = bytes(data)
    if data[: len(magic)] != magic:
        raise ShardImputeError(f"not a shardimpute {what}: no {magic.decode()} magic", "artifact")
    at = len(magic)
    parts = []
    for _ in range(n):
        if at + 8 > len(data):
            raise ShardImputeError(f"not a valid shardimpute {what}: truncated", "artifact")
        size = int.from_bytes(data[at : at + 8], "little")
        at += 8
        if at + size > len(data):
            raise ShardImputeError(f"not a valid shardimpute {what}: truncated", "artifact")
        parts.append(data[at : at + size])
        at += size
    if at != len(data):
        raise ShardImputeError(f"not a valid shardimpute {what}: bytes left over", "artifact")
    return parts


class State:
    """Pass 1 state of some training shards, with the settings it was
    fitted with. Merge states in any order and tree shape: the plan is
    the same to the bit. Pickles (and ``to_bytes``) to a compact, checked
    binary form."""

    __slots__ = ("_state", "_settings")

    def __init__(self, state: bytes, settings: str) -> None:
        _native.state_info(state)  # checks the bytes
        self._state = bytes(state)
        self._settings = settings

    def merge(self, other: "State") -> "State":
        """A new state holding both (associative and commutative)."""
        if not isinstance(other, State):
            raise TypeError(f"State.merge: expected a State, got {type(other).__name__}")
        if other._settings != self._settings:
            raise ShardImputeError(
                "states fitted with different settings cannot be merged", "state"
            )
        return State(_native.merge_states(self._state, other._state), self._settings)

    def to_bytes(self) -> bytes:
        """The state and its settings as bytes (see :meth:`from_bytes`)."""
        return _frame(_STATE_MAGIC, self._settings.encode(), self._state)

    @classmethod
    def from_bytes(cls, data: bytes) -> "State":
        """A state from :meth:`to_bytes`; damaged bytes raise
        :class:`ShardImputeError`."""
        settings, state = _unframe(_STATE_MAGIC, data, 2, "state")
        return cls(state, _native.settings_json_checked(settings.decode("utf-8", "replace")))

    def __reduce__(self) -> Tuple[Any, Tuple[bytes]]:
        return (State.from_bytes, (self.to_bytes(),))

    @property
    def rows(self) -> int:
        """Training rows folded in."""
        return _native.state_info(self._state)[0]

    @property
    def shards(self) -> int:
        """Training shards folded in."""
        return _native.state_info(self._state)[1]

    @property
    def columns(self) -> List[str]:
        """Column names, in the order of the first shard by path."""
        return _native.state_info(self._state)[2]

    def __repr__(self) -> str:
        rows, shards, columns = _native.state_info(self._state)
        return f"<shardimpute.State: {shards} shards, {rows} rows, {len(columns)} columns>"


class FillPlan:
    """Pass 1's decisions: the fill values (and, when made here, every
    column's type, strategy and counts). Pickles to bytes for workers."""

    __slots__ = ("_dict", "_settings", "_plan")

    def __init__(self, fill_values: bytes, settings: str, plan_json: Optional[str]) -> None:
        _native.dict_pickle(fill_values)  # checks the bytes
        self._dict = bytes(fill_values)
        self._settings = settings
        self._plan = plan_json

    def impute_dict(self) -> Dict[str, Any]:
        """The fill values as ``impute_dict.pkl`` holds them (``pickle.load``
        of the file gives the same dict)."""
        return pickle.loads(self.impute_dict_pickle())

    def impute_dict_pickle(self) -> bytes:
        """``impute_dict.pkl``'s bytes."""
        return _native.dict_pickle(self._dict)

    @property
    def columns(self) -> List[Dict[str, Any]]:
        """Every training column's decision (name, type, strategy,
        fill_value, missing_count, missing_pct, distinct, skipped)."""
        return json.loads(self._plan)["columns"] if self._plan else []

    @property
    def warnings(self) -> List[str]:
        """What could not be done as configured."""
        return json.loads(self._plan)["warnings"] if self._plan else []

    def to_bytes(self) -> bytes:
        """The plan as bytes (see :meth:`from_bytes`)."""
        return _frame(
            _PLAN_MAGIC, self._settings.encode(), self._dict, (self._plan or "").encode()
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> "FillPlan":
        """A plan from :meth:`to_bytes`; damaged bytes raise
        :class:`ShardImputeError`."""
        settings, fill_values, plan_json = _unframe(_PLAN_MAGIC, data, 3, "fill plan")
        return cls(
            fill_values,
            _native.settings_json_checked(settings.decode("utf-8", "replace")),
            plan_json.decode() or None,
        )

    def __reduce__(self) -> Tuple[Any, Tuple[bytes]]:
        return (FillPlan.from_bytes, (self.to_bytes(),))

    def __repr__(self) -> str:
        return f"<shardimpute.FillPlan: {len(self.impute_dict())} fill values>"


def _parquet_bytes(table: Any) -> bytes:
    import pyarrow.parquet as pq

    buf = io.BytesIO()
    pq.write_table(table, buf)
    return buf.getvalue()


def _is_table(x: Any) -> bool:
    try:
        import pyarrow as pa
    except ImportError:
        return False
    return isinstance(x, pa.Table)


def fit_shard(
    path_or_table: Union[PathLike, Any], settings: Union[Settings, str] = None, **kwargs: Any
) -> State:
    """Pass 1 of one training shard: a local path, an fsspec URL
    (``s3://...``), or a ``pyarrow.Table`` (read as a Parquet shard). The
    format comes from the file name's extension."""
    s = settings if isinstance(settings, str) else settings_json(settings, **kwargs)
    if _is_table(path_or_table):
        return State(_native.fit_bytes("train/table.parquet", _parquet_bytes(path_or_table), s), s)
    if is_url(path_or_table):
        return State(_native.fit_bytes(shard_name(path_or_table), read_bytes(path_or_table), s), s)
    return State(_native.fit_file(os.fspath(path_or_table), s), s)


def plan(state: State) -> FillPlan:
    """The fill values from the merged state of every training shard (with
    the job's checks: the label column and every excluded column must be
    there)."""
    if not isinstance(state, State):
        raise TypeError(f"plan: expected a State, got {type(state).__name__}")
    fill_values, plan_json = _native.plan_state(state._state, state._settings)
    return FillPlan(fill_values, state._settings, plan_json)


def fill_shard(src: PathLike, dst: PathLike, plan: FillPlan) -> Dict[str, Any]:
    """Pass 2 of one shard: reads ``src``, writes the filled shard to
    ``dst`` (same format; paths or fsspec URLs). Returns the shard's
    report (rows in and out, cells filled per column, sizes)."""
    if not isinstance(plan, FillPlan):
        raise TypeError(f"fill_shard: expected a FillPlan, got {type(plan).__name__}")
    out, report = _native.fill_bytes(shard_name(src), read_bytes(src), plan._dict, plan._settings)
    write_bytes(dst, out)
    return json.loads(report)


def fill_table(table: Any, plan: FillPlan) -> Any:
    """Pass 2 of a ``pyarrow.Table`` (filled as a Parquet shard): the
    filled table."""
    import pyarrow.parquet as pq

    if not isinstance(plan, FillPlan):
        raise TypeError(f"fill_table: expected a FillPlan, got {type(plan).__name__}")
    if not _is_table(table):
        raise TypeError(f"fill_table: expected a pyarrow.Table, got {type(table).__name__}")
    out, _report = _native.fill_bytes(
        "train/table.parquet", _parquet_bytes(table), plan._dict, plan._settings
    )
    return pq.read_table(io.BytesIO(out))


def run(
    job_type: str,
    input: PathLike,
    output: PathLike,
    *,
    artifacts_in: Optional[PathLike] = None,
    artifacts_out: Optional[PathLike] = None,
    overwrite: bool = False,
    cluster: Optional[str] = None,
    **settings: Any,
) -> Dict[str, Any]:
    """A whole job over folders, as ``shardimpute run`` does: the same
    files, bytes and publishing (``_shardimpute_manifest.json`` and
    ``_SUCCESS``). ``cluster`` (``"local:N"`` or a scheduler address) runs
    the passes on Dask. Returns a summary (shards, rows, cells filled,
    warnings, where the artifacts are)."""
    s = settings_json(settings)
    args = (
        job_type,
        os.fspath(input),
        os.fspath(output),
        s,
        None if artifacts_in is None else os.fspath(artifacts_in),
        None if artifacts_out is None else os.fspath(artifacts_out),
        overwrite,
    )
    if cluster is None:
        return json.loads(_native.run_job(*args))
    from shardimpute import _dask

    with _dask.driver(_dask.parse_cluster(cluster)) as d:
        return json.loads(_native.run_job(*args, d))


def main(argv: Optional[List[str]] = None) -> int:
    """The command line (``python -m shardimpute``); returns the exit code."""
    from shardimpute._cli import main as cli_main

    return cli_main(argv)
