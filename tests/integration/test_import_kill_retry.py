"""A lead import batch killed with SIGKILL mid-batch is retried by Airflow itself (LocalExecutor, real
scheduler) and finishes the rest: every lead once in lemlist, every row ``imported`` in the report."""

from __future__ import annotations

import csv
import os
import signal
import time
import uuid

import pytest

from lemlist_sandbox import SandboxServer
from lemlist_sandbox.seed import add_campaign

DAG_ID = "lemlist_lead_import"
LEADS = 120


@pytest.mark.integration
@pytest.mark.timeout(600)
def test_batch_killed_mid_way_is_retried_by_airflow_without_duplicate_or_loss(
    local_airflow_factory, trigger_lead_import, tmp_path
):
    emails = [f"kill{n:03d}@retry.io" for n in range(LEADS)]
    with SandboxServer(time_scale=0.01) as sb:  # the real 20 requests / 2 s: ~12 s for the batch
        key = f"kill-{uuid.uuid4().hex[:8]}"
        sb.create_team(key)
        team = sb.team(key)
        campaign = add_campaign(sb.sandbox.world, team, "Kill and retry")
        af = local_airflow_factory(sb, key, pool_slots=4)
        run_id = trigger_lead_import(af, campaign["_id"], emails, batch_size=LEADS)

        def batch():
            return af.client.task_instances(DAG_ID, run_id, task_id="import_batch")

        def running_pid():
            tis = batch()
            arrived = len(team.leads_in_campaign(campaign["_id"]))
            return tis and tis[0]["state"] == "running" and tis[0]["pid"] and arrived >= 25 and tis[0]["pid"]

        pid = af.wait_until(running_pid, 240, "import_batch running with some leads sent", interval=0.2)
        arrived_before_kill = len(team.leads_in_campaign(campaign["_id"]))
        os.kill(pid, signal.SIGKILL)
        killed_at = time.monotonic()

        state = af.wait_for_run(DAG_ID, run_id, timeout=300)["state"]
        tries = [(ti["try_number"], ti["state"]) for ti in batch()]
        in_campaign = [lead["email"] for lead in team.leads_in_campaign(campaign["_id"])]

    assert 25 <= arrived_before_kill < LEADS, "the kill must land mid-batch"
    assert state == "success", (state, tries, af.log("scheduler"))
    assert tries == [(2, "success")], f"Airflow should have retried the killed batch once: {tries}"
    assert sorted(in_campaign) == sorted(emails), "a lead is missing or duplicated"
    assert len(in_campaign) == len(set(in_campaign)) == LEADS
    with (tmp_path / "out" / f"leads.{campaign['_id']}.results.csv").open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == LEADS
    assert {r["status"] for r in rows} == {"imported"}, sorted({r["status"] for r in rows})
    assert all(r["lead_id"] for r in rows)
    print(
        f"\nkilled after {arrived_before_kill} leads; Airflow retried and finished in {time.monotonic() - killed_at:.0f} s"
    )
