"""In a real scheduler run the enrichment sensor waits in state ``deferred`` and holds no worker slot."""

from __future__ import annotations

import csv
import time
import uuid

import pytest

from lemlist_sandbox import SandboxServer
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
        af = local_airflow_factory(sb, key, pool_slots=2)
        assert af.wait_for_dags([DAG_ID]) == {}
        out = tmp_path / "deferred.csv"
        run_id = af.trigger(
            DAG_ID,
            {"campaign_id": campaign["_id"], "enrichments": ["verify_email"], "output": str(out),
             "first_poll_seconds": 5, "max_poll_interval": 10},
        )  # fmt: skip

        def sensor() -> dict:
            return af.client.task_instances(DAG_ID, run_id, task_id=SENSOR)[0]

        af.wait_until(lambda: sensor()["state"] == "deferred", 120, "sensor deferred", interval=0.5)
        time.sleep(3)  # let the triggerer pick it up and poll at least once
        assert sensor()["state"] == "deferred", sensor()
        # nothing runs or waits for a slot: the deferred sensor is in no executor slot and no pool slot
        busy = af.client.task_instances(state=["running", "queued", "scheduled"])
        assert busy == [], [(ti["task_id"], ti["state"]) for ti in busy]
        trigger = sensor()["trigger"]
        assert (
            trigger
            and trigger["classpath"] == "lemlist_provider.triggers.enrichment.LemlistEnrichmentTrigger"
        )
        af.wait_until(lambda: sensor()["trigger"]["triggerer_id"], 30, "trigger picked up by the triggerer")
        finished = af.wait_for_run(DAG_ID, run_id, timeout=150)
        final = {ti["task_id"]: ti["state"] for ti in af.client.task_instances(DAG_ID, run_id)}
        assert finished["state"] == "success", (final, af.log("scheduler"), af.log("triggerer"))
        polls = sb.stats()["by_route"].get("GET /api/enrich/{enrichId}", 0)
    with out.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 5 and {r["status"] for r in rows} == {"done"}
    assert polls >= 5  # the triggerer polled (202s while waiting, then 200s), no worker did
