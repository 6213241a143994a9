"""The per-key budget, lemlist's "20 requests per 2 seconds", in three kinds of window.

lemlist documents the budget and its four headers but not how the window moves, so the sandbox can play
each plausible kind (``docs/sandbox.md``):

- ``sliding``: a log of the last ``window`` seconds; a slot frees ``window`` after the request that took it.
  The strictest kind (no double burst at a window edge), so a client that stays under it stays under any.
- ``fixed``: a counter started by the first request after the previous window ended and dropped ``window``
  seconds later, as a Redis ``INCR`` + ``EXPIRE`` limiter behaves; every slot frees at once.
- ``fixed-aligned``: fixed windows aligned to the clock (``[0 s, 2 s)``, ``[2 s, 4 s)``, ...).

Rejected requests never use budget. Time is the wall clock (``clock`` is injectable for tests).
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

WINDOW_KINDS = ("sliding", "fixed", "fixed-aligned")


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset_at: float  # epoch seconds when budget frees up (the oldest slot, or the whole window)
    retry_after: int  # whole seconds, for the Retry-After header (0 when allowed)


def js_date(epoch: float) -> str:
    """``X-RateLimit-Reset`` as lemlist sends it: a JavaScript ``Date.toString()``."""
    return time.strftime("%a %b %d %Y %H:%M:%S GMT+0000 (Coordinated Universal Time)", time.gmtime(epoch))


def _rejected(limit: int, now: float, free_at: float) -> Decision:
    return Decision(False, limit, 0, free_at, max(1, math.ceil(free_at - now)))


class Limiter(Protocol):
    limit: int
    window: float

    def check(self, key: str) -> Decision: ...

    def reset(self) -> None: ...


class SlidingWindowLimiter:
    def __init__(self, limit: int, window: float, *, clock: Callable[[], float] = time.time) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self._log: dict[str, deque[float]] = {}

    def reset(self) -> None:
        self._log.clear()

    def check(self, key: str) -> Decision:
        now = self.clock()
        log = self._log.setdefault(key, deque())
        while log and log[0] <= now - self.window:
            log.popleft()
        if len(log) >= self.limit:
            return _rejected(self.limit, now, log[0] + self.window)
        log.append(now)
        return Decision(True, self.limit, self.limit - len(log), log[0] + self.window, 0)


class FixedWindowLimiter:
    """One counter per key and window; ``aligned`` windows start at multiples of ``window`` on the clock."""

    def __init__(
        self, limit: int, window: float, *, aligned: bool = False, clock: Callable[[], float] = time.time
    ) -> None:
        self.limit = limit
        self.window = window
        self.aligned = aligned
        self.clock = clock
        self._windows: dict[str, tuple[float, int]] = {}  # key -> (window start, requests counted)

    def reset(self) -> None:
        self._windows.clear()

    def check(self, key: str) -> Decision:
        now = self.clock()
        start, count = self._windows.get(key, (-math.inf, 0))
        if now >= start + self.window:
            start, count = (math.floor(now / self.window) * self.window if self.aligned else now), 0
        end = start + self.window
        if count >= self.limit:
            return _rejected(self.limit, now, end)
        self._windows[key] = (start, count + 1)
        return Decision(True, self.limit, self.limit - count - 1, end, 0)


def make_limiter(kind: str, limit: int, window: float, *, clock: Callable[[], float] = time.time) -> Limiter:
    if kind == "sliding":
        return SlidingWindowLimiter(limit, window, clock=clock)
    if kind in ("fixed", "fixed-aligned"):
        return FixedWindowLimiter(limit, window, aligned=kind == "fixed-aligned", clock=clock)
    raise ValueError(f"unknown rate window kind {kind!r}: use one of {', '.join(WINDOW_KINDS)}")
