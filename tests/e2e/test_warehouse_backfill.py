"""``airflow backfill create`` over three hours of ``lemlist_warehouse_sync``, run by a real scheduler and
LocalExecutor (``make up``'s machinery), into a SQLite warehouse: three runs, one per hour, and the
activities table equal to the sandbox's history up to the last hour's end. (Unpausing also starts the latest
scheduled hour, catchup being off; it loads the same history, merged on the ids.)"""

from __future__ import annotations

import json
import sqlite3
import subprocess
from datetime import UTC, datetime, timedelta

import pytest

from lemlist_dev.deployment import AIRFLOW
from lemlist_dev.up import running
from lemlist_provider.warehouse.tables import raw_json
from lemlist_sandbox.routes.common import clean

DAG = "lemlist_warehouse_sync"
END = datetime(2026, 11, 27, tzinfo=UTC)
FIRST = END - timedelta(hours=3)


@pytest.mark.integration
@pytest.mark.timeout(480)
def test_backfill_create_loads_each_hour_once(tmp_path):
    database = tmp_path / "warehouse.sqlite"
    env = {"AIRFLOW_CONN_LEMLIST_WAREHOUSE": json.dumps({"conn_type": "sqlite", "host": str(database)})}
    with running(tmp_path / "home", time_scale=0.02, extra_env=env) as local:
        sandbox = local.lemlist.sandbox
        sandbox.add_history(activities=900, campaigns=2, leads_per_campaign=20, days=1, end=END.isoformat())
        local.wait_for_dags([DAG])
        local.client.unpause(DAG)  # a paused DAG's backfill runs stay queued
        created = subprocess.run(
            [AIRFLOW, "backfill", "create", "--dag-id", DAG, "--from-date", FIRST.isoformat(),
             "--to-date", (END - timedelta(hours=1)).isoformat()],
            env=local.env(), capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert created.returncode == 0, created.stderr[-2000:]

        def finished() -> list[dict] | None:
            runs = [r for r in local.client.list_runs(DAG) if r.get("run_type") == "backfill"]
            done = len(runs) == 3 and all(r["state"] in ("success", "failed") for r in runs)
            return runs if done else None

        runs = local.wait_until(finished, 360, "three backfill runs finished")
        assert [r["state"] for r in runs] == ["success"] * 3, runs
        intervals = sorted((r["data_interval_start"], r["data_interval_end"]) for r in runs)
        assert [datetime.fromisoformat(start) for start, _ in intervals] == [
            FIRST + timedelta(hours=h) for h in range(3)
        ]
        team = sandbox.team()
    with sqlite3.connect(database) as db:
        loaded = db.execute("SELECT id, raw_json FROM lemlist_activities ORDER BY id").fetchall()
        checkpoints = db.execute("SELECT COUNT(*) FROM lemlist_sync_checkpoints").fetchone()[0]
    last = END.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    expected = sorted((a["_id"], raw_json(clean(a))) for a in team.activities if a["createdAt"] < last)
    assert loaded == expected and len(loaded) == 900
    assert checkpoints == 0  # every interval finished
