"""Per-process pacing of one API key's budget, shared with every other process holding the key.

lemlist allows ``limit`` requests per ``window`` seconds per key (20 per 2 s) and tells every client, in
each response, how much of the window is used (``X-RateLimit-Limit`` - ``X-RateLimit-Remaining``). That
count is the only state all workers share, so each process estimates how many processes share the key:

    sharers ~= server_count_in_window / own_count_in_window

and paces itself at ``budget / sharers`` (minus a small safety margin). If the sharers' estimates agree,
the sum of the rates is the budget whatever the split; when a sharer stops, the server count drops and the
others speed up within one window. A process never exceeds the budget from its own log alone, a 429 raises
the estimate and pauses every thread of the process until ``Retry-After``, and a low ``Remaining`` brakes.

A newcomer knows nothing: its first request goes out alone (later threads wait for its answer), so eight
processes starting together probe first and pace from the answer instead of bursting.

The limiter is thread-safe (a lock held only for arithmetic) and usable from asyncio: ``reserve()``
returns the delay to wait, ``acquire()`` sleeps it, ``aacquire()`` awaits it without blocking the loop.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time
from collections import deque
from dataclasses import dataclass, field

DEFAULT_LIMIT = 20
DEFAULT_WINDOW = 2.0


@dataclass
class LimiterStats:
    paced_seconds: float = 0.0
    observations: int = 0
    sharers: float = 1.0
    history: list[float] = field(default_factory=list)


class RateLimiter:
    """Adaptive pacing for one key in one process. Time is ``time.monotonic`` seconds."""

    #: fraction of the budget kept free for network jitter when the key is used by this process alone
    margin_alone = 0.025
    #: extra fraction kept free when others share the key: independent senders' requests bunch up in the
    #: server's sliding window, and every 429 costs a whole ``Retry-After`` second
    margin_shared = 0.06
    #: EWMA weight when the measured sharers drop (others finished)
    alpha_down = 0.3
    #: remaining at or below which a response counts as "crowded", and the phase shift it causes
    #: (in units of the key's spacing, window / limit)
    crowded = 1
    phase_shift = 0.5
    #: factor applied to the sharer estimate on a 429
    bump_on_429 = 1.6
    #: EWMA weight of a new observation
    alpha = 0.3

    def __init__(
        self, limit: int = DEFAULT_LIMIT, window: float = DEFAULT_WINDOW, clock=time.monotonic
    ) -> None:
        self.limit = max(0, int(limit))
        self.window = float(window)
        self._clock = clock
        self._lock = threading.Lock()
        self._own: deque[float] = deque()  # send times of this process (reserved slots)
        self._next = 0.0  # earliest time the next request may go out
        self._paused_until = 0.0  # 429 Retry-After for every thread of the process
        self._sharers = 1.0
        self._ew_server = 0.0  # smoothed server count in the window
        self._ew_own = 0.0  # smoothed own count in the same window
        self._probing = False  # the first request is in flight: others wait for its answer
        self._probed = False
        self.stats = LimiterStats()

    @property
    def enabled(self) -> bool:
        return self.limit > 0 and self.window > 0

    @property
    def sharers(self) -> float:
        return self._sharers

    def margin(self) -> float:
        shared = min(1.0, max(0.0, (self._sharers - 1.0) / 2.0))
        return self.margin_alone + self.margin_shared * shared

    def _interval(self) -> float:
        rate = self.limit * (1.0 - self.margin()) / self.window  # requests per second for the whole key
        return self._sharers / rate

    def _own_cap(self) -> int:
        return max(1, self.limit)

    def _prune(self, now: float) -> None:
        horizon = now - self.window
        own = self._own
        while own and own[0] <= horizon:
            own.popleft()

    # -- before a request ------------------------------------------------------------------------
    def reserve(self) -> float:
        """Claim the next send slot; returns how long to wait before sending (0 = now).

        Returns ``-1`` while the first (probe) request is in flight: call again a little later.
        """
        if not self.enabled:
            return 0.0
        with self._lock:
            now = self._clock()
            if not self._probed:
                if self._probing:
                    return -1.0
                self._probing = True
            at = max(now, self._next, self._paused_until)
            self._prune(now)
            cap = self._own_cap()
            if len(self._own) >= cap:
                # never more than the budget from this process alone, whatever the estimate says
                at = max(at, self._own[-cap] + self.window + 0.01)
            self._own.append(at)
            self._next = at + self._interval()
            delay = at - now
            self.stats.paced_seconds += delay
            return delay

    def acquire(self) -> float:
        """Wait (sleeping this thread) until this request may go out; returns the time waited."""
        waited = 0.0
        while True:
            delay = self.reserve()
            if delay >= 0:
                if delay > 0:
                    time.sleep(delay)
                return waited + delay
            time.sleep(0.005)
            waited += 0.005

    async def aacquire(self) -> float:
        """Like ``acquire`` for asyncio: never blocks the event loop."""
        waited = 0.0
        while True:
            delay = self.reserve()
            if delay >= 0:
                if delay > 0:
                    await asyncio.sleep(delay)
                return waited + delay
            await asyncio.sleep(0.005)
            waited += 0.005

    # -- after a response ------------------------------------------------------------------------
    def observe(
        self,
        status: int | None,
        limit: int | None,
        remaining: int | None,
        retry_after: float | None,
        sent_at: float | None = None,
    ) -> None:
        """Learn from a response's rate-limit headers; ``sent_at`` (monotonic) is when that request left.

        The server counted the window ending when the request arrived (~``sent_at``), so the own count
        is taken over the same window: a later reference would undercount and overestimate the sharers.
        """
        if not self.enabled:
            return
        with self._lock:
            now = self._clock()
            self._probing = False
            self._probed = True
            if status == 429:
                # someone else is using the key harder than we thought: back off for everyone in the process
                self._sharers = min(64.0, self._sharers * self.bump_on_429)
                self._ew_server = self._ew_own * self._sharers
                pause = retry_after if retry_after and retry_after > 0 else self.window / 2
                self._paused_until = max(self._paused_until, now + pause)
                self._next = max(self._next, self._paused_until)
                return
            if remaining is None or not limit:
                return
            if limit != self.limit and limit > 0:
                self.limit = limit  # the server knows the real budget better than the connection
            ref = sent_at if sent_at is not None else now
            self._prune(now)
            own = sum(1 for t in self._own if ref - self.window < t <= ref + 1e-6)
            server = max(0, limit - remaining)
            if own <= 0:
                return
            server = max(server, own)
            self.stats.observations += 1
            if self.stats.observations == 1:
                self._ew_server, self._ew_own = float(server), float(own)
            else:
                a = max(self.alpha, 1.0 / self.stats.observations)  # a plain mean while young
                if server / own < self._sharers:
                    a = max(a, self.alpha_down)  # sharers left: take their budget back quickly
                self._ew_server += a * (server - self._ew_server)
                self._ew_own += a * (own - self._ew_own)
            self._sharers = max(1.0, self._ew_server / max(self._ew_own, 1e-9))
            self.stats.sharers = self._sharers
            if remaining <= self.crowded and self._sharers > 1.2:
                # Others are sending and the window is (nearly) full at this point of our cycle: shift our
                # phase a little later. Independent senders at random phases bunch up in a sliding window;
                # this repulsion spreads them out until each lands where the window has room.
                self._next += self.phase_shift * self.window / self.limit * (self.crowded + 1 - remaining)

    def release_probe(self) -> None:
        """The probe failed without a response: let the next request probe instead."""
        with self._lock:
            self._probing = False


_REGISTRY: dict[tuple[str, str], RateLimiter] = {}
_REGISTRY_LOCK = threading.Lock()


def limiter_for(base_url: str, secret: str | None, limit: int, window: float) -> RateLimiter:
    """The process-wide limiter of one key on one service; the key itself is only kept as a hash."""
    digest = hashlib.sha256((secret or "").encode()).hexdigest()[:16]
    key = (base_url.rstrip("/"), digest)
    with _REGISTRY_LOCK:
        limiter = _REGISTRY.get(key)
        if limiter is None or limiter.window != float(window) or (limiter.limit == 0) != (int(limit) == 0):
            limiter = RateLimiter(limit, window)
            _REGISTRY[key] = limiter
        return limiter


def reset_limiters() -> None:
    """Forget every limiter (tests, and benchmarks that start a fresh worker in the same process)."""
    with _REGISTRY_LOCK:
        _REGISTRY.clear()
