"""The receiver app against a real Airflow metadata database (SQLite test home and PostgreSQL).

What lemlist and a DAG author see: the HTTP answer, the ledger row, and the Asset event read back through
Airflow's own models.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from events_support import activity
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

from lemlist_provider.events.families import BY_NAME, family_of
from lemlist_provider.events.payload import dedupe_key, strip_secret, to_event
from lemlist_provider.events.receiver import get_store
from lemlist_provider.events.store import EventStore

URL = "/webhooks"


def key_of(body: dict) -> str:
    return dedupe_key(strip_secret(body, ""))


def test_right_secret_stores_one_row_and_one_asset_event(client, backend, webhook_secret):
    before = backend.last_asset_event_id()
    body = activity("emailsUnsubscribed", secret=webhook_secret)

    answer = client.post(URL, json=body)

    assert answer.status_code == 200, answer.text
    assert answer.json()["detail"] == "stored"
    assert answer.json()["family"] == "unsubscribed"
    [row] = backend.rows(key_of(body))
    assert (row["event_type"], row["family"], row["conn_id"]) == (
        "emailsUnsubscribed",
        "unsubscribed",
        "lemlist_default",
    )
    [asset_event] = backend.asset_events("lemlist://events/unsubscribed", after_id=before)
    assert row["asset_event_id"] == asset_event.id
    assert asset_event.extra["type"] == "emailsUnsubscribed"
    assert asset_event.extra["payload"]["_id"] == body["_id"]
    assert asset_event.extra["payload"]["email"] == body["email"]
    assert "secret" not in asset_event.extra["payload"]


def test_same_event_again_counts_once(client, backend, webhook_secret):
    before = backend.last_asset_event_id()
    body = activity("emailsReplied", secret=webhook_secret)

    first = client.post(URL, json=body)
    again = client.post(URL, json=body)
    reordered = client.post(URL, content=json.dumps(dict(reversed(list(body.items())))))

    assert [first.json()["detail"], again.json()["detail"], reordered.json()["detail"]] == [
        "stored",
        "duplicate",
        "duplicate",
    ]
    assert {first.status_code, again.status_code, reordered.status_code} == {200}
    assert len(backend.rows(key_of(body))) == 1
    assert len(backend.asset_events("lemlist://events/replied", after_id=before)) == 1


def test_concurrent_deliveries_of_one_event_store_it_once(backend, webhook_secret):
    """Eight deliveries at once race on the unique index: one is stored, seven are duplicates."""
    before = backend.last_asset_event_id()
    event = to_event(activity("emailsBounced", secret=webhook_secret), webhook_secret)
    backend.store.ensure_table()
    backend.store.ensure_asset(event.family.uri)

    def deliver(_):
        return backend.store.record(event, conn_id="lemlist_default", received_at=datetime.now(UTC))

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(deliver, range(8)))

    assert sorted(o.duplicate for o in outcomes) == [False] + [True] * 7
    assert len(backend.rows(event.dedupe_key)) == 1
    assert len(backend.asset_events(event.family.uri, after_id=before)) == 1


@pytest.mark.parametrize(
    "secret_field",
    [{"secret": "wrong-secret-of-the-same-length!"}, {}, {"secret": ""}, {"secret": None}, {"secret": ["x"]}],
    ids=["wrong", "missing", "empty", "null", "not-a-string"],
)
def test_wrong_or_missing_secret_is_401_and_nothing_stored(client, backend, webhook_secret, secret_field):
    before = backend.last_asset_event_id()
    body = activity("emailsUnsubscribed", **secret_field)

    answer = client.post(URL, json=body)

    assert answer.status_code == 401
    assert backend.rows(key_of(body)) == []
    assert backend.asset_events("lemlist://events/unsubscribed", after_id=before) == []


def test_body_over_the_cap_is_413_whether_announced_or_streamed(client, backend, webhook_secret):
    body = activity(secret=webhook_secret, note="x" * (300 * 1024))
    raw = json.dumps(body).encode()

    announced = client.post(URL, content=raw, headers={"content-type": "application/json"})
    streamed = client.post(URL, content=(raw[i : i + 8192] for i in range(0, len(raw), 8192)))

    assert announced.status_code == 413
    assert streamed.status_code == 413  # chunked: no Content-Length, refused while reading
    assert backend.rows(key_of(body)) == []


def test_cap_is_configurable(client, backend, webhook_secret, monkeypatch):
    monkeypatch.setenv("AIRFLOW__LEMLIST__WEBHOOK_MAX_BODY_BYTES", "2048")
    small = activity(secret=webhook_secret)
    large = activity(secret=webhook_secret, note="x" * 4096)

    assert client.post(URL, json=small).status_code == 200
    assert client.post(URL, json=large).status_code == 413


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"",
        b"[1, 2, 3]",
        b'"a string"',
        b'{"type": NaN}',
        b"\xff\xfe{}",
        b"[" * 5000 + b"]" * 5000,
    ],
    ids=["text", "empty", "array", "string", "nan", "bad-utf8", "deep-array"],
)
def test_not_a_json_object_is_400(client, webhook_secret, raw):
    answer = client.post(URL, content=raw, headers={"content-type": "application/json"})
    assert answer.status_code == 400
    assert raw.decode("utf-8", "replace")[:20] not in answer.text or not raw  # the body is never echoed


def test_a_verified_body_without_a_type_is_400_and_not_stored(client, backend, webhook_secret):
    body = activity(secret=webhook_secret)
    del body["type"]
    assert client.post(URL, json=body).status_code == 400
    assert backend.rows(key_of(body)) == []


def test_unknown_type_is_stored_in_family_other(client, backend, webhook_secret):
    before = backend.last_asset_event_id()
    body = activity("someTypeLemlistAddsNextYear", secret=webhook_secret)

    answer = client.post(URL, json=body)

    assert answer.status_code == 200 and answer.json()["family"] == "other"
    [event] = backend.asset_events("lemlist://events/other", after_id=before)
    assert event.extra["type"] == "someTypeLemlistAddsNextYear"


def test_store_failure_is_503_and_a_retry_then_stores(client, backend, webhook_secret, tmp_path):
    """SQLite: the database file is locked by another writer. PostgreSQL: the server cannot be reached."""
    body = activity("emailsUnsubscribed", secret=webhook_secret)
    if backend.name == "sqlite":
        lock = sqlite3.connect(backend.store.engine.url.database, timeout=1)
        lock.execute("BEGIN EXCLUSIVE")
        try:
            answer = client.post(URL, json=body)
        finally:
            lock.rollback()
            lock.close()
    else:
        unreachable = create_engine(
            "postgresql+psycopg2://postgres@127.0.0.1:9/none", connect_args={"connect_timeout": 2}
        )
        client.app.dependency_overrides[get_store] = lambda: EventStore(
            unreachable, sessionmaker(unreachable), retention_days=30
        )
        answer = client.post(URL, json=body)
        client.app.dependency_overrides[get_store] = lambda: backend.store

    assert answer.status_code == 503
    assert webhook_secret not in answer.text
    assert backend.rows(key_of(body)) == []
    retry = client.post(URL, json=body)
    assert retry.status_code == 200 and retry.json()["detail"] == "stored"


def test_secret_not_configured_is_503_never_404(client, monkeypatch):
    """Without a usable secret nothing can be verified; 503 keeps lemlist retrying (404 would delete the hook)."""
    body = activity(secret="whatever-secret-is-sent-here")
    monkeypatch.setenv("AIRFLOW_CONN_LEMLIST_DEFAULT", json.dumps({"conn_type": "lemlist", "extra": {}}))
    assert client.post(URL, json=body).status_code == 503
    short = {"conn_type": "lemlist", "extra": {"webhook_secret": "too-short"}}
    monkeypatch.setenv("AIRFLOW_CONN_LEMLIST_DEFAULT", json.dumps(short))
    client.app.state.secrets.clear()
    assert client.post(URL, json=activity(secret="too-short")).status_code == 503


def test_conn_id_query_chooses_among_allowed_connections_only(client, backend, webhook_secret, monkeypatch):
    other_secret = "second-team-secret-" + uuid.uuid4().hex
    monkeypatch.setenv(
        "AIRFLOW_CONN_LEMLIST_TEAM_B",
        json.dumps({"conn_type": "lemlist", "extra": {"webhook_secret": other_secret}}),
    )
    body_b = activity(secret=other_secret)

    assert (
        client.post(URL, params={"conn_id": "lemlist_team_b"}, json=body_b).status_code == 401
    )  # not allowed yet
    monkeypatch.setenv("AIRFLOW__LEMLIST__LEMLIST_CONN_IDS", "lemlist_default,lemlist_team_b")
    assert (
        client.post(
            URL, params={"conn_id": "lemlist_team_b"}, json=activity(secret=webhook_secret)
        ).status_code
        == 401
    )
    stored = client.post(URL, params={"conn_id": "lemlist_team_b"}, json=body_b)
    assert stored.status_code == 200
    assert backend.rows(key_of(body_b))[0]["conn_id"] == "lemlist_team_b"
    assert client.post(URL, params={"conn_id": "not_a_conn"}, json=body_b).status_code == 401


def test_the_secret_appears_in_no_row_extra_answer_or_log(client, backend, webhook_secret, caplog):
    """Even echoed inside the payload (a custom variable holding it), the secret is never kept or logged."""
    caplog.set_level(logging.DEBUG)
    before = backend.last_asset_event_id()
    body = activity(
        "emailsReplied",
        secret=webhook_secret,
        variables={"note": f"pasted {webhook_secret} by mistake", "list": [webhook_secret]},
    )
    answers = [
        client.post(URL, json=body),
        client.post(URL, json=body),
        client.post(URL, json={**body, "secret": webhook_secret[:-1] + "!"}),
        client.post(URL, json={**body, "type": "bad type!"}),
    ]

    [row] = backend.rows(key_of(strip_secret(body, webhook_secret)))
    [event] = backend.asset_events("lemlist://events/replied", after_id=before)
    assert webhook_secret not in json.dumps(row, default=str)
    assert webhook_secret not in json.dumps(event.extra)
    assert event.extra["payload"]["variables"] == {"note": "pasted *** by mistake", "list": ["***"]}
    for answer in answers:
        assert webhook_secret not in answer.text
    assert webhook_secret not in caplog.text
    assert "lemlist webhook stored emailsReplied" in caplog.text  # the log did see the request


def test_every_family_asset_gets_created_when_no_dag_declares_it(client, backend, webhook_secret):
    family = BY_NAME["account_alert"]
    before = backend.last_asset_event_id()
    answer = client.post(URL, json=activity("sendLimitReached", secret=webhook_secret))
    assert answer.status_code == 200
    assert family_of("sendLimitReached") is family
    assert len(backend.asset_events(family.uri, after_id=before)) == 1


def test_retention_prunes_old_rows_only(backend, webhook_secret):
    old = to_event(activity(secret=webhook_secret), webhook_secret)
    new = to_event(activity(secret=webhook_secret), webhook_secret)
    now = datetime.now(UTC)
    backend.store.record(old, conn_id="lemlist_default", received_at=now - timedelta(days=40))
    backend.store.record(new, conn_id="lemlist_default", received_at=now)

    backend.store.prune(now - timedelta(days=30))  # the writer may already have pruned it on its own

    assert backend.rows(old.dedupe_key) == []
    assert len(backend.rows(new.dedupe_key)) == 1


def test_ops_routes_need_an_airflow_login(client):
    assert client.get("/events/summary").status_code == 401


def test_no_404_or_410_for_the_route_itself(client, webhook_secret):
    body = activity(secret=webhook_secret)
    assert client.post(URL + "/", json=body).status_code == 200  # trailing slash: no redirect, no 404
    assert client.get(URL).status_code == 405
