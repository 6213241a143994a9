"""Streaming an export to storage: never held in memory, size-checked, published whole or not at all."""

from __future__ import annotations

from collections.abc import Callable
from typing import IO, Any

from airflow.sdk.exceptions import AirflowException

from lemlist_provider.paths import writing

CHUNK_SIZE = 1024 * 1024


class ExportSizeMismatch(AirflowException):
    """The bytes written differ from lemlist's ``fileSize``: the partial file was removed."""


class CountingWriter:
    """A write-only file wrapper that counts bytes and lines as chunks pass through (O(1) memory)."""

    def __init__(self, handle: IO[bytes]) -> None:
        self.handle = handle
        self.bytes = 0
        self.newlines = 0
        self.last = b""

    def write(self, chunk: bytes) -> int:
        self.handle.write(chunk)
        self.bytes += len(chunk)
        self.newlines += chunk.count(b"\n")
        if chunk:
            self.last = chunk[-1:]
        return len(chunk)

    @property
    def rows(self) -> int:
        """Data rows: lines minus the header (a final line without a newline counts too)."""
        lines = self.newlines + (1 if self.bytes and self.last != b"\n" else 0)
        return max(0, lines - 1)


def stream_to(
    target: Any, fill: Callable[[CountingWriter], Any], expected_size: int | None, param: str = "output_uri"
) -> dict[str, int]:
    """Write through ``fill(writer)`` to ``target`` (see :func:`lemlist_provider.paths.writing`), checking
    the byte count against ``expected_size``; a mismatch raises ``ExportSizeMismatch`` and publishes nothing."""
    with writing(param, target) as handle:
        writer = CountingWriter(handle)
        fill(writer)
        if expected_size is not None and writer.bytes != int(expected_size):
            raise ExportSizeMismatch(
                f"downloaded {writer.bytes} bytes but lemlist announced fileSize={expected_size}; "
                "the partial file was removed"
            )
    return {"bytes": writer.bytes, "rows": writer.rows}
