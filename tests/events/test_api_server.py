"""A real ``airflow api-server`` (with scheduler and dag-processor) serves the plugin's receiver over HTTP,
and an event it stores schedules a DAG run on the family's Asset.

The deployment is ``integration.local_airflow.LocalAirflow`` (temporary home, SQLite, LocalExecutor), with
this folder's ``dags/`` as the DAGs folder.
"""

from __future__ import annotations

import json
import secrets
import time
import uuid
from pathlib import Path

import pytest
import requests
from conftest import activity
from integration.local_airflow import LocalAirflow

DAG_ID = "lemlist_events_probe"
DAGS = Path(__file__).resolve().parent / "dags"


@pytest.fixture(scope="module")
def airflow_with_receiver():
    secret = secrets.token_urlsafe(24)
    conn = {"conn_type": "lemlist", "password": "unused", "extra": {"webhook_secret": secret}}
    airflow = LocalAirflow(
        dags_folder=DAGS,
        components=("api-server", "scheduler", "dag-processor"),
        extra_env={"AIRFLOW_CONN_LEMLIST_DEFAULT": json.dumps(conn)},
    )
    with airflow:
        base = f"http://127.0.0.1:{airflow.port}"
        airflow.wait_until(lambda: _healthy(base), 120, "api-server answering")
        yield airflow, base, secret


def _healthy(base: str) -> bool:
    try:
        return requests.get(f"{base}/api/v2/monitor/health", timeout=2).status_code == 200
    except requests.RequestException:
        return False


def _token(airflow: LocalAirflow, base: str) -> str:
    passwords = json.loads((airflow.home / "simple_auth_manager_passwords.json.generated").read_text())
    username, password = next(iter(passwords.items()))
    answer = requests.post(
        f"{base}/auth/token", json={"username": username, "password": password}, timeout=10
    )
    answer.raise_for_status()
    return answer.json()["access_token"]


@pytest.mark.integration
@pytest.mark.timeout(400)
def test_event_posted_to_the_api_server_runs_a_dag_scheduled_on_its_asset(airflow_with_receiver):
    airflow, base, secret = airflow_with_receiver
    airflow.wait_for_dag(DAG_ID)
    airflow.cli("dags", "unpause", DAG_ID)  # committed before the event: it is queued for this DAG
    body = activity("emailsUnsubscribed", secret=secret, email=f"gone-{uuid.uuid4().hex[:6]}@example.com")

    sent = time.monotonic()
    answer = requests.post(f"{base}/lemlist/webhooks", json=body, timeout=30)
    again = requests.post(f"{base}/lemlist/webhooks", json=body, timeout=30)

    assert answer.status_code == 200, answer.text
    assert answer.json()["detail"] == "stored" and again.json()["detail"] == "duplicate"
    run_id = airflow.wait_until(
        lambda: (
            airflow.query(
                "SELECT run_id FROM dag_run WHERE dag_id = :d AND run_type = 'asset_triggered'", d=DAG_ID
            )
            or [[None]]
        )[0][0],
        120,
        "asset-triggered run",
    )
    seconds_to_run = time.monotonic() - sent
    airflow.wait_until(
        lambda: airflow.run_state(DAG_ID, run_id) in ("success", "failed"), 180, "run finished"
    )
    assert airflow.run_state(DAG_ID, run_id) == "success", airflow.logs("scheduler")
    [(value,)] = airflow.query(
        "SELECT value FROM xcom WHERE dag_id = :d AND run_id = :r AND key = 'return_value'",
        d=DAG_ID,
        r=run_id,
    )
    assert json.loads(value) == [body["email"]]  # the DAG read the payload from the asset event's extra
    assert len(airflow.query("SELECT id FROM lemlist_webhook_event")) == 1
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

    log = airflow.logs("api-server", tail=10**7)
    assert "lemlist webhook" in log and secret not in log


@pytest.mark.integration
def test_ops_route_needs_an_airflow_login(airflow_with_receiver):
    airflow, base, _ = airflow_with_receiver
    assert requests.get(f"{base}/lemlist/events/summary", timeout=10).status_code == 401
    token = _token(airflow, base)
    answer = requests.get(
        f"{base}/lemlist/events/summary", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    assert answer.status_code == 200, answer.text
    families = {row["family"]: row for row in answer.json()["families"]}
    assert families["unsubscribed"]["uri"] == "lemlist://events/unsubscribed"
