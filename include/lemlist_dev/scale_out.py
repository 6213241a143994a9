"""The lead import on a real deployment of this machine, for the integration tests and the ``rate_celery``
benchmark: a started ``LocalAirflow`` with its ``lemlist_api`` pool set, the Celery topology (PostgreSQL
metadata DB, Redis broker, workers that report names of their own) and a lead import triggered on a CSV.

    with running_airflow(home, target, pool_slots=8, roots=folder, **celery_settings(db, broker, queue)) as af:
        start_celery_workers(af, queue, ("worker-a", "worker-b"), concurrency=4)
        run_id = trigger_lead_import(af, campaign_id, write_leads_csv(folder / "leads.csv", emails), 100)
"""

from __future__ import annotations

import contextlib
import csv
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from .deployment import LemlistTarget, LocalAirflow
from .worker_identity import WORKER_NAME_ENV

LEAD_IMPORT = "lemlist_lead_import"

#: faster heartbeats than a deployment needs, so that waits are short
FAST_HEARTBEATS = {
    "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "1",
    "AIRFLOW__TRIGGERER__JOB_HEARTBEAT_SEC": "1",
}

#: the header-based limiter alone in every component: the connection names no shared store (``LocalAirflow``
#: only fills ``LEMLIST_RATE_STORE`` with the broker's Redis when it is unset) and no local window is shared
HEADER_ONLY_ENV = {"LEMLIST_RATE_STORE": "", "AIRFLOW__LEMLIST__LOCAL_RATE_STORE": "False"}


@contextlib.contextmanager
def running_airflow(
    home: Path,
    target: LemlistTarget,
    *,
    pool_slots: int,
    roots: Path,
    extra_env: dict[str, str] | None = None,
    **kwargs: Any,
) -> Iterator[LocalAirflow]:
    """A started ``LocalAirflow`` in ``home`` whose ``lemlist_api`` pool has ``pool_slots`` and whose storage
    roots (``[lemlist] input_roots`` / ``output_roots``) are ``roots``; stopped on exit (its home, logs
    included, stays). Other keywords go to ``LocalAirflow``."""
    env = {
        **FAST_HEARTBEATS,
        "AIRFLOW__LEMLIST__INPUT_ROOTS": str(roots),
        "AIRFLOW__LEMLIST__OUTPUT_ROOTS": str(roots),
        **(extra_env or {}),
    }
    local = LocalAirflow(home, target, extra_env=env, **kwargs)
    try:
        local.start()
        local.client.set_pool("lemlist_api", pool_slots)
        yield local
    finally:
        local.stop()


def celery_settings(db_url: str, broker_url: str, queue: str, parallelism: int = 16) -> dict[str, Any]:
    """``running_airflow`` keywords for the CeleryExecutor on PostgreSQL ``db_url`` (also the result backend)
    with ``broker_url`` (Redis), tasks on ``queue``, and each worker's task instances showing its name."""
    return {
        "executor": "CeleryExecutor",
        "sql_alchemy_conn": db_url,
        "parallelism": parallelism,
        "extra_env": {
            "AIRFLOW__CELERY__BROKER_URL": broker_url,
            "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + db_url.replace("+psycopg2", ""),
            "AIRFLOW__OPERATORS__DEFAULT_QUEUE": queue,
            # every component resolves hostname_callable: lemlist_dev is installed, so all of them can
            "AIRFLOW__CORE__HOSTNAME_CALLABLE": "lemlist_dev.worker_identity.hostname",
        },
    }


def start_celery_workers(local: LocalAirflow, queue: str, names: Iterable[str], concurrency: int) -> None:
    """One ``airflow celery worker`` per name, on ``queue``, running ``concurrency`` tasks at once; the task
    instances it runs show ``name`` as their hostname."""
    for name in names:
        local.start_component(
            name,
            ["celery", "worker", "--queues", queue, "--concurrency", str(concurrency),
             "--celery-hostname", f"{name}@%h", "--skip-serve-logs"],
            env={WORKER_NAME_ENV: name},
        )  # fmt: skip


def write_leads_csv(path: Path, emails: Iterable[str]) -> Path:
    """``emails`` as a leads CSV (``email``, ``firstName``) at ``path``."""
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["email", "firstName"])
        writer.writerows([email, f"Lead {n}"] for n, email in enumerate(emails))
    return path


def trigger_lead_import(
    local: LocalAirflow, campaign_id: str, source: Path, batch_size: int, output: Path
) -> str:
    """Wait until the lead import is parsed, then trigger it on ``source``; returns the run id."""
    problems = local.wait_for_dags([LEAD_IMPORT])
    if problems:
        raise RuntimeError(f"{LEAD_IMPORT} is not loaded: {problems}")
    conf = {"campaign_id": campaign_id, "source": str(source), "batch_size": batch_size,
            "output_uri": str(output)}  # fmt: skip
    return local.trigger(LEAD_IMPORT, conf)
