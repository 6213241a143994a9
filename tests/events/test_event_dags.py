"""End to end on real Airflow (api-server, scheduler, dag-processor, triggerer; LocalExecutor, SQLite) with the
sandbox sending webhooks like lemlist: hooks registered by ``lemlist_webhooks_setup``, events stored once
whatever lemlist's retries and duplicates, each consumed by exactly one run of the DAG scheduled on its
family, the suppression list and the hand-off table holding exactly the expected rows; a wrong secret stores
nothing; enrichment callbacks end the deferred wait early; a receiver down for 30 s loses nothing.

One deployment for the module (starting Airflow costs a minute); the receiver-down test runs last because it
restarts the API server.
"""

from __future__ import annotations

import csv
import json
import sqlite3
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest
import requests

from lemlist_dev.deployment import LemlistTarget, LocalAirflow
from lemlist_dev.processes import stop_all
from lemlist_sandbox import DEMO_KEY, SandboxServer

pytestmark = [pytest.mark.integration, pytest.mark.timeout(1500)]

SETUP, SUPPRESS, HANDOFF = "lemlist_webhooks_setup", "lemlist_unsubscribe_events", "lemlist_reply_handoff"
ENRICH = "lemlist_enrichment"
FAMILIES_OF = {SUPPRESS: ("unsubscribed", "bounced"), HANDOFF: ("replied", "interested")}
CAMPAIGN = "cam_e2eEvents000001"


class World:
    """The deployment, its sandbox and where its outputs land."""

    def __init__(self, airflow: LocalAirflow, sandbox: SandboxServer, out: Path) -> None:
        self.airflow, self.sandbox, self.out = airflow, sandbox, out

    def db(self, sql: str, *args) -> list[tuple]:
        with sqlite3.connect(self.airflow.home / "airflow.db", timeout=30) as conn:
            return conn.execute(sql, args).fetchall()

    def asset_events(self, family: str) -> dict[int, dict]:
        """Asset events of a family: id -> extra (the payload the DAGs read)."""
        rows = self.db(
            "SELECT e.id, e.extra FROM asset_event e JOIN asset a ON a.id = e.asset_id WHERE a.uri = ?",
            f"lemlist://events/{family}",
        )
        return {event_id: json.loads(extra) for event_id, extra in rows}

    def ledger(self) -> Counter:
        """Ledger rows per family (the receiver creates its table with the first event)."""
        if not self.db("SELECT name FROM sqlite_master WHERE name = 'lemlist_webhook_event'"):
            return Counter()
        return Counter(dict(self.db("SELECT family, COUNT(*) FROM lemlist_webhook_event GROUP BY family")))

    def consumed(self, dag_id: str) -> tuple[list[int], list[str]]:
        """Asset events consumed by the DAG's finished runs (one entry per consumption) and all runs' states.

        Only finished runs are asked: Airflow 3.3 answers 500 for the upstream events of a run whose events
        list a run not started yet (its response model requires ``start_date``)."""
        client = self.airflow.client
        runs = [r for r in client.list_runs(dag_id) if r.get("run_type") == "asset_triggered"]
        events: list[int] = []
        for run in runs:
            if run["state"] not in ("success", "failed"):
                continue
            upstream = client.get(f"/dags/{dag_id}/dagRuns/{run['dag_run_id']}/upstreamAssetEvents")
            events += [event["id"] for event in upstream["asset_events"]]
        return events, [r["state"] for r in runs]

    def all_consumed(self, dag_id: str) -> bool:
        wanted = {i for family in FAMILIES_OF[dag_id] for i in self.asset_events(family)}
        events, states = self.consumed(dag_id)
        return wanted <= set(events) and all(state in ("success", "failed") for state in states)

    def suppression_list(self) -> list[tuple[str, str]]:
        path = self.out / "suppression_list.csv"
        if not path.exists():
            return []
        with path.open(newline="") as handle:
            return [(row["value"], row["source"]) for row in csv.DictReader(handle)]

    def handoff(self) -> dict[str, str]:
        path = self.out / "lemlist_reply_handoff.sqlite"
        if not path.exists():
            return {}
        with sqlite3.connect(path) as conn:
            return dict(conn.execute("SELECT lead_key, status FROM lemlist_reply_handoff"))


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    out = tmp_path_factory.mktemp("outputs")
    env = {
        "AIRFLOW__LEMLIST__OUTPUT_ROOTS": f"{out},output",
        "LEMLIST_SUPPRESSION_CSV": str(out / "suppression_list.csv"),
        "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "1",
    }
    with SandboxServer(time_scale=0.05) as sandbox:
        lemlist = LemlistTarget(sandbox.base_url, DEMO_KEY, sandbox)
        with LocalAirflow(tmp_path_factory.mktemp("airflow-home"), lemlist, extra_env=env) as airflow:
            assert airflow.wait_for_dags([SETUP, SUPPRESS, HANDOFF, ENRICH]) == {}
            run_id = airflow.trigger(SETUP)
            assert airflow.wait_for_run(SETUP, run_id, timeout=300)["state"] == "success", airflow.log(
                "scheduler"
            )
            for dag_id in (SUPPRESS, HANDOFF):  # unpaused before any event: each event queues a run
                airflow.client.unpause(dag_id)
            yield World(airflow, sandbox, out)


def emit(sandbox: SandboxServer, event_type: str, email: str, **fields) -> dict:
    [event] = sandbox.emit(event_type, email=email, campaign_id=CAMPAIGN, fields=fields)["events"]
    return event


def test_the_setup_dag_registered_one_hook_with_the_secret_on_the_receiver(world):
    [hook] = world.sandbox.team(DEMO_KEY).hooks.values()
    assert hook["targetUrl"].startswith(f"{world.airflow.ui_url}/lemlist/webhooks?")
    assert hook["secret"] == world.airflow.webhook_secret
    assert {"emailsUnsubscribed", "emailsBounced", "emailsReplied", "emailsInterested"} <= set(hook["types"])
    assert "emailsOpened" not in hook["types"] and "warmed" not in hook["types"]


def test_200_events_with_retries_and_duplicates_end_exactly_once_everywhere(world):
    sandbox, before = world.sandbox, world.ledger()
    sandbox.set_faults(webhook_duplicate_rate=0.2, webhook_lost_answer_rate=0.2)
    emitted = []
    emitted += [emit(sandbox, "emailsUnsubscribed", f"u{n}@example.com") for n in range(50)]
    emitted += [emit(sandbox, "emailsUnsubscribed", f"u{n}@example.com") for n in range(10)]  # again, later
    emitted += [emit(sandbox, "emailsBounced", f"b{n}@example.com", bounceType="hard") for n in range(30)]
    emitted += [emit(sandbox, "emailsBounced", f"s{n}@example.com", bounceType="soft") for n in range(10)]
    emitted += [emit(sandbox, "emailsReplied", f"r{n}@example.com") for n in range(30)]
    emitted += [emit(sandbox, "emailsReplied", f"r{n}@example.com") for n in range(20)]
    emitted += [emit(sandbox, "emailsInterested", f"r{n}@example.com") for n in range(20)]
    emitted += [emit(sandbox, "emailsInterested", f"n{n}@example.com") for n in range(10)]
    emitted += [emit(sandbox, "emailsOpened", f"o{n}@example.com") for n in range(20)]  # no hook wants these
    assert len(emitted) == 200

    delivery = sandbox.wait_for_webhooks(timeout=120)
    sandbox.set_faults(webhook_duplicate_rate=0.0, webhook_lost_answer_rate=0.0)

    # lemlist's side: every delivery ended 2xx, some twice (duplicates) or again after a lost answer.
    assert delivery["gave_up"] == 0 and delivery["duplicates"] > 0 and delivery["lost_answers"] > 0
    assert delivery["retries"] >= delivery["lost_answers"]
    # Airflow's side: one ledger row and one Asset event per emitted event of a subscribed type.
    expected = Counter({"unsubscribed": 60, "bounced": 40, "replied": 50, "interested": 30})
    assert world.ledger() - before == expected
    for family, count in expected.items():
        payload_ids = [extra["payload"]["_id"] for extra in world.asset_events(family).values()]
        assert len(payload_ids) == len(set(payload_ids)) >= count
    ours = {e["_id"] for e in emitted if e["type"] != "emailsOpened"}
    stored = {x["payload"]["_id"] for f in expected for x in world.asset_events(f).values()}
    assert ours <= stored and not {e["_id"] for e in emitted if e["type"] == "emailsOpened"} & stored
    assert world.asset_events("engaged") == {}

    # Each Asset event is consumed by exactly one run of the DAG scheduled on its family; every run succeeds.
    for dag_id in (SUPPRESS, HANDOFF):
        world.airflow.wait_until(
            lambda dag_id=dag_id: world.all_consumed(dag_id), 600, f"{dag_id} consumed all"
        )
        events, states = world.consumed(dag_id)
        wanted = {i for family in FAMILIES_OF[dag_id] for i in world.asset_events(family)}
        assert sorted(events) == sorted(wanted), dag_id  # nothing twice, nothing missing
        assert set(states) == {"success"}, (dag_id, Counter(states))

    # The suppression list: 50 unsubscribed and 30 hard-bounced people, once each; no soft bounce.
    listed = world.suppression_list()
    mine = [(v, s) for v, s in listed if v[0] in "ubs" and v[1:].split("@")[0].isdigit()]
    assert Counter(s for _, s in mine) == {"lemlist:lead": 50, "lemlist:bounced": 30}
    assert len({v for v, _ in mine}) == 80 and not [v for v, _ in mine if v.startswith("s")]
    # The hand-off table: one row per lead, interested where an interest came.
    rows = world.handoff()
    assert {k: v for k, v in rows.items() if k.startswith(CAMPAIGN)} == {
        **{f"{CAMPAIGN}:r{n}@example.com": "interested" for n in range(20)},
        **{f"{CAMPAIGN}:r{n}@example.com": "replied" for n in range(20, 30)},
        **{f"{CAMPAIGN}:n{n}@example.com": "interested" for n in range(10)},
    }


def test_a_hook_with_the_wrong_secret_is_refused_and_nothing_is_stored(world):
    sandbox, before = world.sandbox, world.ledger()
    requests.post(
        f"{sandbox.base_url}/hooks", auth=("", DEMO_KEY), timeout=10,
        json={"targetUrl": f"{world.airflow.ui_url}/lemlist/webhooks", "type": "emailsClicked",
              "secret": "not-the-secret-of-this-deployment"},
    ).raise_for_status()  # fmt: skip
    sandbox.set_faults(time_scale=0.01)
    try:
        events = [emit(sandbox, "emailsClicked", f"c{n}@example.com")["_id"] for n in range(3)]
        delivery = sandbox.wait_for_webhooks(timeout=60)
    finally:
        sandbox.set_faults(time_scale=0.05)

    attempts = [a for a in sandbox.webhooks(attempts=2000)["attempt_log"] if a["event_id"] in events]
    assert len(attempts) == 3 * 6 and {a["status"] for a in attempts} == {"401"}  # retried, then dropped
    assert delivery["gave_up"] >= 3
    assert world.ledger() == before and world.asset_events("engaged") == {}


def test_enrichment_callbacks_end_the_deferred_wait_long_before_its_first_poll(world):
    airflow, sandbox = world.airflow, world.sandbox
    campaign = next(
        c["_id"] for c in sandbox.team(DEMO_KEY).campaigns.values() if c["name"] == "Webinar follow-up"
    )
    enriched_before = world.ledger()["enrichment"]
    sandbox.set_faults(time_scale=0.1)  # results after 2 s
    try:
        run_id = airflow.trigger(ENRICH, {"campaign_id": campaign, "enrichments": ["verify_email"], "force": True,
                                          "first_poll_seconds": 240, "max_poll_interval": 240})  # fmt: skip
        run = airflow.wait_for_run(ENRICH, run_id, timeout=600)
    finally:
        sandbox.set_faults(time_scale=0.05)

    assert run["state"] == "success", airflow.client.task_instances(ENRICH, run_id)
    [wait] = [
        ti for ti in airflow.client.task_instances(ENRICH, run_id) if ti["task_id"] == "wait_for_enrichments"
    ]
    waited = airflow.client.xcom(ENRICH, run_id, "wait_for_enrichments")
    started = airflow.client.xcom(ENRICH, run_id, "request_enrichments")
    ids = started["enrichment_ids"]
    assert ids and sorted(waited["done"] + waited["failed"]) == sorted(ids)
    assert waited["polls"] == len(ids)  # one confirming poll per id, right after its callback
    assert wait["duration"] < 120, wait  # the first scheduled poll was 240 s away
    assert world.ledger()["enrichment"] - enriched_before == len(ids)


def test_a_receiver_down_for_30_seconds_loses_nothing_after_lemlists_retries(world):
    airflow, sandbox = world.airflow, world.sandbox
    before, gave_up = world.ledger(), sandbox.webhooks()["gave_up"]
    sandbox.set_faults(time_scale=0.5)  # lemlist's retries 5, 10, 20, 40, 80 s after each failure
    tag = uuid.uuid4().hex[:6]
    try:
        stop_all([airflow.groups.pop("api-server")])
        down_at = time.monotonic()
        emitted = [emit(sandbox, "emailsUnsubscribed", f"down{tag}{n}@example.com") for n in range(10)]
        time.sleep(15)
        emitted += [emit(sandbox, "emailsUnsubscribed", f"down{tag}{n}@example.com") for n in range(10, 20)]
        time.sleep(max(0.0, 30 - (time.monotonic() - down_at)))
        airflow.start_component("api-server", ["api-server"])
        airflow.wait_until(lambda: _healthy(airflow.ui_url), 180, "api-server back")
        delivery = sandbox.wait_for_webhooks(timeout=400)
    finally:
        sandbox.set_faults(time_scale=0.05)

    attempts = [
        a
        for a in sandbox.webhooks(attempts=5000)["attempt_log"]
        if a["event_id"] in {e["_id"] for e in emitted}
    ]
    assert "no_answer" in {a["status"] for a in attempts}  # the receiver really was away
    assert delivery["gave_up"] == gave_up  # every event got through on a retry
    assert world.ledger() - before == Counter({"unsubscribed": 20})
    airflow.wait_until(lambda: world.all_consumed(SUPPRESS), 300, "suppression runs")
    listed = {v for v, _ in world.suppression_list()}
    assert {f"down{tag}{n}@example.com" for n in range(20)} <= listed


def _healthy(url: str) -> bool:
    try:
        return requests.get(f"{url}/api/v2/monitor/health", timeout=2).status_code == 200
    except requests.RequestException:
        return False
