"""Reading and writing shards by local path or URL (fsspec)."""

from __future__ import annotations

import os
from typing import Union

PathLike = Union[str, "os.PathLike[str]"]


def is_url(path: PathLike) -> bool:
    """Whether ``path`` is a URL (``s3://...``, ``memory://...``)."""
    return "://" in os.fspath(path)


def read_bytes(path: PathLike) -> bytes:
    """The whole file at a local path or an fsspec URL."""
    p = os.fspath(path)
    if is_url(p):
        import fsspec

        with fsspec.open(p, "rb") as f:
            return f.read()
    with open(p, "rb") as f:
        return f.read()


def write_bytes(path: PathLike, data: bytes) -> None:
    """Writes ``data`` to a local path or an fsspec URL."""
    p = os.fspath(path)
    if is_url(p):
        import fsspec

        with fsspec.open(p, "wb") as f:
            f.write(data)
        return
    with open(p, "wb") as f:
        f.write(data)


def shard_name(path: PathLike) -> str:
    """``<parent folder>/<file name>`` of a path or URL."""
    p = os.fspath(path).rstrip("/")
    parts = p.replace("\\", "/").split("/")
    if len(parts) >= 2 and parts[-2] and not parts[-2].endswith(":"):
        return f"{parts[-2]}/{parts[-1]}"
    return parts[-1]
