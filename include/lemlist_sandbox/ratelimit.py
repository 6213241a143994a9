"""The per-key budget: a sliding window, like lemlist's "20 requests per 2 seconds".

A sliding log is stricter than a fixed window (no double burst at a window edge), so a client that
stays under it here stays under the real service too. Rejected requests do not use budget.
"""

from __future__ import annotations

import math
import time
from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset_at: float  # epoch seconds when a slot frees up
    retry_after: int  # whole seconds, for the Retry-After header (0 when allowed)


def js_date(epoch: float) -> str:
    """``X-RateLimit-Reset`` as lemlist sends it: a JavaScript ``Date.toString()``."""
    return time.strftime("%a %b %d %Y %H:%M:%S GMT+0000 (Coordinated Universal Time)", time.gmtime(epoch))


class SlidingWindowLimiter:
    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self._log: dict[str, deque[float]] = {}

    def reset(self) -> None:
        self._log.clear()

    def check(self, key: str) -> Decision:
        mono = time.monotonic()
        wall = time.time()
        log = self._log.setdefault(key, deque())
        horizon = mono - self.window
        while log and log[0] <= horizon:
            log.popleft()
        if len(log) >= self.limit:
            wait = log[0] + self.window - mono
            return Decision(False, self.limit, 0, wall + wait, max(1, math.ceil(wait)))
        log.append(mono)
        reset_in = log[0] + self.window - mono
        return Decision(True, self.limit, self.limit - len(log), wall + reset_in, 0)
