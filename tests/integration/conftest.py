"""Fixtures for tests that run real Airflow components (``@pytest.mark.integration``) through
``lemlist_dev.deployment.LocalAirflow``, the class behind ``make up`` and ``make demo``."""

from __future__ import annotations

import csv

import pytest

from lemlist_dev.deployment import LemlistTarget, LocalAirflow
from lemlist_sandbox import SandboxServer

#: faster heartbeats than a deployment needs, so that waits in the tests are short
FAST_HEARTBEATS = {
    "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "1",
    "AIRFLOW__TRIGGERER__JOB_HEARTBEAT_SEC": "1",
}


@pytest.fixture
def local_airflow_factory(tmp_path):
    """Start a ``LocalAirflow`` whose ``lemlist_default`` is a sandbox team's key and whose ``lemlist_api``
    pool has ``pool_slots``; other keywords go to ``LocalAirflow``. Every one started is stopped at teardown;
    homes (logs included) stay in ``tmp_path``. Its storage roots (``[lemlist] input_roots`` /
    ``output_roots``) are the test's own folder, which holds its sources and takes its outputs."""
    started: list[LocalAirflow] = []
    roots = {"AIRFLOW__LEMLIST__INPUT_ROOTS": str(tmp_path), "AIRFLOW__LEMLIST__OUTPUT_ROOTS": str(tmp_path)}

    def start(sandbox: SandboxServer, key: str, *, pool_slots: int, **kwargs) -> LocalAirflow:
        env = {**FAST_HEARTBEATS, **roots, **kwargs.pop("extra_env", {})}
        home = tmp_path / f"airflow-home-{len(started)}"
        local = LocalAirflow(home, LemlistTarget(sandbox.base_url, key, sandbox), extra_env=env, **kwargs)
        started.append(local)
        local.start()
        local.client.set_pool("lemlist_api", pool_slots)
        return local

    yield start
    for local in started:
        local.stop()


@pytest.fixture
def trigger_lead_import(tmp_path):
    """Write ``emails`` as a leads CSV and trigger ``lemlist_lead_import`` on it; returns the run id."""

    def trigger(local: LocalAirflow, campaign_id: str, emails: list[str], batch_size: int) -> str:
        source = tmp_path / "leads.csv"
        with source.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["email", "firstName"])
            writer.writerows([email, f"Lead {n}"] for n, email in enumerate(emails))
        assert local.wait_for_dags(["lemlist_lead_import"]) == {}
        conf = {"campaign_id": campaign_id, "source": str(source), "batch_size": batch_size,
                "output_uri": str(tmp_path / "out")}  # fmt: skip
        return local.trigger("lemlist_lead_import", conf)

    return trigger
