"""Development tooling of this project: a local Airflow deployment, ``make up`` and the ``make demo`` tour.

Not part of the provider: it runs from a checkout (``pip install -e .``), next to ``dags/``, ``plugins/``
and ``airflow_settings.yaml``. Importing this package imports nothing else, so ``tests/conftest.py`` can
read the Airflow homes below before Airflow is imported.

Each user of a local Airflow has a home of its own, so that none sees another's runs, logs or settings:
``make up`` keeps ``UP_HOME`` between sessions, ``make demo`` starts ``DEMO_HOME`` afresh every time, and
the test suite's in-process Airflow uses ``TEST_HOME`` (deployments started by tests use temporary homes).
"""

from __future__ import annotations

from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]
AIRFLOW_HOMES = PROJECT / ".airflow"
UP_HOME = AIRFLOW_HOMES / "up"
DEMO_HOME = AIRFLOW_HOMES / "demo"
TEST_HOME = AIRFLOW_HOMES / "test"
