"""The command line: the native CLI's own code (same flags, environment
variables, messages and exit codes), with one more option for ``run``,
``fit`` and ``fill``: ``--cluster local:N`` (a local Dask cluster of N
worker processes) or ``--cluster ADDRESS`` (an existing Dask scheduler).
"""

from __future__ import annotations

import sys
from typing import List, Optional, Sequence, Tuple

from shardimpute import _native

PROGRAM = "shardimpute"


def _take_cluster(argv: Sequence[str]) -> Tuple[Optional[str], List[str]]:
    """``--cluster X`` / ``--cluster=X`` taken out of ``argv``."""
    rest: List[str] = []
    cluster: Optional[str] = None
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--":
            rest.extend(argv[i:])
            break
        if a == "--cluster":
            if i + 1 >= len(argv):
                raise ValueError("--cluster needs a value: local:N or a scheduler address")
            cluster = argv[i + 1]
            i += 2
            continue
        if a.startswith("--cluster="):
            cluster = a[len("--cluster="):]
            i += 1
            continue
        rest.append(a)
        i += 1
    return cluster, rest


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Runs the command line on ``argv`` (default: ``sys.argv[1:]``) and
    returns the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        cluster, args = _take_cluster(args)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if cluster is None:
        return _native.main([PROGRAM, *args])
    from shardimpute import _dask

    try:
        spec = _dask.parse_cluster(cluster)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    try:
        with _dask.driver(spec) as d:
            return _native.main([PROGRAM, *args], d)
    except _dask.ClusterError as e:
        print(f"{PROGRAM}: error: {e}", file=sys.stderr)
        return 1
