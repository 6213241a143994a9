"""The layered ``SendGate``: the deployment's shared window first, the header-based limiter on top of it.

* Layer 1, the shared window (``shared_window.py``): every process of the deployment takes its send slot
  from one sliding log per key, so they never race each other, whatever window the server keeps.
* Layer 2, the header-based ``RateLimiter``: it still reads every answer. A 429 pauses the process for
  ``Retry-After`` before it takes another slot, and the server's count minus the shared window's count is
  what senders outside the deployment use (another tool with the same key): the gate keeps that many slots
  of the shared window free. It also keeps learning its quota, so that a fallback starts from a fair share.
* The store cannot answer (Redis stopped or slow, the file unusable): the request falls back to the
  header-based limiter at once, with one WARNING per outage and the Stats counter
  ``lemlist.rate_store.fallback``; the store is tried again after ``retry_store_after`` seconds, and the
  gate goes back to the shared window as soon as it answers (an INFO line). No request waits on the store
  for more than its socket timeout.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable

from .ratelimit import RateLimiter
from .shared_window import StoreUnavailable, WindowStore

log = logging.getLogger(__name__)

FALLBACK_METRIC = "lemlist.rate_store.fallback"


class LayeredGate:
    """A ``SendGate`` taking slots from a shared ``WindowStore``, with ``header`` on top and as fallback."""

    #: seconds before a store that failed is tried again
    retry_store_after = 5.0

    def __init__(self, open_store: Callable[[], WindowStore], header: RateLimiter) -> None:
        self.header = header
        self.limit, self.window = header.limit, header.window
        self._open_store = open_store
        self._store: WindowStore | None = None
        self._lock = threading.Lock()
        # one take at a time per process: a slot's read-then-take is not raced by this process's threads
        self._take_lock = threading.Lock()
        self._atake_locks: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # and coroutines, per loop
        self._down = False
        self._retry_at = 0.0
        self._taken: deque[tuple[float, int]] = deque(maxlen=256)  # (monotonic, window count) per slot
        self._outside: deque[tuple[float, int]] = deque(maxlen=256)  # (monotonic, server - shared count)
        self.fallbacks = 0  # outages seen (the Stats counter's value in this process)

    # -- the store's health ------------------------------------------------------------------------
    @property
    def shared(self) -> bool:
        """Whether requests currently take their slots from the shared window."""
        return not self._down

    @property
    def where(self) -> str:
        return self._store.where if self._store is not None else "(not opened)"

    def _usable_store(self) -> WindowStore | None:
        if self._down and time.monotonic() < self._retry_at:
            return None
        if self._store is None:
            try:
                self._store = self._open_store()
            except StoreUnavailable as exc:
                self._failed(exc)
                return None
        return self._store

    def _failed(self, exc: Exception) -> None:
        with self._lock:
            self._retry_at = time.monotonic() + self.retry_store_after
            if self._down:
                return
            self._down = True
            self.fallbacks += 1
        log.warning(
            "lemlist rate store %s unavailable (%s): pacing by the response headers alone, retrying the "
            "store in %.0f s",
            self.where,
            exc,
            self.retry_store_after,
        )
        try:
            from airflow.sdk.observability.stats import Stats

            Stats.incr(FALLBACK_METRIC)
        except Exception:  # metrics must never break a call
            pass

    def _recovered(self) -> None:
        if self._down:
            with self._lock:
                was_down, self._down = self._down, False
            if was_down:
                log.info("lemlist rate store %s is back: sharing its send window again", self.where)

    # -- senders outside the deployment ----------------------------------------------------------------
    def _reserve(self) -> int:
        """Slots to keep free for senders outside the deployment: the largest excess of the server's count
        over the shared window's count seen in the last two windows (0 without one).

        The largest, not a low quantile: while the deployment fills the window, an outside sender is
        mostly refused and shows in the server's count only now and then; each slot left to it lets it
        show more, until the reserve matches its rate. Without one the excess is 0 (a request reaching the
        server later than the margin could make it 1 for two windows).
        """
        horizon = time.monotonic() - 2 * self.window
        with self._lock:
            recent = [sample for at, sample in self._outside if at >= horizon]
        return max(0, min(max(recent, default=0), self.limit - 2))

    def _took(self, count: int) -> None:
        now = time.monotonic()
        with self._lock:
            self._taken.append((now, count))
        self.header.note_sent(now)

    def _count_at(self, sent_at: float) -> int | None:
        with self._lock:
            for at, count in reversed(self._taken):
                if at <= sent_at + 1e-3:
                    return count if sent_at - at < self.window else None
        return None

    def _atake_lock(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        lock = self._atake_locks.get(loop)
        if lock is None:
            lock = self._atake_locks[loop] = asyncio.Lock()
        return lock

    # -- SendGate ------------------------------------------------------------------------------------
    def _settle(self, taken: tuple[float, int]) -> float | None:
        """After the store answered a take: ``None`` when the slot is ours, else how long to wait."""
        self._recovered()
        pause, count = taken
        if pause > 0:
            return min(pause, self.window)
        self._took(count)
        return None

    def acquire(self) -> float:
        waited = 0.0
        while True:
            store = self._usable_store()
            if store is None:
                return waited + self.header.acquire()
            pause = self.header.pause_left()
            if pause <= 0:
                try:
                    with self._take_lock:
                        pause = self._settle(store.take(self._reserve()))
                except StoreUnavailable as exc:
                    self._failed(exc)
                    continue
                if pause is None:
                    return waited
            time.sleep(pause)
            waited += pause

    async def aacquire(self) -> float:
        waited = 0.0
        while True:
            store = self._usable_store()
            if store is None:
                return waited + await self.header.aacquire()
            pause = self.header.pause_left()
            if pause <= 0:
                try:
                    async with self._atake_lock():
                        pause = self._settle(await store.atake(self._reserve()))
                except StoreUnavailable as exc:
                    self._failed(exc)
                    continue
                if pause is None:
                    return waited
            await asyncio.sleep(pause)
            waited += pause

    def observe(
        self,
        status: int | None,
        limit: int | None,
        remaining: int | None,
        retry_after: float | None,
        sent_at: float | None = None,
    ) -> None:
        self.header.observe(status, limit, remaining, retry_after, sent_at)
        if status == 429 or remaining is None or not limit or sent_at is None or self._down:
            return
        count = self._count_at(sent_at)
        if count is not None:
            with self._lock:
                self._outside.append((time.monotonic(), limit - remaining - count))

    def no_answer(self) -> None:
        self.header.no_answer()
