"""The exception every engine failure raises."""

from __future__ import annotations

from typing import Optional


class ShardImputeError(Exception):
    """An engine error: the message the command line prints (naming the
    shard file and the line or row group), and its parts.

    ``kind`` is one of ``io``, ``layout``, ``csv``, ``parquet``, ``gzip``,
    ``schema``, ``artifact``, ``settings``, ``fill_value``, ``row_count``,
    ``state``, ``internal``, ``cancelled``.
    """

    def __init__(
        self,
        message: str,
        kind: str = "internal",
        detail: Optional[str] = None,
        file: Optional[str] = None,
        place: Optional[str] = None,
    ) -> None:
        super().__init__(message, kind, detail, file, place)
        self.message = message
        self.kind = kind
        self.detail = message if detail is None else detail
        self.file = file
        self.place = place

    def __str__(self) -> str:
        return self.message
