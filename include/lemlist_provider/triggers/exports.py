"""``LemlistExportStatusTrigger``: wait in the triggerer for one asynchronous campaign export.

Polls ``GET /campaigns/{id}/export/{exportId}/status`` through the async hook (paced by the key's shared
limiter, lemlist's error policy): first after ``first_poll`` seconds (lemlist advises 5 s), then every
``poll_min``-``poll_max`` seconds with jitter (10-15 s), so many exports polled together spread out instead
of hitting the key's budget at the same instant. Transient failures left after the hook's own retries back
off (doubling, capped at ``poll_max``) until the absolute ``deadline``.

Yields exactly one event:
``{"status": "done"|"error"|"not_found"|"timeout"|"failed", "campaign_id", "export_id", "attempt",
"message", "export": {...status fields, for done/error}, "polls", "requests", "rate_limited", "retries"}``.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

DEFAULT_POLL = {"first_poll": 5.0, "poll_min": 10.0, "poll_max": 15.0}
EVENT_STATUSES = ("done", "error", "not_found", "timeout", "failed")
KEPT_FIELDS = (
    "status",
    "url",
    "fileSize",
    "total",
    "progress",
    "endedAt",
    "error",
    "campaignName",
    "_id",
    "id",
)


def export_fields(status: Any) -> dict[str, Any]:
    """The JSON-native part of a status worth carrying in an event (never a key: the url is a signed link)."""
    if not isinstance(status, dict):
        return {}
    return {
        k: status[k] for k in KEPT_FIELDS if k in status and isinstance(status[k], (str, int, float, bool))
    }


def next_interval(polls: int, first_poll: float, poll_min: float, poll_max: float) -> float:
    """Seconds before poll number ``polls + 1``: ``first_poll``, then uniform in ``[poll_min, poll_max]``."""
    if polls == 0:
        return first_poll
    return random.uniform(poll_min, max(poll_min, poll_max))


class LemlistExportStatusTrigger(BaseTrigger):
    """Wait until a lemlist export is ``done`` or ``error``, its status is gone (404), or ``deadline`` passes.

    :param campaign_id: the campaign (``cam_...``)
    :param export_id: the export (``axp_...``) from ``GET /campaigns/{id}/export/start``
    :param deadline: absolute Unix time after which the trigger reports ``timeout``
    :param attempt: which start of this export it is (0 = first); echoed in the event for the operator
    """

    def __init__(
        self,
        campaign_id: str,
        export_id: str,
        deadline: float,
        lemlist_conn_id: str = "lemlist_default",
        first_poll: float = DEFAULT_POLL["first_poll"],
        poll_min: float = DEFAULT_POLL["poll_min"],
        poll_max: float = DEFAULT_POLL["poll_max"],
        attempt: int = 0,
    ) -> None:
        super().__init__()
        self.campaign_id = str(campaign_id)
        self.export_id = str(export_id)
        self.deadline = float(deadline)
        self.lemlist_conn_id = lemlist_conn_id
        self.first_poll = float(first_poll)
        self.poll_min = float(poll_min)
        self.poll_max = float(poll_max)
        self.attempt = int(attempt)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            "lemlist_provider.triggers.exports.LemlistExportStatusTrigger",
            {
                "campaign_id": self.campaign_id,
                "export_id": self.export_id,
                "deadline": self.deadline,
                "lemlist_conn_id": self.lemlist_conn_id,
                "first_poll": self.first_poll,
                "poll_min": self.poll_min,
                "poll_max": self.poll_max,
                "attempt": self.attempt,
            },
        )

    def _hook(self) -> Any:
        from lemlist_provider.hooks.async_lemlist import LemlistAsyncHook

        return LemlistAsyncHook(lemlist_conn_id=self.lemlist_conn_id)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        from lemlist_provider.hooks.errors import LemlistAuthError, LemlistClientError, LemlistNotFoundError

        hook = None
        polls = 0

        def event(status: str, message: str, export: Any = None) -> TriggerEvent:
            metrics = hook.metrics() if hook is not None and hasattr(hook, "metrics") else {}
            return TriggerEvent(
                {
                    "status": status,
                    "campaign_id": self.campaign_id,
                    "export_id": self.export_id,
                    "attempt": self.attempt,
                    "message": message,
                    "export": export_fields(export),
                    "polls": polls,
                    "requests": int(metrics.get("requests", 0)),
                    "rate_limited": int(metrics.get("rate_limited", 0)),
                    "retries": int(metrics.get("retries", 0)),
                }
            )

        label = f"lemlist export {self.export_id} of campaign {self.campaign_id}"
        try:
            hook = self._hook()
            delay = next_interval(0, self.first_poll, self.poll_min, self.poll_max)
            backoff = 0.0
            while True:
                remaining = self.deadline - time.time()
                if remaining <= 0:
                    yield event("timeout", f"{label} still not done at the deadline after {polls} polls")
                    return
                await asyncio.sleep(min(max(delay, backoff), remaining))
                polls += 1
                try:
                    status = await hook.get_export_status(self.campaign_id, self.export_id)
                except LemlistNotFoundError:
                    yield event(
                        "not_found", f"{label}: status not found (404); lemlist keeps statuses 2 hours"
                    )
                    return
                except (LemlistAuthError, LemlistClientError) as exc:
                    yield event("failed", f"{label}: {exc}")
                    return
                except Exception as exc:  # noqa: BLE001 - transient: back off and poll again until the deadline
                    backoff = min(self.poll_max, max(backoff * 2, self.poll_min / 2 or 1.0))
                    self.log.warning(
                        "%s: status poll %d failed (%s); next poll in %.1f s", label, polls, exc, backoff
                    )
                    continue
                backoff = 0.0
                state = status.get("status") if isinstance(status, dict) else None
                if state == "done":
                    yield event("done", f"{label} done after {polls} polls", status)
                    return
                if state == "error":
                    reason = status.get("error") or status.get("message") or "no reason given"
                    yield event("error", f"{label} failed on lemlist's side: {reason}", status)
                    return
                if state not in ("pending", "running", "started", None):
                    self.log.warning("%s: unknown status %r, still waiting", label, state)
                self.log.info(
                    "%s: %s (%s/%s), poll %d",
                    label,
                    state,
                    status.get("progress"),
                    status.get("total"),
                    polls,
                )
                delay = next_interval(polls, self.first_poll, self.poll_min, self.poll_max)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - one clear event instead of a triggerer traceback
            yield event("failed", f"{label}: polling failed: {type(exc).__name__}: {exc}")
        finally:
            if hook is not None and hasattr(hook, "close"):
                try:
                    await hook.close()
                except Exception:  # noqa: BLE001
                    pass
