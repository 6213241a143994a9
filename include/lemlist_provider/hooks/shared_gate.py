"""The layered ``SendGate``: the deployment's shared window first, the header-based limiter on top of it.

* Layer 1, the shared window (``shared_window.py``): every process of the deployment takes its send slot
  from one sliding log per key, so they never race each other, whatever window the server keeps.
* Layer 2, the header-based ``RateLimiter``: it still reads every answer. A 429 pauses the process for
  ``Retry-After`` before it takes another slot, and the server's count minus the shared window's count is
  what senders outside the deployment use (another tool with the same key): the gate keeps that many slots
  of the shared window free (``OutsideReserve``, its state kept in the store so every process leaves the
  same room). It also keeps learning its quota, so that a fallback starts from a fair share.
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
from typing import NamedTuple, get_type_hints

from .ratelimit import RateAnswer, RateLimiter
from .shared_window import StoreUnavailable, WindowStore

log = logging.getLogger(__name__)

FALLBACK_METRIC = "lemlist.rate_store.fallback"


class ReserveState(NamedTuple):
    """The reserve as the store keeps it (wall-clock ``time.time`` seconds: hosts share it)."""

    level: int
    kept_at: float  # when the level was last raised or confirmed (it decays from then)
    seen_at: float = 0.0  # when outside requests were first seen with no reserve (the first sample)
    seen_excess: int = 0  # that sample
    peak: int = 0  # the largest sample in the first two windows since then
    raised_at: float = 0.0  # the last raise by a 429

    @classmethod
    def of(cls, stored: tuple | None) -> ReserveState | None:
        """The state from what the store holds (``None``: nothing, or a value this version did not write:
        another shape, or numbers no reserve has, such as ``inf``; the store is shared, so it is read as
        no reserve rather than trusted)."""
        if not stored or len(stored) != len(cls._fields):
            return None
        try:
            return cls(*(kind(value) for kind, value in zip(_RESERVE_KINDS, stored, strict=True)))
        except (ValueError, OverflowError):
            return None


#: each field's type (``int`` or ``float``), in order: what ``ReserveState.of`` converts the stored numbers to
_RESERVE_KINDS = tuple(get_type_hints(ReserveState).values())


class OutsideReserve:
    """How many slots of the shared window to leave to senders outside the deployment (the same key used
    by another tool), learned from the answers. A pure rule over a ``ReserveState`` that the shared store
    keeps, so every process of the deployment leaves the same room (one process with a reserve of 0 would
    take all the room the others leave).

    A sample is the server's count minus the shared window's count over the same window: what the outside
    senders got through. The deployment sends at an even pace (``shared_window``), so its answers come in
    the order its slots were taken and a sample is exact on a sliding window; on a fixed one it grows
    through the window to the outside senders' whole use at its end. Outside senders are refused whenever
    the deployment fills the window, so a sample only shows what they were given, never what they wanted:

    * the level is the largest recent sample plus ``headroom``: a sender held to ``level`` slots can show
      more than it was given at the edges of a window (its requests and ours land in a different order
      at the server), and one that wants more than it is left shows it, so the level follows it up;
    * a lone outside request (a sample of 1 with no reserve yet) does not start one: it is as likely a
      request of ours counted at the edge of the window;
    * for a window after outside requests are first seen, the sender may have just started and its sample
      is only part of its use: the level is then at least its pace since, over a whole window (samples
      that grew from ``seen_excess`` to ``excess`` in ``t`` seconds: ``(excess - seen_excess) * window /
      t``). Without this the level climbs one sample behind a new sender all through its first window
      while the deployment, still seeing room, fills the window: near its end both are refused. A sample
      that grew is first seen soon after the request that made it grow, so each growth's estimate is the
      largest and the level keeps it;
    * in the next window the samples show the sender's whole use: the level is the largest sample since
      it was first seen plus ``headroom``, replacing the first window's estimate (two requests counted
      close together, by a deployment that started after the sender, make that estimate too high);
    * a sample that asks for the level again confirms it; without one for ``hold`` windows the reserve
      gives back one slot, so it decays slowly once the outside sender slows down or stops (one slot per
      10 s at lemlist's 2 s window);
    * a 429 the deployment gets while the store is healthy can only come from senders outside it: the
      reserve grows by one, once per window (one overflow refuses several of our processes at once; it is
      one sign, not several).
    """

    headroom = 1
    hold = 5.0
    #: the first outside requests are timed over at least this share of a window before the level is
    #: their pace over a whole window (two requests a few milliseconds apart say nothing about a pace)
    min_span = 0.125
    empty = ReserveState(0, 0.0)

    def __init__(self, limit: int, window: float, clock: Callable[[], float] = time.time) -> None:
        self.cap = max(0, limit - 2)  # the deployment always keeps a slot
        self.window = window
        self._clock = clock

    def _decayed(self, state: ReserveState | None) -> ReserveState:
        state = state or self.empty
        steps = int((self._clock() - state.kept_at) // (self.hold * self.window)) if state.level else 0
        if steps <= 0:
            return state
        return state._replace(
            level=max(0, state.level - steps), kept_at=state.kept_at + steps * self.hold * self.window
        )

    def value(self, state: ReserveState | None) -> int:
        """The reserve now (decayed by one slot per ``hold`` windows without a confirming sample)."""
        return self._decayed(state).level

    def sampled(self, state: ReserveState | None, excess: int) -> ReserveState | None:
        """The state after a sample of ``excess`` outside requests in the server's window (``None``: as is)."""
        state, now = self._decayed(state), self._clock()
        if excess <= 0:
            return None
        since = now - state.seen_at
        if not state.level and since >= self.window:
            # outside requests first seen: a lone one only marks the time (it is as likely one of ours
            # counted at the window's edge); more start the level
            state, since = state._replace(seen_at=now, seen_excess=excess, peak=excess), 0.0
            if excess < 2:
                return state
        elif not state.level and excess < 2:
            return None
        if since >= 2 * self.window:
            wanted = min(self.cap, excess + self.headroom)
            return state._replace(level=wanted, kept_at=now) if wanted >= state.level else None
        peak = max(state.peak, excess)
        if since >= self.window:
            # the next window: the level is the largest sample since the sender was first seen (the
            # first window's estimate of its pace is replaced by what it showed)
            new = state._replace(level=min(self.cap, peak + self.headroom), kept_at=now, peak=peak)
            return new if new != state else None
        # the first window: the sender may have just started, its sample is only part of its use
        wanted = peak
        if since >= self.min_span * self.window:
            wanted = max(peak, int((excess - state.seen_excess) * self.window / since))
        wanted = min(self.cap, wanted + self.headroom)
        new = (
            state._replace(level=wanted, kept_at=now, peak=peak)
            if wanted >= state.level
            else state._replace(peak=peak)
        )
        return new if new != state else None

    def rejected(self, state: ReserveState | None) -> ReserveState:
        """The state after a 429 the deployment got while the shared window had room for the request."""
        state, now = self._decayed(state), self._clock()
        if now - state.raised_at < self.window:
            return state
        return state._replace(level=min(self.cap, state.level + 1), kept_at=now, raised_at=now)


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
        self.outside = OutsideReserve(self.limit, self.window)
        self.fallbacks = 0  # outages seen (the Stats counter's value in this process)
        # no learning about outside senders before this (``time.monotonic``): just after an outage the
        # server still counts sends the store never saw, this process's and those of processes not back yet
        self._learn_after = 0.0

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
        self.header.take_over()
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

    def _recovered(self) -> int:
        """Mark the store healthy; when it was down until now, the sends the server counts in its window
        that the store does not hold (made without it: this process's, and those of processes not back
        yet), for the store to record, else 0."""
        if not self._down:
            return 0
        with self._lock:
            was_down, self._down = self._down, False
        if not was_down:
            return 0
        log.info("lemlist rate store %s is back: sharing its send window again", self.where)
        self._learn_after = time.monotonic() + 2 * self.window
        return self.header.window_count()

    # -- senders outside the deployment ----------------------------------------------------------------
    def _reserve(self, stored: tuple | None) -> int:
        """Slots of the shared window to keep free for senders outside the deployment (``OutsideReserve``),
        from the store's state as it is at this take (``stored``): a level another process raised a moment
        ago holds this take too. A process that read it only at its own answers, sending once a second,
        would take slots for up to a second after the reserve had given them away."""
        return self.outside.value(ReserveState.of(stored))

    def _learn(self, update: Callable[[ReserveState | None], ReserveState | None]) -> None:
        """Read the store's reserve, apply ``update``, write it back when it changed. Two processes may
        both read then write: the last write wins and the lost step is taken again at the next answer."""
        store = self._store
        if store is None:
            return
        try:
            state = ReserveState.of(store.read_reserve())
            new = update(state)
            if new is not None and new != state:
                store.write_reserve(new)
        except StoreUnavailable:
            return  # the next take finds the store down and falls back

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
    def _settle(self, taken: tuple[float, int]) -> tuple[float | None, int]:
        """After the store answered a take: ``None`` when the slot is ours, else how long to wait; and the
        sends made during an outage that just ended, for the store to count (``WindowStore.record``)."""
        unrecorded = self._recovered()
        pause, count = taken
        if pause > 0:
            return min(pause, self.window), unrecorded
        self._took(count)
        return None, unrecorded

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
                        pause, unrecorded = self._settle(store.take(self._reserve(store.read_reserve())))
                        if unrecorded:
                            store.record(unrecorded)
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
                        reserve = self._reserve(await asyncio.to_thread(store.read_reserve))
                        pause, unrecorded = self._settle(await store.atake(reserve))
                        if unrecorded:
                            await asyncio.to_thread(store.record, unrecorded)
                except StoreUnavailable as exc:
                    self._failed(exc)
                    continue
                if pause is None:
                    return waited
            await asyncio.sleep(pause)
            waited += pause

    def observe(self, answer: RateAnswer) -> None:
        self.header.observe(answer)
        if self._down or time.monotonic() < self._learn_after:
            return
        status, limit, remaining, sent_at = answer.status, answer.limit, answer.remaining, answer.sent_at
        if status == 429:
            # every send of the deployment had its slot in the shared window: only a sender outside it
            # (or a request counted late) can fill the server's window over it
            self._learn(self.outside.rejected)
            return
        if remaining is None or not limit or sent_at is None:
            return
        count = self._count_at(sent_at)
        if count is not None:
            excess = limit - remaining - count
            self._learn(lambda state: self.outside.sampled(state, excess))

    def no_answer(self) -> None:
        self.header.no_answer()
