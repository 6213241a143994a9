"""The test suite, ``make up`` and ``make demo`` each have an Airflow home of their own, so ``make up`` never
opens on the suite's runs (deliberate failures included), and ``make demo`` never wipes either of them."""

from __future__ import annotations

import shutil
import sqlite3
from contextlib import closing
from itertools import permutations
from pathlib import Path

from lemlist_dev import DEMO_HOME, PROJECT, TEST_HOME, UP_HOME

OVERVIEW = "lemlist_account_overview"


def _has_run(db: Path, dag_id: str, run_id: str, scratch: Path) -> bool:
    """Read a copy (with its write-ahead log): even a read-only SQLite reader writes beside the file."""
    if not db.exists():
        return False
    scratch.mkdir()
    for suffix in ("", "-wal"):
        if Path(f"{db}{suffix}").exists():
            shutil.copyfile(f"{db}{suffix}", scratch / f"airflow.db{suffix}")
    with closing(sqlite3.connect(scratch / "airflow.db")) as conn:
        query = "SELECT count(*) FROM dag_run WHERE dag_id = ? AND run_id = ?"
        return conn.execute(query, (dag_id, run_id)).fetchone()[0] == 1


def test_suite_up_and_demo_homes_are_apart():
    from airflow.configuration import AIRFLOW_HOME, conf

    suite = Path(AIRFLOW_HOME).resolve()
    assert suite == TEST_HOME
    for home, other in permutations([suite, UP_HOME, DEMO_HOME], 2):
        assert not home.is_relative_to(other), f"{home} lies inside {other}"
    assert conf.get("database", "sql_alchemy_conn") == f"sqlite:///{suite / 'airflow.db'}"


def test_a_run_made_by_the_suite_lands_in_its_home_and_not_in_make_ups(lemlist_conn, lemlist_pool, tmp_path):
    from airflow.dag_processing.dagbag import DagBag

    dag = DagBag(dag_folder=str(PROJECT / "dags" / "lemlist_account_overview.py")).get_dag(OVERVIEW)
    run = dag.test()
    assert run.state == "success"
    assert not _has_run(UP_HOME / "airflow.db", OVERVIEW, run.run_id, tmp_path / "up"), "in make up's DB"
    assert _has_run(TEST_HOME / "airflow.db", OVERVIEW, run.run_id, tmp_path / "suite")
