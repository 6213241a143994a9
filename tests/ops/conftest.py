"""Fixtures of the ops tests: a logged-in client of the plugin app on the test home's metadata database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient


@pytest.fixture(scope="module")
def airflow_token() -> str:
    """A real Airflow login: a JWT of the configured auth manager (the API server checks the same)."""
    from airflow.api_fastapi.app import create_auth_manager
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    manager = create_auth_manager()
    return manager.generate_jwt(SimpleAuthManagerUser(username="ops-test", role="viewer"))


@pytest.fixture
def ops_client() -> Iterator[TestClient]:
    """The plugin's app in-process, as the API server mounts it at ``/lemlist``."""
    from lemlist_provider.events.receiver import create_app

    with TestClient(create_app(), raise_server_exceptions=False) as client:
        yield client
