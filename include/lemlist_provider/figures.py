"""The request figures every summary, trigger event and incident line reports, from a hook's counters, and the
seconds waited as wall-clock time.

Seconds waited are kept as intervals, not as a sum: mapped batches (or threads) that wait at the same time
wait once on the clock, so a run's "seconds waited" is the length of the union of its tasks' intervals and can
never exceed the run's duration (a sum once showed 148.6 s waited in a 57 s run).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

FIGURES = ("requests", "rate_limited", "retries")
#: the figures of the ops summary shape (``ops.summary``), in the order the page shows them
OPS_FIGURES = ("requests", "rate_limited", "retries", "failures")
#: intervals a hook keeps at most; past that, the two closest are joined (their gap counts as waited)
MAX_INTERVALS = 1000


def http_figures(metrics: dict[str, Any] | None) -> dict[str, int]:
    """``{"requests", "rate_limited", "retries"}`` from ``hook.metrics()`` (missing counters are 0)."""
    metrics = metrics or {}
    return {key: int(metrics.get(key) or 0) for key in FIGURES}


def merge_intervals(intervals: Iterable[Iterable[float]]) -> list[list[float]]:
    """Sorted, non-overlapping ``[start, end]`` pairs covering the same instants (epoch seconds)."""
    merged: list[list[float]] = []
    for start, end in sorted((float(a), float(b)) for a, b in intervals if float(b) > float(a)):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return merged


def union_seconds(intervals: Iterable[Iterable[float]]) -> float:
    """Wall-clock seconds covered by at least one interval."""
    return round(sum(end - start for start, end in merge_intervals(intervals)), 3)


class WaitIntervals:
    """The ``[start, end]`` wall-clock intervals one hook spent waiting (the gate, 429s, backoff), merged as
    they come. Thread-safe: a task may share its hook between threads.

    A long import paces before nearly every request, so the list is bounded to ``MAX_INTERVALS``: past that the
    two closest intervals are joined (the newest such pair), which overstates the intervals by their gap. The
    hook's own total (``seconds``) stays exact: it is counted as the intervals come; only a run's union over
    several such long tasks can be overstated, by at most the joined gaps."""

    def __init__(self) -> None:
        self._items: list[list[float]] = []
        self._seconds = 0.0
        self._lock = threading.Lock()

    def add(self, start: float, end: float) -> None:
        if end <= start:
            return
        with self._lock:
            items = self._items
            if items and start < items[-1][0]:  # out of order (threads): count the part not yet covered
                before = union_seconds(items)
                self._items = items = merge_intervals([*items, [start, end]])
                self._seconds += union_seconds(items) - before
            elif items and start <= items[-1][1]:
                self._seconds += max(0.0, end - items[-1][1])
                items[-1][1] = max(items[-1][1], end)
            else:
                self._seconds += end - start
                items.append([start, end])
            if len(items) > MAX_INTERVALS:
                gaps = [items[i + 1][0] - items[i][1] for i in range(len(items) - 1)]
                smallest = min(gaps)
                i = len(gaps) - 1 - gaps[::-1].index(smallest)
                items[i : i + 2] = [[items[i][0], items[i + 1][1]]]

    def since(self, start: float) -> list[list[float]]:
        """The intervals (or their parts) after ``start``: what one try of a task waited."""
        with self._lock:
            return [[round(max(a, start), 3), round(b, 3)] for a, b in self._items if b > start]

    def seconds(self) -> float:
        """Wall-clock seconds this hook waited (exact, whatever was joined)."""
        with self._lock:
            return round(self._seconds, 3)
