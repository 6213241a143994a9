"""A real ``airflow api-server`` (with scheduler and dag-processor) serves the plugin's receiver over HTTP,
and an event it stores schedules a DAG run on the family's Asset.

The deployment is ``lemlist_dev.LocalAirflow`` (temporary home, SQLite, LocalExecutor), with this folder's
``dags/`` as the DAGs folder.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import time
import uuid
from pathlib import Path

import pytest
import requests
from events_support import NO_LEMLIST, activity

from lemlist_dev.deployment import LocalAirflow

DAG_ID = "lemlist_events_probe"
DAGS = Path(__file__).resolve().parent / "dags"


@pytest.fixture(scope="module")
def airflow_with_receiver(tmp_path_factory):
    secret = secrets.token_urlsafe(24)
    conn = {"conn_type": "lemlist", "password": "unused", "extra": {"webhook_secret": secret}}
    env = {"AIRFLOW__CORE__DAGS_FOLDER": str(DAGS), "AIRFLOW_CONN_LEMLIST_DEFAULT": json.dumps(conn)}
    with LocalAirflow(tmp_path_factory.mktemp("airflow-home"), NO_LEMLIST, extra_env=env) as airflow:
        yield airflow, airflow.ui_url, secret


def _stored_events(airflow: LocalAirflow) -> int:
    with sqlite3.connect(airflow.home / "airflow.db") as db:
        return db.execute("SELECT COUNT(*) FROM lemlist_webhook_event").fetchone()[0]


def _asset_triggered_run(airflow: LocalAirflow) -> str | None:
    runs = [r for r in airflow.client.list_runs(DAG_ID) if r.get("run_type") == "asset_triggered"]
    return runs[0]["dag_run_id"] if runs else None


@pytest.mark.integration
@pytest.mark.timeout(400)
def test_event_posted_to_the_api_server_runs_a_dag_scheduled_on_its_asset(airflow_with_receiver):
    airflow, base, secret = airflow_with_receiver
    assert airflow.wait_for_dags([DAG_ID]) == {}
    airflow.client.unpause(DAG_ID)  # committed before the event: it is queued for this DAG
    body = activity("emailsUnsubscribed", secret=secret, email=f"gone-{uuid.uuid4().hex[:6]}@example.com")

    sent = time.monotonic()
    answer = requests.post(f"{base}/lemlist/webhooks", json=body, timeout=30)
    again = requests.post(f"{base}/lemlist/webhooks", json=body, timeout=30)

    assert answer.status_code == 200, answer.text
    assert answer.json()["detail"] == "stored" and again.json()["detail"] == "duplicate"
    run_id = airflow.wait_until(lambda: _asset_triggered_run(airflow), 120, "asset-triggered run")
    seconds_to_run = time.monotonic() - sent
    run = airflow.wait_for_run(DAG_ID, run_id, timeout=180)
    assert run["state"] == "success", airflow.log("scheduler")
    emails = airflow.client.xcom(DAG_ID, run_id, "emails_of_triggering_events")
    assert emails == [body["email"]]  # the DAG read the payload from the asset event's extra
    assert _stored_events(airflow) == 1
    print(f"emit -> DAG run created in {seconds_to_run:.1f} s")


@pytest.mark.integration
def test_refusals_over_http_and_no_secret_in_the_api_server_log(airflow_with_receiver):
    airflow, base, secret = airflow_with_receiver
    url = f"{base}/lemlist/webhooks"

    assert requests.post(url, json=activity(secret="not-" + secret), timeout=10).status_code == 401
    assert requests.post(url, json=activity(), timeout=10).status_code == 401
    assert requests.post(url, data=b"not json", timeout=10).status_code == 400
    big = json.dumps(activity(secret=secret, note="x" * 300 * 1024))
    assert requests.post(url, data=big, timeout=10).status_code == 413
    assert (
        requests.post(
            url, params={"conn_id": "someone_else"}, json=activity(secret=secret), timeout=10
        ).status_code
        == 401
    )

    log = airflow.log("api-server", chars=10**7)
    assert "lemlist webhook" in log and secret not in log


@pytest.mark.integration
def test_ops_route_needs_an_airflow_login(airflow_with_receiver):
    airflow, base, _ = airflow_with_receiver
    assert requests.get(f"{base}/lemlist/events/summary", timeout=10).status_code == 401
    answer = airflow.client.session.get(f"{base}/lemlist/events/summary", timeout=10)  # logged in
    assert answer.status_code == 200, answer.text
    families = {row["family"]: row for row in answer.json()["families"]}
    assert families["unsubscribed"]["uri"] == "lemlist://events/unsubscribed"
