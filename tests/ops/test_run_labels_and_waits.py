"""What the runs list and the task logs say (issue 18, "numbers people can trust"): mapped batches labelled by
their rows, one incident when ``validate`` fails, a deferred sensor's first line, and pacing changes logged."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
import requests

from lemlist_provider.hooks.lemlist import LemlistHook
from lemlist_provider.hooks.ratelimit import reset_limiters
from lemlist_provider.sensors.exports import LemlistExportSensor
from lemlist_sandbox import connection_json
from lemlist_sandbox.seed import add_campaign

pytestmark = pytest.mark.usefixtures("storage_roots")


def _team(server, monkeypatch) -> tuple[str, str]:
    key = f"labels-{uuid.uuid4().hex[:10]}"
    server.create_team(key, credits=1000, seed="demo")
    campaign = add_campaign(server.sandbox.world, server.team(key), "Labels", "draft")
    monkeypatch.setenv("AIRFLOW_CONN_LEMLIST_DEFAULT", connection_json(server.base_url, key, rate_limit=0))
    return key, campaign["_id"]


def test_batches_are_labelled_by_their_rows(
    lead_dag, unlimited_sandbox, form_defaults, monkeypatch, tmp_path
):
    _, campaign_id = _team(unlimited_sandbox, monkeypatch)
    leads = [f"label-{i}@example.com" for i in range(25)]
    run = lead_dag.test(run_conf={**form_defaults(lead_dag), "campaign_id": campaign_id, "leads": leads,
                                  "batch_size": 10, "output_uri": str(tmp_path)})  # fmt: skip
    assert run.state == "success"
    labels = sorted(
        (ti.map_index, ti.rendered_map_index)
        for ti in run.get_task_instances()
        if ti.task_id == "import_batch"
    )
    assert labels == [(0, "rows 1-10"), (1, "rows 11-20"), (2, "rows 21-25")]


def test_a_failed_validate_is_the_runs_only_incident(
    lead_dag, unlimited_sandbox, form_defaults, monkeypatch, tmp_path, capsys
):
    _team(unlimited_sandbox, monkeypatch)
    capsys.readouterr()
    run = lead_dag.test(run_conf={**form_defaults(lead_dag), "campaign_id": "cam_NotInThisTeam1",
                                  "leads": ["a@example.com"], "output_uri": str(tmp_path)})  # fmt: skip
    assert run.state == "failed"
    states = {ti.task_id: ti.state for ti in run.get_task_instances()}
    assert states["validate"] == "failed" and states["import_batch"] == "upstream_failed"
    assert states["write_report"] == "failed"  # the run fails ...
    log = capsys.readouterr().out  # task logs of dag.test go to the console
    incidents = [line for line in log.splitlines() if "lemlist incident:" in line]
    assert len(incidents) == 1 and "task=validate" in incidents[0]  # ... with one incident: validate's
    assert "not a new incident: Nothing to report" in log


def test_a_deferred_sensor_first_says_what_it_waits_for_and_until_when(lemlist_conn, capsys):
    from airflow.sdk.exceptions import TaskDeferred

    sensor = LemlistExportSensor(
        task_id="wait", campaign_id="cam_Abc123", export_id="axp_Xyz789", timeout=600, deferrable=True
    )
    capsys.readouterr()
    with pytest.raises(TaskDeferred):
        sensor.execute({})
    # the first line after Airflow's own note that execute() is called outside a task runner (a test)
    first = [
        line for line in capsys.readouterr().out.splitlines() if "outside of the Task Runner" not in line
    ][0]
    assert "Waiting for lemlist export axp_Xyz789 of campaign cam_Abc123 to be done until 20" in first
    assert "in the triggerer" in first


def test_pacing_is_logged_when_another_client_shares_the_key(sandbox, lemlist_conn, capsys, monkeypatch):
    """A client outside Airflow spends the same key: the hook's gate sees the server's count rise and the log
    says so, once, with the pace it now keeps."""
    reset_limiters()
    monkeypatch.setenv(
        "AIRFLOW_CONN_LEMLIST_DEFAULT", connection_json(sandbox.base_url, lemlist_conn, rate_limit=20)
    )
    stop = threading.Event()

    def other_client() -> None:
        with requests.Session() as session:
            while not stop.is_set():
                session.get(f"{sandbox.base_url}/team", auth=("", lemlist_conn), timeout=5)
                time.sleep(0.15)  # about 6-7 requests a second: a third of the key's budget

    capsys.readouterr()
    thread = threading.Thread(target=other_client, daemon=True)
    thread.start()
    try:
        time.sleep(1.0)
        hook = LemlistHook()
        for _ in range(30):
            hook.get_team()
    finally:
        stop.set()
        thread.join(timeout=10)
        reset_limiters()
    pacing = [line for line in capsys.readouterr().out.splitlines() if "lemlist pacing" in line]
    assert pacing, "no pacing line while another client shared the key"
    assert "sharing the key with ~" in pacing[0] and "req/s" in pacing[0]
    assert len(pacing) <= 6  # logged when it changes, not per request
