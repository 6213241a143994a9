"""Per-batch checkpoint: an append-only, fsync'ed journal of what happened to each row.

Before each request the batch writes ``attempting``; after the answer it writes the row's outcome. A batch
killed at any instant (SIGKILL, OOM, lost worker) therefore leaves either nothing, an ``attempting`` line or
an outcome for each row, and the retry knows exactly which rows to skip and which to replay.
"""

from __future__ import annotations

import json
import os
from pathlib import Path


class Checkpoint:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._handle = None

    def load(self) -> tuple[dict[int, dict], set[int]]:
        """``(outcomes by row, rows attempted without an outcome)``. A torn last line (kill mid-write) is ignored."""
        done: dict[int, dict] = {}
        attempting: set[int] = set()
        if not self.path.exists():
            return done, attempting
        with self.path.open(encoding="utf-8") as handle:
            for line in handle:
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    continue
                row = record.get("row")
                if not isinstance(row, int):
                    continue
                if record.get("state") == "attempting":
                    attempting.add(row)
                elif record.get("state") == "released":
                    attempting.discard(row)
                elif record.get("status"):
                    done[row] = record
        attempting -= set(done)
        return done, attempting

    def _open(self):
        if self._handle is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            torn = False
            if self.path.exists() and self.path.stat().st_size > 0:
                with self.path.open("rb") as raw:
                    raw.seek(-1, os.SEEK_END)
                    torn = raw.read(1) != b"\n"
            self._handle = self.path.open("a", encoding="utf-8")
            if torn:  # a kill mid-write left a line without its newline: start ours on a fresh line
                self._handle.write("\n")
        return self._handle

    def _append(self, record: dict) -> None:
        handle = self._open()
        handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        handle.flush()
        os.fsync(handle.fileno())

    def attempting(self, row: int, email: str) -> None:
        self._append({"row": row, "email": email, "state": "attempting"})

    def release(self, row: int) -> None:
        """The request for ``row`` was refused before any processing (e.g. 402): it was not attempted."""
        self._append({"row": row, "state": "released"})

    def outcome(
        self, row: int, email: str, status: str, lead_id: str | None = None, reason: str = ""
    ) -> dict:
        record = {"row": row, "email": email, "status": status, "lead_id": lead_id or "", "reason": reason}
        self._append(record)
        return record

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def __enter__(self) -> Checkpoint:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
