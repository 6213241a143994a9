"""Provider test helpers: connections as ``AIRFLOW_CONN_*`` env vars pointing at the sandbox."""

from __future__ import annotations

import json
import uuid

import pytest

from lemlist_provider.hooks.ratelimit import reset_limiters


@pytest.fixture(autouse=True)
def _fresh_limiters():
    reset_limiters()
    yield
    reset_limiters()


@pytest.fixture
def make_conn(monkeypatch):
    """``make_conn(base_url, key, **extra) -> conn_id``: a lemlist connection in the environment."""

    def _make(base_url: str, key: str, conn_type: str = "lemlist", login: str | None = None, **extra) -> str:
        conn_id = f"lemlist_{uuid.uuid4().hex[:8]}"
        conn = {"conn_type": conn_type, "host": base_url, "password": key, "extra": extra}
        if login:
            conn["login"] = login
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))
        return conn_id

    return _make


@pytest.fixture
def fresh_team(fresh_sandbox):
    """``(sandbox, key, team_id)``: an empty team on a sandbox of its own (faults can be switched)."""
    key = f"fresh-{uuid.uuid4().hex[:10]}"
    info = fresh_sandbox.create_team(key, credits=10_000)
    return fresh_sandbox, key, info["team_id"]
