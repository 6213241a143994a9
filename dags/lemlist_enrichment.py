"""Enrich a campaign's leads (or a file's rows) with lemlist: emails, verification, LinkedIn data, phones.

check_credits → request_enrichments → wait_for_enrichments (deferred: no worker slot while lemlist works)
→ collect_results (CSV/JSON Lines, optionally written back on the leads) → write_report (summary XCom).
Two DAGs share this shape: ``lemlist_enrichment`` (manual: a campaign or a file, from the trigger form) and
``lemlist_enrichment_new_leads`` (daily: the leads of every running campaign that no earlier run enriched;
results are written back on the leads, which is what marks them as done for the next run).
Every task runs in the ``lemlist_api`` pool. Starting enrichments spends credits, so each person is charged
at most once: every start is recorded in a ledger beside the results before it is sent, a retried request
task (on any worker) only starts what its earlier tries did not, and a start whose answer was lost is
reported ``outcome_unknown`` rather than resent, unless ``resend_unknown`` is set on purpose.

``lemlist_enrichment_new_leads`` spends credits on a schedule, so it needs the admin's explicit setting
``[lemlist] scheduled_enrichment_spends = True``: unpausing it, or the UI's "Unpause on trigger" box, is not
enough. Without it every run skips at ``check_credits``, before any request.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pendulum
from airflow.sdk import DAG, Param

from lemlist_provider.dag_args import campaign, choice, count, flag, from_params, lemlist_dag, seconds, text
from lemlist_provider.enrichment.items import ENRICHMENTS
from lemlist_provider.operators.enrichment import (
    LemlistCreditsOperator,
    LemlistEnrichmentReportOperator,
    LemlistEnrichmentResultsOperator,
    LemlistEnrichOperator,
)
from lemlist_provider.sensors.enrichment import LemlistEnrichmentSensor

COMMON_PARAMS = {
    "enrichments": Param(["find_email"], type="array", items={"type": "string", "enum": sorted(ENRICHMENTS)},
                         title="Enrichments", description="Each one costs credits per input."),
    "force": flag("Force", "Re-enrich leads lemlist (or an earlier run) already enriched."),
    "resend_unknown": flag("Resend unknown starts", "Send again the starts of this run whose answer was lost "
                           "(reported outcome_unknown). They may already be charged: lemlist may charge twice."),
    "max_credits": count(None, "Max credits", "Never spend more than this in one run."),
    "on_insufficient_credits": choice("fail", ["fail", "partial"], "Too few credits",
                                      "fail: spend nothing; partial: enrich what fits."),
    "output": text("Results file", "Path ending .csv or .jsonl, inside the output roots. Default "
                   "output/<dag_id>/<run_id>.csv"),
    "first_poll_seconds": seconds(5.0, "First poll after (s)", "Seconds before the first status check (lemlist "
                                  "suggests 5-10)."),
    "max_poll_interval": seconds(30.0, "Longest poll interval (s)", "The wait between checks grows up to this "
                                 "many seconds."),
}  # fmt: skip

MANUAL_PARAMS = {
    "campaign_id": campaign("Campaign", "Enrich this campaign's leads (cam_...). Leave empty to use a file."),
    "source": text("Source file", "CSV or JSON Lines of people (email, linkedinUrl, firstName/lastName/companyName, "
                   "or leadId), inside the input roots: relative to the project or absolute."),
    **COMMON_PARAMS,
    "write_back": flag("Write back", "Set enrichmentStatus / enrichedEmail / ... variables on the leads."),
}  # fmt: skip

SCHEDULED_PARAMS = {
    "campaign_status": choice("running", ["running", "paused", "draft"], "Campaign status",
                              "Enrich new leads of every campaign in this status."),
    **COMMON_PARAMS,
    "max_credits": count(500, "Max credits", "A scheduled run never spends more than this.", nullable=True),
    "on_insufficient_credits": choice("partial", ["fail", "partial"], "Too few credits",
                                      "partial (default here): enrich what fits, the rest next run."),
}  # fmt: skip


def enrichment_dag(
    dag_id: str, *, schedule: str | None, params: dict, inputs: dict[str, Any], write_back: Any
) -> DAG:
    """check_credits -> request_enrichments -> wait (deferred) -> collect_results -> write_report."""
    with DAG(
        dag_id=dag_id,
        schedule=schedule,
        start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
        max_active_runs=1 if schedule else 2,
        **lemlist_dag(
            __doc__,
            "enrichment",
            retries=2,
            retry_delay=timedelta(seconds=15),
            max_retry_delay=timedelta(minutes=5),
        ),  # fmt: skip
        params=params,
    ) as dag:
        # a scheduled run spends only with [lemlist] scheduled_enrichment_spends: unpausing is not consent
        credits = LemlistCreditsOperator(
            task_id="check_credits", min_credits=1, scheduled_spending=bool(schedule)
        )
        started = LemlistEnrichOperator(
            task_id="request_enrichments",
            **inputs,
            **from_params("enrichments", "force", "resend_unknown", "max_credits", "on_insufficient_credits"),
            output_path="{{ params.output }}",
        )
        waited = LemlistEnrichmentSensor(
            task_id="wait_for_enrichments",
            enrichment_ids=started.output,
            deferrable=True,
            first_poll="{{ params.first_poll_seconds }}",
            max_interval="{{ params.max_poll_interval }}",
            timeout=2 * 60 * 60,
        )
        collected = LemlistEnrichmentResultsOperator(
            task_id="collect_results", started=started.output, waited=waited.output, write_back=write_back
        )
        report = LemlistEnrichmentReportOperator(
            task_id="write_report",
            credits_before=credits.output,
            started=started.output,
            waited=waited.output,
            collected=collected.output,
        )
        credits >> started >> waited >> collected >> report
    return dag


manual = enrichment_dag(
    "lemlist_enrichment",
    schedule=None,
    params=MANUAL_PARAMS,
    inputs=from_params("campaign_id", "source"),
    write_back="{{ params.write_back }}",
)
new_leads = enrichment_dag(
    "lemlist_enrichment_new_leads",
    schedule="@daily",
    params=SCHEDULED_PARAMS,
    inputs=from_params("campaign_status"),
    write_back=True,  # the written-back enrichmentStatus is what makes the next run skip these leads
)
