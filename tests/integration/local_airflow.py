"""``LocalAirflow``: a real Airflow deployment in subprocesses, for tests that need the scheduler.

A temporary ``AIRFLOW_HOME``, the project's DAGs folder, ``airflow db migrate``, then ``scheduler``,
``dag-processor``, ``triggerer`` and ``api-server`` (Airflow 3 workers reach the Execution API through it).
Runs are triggered with the CLI and task states are read from the metadata DB with SQLAlchemy, so the same
class works with SQLite + LocalExecutor (default) or PostgreSQL + CeleryExecutor (pass ``sql_alchemy_conn``,
``executor`` and the Celery settings in ``extra_env``; start the Celery worker with ``start("celery worker")``).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
AIRFLOW = str(Path(sys.executable).with_name("airflow"))
COMPONENTS = ("scheduler", "dag-processor", "triggerer", "api-server")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LocalAirflow:
    """Start with ``with LocalAirflow(...) as af:``; every process it started is stopped on exit.

    :param executor: ``LocalExecutor`` (default) or e.g. ``CeleryExecutor``
    :param sql_alchemy_conn: metadata DB URL; default a SQLite file in the temporary home
    :param extra_env: more environment (connections ``AIRFLOW_CONN_*``, Celery broker, ...)
    :param pools: ``{name: slots}`` created after the migration
    :param components: which ``airflow`` commands to run as long-lived processes
    """

    def __init__(
        self,
        *,
        executor: str = "LocalExecutor",
        sql_alchemy_conn: str | None = None,
        dags_folder: str | Path = ROOT / "dags",
        extra_env: dict[str, str] | None = None,
        pools: dict[str, int] | None = None,
        components: tuple[str, ...] = COMPONENTS,
        home: str | Path | None = None,
    ) -> None:
        self._own_home = home is None
        self.home = Path(home or tempfile.mkdtemp(prefix="airflow-it-"))
        self.port = free_port()
        self.sql_alchemy_conn = sql_alchemy_conn or f"sqlite:///{self.home / 'airflow.db'}"
        self.pools = pools or {}
        self.components = components
        self.processes: dict[str, subprocess.Popen] = {}
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
        self.env.update(
            {
                "AIRFLOW_HOME": str(self.home),
                "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder),
                "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__CORE__EXECUTOR": executor,
                # scheduled DAGs (sync, export, overview) must not start on their own beside the one under test
                "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
                "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{self.port}/execution/",
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": self.sql_alchemy_conn,
                "AIRFLOW__API__PORT": str(self.port),
                "AIRFLOW__API__HOST": "127.0.0.1",
                "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{self.port}",
                "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
                "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
                "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "1",
                "AIRFLOW__TRIGGERER__JOB_HEARTBEAT_SEC": "1",
                "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
                "PYTHONPATH": os.pathsep.join(
                    filter(None, [str(ROOT / "include"), os.environ.get("PYTHONPATH")])
                ),
            }
        )
        self.env.update(extra_env or {})
        self._engine: Any = None

    # -- lifecycle ------------------------------------------------------------------------------------
    def cli(self, *args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [AIRFLOW, *args], env=self.env, cwd=str(ROOT), capture_output=True, text=True, timeout=timeout
        )
        if check and result.returncode != 0:
            raise RuntimeError(
                f"airflow {' '.join(args[:2])} failed ({result.returncode}):\n{result.stderr[-3000:]}"
            )
        return result

    def migrate(self) -> None:
        self.cli("db", "migrate", timeout=300)
        for name, slots in self.pools.items():
            self.cli("pools", "set", name, str(slots), f"{name} (integration test)")

    def start(self, component: str) -> subprocess.Popen:
        log = (self.home / f"{component.replace(' ', '-')}.log").open("w")
        process = subprocess.Popen(
            [AIRFLOW, *component.split()], env=self.env, cwd=str(ROOT), stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        self.processes[component] = process
        return process

    def __enter__(self) -> LocalAirflow:
        try:
            self.migrate()
            for component in self.components:
                self.start(component)
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop each started process group (SIGTERM, then SIGKILL), by its own id only."""
        for process in self.processes.values():
            if process.poll() is None:
                try:
                    os.killpg(process.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + 20
        for process in self.processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                process.wait(timeout=5)
        self.processes.clear()
        if self._engine is not None:
            self._engine.dispose()
        if self._own_home and os.environ.get("KEEP_AIRFLOW_IT_HOME") != "1":
            shutil.rmtree(self.home, ignore_errors=True)

    def logs(self, component: str, tail: int = 4000) -> str:
        path = self.home / f"{component.replace(' ', '-')}.log"
        return path.read_text(errors="replace")[-tail:] if path.exists() else ""

    # -- the metadata DB ------------------------------------------------------------------------------
    def query(self, sql: str, **params: Any) -> list[tuple]:
        from sqlalchemy import create_engine, text

        if self._engine is None:
            self._engine = create_engine(self.sql_alchemy_conn)
        with self._engine.connect() as conn:
            return [tuple(row) for row in conn.execute(text(sql), params)]

    def wait_for_dag(self, dag_id: str, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if self.query("SELECT 1 FROM serialized_dag WHERE dag_id = :d", d=dag_id):
                    return
            except Exception:  # noqa: BLE001 - table not there yet
                pass
            self._check_alive()
            time.sleep(1)
        raise TimeoutError(f"DAG {dag_id} was not parsed in {timeout} s:\n{self.logs('dag-processor')}")

    def trigger(self, dag_id: str, conf: dict | None = None, run_id: str | None = None) -> str:
        run_id = run_id or f"it__{int(time.time())}"
        self.cli("dags", "unpause", dag_id)
        self.cli("dags", "trigger", dag_id, "--conf", json.dumps(conf or {}), "--run-id", run_id)
        return run_id

    def task_states(self, dag_id: str, run_id: str) -> dict[str, str | None]:
        rows = self.query(
            "SELECT task_id, state FROM task_instance WHERE dag_id = :d AND run_id = :r", d=dag_id, r=run_id
        )
        return {task_id: state for task_id, state in rows}

    def run_state(self, dag_id: str, run_id: str) -> str | None:
        rows = self.query("SELECT state FROM dag_run WHERE dag_id = :d AND run_id = :r", d=dag_id, r=run_id)
        return rows[0][0] if rows else None

    def wait_until(self, predicate, timeout: float, what: str, interval: float = 0.5) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            self._check_alive()
            time.sleep(interval)
        raise TimeoutError(f"{what} not reached in {timeout} s; scheduler log:\n{self.logs('scheduler')}")

    def _check_alive(self) -> None:
        for name, process in self.processes.items():
            if process.poll() is not None:
                raise RuntimeError(f"airflow {name} exited ({process.returncode}):\n{self.logs(name)}")
