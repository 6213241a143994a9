"""Fixtures of the warehouse tests: a sandbox with a history, and a warehouse on SQLite or PostgreSQL.

PostgreSQL is the machine's server (``lemlist_dev/services.py``: 127.0.0.1:5432, trust auth); each test
module gets a database of its own, dropped afterwards. Without the server, the PostgreSQL cases skip and say why.
"""

from __future__ import annotations

import json
import uuid

import pytest
from warehouse_compare import END

from lemlist_dev.services import PG_HOST, PG_PORT, PG_USER, fresh_postgres_database, postgres_problem
from lemlist_sandbox import connection_json as lemlist_conn_uri

PG = {"host": PG_HOST, "port": PG_PORT, "user": PG_USER}


@pytest.fixture(scope="module")
def sandbox(unlimited_sandbox):
    """The warehouse tests' sandbox: the module's own, without a rate limit."""
    return unlimited_sandbox


@pytest.fixture(scope="module")
def pg_database():
    """A fresh PostgreSQL database for the module: ``(name, None)``, or ``(None, why)`` without a server."""
    problem = postgres_problem()
    if problem:
        yield None, problem
        return
    with fresh_postgres_database() as url:
        yield url.rsplit("/", 1)[1], None


@pytest.fixture(params=["sqlite", "postgres"])
def warehouse_conn(request, tmp_path, monkeypatch, pg_database) -> str:
    """``AIRFLOW_CONN_LEMLIST_WAREHOUSE`` on a new SQLite file, or on the module's PostgreSQL database with
    the warehouse tables dropped: each test starts from an empty warehouse."""
    if request.param == "sqlite":
        conn = {"conn_type": "sqlite", "host": str(tmp_path / "warehouse.sqlite")}
    else:
        name, reason = pg_database
        if name is None:
            pytest.skip(reason)
        import psycopg2

        with psycopg2.connect(dbname=name, **PG) as db, db.cursor() as cursor:
            cursor.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
        conn = {"conn_type": "postgres", "host": PG["host"], "port": PG["port"], "login": PG["user"],
                "schema": name}  # fmt: skip
    monkeypatch.setenv("AIRFLOW_CONN_LEMLIST_WAREHOUSE", json.dumps(conn))
    return request.param


@pytest.fixture
def team_key(sandbox, monkeypatch) -> str:
    """A new team with 3,000 activities over the 3 days before ``END``, behind ``lemlist_default``
    (unpaced: the real budget is the benchmark's business; two attempts per call, so an outage fails fast)."""
    key = f"wh-{uuid.uuid4().hex[:10]}"
    sandbox.create_team(key)
    sandbox.add_history(key, activities=3000, campaigns=4, leads_per_campaign=50, days=3, end=END.isoformat())
    conn = lemlist_conn_uri(sandbox.base_url, key, rate_limit=0, max_attempts=2)
    monkeypatch.setenv("AIRFLOW_CONN_LEMLIST_DEFAULT", conn)
    return key
