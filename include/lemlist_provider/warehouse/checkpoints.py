"""How far a stream got in an interval, so a killed run resumes on retry instead of starting over.

One row per stream and data interval: the ``minDate``/``maxDate`` the run chose (the first run on an empty
table reaches back further than later runs, and a retry must page the same list) and the offset of the next
page. With ``maxDate`` fixed, lemlist's newest-first list of the window does not move as new activities
arrive, so an offset stays valid. The row is written in the transaction that writes the page, and deleted
when the stream finishes the interval: a later re-run of the interval starts from the beginning.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .database import Warehouse
from .tables import CHECKPOINTS


@dataclass(frozen=True)
class Checkpoint:
    stream: str
    interval_key: str
    min_date: str
    max_date: str
    next_offset: int = 0

    def advanced(self, next_offset: int) -> Checkpoint:
        return Checkpoint(self.stream, self.interval_key, self.min_date, self.max_date, next_offset)


def load(warehouse: Warehouse, stream: str, interval_key: str) -> Checkpoint | None:
    record = warehouse.hook.get_first(
        f"SELECT min_date, max_date, next_offset FROM {CHECKPOINTS.name} "
        f"WHERE stream = {warehouse.mark} AND interval_key = {warehouse.mark}",
        parameters=(stream, interval_key),
    )
    if not record:
        return None
    return Checkpoint(stream, interval_key, record[0], record[1], int(record[2]))


def save(warehouse: Warehouse, cursor: Any, checkpoint: Checkpoint) -> None:
    """Write ``checkpoint`` in the open transaction of ``cursor``."""
    warehouse.upsert(cursor, CHECKPOINTS, [CHECKPOINTS.row(checkpoint.__dict__)])


def clear(warehouse: Warehouse, cursor: Any, checkpoint: Checkpoint) -> None:
    warehouse.delete(
        cursor, CHECKPOINTS, {"stream": checkpoint.stream, "interval_key": checkpoint.interval_key}
    )
