"""End-to-end fixtures: what ``make up`` starts (Airflow's components and the lemlist sandbox), and Chromium.

``local_airflow`` enters ``lemlist_dev.up.running``, the code path of ``make up``, with a throw-away
AIRFLOW_HOME and free ports, so these tests never touch ``.airflow/``, never clash with a running ``make up``
and never reach the real lemlist, whatever ``LEMLIST_API_KEY`` says.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from lemlist_dev.deployment import LocalAirflow
from lemlist_dev.processes import processes_using
from lemlist_dev.up import running

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def find_chromium() -> str | None:
    """Debian's Chromium (``make browser`` installs it); tests never download a browser."""
    for candidate in (os.environ.get("CHROMIUM_PATH"), "/usr/bin/chromium", shutil.which("chromium")):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


@pytest.fixture(scope="session")
def chromium() -> dict:
    """Playwright launch options for Debian's Chromium, headless, quiet (no background network calls)."""
    path = find_chromium()
    if path is None:
        pytest.skip("Chromium not found at /usr/bin/chromium: `make browser` installs Debian's chromium")
    return {"executable_path": path, "headless": True, "args": CHROMIUM_FLAGS}


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def local_airflow(tmp_path: Path) -> Iterator[LocalAirflow]:
    """``make up``'s sandbox and Airflow; stopped after the test, and checked for stray processes."""
    home = tmp_path / "airflow-home"
    # the admin's input roots: the project's data and the test's own folder (the UI test writes its CSV there)
    roots = {"AIRFLOW__LEMLIST__INPUT_ROOTS": f"include/data,{tmp_path}"}
    with running(home, time_scale=0.02, extra_env=roots) as local:
        yield local
    strays = processes_using(str(home))
    assert not strays, f"processes left behind after stop(): {strays}"
