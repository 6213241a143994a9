"""Operators of the enrichment pipeline: credits, start, collect, report.

Modelled on the dbt Cloud provider: ``LemlistEnrichOperator`` starts the remote work and can wait for it
itself (``wait_for_completion=True``: it defers to ``LemlistEnrichmentTrigger`` and ``execute_complete``
fetches the results, failing closed on a malformed event), or leave the wait to ``LemlistEnrichmentSensor``
and the collection to ``LemlistEnrichmentResultsOperator`` as the ``lemlist_enrichment`` DAG does.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowException, AirflowFailException

from lemlist_provider.enrichment.credits import credits_of, plan_credits
from lemlist_provider.enrichment.items import build_items, items_from_leads, kinds_for, read_rows
from lemlist_provider.enrichment.results import status_counts, write_results
from lemlist_provider.enrichment.starts import (
    Ledger,
    collect_results,
    start_enrichments,
    wait_sync,
    write_back,
)
from lemlist_provider.triggers.enrichment import (
    DEFAULT_POLL,
    EVENT_STATUSES,
    LemlistEnrichmentTrigger,
    truncate_ids,
)

INSUFFICIENT_MODES = ("fail", "partial")


def _hook(conn_id: str) -> Any:
    from lemlist_provider.hooks.lemlist import LemlistHook

    return LemlistHook(conn_id)


def resolve_path(path: str | os.PathLike) -> Path:
    """A relative path is taken from the project folder (the parent of the DAGs folder)."""
    candidate = Path(path).expanduser()
    if candidate.is_absolute() or candidate.exists():
        return candidate
    dags = os.environ.get("AIRFLOW__CORE__DAGS_FOLDER")
    if dags:
        return Path(dags).resolve().parent / candidate
    return candidate


class LemlistCreditsOperator(BaseOperator):
    """Read ``GET /team/credits``; fail when fewer than ``min_credits`` are left. Returns ``{"credits": N}``."""

    template_fields: Sequence[str] = ("min_credits",)

    def __init__(
        self, *, lemlist_conn_id: str = "lemlist_default", min_credits: int | None = None, **kwargs: Any
    ) -> None:
        kwargs.setdefault("pool", "lemlist_api")
        super().__init__(**kwargs)
        self.lemlist_conn_id = lemlist_conn_id
        self.min_credits = min_credits

    def execute(self, context: Any) -> dict[str, Any]:
        hook = _hook(self.lemlist_conn_id)
        credits = credits_of(hook.get_credits())
        self.log.info("lemlist credits available: %d", credits)
        if self.min_credits is not None and credits < int(self.min_credits):
            raise AirflowFailException(
                f"lemlist has {credits} credits left, fewer than the {self.min_credits} required"
            )
        return {"credits": credits, "http": hook.metrics()}


class LemlistEnrichOperator(BaseOperator):
    """Start lemlist enrichments for leads, people, a campaign's leads or a file's rows.

    Inputs (any combination): ``lead_ids`` (``POST /leads/{id}/enrich``, 409 = skipped unless ``force``);
    ``people`` (dicts with email / linkedinUrl / firstName+lastName+companyName, or emails) and the rows of
    ``source`` (CSV or JSON Lines) through ``POST /v2/enrichments/bulk`` in chunks of at most 500;
    ``campaign_id``: the campaign's leads (one ``export/leads`` call), enriched in bulk with their data, and
    skipped when an earlier run wrote a final ``enrichmentStatus`` on them (unless ``force``);
    ``campaign_status`` (e.g. ``"running"``): the same for every campaign in that status, which with
    ``write_back`` is how the scheduled DAG enriches only the new leads of active campaigns.

    Credits first: the worst case (items x types x ``credit_cost``) is compared to ``GET /team/credits`` and
    ``max_credits``; too few fails with needed vs available, or ``on_insufficient_credits="partial"`` starts
    only what fits. A start is never resent (see ``enrichment/starts.py``); ``ledger_path`` makes a retried
    task skip what an earlier try sent.

    Returns (XCom) ``{"enrichment_ids", "records", "counts", "credits", "http"}``. With
    ``wait_for_completion=True`` it also waits (deferred by default) and writes ``output_path`` itself.
    """

    template_fields: Sequence[str] = (
        "lead_ids", "people", "campaign_id", "campaign_status", "source", "enrichments", "force", "max_credits",
        "on_insufficient_credits", "ledger_path", "output_path",
    )  # fmt: skip

    def __init__(
        self,
        *,
        lead_ids: Any = None,
        people: Any = None,
        campaign_id: str | None = None,
        campaign_status: str | None = None,
        source: str | None = None,
        enrichments: Any = ("find_email",),
        force: Any = False,
        max_credits: Any = None,
        on_insufficient_credits: str = "fail",
        credit_cost: int = 1,
        chunk_size: int = 500,
        ledger_path: str | None = None,
        lemlist_conn_id: str = "lemlist_default",
        wait_for_completion: bool = False,
        deferrable: bool = True,
        output_path: str | None = None,
        timeout: float = 3600.0,
        first_poll: float = DEFAULT_POLL["first_poll"],
        backoff: float = DEFAULT_POLL["backoff"],
        max_interval: float = DEFAULT_POLL["max_interval"],
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("pool", "lemlist_api")
        super().__init__(**kwargs)
        self.lead_ids = lead_ids
        self.people = people
        self.campaign_id = campaign_id
        self.campaign_status = campaign_status
        self.source = source
        self.enrichments = enrichments
        self.force = force
        self.max_credits = max_credits
        self.on_insufficient_credits = on_insufficient_credits
        self.credit_cost = credit_cost
        self.chunk_size = chunk_size
        self.ledger_path = ledger_path
        self.lemlist_conn_id = lemlist_conn_id
        self.wait_for_completion = wait_for_completion
        self.deferrable = deferrable
        self.output_path = output_path
        self.wait_timeout = float(timeout)
        self.first_poll = first_poll
        self.backoff = backoff
        self.max_interval = max_interval

    # -- start ----------------------------------------------------------------------------------------
    def execute(self, context: Any) -> dict[str, Any]:
        if self.on_insufficient_credits not in INSUFFICIENT_MODES:
            raise AirflowFailException(f"on_insufficient_credits must be one of {INSUFFICIENT_MODES}")
        enrichments = (
            [self.enrichments] if isinstance(self.enrichments, str) else list(self.enrichments or [])
        )
        try:
            kinds = kinds_for(enrichments)
        except ValueError as exc:
            raise AirflowFailException(str(exc)) from None
        force = bool(self.force)
        hook = _hook(self.lemlist_conn_id)
        rows = read_rows(resolve_path(self.source)) if self.source else None
        items = build_items(lead_ids=self._list(self.lead_ids), people=self._list(self.people), rows=rows)
        skipped: list[dict] = []
        campaign_ids = [self.campaign_id] if self.campaign_id else []
        if self.campaign_status:
            campaigns = hook.list_campaigns(status=self.campaign_status)
            campaign_ids += [c["_id"] for c in campaigns if c.get("_id") and c["_id"] not in campaign_ids]
            self.log.info("%d %s campaign(s): %s", len(campaign_ids), self.campaign_status, campaign_ids)
        for campaign_id in campaign_ids:
            leads = hook.export_campaign_leads(campaign_id, state="all", format="json") or []
            campaign_items, campaign_skipped = items_from_leads(leads, force=force)
            known = {i["key"] for i in items}
            items += [i for i in campaign_items if i["key"] not in known]
            skipped += campaign_skipped
        ledger = Ledger(self.ledger_path)
        fresh = [i for i in items if i["key"] not in ledger.records]
        credits_before = credits_of(hook.get_credits())
        max_credits = None if self.max_credits in (None, "") else int(self.max_credits)
        plan = plan_credits(fresh, len(kinds) * int(self.credit_cost), credits_before, max_credits)
        self.log.info(
            "lemlist enrichment: %d inputs (%d already sent by an earlier try, %d skipped as already enriched), "
            "%d credits needed at most, %d available, budget %d",
            len(items), len(items) - len(fresh), len(skipped), plan.needed, plan.available, plan.budget,
        )  # fmt: skip
        if not plan.fits and self.on_insufficient_credits == "fail":
            raise AirflowFailException(plan.shortfall_message())
        if not plan.fits:
            self.log.warning(
                "%s; starting the first %d that fit", plan.shortfall_message(), len(plan.selected)
            )
        start_items = [i for i in items if i["key"] in ledger.records] + plan.selected
        records, counters = start_enrichments(
            hook,
            start_items,
            enrichments,
            kinds,
            force=force,
            chunk_size=self.chunk_size,
            ledger=ledger,
            log=self.log,
        )
        records += [{**i, "enrichmentId": None, "status": "skipped_credits",
                     "error": f"left out: {plan.needed} credits needed, budget {plan.budget}"} for i in plan.unaffordable]  # fmt: skip
        records += [
            {**i, "enrichmentId": None, "status": "skipped", "error": "already enriched (enrichmentStatus)"}
            for i in skipped
        ]
        for record in records:
            record.pop("mode", None)
        ids = [r["enrichmentId"] for r in records if r["status"] == "started" and r["enrichmentId"]]
        result = {
            "enrichment_ids": ids,
            "records": records,
            "counts": status_counts(records),
            "credits": {"before": credits_before, "needed": plan.needed, "budget": plan.budget},
            "http": {
                **hook.metrics(),
                **counters,
                "starts": counters["bulk_calls"] + counters["single_calls"],
            },
            "enrichments": enrichments,
        }
        self.log.info("lemlist enrichment started: %s", json.dumps(result["counts"]))
        if not self.wait_for_completion:
            return result
        if not ids:
            return self._finish(hook, result, [])
        if self.deferrable:
            context["ti"].xcom_push(key="started", value=result)
            self.defer(
                trigger=LemlistEnrichmentTrigger(
                    enrichment_ids=ids,
                    deadline=time.time() + self.wait_timeout,
                    lemlist_conn_id=self.lemlist_conn_id,
                    first_poll=self.first_poll,
                    backoff=self.backoff,
                    max_interval=self.max_interval,
                ),  # fmt: skip
                method_name="execute_complete",
                timeout=timedelta(seconds=self.wait_timeout + 120),
            )
        _, _, pending = wait_sync(
            hook, ids, timeout=self.wait_timeout, first_poll=self.first_poll, backoff=self.backoff,
            max_interval=self.max_interval,
        )  # fmt: skip
        result = self._finish(hook, result, pending)
        if pending:
            raise AirflowException(
                f"lemlist enrichments not final after {self.wait_timeout:.0f} s: {len(pending)} still pending: "
                f"{truncate_ids(pending)} (results so far in {result.get('output')})"
            )
        return result

    @staticmethod
    def _list(value: Any) -> list | None:
        if value in (None, "", []):
            return None
        if isinstance(value, str):
            return [v.strip() for v in value.split(",") if v.strip()]
        return list(value)

    # -- after the wait (deferrable) --------------------------------------------------------------------
    def execute_complete(self, context: Any, event: dict[str, Any] | None = None) -> dict[str, Any]:
        if not isinstance(event, dict) or event.get("status") not in EVENT_STATUSES:
            raise AirflowException(f"lemlist enrichment trigger sent an unexpected event: {str(event)[:300]}")
        if any(not isinstance(event.get(k), list) for k in ("done", "failed", "pending")):
            raise AirflowException(
                f"lemlist enrichment trigger event lacks done/failed/pending: {str(event)[:300]}"
            )
        if event["status"] == "error":
            raise AirflowException(event.get("message") or "lemlist enrichment polling failed")
        started = context["ti"].xcom_pull(task_ids=self.task_id, key="started")
        if not isinstance(started, dict):
            raise AirflowException("the started enrichments of this task are missing from XCom")
        result = self._finish(_hook(self.lemlist_conn_id), started, event["pending"])
        if event["status"] == "timeout":
            raise AirflowException(
                f"lemlist enrichments not final after {self.wait_timeout:.0f} s: {len(event['pending'])} still pending: "
                f"{truncate_ids(event['pending'])} (results so far in {result.get('output')})"
            )
        return result

    def _finish(self, hook: Any, started: dict, pending: list[str]) -> dict[str, Any]:
        rows = collect_results(hook, started["records"], pending_ids=pending)
        out = {k: v for k, v in started.items() if k != "records"}
        out["counts"] = status_counts(rows)
        if self.output_path:
            out["output"] = str(write_results(rows, resolve_path(self.output_path)))
        return out


class LemlistEnrichmentResultsOperator(BaseOperator):
    """Collect the results of started enrichments into a file (CSV or JSON Lines), optionally writing them
    back on the leads as variables. Reads each final enrichment once (``GET /enrich/{id}``).

    :param started: the XCom of ``LemlistEnrichOperator`` (templated)
    :param waited: the XCom of ``LemlistEnrichmentSensor`` (ids still pending are not read)
    :param output_path: results file; ``.csv`` for CSV, anything else JSON Lines
    :param write_back: set ``enrichmentStatus``, ``enrichedEmail``, ... on each enriched lead
    """

    template_fields: Sequence[str] = ("started", "waited", "output_path", "write_back")

    def __init__(
        self,
        *,
        started: Any,
        output_path: str,
        waited: Any = None,
        write_back: Any = False,
        lemlist_conn_id: str = "lemlist_default",
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("pool", "lemlist_api")
        super().__init__(**kwargs)
        self.started = started
        self.waited = waited
        self.output_path = output_path
        self.write_back = write_back
        self.lemlist_conn_id = lemlist_conn_id

    def execute(self, context: Any) -> dict[str, Any]:
        if not isinstance(self.started, dict) or "records" not in self.started:
            raise AirflowException("started enrichments missing: pass the XCom of LemlistEnrichOperator")
        pending = (self.waited or {}).get("pending", []) if isinstance(self.waited, dict) else []
        hook = _hook(self.lemlist_conn_id)
        rows = collect_results(hook, self.started["records"], pending_ids=pending)
        path = write_results(rows, resolve_path(self.output_path))
        written = write_back(hook, rows, self.log) if self.write_back else {}
        counts = status_counts(rows)
        self.log.info("lemlist enrichment results: %s -> %s", json.dumps(counts), path)
        return {"output": str(path), "counts": counts, "http": hook.metrics(), **written}


class LemlistEnrichmentReportOperator(BaseOperator):
    """The run's summary: counts per status, credits before/after/used, requests, 429s and retries;
    written as JSON next to the results and returned as XCom."""

    template_fields: Sequence[str] = ("credits_before", "started", "waited", "collected")

    def __init__(
        self,
        *,
        credits_before: Any,
        started: Any,
        collected: Any,
        waited: Any = None,
        lemlist_conn_id: str = "lemlist_default",
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("pool", "lemlist_api")
        super().__init__(**kwargs)
        self.credits_before = credits_before
        self.started = started
        self.waited = waited
        self.collected = collected
        self.lemlist_conn_id = lemlist_conn_id

    def execute(self, context: Any) -> dict[str, Any]:
        hook = _hook(self.lemlist_conn_id)
        after = credits_of(hook.get_credits())
        before = (
            self.credits_before.get("credits")
            if isinstance(self.credits_before, dict)
            else self.credits_before
        )
        started = self.started if isinstance(self.started, dict) else {}
        waited = self.waited if isinstance(self.waited, dict) else {}
        collected = self.collected if isinstance(self.collected, dict) else {}
        parts = [
            (self.credits_before or {}).get("http", {}) if isinstance(self.credits_before, dict) else {},
            started.get("http", {}), collected.get("http", {}), hook.metrics(),
        ]  # fmt: skip
        http = {
            k: int(sum(p.get(k, 0) for p in parts))
            for k in ("requests", "rate_limited", "retries", "failures")
        }
        polls = int(waited.get("polls", 0))
        http["requests"] += polls
        http["rate_limited"] += int(waited.get("rate_limited", 0))
        http["retries"] += int(waited.get("retries", 0))
        http.update(starts=int(started.get("http", {}).get("starts", 0)), polls=polls)
        summary = {
            "counts": collected.get("counts", {}),
            "credits": {
                "before": before,
                "after": after,
                "used": (before - after) if isinstance(before, int) else None,
            },
            "http": http,
            "output": collected.get("output"),
            "enrichments": started.get("enrichments", []),
        }
        if collected.get("output"):
            Path(collected["output"]).with_suffix(".summary.json").write_text(
                json.dumps(summary, indent=2) + "\n"
            )
        from lemlist_provider.enrichment.results import run_summary_line

        self.log.info(run_summary_line(summary))
        return summary
