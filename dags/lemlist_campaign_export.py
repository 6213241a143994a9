"""Export every campaign's leads to CSV files (daily; or one campaign from the UI).

list_campaigns → export (mapped, one per campaign, pool ``lemlist_api``; waits for lemlist in the
triggerer) → summary. Each file lands in ``include/exports/{campaign_id}/{date}.csv`` (or any URI) and is
announced on the ``lemlist_campaign_exports`` Asset, so downstream DAGs can run on fresh exports:
``@dag(schedule=[LEMLIST_EXPORTS_ASSET])``.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import Param, dag, task

from lemlist_provider.notifiers import default_lemlist_args
from lemlist_provider.operators.exports import (
    DEFAULT_OUTPUT,
    LEMLIST_EXPORTS_ASSET,
    LemlistCampaignExportOperator,
    LemlistListCampaignsOperator,
)


@dag(
    dag_id="lemlist_campaign_export",
    schedule="@daily",
    catchup=False,
    max_active_runs=1,
    render_template_as_native_obj=True,
    tags=["lemlist", "exports"],
    doc_md=__doc__,
    default_args=default_lemlist_args(retries=2, retry_delay=timedelta(minutes=1)),
    params={
        "campaign_id": Param(
            None,
            type=["null", "string"],
            title="One campaign",
            description="Export only this campaign (cam_...). Empty: every campaign.",
        ),
        "status": Param(
            None,
            type=["null", "string"],
            enum=[None, "running", "paused", "draft", "ended", "archived", "errors"],
            title="Campaign status",
            description="Only campaigns in this status. Empty: all.",
        ),
        "method": Param(
            "async",
            type="string",
            enum=["async", "sync"],
            title="Method",
            description="async: start → status → download (any size). sync: /export/leads CSV.",
        ),
        "state": Param(
            "all",
            type="string",
            title="Lead state (sync method)",
            description="Which leads the synchronous export includes (all, or a lemlist lead state).",
        ),
        "output_uri": Param(
            DEFAULT_OUTPUT,
            type="string",
            title="Output",
            description="Path or URI template with {campaign_id} and {date}.",
        ),
        "first_poll": Param(
            5.0,
            type="number",
            minimum=0,
            title="First status poll (s)",
            description="Seconds before the first status check (lemlist suggests 5).",
        ),
        "poll_min": Param(
            10.0,
            type="number",
            minimum=0,
            title="Status poll interval min (s)",
            description="Later checks wait between poll_min and poll_max seconds (jittered).",
        ),
        "poll_max": Param(
            15.0,
            type="number",
            minimum=0,
            title="Status poll interval max (s)",
            description="Upper bound of the wait between status checks.",
        ),
        "export_timeout": Param(
            7200,
            type="number",
            minimum=1,
            title="Export timeout (s)",
            description="Give up (and fail with the export id) after this long; lemlist keeps a status 2 h.",
        ),
    },
)
def lemlist_campaign_export():
    campaigns = LemlistListCampaignsOperator(
        task_id="list_campaigns", status="{{ params.status }}", campaign_id="{{ params.campaign_id }}"
    )
    exports = LemlistCampaignExportOperator.partial(
        task_id="export",
        outlets=[LEMLIST_EXPORTS_ASSET],  # declared at parse time so the scheduler knows the producer
        method="{{ params.method }}",
        state="{{ params.state }}",
        output_uri="{{ params.output_uri }}",
        first_poll="{{ params.first_poll }}",
        poll_min="{{ params.poll_min }}",
        poll_max="{{ params.poll_max }}",
        export_timeout="{{ params.export_timeout }}",
        map_index_template="{{ task.campaign['campaign_id'] if task.campaign is mapping else task.campaign }}",
    ).expand(campaign=campaigns.output)

    @task(task_id="summary")
    def summary(results: list, params: dict | None = None) -> dict:
        from pathlib import Path

        from lemlist_provider.operators.exports import run_summary_line

        done = [r for r in results if isinstance(r, dict)]
        out = {
            "method": (params or {}).get("method"),
            "campaigns": len(done),
            "exported": len(done),
            "rows": sum(r["rows"] for r in done),
            "bytes": sum(r["bytes"] for r in done),
            "restarts": sum(r.get("restarts", 0) for r in done),
            "polls": sum(r.get("polls", 0) for r in done),
            "poll_rate_limited": sum(r.get("poll_rate_limited", 0) for r in done),
            "folder": str(Path(done[0]["uri"]).parent.parent) if done else None,
            "files": {
                r["campaign_id"]: {"uri": r["uri"], "rows": r["rows"], "bytes": r["bytes"]} for r in done
            },
        }
        print(run_summary_line(out))
        return out

    summary(exports.output)


lemlist_campaign_export()
