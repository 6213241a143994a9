"""The ``lemlist_enrichment`` DAG end to end with ``dag.test()`` (SQLite, triggers run inline) against a
real sandbox over HTTP: 1,200 campaign leads, three bulk starts, every lead final, exact credits."""

from __future__ import annotations

import csv
import json
import uuid
from pathlib import Path

import pytest

from lemlist_provider.enrichment.results import FINAL_STATUSES, run_summary_line
from lemlist_provider.hooks.ratelimit import reset_limiters
from lemlist_sandbox import SandboxServer, connection_json
from lemlist_sandbox.seed import add_campaign, add_lead

pytestmark = pytest.mark.usefixtures("storage_roots")
ROOT = Path(__file__).resolve().parents[2]
LEADS = 1200


@pytest.fixture(scope="module")
def enrichment_dag():
    from airflow.dag_processing.dagbag import DagBag
    from airflow.models import Pool

    Pool.create_or_update_pool("lemlist_api", 8, "lemlist API key budget (tests)", include_deferred=False)
    bag = DagBag(dag_folder=str(ROOT / "dags" / "lemlist_enrichment.py"))
    assert not bag.import_errors, bag.import_errors
    return bag.get_dag("lemlist_enrichment")


def test_dag_shape(enrichment_dag):
    assert [t.task_id for t in enrichment_dag.topological_sort()] == [
        "check_credits", "request_enrichments", "wait_for_enrichments", "collect_results", "write_report",
    ]  # fmt: skip
    assert all(t.pool == "lemlist_api" for t in enrichment_dag.tasks)
    assert enrichment_dag.get_task("wait_for_enrichments").deferrable is True


def test_1200_leads_end_to_end(enrichment_dag, monkeypatch, tmp_path):
    with SandboxServer(time_scale=0.01, rate_limit=0) as sb:
        key = f"dag-enr-{uuid.uuid4().hex[:8]}"
        sb.create_team(key, credits=5000)
        team = sb.team(key)
        campaign = add_campaign(sb.sandbox.world, team, "Enrich 1200")
        for n in range(LEADS):
            email = f"lead{n}@enrich-fail.io" if n % 100 == 0 else f"lead{n}@acme.io"
            add_lead(
                sb.sandbox.world,
                team,
                campaign,
                email,
                firstName="Lead",
                lastName=f"N{n}",
                companyName="Acme",
            )
        monkeypatch.setenv("AIRFLOW_CONN_LEMLIST_DEFAULT", connection_json(sb.base_url, key, rate_limit=0))
        reset_limiters()
        out = tmp_path / "enrichment.csv"
        run = enrichment_dag.test(
            run_conf={
                "campaign_id": campaign["_id"],
                "enrichments": ["verify_email"],
                "output": str(out),
                "first_poll_seconds": 0.3,
                "max_poll_interval": 1.0,
                "write_back": False,
            }  # fmt: skip
        )
        stats = sb.stats()
        credits_after = team.credits
    assert run.state == "success"
    assert stats["by_route"]["POST /api/v2/enrichments/bulk"] == 3
    with out.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == LEADS and {r["lead_id"] for r in rows} == {
        lead["_id"] for lead in team.leads.values()
    }
    assert all(r["status"] in FINAL_STATUSES for r in rows)
    statuses = [r["status"] for r in rows]
    assert statuses.count("failed") == 12 and statuses.count("done") == LEADS - 12
    assert 5000 - credits_after == statuses.count("done")  # failed ones were refunded
    summary = json.loads(out.with_suffix(".summary.json").read_text())
    assert summary["credits"] == {"before": 5000, "after": credits_after, "used": 5000 - credits_after}
    assert summary["counts"]["total"] == LEADS and summary["http"]["starts"] == 3
    line = run_summary_line(summary)
    assert "1200 inputs" in line and "used 1188" in line


def test_scheduled_dag_enriches_only_new_leads_of_running_campaigns(monkeypatch, tmp_path):
    """``lemlist_enrichment_new_leads``: running campaigns only; a second run finds nothing new to pay for."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(ROOT / "dags" / "lemlist_enrichment.py"))
    dag = bag.get_dag("lemlist_enrichment_new_leads")
    assert dag.schedule == "@daily" or str(dag.timetable.summary) == "@daily"
    with SandboxServer(time_scale=0.01, rate_limit=0) as sb:
        key = f"dag-new-{uuid.uuid4().hex[:8]}"
        sb.create_team(key, credits=100)
        team = sb.team(key)
        running = add_campaign(sb.sandbox.world, team, "Running", "running")
        draft = add_campaign(sb.sandbox.world, team, "Draft", "draft")
        for n in range(4):
            add_lead(sb.sandbox.world, team, running, f"run{n}@acme.io", firstName="R", lastName=f"N{n}")
        for n in range(3):
            add_lead(sb.sandbox.world, team, draft, f"draft{n}@acme.io", firstName="D", lastName=f"N{n}")
        monkeypatch.setenv("AIRFLOW_CONN_LEMLIST_DEFAULT", connection_json(sb.base_url, key, rate_limit=0))
        reset_limiters()
        conf = {"enrichments": ["verify_email"], "first_poll_seconds": 0.3, "max_poll_interval": 1.0}
        # unpaused (or "Unpause on trigger") but no explicit setting: the run spends nothing, sends nothing
        monkeypatch.delenv("AIRFLOW__LEMLIST__SCHEDULED_ENRICHMENT_SPENDS", raising=False)
        refused = dag.test(run_conf={**conf, "output": str(tmp_path / "refused.csv")})
        states = {ti.task_id: ti.state for ti in refused.get_task_instances()}
        assert states["check_credits"] == states["request_enrichments"] == "skipped"
        assert team.credits == 100 and sb.stats()["requests_by_team"].get(team.id, 0) == 0
        monkeypatch.setenv("AIRFLOW__LEMLIST__SCHEDULED_ENRICHMENT_SPENDS", "True")
        first = dag.test(run_conf={**conf, "output": str(tmp_path / "first.csv")})
        credits_after_first = team.credits
        bulk_after_first = sb.stats()["by_route"].get("POST /api/v2/enrichments/bulk", 0)
        second = dag.test(run_conf={**conf, "output": str(tmp_path / "second.csv")})
        bulk_after_second = sb.stats()["by_route"].get("POST /api/v2/enrichments/bulk", 0)
        variables = {
            lead["email"]: (lead.get("variables") or {}).get("enrichmentStatus", lead.get("enrichmentStatus"))
            for lead in team.leads.values()
        }
    assert first.state == "success" and second.state == "success"
    assert 100 - credits_after_first == 4  # the 4 running-campaign leads, one verify each
    assert bulk_after_first == 1 and bulk_after_second == 1  # nothing new: no second bulk start
    assert team.credits == credits_after_first
    assert {e: s for e, s in variables.items() if e.startswith("run")} == {
        f"run{n}@acme.io": "done" for n in range(4)
    }
    assert all(variables[f"draft{n}@acme.io"] is None for n in range(3))
    with (tmp_path / "second.csv").open(newline="", encoding="utf-8") as handle:
        second_rows = list(csv.DictReader(handle))
    assert {r["status"] for r in second_rows} <= {"skipped"}
