"""``LemlistEnrichmentTrigger`` run directly in asyncio against a real sandbox over HTTP."""

from __future__ import annotations

import asyncio
import json
import time
import uuid

import pytest

from lemlist_provider.hooks.lemlist import LemlistHook
from lemlist_provider.hooks.ratelimit import reset_limiters
from lemlist_provider.triggers.enrichment import LemlistEnrichmentTrigger
from lemlist_sandbox import SandboxServer
from lemlist_sandbox import connection_json as lemlist_conn_uri

# A bigger budget than lemlist's 20 / 2 s, in the sandbox AND in the connection, so 1,000 polls take ~10 s
RATE, WINDOW = 100, 1.0


@pytest.fixture(scope="module")
def fast_sandbox():
    with SandboxServer(time_scale=0.01, rate_limit=RATE, rate_window=WINDOW) as server:
        yield server


def _connect(monkeypatch, server: SandboxServer, credits: int = 100_000, **extra) -> str:
    key = f"trigger-{uuid.uuid4().hex[:10]}"
    server.create_team(key, credits=credits)
    conn = lemlist_conn_uri(server.base_url, key, rate_limit=RATE, rate_window=WINDOW, **extra)
    monkeypatch.setenv("AIRFLOW_CONN_LEMLIST_DEFAULT", conn)
    reset_limiters()
    return key


def _start(count: int, *, fail_every: int = 0) -> list[str]:
    hook = LemlistHook()
    ids = []
    for start in range(0, count, 500):
        items = []
        for n in range(start, min(count, start + 500)):
            email = f"p{n}@enrich-fail.io" if fail_every and n % fail_every == 0 else f"p{n}@acme.io"
            items.append({"input": {"email": email}, "enrichmentRequests": ["verify"]})
        ids += [a["id"] for a in hook.enrich_bulk(items)]
    return ids


async def _collect(trigger: LemlistEnrichmentTrigger) -> list:
    return [event async for event in trigger.run()]


def test_serialize_round_trips():
    trigger = LemlistEnrichmentTrigger(
        ["enr_a", "enr_b"], deadline=1234.5, lemlist_conn_id="x", first_poll=0.5, wave=3
    )
    path, kwargs = trigger.serialize()
    assert path == "lemlist_provider.triggers.enrichment.LemlistEnrichmentTrigger"
    assert json.loads(json.dumps(kwargs)) == kwargs  # JSON-native
    module, _, name = path.rpartition(".")
    clone = getattr(__import__(module, fromlist=[name]), name)(**kwargs)
    assert clone.serialize() == (path, kwargs)


def test_thousand_pending_ids_no_429_one_event(fast_sandbox, monkeypatch):
    _connect(monkeypatch, fast_sandbox)
    ids = _start(1000, fail_every=50)
    before = fast_sandbox.stats()
    # the expected delay is 0.2 s here (20 s x 0.01): poll first a bit before it, so some rounds meet 202s
    trigger = LemlistEnrichmentTrigger(
        ids, deadline=time.time() + 50, first_poll=0.1, backoff=1.5, max_interval=0.5
    )
    started = time.monotonic()
    events = asyncio.run(_collect(trigger))
    elapsed = time.monotonic() - started
    after = fast_sandbox.stats()
    assert len(events) == 1
    payload = events[0].payload
    assert payload["status"] == "success", payload["message"]
    assert len(payload["done"]) == 980 and len(payload["failed"]) == 20 and payload["pending"] == []
    assert set(payload["done"]) | set(payload["failed"]) == set(ids)
    assert after["rate_limited_429"] == before["rate_limited_429"]
    polls = after["by_route"]["GET /api/enrich/{enrichId}"] - before["by_route"].get(
        "GET /api/enrich/{enrichId}", 0
    )
    assert 1000 <= polls <= 1000 + 5 * trigger.wave, polls  # each id read once when done, plus a few 202s
    assert payload["requests"] == polls and payload["rate_limited"] == 0
    assert elapsed < 40


def test_deadline_yields_timeout_with_pending_ids(fast_sandbox, monkeypatch):
    _connect(monkeypatch, fast_sandbox)
    fast_sandbox.set_faults(enrichment_delay=10_000)  # 100 s at time_scale 0.01: never within the test
    try:
        ids = _start(30)
        trigger = LemlistEnrichmentTrigger(ids, deadline=time.time() + 1.0, first_poll=0.2, max_interval=0.3)
        events = asyncio.run(_collect(trigger))
    finally:
        fast_sandbox.set_faults(enrichment_delay=20)
    assert len(events) == 1
    payload = events[0].payload
    assert payload["status"] == "timeout"
    assert sorted(payload["pending"]) == sorted(ids)
    assert "30 of 30" in payload["message"] and "(+10 more; 30 in all)" in payload["message"]
    # rounds stop after one all-pending wave: a few requests per round, not 30
    assert payload["requests"] <= payload["rounds"] * trigger.wave


def test_unknown_id_is_failed_not_fatal(fast_sandbox, monkeypatch):
    _connect(monkeypatch, fast_sandbox)
    ids = _start(3)
    trigger = LemlistEnrichmentTrigger([*ids, "enr_doesnotexist"], deadline=time.time() + 20, first_poll=0.3)
    events = asyncio.run(_collect(trigger))
    assert len(events) == 1 and events[0].payload["status"] == "success"
    assert events[0].payload["failed"] == ["enr_doesnotexist"]


def test_bad_key_ends_in_one_error_event(fast_sandbox, monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_LEMLIST_DEFAULT", lemlist_conn_uri(fast_sandbox.base_url, "wrong-key-123456")
    )
    reset_limiters()
    trigger = LemlistEnrichmentTrigger(["enr_x"], deadline=time.time() + 20, first_poll=0.05)
    events = asyncio.run(_collect(trigger))
    assert len(events) == 1 and events[0].payload["status"] == "error"
    assert "wrong-key-123456" not in events[0].payload["message"]
    assert events[0].payload["pending"] == ["enr_x"]
