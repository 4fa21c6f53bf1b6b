"""Type stubs of the native extension (``shardimpute._native``).

Settings travel as the engine's JSON (``settings_json``), pass 1 states and
fill values as the engine's checked bytes. Engine errors raise
``shardimpute.ShardImputeError``.
"""

from typing import List, Optional, Sequence, Tuple

def main(argv: List[str], driver: Optional[object] = None) -> int:
    """The command line on ``argv`` (program name first); the exit code.
    With a ``driver`` (``shardimpute._dask.DaskDriver``), the passes run on it."""

def run_job(
    job_type: str,
    input: str,
    output: str,
    settings: str,
    artifacts_in: Optional[str] = None,
    artifacts_out: Optional[str] = None,
    overwrite: bool = False,
    driver: Optional[object] = None,
) -> str:
    """A whole job over folders; a summary as JSON."""

def settings_table() -> List[Tuple[str, str, str]]:
    """Every setting: (snake_case key, environment variable, kind)."""

def settings_json(pairs: Sequence[Tuple[str, str]]) -> str:
    """Settings from (ENVIRONMENT_VARIABLE, text) pairs, checked, as JSON."""

def settings_json_checked(json: str) -> str:
    """Settings JSON read back, checked, written again."""

def fit_bytes(path: str, data: bytes, settings: str) -> bytes:
    """Pass 1 of one shard's bytes (``path`` names it): the state's bytes."""

def fit_file(path: str, settings: str) -> bytes:
    """Pass 1 of one local shard file: the state's bytes."""

def merge_states(a: bytes, b: bytes) -> bytes:
    """Two states merged: the merged state's bytes."""

def state_info(state: bytes) -> Tuple[int, int, List[str]]:
    """A state's rows, shards and columns."""

def plan_state(state: bytes, settings: str) -> Tuple[bytes, str]:
    """The fill values' bytes and the plan as JSON, from a merged state."""

def dict_pickle(dict: bytes) -> bytes:
    """``impute_dict.pkl``'s bytes for fill values' bytes."""

def fill_bytes(path: str, data: bytes, dict: bytes, settings: str) -> Tuple[bytes, str]:
    """Pass 2 of one shard's bytes: the output's bytes and the report as JSON."""

def stage_file(
    src: str, split: str, name: str, output: str, dict: bytes, settings: str
) -> Tuple[str, str]:
    """Pass 2 of a shard file, staged into a cluster run's output folder:
    the staged name and the report as JSON."""

def state_version() -> int:
    """The format version of pass 1 states."""
