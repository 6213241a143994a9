"""A warehouse load SIGKILLed mid-stream (the worker lost, no exception, no cleanup) resumes from its
checkpoint on retry and leaves exactly the sandbox's activities, on SQLite and on PostgreSQL.

The load runs as its own process, as a task on a worker does; the sandbox answers each page slowly, and the
process is killed once it has fetched a few pages. The retry runs in this process, as Airflow's retry of the
task would, on the same warehouse.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta

import pytest
from warehouse_compare import END, activities_of, activity_rows, tables

from lemlist_provider.warehouse.sync import sync_stream

pytestmark = pytest.mark.usefixtures("storage_roots")
HOUR = timedelta(hours=1)
LOAD = f"""
from datetime import datetime
from lemlist_provider.warehouse.sync import sync_stream
sync_stream("lemlist_activities", datetime.fromisoformat({(END - HOUR).isoformat()!r}),
            datetime.fromisoformat({END.isoformat()!r}))
"""


def _pages(sandbox) -> int:
    return sandbox.stats()["by_route"].get("GET /api/activities", 0)


def test_a_load_killed_mid_stream_resumes_from_its_checkpoint(sandbox, team_key, warehouse_conn):
    before = _pages(sandbox)
    sandbox.set_faults(latency_ms=150)  # slow pages, so the kill lands mid-stream
    try:
        worker = subprocess.Popen([sys.executable, "-c", LOAD], env=dict(os.environ))
        deadline = time.monotonic() + 120
        while _pages(sandbox) - before < 6:
            assert worker.poll() is None, "the load ended before it could be killed"
            assert time.monotonic() < deadline, "the load never reached its sixth page"
            time.sleep(0.02)
        os.kill(worker.pid, signal.SIGKILL)
        assert worker.wait(timeout=30) == -signal.SIGKILL
    finally:
        sandbox.set_faults(latency_ms=0)
    kept = len(tables()["lemlist_activities"])
    assert 0 < kept < 3000 and kept % 100 == 0  # whole pages, each committed with its checkpoint

    retried = sync_stream("lemlist_activities", END - HOUR, END)  # the task's retry

    assert retried["resumed_from"] == kept and retried["rows"] == 3000 - kept
    assert activity_rows(tables()) == activities_of(sandbox.team(team_key), END - timedelta(days=365), END)


@pytest.mark.parametrize("lookback, overlap", [("1e12", 10), (0, 10), ("abc", 10), (365, -5), (365, 10**9)])
def test_window_settings_out_of_bounds_fail_at_once_before_any_request(sandbox, team_key, lookback, overlap):
    from airflow.sdk.exceptions import AirflowFailException

    from lemlist_provider.operators.warehouse import LemlistWarehouseSyncOperator

    task = LemlistWarehouseSyncOperator(
        task_id="w", stream="lemlist_activities", lookback_days=lookback, overlap_minutes=overlap
    )
    before = sandbox.stats()["total_requests"]
    run = type("Run", (), {"run_after": END})()
    context = {"data_interval_start": END - HOUR, "data_interval_end": END, "dag_run": run}
    with pytest.raises(AirflowFailException, match="lookback_days|overlap_minutes|could not convert"):
        task.execute(context)
    assert sandbox.stats()["total_requests"] == before
