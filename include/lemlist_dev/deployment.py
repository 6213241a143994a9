"""A real Airflow 3 deployment on this machine, for ``make up``, ``make demo`` and the tests.

``LocalAirflow`` runs the components of ``airflow standalone`` (scheduler, dag-processor, triggerer,
api-server), each as a process group of its own, for one AIRFLOW_HOME and the project's ``dags/`` and
``plugins/``. Before they start, ``scripts/apply_settings.py`` migrates the metadata DB and applies
``airflow_settings.yaml`` (the ``lemlist_default`` connection pointing at ``lemlist``, the ``lemlist_api``
pool), as an admin would. The same class runs SQLite with the LocalExecutor (the default) and PostgreSQL
with the CeleryExecutor (``sql_alchemy_conn``, ``executor``, Celery settings in ``extra_env``, workers
through ``start_component``).

    with lemlist_target(None, time_scale=0.05) as lemlist, LocalAirflow(home, lemlist) as local:
        run_id = local.trigger("lemlist_account_overview")
        local.wait_for_run("lemlist_account_overview", run_id)
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import requests

from lemlist_provider.hooks.transport import LEMLIST_API as REAL_LEMLIST_URL
from lemlist_sandbox import DEMO_KEY, SandboxServer, free_port

from . import PROJECT, sqlite_connect
from .processes import ProcessGroup, stop_all
from .rest import TERMINAL_RUN_STATES, AirflowClient

ADMIN_USER = "admin"
COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")
AIRFLOW = str(Path(sys.executable).with_name("airflow"))  # this venv's, whatever PATH says
SQLITE_CONNECT_ARGS = f"{sqlite_connect.__name__}.CONNECT_ARGS"  # an import path, for [database]


@dataclass(frozen=True)
class LemlistTarget:
    """Where the deployment's ``lemlist_default`` connection points; ``sandbox`` when it is one of ours."""

    base_url: str
    api_key: str
    sandbox: SandboxServer | None = None


@contextlib.contextmanager
def lemlist_target(
    real_key: str | None, *, real_url: str | None = None, port: int = 0, time_scale: float = 1.0
) -> Iterator[LemlistTarget]:
    """The real lemlist when ``real_key`` is given, else a sandbox with the demo team, stopped on exit."""
    if real_key:
        yield LemlistTarget(real_url or REAL_LEMLIST_URL, real_key)
        return
    with SandboxServer(port=port, time_scale=time_scale) as sandbox:
        yield LemlistTarget(sandbox.base_url, DEMO_KEY, sandbox)


class LocalAirflow:
    """Airflow's components for one home; ``with`` (or ``start``/``stop``) runs and stops all of them.

    ``api_port=0`` picks a free port (tests, the demo); ``make up`` asks for 8080. Every DAG starts paused:
    callers unpause what they mean to run, so no schedule spends credits unasked.
    """

    def __init__(
        self,
        home: Path,
        lemlist: LemlistTarget,
        *,
        api_port: int = 0,
        executor: str = "LocalExecutor",
        sql_alchemy_conn: str | None = None,
        parallelism: int = 8,
        extra_env: dict[str, str] | None = None,
        echo: bool = False,
    ) -> None:
        self.home = Path(home).resolve()
        self.lemlist = lemlist
        self.api_port = api_port or free_port()
        self.executor = executor
        self.sql_alchemy_conn = sql_alchemy_conn or f"sqlite:///{self.home / 'airflow.db'}"
        self.parallelism = parallelism
        self.extra_env = extra_env or {}
        self.echo = echo
        self.log_server_ports = (free_port(), free_port())  # worker's, triggerer's: one pair for all
        #: the connection's webhook secret (airflow_settings.yaml): LEMLIST_WEBHOOK_SECRET, else a fresh one
        self.webhook_secret = os.environ.get("LEMLIST_WEBHOOK_SECRET") or secrets.token_urlsafe(24)
        self.groups: dict[str, ProcessGroup] = {}

    @property
    def ui_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def receiver_url(self) -> str:
        """Where lemlist's webhooks go: ``LEMLIST_WEBHOOK_RECEIVER_URL`` (a public URL in front of this API
        server), else this API server itself when lemlist is the local sandbox, else none."""
        local = f"{self.ui_url}/lemlist/webhooks" if self.lemlist.sandbox is not None else ""
        return os.environ.get("LEMLIST_WEBHOOK_RECEIVER_URL") or local

    @property
    def password_file(self) -> Path:
        return self.home / "simple_auth_manager_passwords.json.generated"

    @property
    def login(self) -> tuple[str, str]:
        """The admin login: the api-server generates the password once per home and keeps it there."""
        return ADMIN_USER, json.loads(self.password_file.read_text())[ADMIN_USER]

    @cached_property
    def client(self) -> AirflowClient:
        return AirflowClient(self.ui_url, *self.login)

    def env(self) -> dict[str, str]:
        """The environment of every process of this deployment: no AIRFLOW_* setting leaks in from outside."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
        env.update(
            {
                "AIRFLOW_HOME": str(self.home),
                "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT / "dags"),
                "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROJECT / "plugins"),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
                "AIRFLOW__CORE__EXECUTOR": self.executor,
                "AIRFLOW__CORE__PARALLELISM": str(self.parallelism),
                "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN_USER}:admin",
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.ui_url}/execution/",
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": self.sql_alchemy_conn,
                "AIRFLOW__API__HOST": "127.0.0.1",
                "AIRFLOW__API__PORT": str(self.api_port),
                "AIRFLOW__API__WORKERS": "1",
                # servers on ports of their own (or none), so that deployments side by side do not collide
                "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(self.log_server_ports[0]),
                "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(self.log_server_ports[1]),
                "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
                # new DAG files show up within seconds, not the default five minutes
                "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
                # read by airflow_settings.yaml; the incident notifier also scrubs LEMLIST_API_KEY
                "LEMLIST_BASE_URL": self.lemlist.base_url,
                "LEMLIST_API_KEY": self.lemlist.api_key,
                "LEMLIST_WEBHOOK_SECRET": self.webhook_secret,
                "AIRFLOW__LEMLIST__WEBHOOK_RECEIVER_URL": self.receiver_url,
                "NO_COLOR": "1",
                # a component that starts `airflow` or `python` gets this venv's
                "PATH": os.pathsep.join([str(Path(AIRFLOW).parent), os.environ.get("PATH", "")]),
            }
        )
        env.update(self.extra_env)
        # SQLite: every process waits up to 15 s for another's write lock instead of failing after 5 s
        if env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("sqlite"):
            for option in ("SQL_ALCHEMY_CONNECT_ARGS", "SQL_ALCHEMY_CONNECT_ARGS_ASYNC"):
                env.setdefault(f"AIRFLOW__DATABASE__{option}", SQLITE_CONNECT_ARGS)
        # with Celery, the broker's Redis also holds the key's shared send window (airflow_settings.yaml puts
        # LEMLIST_RATE_STORE in the connection's extra): every worker on every host takes slots from it
        broker = env.get("AIRFLOW__CELERY__BROKER_URL", "")
        if self.executor == "CeleryExecutor" and broker.startswith(("redis://", "rediss://")):
            env.setdefault("LEMLIST_RATE_STORE", broker)
        return env

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self, timeout: float = 240.0) -> LocalAirflow:
        self.home.mkdir(parents=True, exist_ok=True)
        try:
            self._say("migrating the metadata database and applying airflow_settings.yaml ...")
            for line in self.migrate().splitlines():
                if line.startswith(("migrated ", "applied ")):
                    self._say(f"  {line}")
            self._say(f"starting {', '.join(COMPONENTS)} on {self.ui_url} ...")
            for name in COMPONENTS:
                self.start_component(name, [name])
            self._wait_until_healthy(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def start_component(self, name: str, args: list[str], env: dict[str, str] | None = None) -> ProcessGroup:
        """``airflow <args>`` as one more process group, e.g. a Celery worker; log in ``<home>/<name>.log``."""
        group = ProcessGroup(
            name, [AIRFLOW, *args], {**self.env(), **(env or {})}, self.home / f"{name}.log", PROJECT
        )
        self.groups[name] = group
        return group

    def stop(self) -> None:
        stop_all(self.groups.values())
        self.groups.clear()
        self.__dict__.pop("client", None)

    def __enter__(self) -> LocalAirflow:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def pids(self) -> list[int]:
        """Every pid of every component (with their children), for stray checks."""
        return [pid for group in self.groups.values() for pid in group.members()]

    def log(self, name: str, chars: int = 4000) -> str:
        """The end of a component's log (it stays in the home after stop)."""
        path = self.home / f"{name}.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""

    def check_alive(self) -> None:
        for group in self.groups.values():
            if not group.alive():
                raise RuntimeError(f"airflow {group.name} exited; end of its log:\n{self.log(group.name)}")

    # -- runs --------------------------------------------------------------------------------------
    def wait_until(
        self, predicate: Callable[[], Any], timeout: float, what: str, interval: float = 1.0
    ) -> Any:
        """Poll ``predicate`` until it returns something true (returned), while every component lives."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            self.check_alive()
            time.sleep(interval)
        raise TimeoutError(f"{what}: not reached in {timeout:.0f} s; scheduler log:\n{self.log('scheduler')}")

    def wait_for_dags(self, dag_ids: Iterable[str], timeout: float = 180.0) -> dict[str, str]:
        """Wait until the dag-processor has parsed each DAG; returns ``{dag_id: problem}`` for missing ones.

        Once some DAGs are in, a missing one gets 30 more seconds, not the whole timeout.
        """
        pending, deadline, last_found = set(dag_ids), time.monotonic() + timeout, None
        while pending and time.monotonic() < deadline:
            for dag_id in sorted(pending):
                with contextlib.suppress(RuntimeError):
                    self.client.get(f"/dags/{dag_id}")
                    pending.discard(dag_id)
                    last_found = time.monotonic()
            if pending and last_found is not None and time.monotonic() - last_found > 30:
                break
            if pending:
                self.check_alive()
                time.sleep(1)
        errors = {e.get("filename", ""): e.get("stack_trace", "") for e in self.client.import_errors()}
        problems = {}
        for dag_id in pending:
            trace = next((trace for name, trace in errors.items() if dag_id in name), "").strip()
            problems[dag_id] = f"import error: {trace.splitlines()[-1]}" if trace else "no such DAG in dags/"
        return problems

    def trigger(self, dag_id: str, conf: dict | None = None) -> str:
        """Unpause ``dag_id`` and start a run with ``conf`` as the UI's trigger form does; returns its id."""
        self.client.unpause(dag_id)
        return self.client.trigger(dag_id, conf)

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float = 300.0, interval: float = 1.0) -> dict:
        """The run once it has finished (success or failed)."""
        return self.wait_until(
            lambda: (run := self.client.get_run(dag_id, run_id))["state"] in TERMINAL_RUN_STATES and run,
            timeout,
            f"{dag_id} run {run_id} finished",
            interval,
        )

    def _say(self, line: str) -> None:
        if self.echo:
            print(line, flush=True)

    def migrate(self) -> str:
        """``apply_settings.py --migrate`` in this deployment's environment (Airflow reads it at import): the
        metadata database migrated and ``airflow_settings.yaml`` applied, no component started."""
        self.home.mkdir(parents=True, exist_ok=True)
        script = PROJECT / "scripts" / "apply_settings.py"
        argv = [sys.executable, str(script), "--migrate", str(PROJECT / "airflow_settings.yaml")]
        result = subprocess.run(argv, env=self.env(), cwd=PROJECT, capture_output=True, text=True)
        if result.returncode:
            raise RuntimeError(f"apply_settings.py failed:\n{(result.stdout + result.stderr)[-3000:]}")
        return result.stdout

    def _wait_until_healthy(self, timeout: float) -> None:
        """Ready: the API answers, scheduler, dag-processor and triggerer heartbeat, the login exists."""
        deadline, last = time.monotonic() + timeout, "no answer"
        while time.monotonic() < deadline:
            self.check_alive()
            with contextlib.suppress(requests.RequestException, ValueError):
                health = requests.get(f"{self.ui_url}/api/v2/monitor/health", timeout=2).json()
                states = {
                    name: (health.get(name) or {}).get("status")
                    for name in ("metadatabase", "scheduler", "triggerer", "dag_processor")
                }
                last = ", ".join(f"{k}={v}" for k, v in states.items())
                if set(states.values()) == {"healthy"} and self.password_file.exists():
                    return
            time.sleep(1)
        raise TimeoutError(f"airflow not ready after {timeout:.0f} s ({last}); logs in {self.home}")
