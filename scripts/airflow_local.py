"""A local Airflow the way people meet it: the lemlist sandbox plus ``airflow standalone``, as child processes.

``make up``, ``make demo`` and the end-to-end tests share this one class so that what the tests prove is what a
newcomer runs. Every child runs in its own process group (``start_new_session``): stopping kills the whole
group (scheduler, dag-processor, api-server, triggerer, LocalExecutor workers, task supervisors), so nothing
is left behind after Ctrl-C or a failed test.

    with LocalAirflow(home=Path(".airflow")) as local:
        client = local.client()
        run = client.trigger("lemlist_account_overview", {})
        client.wait_for_run("lemlist_account_overview", run["dag_run_id"])

With ``LEMLIST_API_KEY`` in the environment the ``lemlist_default`` connection points at the real lemlist
(``LEMLIST_BASE_URL``, default ``https://api.lemlist.com/api``) and no sandbox is started.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "include"))
sys.path.insert(0, str(ROOT / "scripts"))

from lemlist_sandbox import DEMO_KEY, free_port  # noqa: E402

REAL_LEMLIST_URL = "https://api.lemlist.com/api"
CONTROL_TOKEN = "sandbox-control"
TERMINAL_RUN_STATES = {"success", "failed"}
ADMIN_USER = "admin"


def _venv_bin(name: str) -> str:
    """The executable next to this interpreter (the project's .venv), so PATH does not matter."""
    candidate = Path(sys.executable).parent / name
    return str(candidate) if candidate.exists() else name


class ProcessGroup:
    """One child process in a session of its own; ``stop()`` signals the whole group, then kills it."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log_path: Path) -> None:
        self.name = name
        self.log_path = log_path
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            argv,
            env=env,
            cwd=str(ROOT),
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.pgid = self.proc.pid  # a new session's leader: its pid is the group id

    def alive(self) -> bool:
        return self.proc.poll() is None

    def members(self) -> list[int]:
        """Pids still in this process group (read from /proc, so grandchildren count too)."""
        return [pid for pid in _all_pids() if _pgid(pid) == self.pgid]

    def stop(self, timeout: float = 20.0) -> None:
        for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pgid, sig)
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.proc.wait(timeout=0.2)
                if not self.members():
                    break
            if not self.members():
                break
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=1)
        self._log.close()

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def _all_pids() -> Iterable[int]:
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            yield int(entry)


def _pgid(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except (ProcessLookupError, PermissionError):
        return None


def processes_using(marker: str) -> list[int]:
    """Pids whose environment or command line mentions ``marker`` (an AIRFLOW_HOME): a stray-process check."""
    found = []
    needle = marker.encode()
    for pid in _all_pids():
        if pid == os.getpid():
            continue
        for name in ("environ", "cmdline"):
            try:
                if needle in Path(f"/proc/{pid}/{name}").read_bytes():
                    found.append(pid)
                    break
            except OSError:
                continue
    return found


class AirflowClient:
    """The few REST calls the demo and the tests need, with the token the UI's login would give."""

    def __init__(self, base_url: str, username: str, password: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = requests.Session()
        response = self.session.post(
            f"{self.base_url}/auth/token", json={"username": username, "password": password}, timeout=30
        )
        response.raise_for_status()
        self.session.headers["Authorization"] = f"Bearer {response.json()['access_token']}"

    #: SQLite (standalone's metadata DB) answers "database is locked" when the scheduler and the
    #: dag-processor write at the same moment; the API server turns that into a 500 "Database error" after
    #: rolling the transaction back, so the same request can be sent again safely.
    DB_ERROR_ATTEMPTS = 5

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        for attempt in range(1, self.DB_ERROR_ATTEMPTS + 1):
            response = self.session.request(method, f"{self.base_url}/api/v2{path}", timeout=30, **kwargs)
            locked = response.status_code == 500 and "Database error" in response.text
            if not locked or attempt == self.DB_ERROR_ATTEMPTS:
                break
            print(
                f"{method} {path}: metadata DB busy (attempt {attempt}); retrying in {attempt} s", flush=True
            )
            time.sleep(attempt)
        if response.status_code >= 400:
            raise RuntimeError(f"{method} {path} -> {response.status_code}: {response.text[:500]}")
        return response.json() if response.content else None

    def get(self, path: str, **params: Any) -> Any:
        """Any read of the public API, e.g. ``get("/pools/lemlist_api")``."""
        return self._call("GET", path, params=params or None)

    def get_dag(self, dag_id: str) -> dict:
        return self._call("GET", f"/dags/{dag_id}")

    def import_errors(self) -> list[dict]:
        return self._call("GET", "/importErrors").get("import_errors", [])

    def unpause(self, dag_id: str) -> dict:
        return self._call("PATCH", f"/dags/{dag_id}", json={"is_paused": False})

    def trigger(self, dag_id: str, conf: dict | None = None) -> dict:
        """Exactly what the UI's trigger button sends."""
        return self._call("POST", f"/dags/{dag_id}/dagRuns", json={"logical_date": None, "conf": conf or {}})

    def list_runs(self, dag_id: str) -> list[dict]:
        return self._call("GET", f"/dags/{dag_id}/dagRuns", params={"order_by": "-start_date"})["dag_runs"]

    def get_run(self, dag_id: str, run_id: str) -> dict:
        return self._call("GET", f"/dags/{dag_id}/dagRuns/{run_id}")

    def task_instances(self, dag_id: str, run_id: str) -> list[dict]:
        return self._call("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances", params={"limit": 1000})[
            "task_instances"
        ]

    def xcom(self, dag_id: str, run_id: str, task_id: str, key: str = "return_value") -> Any:
        """The XCom value as the task returned it (``deserialize=true`` gives JSON, not a repr string)."""
        entry = self._call(
            "GET",
            f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries/{key}",
            params={"deserialize": "true", "stringify": "false"},
        )
        return entry.get("value")

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float = 300.0, poll: float = 1.0) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            run = self.get_run(dag_id, run_id)
            if run["state"] in TERMINAL_RUN_STATES:
                return run
            if time.monotonic() > deadline:
                raise TimeoutError(f"{dag_id} run {run_id} still {run['state']} after {timeout:.0f} s")
            time.sleep(poll)


class LocalAirflow:
    """The lemlist sandbox (unless a real key is set) and ``airflow standalone`` for one AIRFLOW_HOME.

    ``api_port``/``sandbox_port`` of 0 pick free ports (tests); ``make up`` passes 8080/8089.
    """

    def __init__(
        self,
        home: Path,
        *,
        api_port: int = 0,
        sandbox_port: int = 0,
        time_scale: float = 0.05,
        settings_file: Path = ROOT / "airflow_settings.yaml",
        parallelism: int = 8,
        extra_env: dict[str, str] | None = None,
        echo: bool = False,
        sandbox: bool | None = None,
        unpause_dags: bool = True,
    ) -> None:
        """``sandbox=None`` follows the environment (a ``LEMLIST_API_KEY`` means the real lemlist);
        tests pass ``True`` so a key in a developer's shell never sends test traffic to lemlist.
        ``unpause_dags=False`` keeps Airflow's default (new DAGs paused): the demo unpauses only what it runs,
        so no other DAG's schedule fires during the tour."""
        self.unpause_dags = unpause_dags
        self.home = Path(home).resolve()
        self.api_port = api_port or free_port()
        self.time_scale = time_scale
        self.settings_file = settings_file
        self.parallelism = parallelism
        self.extra_env = extra_env or {}
        self.echo = echo
        self.real_key = None if sandbox else (os.environ.get("LEMLIST_API_KEY") or None)
        self.sandbox_port = None if self.real_key else (sandbox_port or free_port())
        self.sandbox: ProcessGroup | None = None
        self.airflow: ProcessGroup | None = None
        self._client: AirflowClient | None = None

    # -- addresses -------------------------------------------------------------------------------
    @property
    def ui_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def lemlist_base_url(self) -> str:
        if self.real_key:
            return os.environ.get("LEMLIST_BASE_URL") or REAL_LEMLIST_URL
        return f"http://127.0.0.1:{self.sandbox_port}/api"

    @property
    def sandbox_root(self) -> str | None:
        return None if self.real_key else f"http://127.0.0.1:{self.sandbox_port}"

    @property
    def api_key(self) -> str:
        return self.real_key or DEMO_KEY

    @property
    def password_file(self) -> Path:
        return self.home / "simple_auth_manager_passwords.json.generated"

    @property
    def login(self) -> tuple[str, str]:
        """The admin login: standalone generates the password once per AIRFLOW_HOME and keeps it."""
        return ADMIN_USER, json.loads(self.password_file.read_text())[ADMIN_USER]

    # -- environment -----------------------------------------------------------------------------
    def env(self) -> dict[str, str]:
        """The environment every Airflow process of this instance gets (ports are per instance)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
        env.update(
            {
                "AIRFLOW_HOME": str(self.home),
                "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
                "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
                "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
                "AIRFLOW__CORE__PARALLELISM": str(self.parallelism),
                "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": str(not self.unpause_dags),
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN_USER}:admin",
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.ui_url}/execution/",
                "AIRFLOW__API__HOST": "127.0.0.1",
                "AIRFLOW__API__PORT": str(self.api_port),
                "AIRFLOW__API__WORKERS": "1",
                "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
                "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
                "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
                # New DAG files show up within seconds, not the default five minutes.
                "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "10",
                "PYTHONPATH": os.pathsep.join(
                    p for p in (str(ROOT / "include"), os.environ.get("PYTHONPATH", "")) if p
                ),
                "LEMLIST_BASE_URL": self.lemlist_base_url,
                "LEMLIST_API_KEY": self.api_key,
                "NO_COLOR": "1",
                # standalone starts its components as plain `airflow`: it must be this venv's.
                "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
            }
        )
        env.update(self.extra_env)
        return env

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self, timeout: float = 180.0) -> LocalAirflow:
        self.home.mkdir(parents=True, exist_ok=True)
        try:
            if not self.real_key:
                self._start_sandbox()
            self._say("migrating the metadata database and applying airflow_settings.yaml ...")
            output = self._run_script("apply_settings.py", "--migrate", str(self.settings_file))
            for line in output.splitlines():
                if line.startswith(("applied ", "migrated ")):
                    self._say(f"  {line}")
            self._say(f"starting airflow standalone on {self.ui_url} ...")
            self.airflow = ProcessGroup(
                "airflow", [_venv_bin("airflow"), "standalone"], self.env(), self.home / "standalone.log"
            )
            self._wait_for_api(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        for group in (self.airflow, self.sandbox):
            if group is not None:
                group.stop()
        self.airflow = self.sandbox = None
        self._client = None

    def __enter__(self) -> LocalAirflow:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def pids(self) -> list[int]:
        """Every pid this instance started (both process groups), for stray checks."""
        return [pid for group in (self.airflow, self.sandbox) if group for pid in group.members()]

    # -- REST ------------------------------------------------------------------------------------
    def client(self) -> AirflowClient:
        if self._client is None:
            user, password = self.login
            self._client = AirflowClient(self.ui_url, user, password)
        return self._client

    def wait_for_dags(self, dag_ids: Iterable[str], timeout: float = 120.0) -> dict[str, str]:
        """Wait until the dag-processor has parsed each DAG; returns {dag_id: problem} for the missing ones."""
        pending = set(dag_ids)
        deadline = time.monotonic() + timeout
        client = self.client()
        last_found = (
            None  # once some DAGs are in, a missing one gets `quiet` more seconds, not the whole timeout
        )
        quiet = 30.0
        while pending and time.monotonic() < deadline:
            for dag_id in sorted(pending):
                with contextlib.suppress(RuntimeError):
                    client.get_dag(dag_id)
                    pending.discard(dag_id)
                    last_found = time.monotonic()
            if pending:
                if last_found is not None and time.monotonic() - last_found > quiet:
                    break
                self.check_alive()
                time.sleep(1)
        problems = {}
        if pending:
            errors = {e.get("filename", ""): e.get("stack_trace", "") for e in client.import_errors()}
            for dag_id in pending:
                detail = next((trace for name, trace in errors.items() if dag_id in name), "")
                problems[dag_id] = (
                    f"import error: {detail.strip().splitlines()[-1]}" if detail else "no such DAG in dags/"
                )
        return problems

    # -- sandbox ---------------------------------------------------------------------------------
    def sandbox_get(self, path: str, *, control: bool = False, key: str | None = None, **params: Any) -> Any:
        """GET on the sandbox: ``/_sandbox/...`` control routes or ``/api/...`` with a team's key."""
        if self.real_key:
            raise RuntimeError("no sandbox: LEMLIST_API_KEY points this instance at the real lemlist")
        headers = {"X-Sandbox-Token": CONTROL_TOKEN} if control else {}
        auth = None if control else ("", key or DEMO_KEY)
        response = requests.get(
            f"{self.sandbox_root}{path}", headers=headers, auth=auth, params=params, timeout=10
        )
        response.raise_for_status()
        return response.json()

    def sandbox_stats(self) -> dict:
        return self.sandbox_get("/_sandbox/stats", control=True)

    # -- internals -------------------------------------------------------------------------------
    def _say(self, line: str) -> None:
        if self.echo:
            print(line, flush=True)

    def _start_sandbox(self) -> None:
        self._say(f"starting the lemlist sandbox on {self.lemlist_base_url} ...")
        argv = [
            sys.executable,
            "-m",
            "lemlist_sandbox",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.sandbox_port),
        ]
        argv += ["--seed", "demo", "--time-scale", str(self.time_scale)]
        self.sandbox = ProcessGroup("sandbox", argv, self.env(), self.home / "sandbox.log")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(requests.RequestException):
                requests.get(f"{self.sandbox_root}/_sandbox/health", timeout=1).raise_for_status()
                return
            if not self.sandbox.alive():
                raise RuntimeError(f"the lemlist sandbox exited at start:\n{self.sandbox.tail()}")
            time.sleep(0.2)
        raise RuntimeError("the lemlist sandbox did not answer within 30 s")

    def _run_script(self, script: str, *args: str) -> str:
        result = subprocess.run(
            [sys.executable, str(ROOT / "scripts" / script), *args],
            env=self.env(),
            cwd=str(ROOT),
            capture_output=True,
            text=True,
            start_new_session=True,
        )
        if result.returncode:
            raise RuntimeError(f"{script} failed:\n{(result.stdout + result.stderr)[-3000:]}")
        return result.stdout

    def check_alive(self) -> None:
        for group in (self.airflow, self.sandbox):
            if group is not None and not group.alive():
                raise RuntimeError(
                    f"{group.name} exited unexpectedly; last lines of {group.log_path}:\n{group.tail()}"
                )
        # standalone keeps running when a component fails to start: its thread's traceback is the only sign.
        if self.airflow is not None and "Exception in thread" in self.airflow.tail(400):
            raise RuntimeError(
                f"an airflow component failed to start; see {self.airflow.log_path}:\n{self.airflow.tail()}"
            )

    def _wait_for_api(self, timeout: float) -> None:
        """Ready = the API answers, the password file exists, and scheduler, dag-processor, triggerer heartbeat."""
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                health = requests.get(f"{self.ui_url}/api/v2/monitor/health", timeout=2).json()
                states = {
                    name: (health.get(name) or {}).get("status")
                    for name in ("metadatabase", "scheduler", "triggerer", "dag_processor")
                }
                last = ", ".join(f"{k}={v}" for k, v in states.items())
                if all(v == "healthy" for v in states.values()) and self.password_file.exists():
                    return
            except (requests.RequestException, ValueError):
                pass
            time.sleep(1)
        raise TimeoutError(
            f"airflow standalone not ready after {timeout:.0f} s ({last}); see {self.airflow.log_path}"
        )
