"""Operators of the enrichment pipeline: credits, start, collect, report.

Modelled on the dbt Cloud provider: ``LemlistEnrichOperator`` starts the remote work and can wait for it
itself (``wait_for_completion=True``: deferred to ``LemlistEnrichmentTrigger``, or that trigger run in the
worker; either way ``execute_complete`` fetches the results, failing closed on a malformed event), or leave
the wait to ``LemlistEnrichmentSensor`` and the collection to ``LemlistEnrichmentResultsOperator`` as the
``lemlist_enrichment`` DAG does.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from airflow.sdk import BaseOperator
from airflow.sdk.configuration import conf
from airflow.sdk.exceptions import AirflowException, AirflowFailException, AirflowSkipException

from lemlist_provider import paths, settings
from lemlist_provider.enrichment.credits import credits_of, plan_credits, require_credits
from lemlist_provider.enrichment.items import build_items, items_from_leads, kinds_for, people_of, read_rows
from lemlist_provider.enrichment.ledger import Ledger
from lemlist_provider.enrichment.results import run_summary_line, status_counts, write_results
from lemlist_provider.enrichment.starts import collect_results, per_row, start_enrichments, write_back
from lemlist_provider.enrichment.wait import DEFAULT_POLL, check_event
from lemlist_provider.events.callbacks import enrichment_webhook_url
from lemlist_provider.figures import FIGURES
from lemlist_provider.operators.base import (
    LemlistBaseOperator,
    LemlistTaskMixin,
    as_bool,
    as_list,
    given,
    run_output,
)
from lemlist_provider.triggers.base import run_in_worker
from lemlist_provider.triggers.enrichment import LemlistEnrichmentTrigger

INSUFFICIENT_MODES = ("fail", "partial")


class LemlistCreditsOperator(LemlistBaseOperator):
    """Read ``GET /team/credits``; fail when fewer than ``min_credits`` are left. Returns ``{"credits": N}``."""

    template_fields: Sequence[str] = (*LemlistBaseOperator.template_fields, "min_credits")

    def __init__(
        self, *, min_credits: int | None = None, scheduled_spending: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.keep_arguments(locals())

    def execute(self, context: Any) -> dict[str, Any]:
        if self.scheduled_spending and not settings.scheduled_enrichment_spends():
            raise AirflowSkipException(
                "Scheduled enrichment spends credits, so it needs an explicit setting: [lemlist] "
                "scheduled_enrichment_spends = True (env AIRFLOW__LEMLIST__SCHEDULED_ENRICHMENT_SPENDS). Unpausing "
                "the DAG is not enough; nothing was sent"
            )
        credits = credits_of(self.hook.get_credits())
        self.log.info("lemlist credits available: %d", credits)
        self.note_ops(credits=credits)
        require_credits(credits, self.min_credits)
        return {"credits": credits, "http": self.hook.metrics()}


class EnrichmentWaitTask(LemlistTaskMixin, BaseOperator):
    """Base of the tasks that wait for enrichments through ``LemlistEnrichmentTrigger``: the operator (with
    ``wait_for_completion``) and ``LemlistEnrichmentSensor``. The poll schedule's arguments, their defaults
    and how the trigger is built from them are here once, so both waits follow the same schedule.

    :param first_poll: seconds before the first poll (about the time an enrichment takes)
    :param backoff: factor of the growing poll interval (deferrable) between rounds
    :param max_interval: cap of that interval
    """

    def __init__(
        self,
        *,
        first_poll: float = DEFAULT_POLL["first_poll"],
        backoff: float = DEFAULT_POLL["backoff"],
        max_interval: float = DEFAULT_POLL["max_interval"],
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.keep_arguments(locals())

    def enrichment_trigger(
        self, enrichment_ids: list[str], deadline: float, **options: Any
    ) -> LemlistEnrichmentTrigger:
        """The trigger that waits for ``enrichment_ids`` until ``deadline`` (epoch seconds) on this task's
        connection and schedule; ``options``: the trigger's others (``wave``)."""
        return LemlistEnrichmentTrigger(
            enrichment_ids=enrichment_ids,
            deadline=deadline,
            lemlist_conn_id=self.lemlist_conn_id,
            first_poll=float(self.first_poll),
            backoff=float(self.backoff),
            max_interval=float(self.max_interval),
            **options,
        )


class LemlistEnrichOperator(EnrichmentWaitTask, LemlistBaseOperator):
    """Start lemlist enrichments for leads, people, a campaign's leads or a file's rows.

    Inputs (any combination): ``lead_ids`` (``POST /leads/{id}/enrich``, 409 = skipped unless ``force``);
    ``people`` (dicts with email / linkedinUrl / firstName+lastName+companyName, or emails) and the rows of
    ``source`` (CSV or JSON Lines inside the input roots) through ``POST /v2/enrichments/bulk`` in chunks of at
    most 500; ``campaign_id``: the campaign's leads (one ``export/leads`` call), enriched in bulk with their
    data, and skipped when an earlier run wrote a final ``enrichmentStatus`` on them (unless ``force``);
    ``campaign_status`` (e.g. ``"running"``): the same for every campaign in that status, which with
    ``write_back`` is how the scheduled DAG enriches only the new leads of active campaigns.

    Rows that repeat a person (the same lead, or the same email in any spelling) are enriched once and each
    row is reported. Credits first: the worst case (people x types x ``credit_cost``) is compared to
    ``GET /team/credits`` and ``max_credits``; too few fails with needed vs available, or
    ``on_insufficient_credits="partial"`` starts only what fits.

    Each person is charged at most once, whatever happens (see ``enrichment/starts.py``): every start is
    recorded in the ledger before it is sent (``ledger_path``, by default beside the results, in the output
    storage every worker sees), a retried task reuses what earlier tries started, and a start whose answer
    was lost is reported ``outcome_unknown`` instead of being resent, unless ``resend_unknown``. The results
    file (``output_path``, default ``<output root>/<dag_id>/<run_id>.csv``) is checked before anything is
    spent.

    Returns (XCom) ``{"enrichment_ids", "records", "counts", "credits", "http"}``. With
    ``wait_for_completion=True`` it also waits (deferred when ``deferrable``) and writes ``output_path``.
    """

    template_fields: Sequence[str] = (
        *LemlistBaseOperator.template_fields, "lead_ids", "people", "campaign_id", "campaign_status", "source",
        "enrichments", "force", "max_credits", "on_insufficient_credits", "ledger_path", "output_path",
        "resend_unknown",
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
        resend_unknown: Any = False,
        wait_for_completion: bool = False,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        output_path: str | None = None,
        timeout: float = 3600.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.keep_arguments(locals(), but=("timeout",))
        self.wait_timeout = float(timeout)  # in seconds, named for the wait it bounds

    def _files(self, context: Any) -> tuple[Any, Ledger]:
        """The results file (checked writable now, before any credit is spent) and the run's ledger: beside
        the results, else (outside a DAG run, without ``output_path``) under the first output root by task."""
        output = given(self.output_path) or run_output(context, ".csv")
        if output is not None:
            paths.check_replaceable("output_path", paths.output_location("output_path", output))
        ledger = given(self.ledger_path) or (
            f"{output}.starts.jsonl"
            if output
            else paths.default_output("lemlist_enrichment", f"{paths.safe_name(self.task_id)}.starts.jsonl")
        )
        ledger = Ledger(paths.output_location("ledger_path", ledger))
        ledger.claim()
        return output, ledger

    def execute(self, context: Any) -> dict[str, Any]:
        if self.on_insufficient_credits not in INSUFFICIENT_MODES:
            raise AirflowFailException(f"on_insufficient_credits must be one of {INSUFFICIENT_MODES}")
        enrichments = as_list(self.enrichments) or []
        try:
            kinds = kinds_for(enrichments)
            rows = read_rows(paths.input_location("source", self.source)) if given(self.source) else None
        except ValueError as exc:
            raise AirflowFailException(str(exc)) from None
        output, ledger = self._files(context)
        force, resend = as_bool(self.force), as_bool(self.resend_unknown)
        items = build_items(lead_ids=as_list(self.lead_ids), people=as_list(self.people), rows=rows)
        skipped: list[dict] = []
        campaign_ids = [self.campaign_id] if given(self.campaign_id) else []
        if given(self.campaign_status):
            campaigns = self.hook.list_campaigns(status=self.campaign_status)
            campaign_ids += [c["_id"] for c in campaigns if c.get("_id") and c["_id"] not in campaign_ids]
            self.log.info("%d %s campaign(s): %s", len(campaign_ids), self.campaign_status, campaign_ids)
        for campaign_id in campaign_ids:
            leads = self.hook.export_campaign_leads(campaign_id, state="all", format="json") or []
            campaign_items, campaign_skipped = items_from_leads(leads, force=force)
            known = {i["key"] for i in items}
            items += [i for i in campaign_items if i["key"] not in known]
            skipped += campaign_skipped
        groups = people_of(items)
        people = [rows[0] for rows in groups.values()]

        def may_charge(person: dict) -> bool:
            """Not settled by an earlier try, and not an unknown bulk start kept from being resent."""
            identity = person["identity"]
            if identity in ledger.settled:
                return False
            return identity not in ledger.unknown or person["mode"] != "bulk" or resend

        chargeable = [p for p in people if may_charge(p)]
        credits_before = credits_of(self.hook.get_credits())
        max_credits = None if given(self.max_credits) is None else int(self.max_credits)
        plan = plan_credits(chargeable, len(kinds) * int(self.credit_cost), credits_before, max_credits)
        self.log.info(
            "lemlist enrichment: %d inputs, %d people (%d handled by an earlier try, %d skipped as already "
            "enriched), %d credits needed at most, %d available, budget %d",
            len(items), len(people), len(people) - len(chargeable), len(skipped), plan.needed, plan.available,
            plan.budget,
        )  # fmt: skip
        if not plan.fits and self.on_insufficient_credits == "fail":
            raise AirflowFailException(plan.shortfall_message())
        if not plan.fits:
            self.log.warning(
                "%s; starting the first %d that fit", plan.shortfall_message(), len(plan.selected)
            )
        left_out = {p["identity"] for p in plan.unaffordable}
        dag_id = getattr(context.get("dag"), "dag_id", None)
        callback = enrichment_webhook_url(dag_id, context.get("run_id"), self.lemlist_conn_id)
        try:
            by_identity, counters = start_enrichments(
                self.hook, [p for p in people if p["identity"] not in left_out], enrichments, kinds,
                ledger=ledger, force=force, resend_unknown=resend, chunk_size=self.chunk_size, log=self.log,
                webhook_url=callback,
            )  # fmt: skip
        finally:
            ledger.close()
        shortfall = f"left out: {plan.needed} credits needed, budget {plan.budget}"
        for person in plan.unaffordable:
            by_identity[person["identity"]] = {**person, "enrichmentId": None, "status": "skipped_credits",
                                               "error": shortfall}  # fmt: skip
        records = per_row(items, by_identity) + [
            {**i, "enrichmentId": None, "status": "skipped", "error": "already enriched (enrichmentStatus)"}
            for i in skipped
        ]
        for record in records:
            record.pop("mode", None)
        if counters["outcome_unknown"]:
            self.log.warning(
                "%d people have a start whose outcome is unknown (its answer was lost): they are reported "
                "outcome_unknown and were not sent again, so they are charged at most once. Set resend_unknown "
                "to send them again on purpose (lemlist may charge them twice).",
                counters["outcome_unknown"],
            )
        ids = list(
            dict.fromkeys(
                r["enrichmentId"] for r in records if r["status"] == "started" and r["enrichmentId"]
            )
        )
        result = {
            "enrichment_ids": ids,
            "records": records,
            "counts": status_counts(records),
            "credits": {"before": credits_before, "needed": plan.needed, "budget": plan.budget},
            "http": {
                **self.hook.metrics(),
                **counters,
                "starts": counters["bulk_calls"] + counters["single_calls"],
            },
            "enrichments": enrichments,
            "output": output,
        }
        self.log.info("lemlist enrichment started: %s", json.dumps(result["counts"]))
        if not self.wait_for_completion:
            return result
        trigger = self.enrichment_trigger(ids, time.time() + self.wait_timeout)
        if self.deferrable and ids:
            context["ti"].xcom_push(key="started", value=result)
            self.defer(trigger=trigger, method_name="execute_complete",
                       timeout=timedelta(seconds=self.wait_timeout + 120))  # fmt: skip
        return self._complete(result, run_in_worker(trigger))

    def execute_complete(self, context: Any, event: dict[str, Any] | None = None) -> dict[str, Any]:
        started = context["ti"].xcom_pull(task_ids=self.task_id, key="started")
        if not isinstance(started, dict):
            raise AirflowException("the started enrichments of this task are missing from XCom")
        return self._complete(started, event)

    def _complete(self, started: dict, event: Any) -> dict[str, Any]:
        event = check_event(event)
        rows = collect_results(self.hook, started["records"], pending_ids=event["pending"])
        out = {k: v for k, v in started.items() if k != "records"} | {"counts": status_counts(rows)}
        if out.get("output"):
            out["output"] = write_results(rows, paths.output_location("output_path", out["output"]))
        if event["status"] == "timeout":
            raise AirflowException(f"{event['message']} (results so far in {out.get('output')})")
        return out


class LemlistEnrichmentResultsOperator(LemlistBaseOperator):
    """Collect the results of started enrichments into a file (CSV or JSON Lines), optionally writing them
    back on the leads as variables. Reads each final enrichment once (``GET /enrich/{id}``).

    :param started: the XCom of ``LemlistEnrichOperator`` (templated); its ``output`` is the default file
    :param waited: the XCom of ``LemlistEnrichmentSensor`` (ids still pending are not read)
    :param output_path: results file inside the output roots; ``.csv`` for CSV, anything else JSON Lines
    :param write_back: set ``enrichmentStatus``, ``enrichedEmail``, ... on each enriched lead
    """

    template_fields: Sequence[str] = (
        *LemlistBaseOperator.template_fields, "started", "waited", "output_path", "write_back",
    )  # fmt: skip

    def __init__(
        self, *, started: Any, output_path: str | None = None, waited: Any = None, write_back: Any = False,
        **kwargs: Any,
    ) -> None:  # fmt: skip
        super().__init__(**kwargs)
        self.keep_arguments(locals())

    def execute(self, context: Any) -> dict[str, Any]:
        if not isinstance(self.started, dict) or "records" not in self.started:
            raise AirflowException("started enrichments missing: pass the XCom of LemlistEnrichOperator")
        output = given(self.output_path) or self.started.get("output") or run_output(context, ".csv")
        target = paths.output_location("output_path", output)
        pending = self.waited.get("pending", []) if isinstance(self.waited, dict) else []
        rows = collect_results(self.hook, self.started["records"], pending_ids=pending)
        path = write_results(rows, target)
        written = write_back(self.hook, rows, self.log) if as_bool(self.write_back) else {}
        counts = status_counts(rows)
        self.log.info("lemlist enrichment results: %s -> %s", json.dumps(counts), path)
        return {"output": path, "counts": counts, "http": self.hook.metrics(), **written}


class LemlistEnrichmentReportOperator(LemlistBaseOperator):
    """The run's summary: counts per status, credits before/after/used, requests, 429s and retries;
    written as JSON next to the results and returned as XCom."""

    template_fields: Sequence[str] = (
        *LemlistBaseOperator.template_fields, "credits_before", "started", "waited", "collected",
    )  # fmt: skip

    def __init__(
        self, *, credits_before: Any, started: Any, collected: Any, waited: Any = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.keep_arguments(locals())

    def execute(self, context: Any) -> dict[str, Any]:
        after = credits_of(self.hook.get_credits())
        credits_before, started, waited, collected = (
            value if isinstance(value, dict) else {}
            for value in (self.credits_before, self.started, self.waited, self.collected)
        )
        before = credits_before.get("credits")
        parts = [credits_before.get("http", {}), started.get("http", {}), collected.get("http", {}),
                 self.hook.metrics(), {"requests": waited.get("polls", 0), **waited}]  # fmt: skip
        http = {k: int(sum(p.get(k, 0) or 0 for p in parts)) for k in (*FIGURES, "failures")}
        http.update(starts=int(started.get("http", {}).get("starts", 0)), polls=int(waited.get("polls", 0)))
        summary = {
            "counts": collected.get("counts", {}),
            "credits": {"before": before, "after": after,
                        "used": (before - after) if isinstance(before, int) else None},
            "http": http,
            "output": collected.get("output"),
            "enrichments": started.get("enrichments", []),
        }  # fmt: skip
        if collected.get("output"):
            target = paths.output_location("output_path", collected["output"])
            with paths.writing("output_path", target.with_suffix(".summary.json"), "w") as handle:
                handle.write(json.dumps(summary, indent=2) + "\n")
        self.log.info(run_summary_line(summary))
        return summary
