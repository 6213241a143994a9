"""Campaign exports: list the campaigns to export, then export each one to storage.

``LemlistCampaignExportOperator`` starts lemlist's asynchronous export, waits for it with
``LemlistExportStatusTrigger`` (deferred: no worker slot, no pool slot; or in the worker), then streams the
CSV from the export's ``url`` to a path or ``ObjectStoragePath`` inside the output roots, checking the byte
count against ``fileSize``: the file is never held in memory. A status that answers 404 (lemlist forgets
statuses after 2 hours) or a download link that expired restarts the export, at most ``max_restarts`` times;
``error`` fails with lemlist's reason. ``method="sync"`` uses the synchronous ``/export/leads`` instead.

Every exported file is announced as an event on ``LEMLIST_EXPORTS_ASSET`` (extra: campaign, uri, rows),
so downstream DAGs can be scheduled on fresh exports.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from airflow.sdk import Asset
from airflow.sdk.configuration import conf
from airflow.sdk.exceptions import AirflowException, AirflowFailException

from lemlist_provider import paths
from lemlist_provider.exports import (
    CHUNK_SIZE,
    DEFAULT_POLL,
    campaign_ref,
    check_event,
    done_export,
    stream_to,
)
from lemlist_provider.hooks.errors import LemlistAuthError, LemlistNotFoundError
from lemlist_provider.operators.base import LemlistBaseOperator
from lemlist_provider.triggers.base import run_in_worker
from lemlist_provider.triggers.exports import LemlistExportStatusTrigger

DEFAULT_OUTPUT = "output/exports/{campaign_id}/{date}.csv"
LEMLIST_EXPORTS_ASSET = Asset(name="lemlist_campaign_exports", uri="lemlist://exports/campaign-leads")
METHODS = ("async", "sync")


class LemlistListCampaignsOperator(LemlistBaseOperator):
    """List the campaigns to export (one campaign when ``campaign_id`` is set), as small dicts to map over.

    Returns ``[{"campaign_id", "name", "status"}, ...]``.
    """

    template_fields: Sequence[str] = (*LemlistBaseOperator.template_fields, "status", "campaign_id")

    def __init__(self, *, status: str | None = None, campaign_id: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.keep_arguments(locals())

    def execute(self, context: Any) -> list[dict[str, str]]:
        if self.campaign_id:
            campaigns = [self.hook.get_campaign(self.campaign_id)]
        else:
            campaigns = self.hook.list_campaigns(status=self.status or None)
        out = [
            {"campaign_id": str(c.get("_id") or c.get("id")), "name": str(c.get("name") or ""),
             "status": str(c.get("status") or "")}
            for c in campaigns
            if isinstance(c, dict) and (c.get("_id") or c.get("id"))
        ]  # fmt: skip
        self.log.info(
            "%d campaign(s) to export%s", len(out), f" (status={self.status})" if self.status else ""
        )
        return out


class LemlistCampaignExportOperator(LemlistBaseOperator):
    """Export one campaign's leads to a CSV file inside the output roots.

    :param campaign: a campaign id, or a dict with ``campaign_id``/``_id`` (what the list task returns)
    :param method: ``async`` (start → status → download; the default) or ``sync`` (``/export/leads``)
    :param state: lead state filter of the synchronous route (``all``, ``scanned``, ...)
    :param output_uri: path or URI template with ``{campaign_id}`` and ``{date}``; an existing file is only
        replaced when an export wrote it
    :param deferrable: wait in the triggerer instead of the worker; defaults to
        ``[operators] default_deferrable``
    :param first_poll: seconds before the first status poll; then ``poll_min``-``poll_max`` with jitter
    :param export_timeout: seconds the export may take before the task fails (lemlist keeps statuses 2 h)
    :param max_restarts: restarts after the status expired (404) or the link expired (403/404)
    """

    template_fields: Sequence[str] = (
        *LemlistBaseOperator.template_fields, "campaign", "method", "state", "output_uri", "first_poll",
        "poll_min", "poll_max", "export_timeout",
    )  # fmt: skip
    ui_color = "#e6f7ee"

    def __init__(
        self,
        *,
        campaign: Any,
        method: str = "async",
        state: str = "all",
        output_uri: str = DEFAULT_OUTPUT,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        first_poll: float = DEFAULT_POLL["first_poll"],
        poll_min: float = DEFAULT_POLL["poll_min"],
        poll_max: float = DEFAULT_POLL["poll_max"],
        export_timeout: float = 7200.0,
        max_restarts: int = 1,
        chunk_size: int = CHUNK_SIZE,
        outlets: list | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(outlets=outlets if outlets is not None else [LEMLIST_EXPORTS_ASSET], **kwargs)
        self.keep_arguments(locals(), but=("outlets",))

    def execute(self, context: Any) -> dict[str, Any]:
        campaign_id, _ = campaign_ref(self.campaign)
        if self.method not in METHODS:
            raise AirflowFailException(f"method must be one of {METHODS}, not {self.method!r}")
        self._target(context, campaign_id)  # a target that may not be written fails before lemlist works
        if self.method == "sync":
            return self._download(context, campaign_id, {"campaign_id": campaign_id}, None)
        return self._wait(context, campaign_id, self._start(campaign_id), attempt=0)

    def execute_complete(self, context: Any, event: dict[str, Any] | None = None) -> dict[str, Any]:
        """After the wait: download on ``done``, restart on ``not_found`` while restarts are left, else fail."""
        event = check_event(event)
        campaign_id, attempt = str(event["campaign_id"]), int(event.get("attempt", 0))
        if event["status"] == "not_found":
            if attempt < int(self.max_restarts):
                return self._restart(context, campaign_id, attempt, str(event.get("message")))
            event["message"] = (
                f"{event.get('message')}; gone again after {attempt} restart(s). Check that lemlist finishes "
                "exports of this campaign, or raise export_timeout / max_restarts."
            )
        return self._download(context, campaign_id, event, done_export(event))

    # -- steps ------------------------------------------------------------------------------------------------
    def _target(self, context: Any, campaign_id: str) -> Any:
        when = context.get("logical_date") or getattr(context.get("dag_run"), "run_after", None)
        date = (when or datetime.now(UTC)).strftime("%Y-%m-%d")
        value = str(self.output_uri).format(campaign_id=paths.safe_name(campaign_id), date=date)
        target = paths.output_location("output_uri", value)
        paths.check_replaceable("output_uri", target)
        return target

    def _start(self, campaign_id: str) -> str:
        started = self.hook.start_export(campaign_id)
        export_id = (started.get("id") or started.get("_id")) if isinstance(started, dict) else None
        if not export_id:
            raise AirflowException(
                f"lemlist did not return an export id for campaign {campaign_id}: {started!r}"
            )
        self.log.info("Started lemlist export %s of campaign %s", export_id, campaign_id)
        return str(export_id)

    def _wait(self, context: Any, campaign_id: str, export_id: str, attempt: int) -> dict[str, Any]:
        timeout = float(self.export_timeout)
        trigger = LemlistExportStatusTrigger(
            campaign_id=campaign_id, export_id=export_id, deadline=time.time() + timeout,
            lemlist_conn_id=self.lemlist_conn_id, first_poll=float(self.first_poll), poll_min=float(self.poll_min),
            poll_max=float(self.poll_max), attempt=attempt,
        )  # fmt: skip
        if self.deferrable:
            self.defer(
                trigger=trigger, method_name="execute_complete", timeout=timedelta(seconds=timeout + 300)
            )
        return self.execute_complete(context, run_in_worker(trigger))

    def _restart(self, context: Any, campaign_id: str, attempt: int, why: str) -> dict[str, Any]:
        self.log.warning("%s; restarting the export (restart %d of %s)", why, attempt + 1, self.max_restarts)
        return self._wait(context, campaign_id, self._start(campaign_id), attempt + 1)

    def _download(self, context: Any, campaign_id: str, event: dict, export: dict | None) -> dict[str, Any]:
        """Stream the file: the export's signed ``url`` (async) or the synchronous CSV route."""
        target = self._target(context, campaign_id)
        started = time.monotonic()
        if export is None:
            written = stream_to(target, lambda writer: self.hook.export_campaign_leads(
                campaign_id, state=str(self.state), format="csv", fileobj=writer), None)  # fmt: skip
            return self._result(context, campaign_id, target, written, started, method="sync")
        attempt = int(event.get("attempt", 0))
        try:
            written = stream_to(target, lambda writer: self.hook.download_export(
                export["url"], fileobj=writer, chunk_size=int(self.chunk_size)), export.get("fileSize"))  # fmt: skip
        except (LemlistAuthError, LemlistNotFoundError) as exc:
            if attempt < int(self.max_restarts):  # the signed link expired: a new export gives a new link
                return self._restart(context, campaign_id, attempt, f"download link refused ({exc})")
            raise AirflowFailException(
                f"download of lemlist export {event['export_id']} refused after {attempt} restart(s): {exc}"
            ) from None
        return self._result(
            context, campaign_id, target, written, started, method="async", export_id=event["export_id"],
            restarts=attempt, polls=int(event.get("polls", 0)), poll_rate_limited=int(event.get("rate_limited", 0)),
            file_size=export.get("fileSize"),
        )  # fmt: skip

    def _result(
        self, context: Any, campaign_id: str, target: Any, written: dict, started: float, **extra: Any
    ) -> dict:
        result = {
            "campaign_id": campaign_id, "campaign_name": campaign_ref(self.campaign)[1], "uri": str(target),
            "bytes": written["bytes"], "rows": written["rows"],
            "download_seconds": round(time.monotonic() - started, 3), **extra,
        }  # fmt: skip
        self.log.info("Exported campaign %s: %d rows, %d bytes to %s", campaign_id, result["rows"],
                      result["bytes"], target)  # fmt: skip
        outlet_events = context.get("outlet_events")
        if outlet_events is not None and LEMLIST_EXPORTS_ASSET in (self.outlets or []):
            outlet_events[LEMLIST_EXPORTS_ASSET].extra = {
                "campaign_id": campaign_id, "uri": result["uri"], "rows": result["rows"], "bytes": result["bytes"],
            }  # fmt: skip
        return result
