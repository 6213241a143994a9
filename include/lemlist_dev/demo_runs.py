"""The runs of the ``make demo`` tour, with the conf a user would type in the trigger form.

This is the one place to extend the tour: append a ``DemoRun`` to ``DEMO_RUNS``. A run's ``conf`` may be a
callable of the ``LemlistTarget``, resolved at trigger time (e.g. to look a campaign id up in the sandbox or
in the real account). A run that is not started by a trigger (a DAG scheduled on an Asset that a webhook
updates, say) gives ``start``: it makes the run happen and returns its run id. ``describe`` turns the
summary XCom of ``summary_task`` into the table's "key figures".

Campaign ids are looked up by name (the sandbox's demo team has these campaigns); against a real key set
``LEMLIST_DEMO_CAMPAIGN_ID``.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests

from lemlist_provider.enrichment.results import run_summary_line as enrichment_line
from lemlist_provider.exports import run_summary_line as export_line
from lemlist_provider.lead_import import run_summary_line as import_line
from lemlist_provider.unsubscribes import run_summary_line as sync_line
from lemlist_provider.warehouse.sync import summary_line as warehouse_line

from . import PROJECT
from .deployment import LemlistTarget, LocalAirflow

DEMO_OUTPUT = PROJECT / "output" / "demo"
SCRATCH_SUPPRESSION_LIST = DEMO_OUTPUT / "suppression_list.csv"
DEMO_WAREHOUSE = DEMO_OUTPUT / "lemlist_warehouse.sqlite"
UNSUBSCRIBE_EVENTS = "lemlist_unsubscribe_events"
IMPORT_CAMPAIGN = "Q4 Outbound - SaaS founders"
ENRICH_CAMPAIGN = "Webinar follow-up"


@dataclass(frozen=True)
class DemoRun:
    dag_id: str
    conf: dict[str, Any] | Callable[[LemlistTarget], dict[str, Any]] = field(default_factory=dict)
    summary_task: str = "summary"
    describe: Callable[[dict], str] | None = None
    #: how the run begins when a trigger is not the way: ``start(local, lemlist) -> run_id``
    start: Callable[[LocalAirflow, LemlistTarget], str] | None = None


def prepare() -> dict[str, str]:
    """Runs before Airflow starts; returns environment for the deployment.

    The sync adds lemlist's entries to the local list, so the demo works on a copy, and the settings'
    Variable points there too: unpausing the hourly sync also starts its scheduled run (with the Variables'
    defaults), which must not touch the committed sample either. The warehouse is a fresh SQLite file of the
    demo's own, so its row counts are this demo's sandbox and nothing older.
    """
    DEMO_OUTPUT.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(PROJECT / "include" / "data" / "suppression_list.csv", SCRATCH_SUPPRESSION_LIST)
    DEMO_WAREHOUSE.unlink(missing_ok=True)
    return {
        "LEMLIST_SUPPRESSION_CSV": str(SCRATCH_SUPPRESSION_LIST),
        "AIRFLOW_CONN_LEMLIST_WAREHOUSE": json.dumps({"conn_type": "sqlite", "host": str(DEMO_WAREHOUSE)}),
    }


def campaign_id(lemlist: LemlistTarget, name: str) -> str:
    """The id of the campaign called ``name``, read through the API like any client would."""
    override = os.environ.get("LEMLIST_DEMO_CAMPAIGN_ID")
    if override:
        return override
    response = requests.get(
        f"{lemlist.base_url}/campaigns", auth=("", lemlist.api_key), params={"version": "v2"}, timeout=30
    )
    response.raise_for_status()
    body = response.json()
    for campaign in body.get("campaigns", []) if isinstance(body, dict) else body:
        if campaign.get("name") == name:
            return campaign["_id"]
    raise LookupError(f"no campaign named {name!r} in the account; set LEMLIST_DEMO_CAMPAIGN_ID")


def hooks_line(report: dict) -> str:
    counts = report.get("counts", {})
    return (
        f"lemlist hooks: {counts.get('create')} to create, {counts.get('keep')} kept, {counts.get('delete')} to "
        f"delete, {counts.get('foreign')} not ours; {counts.get('hooks_after')} of {counts.get('max_hooks')}"
    )


def suppression_line(summary: dict) -> str:
    return (
        f"{summary.get('events')} lemlist event(s): {summary.get('added')} added to {summary.get('store')}, "
        f"{summary.get('already_listed')} already listed, {summary.get('skipped')} skipped"
    )


def start_unsubscribe_event(local: LocalAirflow, lemlist: LemlistTarget) -> str:
    """The event-driven run: once ``lemlist_webhooks_setup`` has registered the hooks, the sandbox sends an
    unsubscribe to the receiver as lemlist would, and the run it schedules is the one shown."""
    if lemlist.sandbox is None:
        raise RuntimeError("needs the sandbox to send an event (a real lemlist sends them when people act)")
    setup = "lemlist_webhooks_setup"
    local.wait_until(
        lambda: any(r["state"] == "success" for r in local.client.list_runs(setup)), 180, f"{setup} succeeded"
    )
    local.client.unpause(UNSUBSCRIBE_EVENTS)  # before the event: its arrival queues the run
    lemlist.sandbox.emit("emailsUnsubscribed", email="demo.unsubscribe@example.com")

    def new_run() -> str | None:
        runs = [
            r for r in local.client.list_runs(UNSUBSCRIBE_EVENTS) if r.get("run_type") == "asset_triggered"
        ]
        return runs[0]["dag_run_id"] if runs else None

    return local.wait_until(new_run, 120, f"{UNSUBSCRIBE_EVENTS} run scheduled by the event")


def start_warehouse_sync(local: LocalAirflow, lemlist: LemlistTarget) -> str:
    """The demo team's campaigns first get three days of activities (2,000; nothing else of the team changes,
    so the other runs' figures stay the same), so the warehouse's first load has pages to go through; then
    the run is triggered like any other."""
    if lemlist.sandbox is not None:
        lemlist.sandbox.add_history(activities=2000, campaigns=0, days=3, unsubscribes=0)
    return local.trigger("lemlist_warehouse_sync", {})


def overview_line(summary: dict) -> str:
    return (
        f"team {summary.get('team_name')!r}: {summary.get('campaigns')} campaigns, "
        f"{summary.get('unsubscribes')} unsubscribes, {summary.get('credits')} credits; "
        f"{summary.get('requests')} requests, {summary.get('rate_limited')} x 429"
    )


DEMO_RUNS = [
    DemoRun("lemlist_account_overview", describe=overview_line),
    DemoRun(
        "lemlist_lead_import",
        conf=lambda lemlist: {
            "campaign_id": campaign_id(lemlist, IMPORT_CAMPAIGN),
            "source": "include/data/sample_leads.csv",
            "output_uri": "output/lemlist_lead_import",
        },
        summary_task="write_report",
        describe=import_line,
    ),
    DemoRun(
        "lemlist_enrichment",
        conf=lambda lemlist: {
            "campaign_id": campaign_id(lemlist, ENRICH_CAMPAIGN),
            "enrichments": ["find_email", "verify_email"],
            "first_poll_seconds": 2.0,
            "max_poll_interval": 5.0,
        },
        summary_task="write_report",
        describe=enrichment_line,
    ),
    DemoRun(
        "lemlist_unsubscribe_sync",
        conf={
            "store": "csv",
            "csv_path": str(SCRATCH_SUPPRESSION_LIST),
            "audit_dir": str(DEMO_OUTPUT / "unsubscribe_audit"),
        },
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
        describe=export_line,
    ),
    DemoRun("lemlist_webhooks_setup", summary_task="sync_hooks", describe=hooks_line),
    DemoRun("lemlist_warehouse_sync", describe=warehouse_line, start=start_warehouse_sync),
    DemoRun(
        UNSUBSCRIBE_EVENTS, summary_task="suppress", describe=suppression_line, start=start_unsubscribe_event
    ),
]
