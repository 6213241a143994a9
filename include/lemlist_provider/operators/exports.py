"""Campaign exports: list the campaigns to export, then export each one to storage.

``LemlistCampaignExportOperator`` starts lemlist's asynchronous export, defers to
``LemlistExportStatusTrigger`` while lemlist builds it (no worker slot, no pool slot), then streams the CSV
from the export's ``url`` to an ``ObjectStoragePath`` in chunks, checking the byte count against
``fileSize``: the file is never held in memory. A status that answers 404 (lemlist forgets statuses after
2 hours) or a download link that expired restarts the export once; ``error`` fails with lemlist's reason.
``method="sync"`` uses the synchronous ``/export/leads?state=...&format=csv`` instead.

Every exported file is announced as an event on ``LEMLIST_EXPORTS_ASSET`` (extra: campaign, uri, rows),
so downstream DAGs can be scheduled on fresh exports.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import IO, Any

from airflow.sdk import Asset, BaseOperator
from airflow.sdk.exceptions import AirflowException, AirflowFailException

from lemlist_provider.triggers.exports import DEFAULT_POLL, LemlistExportStatusTrigger, next_interval

LEMLIST_POOL = "lemlist_api"
DEFAULT_OUTPUT = "include/exports/{campaign_id}/{date}.csv"
CHUNK_SIZE = 1024 * 1024
LEMLIST_EXPORTS_ASSET = Asset(name="lemlist_campaign_exports", uri="lemlist://exports/campaign-leads")
METHODS = ("async", "sync")


class ExportSizeMismatch(AirflowException):
    """The bytes written differ from lemlist's ``fileSize``: the partial file was removed."""


class CountingWriter:
    """A write-only file wrapper that counts bytes and lines as chunks pass through (O(1) memory)."""

    def __init__(self, handle: IO[bytes]) -> None:
        self.handle = handle
        self.bytes = 0
        self.newlines = 0
        self.last = b""

    def write(self, chunk: bytes) -> int:
        self.handle.write(chunk)
        self.bytes += len(chunk)
        self.newlines += chunk.count(b"\n")
        if chunk:
            self.last = chunk[-1:]
        return len(chunk)

    @property
    def rows(self) -> int:
        """Data rows: lines minus the header (a final line without a newline counts too)."""
        lines = self.newlines + (1 if self.bytes and self.last != b"\n" else 0)
        return max(0, lines - 1)


def resolve_target(output_uri: str, campaign_id: str, date: str) -> Any:
    """A local ``Path`` (relative to the project root) or an ``ObjectStoragePath`` for any other URI."""
    from lemlist_provider.lead_import.reader import resolve_location

    return resolve_location(output_uri.format(campaign_id=campaign_id, date=date))


def stream_to(target: Any, fill: Any, expected_size: int | None) -> dict[str, int]:
    """Write through ``fill(writer)`` to ``target`` via a ``.part`` file, check the size, then rename.

    A size mismatch removes the partial file and raises ``ExportSizeMismatch``; a crash leaves only the
    ``.part`` file, never a truncated file under the final name.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + ".part")
    try:
        with part.open("wb") as handle:
            writer = CountingWriter(handle)
            fill(writer)
        if expected_size is not None and writer.bytes != int(expected_size):
            raise ExportSizeMismatch(
                f"downloaded {writer.bytes} bytes but lemlist announced fileSize={expected_size}; "
                "the partial file was removed"
            )
        if target.exists():
            target.unlink()
        part.rename(target)
    except BaseException:
        try:
            part.unlink()
        except Exception:  # noqa: BLE001 - already gone
            pass
        raise
    return {"bytes": writer.bytes, "rows": writer.rows}


def campaign_ref(campaign: Any) -> tuple[str, str]:
    """``(id, name)`` from a campaign id or a campaign dict (as listed by lemlist or by the list task)."""
    if isinstance(campaign, dict):
        cid = campaign.get("campaign_id") or campaign.get("_id") or campaign.get("id")
        return str(cid), str(campaign.get("name") or "")
    return str(campaign), ""


class LemlistListCampaignsOperator(BaseOperator):
    """List the campaigns to export (one campaign when ``campaign_id`` is set), as small dicts to map over.

    Returns ``[{"campaign_id", "name", "status"}, ...]``.
    """

    template_fields: Sequence[str] = ("status", "campaign_id")

    def __init__(
        self,
        *,
        status: str | None = None,
        campaign_id: str | None = None,
        lemlist_conn_id: str = "lemlist_default",
        pool: str = LEMLIST_POOL,
        **kwargs: Any,
    ) -> None:
        super().__init__(pool=pool, **kwargs)
        self.status = status
        self.campaign_id = campaign_id
        self.lemlist_conn_id = lemlist_conn_id

    def execute(self, context: Any) -> list[dict[str, str]]:
        from lemlist_provider.hooks.lemlist import LemlistHook

        hook = LemlistHook(lemlist_conn_id=self.lemlist_conn_id)
        try:
            if self.campaign_id:
                campaigns = [hook.get_campaign(self.campaign_id)]
            else:
                campaigns = hook.list_campaigns(status=self.status or None)
        finally:
            hook.close()
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


class LemlistCampaignExportOperator(BaseOperator):
    """Export one campaign's leads to a CSV file in any object storage.

    :param campaign: a campaign id, or a dict with ``campaign_id``/``_id`` (what the list task returns)
    :param method: ``async`` (start → status → download; the default) or ``sync`` (``/export/leads``)
    :param state: lead state filter of the synchronous route (``all``, ``scanned``, ...)
    :param output_uri: path or URI template with ``{campaign_id}`` and ``{date}``
    :param deferrable: wait in the triggerer (default) instead of sleeping in the worker
    :param first_poll: seconds before the first status poll; then ``poll_min``-``poll_max`` with jitter
    :param export_timeout: seconds the export may take before the task fails (lemlist keeps statuses 2 h)
    :param max_restarts: restarts after the status expired (404) or the link expired (403/404)
    """

    template_fields: Sequence[str] = (
        "campaign", "method", "state", "output_uri", "first_poll", "poll_min", "poll_max", "export_timeout",
    )  # fmt: skip
    ui_color = "#e6f7ee"

    def __init__(
        self,
        *,
        campaign: Any,
        method: str = "async",
        state: str = "all",
        output_uri: str = DEFAULT_OUTPUT,
        deferrable: bool = True,
        first_poll: float = DEFAULT_POLL["first_poll"],
        poll_min: float = DEFAULT_POLL["poll_min"],
        poll_max: float = DEFAULT_POLL["poll_max"],
        export_timeout: float = 7200.0,
        max_restarts: int = 1,
        chunk_size: int = CHUNK_SIZE,
        lemlist_conn_id: str = "lemlist_default",
        pool: str = LEMLIST_POOL,
        outlets: list | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            pool=pool, outlets=outlets if outlets is not None else [LEMLIST_EXPORTS_ASSET], **kwargs
        )
        self.campaign = campaign
        self.method = method
        self.state = state
        self.output_uri = output_uri
        self.deferrable = deferrable
        self.first_poll = first_poll
        self.poll_min = poll_min
        self.poll_max = poll_max
        self.export_timeout = export_timeout
        self.max_restarts = max_restarts
        self.chunk_size = chunk_size
        self.lemlist_conn_id = lemlist_conn_id

    # -- helpers ------------------------------------------------------------------------------------------
    def _hook(self) -> Any:
        from lemlist_provider.hooks.lemlist import LemlistHook

        return LemlistHook(lemlist_conn_id=self.lemlist_conn_id)

    @staticmethod
    def _date(context: Any) -> str:
        when = None
        if context:
            when = context.get("logical_date") or getattr(context.get("dag_run"), "run_after", None)
        return (when or datetime.now(UTC)).strftime("%Y-%m-%d")

    def _target(self, context: Any, campaign_id: str) -> Any:
        return resolve_target(str(self.output_uri), campaign_id, self._date(context))

    def _start(self, hook: Any, campaign_id: str) -> str:
        started = hook.start_export(campaign_id)
        export_id = (
            (started or {}).get("id") or (started or {}).get("_id") if isinstance(started, dict) else None
        )
        if not export_id:
            raise AirflowException(
                f"lemlist did not return an export id for campaign {campaign_id}: {started!r}"
            )
        self.log.info("Started lemlist export %s of campaign %s", export_id, campaign_id)
        return str(export_id)

    def _defer(self, campaign_id: str, export_id: str, attempt: int) -> None:
        timeout = float(self.export_timeout)
        self.defer(
            trigger=LemlistExportStatusTrigger(
                campaign_id=campaign_id,
                export_id=export_id,
                deadline=time.time() + timeout,
                lemlist_conn_id=self.lemlist_conn_id,
                first_poll=float(self.first_poll),
                poll_min=float(self.poll_min),
                poll_max=float(self.poll_max),
                attempt=attempt,
            ),
            method_name="execute_complete",
            timeout=timeout + 300,
        )

    # -- execution -----------------------------------------------------------------------------------------
    def execute(self, context: Any) -> dict[str, Any]:
        campaign_id, _ = campaign_ref(self.campaign)
        if self.method not in METHODS:
            raise AirflowFailException(f"method must be one of {METHODS}, not {self.method!r}")
        if self.method == "sync":
            return self._export_sync(context, campaign_id)
        hook = self._hook()
        try:
            export_id = self._start(hook, campaign_id)
        finally:
            hook.close()
        if self.deferrable:
            self._defer(campaign_id, export_id, 0)
        return self._wait_in_worker(context, campaign_id, export_id)

    def _wait_in_worker(self, context: Any, campaign_id: str, export_id: str) -> dict[str, Any]:
        """The non-deferrable path: the same schedule as the trigger, sleeping in the worker."""
        from lemlist_provider.hooks.errors import LemlistNotFoundError

        attempt, polls = 0, 0
        hook = self._hook()
        try:
            deadline = time.time() + float(self.export_timeout)
            while True:
                time.sleep(
                    next_interval(polls, float(self.first_poll), float(self.poll_min), float(self.poll_max))
                )
                polls += 1
                try:
                    status = hook.get_export_status(campaign_id, export_id)
                except LemlistNotFoundError:
                    event = {
                        "status": "not_found",
                        "message": f"lemlist export {export_id} status expired (404)",
                    }
                else:
                    state = status.get("status") if isinstance(status, dict) else None
                    if state not in ("done", "error"):
                        if time.time() >= deadline:
                            event = {
                                "status": "timeout",
                                "message": f"lemlist export {export_id} not done in time",
                            }
                        else:
                            continue
                    else:
                        event = {"status": state, "export": status, "message": status.get("error") or ""}
                event.update(campaign_id=campaign_id, export_id=export_id, attempt=attempt, polls=polls)
                if event["status"] == "not_found" and attempt < int(self.max_restarts):
                    self.log.warning("%s; restarting the export (restart %d)", event["message"], attempt + 1)
                    attempt += 1
                    export_id = self._start(hook, campaign_id)
                    deadline, polls = time.time() + float(self.export_timeout), 0
                    continue
                return self._finish(context, event, hook)
        finally:
            hook.close()

    def execute_complete(self, context: Any, event: dict[str, Any] | None = None) -> dict[str, Any]:
        """Resume after the trigger: download on ``done``, restart once on ``not_found``, else fail closed."""
        if not isinstance(event, dict) or event.get("status") not in (
            "done",
            "error",
            "not_found",
            "timeout",
            "failed",
        ):
            raise AirflowException(f"unexpected event from the export trigger: {event!r}")
        if event["status"] == "not_found" and int(event.get("attempt", 0)) < int(self.max_restarts):
            campaign_id = str(event["campaign_id"])
            self.log.warning("%s; restarting the export once", event.get("message"))
            hook = self._hook()
            try:
                export_id = self._start(hook, campaign_id)
            finally:
                hook.close()
            self._defer(campaign_id, export_id, int(event.get("attempt", 0)) + 1)
        hook = self._hook()
        try:
            return self._finish(context, event, hook)
        finally:
            hook.close()

    def _finish(self, context: Any, event: dict[str, Any], hook: Any) -> dict[str, Any]:
        from lemlist_provider.hooks.errors import LemlistAuthError, LemlistNotFoundError

        status, campaign_id, export_id = event["status"], str(event["campaign_id"]), str(event["export_id"])
        attempt = int(event.get("attempt", 0))
        if status == "error":
            raise AirflowFailException(
                f"lemlist export {export_id} of campaign {campaign_id} failed on lemlist's side: "
                f"{(event.get('export') or {}).get('error') or event.get('message') or 'no reason given'}"
            )
        if status == "not_found":
            raise AirflowFailException(
                f"lemlist export of campaign {campaign_id} is gone again (status 404; lemlist forgets export "
                f"statuses 2 hours after they start) after {attempt} restart(s): last export {export_id}. "
                "Check that lemlist finishes exports of this campaign, or raise export_timeout/max_restarts."
            )
        if status in ("timeout", "failed"):
            raise AirflowException(f"{event.get('message')}")
        export = event.get("export") or {}
        url, size = export.get("url"), export.get("fileSize")
        if not url:
            raise AirflowException(f"lemlist export {export_id} is done but has no url: {export!r}")
        target = self._target(context, campaign_id)
        started = time.monotonic()
        try:
            written = stream_to(
                target, lambda writer: hook.download_export(url, fileobj=writer, chunk_size=int(self.chunk_size)),
                size if size is not None else None,
            )  # fmt: skip
        except (LemlistAuthError, LemlistNotFoundError) as exc:
            if attempt < int(self.max_restarts):  # the signed link expired: a new export gives a new link
                self.log.warning(
                    "download link of export %s refused (%s); restarting the export", export_id, exc
                )
                new_id = self._start(hook, campaign_id)
                if self.deferrable:
                    self._defer(campaign_id, new_id, attempt + 1)
                return self._wait_in_worker(context, campaign_id, new_id)
            raise AirflowFailException(
                f"download of lemlist export {export_id} refused after a restart: {exc}"
            ) from None
        return self._result(
            context, campaign_id, target, written, time.monotonic() - started,
            method="async", export_id=export_id, restarts=attempt, polls=int(event.get("polls", 0)),
            poll_rate_limited=int(event.get("rate_limited", 0)), file_size=size,
        )  # fmt: skip

    def _export_sync(self, context: Any, campaign_id: str) -> dict[str, Any]:
        target = self._target(context, campaign_id)
        hook = self._hook()
        started = time.monotonic()
        try:
            written = stream_to(
                target,
                lambda writer: hook.export_campaign_leads(
                    campaign_id, state=str(self.state), format="csv", fileobj=writer
                ),
                None,
            )
        finally:
            hook.close()
        return self._result(context, campaign_id, target, written, time.monotonic() - started, method="sync")

    def _result(
        self, context: Any, campaign_id: str, target: Any, written: dict, seconds: float, **extra: Any
    ) -> dict:
        result = {
            "campaign_id": campaign_id,
            "campaign_name": campaign_ref(self.campaign)[1],
            "uri": str(target),
            "bytes": written["bytes"],
            "rows": written["rows"],
            "download_seconds": round(seconds, 3),
            **extra,
        }
        self.log.info(
            "Exported campaign %s: %d rows, %d bytes to %s",
            campaign_id,
            result["rows"],
            result["bytes"],
            target,
        )
        outlet_events = context.get("outlet_events") if context else None
        if outlet_events is not None:
            try:
                outlet_events[LEMLIST_EXPORTS_ASSET].extra = {
                    "campaign_id": campaign_id, "uri": result["uri"], "rows": result["rows"], "bytes": result["bytes"],
                }  # fmt: skip
            except Exception as exc:  # noqa: BLE001 - custom outlets may not include the default asset
                self.log.debug("no outlet event for %s: %s", LEMLIST_EXPORTS_ASSET, exc)
        return result


def run_summary_line(summary: dict[str, Any]) -> str:
    """One line for ``make demo``: campaigns exported, rows, bytes, restarts."""
    if not summary:
        return "campaign export: no summary"
    return (
        f"campaign export [{summary.get('method')}]: {summary.get('exported')}/{summary.get('campaigns')} campaigns, "
        f"{summary.get('rows')} rows, {summary.get('bytes')} bytes, {summary.get('restarts', 0)} restart(s), "
        f"{summary.get('polls', 0)} status polls ({summary.get('poll_rate_limited', 0)} x 429); "
        f"files under {summary.get('folder')}"
    )
