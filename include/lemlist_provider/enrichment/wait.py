"""Waiting for a set of enrichments: the one step the trigger, the sensor's poke and the operator share.

The step holds no I/O: the caller polls ``GET /enrich/{id}`` for the ids of :meth:`EnrichmentWait.next_wave`
(concurrently in the trigger, one after the other in a poke) and hands the statuses back to
:meth:`EnrichmentWait.record`. Rounds poll the ids oldest-polled first, in waves; a wave that comes back
entirely pending ends the round, because enrichments started together finish together and the rest of the
round would only buy answers that are certainly 202. A 404 is final (the enrichment is ``failed``), so it
never counts as pending. Between rounds the interval grows from ``first_poll`` by ``backoff`` up to
``max_interval``, never below the admin's floor (``[lemlist] min_poll_seconds``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from airflow.sdk.exceptions import AirflowException

from lemlist_provider.settings import poll_floor

DEFAULT_POLL = {"first_poll": 5.0, "backoff": 1.5, "max_interval": 30.0}
DEFAULT_WAVE = 4
EVENT_STATUSES = ("success", "timeout", "error")
STATUSES = ("pending", "done", "failed", "not_found")


def truncate_ids(ids: list[str], limit: int = 20) -> str:
    """``a, b, c ... (+N more; M in all)``: a message stays readable with thousands of ids."""
    shown = ", ".join(ids[:limit])
    return f"{shown} ... (+{len(ids) - limit} more; {len(ids)} in all)" if len(ids) > limit else shown


def timeout_message(pending: list[str], total: int) -> str:
    return f"lemlist enrichments not final at the deadline: {len(pending)} of {total} still pending: {truncate_ids(pending)}"


def enrichment_ids_of(value: Any) -> list[str]:
    """Ids from a list, a comma-separated string, or the request operator's XCom (``{"enrichment_ids"}``)."""
    if value is None:
        return []
    if isinstance(value, dict):
        value = value.get("enrichment_ids", [])
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    return [str(v) for v in dict.fromkeys(value)]


class EnrichmentWait:
    """Where a wait stands: ids pending (in polling order), done, failed, and the interval to the next round."""

    label = "lemlist enrichments"

    def __init__(
        self,
        ids: list[str],
        *,
        first_poll: float = DEFAULT_POLL["first_poll"],
        backoff: float = DEFAULT_POLL["backoff"],
        max_interval: float = DEFAULT_POLL["max_interval"],
        wave: int = DEFAULT_WAVE,
        floor: float | None = None,
    ) -> None:
        self._pending = dict.fromkeys(str(i) for i in ids)
        self._order = {eid: n for n, eid in enumerate(self._pending)}
        self.floor = poll_floor(0.0, floor)
        self.interval = poll_floor(first_poll, floor)
        self.backoff = float(backoff)
        self.max_interval = poll_floor(max_interval, floor)
        self.wave = max(1, int(wave))
        self.done: list[str] = []
        self.failed: list[str] = []
        self.rounds = 0
        self._queue: list[str] | None = None  # ids this round has yet to poll; None between rounds
        self._polled: list[str] = []
        self._stop = False
        self.called_back: set[str] = set()  # ids an enrichment callback said were over

    @property
    def pending(self) -> list[str]:
        return list(self._pending)

    @property
    def finished(self) -> bool:
        return not self._pending

    def pause(self, remaining: float | None = None) -> float:
        """Seconds to sleep before the next round (capped by the time ``remaining`` to the deadline)."""
        return self.interval if remaining is None else max(0.0, min(self.interval, remaining))

    def prefer(self, ids: list[str]) -> None:
        """Poll ``ids`` first next round: their callbacks said they are over (the poll still decides)."""
        fresh = [eid for eid in ids if eid in self._pending]
        self.called_back.update(fresh)
        self._pending = dict.fromkeys(fresh + [eid for eid in self._pending if eid not in fresh])

    def awaiting_callback(self) -> set[str]:
        """Pending ids no callback has named yet."""
        return set(self._pending) - self.called_back

    def begin_round(self) -> None:
        self.rounds += 1
        self._queue, self._polled, self._stop = list(self._pending), [], False

    def next_wave(self) -> list[str]:
        """The ids to poll now; ``[]`` ends the round (everything polled, or the last wave all pending)."""
        if self._queue is None:
            return []
        if self._stop or not self._queue:
            # ids the round did not reach go first next time, then the ones it found pending
            self._pending = dict.fromkeys(self._queue + self._polled)
            self._queue = None
            self.interval = min(self.max_interval, poll_floor(self.interval * self.backoff, self.floor))
            return []
        wave, self._queue = self._queue[: self.wave], self._queue[self.wave :]
        return wave

    def record(self, statuses: Mapping[str, str]) -> None:
        """The statuses (``pending``/``done``/``failed``/``not_found``) of the wave just polled."""
        for eid, status in statuses.items():
            if status == "pending":
                self._polled.append(eid)
                continue
            (self.done if status == "done" else self.failed).append(eid)
            self._pending.pop(eid, None)
        self._stop = bool(statuses) and all(s == "pending" for s in statuses.values())

    def ordered(self, ids: list[str]) -> list[str]:
        return sorted(ids, key=lambda eid: self._order.get(eid, len(self._order)))

    def outcome(self, status: str, message: str = "") -> dict[str, Any]:
        """The one JSON-native result a wait ends with (a trigger event's payload, a sensor's XCom)."""
        total = len(self.done) + len(self.failed) + len(self.pending)
        if not message:
            message = {
                "success": f"{len(self.done)} lemlist enrichments done, {len(self.failed)} failed",
                "timeout": timeout_message(self.ordered(self.pending), total),
            }.get(status, status)
        return {"status": status, "done": list(self.done), "failed": list(self.failed),
                "pending": self.ordered(self.pending), "message": message, "rounds": self.rounds}  # fmt: skip


def wait_result(outcome: dict[str, Any]) -> dict[str, Any]:
    """What a finished wait hands on (XCom): the ids by outcome and what the polls cost."""
    return {"done": outcome["done"], "failed": outcome["failed"], "pending": outcome["pending"],
            "polls": int(outcome.get("requests") or 0), "rate_limited": int(outcome.get("rate_limited") or 0),
            "retries": int(outcome.get("retries") or 0)}  # fmt: skip


def check_event(event: Any) -> dict[str, Any]:
    """Fail closed: an event that is not one of the wait's own outcomes fails the task that receives it."""
    if not isinstance(event, dict) or event.get("status") not in EVENT_STATUSES:
        raise AirflowException(f"lemlist enrichment trigger sent an unexpected event: {str(event)[:300]}")
    missing = [k for k in ("done", "failed", "pending") if not isinstance(event.get(k), list)]
    if missing:
        raise AirflowException(f"lemlist enrichment trigger event lacks {missing}: {str(event)[:300]}")
    if event["status"] == "error":
        raise AirflowException(event.get("message") or "lemlist enrichment polling failed")
    if event["status"] == "success" and event["pending"]:
        raise AirflowException(
            f"lemlist enrichment trigger reported success with ids pending: {truncate_ids(event['pending'])}"
        )
    return event
