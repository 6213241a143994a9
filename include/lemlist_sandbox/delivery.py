"""Sending webhooks the way lemlist does: in the background, with lemlist's retries, deleting dead hooks.

What lemlist documents (``shared/lemlist-api/api-facts.md``, ``endpoint-reference.md``): each event is a
``POST`` of a JSON body to the hook's ``targetUrl`` with the hook's ``secret`` in the body; a failed delivery
is retried up to 5 times, ``10 s * 2^retryCount`` apart; an answer 404 or 410 deletes the hook. Here every
delay is multiplied by the sandbox's ``time_scale``, like every other simulated delay.

A delivery is "failed" when the answer is not 2xx (404/410 aside) or never comes (refused, reset, timeout).
Two switches make the sender behave like a bad day on lemlist's side, for the receiver's tests:
``webhook_duplicate_rate`` sends that share of deliveries twice at once, and ``webhook_lost_answer_rate``
ignores that share of 2xx answers, so the same body is delivered again on the retry schedule.

Sending never runs on the sandbox's event loop: one thread of its own runs an asyncio loop with an aiohttp
session, started on the first delivery. The API routes only hand a delivery over (a thread-safe call), so a
slow or dead receiver never slows the sandbox's answers.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

MAX_RETRIES = 5
RETRY_BASE_SECONDS = 10.0
HOOK_GONE = (404, 410)
TIMEOUT_SECONDS = 10.0
CONCURRENCY = 16
ATTEMPT_LOG = 50_000


def retry_delay(retry: int, time_scale: float) -> float:
    """Seconds before retry number ``retry`` (0-based): lemlist's ``10 s * 2^retryCount``, scaled."""
    return RETRY_BASE_SECONDS * (2**retry) * time_scale


@dataclass
class Delivery:
    """One event for one target: a registered hook (``hook_id``) or an enrichment's ``webhookUrl``."""

    url: str
    body: bytes
    event_id: str
    event_type: str
    hook_id: str | None = None
    #: called (on the sandbox's loop) when the target answered 404/410: deletes the hook
    on_gone: Callable[[], None] | None = None
    copy: int = 0  # 1 for the second copy a duplicate sends


@dataclass
class DeliveryStats:
    """What the sender did, for tests and benchmarks (``GET /_sandbox/webhooks``)."""

    events: int = 0  # events that matched at least one target
    deliveries: int = 0  # deliveries queued (a duplicate counts twice)
    attempts: int = 0
    delivered: int = 0
    retries: int = 0
    duplicates: int = 0
    lost_answers: int = 0
    gave_up: int = 0
    hooks_deleted: int = 0
    in_flight: int = 0
    by_status: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "by_status": dict(self.by_status)}


class WebhookSender:
    """The background sender of one sandbox. ``settings`` is read on every delivery, so switches changed at
    runtime (``POST /_sandbox/faults``) apply to the next one."""

    def __init__(self, settings: Callable[[], dict[str, float]], seed: int = 0) -> None:
        self._settings = settings
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self.stats = DeliveryStats()
        self.attempt_log: deque[dict[str, Any]] = deque(maxlen=ATTEMPT_LOG)

    # -- handing over (any thread) ---------------------------------------------------------------------
    def submit(self, delivery: Delivery) -> None:
        """Queue ``delivery`` (and its duplicate when the switch says so); returns at once."""
        settings = self._settings()
        copies = [delivery]
        with self._lock:
            if self._rng.random() < settings.get("webhook_duplicate_rate", 0.0):
                copies.append(Delivery(**{**delivery.__dict__, "copy": 1}))
                self.stats.duplicates += 1
            self.stats.deliveries += len(copies)
            self.stats.in_flight += len(copies)
        loop = self._running_loop()
        for item in copies:
            loop.call_soon_threadsafe(self._spawn, item)

    def count_event(self) -> None:
        with self._lock:
            self.stats.events += 1

    def snapshot(self, attempts: int = 0) -> dict[str, Any]:
        """The counters, and the last ``attempts`` attempts (newest last)."""
        with self._lock:
            view = self.stats.to_dict()
            if attempts:
                view["attempt_log"] = list(self.attempt_log)[-attempts:]
        return view

    def reset(self) -> None:
        with self._lock:
            in_flight = self.stats.in_flight
            self.stats = DeliveryStats(in_flight=in_flight)
            self.attempt_log.clear()

    def close(self) -> None:
        """Stop the sender thread; deliveries still waiting are dropped (the sandbox is going away)."""
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is not None:
            loop.call_soon_threadsafe(loop.stop)
        if thread is not None:
            thread.join(timeout=5)

    # -- the sender thread -----------------------------------------------------------------------------
    def _running_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                self._ready.clear()
                self._thread = threading.Thread(
                    target=self._run, name="lemlist-sandbox-webhooks", daemon=True
                )
                self._thread.start()
                self._ready.wait(10)
            if self._loop is None:
                raise RuntimeError("the sandbox's webhook sender did not start")
            return self._loop

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        loop.run_until_complete(self._open())
        self._loop = loop
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(self._session.close())
            loop.close()

    async def _open(self) -> None:
        self._semaphore = asyncio.Semaphore(CONCURRENCY)
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=TIMEOUT_SECONDS),
            connector=aiohttp.TCPConnector(limit=CONCURRENCY),
        )

    def _spawn(self, delivery: Delivery) -> None:
        asyncio.ensure_future(self._deliver(delivery))

    async def _deliver(self, delivery: Delivery) -> None:
        try:
            for attempt in range(MAX_RETRIES + 1):
                status = await self._post(delivery, attempt)
                settings = self._settings()
                if status is not None and 200 <= status < 300:
                    if self._lost(settings):
                        self._count(lost_answers=1)
                    else:
                        self._count(delivered=1)
                        return
                elif status in HOOK_GONE:
                    self._count(hooks_deleted=1 if delivery.on_gone else 0)
                    if delivery.on_gone is not None:
                        delivery.on_gone()
                    return
                if attempt == MAX_RETRIES:
                    self._count(gave_up=1)
                    return
                self._count(retries=1)
                await asyncio.sleep(retry_delay(attempt, settings.get("time_scale", 1.0)))
        finally:
            self._count(in_flight=-1)

    async def _post(self, delivery: Delivery, attempt: int) -> int | None:
        """One POST; the status, or None when no answer came (refused, reset, timeout)."""
        sent = time.time()
        status: int | None = None
        async with self._semaphore:
            try:
                async with self._session.post(
                    delivery.url, data=delivery.body, headers={"Content-Type": "application/json"}
                ) as answer:
                    await answer.read()
                    status = answer.status
            except (TimeoutError, aiohttp.ClientError, OSError):
                status = None
        key = str(status) if status is not None else "no_answer"
        with self._lock:
            self.stats.attempts += 1
            self.stats.by_status[key] = self.stats.by_status.get(key, 0) + 1
            self.attempt_log.append(
                {"event_id": delivery.event_id, "type": delivery.event_type, "hook_id": delivery.hook_id,
                 "copy": delivery.copy, "attempt": attempt, "status": key, "sent_at": sent,
                 "answered_at": time.time()}
            )  # fmt: skip
        return status

    def _lost(self, settings: dict[str, float]) -> bool:
        with self._lock:
            return self._rng.random() < settings.get("webhook_lost_answer_rate", 0.0)

    def _count(self, **deltas: int) -> None:
        with self._lock:
            for name, delta in deltas.items():
                setattr(self.stats, name, getattr(self.stats, name) + delta)
