"""A SQLite deployment's processes wait for one another's write locks: the scheduler writing while
``airflow backfill create`` runs must not end the CLI call with ``database is locked``."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from contextlib import closing

import pytest

from lemlist_dev.deployment import LemlistTarget, LocalAirflow

NO_LEMLIST = LemlistTarget("http://127.0.0.1:9/api", "unused-key")
HOLD = 7.0  # seconds another process keeps the database locked: longer than sqlite3's default 5 s

# Airflow's own engines, configured from the environment at import; ``go`` on stdin once the lock is held
PROBE = """
import asyncio, time
from sqlalchemy import text
from airflow import settings

async def async_busy_timeout():
    async with settings.async_engine.connect() as conn:
        value = (await conn.execute(text("PRAGMA busy_timeout"))).scalar()
    await settings.async_engine.dispose()  # in this loop, not at exit
    return value

with settings.engine.connect() as conn:
    print(conn.exec_driver_sql("PRAGMA busy_timeout").scalar(), asyncio.run(async_busy_timeout()), flush=True)
input()
start = time.monotonic()
with settings.engine.begin() as conn:
    conn.exec_driver_sql("CREATE TABLE probe (id INTEGER)")
print(round(time.monotonic() - start, 1), flush=True)
"""


@pytest.mark.slow
def test_airflow_processes_of_a_sqlite_deployment_wait_15_s_for_a_lock(tmp_path):
    local = LocalAirflow(tmp_path / "home", NO_LEMLIST)
    local.home.mkdir()
    pipes = {"stdin": subprocess.PIPE, "stdout": subprocess.PIPE, "text": True}
    with subprocess.Popen([sys.executable, "-c", PROBE], env=local.env(), **pipes) as probe:
        # in ms, of the sync (pysqlite) and the async (aiosqlite) engine
        assert probe.stdout.readline().split() == ["15000", "15000"]
        with closing(sqlite3.connect(local.home / "airflow.db", isolation_level=None)) as other:
            other.execute("BEGIN EXCLUSIVE")
            probe.stdin.write("go\n")
            probe.stdin.flush()
            time.sleep(HOLD)
            other.execute("COMMIT")
        waited = float(probe.stdout.readline())
    assert probe.returncode == 0
    assert waited >= HOLD - 1  # it waited for the lock instead of failing at 5 s


def test_a_postgres_deployment_gets_no_sqlite_connect_args(tmp_path):
    url = "postgresql+psycopg2://airflow:airflow@127.0.0.1:5432/airflow"
    env = LocalAirflow(tmp_path, NO_LEMLIST, sql_alchemy_conn=url).env()
    assert not [key for key in env if key.startswith("AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS")]
