"""Run the sandbox in-process on a background thread (tests, benchmarks, demo) or as a CLI server."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import requests
import uvicorn

from .app import create_app
from .config import Faults, SandboxConfig
from .seed import DEMO_KEY


def connection_json(base_url: str, key: str, **extra: Any) -> str:
    """A ``lemlist`` Airflow connection as JSON, for ``AIRFLOW_CONN_<ID>`` variables pointing at a sandbox.

    The extra defaults to lemlist's real budget (20 requests / 2 s); pass ``rate_limit=0`` to turn pacing off.
    """
    import json

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


class SandboxServer:
    """A real HTTP lemlist sandbox on loopback.

    >>> with SandboxServer(time_scale=0.01) as sandbox:
    ...     sandbox.base_url        # "http://127.0.0.1:PORT/api": put this in the connection host
    ...     sandbox.stats()         # what the sandbox saw
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        seed: str = "demo",
        rate_limit: int = 20,
        rate_window: float = 2.0,
        time_scale: float = 1.0,
        faults: Faults | None = None,
        control_token: str = "sandbox-control",
        **config: Any,
    ) -> None:
        self.host = host
        self.port = port or free_port(host)
        self.config = SandboxConfig(
            rate_limit=rate_limit,
            rate_window=rate_window,
            time_scale=time_scale,
            control_token=control_token,
            seed=seed,
            faults=faults or Faults(),
            **config,
        )
        self.app = create_app(self.config)
        self.sandbox = self.app.state.sandbox
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
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

    def start(self, timeout: float = 15.0) -> SandboxServer:
        cfg = uvicorn.Config(
            self.app,
            host=self.host,
            port=self.port,
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_keep_alive=30,
            backlog=2048,
        )
        self._server = uvicorn.Server(cfg)
        self._thread = threading.Thread(
            target=self._server.run, name=f"lemlist-sandbox-{self.port}", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._server.started:
                return self
            if not self._thread.is_alive():
                break
            time.sleep(0.02)
        raise RuntimeError(f"lemlist sandbox did not start on {self.root_url}")

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._control.close()

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- control routes over real HTTP -------------------------------------------------------------
    def _call(self, method: str, path: str, json: Any = None) -> Any:
        response = self._control.request(method, f"{self.root_url}/_sandbox{path}", json=json, timeout=10)
        response.raise_for_status()
        return response.json()

    def stats(self) -> dict:
        return self._call("GET", "/stats")

    def reset(self, *, data: bool = True) -> None:
        self._call("POST", "/reset", {"data": data})

    def set_faults(self, **settings: Any) -> dict:
        return self._call("POST", "/faults", settings)

    def create_team(
        self, api_key: str, *, name: str = "Test team", credits: int = 1000, seed: str = "empty"
    ) -> dict:
        return self._call(
            "POST", "/teams", {"api_key": api_key, "name": name, "credits": credits, "seed": seed}
        )

    def team_id(self, api_key: str = DEMO_KEY) -> str:
        team = self.team(api_key)
        if team is None:
            raise KeyError("no team for that key")
        return team.id

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

    def team(self, api_key: str = DEMO_KEY):
        """Direct access to a team's in-memory state, for assertions in in-process tests."""
        return self.sandbox.world.team_for_key(api_key)
