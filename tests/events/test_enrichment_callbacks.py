"""Enrichment callbacks: the URL's token is the proof, an accepted callback is an ``enrichment`` event, and its
enrichment id is noted for the run's waiting trigger in the Asset state store (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import time
import uuid
from urllib.parse import parse_qsl, urlsplit

import pytest
from sqlalchemy import select

from lemlist_provider.events.callbacks import (
    MAX_NOTED,
    callback_token,
    callback_type,
    callback_url,
    enrichment_id_of,
    merge_notes,
    note_key,
    run_scope,
    token_valid,
)

SECRET = "x" * 24
SCOPE = run_scope("lemlist_enrichment", "manual__2026-11-29T10:00:00+00:00")


def test_a_token_holds_for_its_scope_secret_and_time_only():
    expires = int(time.time()) + 60
    token = callback_token(SECRET, SCOPE, expires)

    assert token_valid(SECRET, SCOPE, str(expires), token)
    assert not token_valid("y" * 24, SCOPE, expires, token)  # another secret
    assert not token_valid(SECRET, run_scope("other_dag", "run"), expires, token)  # another run
    assert not token_valid(SECRET, SCOPE, expires + 1, token)  # a lengthened expiry
    assert not token_valid(SECRET, SCOPE, expires, token, now=expires + 1)  # expired
    for scope, expiry, bad in (("../x", expires, token), (SCOPE, "soon", token), (SCOPE, expires, "0" * 10)):
        assert not token_valid(SECRET, scope, expiry, bad)
    assert not token_valid("", SCOPE, expires, callback_token("", SCOPE, expires))


def test_the_callback_url_names_neither_dag_nor_run_nor_secret():
    url = callback_url("https://airflow.example.com/lemlist/webhooks/", secret=SECRET, scope=SCOPE,
                       expires=1_900_000_000, conn_id="lemlist_eu")  # fmt: skip
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    assert parts.path == "/lemlist/webhooks/enrichment"
    assert set(query) == {"scope", "expires", "token", "conn_id"} and query["scope"] == SCOPE
    assert token_valid(SECRET, query["scope"], query["expires"], query["token"], now=0)
    assert SECRET not in url and "lemlist_enrichment" not in url and "manual" not in url


def test_what_a_callback_is_about():
    assert enrichment_id_of({"enrichmentId": "enr_1", "id": "enr_2"}) == "enr_1"
    assert enrichment_id_of({"id": "enr_2"}) == "enr_2"
    assert enrichment_id_of({"id": "../../etc"}) is None and enrichment_id_of({}) is None
    assert callback_type({"type": "enrichmentError"}) == "enrichmentError"
    assert callback_type({"enrichmentStatus": "failed"}) == "enrichmentError"
    assert callback_type({"status": "completed"}) == callback_type({}) == "enrichmentDone"
    assert callback_type({"type": "emailsOpened", "enrichmentStatus": "done"}) == "enrichmentDone"


def test_notes_keep_the_newest_ids_within_the_cap():
    notes = merge_notes(None, {f"enr_{n}": "enrichmentDone" for n in range(MAX_NOTED)})
    notes = merge_notes(notes, {"enr_new": "enrichmentError"})
    assert len(notes["ids"]) == MAX_NOTED and notes["ids"]["enr_new"] == "enrichmentError"
    assert "enr_0" not in notes["ids"] and "enr_1" in notes["ids"]


# -- through the receiver app, on the metadata database ----------------------------------------------------
def _callback(client, secret: str, body: dict, *, scope: str = SCOPE, expires: int | None = None, **extra):
    expires = expires or int(time.time()) + 60
    params = {"scope": scope, "expires": expires, "token": callback_token(secret, scope, expires), **extra}
    return client.post("/webhooks/enrichment", params=params, content=json.dumps(body))


def _enrichment_body(status: str = "done") -> dict:
    enrichment_id = f"enr_{uuid.uuid4().hex[:17]}"
    return {"_id": f"act_{uuid.uuid4().hex[:17]}", "id": enrichment_id, "enrichmentId": enrichment_id,
            "enrichmentStatus": status, "createdAt": "2026-11-29T10:00:00.000Z", "teamId": "tea_pytest",
            "data": {"find_email": {"email": "ada@example.com"}}}  # fmt: skip


def _notes(backend, scope: str = SCOPE) -> dict:
    from airflow._shared.state import AssetScope
    from airflow.models.asset import AssetModel
    from airflow.state import get_state_backend

    with backend.store.session_factory() as session:
        asset_id = session.scalar(
            select(AssetModel.id).where(AssetModel.uri == "lemlist://events/enrichment")
        )
        value = get_state_backend().get(AssetScope(asset_id=asset_id), note_key(scope), session=session)
    return json.loads(value)["ids"] if value else {}


def test_a_callback_is_stored_as_an_enrichment_event_and_noted_for_its_run(client, backend, webhook_secret):
    scope = run_scope("dag", uuid.uuid4().hex)
    before = backend.last_asset_event_id()
    done, failed = _enrichment_body(), _enrichment_body("failed")

    answers = [_callback(client, webhook_secret, body, scope=scope) for body in (done, failed)]

    assert [a.status_code for a in answers] == [200, 200], answers[0].text
    events = backend.asset_events("lemlist://events/enrichment", after_id=before)
    assert sorted(e.extra["type"] for e in events) == ["enrichmentDone", "enrichmentError"]
    assert {e.extra["payload"]["enrichmentId"] for e in events} == {done["id"], failed["id"]}
    assert _notes(backend, scope) == {done["id"]: "enrichmentDone", failed["id"]: "enrichmentError"}


def test_a_callback_after_the_same_event_from_a_hook_is_a_duplicate_but_still_noted(
    client, backend, webhook_secret
):
    scope = run_scope("dag", uuid.uuid4().hex)
    body = {**_enrichment_body(), "type": "enrichmentDone"}
    before = backend.last_asset_event_id()

    from_hook = client.post("/webhooks", json={**body, "secret": webhook_secret})
    from_callback = _callback(client, webhook_secret, body, scope=scope)

    assert from_hook.json()["detail"] == "stored" and from_callback.json()["detail"] == "duplicate"
    assert len(backend.asset_events("lemlist://events/enrichment", after_id=before)) == 1
    assert _notes(backend, scope) == {body["id"]: "enrichmentDone"}


@pytest.mark.parametrize(
    "case",
    ["wrong secret", "expired", "other scope", "no token"],
)
def test_an_unproven_callback_is_401_and_leaves_nothing(client, backend, webhook_secret, case):
    scope = run_scope("dag", uuid.uuid4().hex)
    before = backend.last_asset_event_id()
    body = _enrichment_body()
    expires = int(time.time()) + 60
    params = {"scope": scope, "expires": expires, "token": callback_token(webhook_secret, scope, expires)}
    if case == "wrong secret":
        params["token"] = callback_token("not-the-secret-at-all", scope, expires)
    elif case == "expired":
        params.update(expires=expires - 120, token=callback_token(webhook_secret, scope, expires - 120))
    elif case == "other scope":
        params["scope"] = run_scope("dag", "another run")
    else:
        params.pop("token")

    answer = client.post("/webhooks/enrichment", params=params, json=body)

    assert answer.status_code == 401 and answer.json() == {"detail": "not authorised"}
    assert backend.asset_events("lemlist://events/enrichment", after_id=before) == []
    assert _notes(backend, scope) == {} and _notes(backend, params["scope"]) == {}


def test_a_proven_callback_that_names_no_enrichment_is_400(client, backend, webhook_secret):
    before = backend.last_asset_event_id()
    body = _enrichment_body()
    del body["id"], body["enrichmentId"]
    answer = _callback(client, webhook_secret, body)
    assert answer.status_code == 400 and "names no enrichment" in answer.json()["detail"]
    assert backend.asset_events("lemlist://events/enrichment", after_id=before) == []


def test_notes_older_than_their_urls_are_pruned(client, backend, webhook_secret):
    from datetime import UTC, datetime, timedelta

    scope = run_scope("dag", uuid.uuid4().hex)
    body = _enrichment_body()
    assert _callback(client, webhook_secret, body, scope=scope).status_code == 200

    backend.store.prune_notes(datetime.now(UTC) - timedelta(hours=1))
    assert _notes(backend, scope) == {body["id"]: "enrichmentDone"}  # written just now: kept
    assert backend.store.prune_notes(datetime.now(UTC) + timedelta(seconds=1)) >= 1
    assert _notes(backend, scope) == {}


def test_ids_a_callback_named_are_polled_first_once():
    from lemlist_provider.enrichment.wait import EnrichmentWait

    state = EnrichmentWait([f"enr_{n}" for n in range(10)], wave=2, floor=0)
    state.prefer(["enr_7", "enr_unknown", "enr_3"])

    assert state.awaiting_callback() == {f"enr_{n}" for n in range(10)} - {"enr_7", "enr_3"}
    state.begin_round()
    assert state.next_wave() == ["enr_7", "enr_3"]  # the callback's ids first, in its order
    state.record({"enr_7": "done", "enr_3": "pending"})
    assert state.next_wave() == ["enr_0", "enr_1"]
    state.record({"enr_0": "pending", "enr_1": "pending"})  # an all-pending wave ends the round
    assert state.next_wave() == [] and state.done == ["enr_7"]
    assert "enr_3" not in state.awaiting_callback()  # named once: no second early wake for it
