"""`make up`'s machinery, non-interactively: start, settings applied, a REST-triggered run, stop, no strays."""

from __future__ import annotations

import pytest
import requests

from lemlist_dev.deployment import COMPONENTS
from lemlist_dev.processes import processes_using
from lemlist_dev.up import running

OVERVIEW = "lemlist_account_overview"
MANUAL = {"lemlist_lead_import", "lemlist_enrichment"}
SCHEDULED = {OVERVIEW, "lemlist_enrichment_new_leads", "lemlist_unsubscribe_sync", "lemlist_campaign_export"}


@pytest.mark.integration
@pytest.mark.timeout(300)
def test_make_up_runs_overview_over_rest_and_stops_cleanly(tmp_path):
    home = tmp_path / "airflow-home"
    with running(home, time_scale=0.02) as local:
        assert {name for name, group in local.groups.items() if group.alive()} == set(COMPONENTS)
        pids = local.pids()
        client, sandbox = local.client, local.lemlist.sandbox

        # airflow_settings.yaml is applied: what the UI's Admin pages show.
        pool = client.get("/pools/lemlist_api")
        assert pool["slots"] == 8 and "lemlist" in pool["description"]
        conn = client.get("/connections/lemlist_default")
        assert conn["conn_type"] == "lemlist" and conn["host"] == sandbox.base_url

        # Manual DAGs are ready to trigger; scheduled ones wait until someone enables them.
        dags = client.get("/dags", limit=100)["dags"]
        unpaused = {d["dag_id"] for d in dags if not d["is_paused"]}
        assert MANUAL <= unpaused and not unpaused & SCHEDULED, unpaused
        assert SCHEDULED <= {d["dag_id"] for d in dags}

        # The UI page itself is served (the login screen for an anonymous browser).
        assert requests.get(f"{local.ui_url}/", timeout=10).status_code == 200

        before = sandbox.stats()["total_requests"]
        run_id = local.trigger(OVERVIEW, {"min_credits": 1})
        finished = local.wait_for_run(OVERVIEW, run_id, timeout=180)
        assert finished["state"] == "success", client.task_instances(OVERVIEW, run_id)
        summary = client.xcom(OVERVIEW, run_id, "summary")
        assert summary["team_name"] == "Sandbox Demo Team"
        assert summary["campaigns"] == 3
        assert summary["requests"] >= 4
        # The requests really went to this instance's sandbox, through the applied connection.
        assert sandbox.stats()["total_requests"] >= before + summary["requests"]

    assert not [pid for pid in pids if _alive(pid)], "a started process survived stop()"
    assert processes_using(str(home)) == [], "a process still runs with this AIRFLOW_HOME"
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{local.ui_url}/api/v2/monitor/health", timeout=2)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ")[1][0] != "Z"
    except OSError:
        return False
