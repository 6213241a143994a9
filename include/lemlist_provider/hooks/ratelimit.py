"""Per-process pacing of one API key's budget, shared with every other process holding the key.

lemlist allows ``limit`` requests per ``window`` seconds per key (20 per 2 s) and tells every client, in
each response, how much of the window is used (``X-RateLimit-Limit`` - ``X-RateLimit-Remaining``). That
count is the only state all processes holding the key share. Whether the window slides or is fixed is not
documented.

**Two ways to spend it.** Once an answer carries ``X-RateLimit-Reset`` (lemlist's all do), the limiter sends
in bursts held a window (``bursts.py``): one rule for a sliding and a fixed window, with nothing to estimate
about the others' share, where the quotas below let 2-4 % of requests be refused on a fixed window. An
answer without it (a proxy that drops the header, another server) keeps the integer quotas described here,
which start as for a sliding window and learn a fixed one (see the end).

**Integer quotas.** Each process holds an integer quota ``k`` (requests per window), sends at the period
``window / k * (1 + margin)`` and never has more than ``k`` requests in its own trailing window. Such a
sender puts at most ``k`` requests in ANY sliding window, whatever its phase, so the server's count is
``sum(k)`` over the processes, steady and the same for all of them. (Pacing each process at a fractional
``budget / sharers`` instead lets independent senders at random phases bunch up: 8 senders at 2.25 requests
per window put 16 + Binomial(8, 0.25) requests in a window, which overflows a few percent of the time, and
each 429 costs a whole ``Retry-After`` second.) Every response gives ``others = server count - own count``
for the window ending at our request, so ``others + k`` is the count our current quota leads to:

* alone in the window: ``k = limit`` (our own window keeps us within the budget);
* shared, the target is ``limit - 1``: one free slot absorbs jitter and one sharer's step at a time.
  With room, a process grows by one slot with a chance per response of ``grow * room / count * fair_k / k``:
  every process, whatever its quota, grows about as often per window, so the shares drift towards equal
  (integer shares of 19 among 8 cannot be equal, but 2 or 3 each, not 5 beside 1). Equal shares of equal
  work finish together; unequal ones leave the small shares running a long tail in a half-empty window.
  Over the target, slots are given back mostly by the big quotas (the chance per window goes with k cubed);
* room is not taken at once: after the window was seen full, nobody grows until it has stayed free for
  ``grow_delay`` windows. Room that shows right after a full window is most often a sharer paused by a 429
  (``Retry-After`` is at most a window); taking it makes that sharer's return the next 429, and so on in a
  cascade that also leaves the paused sharers with ever smaller quotas. Room that stays free longer
  belongs to a sharer that has finished, and the chance of taking it then grows with its age and size, so
  the survivors fill the window within about a window instead of drifting up over several (in simulation
  that drift, repeated as each of eight sharers finishes, cost more slots than anything else);
* a grown quota's first extra request goes out at once, so the others see the room is taken within
  milliseconds instead of a window later (the own window still caps the process at ``k``);
* a 429 (the last resort) pauses every thread of the process until ``Retry-After`` (what lemlist asks),
  plus a random part of a period so the processes told the same ``Retry-After`` do not resume in lockstep;
  the quota shrinks, and the first answer after the pause sizes it to what still fits beside the others;
* a newcomer's first request goes out alone (later threads wait for its answer); it starts at a small share
  of the room it saw, at a random phase, and grows only after ``settle`` windows, when the counts of
  processes started with it have settled. Eight processes starting together therefore ramp up instead of
  bursting; one that still sees nobody doubles its quota every ``alone_step`` windows rather than taking the
  whole budget at once, so processes started a few hundred milliseconds later still find room.

**Fixed windows.** A fixed window's count grows from 0 at its start to its total at its end and then drops
at once, so a count seen early in it under-states the others (by half, sampled at a random phase), and an
overflow refuses every sharer until the window ends (a 429 each). A drop from half the budget to a
quarter of it within ``reset_gap`` windows marks the window ``fixed``; from then on:

* the window's start is learned (our request found it empty, a drop, a whole number of windows after the
  last start), and ``others`` is the count minus our own requests since the start, scaled from the part
  of the window gone (at least ``min_phase``) to the whole window and rounded up;
* a process of one request a window sends it in the window's second half: its period is the window's, so
  it would otherwise see the count at the same early phase window after window and take that for room;
* as on a sliding window, a process that got a 429 does not grow for ``hold_after_429`` windows.

In simulation (8 processes of 37 or 75 requests, 24 seeds) this cut the 429s on a fixed window from 7-9 %
to 1.2-2 % of the requests; a sliding window is steered as before.

The limiter is thread-safe (a lock held only for arithmetic) and usable from asyncio: ``reserve()``
returns the delay to wait, ``acquire()`` sleeps it, ``aacquire()`` awaits it without blocking the loop.
``observe()`` is a few comparisons over at most ``limit`` send times.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import random
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import NamedTuple, Protocol

from .bursts import WindowBursts

DEFAULT_LIMIT = 20
DEFAULT_WINDOW = 2.0


class RateAnswer(NamedTuple):
    """What an answer says about the key's budget: its status and rate-limit headers, and when the request
    left (``time.monotonic``): the server counted the window ending about then."""

    status: int | None
    limit: int | None
    remaining: int | None
    retry_after: float | None
    sent_at: float | None = None
    #: ``X-RateLimit-Reset`` in epoch seconds of the server's clock (a date to the second), if sent
    reset: float | None = None


class SendGate(Protocol):
    """Where a request takes its send slot and reports its answer: the one seam both hooks send through.

    ``RateLimiter`` is the header-based gate; ``shared_gate.LayeredGate`` puts the deployment's shared
    window (Redis, or a file on this host) under it. ``limiter_for`` picks one; neither hook changes.
    """

    def acquire(self) -> float:
        """Block until the request may go out; return the seconds waited."""

    async def aacquire(self) -> float:
        """``acquire`` without blocking the event loop."""

    def observe(self, answer: RateAnswer) -> None:
        """Learn from the answer to a request this gate let out."""

    def no_answer(self) -> None:
        """The request got no answer (timeout, reset)."""


class RateLimiter:
    """Integer-quota pacing for one key in one process. Time is ``time.monotonic`` seconds."""

    #: the period and the own window are stretched by this fraction so that network and sleep jitter do
    #: not pack k+1 of our requests into one server window (larger alone: a full window has no slack)
    margin = 0.01
    margin_alone = 0.025
    #: free slots kept when the key is shared
    shared_slack = 1
    #: with room, chance per response of taking a slot = grow * room / server * fair_k / k: a process
    #: sees k responses per window, so each grows about ``grow * fair_k * room / server`` times per
    #: window whatever its quota (small shares catch up; equal shares finish equal work together)
    grow = 1.5
    fair_k = 3.0
    #: while the window is over the target, chance per response of giving a slot back =
    #: shed * (k / limit) ** shed_power; per window that goes with k cubed, so the big quotas give back
    shed = 2.0
    shed_power = 2.0
    #: after the window was seen full, nobody grows until the room has stayed free this many windows:
    #: a sharer told to wait by a 429 (``Retry-After`` is at most a window) comes back to its own slots
    #: instead of finding them taken, which would only start the next 429
    grow_delay = 0.75
    #: room still free ``accel_delay`` windows after the window was last seen full belongs to a sharer that
    #: has finished: from then on the chance of growing is multiplied by
    #: 1 + accel * (windows past accel_delay) * (free slots over the target - 1)
    accel = 4.0
    accel_delay = 0.75
    #: a newcomer starts with room / newcomer_divisor (several may start at once, unseen by each other)
    newcomer_divisor = 5
    #: a newcomer waits this many windows before growing, while the counts of its peers settle
    settle = 0.6
    #: no growth for this many windows after a 429 (5 while fixed windows were steered as sliding ones and
    #: overflowed often; held that long, the survivors of a 429 left the last sharers' room unused)
    hold_after_429 = 2.0
    #: alone since the start, the quota doubles at most once per ``alone_step`` windows instead of
    #: jumping to the limit: processes started a few hundred ms later must still find room
    alone_step = 0.1
    #: a count that drops from at least half the budget to at most a quarter of it between two answers
    #: less than this many windows apart is a fixed window's reset (a sliding one frees slot by slot)
    reset_gap = 1.5
    #: on a fixed window, the others' count so far is scaled to a whole window from at least this fraction
    #: of it (earlier in the window a request more or less would swing the estimate); a process of one
    #: request per window sends it after this fraction, so that its one count a window says something
    min_phase = 0.5

    def __init__(
        self,
        limit: int = DEFAULT_LIMIT,
        window: float = DEFAULT_WINDOW,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        self.limit = max(0, int(limit))
        self.window = float(window)
        self._clock = clock
        self._rng = rng or random.Random()
        self._lock = threading.Lock()
        self._own: deque[float] = deque()  # send times of this process (reserved slots)
        self._next = 0.0  # earliest time the next request may go out
        self._paused_until = 0.0  # 429 Retry-After for every thread of the process
        self._quota = 1
        self._sharers = 1.0
        self._probing = False  # the first request is in flight: others wait for its answer
        self._probed = False
        self._grow_after = 0.0  # no growth before (a newcomer waits for the counts to settle)
        self._room_since: float | None = None  # since when the window has had room (None: seen full)
        self._restart = False  # after a 429: size the quota from the next answer
        self._alone_at = 0.0
        self._shared_seen = False  # alone since the start: ramp up (others may be starting too)
        #: "sliding" until a reset is seen that frees (nearly) every slot at once: then "fixed"
        self.window_kind = "sliding"
        #: (answered at, sent at, server count) of the last answer
        self._last_answer: tuple[float, float, int] | None = None
        self._window_start: float | None = None  # when the server's fixed window began (send-time clock)
        self._others_seen: deque[tuple[float, int]] = deque(maxlen=64)
        #: bursts held a window (``bursts.py``) once an answer said when the window frees; else paced quotas
        self._bursts = WindowBursts(self.window)
        self._bursting = False

    @property
    def enabled(self) -> bool:
        return self.limit > 0 and self.window > 0

    @property
    def pacing(self) -> str:
        """``bursts`` once an answer carried lemlist's reset date (``bursts.py``), else ``quotas``."""
        return "bursts" if self._bursting else "quotas"

    @property
    def sharers(self) -> float:
        """Estimated processes sending with this key (server count / own quota)."""
        return self._sharers

    @property
    def quota(self) -> int:
        """This process's requests per window."""
        return self._quota

    def _margin(self) -> float:
        return self.margin_alone if self._quota >= self.limit else self.margin

    def _period(self) -> float:
        return self.window / self._quota * (1.0 + self._margin())

    def _set_quota(self, k: int, catch_up: bool = True) -> None:
        k = max(1, min(self.limit, int(k)))
        if k == self._quota:
            return
        grew = catch_up and k > self._quota
        self._quota = k
        if self._own:
            last = self._own[-1]
            # growing: the next request may go out at once (the own window still caps it at k), so the
            # server's count shows the new quota within milliseconds and the others see the room is gone
            spacing = 0.0 if grew else self._period()
            self._next = max(self._paused_until, last + spacing)

    def _forget(self, sent_at: float) -> None:
        own = self._own
        for i in range(len(own) - 1, -1, -1):
            if own[i] <= sent_at + 1e-6:
                del own[i]
                return

    def _prune(self, now: float) -> None:
        horizon = now - 2 * self.window
        own = self._own
        while len(own) > self.limit and own[0] <= horizon:
            own.popleft()

    def pause_left(self) -> float:
        """Seconds left of the pause a 429 imposed on every thread of the process (0: none)."""
        return max(0.0, self._paused_until - self._clock())

    def note_sent(self, at: float | None = None) -> None:
        """A request went out on a slot of another layer (the shared window): count it as ours, so the
        quota this limiter keeps learning fits the others if it has to take over."""
        with self._lock:
            self._probed = True
            self._own.append(self._clock() if at is None else at)
            self._prune(self._clock())

    def recent_sends(self) -> int:
        """This process's sends in the last window (its share of the window, whichever layer paced them)."""
        with self._lock:
            horizon = self._clock() - self.window
            return sum(1 for at in self._own if at > horizon)

    def window_count(self) -> int:
        """The server's count of the window as the last answer (at most a quarter window old) told it, or
        this process's own sends in the window if none is that fresh: every sender's sends, not only ours."""
        with self._lock:
            last = self._last_answer
            fresh = last is not None and self._clock() - last[0] <= self.window / 4
        return max(last[2] if fresh else 0, self.recent_sends())

    def take_over(self) -> None:
        """Pace from now on at the share this process had in the shared window, or the room the others
        left in the last window if that is more: the shares add up to what the window allowed, so the
        processes that fall back together fit, and one alone keeps the whole budget."""
        share = self.recent_sends()
        with self._lock:
            others = self._largest_others(self._clock(), 0)
            self._probed = True
            self._set_quota(max(1, share, self.limit - self.shared_slack - others), catch_up=False)

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
            self._prune(now)
            if self._bursting:
                at = max(now, self._paused_until, self._bursts.held_until)
            else:
                at = self._paced_slot(now)
            self._own.append(at)
            return at - now

    def _paced_slot(self, now: float) -> float:
        """When the next request may go out at the integer quota (the caller holds the lock)."""
        at = max(now, self._next, self._paused_until)
        k = self._quota
        if len(self._own) >= k:
            # at most k of ours in any window, whatever the phase: the server's count is sum(k)
            at = max(at, self._own[-k] + self.window * (1.0 + self._margin()))
        if k == 1 and self.window_kind == "fixed" and self._window_start is not None:
            # one request a window, early in it, sees only the start of the others' count, window
            # after window (its period is the window's): in the second half the count tells their share
            phase = (at - self._window_start) % self.window
            at += max(0.0, self.window * self.min_phase - phase)
        self._next = at + self._period()
        return at

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
    def observe(self, answer: RateAnswer) -> None:
        """Learn from a response's rate-limit headers.

        The server counted the window ending when the request arrived (~``answer.sent_at``), so the own
        count is taken over the same window; ``others`` is then exact for that moment.
        """
        if not self.enabled:
            return
        status, limit, remaining, retry_after, sent_at, reset = answer
        with self._lock:
            now = self._clock()
            first_probe = first = not self._probed
            self._probing = False
            self._probed = True
            # lemlist's answers carry both; a server (or proxy) that drops the count keeps the quotas
            self._bursting = self._bursting or (reset is not None and remaining is not None)
            if status == 429:
                if sent_at is not None:
                    self._forget(sent_at)  # a rejected request uses no budget: keep the own count true
                if self._bursting:
                    self._paused_until = max(self._paused_until, self._bursts.rejected(now, retry_after))
                    return
                pause = retry_after if retry_after and retry_after > 0 else self.window / 2
                # resume at a random phase too (everyone who got a 429 now was told the same Retry-After)
                pause += self._rng.random() * self.window / max(1, self._quota)
                self._paused_until = max(self._paused_until, now + pause)
                self._next = max(self._next, self._paused_until)
                # while we wait the others take our slots; resuming at the old pace would overflow again,
                # so the first answer after the pause sizes the quota to what still fits
                self._set_quota(self._quota - max(1, self._quota // 4))
                self._restart = True
                # an overflow costs a 429 per sharer on a fixed window (full, it refuses everyone until it
                # ends): hold the quotas for a while instead of climbing back into the next one
                self._grow_after = max(
                    self._grow_after, self._paused_until + self.window * self.hold_after_429
                )
                return
            if remaining is None or not limit:
                return
            if limit != self.limit and limit > 0:
                # the server knows the real budget better than the connection
                self.limit = limit
            ref = sent_at if sent_at is not None else now
            count = self.limit - remaining
            if self._bursting:
                self._burst_answered(now, ref, count)
                return
            start = self._window_began(now, ref, count)
            own = self._own_counted(start, ref)
            others = self._others_in_window(now, max(0, count - own), ref - start)
            if others:
                self._shared_seen = True
            # the count as it will be with our current quota (a change of ours shows in it later)
            server = others + self._quota
            self._sharers = server / self._quota
            if self._restart and self._probed and not first_probe:
                # back from a 429 pause: keep what still fits beside the others, no more than before
                self._restart = False
                self._set_quota(min(self._quota, self.limit - self.shared_slack - others), catch_up=False)
                return
            if first:
                # newcomer: a small share of the room it saw; others may be probing at this very moment
                room = self.limit - self.shared_slack - (others + own)
                self._set_quota(max(1, room // self.newcomer_divisor), catch_up=False)
                if not others and self._own:
                    # nobody else in the window: look again soon (long enough for the probes of processes
                    # started with us to have landed); alone, the next response then takes the whole budget
                    self._next = max(self._paused_until, self._own[-1] + self.window / 40)
                if others:
                    # a random phase: processes started together must not send in lockstep, or each sees
                    # the window at the same point of everyone's cycle and misjudges the count
                    self._next += self._rng.random() * self._period()
                # the others' counts are still filling up if they started with us: let them settle first
                self._grow_after = now + self.window * self.settle
                return
            if now < self._grow_after and others:
                if server >= self.limit:
                    self._decide(server, others)
                return
            self._decide(server, others)

    def _burst_answered(self, now: float, ref: float, count: int) -> None:
        """An answer while bursting: the others' count over the last window (``take_over`` reads it), the
        estimate ``note_pacing`` logs (our sends in the window as the quota), then the burst's own rule."""
        self._last_answer = (now, ref, count)
        own = self._own_counted(ref - self.window, ref)
        self._others_seen.append((now, max(0, count - own)))
        others = self._largest_others(now, 0)
        self._shared_seen = self._shared_seen or others > 0
        self._quota = min(self.limit, own)
        self._sharers = (others + own) / own
        self._bursts.answered(now, count, others, self.limit)

    def _own_counted(self, start: float, ref: float) -> int:
        """Our requests the server counted in the window from ``start`` to our request sent at ``ref`` (at
        least that one)."""
        return max(1, sum(1 for t in self._own if start < t <= ref + 1e-6))

    def _window_began(self, now: float, ref: float, count: int) -> float:
        """When the server's window counted by the answer to the request sent at ``ref`` began, learning
        the server's kind of window on the way; our own requests since then are the ones it counted.

        A sliding window frees one slot per request that ages out; a fixed one frees them all at its end.
        A count that drops from at least half the budget to at most a quarter of it between two answers
        less than ``reset_gap`` windows apart is such a reset: the window is ``fixed``. (Half a window
        apart and down to 2 missed most processes of one or two requests a window: they see the count at
        about the same phase window after window, went on steering as on a sliding window and caused most
        of the 429s that were left.)

        A sliding window began ``window`` before the request. A fixed one began at the request that found
        it empty: ours when the count is 1; after a drop, about ``count`` requests at the full rate before
        ``ref`` but not before the previous answer's request (when the rate is lower the estimate is late,
        which makes the others' share larger: the safe side); else a whole number of windows after the
        last start learned. Counted over the last window instead, our requests of the previous window hid
        the others' early in each one. The start is returned a fiftieth of a window early, so that our
        request that opened the window counts as ours despite send-time jitter.
        """
        last, self._last_answer = self._last_answer, (now, ref, count)
        if (
            self.window_kind == "sliding"
            and last is not None
            and ref - last[1] < self.window * self.reset_gap
            and last[2] >= self.limit // 2
            and count <= self.limit // 4
        ):
            self.window_kind = "fixed"
        if self.window_kind == "sliding":
            return ref - self.window
        start = self._window_start
        if start is not None:
            start += (ref - start) // self.window * self.window  # the window the grid puts ref in
        if count <= 1:
            start = ref
        elif last is not None and count < last[2]:
            start = min(ref, max(last[1], ref - count * self.window / self.limit))
        if start is None:
            start = ref - self.window
        self._window_start = start
        return self._window_start - self.window / 50

    def _others_in_window(self, now: float, others: int, elapsed: float) -> int:
        """The others' count to steer by: the largest seen over the last window, not the current one.

        Right after a fixed reset the server's count no longer shows the others, who are still sending,
        and on any window a sharer paused by a 429 or between two of its sends is still there (steering by
        the current count let everyone grow at once and overflow the next window together). On a fixed
        window the others' count so far, ``elapsed`` into it, is scaled to the whole window: what they
        send in the rest of it counts too, and unscaled, a count early in the window looked like room.
        """
        if self.window_kind == "fixed":
            # rounded up: in simulation the scaled count fell short of the others' final one more often
            others = math.ceil(others * self.window / max(elapsed, self.window * self.min_phase) - 1e-9)
        self._others_seen.append((now, others))
        return self._largest_others(now, others)

    def _largest_others(self, now: float, default: int) -> int:
        """The others' largest count seen over the last window (``default`` when none was seen)."""
        return max((seen for at, seen in self._others_seen if at >= now - self.window), default=default)

    def _decide(self, server: int, others: int) -> None:
        """Steer the sum of the quotas (``server``, as our current quota makes it) to the target.

        Called on every response, so a process makes about ``k`` draws per window: the chances below are
        per response and their per-window totals are what the class attributes describe.
        """
        k = self._quota
        now = self._clock()
        if others == 0:
            # alone in the window: our own window keeps us within the budget, take all of it
            if self.alone_step and k < self.limit and not self._shared_seen:
                if now < self._alone_at:
                    return
                self._alone_at = now + self.window * self.alone_step
                self._set_quota(max(k + 1, 2 * k))
                return
            self._set_quota(self.limit)
            return
        rng = self._rng.random
        free = self.limit - server  # free slots at the count our current quota leads to
        if free <= 0:
            # the window is full: the room that shows next may be a sharer paused by a 429
            self._room_since = None
            if rng() < min(1.0, self.shed * (k / self.limit) ** self.shed_power * (1 - free)):
                self._set_quota(k - 1)
            return
        if self._room_since is None:
            self._room_since = now
        age = (now - self._room_since) / self.window  # windows since the window was last seen full
        room = free - self.shared_slack
        if room <= 0 or age < self.grow_delay:
            return
        # a small quota grows as often per window as a big one (shares drift towards equal); room that
        # stays free for long belongs to a sharer that has finished: take it faster and faster
        boost = 1.0 + self.accel * max(0.0, age - self.accel_delay) * max(0, room - 1)
        chance = boost * self.grow * room / server * self.fair_k / k
        if chance > 1.0:
            # far below the target (start-up, a tail): several slots at once, at most half the room
            steps = int(chance) + (rng() < chance - int(chance))
            self._set_quota(k + min(steps, max(1, room // 2)))
        elif rng() < chance:
            self._set_quota(k + 1)

    def no_answer(self) -> None:
        """A request got no answer: if it was the probe, let the next request probe instead."""
        with self._lock:
            self._probing = False


UNPACED = RateLimiter(0)  # the gate of calls that do not carry the key: they do not spend its budget
_REGISTRY: dict[tuple[str, str, str], SendGate] = {}
_REGISTRY_LOCK = threading.Lock()


def _store_opener(base_url: str, secret: str | None, limit: int, window: float, store_url: str | None):
    """How to open the shared window of this key: Redis when ``store_url`` is set, else the local file
    (``[lemlist] local_rate_store``), else ``None`` (the header-based limiter alone)."""
    from .. import settings
    from .shared_window import LocalWindow, RedisWindow, local_store_path, window_id

    wid = window_id(base_url, secret)
    amount = max(1, int(limit))
    if store_url:
        return lambda: RedisWindow(store_url, wid, amount, window)
    if settings.local_rate_store():
        directory = settings.local_rate_store_dir()
        return lambda: LocalWindow(local_store_path(directory, wid), amount, window)
    return None


def limiter_for(
    base_url: str, secret: str | None, limit: int, window: float, store_url: str | None = None
) -> SendGate:
    """The process-wide gate of one key on one service; the key itself is only kept as a hash.

    The sync and the async hook both get their gate here, so they share one budget in a process. It is the
    layered gate (``shared_gate.LayeredGate``): the key's shared window (in Redis at ``store_url``, else in
    a file on this host) with the header-based ``RateLimiter`` on top; the header-based limiter alone when
    the budget is off (``limit`` 0) or the local store is turned off and no Redis is named.
    """
    from .shared_gate import LayeredGate

    digest = hashlib.sha256((secret or "").encode()).hexdigest()[:16]
    key = (base_url.rstrip("/"), digest, store_url or "")
    with _REGISTRY_LOCK:
        gate = _REGISTRY.get(key)
        header = gate.header if isinstance(gate, LayeredGate) else gate
        if header is None or header.window != float(window) or (header.limit == 0) != (int(limit) == 0):
            header = RateLimiter(limit, window)
            opener = _store_opener(base_url, secret, limit, window, store_url) if header.enabled else None
            gate = LayeredGate(opener, header) if opener else header
            _REGISTRY[key] = gate
        return gate


def reset_limiters() -> None:
    """Forget every gate (tests, and benchmarks that start a fresh worker in the same process)."""
    with _REGISTRY_LOCK:
        _REGISTRY.clear()
