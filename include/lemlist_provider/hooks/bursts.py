"""Bursts held a window: how the header-based limiter spends the key's budget once lemlist's answers say when
the window frees (``X-RateLimit-Reset``), on a sliding window and a fixed one alike.

The paced integer quotas of ``ratelimit.RateLimiter`` steer by the others' count, and on a fixed window the
count seen early in the window understates them (it grows from 0 to its total, then drops at once): eight
processes pacing on a fixed window had 1.7-3.9 % of their requests refused and kept 0.83-0.89 of the budget.
Bursts need no estimate of the others' share:

* every thread of the process sends as soon as it may, while the count seen in the window leaves room for
  every request the senders together may still have in flight (``concurrency``, plus ``spare`` slots when
  others are seen);
* the answer that shows less room than that holds every thread of the process for a window (and ``margin``)
  counted from that answer: by then the burst's requests have left a sliding window, and a fixed window
  that held it has ended (a fixed window ends at most a window after any answer in it);
* after the count passes ``limit - concurrency - spare`` each sender has at most one more request per
  thread on its way, so the window fills to the limit and no further; the senders resume a window after
  their last answers, close together, so they burst together again and share each window about equally
  (equal work finishes together);
* a 429 (the last resort) pauses the process for exactly ``Retry-After``, with no random part: a sharer that
  paused longer lost the others' rhythm and came back into windows they had already filled.

``concurrency`` is learned from the count. The rise between two consecutive answers of one thread in a
burst is what every sender together put out while that thread's request was in flight (for the async
hook, whose calls share a thread: one task's consecutive answers); the ``quantile`` of
the rises over the last ``memory`` windows is taken (their largest counts a sender that got two requests in
while a slow answer came back). Before any rise it is every sender seen so far, plus us and one; it is at
least ``floor``, since senders that do not burst together (a process that started later, or came back from
a 429 out of step) raise the count by less than they may send; alone over the last window, it is 1.

Known limit: a process that starts while the others' bursts already fill each window sends the first request
of each window after them, finds the window full and is refused about once a window, until the others finish.
Eight processes joining over 3 s: 2.6 % of requests refused on the sandbox's sliding window (the paced
quotas: 1.0 %); in simulation 0.7 % sliding, 6.3 % fixed, 13 % fixed-aligned (paced: 0.5 / 2.2 / 2.8 %).
See docs/rate-limiting.md.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque


def _flow() -> int:
    """Who is answered: the asyncio task (the async hook's calls share one thread), else the thread."""
    try:
        task = asyncio.current_task()
    except RuntimeError:  # no event loop in this thread
        task = None
    return id(task) if task is not None else threading.get_ident()


class WindowBursts:
    """The burst-and-hold state of one key in one process. The caller holds the lock; times are its
    monotonic clock."""

    #: windows over which the rises of the count are remembered
    memory = 15.0
    #: the rise taken as the senders' concurrency (1.0: the largest)
    quantile = 0.75
    #: the least concurrency assumed while other senders are seen
    floor = 4
    #: slots left free beyond the concurrency (a sender that sped up since it was measured)
    spare = 1
    #: the hold lasts this fraction of a window longer than the window (send-time jitter)
    margin = 0.005

    def __init__(self, window: float) -> None:
        self.window = window
        self.held_until = 0.0
        self._previous: dict[int, int] = {}  # per thread or task: the count of its last answer in this burst
        self._rises: deque[tuple[float, int]] = deque(maxlen=512)

    def concurrency(self, now: float, others: int) -> int:
        """Requests every sender together may have in flight (``others``: the others' count in the window)."""
        if not others:
            return 1  # alone over the last window: the rises of a busier past no longer apply
        horizon = now - self.memory * self.window
        rises = sorted(rise for at, rise in self._rises if at >= horizon)
        if not rises:
            return others + 2
        return max(self.floor, rises[min(len(rises) - 1, int(self.quantile * len(rises)))])

    def answered(self, now: float, count: int, others: int, limit: int) -> None:
        """An answer counted ``count`` of ``limit`` in the window: learn the concurrency, and hold when the
        room left is what the senders may still have in flight."""
        flow = _flow()
        previous = self._previous.get(flow)
        if previous is not None and count > previous:
            self._rises.append((now, count - previous))
        if len(self._previous) >= 1024:  # tasks that are gone: a burst has far fewer
            self._previous.clear()
        self._previous[flow] = count
        spare = self.spare if others else 0  # alone, the whole window is ours
        if count > limit - self.concurrency(now, others) - spare:
            self.held_until = max(self.held_until, now + self.window * (1 + self.margin))
            self._previous.clear()  # the next answers are another burst's

    def rejected(self, now: float, retry_after: float | None) -> float:
        """A 429: when the process may send again (``Retry-After``, else a window)."""
        self._previous.clear()
        pause = retry_after if retry_after and retry_after > 0 else self.window * (1 + self.margin)
        return now + pause
