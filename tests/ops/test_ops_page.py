"""The ops data end to end: a real lead import (``dag.test``) against the sandbox over HTTP, its tasks' summaries
copied from Airflow's metadata database, and the page and download behind a real Airflow login.

The figures are checked against the sandbox's own request counters, not against our counters.
"""

from __future__ import annotations

import csv
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, select

from lemlist_provider.metadb import airflow_engine
from lemlist_provider.ops.store import OpsStore, calls_table
from lemlist_provider.ops.views import per_run
from lemlist_sandbox import connection_json
from lemlist_sandbox.seed import add_campaign

pytestmark = pytest.mark.usefixtures("storage_roots")
ROWS = 30


@pytest.fixture
def imported(lead_dag, unlimited_sandbox, form_defaults, monkeypatch, tmp_path):
    """One import of 30 leads in 3 batches; the sandbox answers the first two requests 429."""
    key = f"ops-{uuid.uuid4().hex[:10]}"
    unlimited_sandbox.create_team(key, credits=1000, seed="demo")
    team = unlimited_sandbox.team(key)
    campaign_id = add_campaign(unlimited_sandbox.sandbox.world, team, "Ops test", "draft")["_id"]
    monkeypatch.setenv(
        "AIRFLOW_CONN_LEMLIST_DEFAULT", connection_json(unlimited_sandbox.base_url, key, rate_limit=0)
    )
    source = tmp_path / "ops-leads.csv"
    with source.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["email", "firstName"])
        writer.writerows([[f"ops-{i}-{key}@example.com", f"N{i}"] for i in range(ROWS)])
    unlimited_sandbox.set_faults(force_429=2)
    run = lead_dag.test(
        run_conf={**form_defaults(lead_dag), "campaign_id": campaign_id, "source": str(source), "batch_size": 10,
                  "output_uri": str(tmp_path / "out"), "leads": None}
    )  # fmt: skip
    assert run.state == "success"
    sent = unlimited_sandbox.stats()["requests_by_team"][team.id]
    return run, campaign_id, sent, tmp_path / "out" / f"ops-leads.{campaign_id}.results.csv"


def _store() -> OpsStore:
    return OpsStore(*airflow_engine(), retention_days=30)


def test_each_task_try_is_recorded_and_the_run_matches_the_sandbox(imported):
    run, campaign_id, sent, report = imported
    store = _store()
    store.ingest()
    store.ingest()  # a second copy adds nothing
    records = [r for r in store.records(datetime.now(UTC) - timedelta(hours=1)) if r["run_id"] == run.run_id]
    tasks = sorted((r["task_id"], r["map_index"]) for r in records)
    assert tasks == [("import_batch", 0), ("import_batch", 1), ("import_batch", 2), ("validate", -1),
                     ("write_report", -1)]  # fmt: skip
    (summary,) = per_run(records)
    assert summary["requests"] == sent  # every request the sandbox saw from this key, 429s included
    assert summary["rate_limited"] == 2 and summary["retries"] == 0
    assert 1.0 <= summary["waited_seconds"] <= (summary["ended_at"] - summary["started_at"]).total_seconds()
    assert summary["outcomes"] == {"imported": ROWS}
    assert (summary["campaign_id"], summary["rows"], summary["report"]) == (campaign_id, ROWS, str(report))
    assert summary["conn_ids"] == ["lemlist_default"]
    # the two 429s hit the validate task (its first requests): they are in its summary and the run's, not in the
    # import report's figures, which count the batches only
    by_task = {(r["task_id"], r["map_index"]): r for r in records}
    assert by_task[("validate", -1)]["rate_limited"] == 2
    report_ti = next(ti for ti in run.get_task_instances() if ti.task_id == "write_report")
    assert report_ti.xcom_pull(task_ids="write_report", key="summary")["rate_limited"] == 0


def test_the_page_needs_a_login_and_shows_the_run(imported, ops_client, airflow_token):
    run, campaign_id, sent, report = imported
    assert ops_client.get("/ops").status_code == 401
    assert ops_client.get("/ops", headers={"Authorization": "Bearer not-a-token"}).status_code in (401, 403)
    page = ops_client.get("/ops", headers={"Authorization": f"Bearer {airflow_token}"})
    assert page.status_code == 200, page.text
    html = page.text
    row = html[html.index(f'<tr data-run="{run.run_id}">') :].split("</tr>")[0]
    assert f'<td class="requests">{sent}</td>' in row and '<td class="rate_limited">2</td>' in row
    assert campaign_id in html and f"{ROWS} imported" in html
    assert "Webhook events received" in html


def test_report_download_serves_the_run_report_and_refuses_others(imported, ops_client, airflow_token):
    run, _, _, report = imported
    auth = {"Authorization": f"Bearer {airflow_token}"}
    got = ops_client.get("/ops/report", params={"dag_id": run.dag_id, "run_id": run.run_id}, headers=auth)
    assert got.status_code == 200 and got.content == report.read_bytes()
    assert "attachment" in got.headers["content-disposition"]
    assert (
        ops_client.get("/ops/report", params={"dag_id": run.dag_id, "run_id": run.run_id}).status_code == 401
    )
    # a row naming a file outside the output roots (written by hand: no task could) is refused
    store = _store()
    store.ingest()
    now = datetime.now(UTC)
    with store.session_factory() as session:
        session.execute(insert(calls_table).values(
            dag_id="forged", run_id="r", task_id="t", map_index=-1, try_number=1, conn_id="x", state="success",
            started_at=now, ended_at=now, recorded_at=now, report="/etc/passwd",
        ))  # fmt: skip
        session.commit()
    refused = ops_client.get("/ops/report", params={"dag_id": "forged", "run_id": "r"}, headers=auth)
    assert refused.status_code == 403 and "root:" not in refused.text
    missing = ops_client.get("/ops/report", params={"dag_id": "nothing", "run_id": "r"}, headers=auth)
    assert missing.status_code == 404


def test_retention_deletes_old_tries_only(imported):
    run = imported[0]
    store = _store()
    store.ingest()
    with store.session_factory() as session:
        kept = session.scalars(select(calls_table.c.id).where(calls_table.c.run_id == run.run_id)).all()
    assert kept
    store.prune(datetime.now(UTC) - timedelta(days=29))  # all rows are younger than 30 days: none goes
    store.prune(datetime.now(UTC) + timedelta(days=31))  # a month later they are past the retention
    with store.session_factory() as session:
        assert not session.scalars(select(calls_table.c.id).where(calls_table.c.run_id == run.run_id)).all()
