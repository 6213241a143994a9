"""``LemlistEnrichmentSensor``: deferrable (trigger run in asyncio), poke and reschedule, fail-closed events."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from airflow.sdk.exceptions import (
    AirflowException,
    AirflowRescheduleException,
    AirflowSensorTimeout,
    TaskDeferred,
)

from lemlist_provider.hooks.lemlist import LemlistHook
from lemlist_provider.hooks.ratelimit import reset_limiters
from lemlist_provider.sensors.enrichment import LemlistEnrichmentSensor
from lemlist_sandbox import SandboxServer, connection_json

POLL_ROUTE = "GET /api/enrich/{enrichId}"


@pytest.fixture(scope="module")
def server():
    with SandboxServer(time_scale=0.01, rate_limit=0) as sb:
        yield sb


def _start(monkeypatch, server, count: int) -> list[str]:
    key = f"sensor-{uuid.uuid4().hex[:10]}"
    server.create_team(key, credits=1000)
    monkeypatch.setenv("AIRFLOW_CONN_LEMLIST_DEFAULT", connection_json(server.base_url, key, rate_limit=0))
    reset_limiters()
    items = [{"input": {"email": f"s{n}@acme.io"}, "enrichmentRequests": ["verify"]} for n in range(count)]
    return [a["id"] for a in LemlistHook().enrich_bulk(items)]


def _sensor(**kwargs) -> LemlistEnrichmentSensor:
    kwargs.setdefault("task_id", f"wait_{uuid.uuid4().hex[:6]}")
    return LemlistEnrichmentSensor(**kwargs)


def test_deferrable_follows_the_airflow_default():
    from airflow.sdk.configuration import conf

    default = conf.getboolean("operators", "default_deferrable", fallback=False)
    assert _sensor(enrichment_ids=["enr_x"]).deferrable is default


def test_deferred_wait_completes(server, monkeypatch):
    ids = _start(monkeypatch, server, 6)
    sensor = _sensor(enrichment_ids={"enrichment_ids": ids}, deferrable=True, first_poll=0.3, timeout=30)
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute({})
    trigger = deferred.value.trigger
    assert deferred.value.method_name == "execute_complete" and trigger.enrichment_ids == ids

    async def first_event():
        async for event in trigger.run():
            return event.payload

    result = sensor.execute_complete({}, asyncio.run(first_event()))
    assert sorted(result["done"]) == sorted(ids) and result["pending"] == []


@pytest.mark.parametrize(
    "event",
    [None, {}, {"status": "weird", "done": [], "failed": [], "pending": []}, {"status": "success", "done": []},
     {"status": "success", "done": [], "failed": [], "pending": ["enr_x"]}],
)  # fmt: skip
def test_execute_complete_fails_closed(event):
    with pytest.raises(AirflowException):
        _sensor(enrichment_ids=["enr_x"]).execute_complete({}, event)


def test_timeout_event_lists_pending_ids():
    pending = [f"enr_{n:03d}" for n in range(50)]
    event = {"status": "timeout", "done": ["enr_ok"], "failed": [], "pending": pending, "message": "deadline"}
    with pytest.raises(AirflowSensorTimeout) as caught:
        _sensor(enrichment_ids=pending, timeout=60).execute_complete({}, event)
    message = str(caught.value)
    assert "50 of 51 still pending" in message and "enr_000" in message and "(+30 more; 50 in all)" in message


def test_poke_mode_completes_and_times_out_with_ids(server, monkeypatch):
    ids = _start(monkeypatch, server, 4)
    done = _sensor(enrichment_ids=ids, deferrable=False, mode="poke", poke_interval=0.2, timeout=20).execute(
        {}
    )
    assert sorted(done["done"]) == sorted(ids)
    server.set_faults(enrichment_delay=10_000)
    try:
        slow = _start(monkeypatch, server, 3)
        with pytest.raises(AirflowSensorTimeout) as caught:
            _sensor(enrichment_ids=slow, deferrable=False, mode="poke", poke_interval=0.2, timeout=1).execute(
                {}
            )
    finally:
        server.set_faults(enrichment_delay=20)
    assert "3 of 3 still pending" in str(caught.value) and all(i in str(caught.value) for i in slow)


class _FirstTry:
    """The one TaskInstance method reschedule mode needs outside a task runner: no earlier reschedule."""

    def get_first_reschedule_date(self, context):
        return None


def test_reschedule_mode_frees_the_slot_then_completes(server, monkeypatch):
    server.set_faults(enrichment_delay=10_000)
    try:
        slow = _start(monkeypatch, server, 2)
        with pytest.raises(AirflowRescheduleException):
            _sensor(enrichment_ids=slow, deferrable=False, mode="reschedule", poke_interval=1).execute(
                {"ti": _FirstTry()}
            )
    finally:
        server.set_faults(enrichment_delay=20)
    ids = _start(monkeypatch, server, 2)
    import time

    time.sleep(0.4)
    result = _sensor(enrichment_ids=ids, deferrable=False, mode="reschedule", poke_interval=1).execute(
        {"ti": _FirstTry()}
    )
    assert sorted(result["done"]) == sorted(ids)


def test_poke_mode_polls_no_faster_than_the_floor(server, monkeypatch):
    """Issue 11: ``poke_interval=0.01`` still pokes at most once per ``[lemlist] min_poll_seconds``."""
    monkeypatch.setenv("AIRFLOW__LEMLIST__MIN_POLL_SECONDS", "1")
    server.set_faults(enrichment_delay=10_000)
    try:
        slow = _start(monkeypatch, server, 1)
        before = server.stats()["by_route"].get(POLL_ROUTE, 0)
        with pytest.raises(AirflowSensorTimeout):
            _sensor(
                enrichment_ids=slow, deferrable=False, mode="poke", poke_interval=0.01, timeout=3
            ).execute({})
    finally:
        server.set_faults(enrichment_delay=20)
    polls = server.stats()["by_route"].get(POLL_ROUTE, 0) - before
    assert 2 <= polls <= 4, polls  # one id, one request per poke, a poke per second for 3 s
