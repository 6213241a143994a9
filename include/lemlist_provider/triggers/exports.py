"""``LemlistExportStatusTrigger``: wait in the triggerer for one asynchronous campaign export.

Polls ``GET /campaigns/{id}/export/{exportId}/status`` through the async hook (paced by the key's shared
limiter, lemlist's error policy) on the schedule of :class:`lemlist_provider.exports.wait.ExportWait`, which
also decides when the wait is over, until the absolute ``deadline``. Yields exactly one event:
``{"status": "done"|"error"|"not_found"|"timeout"|"failed", "campaign_id", "export_id", "attempt",
"message", "export": {...status fields}, "polls", "requests", "rate_limited", "retries"}``.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from lemlist_provider.exports.wait import DEFAULT_POLL, ExportWait
from lemlist_provider.triggers.base import LemlistPollTrigger


class LemlistExportStatusTrigger(LemlistPollTrigger):
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
        super().__init__(lemlist_conn_id=lemlist_conn_id)
        self.campaign_id = str(campaign_id)
        self.export_id = str(export_id)
        self.deadline = float(deadline)
        self.first_poll = float(first_poll)
        self.poll_min = float(poll_min)
        self.poll_max = float(poll_max)
        self.attempt = int(attempt)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            "lemlist_provider.triggers.exports.LemlistExportStatusTrigger",
            {"campaign_id": self.campaign_id, "export_id": self.export_id, "deadline": self.deadline,
             "lemlist_conn_id": self.lemlist_conn_id, "first_poll": self.first_poll, "poll_min": self.poll_min,
             "poll_max": self.poll_max, "attempt": self.attempt},
        )  # fmt: skip

    def new_state(self) -> ExportWait:
        return ExportWait(self.campaign_id, self.export_id, first_poll=self.first_poll, poll_min=self.poll_min,
                          poll_max=self.poll_max, attempt=self.attempt)  # fmt: skip

    async def wait(self, hook: Any, state: ExportWait) -> dict[str, Any]:
        while (remaining := self.deadline - time.time()) > 0:
            await asyncio.sleep(state.pause(remaining))
            try:
                outcome = state.record(await hook.get_export_status(self.campaign_id, self.export_id))
            except Exception as exc:  # noqa: BLE001 - the step decides which errors end the wait
                outcome = state.record_error(exc)
            if outcome is not None:
                return outcome
            (self.log.warning if state.backoff else self.log.info)("%s", state.note)
        return state.timeout()
