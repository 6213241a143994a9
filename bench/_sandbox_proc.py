"""Start the sandbox as a separate process (so the client's GIL never slows the server) for benchmarks."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
PYTHON = (
    str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv" / "bin" / "python").exists() else sys.executable
)
CONTROL = {"X-Sandbox-Token": "sandbox-control"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SandboxProcess:
    def __init__(self, *, rate_limit: int = 20, rate_window: float = 2.0) -> None:
        self.port = _free_port()
        self.rate_limit = rate_limit
        self.rate_window = rate_window
        self.proc: subprocess.Popen | None = None

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.root}/api"

    def __enter__(self) -> SandboxProcess:
        env = dict(os.environ, PYTHONPATH=str(ROOT / "include"))
        self.proc = subprocess.Popen(
            [PYTHON, "-m", "lemlist_sandbox", "--port", str(self.port), "--seed", "empty",
             "--rate-limit", str(self.rate_limit), "--rate-window", str(self.rate_window)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.root}/_sandbox/health", timeout=1).ok:
                    return self
            except requests.RequestException:
                time.sleep(0.1)
        self.__exit__()
        raise RuntimeError("sandbox process did not start")

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()

    def new_team(self) -> str:
        key = f"bench-{uuid.uuid4().hex[:12]}"
        r = requests.post(
            f"{self.root}/_sandbox/teams", json={"api_key": key, "seed": "empty"}, headers=CONTROL, timeout=10
        )
        r.raise_for_status()
        return key

    def stats(self) -> dict:
        return requests.get(f"{self.root}/_sandbox/stats", headers=CONTROL, timeout=10).json()

    def reset_counters(self) -> None:
        requests.post(
            f"{self.root}/_sandbox/reset", json={"data": False}, headers=CONTROL, timeout=10
        ).raise_for_status()


def lemlist_conn_env(conn_id: str, base_url: str, key: str, **extra) -> None:
    from lemlist_sandbox import connection_json

    os.environ[f"AIRFLOW_CONN_{conn_id.upper()}"] = connection_json(base_url, key, **extra)
