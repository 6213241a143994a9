"""Fixtures for the events tests: a webhook secret on ``lemlist_default``, the receiver app on a real Airflow
metadata database (the worktree's SQLite test home, or a PostgreSQL database of its own), and a client.

The PostgreSQL database is created on the machine's server and migrated through
``lemlist_dev.LocalAirflow.migrate`` (no Airflow component is started), then dropped.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from events_support import NO_LEMLIST
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, select
from sqlalchemy.orm import sessionmaker

from lemlist_dev.deployment import LocalAirflow
from lemlist_dev.services import fresh_postgres_database, postgres_problem
from lemlist_provider.events.receiver import create_app, get_store
from lemlist_provider.events.store import EventStore, events_table


@pytest.fixture
def webhook_secret(monkeypatch) -> str:
    """A fresh secret in the ``webhook_secret`` extra of ``lemlist_default`` (an env var connection)."""
    secret = secrets.token_urlsafe(24)
    conn = {"conn_type": "lemlist", "password": "api-key-not-used", "extra": {"webhook_secret": secret}}
    monkeypatch.setenv("AIRFLOW_CONN_LEMLIST_DEFAULT", json.dumps(conn))
    return secret


@dataclass
class Backend:
    """One metadata database under test, read back through Airflow's own models."""

    name: str
    store: EventStore

    def rows(self, dedupe_key: str) -> list[dict[str, Any]]:
        with self.store.session_factory() as session:
            result = session.execute(select(events_table).where(events_table.c.dedupe_key == dedupe_key))
            return [dict(row._mapping) for row in result]

    def asset_events(self, uri: str, after_id: int = 0) -> list[Any]:
        from airflow.models.asset import AssetEvent, AssetModel

        with self.store.session_factory() as session:
            return list(
                session.scalars(
                    select(AssetEvent)
                    .join(AssetModel, AssetEvent.asset_id == AssetModel.id)
                    .where(AssetModel.uri == uri, AssetEvent.id > after_id)
                    .order_by(AssetEvent.id)
                )
            )

    def last_asset_event_id(self) -> int:
        from airflow.models.asset import AssetEvent
        from sqlalchemy import func

        with self.store.session_factory() as session:
            return session.scalar(select(func.max(AssetEvent.id))) or 0


@pytest.fixture(scope="session")
def postgres_url(tmp_path_factory) -> Iterator[str]:
    problem = postgres_problem()
    if problem:
        pytest.skip(f"the PostgreSQL variant needs a server: {problem}")
    with fresh_postgres_database() as url:
        home = tmp_path_factory.mktemp("airflow-pg-home")
        LocalAirflow(home, NO_LEMLIST, sql_alchemy_conn=url).migrate()
        yield url


def _airflow_backend() -> Backend:
    from airflow import settings

    return Backend("sqlite", EventStore(settings.engine, settings.NonScopedSession, retention_days=30))


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request) -> Iterator[Backend]:
    """The receiver's store on Airflow's metadata DB: the test home's SQLite, then a migrated PostgreSQL."""
    if request.param == "sqlite":
        yield _airflow_backend()
        return
    engine = create_engine(request.getfixturevalue("postgres_url"))
    try:
        yield Backend("postgres", EventStore(engine, sessionmaker(engine), retention_days=30))
    finally:
        engine.dispose()


@pytest.fixture
def client(backend) -> Iterator[TestClient]:
    """The plugin's app in-process, its store on ``backend`` (FastAPI dependency override)."""
    app = create_app()
    app.dependency_overrides[get_store] = lambda: backend.store
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client
