"""Fixtures for tests that run real Airflow components (``@pytest.mark.integration``)."""

from __future__ import annotations

import pytest

from .local_airflow import LocalAirflow


@pytest.fixture
def local_airflow_factory(tmp_path):
    """Build a ``LocalAirflow`` with any settings; every one started is stopped at teardown. Its storage roots
    (``[lemlist] input_roots`` / ``output_roots``) are the test's own folder, which holds the test's sources
    and takes its outputs, as an admin's configuration would say."""
    started: list[LocalAirflow] = []
    roots = {"AIRFLOW__LEMLIST__INPUT_ROOTS": str(tmp_path), "AIRFLOW__LEMLIST__OUTPUT_ROOTS": str(tmp_path)}

    def make(**kwargs) -> LocalAirflow:
        kwargs["extra_env"] = {**roots, **(kwargs.get("extra_env") or {})}
        airflow = LocalAirflow(**kwargs)
        started.append(airflow)
        return airflow.__enter__()

    yield make
    for airflow in started:
        airflow.stop()
