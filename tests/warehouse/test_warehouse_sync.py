"""The warehouse sync against a real sandbox over HTTP, on SQLite and on PostgreSQL.

Every case compares the tables row by row with what the sandbox holds: re-running an interval, a backfill
of three intervals through the DAG (``dag.test``), a run killed mid-stream by an outage then retried, and a
run through 10 % 5xx answers and bursts of 429.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from warehouse_compare import END, activities_of, activity_rows, assert_matches_sandbox, tables

from lemlist_provider.hooks.errors import LemlistError
from lemlist_provider.warehouse.streams import STREAMS
from lemlist_provider.warehouse.sync import sync_stream

pytestmark = pytest.mark.usefixtures("storage_roots")
ROOT = Path(__file__).resolve().parents[2]
HOUR = timedelta(hours=1)


def _run_all(start, end) -> dict[str, dict]:
    return {stream: sync_stream(stream, start, end) for stream in STREAMS}


def _add_activities(sandbox, key, count: int, end) -> None:
    """``count`` new activities in the hour before ``end`` (a new campaign's, like a real hour's traffic)."""
    sandbox.add_history(key, activities=count, campaigns=1, leads_per_campaign=10, hours=1, unsubscribes=0,
                        end=end.isoformat(), seed=count)  # fmt: skip


def test_two_runs_over_the_same_interval_leave_identical_tables(sandbox, team_key, warehouse_conn):
    start = END - HOUR
    first = _run_all(start, END)
    assert first["lemlist_activities"]["rows"] == 3000  # the empty table's first load: the whole history
    assert first["lemcal_meetings"]["skipped"] == "no lemcal connection"
    loaded = tables()
    again = _run_all(start, END)
    assert again["lemlist_activities"]["min_date"] == (start - timedelta(minutes=10)).isoformat(
        timespec="milliseconds"
    ).replace("+00:00", "Z")  # the second run reads its interval (and the overlap) only
    assert tables() == loaded
    assert_matches_sandbox(loaded, sandbox.team(team_key), END, END)


def test_an_outage_mid_stream_then_a_retry_resumes_from_the_checkpoint(sandbox, team_key, warehouse_conn):
    before = sandbox.stats()["by_route"].get("GET /api/activities", 0)
    sandbox.set_faults(outage_after=7)  # 7 pages answered, then every request 503
    try:
        with pytest.raises(LemlistError):
            sync_stream("lemlist_activities", END - HOUR, END)
        assert len(tables()["lemlist_activities"]) == 700  # the pages answered, each with its checkpoint
    finally:
        sandbox.set_faults(outage=False, outage_after=0)
    retried = sync_stream("lemlist_activities", END - HOUR, END)  # the task's retry
    assert retried["resumed_from"] == 700 and retried["rows"] == 2300
    # 30 pages of 100 and the empty page that ends the list, plus the failed attempts (two per call)
    sent = sandbox.stats()["by_route"]["GET /api/activities"] - before
    assert sent == 7 + 2 + 24
    assert activity_rows(tables()) == activities_of(sandbox.team(team_key), END - timedelta(days=365), END)


def test_ten_percent_5xx_and_429_bursts_leave_the_same_rows(sandbox, team_key, warehouse_conn, monkeypatch):
    from lemlist_sandbox import connection_json

    # 8 attempts per call: at a 10 % 5xx rate, the ~100 calls of this test would meet five 5xx in a row
    # (the default's limit) about once in a thousand runs; here once in ten million
    monkeypatch.setenv(
        "AIRFLOW_CONN_LEMLIST_DEFAULT",
        connection_json(sandbox.base_url, team_key, rate_limit=0, max_attempts=8),
    )
    sandbox.set_faults(error_rate=0.1, force_429=3)
    try:
        _run_all(END - HOUR, END)
        sandbox.set_faults(force_429=3)
        _add_activities(sandbox, team_key, 250, END + HOUR)
        _run_all(END, END + HOUR)
        stats = sandbox.stats()
    finally:
        sandbox.set_faults(error_rate=0.0, force_429=0)
    assert stats["faults_5xx"] > 0 and stats["forced_429"] >= 6
    assert_matches_sandbox(tables(), sandbox.team(team_key), END, END + HOUR)


@pytest.fixture(scope="module")
def warehouse_dag():
    from airflow.models.dagbag import DagBag

    bag = DagBag(dag_folder=str(ROOT / "dags"))
    assert "lemlist_warehouse_sync" in bag.dags, bag.import_errors
    return bag.get_dag("lemlist_warehouse_sync")


def test_a_backfill_of_three_intervals_through_the_dag(sandbox, team_key, warehouse_conn, warehouse_dag):
    from airflow.utils.state import DagRunState

    for hour in range(3):
        start = END + hour * HOUR
        _add_activities(sandbox, team_key, 120 + hour, start + HOUR)
        # dag.test names the hour by its end, as a manual run does; a backfill's run covers the same hour
        run = warehouse_dag.test(logical_date=start + HOUR)
        assert run.state == DagRunState.SUCCESS
        assert (run.data_interval_start, run.data_interval_end) == (start, start + HOUR)
    assert_matches_sandbox(tables(), sandbox.team(team_key), END + HOUR, END + 3 * HOUR)


def test_lemcal_meetings_load_when_the_lemcal_connection_exists(
    sandbox, team_key, warehouse_conn, monkeypatch
):
    import json

    team = sandbox.team(team_key)
    lemcal = {"conn_type": "lemcal", "host": f"{sandbox.base_url}/lemcal", "login": team.user_id,
              "password": team_key, "extra": {"rate_limit": 0}}  # fmt: skip
    monkeypatch.setenv("AIRFLOW_CONN_LEMCAL_DEFAULT", json.dumps(lemcal))
    summary = sync_stream("lemcal_meetings", END - HOUR, END)
    loaded = tables()["lemcal_meetings"]
    assert summary["rows"] == len(loaded) == len(team.lemcal_meetings) > 0
    assert [row[0] for row in loaded] == sorted(team.lemcal_meetings)


def test_a_backfill_of_three_days_hour_by_hour(sandbox, team_key, warehouse_conn):
    """72 hourly intervals, oldest first, as ``airflow backfill create`` runs them (``max_active_runs=1``),
    with a one-hour lookback so even the first interval loads only its own window: the activities of the
    three days, and one stats partition per day equal to the sandbox's figures for that day."""
    from lemlist_provider.warehouse.tables import STATS_COUNTERS
    from lemlist_sandbox.routes.stats import compute_stats

    first = END - timedelta(days=3)
    for hour in range(72):
        start = first + hour * HOUR
        for stream in ("lemlist_activities", "lemlist_campaign_stats_daily"):
            sync_stream(stream, start, start + HOUR, lookback_days=1 / 24)
    loaded = tables()
    team = sandbox.team(team_key)
    assert activity_rows(loaded) == activities_of(team, first - HOUR, END) != []
    stats = loaded["lemlist_campaign_stats_daily"]
    assert sorted({row[1] for row in stats}) == [
        (first + timedelta(days=d)).date().isoformat() for d in range(3)
    ]
    for campaign_id, day, *counters in (row[:-1] for row in stats):
        low = f"{day}T00:00:00.000Z"
        high = f"{day}T23:59:59.999Z"
        assert counters == [compute_stats(team, campaign_id, low, high)[name] for name in STATS_COUNTERS]
