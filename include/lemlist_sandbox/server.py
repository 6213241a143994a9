"""The one way to start the sandbox: in this process on a thread, or as a process of its own, or the CLI.

``SandboxServer`` (tests, benchmarks, the demo) and ``python -m lemlist_sandbox`` share ``http_server``
(uvicorn with the same settings) and ``_wait_until`` (the same start-up wait). With ``in_process=False``
the server runs ``python -m lemlist_sandbox`` as a child process, so the client's GIL never slows the
server (benchmarks); everything else works the same over the control routes.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests
import uvicorn

from .app import create_app
from .config import Faults, SandboxConfig
from .seed import DEMO_KEY

PACKAGE_ROOT = Path(__file__).resolve().parents[1]  # the directory that holds lemlist_sandbox


def connection_json(base_url: str, key: str, **extra: Any) -> str:
    """A ``lemlist`` Airflow connection as JSON, for ``AIRFLOW_CONN_<ID>`` variables pointing at a sandbox.

    The extra defaults to lemlist's real budget (20 requests / 2 s); pass ``rate_limit=0`` to turn pacing off.
    """
    return json.dumps(
        {
            "conn_type": "lemlist",
            "host": base_url,
            "password": key,
            "extra": {"rate_limit": 20, "rate_window": 2.0, **extra},
        }
    )


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def http_server(app: Any, host: str, port: int) -> uvicorn.Server:
    """uvicorn serving the sandbox app: the settings every way of starting shares."""
    return uvicorn.Server(
        uvicorn.Config(
            app,
            host=host,
            port=port,
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_keep_alive=30,
            backlog=2048,
        )
    )


def _wait_until(ready: Callable[[], bool], alive: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and alive():
        if ready():
            return
        time.sleep(0.05)
    raise RuntimeError(f"lemlist sandbox did not start on {what}")


class SandboxServer:
    """A real HTTP lemlist sandbox on loopback.

    >>> with SandboxServer(time_scale=0.01) as sandbox:
    ...     sandbox.base_url        # "http://127.0.0.1:PORT/api": put this in the connection host
    ...     sandbox.stats()         # what the sandbox saw

    ``in_process=False`` runs it as a child process (``python`` names the interpreter); then ``team()``,
    which reads the in-memory state, is not available.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        seed: str = "demo",
        rate_limit: int = 20,
        rate_window: float = 2.0,
        rate_window_kind: str = "sliding",
        time_scale: float = 1.0,
        faults: Faults | None = None,
        control_token: str = "sandbox-control",
        in_process: bool = True,
        python: str = sys.executable,
        **config: Any,
    ) -> None:
        self.host = host
        self.port = port or free_port(host)
        self.config = SandboxConfig(
            rate_limit=rate_limit,
            rate_window=rate_window,
            rate_window_kind=rate_window_kind,
            time_scale=time_scale,
            control_token=control_token,
            seed=seed,
            faults=faults or Faults(),
            **config,
        )
        self.in_process = in_process
        self.python = python
        self.app = create_app(self.config) if in_process else None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._process: subprocess.Popen | None = None
        self._control = requests.Session()
        self._control.headers["X-Sandbox-Token"] = control_token

    # -- lifecycle -------------------------------------------------------------------------------
    @property
    def root_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.root_url}/api"

    @property
    def api_key(self) -> str:
        return DEMO_KEY

    @property
    def sandbox(self):
        """The in-process sandbox state (config, world, stats)."""
        if self.app is None:
            raise RuntimeError("the sandbox state is only reachable in process (in_process=True)")
        return self.app.state.sandbox

    def start(self, timeout: float = 30.0) -> SandboxServer:
        if self.in_process:
            self._server = http_server(self.app, self.host, self.port)
            self._thread = threading.Thread(
                target=self._server.run, name=f"lemlist-sandbox-{self.port}", daemon=True
            )
            self._thread.start()
            _wait_until(lambda: self._server.started, self._thread.is_alive, timeout, self.root_url)
            return self
        path = os.pathsep.join(filter(None, [str(PACKAGE_ROOT), os.environ.get("PYTHONPATH")]))
        self._process = subprocess.Popen(
            [self.python, "-m", "lemlist_sandbox", *self._cli_args()],
            env={**os.environ, "PYTHONPATH": path},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            _wait_until(self._healthy, lambda: self._process.poll() is None, timeout, self.root_url)
            settings = self.config.runtime_settings()
            self.set_faults(**settings.pop("faults"), **settings)
        except BaseException:
            self.stop()
            raise
        return self

    def _cli_args(self) -> list[str]:
        """What the child process needs at start; every other setting follows over ``/_sandbox/faults``."""
        cfg = self.config
        return [
            "--host", self.host, "--port", str(self.port), "--seed", cfg.seed,
            "--control-token", cfg.control_token, "--rate-limit", str(cfg.rate_limit),
            "--rate-window", str(cfg.rate_window), "--rate-window-kind", cfg.rate_window_kind,
        ]  # fmt: skip

    def _healthy(self) -> bool:
        try:
            return self._control.get(f"{self.root_url}/_sandbox/health", timeout=1).ok
        except requests.RequestException:
            return False

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self.app is not None:
            self.sandbox.sender.close()
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
        self._control.close()

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- control routes over real HTTP -------------------------------------------------------------
    def _call(self, method: str, path: str, json: Any = None, params: dict | None = None) -> Any:
        response = self._control.request(
            method, f"{self.root_url}/_sandbox{path}", json=json, params=params, timeout=10
        )
        response.raise_for_status()
        return response.json()

    def stats(self) -> dict:
        return self._call("GET", "/stats")

    def requests(self, team_id: str | None = None, since: float = 0.0) -> dict:
        """Each answered ``/api`` request (time, team, route template, status), oldest first."""
        return self._call("GET", "/requests", params={"team_id": team_id, "since": since})

    def reset(self, *, data: bool = True) -> None:
        self._call("POST", "/reset", {"data": data})

    def set_faults(self, **settings: Any) -> dict:
        """Faults, timings and the rate budget (``rate_limit``, ``rate_window``, ``rate_window_kind``)."""
        return self._call("POST", "/faults", settings)

    def create_team(
        self, api_key: str, *, name: str = "Test team", credits: int = 1000, seed: str = "empty"
    ) -> dict:
        return self._call(
            "POST", "/teams", {"api_key": api_key, "name": name, "credits": credits, "seed": seed}
        )

    def team_id(self, api_key: str = DEMO_KEY) -> str:
        return self._call("GET", "/teams", params={"api_key": api_key})["team_id"]

    def set_team_flags(self, api_key: str, **flags: bool) -> dict:
        """``blocked``, ``plan_gated``, ``reject_v2_unsubscribes``, ``campaigns_object_shape``."""
        return self._call("POST", f"/teams/{self.team_id(api_key)}/flags", flags)

    def fail_export(self, api_key: str, export_id: str, reason: str = "Export failed") -> dict:
        return self._call(
            "POST", f"/teams/{self.team_id(api_key)}/exports/{export_id}/fail", {"reason": reason}
        )

    def expire_export(self, api_key: str, export_id: str) -> dict:
        return self._call("POST", f"/teams/{self.team_id(api_key)}/exports/{export_id}/expire", {})

    def add_synthetic_leads(self, api_key: str, campaign_id: str, count: int) -> dict:
        """Give a campaign ``count`` leads that exist only as streamed export rows (for big exports)."""
        return self._call(
            "POST",
            f"/teams/{self.team_id(api_key)}/campaigns/{campaign_id}/synthetic-leads",
            {"count": count},
        )

    def add_history(self, api_key: str = DEMO_KEY, **options: Any) -> dict:
        """Realistic volumes for the team of ``api_key``: ``activities``, ``campaigns``, ``days``, ``end`` ...
        (``history.add_history``)."""
        return self._call("POST", f"/teams/{self.team_id(api_key)}/history", options)

    def webhooks(self, attempts: int = 0) -> dict:
        """The webhook sender's counters (``in_flight``, ``delivered``, ``retries`` ...) and its last attempts."""
        return self._call("GET", "/webhooks", params={"attempts": attempts})

    def emit(self, event_type: str, api_key: str = DEMO_KEY, **body: Any) -> dict:
        """Emit an event as if it happened (``lead_id``/``email``, ``campaign_id``, ``fields``, ``count``)."""
        return self._call("POST", "/webhooks/emit", {"type": event_type, "api_key": api_key, **body})

    def wait_for_webhooks(self, timeout: float = 60.0) -> dict:
        """The counters once nothing is left to send or retry; ``TimeoutError`` after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while (stats := self.webhooks())["in_flight"] and time.monotonic() < deadline:
            time.sleep(0.1)
        if stats["in_flight"]:
            raise TimeoutError(f"webhooks still in flight after {timeout:.0f} s: {stats}")
        return stats

    def team(self, api_key: str = DEMO_KEY):
        """Direct access to a team's in-memory state, for assertions in in-process tests."""
        return self.sandbox.world.team_for_key(api_key)
