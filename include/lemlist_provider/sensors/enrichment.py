"""``LemlistEnrichmentSensor``: wait until a whole set of lemlist enrichments is final.

Deferrable (``LemlistEnrichmentTrigger`` polls in the triggerer: no worker slot and no pool slot is held
while lemlist works), or with ``deferrable=False`` one round of polls per poke, in ``poke`` or ``reschedule``
mode. Both follow :class:`lemlist_provider.enrichment.wait.EnrichmentWait`. A timeout fails with the ids
still pending; success returns ``{"done", "failed", "pending": [], "polls", "rate_limited", "retries"}`` as
XCom for the task that collects the results.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow.sdk import PokeReturnValue
from airflow.sdk.exceptions import AirflowSensorTimeout

from lemlist_provider.enrichment.wait import (
    DEFAULT_WAVE,
    EnrichmentWait,
    check_event,
    enrichment_ids_of,
    timeout_message,
    wait_result,
)
from lemlist_provider.events.assets import EVENT_ASSETS
from lemlist_provider.figures import http_figures
from lemlist_provider.hooks.errors import LemlistNotFoundError
from lemlist_provider.operators.base import LemlistBaseSensor
from lemlist_provider.operators.enrichment import EnrichmentWaitTask
from lemlist_provider.triggers.enrichment import LemlistEnrichmentTrigger


class LemlistEnrichmentSensor(EnrichmentWaitTask, LemlistBaseSensor):
    """Wait for every enrichment id to be ``done``/``completed`` or ``failed``/``error``.

    The poll schedule (``first_poll``, ``backoff``, ``max_interval``) is ``EnrichmentWaitTask``'s.

    :param enrichment_ids: ids, or the XCom of ``LemlistEnrichOperator`` (templated)
    :param deferrable: wait in the triggerer; ``False`` uses ``mode`` (poke or reschedule)
    :param wave: ids polled together; a wave that is entirely pending ends a round early
    """

    template_fields: Sequence[str] = (
        *LemlistBaseSensor.template_fields, "enrichment_ids", "first_poll", "max_interval",
    )  # fmt: skip
    ui_color = "#e6f0ff"

    def __init__(self, *, enrichment_ids: Any, wave: int = DEFAULT_WAVE, **kwargs: Any) -> None:
        kwargs.setdefault("timeout", 60 * 60)
        kwargs.setdefault("poke_interval", 10)
        kwargs.setdefault("inlets", [EVENT_ASSETS["enrichment"]])  # where enrichment callbacks are noted
        super().__init__(**kwargs)
        self.keep_arguments(locals())
        self._state: EnrichmentWait | None = None

    def execute(self, context: Any) -> Any:
        ids = enrichment_ids_of(self.enrichment_ids)
        if not ids:
            self.log.info("No lemlist enrichment to wait for")
            return {"done": [], "failed": [], "pending": []}
        try:
            return super().execute(context)
        except AirflowSensorTimeout:  # poke mode: say which ids are still pending
            state = self._state or EnrichmentWait(ids)
            raise AirflowSensorTimeout(state.outcome("timeout")["message"]) from None

    def waits_for(self) -> str:
        ids = enrichment_ids_of(self.enrichment_ids)
        shown = ", ".join(ids[:3]) + (f" and {len(ids) - 3} more" if len(ids) > 3 else "")
        return f"{len(ids)} lemlist enrichment(s) to be done or failed ({shown})"

    def trigger(self, deadline: float) -> LemlistEnrichmentTrigger:
        return self.enrichment_trigger(enrichment_ids_of(self.enrichment_ids), deadline, wave=self.wave)

    def execute_complete(self, context: Any, event: dict[str, Any] | None = None) -> dict[str, Any]:
        """Fail closed: an event without the expected fields, or with an unknown status, fails the task."""
        event = check_event(event)
        self.log.info(
            "lemlist enrichment trigger: %s (%s requests, %s x 429, %s retries, %s rounds)",
            event.get("message"), event.get("requests"), event.get("rate_limited"), event.get("retries"),
            event.get("rounds"),
        )  # fmt: skip
        if event["status"] == "timeout":
            total = len(event["done"]) + len(event["failed"]) + len(event["pending"])
            raise AirflowSensorTimeout(timeout_message(event["pending"], total))
        return wait_result(event)

    def poke(self, context: Any) -> PokeReturnValue:
        """One round of polls; the ids still pending are kept between pokes (all of them after a reschedule)."""
        if self._state is None:
            self._state = EnrichmentWait(enrichment_ids_of(self.enrichment_ids), wave=self.wave)
        state = self._state
        state.begin_round()
        while wave := state.next_wave():
            state.record({eid: self._status(eid) for eid in wave})
        self.log.info(
            "lemlist enrichments: %d done, %d failed, %d pending", len(state.done), len(state.failed),
            len(state.pending),
        )  # fmt: skip
        if not state.finished:
            return PokeReturnValue(False)
        return PokeReturnValue(
            True, wait_result({**state.outcome("success"), **http_figures(self.hook.metrics())})
        )

    def _status(self, enrichment_id: str) -> str:
        try:
            return self.hook.get_enrichment(enrichment_id).status
        except LemlistNotFoundError:
            return "not_found"
