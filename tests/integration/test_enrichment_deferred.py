"""In a real scheduler run the enrichment sensor waits in state ``deferred`` and holds no worker slot."""

from __future__ import annotations

import csv
import time
import uuid

import pytest

from lemlist_sandbox import SandboxServer, connection_json
from lemlist_sandbox.seed import add_campaign, add_lead

DAG_ID = "lemlist_enrichment"
SENSOR = "wait_for_enrichments"


@pytest.mark.integration
@pytest.mark.timeout(300)
def test_sensor_is_deferred_and_holds_no_slot(local_airflow_factory, tmp_path):
    # real seconds: an enrichment takes 40 s, long enough to look at the waiting sensor
    with SandboxServer(time_scale=1.0, enrichment_delay=40.0) as sb:
        key = f"it-{uuid.uuid4().hex[:8]}"
        sb.create_team(key, credits=100)
        team = sb.team(key)
        campaign = add_campaign(sb.sandbox.world, team, "Deferred")
        for n in range(5):
            add_lead(sb.sandbox.world, team, campaign, f"it{n}@acme.io")
        af = local_airflow_factory(
            extra_env={"AIRFLOW_CONN_LEMLIST_DEFAULT": connection_json(sb.base_url, key)},
            pools={"lemlist_api": 2},
        )
        af.wait_for_dag(DAG_ID)
        out = tmp_path / "deferred.csv"
        run_id = af.trigger(
            DAG_ID,
            {"campaign_id": campaign["_id"], "enrichments": ["verify_email"], "output": str(out),
             "first_poll_seconds": 5, "max_poll_interval": 10},
        )  # fmt: skip
        af.wait_until(
            lambda: af.task_states(DAG_ID, run_id).get(SENSOR) == "deferred", 120, "sensor deferred"
        )
        time.sleep(3)  # let the triggerer pick it up and poll at least once
        states = af.task_states(DAG_ID, run_id)
        assert states[SENSOR] == "deferred", states
        # nothing runs or waits for a slot: the deferred sensor is in no executor slot and no pool slot
        busy = af.query(
            "SELECT task_id, state FROM task_instance WHERE state IN ('running', 'queued', 'scheduled')"
        )
        assert busy == [], busy
        trigger_rows = af.query(
            "SELECT t.classpath, t.triggerer_id FROM task_instance ti JOIN trigger t ON t.id = ti.trigger_id "
            "WHERE ti.dag_id = :d AND ti.run_id = :r AND ti.task_id = :t", d=DAG_ID, r=run_id, t=SENSOR,
        )  # fmt: skip
        assert (
            trigger_rows
            and trigger_rows[0][0] == "lemlist_provider.triggers.enrichment.LemlistEnrichmentTrigger"
        )
        af.wait_until(
            lambda: af.query("SELECT triggerer_id FROM trigger WHERE classpath LIKE '%LemlistEnrichmentTrigger'")[0][0],
            30, "trigger picked up by the triggerer",
        )  # fmt: skip
        af.wait_until(lambda: af.run_state(DAG_ID, run_id) in ("success", "failed"), 150, "run finished")
        final = af.task_states(DAG_ID, run_id)
        assert af.run_state(DAG_ID, run_id) == "success", (final, af.logs("scheduler"), af.logs("triggerer"))
        polls = sb.stats()["by_route"].get("GET /api/enrich/{enrichId}", 0)
    with out.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 5 and {r["status"] for r in rows} == {"done"}
    assert polls >= 5  # the triggerer polled (202s while waiting, then 200s), no worker did
