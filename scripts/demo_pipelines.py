"""The pipelines `make demo` runs, with the conf a user would type in the trigger form.

Campaign ids are looked up by name in the account at trigger time (the sandbox's demo team has them;
against a real key set ``LEMLIST_DEMO_CAMPAIGN_ID``). Each entry names the task whose return value is the
run's summary and the function that turns it into one line of the table.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import requests
from demo import DemoRun

from lemlist_provider.enrichment.results import run_summary_line as enrichment_line
from lemlist_provider.exports import run_summary_line as export_line
from lemlist_provider.lead_import import run_summary_line as import_line
from lemlist_provider.unsubscribes import run_summary_line as sync_line

IMPORT_CAMPAIGN = "Q4 Outbound - SaaS founders"  # seeded in the sandbox's demo team
ENRICH_CAMPAIGN = "Webinar follow-up"
ROOT = Path(__file__).resolve().parents[1]
DEMO_OUTPUT = ROOT / "output" / "demo"


SCRATCH_SUPPRESSION_LIST = DEMO_OUTPUT / "suppression_list.csv"


def prepare() -> None:
    """Runs before Airflow starts. The sync adds lemlist's entries to the local list, so the demo works on
    a copy, and the settings' Variable points there too: unpausing an hourly DAG also starts its scheduled
    run (with the Variables' defaults), which must not touch the committed sample either."""
    DEMO_OUTPUT.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(ROOT / "include" / "data" / "suppression_list.csv", SCRATCH_SUPPRESSION_LIST)
    os.environ["LEMLIST_SUPPRESSION_CSV"] = str(SCRATCH_SUPPRESSION_LIST)


def campaign_id(local: Any, name: str) -> str:
    """The id of the campaign called ``name``, read through the API like any client would."""
    override = os.environ.get("LEMLIST_DEMO_CAMPAIGN_ID")
    if override:
        return override
    response = requests.get(
        f"{local.lemlist_base_url}/campaigns", auth=("", local.api_key), params={"version": "v2"}, timeout=30
    )
    response.raise_for_status()
    body = response.json()
    campaigns = body.get("campaigns", []) if isinstance(body, dict) else body
    for campaign in campaigns:
        if campaign.get("name") == name:
            return campaign["_id"]
    raise LookupError(f"no campaign named {name!r} in the account; set LEMLIST_DEMO_CAMPAIGN_ID")


PIPELINE_RUNS = [
    DemoRun(
        "lemlist_lead_import",
        conf=lambda local: {
            "campaign_id": campaign_id(local, IMPORT_CAMPAIGN),
            "source": "include/data/sample_leads.csv",
            "output_uri": "output/lemlist_lead_import",
        },
        summary_task="write_report",
        describe=import_line,
    ),
    DemoRun(
        "lemlist_enrichment",
        conf=lambda local: {
            "campaign_id": campaign_id(local, ENRICH_CAMPAIGN),
            "enrichments": ["find_email", "verify_email"],
            "first_poll_seconds": 2.0,
            "max_poll_interval": 5.0,
        },
        summary_task="write_report",
        describe=enrichment_line,
    ),
    DemoRun(
        "lemlist_unsubscribe_sync",
        conf=lambda local: {
            "store": "csv",
            "csv_path": str(SCRATCH_SUPPRESSION_LIST),
            "audit_dir": str(DEMO_OUTPUT / "unsubscribe_audit"),
        },
        summary_task="summary",
        describe=sync_line,
    ),
    DemoRun(
        "lemlist_campaign_export",
        conf={
            "output_uri": str(DEMO_OUTPUT / "exports" / "{campaign_id}" / "{date}.csv"),
            "first_poll": 1.0,
            "poll_min": 1.0,
            "poll_max": 2.0,
        },
        summary_task="summary",
        describe=export_line,
    ),
]
