"""``LemlistEnrichmentTrigger``: wait in the triggerer for a set of enrichments, without a worker slot.

Polls only the ids still pending, oldest-polled first, through the async hook (so every request is paced by
the key's shared limiter and follows the error policy), with a growing interval: first after
``first_poll`` seconds (about the time an enrichment takes), then x ``backoff`` up to ``max_interval``. A
round stops early when a whole wave of ids is still pending: enrichments started together finish together,
so polling the rest of the round would spend the key's budget on answers that are certainly 202.

Yields exactly one small event (ids only; results are fetched afterwards):
``{"status": "success"|"timeout"|"error", "done": [...], "failed": [...], "pending": [...], "message": str,
"requests": int, "rate_limited": int, "retries": int, "rounds": int}``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

DEFAULT_POLL = {"first_poll": 5.0, "backoff": 1.5, "max_interval": 30.0}
EVENT_STATUSES = ("success", "timeout", "error")


def truncate_ids(ids: list[str], limit: int = 20) -> str:
    """``a, b, c ... (+N more; M in all)``: a message stays readable with thousands of ids."""
    shown = ", ".join(ids[:limit])
    return f"{shown} ... (+{len(ids) - limit} more; {len(ids)} in all)" if len(ids) > limit else shown


class LemlistEnrichmentTrigger(BaseTrigger):
    """Poll ``GET /enrich/{id}`` for every id until all are final or ``deadline`` (epoch seconds) passes.

    :param enrichment_ids: the ``enr_...`` ids to wait for
    :param deadline: absolute Unix time after which the trigger gives up and reports the ids still pending
    :param lemlist_conn_id: connection of type ``lemlist``
    :param first_poll: seconds before the first round (lemlist: results typically within ~30 s; poll 5-10 s)
    :param backoff: factor applied to the interval after every round that left ids pending
    :param max_interval: cap of the interval between rounds
    :param wave: ids polled concurrently; a wave that is entirely pending ends the round
    """

    def __init__(
        self,
        enrichment_ids: list[str],
        deadline: float,
        lemlist_conn_id: str = "lemlist_default",
        first_poll: float = DEFAULT_POLL["first_poll"],
        backoff: float = DEFAULT_POLL["backoff"],
        max_interval: float = DEFAULT_POLL["max_interval"],
        wave: int = 4,
    ) -> None:
        super().__init__()
        self.enrichment_ids = [str(i) for i in enrichment_ids]
        self.deadline = float(deadline)
        self.lemlist_conn_id = lemlist_conn_id
        self.first_poll = float(first_poll)
        self.backoff = float(backoff)
        self.max_interval = float(max_interval)
        self.wave = max(1, int(wave))

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            "lemlist_provider.triggers.enrichment.LemlistEnrichmentTrigger",
            {
                "enrichment_ids": list(self.enrichment_ids),
                "deadline": self.deadline,
                "lemlist_conn_id": self.lemlist_conn_id,
                "first_poll": self.first_poll,
                "backoff": self.backoff,
                "max_interval": self.max_interval,
                "wave": self.wave,
            },
        )

    def _hook(self) -> Any:
        from lemlist_provider.hooks.async_lemlist import LemlistAsyncHook

        return LemlistAsyncHook(lemlist_conn_id=self.lemlist_conn_id)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        ids = list(dict.fromkeys(self.enrichment_ids))
        order = {eid: n for n, eid in enumerate(ids)}
        last_polled = dict.fromkeys(ids, 0.0)
        done: list[str] = []
        failed: list[str] = []
        pending = set(ids)
        rounds = 0
        hook = None

        def event(status: str, message: str) -> TriggerEvent:
            metrics = hook.metrics() if hook is not None and hasattr(hook, "metrics") else {}
            return TriggerEvent(
                {
                    "status": status,
                    "done": done,
                    "failed": failed,
                    "pending": sorted(pending, key=order.__getitem__),
                    "message": message,
                    "requests": int(metrics.get("requests", 0)),
                    "rate_limited": int(metrics.get("rate_limited", 0)),
                    "retries": int(metrics.get("retries", 0)),
                    "rounds": rounds,
                }
            )

        if not ids:
            yield event("success", "no enrichment ids to wait for")
            return
        try:
            hook = self._hook()
            interval = self.first_poll
            while True:
                remaining = self.deadline - time.time()
                if remaining <= 0:
                    yield event(
                        "timeout",
                        f"{len(pending)} of {len(ids)} lemlist enrichments still pending at the deadline: "
                        + truncate_ids(sorted(pending, key=order.__getitem__)),
                    )
                    return
                await asyncio.sleep(min(interval, remaining))
                rounds += 1
                queue = sorted(pending, key=lambda e: (last_polled[e], order[e]))
                for start in range(0, len(queue), self.wave):
                    if time.time() >= self.deadline:
                        break
                    wave = queue[start : start + self.wave]
                    outcomes = await asyncio.gather(*(self._poll(hook, eid) for eid in wave))
                    now = time.time()
                    for eid, outcome in zip(wave, outcomes, strict=True):
                        last_polled[eid] = now
                        if outcome == "done":
                            done.append(eid)
                            pending.discard(eid)
                        elif outcome == "failed":
                            failed.append(eid)
                            pending.discard(eid)
                    if all(o == "pending" for o in outcomes):
                        break  # the oldest of the rest are still running: the rest certainly are
                self.log.info(
                    "lemlist enrichments: round %d, %d done, %d failed, %d pending",
                    rounds,
                    len(done),
                    len(failed),
                    len(pending),
                )
                if not pending:
                    yield event("success", f"{len(done)} lemlist enrichments done, {len(failed)} failed")
                    return
                interval = min(self.max_interval, max(interval, 0.01) * self.backoff)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - one clear event instead of a triggerer traceback
            yield event("error", f"polling lemlist enrichments failed: {type(exc).__name__}: {exc}")
        finally:
            if hook is not None and hasattr(hook, "close"):
                try:
                    await hook.close()
                except Exception:  # noqa: BLE001
                    pass

    async def _poll(self, hook: Any, enrichment_id: str) -> str:
        """``pending`` | ``done`` | ``failed``; a 404 is final (failed), other errors end the trigger."""
        from lemlist_provider.hooks.errors import LemlistNotFoundError

        try:
            result = await hook.get_enrichment(enrichment_id)
        except LemlistNotFoundError:
            self.log.warning("lemlist enrichment %s: not found (404), counted as failed", enrichment_id)
            return "failed"
        return "pending" if result.pending else "done" if result.done else "failed"
