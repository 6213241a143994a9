"""Streaming an export to storage: never held in memory, size-checked, published whole or not at all, and
spreadsheet-safe on the way (formula cells get a ``'``, see :mod:`lemlist_provider.safe_csv`)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import IO, Any

from airflow.sdk.exceptions import AirflowException

from lemlist_provider.paths import writing
from lemlist_provider.safe_csv import FormulaGuard

CHUNK_SIZE = 1024 * 1024
log = logging.getLogger(__name__)


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
    the byte count against ``expected_size``; a mismatch raises ``ExportSizeMismatch`` and publishes nothing.

    ``bytes`` and ``rows`` count what lemlist sent (what ``fileSize`` describes); the file also holds one
    ``'`` per neutralised formula cell, unless an admin turned ``[lemlist] neutralise_csv_formulas`` off."""
    with writing(param, target) as handle:
        guard = FormulaGuard(handle)
        writer = CountingWriter(guard)
        fill(writer)
        guard.finish()
        if guard.inserted:
            log.info("%s: %d cell(s) that a spreadsheet would run as formulas were prefixed with '",
                     param, guard.inserted)  # fmt: skip
        if expected_size is not None and writer.bytes != int(expected_size):
            raise ExportSizeMismatch(
                f"downloaded {writer.bytes} bytes but lemlist announced fileSize={expected_size}; "
                "the partial file was removed"
            )
    return {"bytes": writer.bytes, "rows": writer.rows}
