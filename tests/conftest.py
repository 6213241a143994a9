"""Shared fixtures: a real lemlist sandbox over HTTP on loopback, and an isolated Airflow home.

Airflow reads its configuration at import time, so the environment is set here before anything imports it.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("AIRFLOW_HOME", str(ROOT / ".airflow"))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(ROOT / "dags"))
os.environ.setdefault("AIRFLOW__CORE__PLUGINS_FOLDER", str(ROOT / "plugins"))
# The sandboxes below run lemlist's clock 100 times faster (time_scale=0.01), so the floor of poll intervals
# ([lemlist] min_poll_seconds, 5 s in a deployment) is scaled the same way; the floor's own tests set theirs.
os.environ.setdefault("AIRFLOW__LEMLIST__MIN_POLL_SECONDS", "0.05")

from lemlist_sandbox import DEMO_KEY, SandboxServer  # noqa: E402
from lemlist_sandbox import connection_json as lemlist_conn_uri  # noqa: E402


@pytest.fixture
def storage_roots(tmp_path, monkeypatch) -> Path:
    """``tmp_path`` as an admin-allowed storage root (first for outputs, so defaults land there too), beside
    the project's defaults: what an admin's ``[lemlist] input_roots`` / ``output_roots`` would say."""
    monkeypatch.setenv("AIRFLOW__LEMLIST__INPUT_ROOTS", f"include/data,{tmp_path}")
    monkeypatch.setenv("AIRFLOW__LEMLIST__OUTPUT_ROOTS", f"{tmp_path},output")
    return tmp_path


@pytest.fixture(scope="session")
def sandbox():
    """One sandbox for the session, at the real 20 requests / 2 s, with fast async jobs.

    Tests that change faults or the rate limit must restore them (use ``fresh_sandbox`` instead
    when a test needs its own settings).
    """
    with SandboxServer(time_scale=0.01) as server:
        yield server


@pytest.fixture
def fresh_sandbox():
    """A sandbox of its own for tests that change global settings (faults, rate limit)."""
    with SandboxServer(time_scale=0.01) as server:
        yield server


@pytest.fixture
def team_key(sandbox) -> str:
    """An empty team of its own, so a test's data and rate budget are isolated from every other test."""
    key = f"test-key-{uuid.uuid4().hex[:12]}"
    sandbox.create_team(key, name="pytest team", credits=100_000)
    return key


@pytest.fixture
def demo_key() -> str:
    return DEMO_KEY


@pytest.fixture
def lemlist_conn(sandbox, team_key, monkeypatch) -> str:
    """``lemlist_default`` points at the session sandbox with a fresh team's key; returns that key."""
    monkeypatch.setenv("AIRFLOW_CONN_LEMLIST_DEFAULT", lemlist_conn_uri(sandbox.base_url, team_key))
    return team_key


@pytest.fixture(scope="session")
def lemlist_pool():
    """The ``lemlist_api`` pool every lemlist task runs in (declared in airflow_settings.yaml)."""
    from airflow.models import Pool
    from airflow.utils.session import create_session

    with create_session() as session:
        Pool.create_or_update_pool(
            name="lemlist_api",
            slots=8,
            description="lemlist API (tests)",
            include_deferred=False,
            session=session,
        )
    return "lemlist_api"
