"""Export every campaign's leads to CSV files (daily; or one campaign from the UI).

list_campaigns → export (mapped, one per campaign, pool ``lemlist_api``; waits for lemlist in the
triggerer) → summary. Each file lands in ``output/exports/{campaign_id}/{date}.csv`` (or any path or URI
inside the output roots) and is announced on the ``lemlist_campaign_exports`` Asset, so downstream DAGs can
run on fresh exports: ``@dag(schedule=[LEMLIST_EXPORTS_ASSET])``.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import dag, task

from lemlist_provider.dag_args import campaign, choice, from_params, lemlist_dag, seconds, text
from lemlist_provider.exports import summarise
from lemlist_provider.operators.exports import (
    DEFAULT_OUTPUT,
    LEMLIST_EXPORTS_ASSET,
    LemlistCampaignExportOperator,
    LemlistListCampaignsOperator,
)


@dag(
    dag_id="lemlist_campaign_export",
    schedule="@daily",
    max_active_runs=1,
    **lemlist_dag(__doc__, "exports", retries=2, retry_delay=timedelta(minutes=1)),
    params={
        "campaign_id": campaign(
            "One campaign", "Export only this campaign (cam_...). Empty: every campaign."
        ),
        "status": text(
            "Campaign status",
            "Only campaigns in this status. Empty: all.",
            enum=[None, "running", "paused", "draft", "ended", "archived", "errors"],
        ),
        "method": choice(
            "async",
            ["async", "sync"],
            "Method",
            "async: start → status → download (any size). sync: /export/leads CSV.",
        ),
        "state": text(
            "Lead state (sync method)",
            "Which leads the synchronous export includes (all, or a lemlist lead state).",
            default="all",
        ),
        "output_uri": text(
            "Output",
            "Path or URI template with {campaign_id} and {date}, inside the output "
            "roots; an existing file is replaced only when an export wrote it.",
            default=DEFAULT_OUTPUT,
        ),
        "first_poll": seconds(
            5.0, "First status poll (s)", "Seconds before the first status check (lemlist suggests 5)."
        ),
        "poll_min": seconds(
            10.0,
            "Status poll interval min (s)",
            "Later checks wait between poll_min and poll_max seconds (jittered).",
        ),
        "poll_max": seconds(
            15.0, "Status poll interval max (s)", "Upper bound of the wait between status checks."
        ),
        "export_timeout": seconds(
            7200,
            "Export timeout (s)",
            "Give up (and fail with the export id) after this long; lemlist keeps a status 2 h.",
            minimum=1,
        ),
    },  # fmt: skip
)
def lemlist_campaign_export():
    campaigns = LemlistListCampaignsOperator(task_id="list_campaigns", **from_params("status", "campaign_id"))
    exports = LemlistCampaignExportOperator.partial(
        task_id="export",
        outlets=[LEMLIST_EXPORTS_ASSET],  # declared at parse time so the scheduler knows the producer
        deferrable=True,
        **from_params("method", "state", "output_uri"),
        **from_params("first_poll", "poll_min", "poll_max", "export_timeout"),
        map_index_template="{{ task.campaign['campaign_id'] if task.campaign is mapping else task.campaign }}",
    ).expand(campaign=campaigns.output)
    task(summarise, task_id="summary")(exports.output, method="{{ params.method }}")


lemlist_campaign_export()
