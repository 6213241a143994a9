"""Waiting for one asynchronous campaign export: the one step the trigger, the sensor and the operator share.

lemlist advises a first status check after about 5 s, then every 10-15 s; each later poll is jittered in
``[poll_min, poll_max]`` so that many exports polled together spread out instead of hitting the key's budget
at the same instant. A failed poll that the hook's own retries could not heal backs off (doubling, capped at
``poll_max``). No delay is ever below the admin's floor (``[lemlist] min_poll_seconds``). The step takes
each status (or the error of a poll) and says whether the wait is over and how.
"""

from __future__ import annotations

import random
from typing import Any

from airflow.sdk.exceptions import AirflowException, AirflowFailException

from lemlist_provider.hooks.errors import LemlistAuthError, LemlistClientError, LemlistNotFoundError
from lemlist_provider.settings import poll_floor

DEFAULT_POLL = {"first_poll": 5.0, "poll_min": 10.0, "poll_max": 15.0}
EVENT_STATUSES = ("done", "error", "not_found", "timeout", "failed")
RUNNING = ("pending", "running", "started", None)
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
    """The JSON-native part of a status worth carrying in an event (the url is a signed link, not a key)."""
    if not isinstance(status, dict):
        return {}
    return {
        k: status[k] for k in KEPT_FIELDS if k in status and isinstance(status[k], (str, int, float, bool))
    }


class ExportWait:
    """Where the wait for export ``export_id`` of ``campaign_id`` stands; ``attempt`` counts its restarts."""

    def __init__(
        self,
        campaign_id: str,
        export_id: str,
        *,
        first_poll: float = DEFAULT_POLL["first_poll"],
        poll_min: float = DEFAULT_POLL["poll_min"],
        poll_max: float = DEFAULT_POLL["poll_max"],
        attempt: int = 0,
        floor: float | None = None,
    ) -> None:
        self.campaign_id, self.export_id, self.attempt = str(campaign_id), str(export_id), int(attempt)
        self.first_poll = poll_floor(first_poll, floor)
        self.poll_min = poll_floor(poll_min, floor)
        self.poll_max = max(self.poll_min, float(poll_max))
        self.polls = 0
        self.backoff = 0.0
        self.note = ""
        self.label = f"lemlist export {self.export_id} of campaign {self.campaign_id}"

    def pause(self, remaining: float | None = None) -> float:
        """Seconds before the next poll (capped by the time ``remaining`` to the deadline)."""
        delay = self.first_poll if self.polls == 0 else random.uniform(self.poll_min, self.poll_max)
        delay = max(delay, self.backoff)
        return delay if remaining is None else max(0.0, min(delay, remaining))

    def record(self, status: Any) -> dict[str, Any] | None:
        """A status answer: the outcome when it is final (``done``/``error``), else ``None``."""
        self.polls += 1
        self.backoff = 0.0
        status = status if isinstance(status, dict) else {}
        state = status.get("status")
        if state == "done":
            return self.outcome("done", f"{self.label} done after {self.polls} polls", status)
        if state == "error":
            reason = status.get("error") or status.get("message") or "no reason given"
            return self.outcome("error", f"{self.label} failed on lemlist's side: {reason}", status)
        unknown = "" if state in RUNNING else " (unknown status, still waiting)"
        self.note = f"{self.label}: {state}{unknown} ({status.get('progress')}/{status.get('total')}), poll {self.polls}"
        return None

    def record_error(self, exc: Exception) -> dict[str, Any] | None:
        """A poll that raised: 404 and refusals are final, anything else backs off until the deadline."""
        self.polls += 1
        if isinstance(exc, LemlistNotFoundError):
            return self.outcome(
                "not_found", f"{self.label}: status not found (404); lemlist keeps export statuses 2 hours"
            )
        if isinstance(exc, (LemlistAuthError, LemlistClientError)):
            return self.outcome("failed", f"{self.label}: {exc}")
        self.backoff = min(self.poll_max, max(self.backoff * 2, self.poll_min / 2))
        self.note = f"{self.label}: status poll {self.polls} failed ({exc}); next poll in {self.backoff:.1f} s or later"
        return None

    def timeout(self) -> dict[str, Any]:
        return self.outcome(
            "timeout", f"{self.label} still not done at the deadline after {self.polls} polls"
        )

    def outcome(self, status: str, message: str, export: Any = None) -> dict[str, Any]:
        return {"status": status, "campaign_id": self.campaign_id, "export_id": self.export_id,
                "attempt": self.attempt, "message": message, "export": export_fields(export),
                "polls": self.polls}  # fmt: skip


def check_event(event: Any) -> dict[str, Any]:
    """Fail closed: anything but one of the wait's own outcomes fails the task that receives it."""
    if not isinstance(event, dict) or event.get("status") not in EVENT_STATUSES:
        raise AirflowException(f"unexpected event from the export trigger: {str(event)[:300]}")
    return event


def done_export(event: dict[str, Any]) -> dict[str, Any]:
    """The status fields of a ``done`` outcome; any other outcome fails the task with the wait's message.

    ``error`` and ``not_found`` fail without retries (lemlist decided); a timeout or a failed poll may heal.
    """
    status, message = event["status"], str(event.get("message") or event["status"])
    if status == "done" and isinstance(event.get("export"), dict) and event["export"].get("url"):
        return event["export"]
    if status in ("error", "not_found"):
        raise AirflowFailException(message)
    raise AirflowException(message if status != "done" else f"{message}, but the status has no download url")
