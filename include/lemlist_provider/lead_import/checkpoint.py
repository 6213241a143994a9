"""Per-batch checkpoint: a journal of what happened to each row (see :mod:`lemlist_provider.journal`).

Before a row's request the batch records ``attempting``; after the answer, the row's outcome. A batch killed
at any instant (SIGKILL, OOM, lost worker) leaves, for each row, nothing, an ``attempting`` record or an
outcome, and the retry, on any worker, knows which rows to skip and which to check again (a row attempted
without an outcome is sent again: lemlist answers "already in the campaign", and the row is ``imported``).

On a local path every record is durable as it is written, so a kill loses at most the answer in flight. On
object storage each write is an object of its own, so records are grouped: the outcomes of a window of rows
(``window``) are written together with the next window's ``attempting`` records, and a kill loses at most
one window of outcomes, whose rows are checked again.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from lemlist_provider.journal import journal_at


class Checkpoint:
    def __init__(self, location: Any) -> None:
        self.journal = journal_at(location)
        self._unwritten: list[dict] = []

    @property
    def window(self) -> int:
        """Rows announced together: 1 on a local path, a few dozen on object storage."""
        return self.journal.grouping

    def load(self) -> tuple[dict[int, dict], set[int]]:
        """``(outcomes by row, rows attempted without an outcome)``. A torn last line (kill mid-write) is ignored."""
        done: dict[int, dict] = {}
        attempting: set[int] = set()
        for record in self.journal.read():
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

    def attempting(self, rows: Iterable[tuple[int, str]]) -> None:
        """Announce ``(row, email)`` pairs about to be sent; durable (with every outcome before them) on return."""
        records = [{"row": row, "email": email, "state": "attempting"} for row, email in rows]
        self.journal.append([*self._unwritten, *records])
        self._unwritten = []

    def release(self, row: int) -> None:
        """The request for ``row`` was refused before any processing (e.g. 402): it was not attempted."""
        self._add({"row": row, "state": "released"})

    def outcome(
        self, row: int, email: str, status: str, lead_id: str | None = None, reason: str = ""
    ) -> dict:
        record = {"row": row, "email": email, "status": status, "lead_id": lead_id or "", "reason": reason}
        self._add(record)
        return record

    def _add(self, record: dict) -> None:
        self._unwritten.append(record)
        if len(self._unwritten) >= self.window:
            self.flush()

    def flush(self) -> None:
        if self._unwritten:
            self.journal.append(self._unwritten)
            self._unwritten = []

    def close(self) -> None:
        self.flush()
        self.journal.close()

    def __enter__(self) -> Checkpoint:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
