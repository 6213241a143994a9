"""The export trigger, sensor and operator pieces against a real sandbox (no Airflow run needed)."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from airflow.sdk.exceptions import AirflowFailException

from lemlist_provider.exports import ExportSizeMismatch, stream_to
from lemlist_provider.operators.exports import LemlistCampaignExportOperator
from lemlist_provider.sensors.exports import LemlistExportSensor
from lemlist_provider.triggers.exports import LemlistExportStatusTrigger
from lemlist_sandbox import connection_json as lemlist_conn_uri
from lemlist_sandbox.seed import add_campaign, add_lead


def _export(sandbox, monkeypatch):
    key = f"trig-{uuid.uuid4().hex[:10]}"
    sandbox.create_team(key, seed="empty")
    team = sandbox.team(key)
    campaign = add_campaign(sandbox.sandbox.world, team, "Trigger test", "running")
    add_lead(sandbox.sandbox.world, team, campaign, "t@x.io")
    monkeypatch.setenv("AIRFLOW_CONN_LEMLIST_DEFAULT", lemlist_conn_uri(sandbox.base_url, key))
    from lemlist_provider.hooks.lemlist import LemlistHook

    export = LemlistHook().start_export(campaign["_id"])
    return key, campaign["_id"], export.get("id") or export["_id"]


def _run(trigger: LemlistExportStatusTrigger) -> dict:
    async def first():
        async for event in trigger.run():
            return event.payload

    return asyncio.run(first())


def _trigger(cid, eid, **kw):
    return LemlistExportStatusTrigger(cid, eid, deadline=time.time() + kw.pop("within", 10), first_poll=0.05,
                                      poll_min=0.1, poll_max=0.15, **kw)  # fmt: skip


def test_serialize_round_trips_json_native_kwargs():
    trigger = _trigger("cam_1", "axp_1", attempt=1)
    path, kwargs = trigger.serialize()
    assert path == "lemlist_provider.triggers.exports.LemlistExportStatusTrigger"
    assert LemlistExportStatusTrigger(**kwargs).serialize() == (path, kwargs)


def test_done_event_carries_url_and_size(sandbox, monkeypatch):
    _, cid, eid = _export(sandbox, monkeypatch)
    event = _run(_trigger(cid, eid))
    assert (
        event["status"] == "done"
        and event["export"]["fileSize"] > 0
        and event["export"]["url"].startswith("http")
    )
    assert event["rate_limited"] == 0 and event["polls"] >= 1


def test_error_event_has_lemlists_reason_and_the_operator_fails_with_it(sandbox, monkeypatch):
    key, cid, eid = _export(sandbox, monkeypatch)
    sandbox.fail_export(key, eid, "Too many leads to export")
    event = _run(_trigger(cid, eid))
    assert event["status"] == "error" and "Too many leads to export" in event["message"]
    op = LemlistCampaignExportOperator(task_id="x", campaign=cid)
    with pytest.raises(AirflowFailException, match="Too many leads to export"):
        op.execute_complete({}, event)
    sensor = LemlistExportSensor(task_id="s", campaign_id=cid, export_id=eid)
    with pytest.raises(AirflowFailException, match="Too many leads to export"):
        sensor.poke({})


def test_expired_status_is_not_found_and_fails_clearly_after_the_restart(sandbox, monkeypatch):
    key, cid, eid = _export(sandbox, monkeypatch)
    sandbox.expire_export(key, eid)
    event = _run(_trigger(cid, eid, attempt=1))
    assert event["status"] == "not_found"
    op = LemlistCampaignExportOperator(task_id="x", campaign=cid, max_restarts=1)
    with pytest.raises(AirflowFailException, match="after 1 restart"):
        op.execute_complete({}, event)


def test_deadline_gives_a_timeout_event(sandbox, monkeypatch):
    _, cid, eid = _export(sandbox, monkeypatch)
    sandbox.set_faults(export_delay=3000)  # 30 s at the session's time scale
    try:
        _, cid2, eid2 = _export(sandbox, monkeypatch)
        event = _run(_trigger(cid2, eid2, within=0.5))
    finally:
        sandbox.set_faults(export_delay=30)
    assert event["status"] == "timeout" and event["polls"] >= 2


def test_unexpected_events_fail_closed():
    op = LemlistCampaignExportOperator(task_id="x", campaign="cam_1")
    for event in (None, {}, {"status": "weird"}):
        with pytest.raises(Exception, match="unexpected event"):
            op.execute_complete({}, event)


def test_size_mismatch_removes_the_partial_file(tmp_path):
    target = tmp_path / "out" / "file.csv"
    with pytest.raises(ExportSizeMismatch):
        stream_to(target, lambda w: w.write(b"a,b\n1,2\n"), expected_size=999)
    assert not target.exists() and not list((tmp_path / "out").iterdir())
    assert stream_to(target, lambda w: w.write(b"a,b\n1,2\n3,4"), expected_size=11) == {
        "bytes": 11,
        "rows": 2,
    }
