"""Fixtures for tests that run real Airflow components (``@pytest.mark.integration``) through
``lemlist_dev.deployment.LocalAirflow``, the class behind ``make up`` and ``make demo``; the pieces they
share with the ``rate_celery`` benchmark are in ``lemlist_dev.scale_out``."""

from __future__ import annotations

import contextlib
import itertools

import pytest

from lemlist_dev.deployment import LemlistTarget, LocalAirflow
from lemlist_dev.scale_out import running_airflow, write_leads_csv
from lemlist_dev.scale_out import trigger_lead_import as trigger
from lemlist_sandbox import SandboxServer


@pytest.fixture
def local_airflow_factory(tmp_path):
    """Start a ``LocalAirflow`` whose ``lemlist_default`` is a sandbox team's key and whose ``lemlist_api``
    pool has ``pool_slots``; other keywords go to ``LocalAirflow``. Every one started is stopped at teardown;
    homes (logs included) stay in ``tmp_path``. Its storage roots (``[lemlist] input_roots`` /
    ``output_roots``) are the test's own folder, which holds its sources and takes its outputs."""
    numbers = itertools.count()
    with contextlib.ExitStack() as started:

        def start(sandbox: SandboxServer, key: str, *, pool_slots: int, **kwargs) -> LocalAirflow:
            home = tmp_path / f"airflow-home-{next(numbers)}"
            target = LemlistTarget(sandbox.base_url, key, sandbox)
            return started.enter_context(
                running_airflow(home, target, pool_slots=pool_slots, roots=tmp_path, **kwargs)
            )

        yield start


@pytest.fixture
def trigger_lead_import(tmp_path):
    """Write ``emails`` as a leads CSV and trigger ``lemlist_lead_import`` on it; returns the run id."""

    def trigger_on(local: LocalAirflow, campaign_id: str, emails: list[str], batch_size: int) -> str:
        source = write_leads_csv(tmp_path / "leads.csv", emails)
        return trigger(local, campaign_id, source, batch_size, tmp_path / "out")

    return trigger_on
