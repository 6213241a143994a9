"""``LemlistExportSensor``: wait for an export someone else started (e.g. an upstream task's XCom).

The campaign export operator starts, waits and downloads by itself; this sensor is for DAGs that split the
steps. Both poke (sync hook, one status poll per poke) and ``deferrable=True`` (``LemlistExportStatusTrigger``)
follow :class:`lemlist_provider.exports.wait.ExportWait`. It returns the final status (with ``url`` and
``fileSize``) as XCom. ``error`` fails with lemlist's reason; a 404 (status expired) fails clearly: the
sensor does not own the export, so it does not restart it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow.sdk import PokeReturnValue

from lemlist_provider.exports.wait import DEFAULT_POLL, ExportWait, check_event, done_export
from lemlist_provider.operators.base import LemlistBaseSensor
from lemlist_provider.triggers.exports import LemlistExportStatusTrigger


class LemlistExportSensor(LemlistBaseSensor):
    """Succeed when lemlist export ``export_id`` of ``campaign_id`` is ``done``.

    :param deferrable: wait in the triggerer (``LemlistExportStatusTrigger``) instead of poking
    :param poke_interval: seconds between pokes in poke mode (and ``poll_min`` of the trigger)
    :param timeout: seconds before giving up (also the trigger's absolute deadline)
    """

    template_fields: Sequence[str] = (*LemlistBaseSensor.template_fields, "campaign_id", "export_id")

    def __init__(
        self,
        *,
        campaign_id: str,
        export_id: str,
        timeout: float = 7200.0,
        poke_interval: float = DEFAULT_POLL["poll_min"],
        first_poll: float = DEFAULT_POLL["first_poll"],
        poll_max: float = DEFAULT_POLL["poll_max"],
        **kwargs: Any,
    ) -> None:
        super().__init__(poke_interval=poke_interval, timeout=timeout, **kwargs)
        self.keep_arguments(locals(), but=("poke_interval", "timeout"))
        self._state: ExportWait | None = None

    def waits_for(self) -> str:
        return f"lemlist export {self.export_id} of campaign {self.campaign_id} to be done"

    def trigger(self, deadline: float) -> LemlistExportStatusTrigger:
        return LemlistExportStatusTrigger(
            campaign_id=self.campaign_id, export_id=self.export_id, deadline=deadline,
            lemlist_conn_id=self.lemlist_conn_id, first_poll=float(self.first_poll),
            poll_min=float(self.poke_interval), poll_max=max(float(self.poll_max), float(self.poke_interval)),
        )  # fmt: skip

    def poke(self, context: Any) -> PokeReturnValue:
        if self._state is None:
            self._state = ExportWait(self.campaign_id, self.export_id)
        try:
            outcome = self._state.record(self.hook.get_export_status(self.campaign_id, self.export_id))
        except Exception as exc:  # noqa: BLE001 - the step decides which errors end the wait
            outcome = self._state.record_error(exc)
        if outcome is None:
            self.log.info("%s", self._state.note)
            return PokeReturnValue(False)
        return PokeReturnValue(True, done_export(outcome))

    def execute_complete(self, context: Any, event: dict[str, Any] | None = None) -> dict[str, Any]:
        """Fail closed: anything but a ``done`` event with a status is a failure with the trigger's message."""
        return done_export(check_event(event))
