"""Running a job's passes on a Dask cluster.

Pass 1 is one task per training shard, each returning the shard's pass 1
state as bytes (versioned and checksummed by the engine); the states merge
pairwise as a tree (``log2(shards)`` rounds of merge tasks), and the driver
gets one state. Pass 2 is one task per shard of every split: the worker
reads the shard, fills it and stages the output under a hidden temporary
name in the output folder; the driver (the process running the job) holds
the output folder's lock, takes the staged files over, writes the
artifacts and publishes, as a run on one machine does. So workers must see
the input and output folders at the same paths (one machine, or a shared
file system); shards given as URLs go through the Python API
(``shardimpute.fit_shard`` / ``fill_shard``) instead.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from typing import Any, Iterator, List, Optional, Sequence, Tuple

from shardimpute import _native
from shardimpute._io import read_bytes, is_url


class ClusterError(Exception):
    """The cluster could not be started or reached."""


@dataclass(frozen=True)
class ClusterSpec:
    """``local:N`` (``workers`` set) or a scheduler address."""

    workers: Optional[int] = None
    address: Optional[str] = None


def parse_cluster(text: str) -> ClusterSpec:
    """``local:N`` or a scheduler address (``tcp://host:8786``)."""
    if text.startswith("local:"):
        n = text[len("local:"):]
        if not n.isdigit() or int(n) < 1:
            raise ValueError(f"--cluster {text}: local:N needs a number of workers N >= 1")
        return ClusterSpec(workers=int(n))
    if text == "local":
        raise ValueError("--cluster local: say how many workers, local:N")
    if not text:
        raise ValueError("--cluster needs a value: local:N or a scheduler address")
    return ClusterSpec(address=text)


def _fit_task(path: str, split: str, name: str, settings: str) -> bytes:
    if is_url(path):
        return _native.fit_bytes(f"{split}/{name}", read_bytes(path), settings)
    return _native.fit_file(path, settings)


def _merge_task(a: bytes, b: bytes) -> bytes:
    return _native.merge_states(a, b)


def _fill_task(
    path: str, split: str, name: str, output: str, fill_values: bytes, settings: str
) -> Tuple[str, str, str, str]:
    tmp, report = _native.stage_file(path, split, name, output, fill_values, settings)
    return split, name, tmp, report


def merge_tree(client: Any, futures: List[Any]) -> Any:
    """One future of the states of ``futures`` merged pairwise, as a
    balanced tree of merge tasks."""
    while len(futures) > 1:
        merged = [
            client.submit(_merge_task, futures[i], futures[i + 1], pure=False)
            for i in range(0, len(futures) - 1, 2)
        ]
        if len(futures) % 2:
            merged.append(futures[-1])
        futures = merged
    return futures[0]


class DaskDriver:
    """Runs passes on a Dask client (the engine calls ``fit`` and ``fill``)."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def fit(self, tasks: Sequence[Tuple[str, str, str]], settings: str) -> bytes:
        """Pass 1: one task per shard, merged as a tree; the state's bytes."""
        futures = [
            self.client.submit(_fit_task, path, split, name, settings, pure=False)
            for path, split, name in tasks
        ]
        return merge_tree(self.client, futures).result()

    def fill(
        self,
        tasks: Sequence[Tuple[str, str, str]],
        output: str,
        fill_values: bytes,
        settings: str,
    ) -> Tuple[List[Tuple[str, str, str, str]], Optional[BaseException]]:
        """Pass 2: one task per shard. Every task is waited for; returns
        what the finished ones staged, and the first error."""
        from distributed import wait

        values = self.client.scatter(fill_values, broadcast=True)
        futures = [
            self.client.submit(_fill_task, path, split, name, output, values, settings, pure=False)
            for path, split, name in tasks
        ]
        wait(futures)
        done: List[Tuple[str, str, str, str]] = []
        error: Optional[BaseException] = None
        for f in futures:
            if f.status == "finished":
                done.append(f.result())
            elif error is None:
                error = f.exception()
        return done, error


@contextlib.contextmanager
def driver(spec: ClusterSpec) -> Iterator[DaskDriver]:
    """A driver on the cluster ``spec`` says: a local cluster of worker
    processes (started here, stopped on the way out) or an existing one."""
    try:
        from distributed import Client, LocalCluster
    except ImportError as e:
        raise ClusterError(
            "--cluster needs Dask distributed: pip install 'shardimpute[distributed]'"
        ) from e
    cluster = None
    try:
        if spec.workers is not None:
            cluster = LocalCluster(
                n_workers=spec.workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                silence_logs=logging.CRITICAL,
            )
            client = Client(cluster)
        else:
            client = Client(spec.address, timeout="20s")
    except (OSError, TimeoutError) as e:
        if cluster is not None:
            cluster.close()
        raise ClusterError(f"cannot reach the cluster {spec.address or ''}: {e}") from e
    try:
        yield DaskDriver(client)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
