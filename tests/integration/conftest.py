"""Fixtures for tests that run real Airflow components (``@pytest.mark.integration``)."""

from __future__ import annotations

import pytest

from .local_airflow import LocalAirflow


@pytest.fixture
def local_airflow_factory():
    """Build a ``LocalAirflow`` with any settings; every one started is stopped at teardown."""
    started: list[LocalAirflow] = []

    def make(**kwargs) -> LocalAirflow:
        airflow = LocalAirflow(**kwargs)
        started.append(airflow)
        return airflow.__enter__()

    yield make
    for airflow in started:
        airflow.stop()
