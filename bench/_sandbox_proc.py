"""The sandbox as a process of its own for benchmarks (the client's GIL never slows the server).

A thin layer over the package's one launcher, ``SandboxServer(in_process=False)``.
"""

from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path
from typing import Any

from lemlist_sandbox import SandboxServer, connection_json

ROOT = Path(__file__).resolve().parents[1]


PYTHON = (
    str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv" / "bin" / "python").exists() else sys.executable
)


class SandboxProcess(SandboxServer):
    """``python -m lemlist_sandbox`` on a free port, seed ``empty``; ``kind`` is the rate window's kind and
    ``options`` are ``SandboxServer``'s (``rate_limit``, ``rate_window``, ...: the same defaults)."""

    def __init__(self, *, seed: str = "empty", kind: str = "sliding", **options: Any) -> None:
        super().__init__(seed=seed, rate_window_kind=kind, in_process=False, python=PYTHON, **options)

    @property
    def root(self) -> str:
        return self.root_url

    def new_team(self) -> str:
        key = f"bench-{uuid.uuid4().hex[:12]}"
        self.create_team(key)
        return key

    def reset_counters(self) -> None:
        self.reset(data=False)


def lemlist_conn_env(conn_id: str, base_url: str, key: str, **extra) -> None:
    os.environ[f"AIRFLOW_CONN_{conn_id.upper()}"] = connection_json(base_url, key, **extra)
