"""A lead import batch killed with SIGKILL mid-batch is retried by Airflow itself (LocalExecutor, real
scheduler) and finishes the rest: every lead once in lemlist, every row ``imported`` in the report."""

from __future__ import annotations

import csv
import os
import signal
import time
import uuid

import pytest

from lemlist_sandbox import SandboxServer, connection_json
from lemlist_sandbox.seed import add_campaign

DAG_ID = "lemlist_lead_import"
LEADS = 120


@pytest.mark.integration
@pytest.mark.timeout(600)
def test_batch_killed_mid_way_is_retried_by_airflow_without_duplicate_or_loss(
    local_airflow_factory, tmp_path
):
    source = tmp_path / "leads.csv"
    emails = [f"kill{n:03d}@retry.io" for n in range(LEADS)]
    with source.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["email", "firstName"])
        writer.writerows([email, f"K{n}"] for n, email in enumerate(emails))

    with SandboxServer(time_scale=0.01) as sb:  # the real 20 requests / 2 s: ~12 s for the batch
        key = f"kill-{uuid.uuid4().hex[:8]}"
        sb.create_team(key)
        team = sb.team(key)
        campaign = add_campaign(sb.sandbox.world, team, "Kill and retry")
        af = local_airflow_factory(
            extra_env={"AIRFLOW_CONN_LEMLIST_DEFAULT": connection_json(sb.base_url, key)},
            pools={"lemlist_api": 4},
        )
        af.wait_for_dag(DAG_ID, timeout=180)
        run_id = af.trigger(
            DAG_ID,
            {"campaign_id": campaign["_id"], "source": str(source), "batch_size": LEADS,
             "output_uri": str(tmp_path / "out")},
        )  # fmt: skip

        def running_pid():
            rows = af.query(
                "SELECT state, pid FROM task_instance WHERE dag_id = :d AND run_id = :r AND task_id = 'import_batch'",
                d=DAG_ID,
                r=run_id,
            )
            arrived = len(team.leads_in_campaign(campaign["_id"]))
            return rows and rows[0][0] == "running" and rows[0][1] and arrived >= 25 and rows[0][1]

        pid = af.wait_until(running_pid, 240, "import_batch running with some leads sent", interval=0.2)
        arrived_before_kill = len(team.leads_in_campaign(campaign["_id"]))
        os.kill(pid, signal.SIGKILL)
        killed_at = time.monotonic()

        state = af.wait_until(
            lambda: (s := af.run_state(DAG_ID, run_id)) in ("success", "failed") and s, 300, "run finished", 1
        )
        tries = af.query(
            "SELECT try_number, state FROM task_instance WHERE dag_id = :d AND run_id = :r AND task_id = 'import_batch'",
            d=DAG_ID,
            r=run_id,
        )
        in_campaign = [lead["email"] for lead in team.leads_in_campaign(campaign["_id"])]

    assert 25 <= arrived_before_kill < LEADS, "the kill must land mid-batch"
    assert state == "success", (state, tries, af.logs("scheduler"))
    assert tries == [(2, "success")], f"Airflow should have retried the killed batch once: {tries}"
    assert sorted(in_campaign) == sorted(emails), "a lead is missing or duplicated"
    assert len(in_campaign) == len(set(in_campaign)) == LEADS
    with (tmp_path / "out" / "leads.results.csv").open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == LEADS
    assert {r["status"] for r in rows} == {"imported"}, sorted({r["status"] for r in rows})
    assert all(r["lead_id"] for r in rows)
    print(
        f"\nkilled after {arrived_before_kill} leads; Airflow retried and finished in {time.monotonic() - killed_at:.0f} s"
    )
