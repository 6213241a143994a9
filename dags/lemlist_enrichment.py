"""Enrich a campaign's leads (or a file's rows) with lemlist: emails, verification, LinkedIn data, phones.

check_credits → request_enrichments → wait_for_enrichments (deferred: no worker slot while lemlist works)
→ collect_results (CSV/JSON Lines, optionally written back on the leads) → write_report (summary XCom).
Every task runs in the ``lemlist_api`` pool. Starting enrichments spends credits and is never resent: a
retried request task reads its ledger and only starts what its earlier try did not.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import Param, dag

from lemlist_provider.enrichment.items import ENRICHMENTS
from lemlist_provider.operators.enrichment import (
    LemlistCreditsOperator,
    LemlistEnrichmentReportOperator,
    LemlistEnrichmentResultsOperator,
    LemlistEnrichOperator,
)
from lemlist_provider.sensors.enrichment import LemlistEnrichmentSensor

OUTPUT = "{{ params.output or ('output/lemlist_enrichment/' ~ (run_id | replace(':', '-') | replace('+', '_')) ~ '.csv') }}"


@dag(
    dag_id="lemlist_enrichment",
    schedule=None,
    catchup=False,
    max_active_runs=2,
    render_template_as_native_obj=True,
    tags=["lemlist", "enrichment"],
    doc_md=__doc__,
    default_args={
        "pool": "lemlist_api",
        "retries": 2,
        "retry_delay": timedelta(seconds=15),
        "retry_exponential_backoff": 2.0,
        "max_retry_delay": timedelta(minutes=5),
    },
    params={
        "campaign_id": Param(None, type=["null", "string"], title="Campaign",
                             description="Enrich this campaign's leads (cam_...). Leave empty to use a file."),
        "source": Param(None, type=["null", "string"], title="Source file",
                        description="CSV or JSON Lines of people (email, linkedinUrl, firstName/lastName/companyName, "
                                    "or leadId), relative to the project or absolute."),
        "enrichments": Param(["find_email"], type="array", items={"type": "string", "enum": sorted(ENRICHMENTS)},
                             title="Enrichments", description="Each one costs credits per input."),
        "force": Param(False, type="boolean", title="Force",
                       description="Re-enrich leads lemlist (or an earlier run) already enriched."),
        "max_credits": Param(None, type=["null", "integer"], minimum=0, title="Max credits",
                             description="Never spend more than this in one run."),
        "on_insufficient_credits": Param("fail", type="string", enum=["fail", "partial"], title="Too few credits",
                                         description="fail: spend nothing; partial: enrich what fits."),
        "output": Param(None, type=["null", "string"], title="Results file",
                        description="Path ending .csv or .jsonl. Default output/lemlist_enrichment/<run_id>.csv"),
        "write_back": Param(False, type="boolean", title="Write back",
                            description="Set enrichmentStatus / enrichedEmail / ... variables on the leads."),
        "first_poll_seconds": Param(5.0, type="number", minimum=0, title="First poll after (s)"),
        "max_poll_interval": Param(30.0, type="number", minimum=0, title="Longest poll interval (s)"),
    },
)  # fmt: skip
def lemlist_enrichment():
    credits = LemlistCreditsOperator(task_id="check_credits", min_credits=1)
    started = LemlistEnrichOperator(
        task_id="request_enrichments",
        campaign_id="{{ params.campaign_id }}",
        source="{{ params.source }}",
        enrichments="{{ params.enrichments }}",
        force="{{ params.force }}",
        max_credits="{{ params.max_credits }}",
        on_insufficient_credits="{{ params.on_insufficient_credits }}",
        ledger_path=OUTPUT + ".starts.jsonl",
    )
    waited = LemlistEnrichmentSensor(
        task_id="wait_for_enrichments",
        enrichment_ids=started.output,
        first_poll="{{ params.first_poll_seconds }}",
        max_interval="{{ params.max_poll_interval }}",
        timeout=2 * 60 * 60,
    )
    collected = LemlistEnrichmentResultsOperator(
        task_id="collect_results",
        started=started.output,
        waited=waited.output,
        output_path=OUTPUT,
        write_back="{{ params.write_back }}",
    )
    report = LemlistEnrichmentReportOperator(
        task_id="write_report",
        credits_before=credits.output,
        started=started.output,
        waited=waited.output,
        collected=collected.output,
    )
    credits >> started >> waited >> collected >> report


lemlist_enrichment()
