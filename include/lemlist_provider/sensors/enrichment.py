"""``LemlistEnrichmentSensor``: wait until a whole set of lemlist enrichments is final.

Deferrable by default (``LemlistEnrichmentTrigger`` polls in the triggerer, so no worker slot and no pool
slot is held while lemlist works). With ``deferrable=False`` it pokes with the sync hook in ``poke`` or
``reschedule`` mode. Either way a timeout fails with the ids still pending, and success returns
``{"done": [...], "failed": [...], "pending": []}`` as XCom for the task that collects the results.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from airflow.sdk import BaseSensorOperator, PokeReturnValue
from airflow.sdk.exceptions import AirflowException, AirflowSensorTimeout

from lemlist_provider.triggers.enrichment import (
    DEFAULT_POLL,
    EVENT_STATUSES,
    LemlistEnrichmentTrigger,
    truncate_ids,
)


def enrichment_ids_of(value: Any) -> list[str]:
    """Ids from a list, or from the request operator's XCom (``{"enrichment_ids": [...]}``)."""
    if value is None:
        return []
    if isinstance(value, dict):
        value = value.get("enrichment_ids", [])
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    return [str(v) for v in dict.fromkeys(value)]


class LemlistEnrichmentSensor(BaseSensorOperator):
    """Wait for every enrichment id to be ``done``/``completed`` or ``failed``/``error``.

    :param enrichment_ids: ids, or the XCom of ``LemlistEnrichOperator`` (templated)
    :param lemlist_conn_id: connection of type ``lemlist``
    :param deferrable: wait in the triggerer (default); ``False`` uses ``mode`` (poke or reschedule)
    :param first_poll: seconds before the first poll (about the time an enrichment takes)
    :param backoff: factor of the growing poll interval (deferrable) between rounds
    :param max_interval: cap of that interval
    :param wave: ids polled together; a wave that is entirely pending ends a round early
    """

    template_fields: Sequence[str] = ("enrichment_ids", "first_poll", "max_interval")
    ui_color = "#e6f0ff"

    def __init__(
        self,
        *,
        enrichment_ids: Any,
        lemlist_conn_id: str = "lemlist_default",
        deferrable: bool = True,
        first_poll: float = DEFAULT_POLL["first_poll"],
        backoff: float = DEFAULT_POLL["backoff"],
        max_interval: float = DEFAULT_POLL["max_interval"],
        wave: int = 4,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("pool", "lemlist_api")
        kwargs.setdefault("timeout", 60 * 60)
        kwargs.setdefault("poke_interval", 10)
        super().__init__(**kwargs)
        self.enrichment_ids = enrichment_ids
        self.lemlist_conn_id = lemlist_conn_id
        self.deferrable = deferrable
        self.first_poll = first_poll
        self.backoff = backoff
        self.max_interval = max_interval
        self.wave = wave
        self._done: list[str] = []
        self._failed: list[str] = []
        self._pending: list[str] | None = None
        self._hook: Any = None

    # -- deferrable ---------------------------------------------------------------------------------
    def execute(self, context: Any) -> Any:
        ids = enrichment_ids_of(self.enrichment_ids)
        if not ids:
            self.log.info("No lemlist enrichment to wait for")
            return {"done": [], "failed": [], "pending": []}
        if not self.deferrable:
            try:
                return super().execute(context)
            except AirflowSensorTimeout:
                raise AirflowSensorTimeout(self._timeout_message(self._pending or ids, len(ids))) from None
        deadline = time.time() + float(self.timeout)
        self.defer(
            trigger=LemlistEnrichmentTrigger(
                enrichment_ids=ids,
                deadline=deadline,
                lemlist_conn_id=self.lemlist_conn_id,
                first_poll=float(self.first_poll),
                backoff=float(self.backoff),
                max_interval=float(self.max_interval),
                wave=self.wave,
            ),
            method_name="execute_complete",
            # Airflow's own deferral timeout only backs up the trigger's deadline, which ends with a clear event
            timeout=timedelta(seconds=float(self.timeout) + 120),
        )

    def execute_complete(self, context: Any, event: dict[str, Any] | None = None) -> dict[str, Any]:
        """Fail closed: an event without the expected fields, or with an unknown status, fails the task."""
        if not isinstance(event, dict) or event.get("status") not in EVENT_STATUSES:
            raise AirflowException(f"lemlist enrichment trigger sent an unexpected event: {str(event)[:300]}")
        missing = [k for k in ("done", "failed", "pending") if not isinstance(event.get(k), list)]
        if missing:
            raise AirflowException(f"lemlist enrichment trigger event lacks {missing}: {str(event)[:300]}")
        status = event["status"]
        self.log.info(
            "lemlist enrichment trigger: %s (%s requests, %s x 429, %s retries, %s rounds)",
            event.get("message", status), event.get("requests"), event.get("rate_limited"),
            event.get("retries"), event.get("rounds"),
        )  # fmt: skip
        if status == "timeout":
            total = len(event["done"]) + len(event["failed"]) + len(event["pending"])
            raise AirflowSensorTimeout(self._timeout_message(event["pending"], total))
        if status == "error":
            raise AirflowException(event.get("message") or "lemlist enrichment polling failed")
        if event["pending"]:
            raise AirflowException(
                f"lemlist enrichment trigger reported success with ids pending: {truncate_ids(event['pending'])}"
            )
        return {
            "done": event["done"],
            "failed": event["failed"],
            "pending": [],
            "polls": int(event.get("requests") or 0),
            "rate_limited": int(event.get("rate_limited") or 0),
            "retries": int(event.get("retries") or 0),
        }

    def _timeout_message(self, pending: list[str], total: int) -> str:
        return (
            f"lemlist enrichments not final after {float(self.timeout):.0f} s: {len(pending)} of {total} still "
            f"pending: {truncate_ids(list(pending))}"
        )

    # -- poke / reschedule --------------------------------------------------------------------------
    def _sync_hook(self) -> Any:
        if self._hook is None:
            from lemlist_provider.hooks.lemlist import LemlistHook

            self._hook = LemlistHook(self.lemlist_conn_id)
        return self._hook

    def poke(self, context: Any) -> PokeReturnValue:
        """Poll the ids still pending (kept between pokes in ``poke`` mode; all of them after a reschedule)."""
        from lemlist_provider.hooks.errors import LemlistNotFoundError

        if self._pending is None:
            self._pending = enrichment_ids_of(self.enrichment_ids)
        hook = self._sync_hook()
        polled_pending: list[str] = []
        unpolled: list[str] = []
        streak = 0
        for index, eid in enumerate(self._pending):
            if streak >= self.wave:
                unpolled = self._pending[index:]  # the oldest are still running: the rest certainly are
                break
            try:
                result = hook.get_enrichment(eid)
            except LemlistNotFoundError:
                self._failed.append(eid)
                streak = 0
                continue
            if result.pending:
                polled_pending.append(eid)
                streak += 1
            else:
                (self._done if result.done else self._failed).append(eid)
                streak = 0
        self._pending = unpolled + polled_pending  # the ones not polled this time go first next time
        self.log.info(
            "lemlist enrichments: %d done, %d failed, %d pending",
            len(self._done),
            len(self._failed),
            len(self._pending),
        )
        if self._pending:
            return PokeReturnValue(False)
        metrics = hook.metrics()
        return PokeReturnValue(
            True,
            {
                "done": self._done, "failed": self._failed, "pending": [],
                "polls": int(metrics.get("requests", 0)), "rate_limited": int(metrics.get("rate_limited", 0)),
                "retries": int(metrics.get("retries", 0)),
            },
        )  # fmt: skip
