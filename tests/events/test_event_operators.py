"""The event DAGs' operators on real Asset events (Airflow's own ``TriggeringAssetEventsAccessor`` holding what
the receiver stores): the suppression list and the hand-off table hold exactly the expected rows, and a second
delivery of the same events changes nothing."""

from __future__ import annotations

import csv
import itertools
import json
import sqlite3
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from airflow.sdk.execution_time.comms import AssetEventDagRunReferenceResult
from airflow.sdk.execution_time.context import TriggeringAssetEventsAccessor
from events_support import activity

from lemlist_provider.events.handoff import COLUMNS, event_row, merge
from lemlist_provider.events.payload import to_event
from lemlist_provider.events.store import asset_extra
from lemlist_provider.events.unsubscribes import suppressions
from lemlist_provider.operators.events import LemlistReplyHandoffOperator, LemlistUnsubscribeEventsOperator

SECRET = "operator-test-secret-1234"
START = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)


def stored(body: dict, offset: int = 0) -> AssetEventDagRunReferenceResult:
    """What a DAG run receives for one event the receiver stored."""
    event = to_event({**body, "secret": SECRET}, SECRET)
    return AssetEventDagRunReferenceResult(
        asset={"name": event.family.uri, "uri": event.family.uri, "extra": {}},
        extra=asset_extra(event, conn_id="lemlist_default"),
        source_task_id=None, source_dag_id=None, source_run_id=None, source_map_index=None, source_aliases=[],
        timestamp=START + timedelta(seconds=offset),
    )  # fmt: skip


def context(*events: AssetEventDagRunReferenceResult) -> dict:
    return {"triggering_asset_events": TriggeringAssetEventsAccessor.build(list(events))}


def csv_rows(path) -> list[tuple[str, str]]:
    with open(path, newline="") as handle:
        return [(row["value"], row["source"]) for row in csv.DictReader(handle)]


# -- unsubscribes -----------------------------------------------------------------------------------------
def test_unsubscribes_and_hard_bounces_join_the_list_once(storage_roots):
    listed = storage_roots / "suppression_list.csv"
    listed.write_text("value,source,created_at\nalready@example.com,user,2026-01-01\n")
    events = [
        stored(activity("emailsUnsubscribed", email="Ada@Example.COM")),
        stored(activity("emailsUnsubscribed", email="ada@example.com"), 1),  # the same person again
        stored(activity("emailsUnsubscribed", email="already@example.com"), 2),
        stored(activity("emailsBounced", email="bad@example.com", bounceType="hard"), 3),
        stored(activity("emailsBounced", email="full@example.com", bounceType="soft"), 4),
        stored(activity("emailsUnsubscribed", email=None), 5),
    ]
    op = LemlistUnsubscribeEventsOperator(task_id="suppress", csv_path=str(listed))

    first = op.execute(context(*events))
    after_first = listed.read_bytes()
    second = op.execute(context(*events))

    assert csv_rows(listed) == [
        ("already@example.com", "user"),
        ("ada@example.com", "lemlist:lead"),
        ("bad@example.com", "lemlist:bounced"),
    ]
    assert listed.read_bytes() == after_first  # a second delivery adds nothing
    assert first == {**first, "events": 6, "added": 2, "already_listed": 1, "repeated": 1, "skipped": 2}
    assert second["added"] == 0 and second["already_listed"] == 3
    assert "ada@example.com" not in json.dumps(first)  # counts only in XCom


def test_bounces_can_be_left_to_the_sync(storage_roots, monkeypatch):
    monkeypatch.setenv("AIRFLOW__LEMLIST__EVENTS_SUPPRESS_BOUNCES", "false")
    listed = storage_roots / "list.csv"
    op = LemlistUnsubscribeEventsOperator(task_id="suppress", csv_path=str(listed))
    result = op.execute(context(stored(activity("emailsBounced", email="bad@example.com"))))
    assert result["added"] == 0 and result["skipped"] == 1 and not listed.exists()


def test_the_sql_store_of_the_sync_works_the_same(storage_roots, monkeypatch):
    db = storage_roots / "suppression.db"
    monkeypatch.setenv("AIRFLOW_CONN_SUPPRESSION_DB", json.dumps({"conn_type": "sqlite", "host": str(db)}))
    op = LemlistUnsubscribeEventsOperator(task_id="suppress", store="sql", sql_conn_id="suppression_db",
                                          table="lemlist_suppression")  # fmt: skip
    events = [stored(activity("emailsUnsubscribed", email=f"p{n}@example.com"), n) for n in range(3)]

    op.execute(context(*events))
    op.execute(context(*events))  # the table's primary key would refuse a second insert

    with sqlite3.connect(db) as conn:
        assert sorted(conn.execute("SELECT value, source FROM lemlist_suppression")) == [
            (f"p{n}@example.com", "lemlist:lead") for n in range(3)
        ]


def test_what_gives_no_entry_says_why():
    found = suppressions(
        [
            {
                "family": "replied",
                "payload": {"email": "a@example.com"},
                "dedupe_key": "k1",
                "type": "emailsReplied",
            },
            {"family": "unsubscribed", "payload": {"email": "@example.com"}, "dedupe_key": "k2", "type": "x"},
            {
                "family": "unsubscribed",
                "payload": {"email": "not an email@"},
                "dedupe_key": "k3",
                "type": "x",
            },
            {"family": "unsubscribed", "payload": "not a mapping", "dedupe_key": "k4", "type": "x"},
        ]
    )
    assert found.entries == []
    assert [s["dedupe_key"] for s in found.skipped] == ["k1", "k2", "k3", "k4"]
    assert all(s["reason"] for s in found.skipped)


# -- reply hand-off ---------------------------------------------------------------------------------------
def handoff_rows(path) -> dict[str, dict]:
    with sqlite3.connect(path) as conn:
        return {row[0]: dict(zip(COLUMNS, row, strict=True)) for row in conn.execute(
            f"SELECT {', '.join(COLUMNS)} FROM lemlist_reply_handoff")}  # fmt: skip


def test_replies_and_interest_become_one_row_per_lead_and_notify_once(storage_roots):
    heard: list[list[dict]] = []
    lead_a, lead_b = f"lea_{uuid.uuid4().hex[:17]}", f"lea_{uuid.uuid4().hex[:17]}"
    reply_a = activity(
        "emailsReplied", leadId=lead_a, email="Ada@Example.com", createdAt="2026-11-29T10:00:00.000Z"
    )
    events = [
        stored(reply_a),
        stored(activity("linkedinInterested", leadId=lead_a, email="ada@example.com",
                        createdAt="2026-11-29T11:00:00.000Z"), 1),
        stored(activity("emailsReplied", leadId=lead_b, email="bob@example.com", firstName="Bob",
                        createdAt="2026-11-29T10:30:00.000Z"), 2),
        stored(reply_a, 3),  # the same reply delivered again
        stored(activity("emailsReplied", leadId=None, email=None), 4),  # names no lead
    ]  # fmt: skip
    op = LemlistReplyHandoffOperator(
        task_id="handoff", notifier=lambda ctx: heard.append(ctx["lemlist_handoff_leads"])
    )

    first = op.execute(context(*events))
    table = storage_roots / "lemlist_reply_handoff.sqlite"
    rows = handoff_rows(table)
    second = op.execute(context(*events))

    assert handoff_rows(table) == rows and set(rows) == {lead_a, lead_b}
    a, b = rows[lead_a], rows[lead_b]
    assert (a["status"], a["replied_at"], a["interested_at"]) == (
        "interested", "2026-11-29T10:00:00.000Z", "2026-11-29T11:00:00.000Z",
    )  # fmt: skip
    assert a["email"] == "ada@example.com" and a["last_event_type"] == "linkedinInterested"
    assert (b["status"], b["first_name"], b["interested_at"]) == ("replied", "Bob", None)
    assert first == {**first, "events": 5, "leads_changed": 2, "notified": 2, "skipped": 1}
    assert second == {**second, "leads_changed": 0, "notified": 0}
    assert [sorted(lead["lead_key"] for lead in leads) for leads in heard] == [sorted([lead_a, lead_b])]


def test_a_lead_that_becomes_interested_later_is_news_again(storage_roots):
    heard: list[list[dict]] = []
    lead = f"lea_{uuid.uuid4().hex[:17]}"
    op = LemlistReplyHandoffOperator(
        task_id="handoff", notifier=lambda ctx: heard.append(ctx["lemlist_handoff_leads"])
    )
    op.execute(context(stored(activity("emailsReplied", leadId=lead))))
    op.execute(context(stored(activity("emailsInterested", leadId=lead))))
    assert [[row["status"] for row in leads] for leads in heard] == [["replied"], ["interested"]]


def test_a_failing_notifier_does_not_undo_the_rows(storage_roots):
    def broken(_context):
        raise RuntimeError("slack is down")

    lead = f"lea_{uuid.uuid4().hex[:17]}"
    result = LemlistReplyHandoffOperator(task_id="handoff", notifier=broken).execute(
        context(stored(activity("emailsReplied", leadId=lead)))
    )
    assert result["leads_changed"] == 1
    assert lead in handoff_rows(storage_roots / "lemlist_reply_handoff.sqlite")


def test_merging_is_the_same_in_any_order_and_idempotent():
    extras = [
        asset_extra(to_event(activity(t, leadId="lea_x", email="x@example.com", createdAt=at), ""), conn_id="c")
        for t, at in (("emailsReplied", "2026-11-29T10:00:00.000Z"), ("emailsInterested", "2026-11-29T12:00:00.000Z"),
                      ("linkedinReplied", "2026-11-29T09:00:00.000Z"))
    ]  # fmt: skip
    results = set()
    for order in itertools.permutations(extras):
        row = None
        for extra in [*order, *order]:  # every event twice
            row = merge(row, event_row(extra))
        results.add(json.dumps(row, sort_keys=True))
    [only] = results
    row = json.loads(only)
    assert (row["replied_at"], row["interested_at"], row["status"]) == (
        "2026-11-29T09:00:00.000Z", "2026-11-29T12:00:00.000Z", "interested",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ({"table": "leads; DROP TABLE x"}, "not a valid SQL name"),
        ({"table": "crm_contacts"}, "not an allowed table"),
        ({"sql_conn_id": "someone_elses_db"}, "not an allowed SQL connection"),
    ],
)
def test_a_table_or_connection_off_the_allow_lists_fails_without_retry(storage_roots, target, message):
    from airflow.sdk.exceptions import AirflowFailException

    event = stored(activity("emailsReplied", leadId=f"lea_{uuid.uuid4().hex[:17]}"))
    with pytest.raises(AirflowFailException, match=message):
        LemlistReplyHandoffOperator(task_id="h", **target).execute(context(event))
    assert not (storage_roots / "lemlist_reply_handoff.sqlite").exists()
