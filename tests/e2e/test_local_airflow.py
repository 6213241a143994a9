"""`make up`'s machinery, non-interactively: start, settings applied, a REST-triggered run, stop, no strays."""

from __future__ import annotations

import pytest
import requests
from airflow_local import LocalAirflow, processes_using

OVERVIEW = "lemlist_account_overview"


@pytest.mark.integration
@pytest.mark.timeout(300)
def test_local_airflow_runs_overview_over_rest_and_stops_cleanly(tmp_path):
    home = tmp_path / "airflow-home"
    local = LocalAirflow(home, time_scale=0.02, sandbox=True)
    try:
        local.start()
        pids = local.pids()
        assert len(pids) >= 6, f"expected sandbox + standalone + its 4 components, saw {pids}"
        client = local.client()

        # airflow_settings.yaml is applied: what the UI's Admin pages show.
        pool = client.get("/pools/lemlist_api")
        assert pool["slots"] == 8 and "lemlist" in pool["description"]
        conn = client.get("/connections/lemlist_default")
        assert conn["conn_type"] == "lemlist" and conn["host"] == local.lemlist_base_url

        # The UI page itself is served (the login screen for an anonymous browser).
        assert requests.get(f"{local.ui_url}/", timeout=10).status_code == 200

        assert local.wait_for_dags([OVERVIEW]) == {}
        before = local.sandbox_stats()["total_requests"]
        run = client.trigger(OVERVIEW, {"min_credits": 1})
        finished = client.wait_for_run(OVERVIEW, run["dag_run_id"], timeout=180)
        assert finished["state"] == "success", client.task_instances(OVERVIEW, run["dag_run_id"])
        summary = client.xcom(OVERVIEW, run["dag_run_id"], "summary")
        assert summary["team_name"] == "Sandbox Demo Team"
        assert summary["campaigns"] == 3
        assert summary["requests"] >= 4
        # The requests really went to this instance's sandbox, through the applied connection.
        assert local.sandbox_stats()["total_requests"] >= before + summary["requests"]
    finally:
        local.stop()

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
