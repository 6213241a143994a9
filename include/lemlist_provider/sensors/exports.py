"""``LemlistExportSensor``: wait for an export someone else started (e.g. an upstream task's XCom).

The campaign export operator starts, waits and downloads by itself; this sensor is for DAGs that split the
steps. Poke mode polls with the sync hook; ``deferrable=True`` hands the wait to
``LemlistExportStatusTrigger`` (5 s, then 10-15 s with jitter). It returns the final status (with ``url`` and
``fileSize``) as XCom. ``error`` fails with lemlist's reason; a 404 (status expired) fails clearly: the
sensor does not own the export, so it does not restart it.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from airflow.sdk import BaseSensorOperator, PokeReturnValue
from airflow.sdk.exceptions import AirflowException, AirflowFailException

from lemlist_provider.triggers.exports import DEFAULT_POLL, LemlistExportStatusTrigger, export_fields


class LemlistExportSensor(BaseSensorOperator):
    """Succeed when lemlist export ``export_id`` of ``campaign_id`` is ``done``.

    :param poke_interval: seconds between pokes in poke mode (and ``poll_min`` of the trigger)
    :param timeout: seconds before giving up (also the trigger's absolute deadline)
    """

    template_fields: Sequence[str] = ("campaign_id", "export_id")

    def __init__(
        self,
        *,
        campaign_id: str,
        export_id: str,
        lemlist_conn_id: str = "lemlist_default",
        deferrable: bool = False,
        first_poll: float = DEFAULT_POLL["first_poll"],
        poll_max: float = DEFAULT_POLL["poll_max"],
        poke_interval: float = DEFAULT_POLL["poll_min"],
        timeout: float = 7200.0,
        pool: str = "lemlist_api",
        **kwargs: Any,
    ) -> None:
        super().__init__(poke_interval=poke_interval, timeout=timeout, pool=pool, **kwargs)
        self.campaign_id = campaign_id
        self.export_id = export_id
        self.lemlist_conn_id = lemlist_conn_id
        self.deferrable = deferrable
        self.first_poll = first_poll
        self.poll_max = poll_max

    def _label(self) -> str:
        return f"lemlist export {self.export_id} of campaign {self.campaign_id}"

    def poke(self, context: Any) -> PokeReturnValue:
        from lemlist_provider.hooks.errors import LemlistNotFoundError
        from lemlist_provider.hooks.lemlist import LemlistHook

        hook = LemlistHook(lemlist_conn_id=self.lemlist_conn_id)
        try:
            status = hook.get_export_status(self.campaign_id, self.export_id)
        except LemlistNotFoundError:
            raise AirflowFailException(
                f"{self._label()}: status not found (404); lemlist keeps statuses 2 hours"
            ) from None
        finally:
            hook.close()
        state = status.get("status") if isinstance(status, dict) else None
        if state == "error":
            raise AirflowFailException(
                f"{self._label()} failed on lemlist's side: {status.get('error') or 'no reason given'}"
            )
        self.log.info("%s: %s (%s/%s)", self._label(), state, status.get("progress"), status.get("total"))
        return PokeReturnValue(
            is_done=state == "done", xcom_value=export_fields(status) if state == "done" else None
        )

    def execute(self, context: Any) -> Any:
        if not self.deferrable:
            return super().execute(context)
        timeout = float(self.timeout.total_seconds() if isinstance(self.timeout, timedelta) else self.timeout)
        self.defer(
            trigger=LemlistExportStatusTrigger(
                campaign_id=self.campaign_id,
                export_id=self.export_id,
                deadline=time.time() + timeout,
                lemlist_conn_id=self.lemlist_conn_id,
                first_poll=float(self.first_poll),
                poll_min=float(self.poke_interval),
                poll_max=max(float(self.poll_max), float(self.poke_interval)),
            ),
            method_name="execute_complete",
            timeout=timedelta(seconds=timeout + 300),
        )

    def execute_complete(self, context: Any, event: dict[str, Any] | None = None) -> dict[str, Any]:
        """Fail closed: anything but a ``done`` event with a status is a failure with the trigger's message."""
        if not isinstance(event, dict):
            raise AirflowException(f"unexpected event from the export trigger: {event!r}")
        status = event.get("status")
        if status == "done" and isinstance(event.get("export"), dict):
            return event["export"]
        if status in ("error", "not_found"):
            raise AirflowFailException(str(event.get("message") or status))
        raise AirflowException(str(event.get("message") or f"unexpected event {event!r}"))
