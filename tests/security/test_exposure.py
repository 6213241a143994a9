"""Exposure defaults: docker-compose publishes the sandbox (and, unless told, the UI) on loopback only, and a
real key given without a base URL goes to lemlist's real API, never to the sandbox's address."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
REAL_API = "https://api.lemlist.com/api"
_DEFAULTED = re.compile(r"\$\{([A-Z0-9_]+):-([^}]*)\}")


@pytest.fixture(scope="module")
def services() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yaml").read_text())["services"]


def _published(service: dict, environ: dict[str, str]) -> list[str]:
    """The host side of each port, as compose interpolates it (``${VAR:-default}``)."""
    ports = []
    for port in service.get("ports") or []:
        text = _DEFAULTED.sub(lambda m: environ.get(m.group(1)) or m.group(2), str(port))
        ports.append(text.rsplit(":", 1)[0])
    return ports


def test_compose_publishes_the_sandbox_on_loopback_only(services):
    for environ in ({}, {"LEMLIST_SANDBOX_PORT": "9000", "AIRFLOW_API_BIND": "0.0.0.0"}):
        assert _published(services["lemlist-sandbox"], environ) == [
            f"127.0.0.1:{environ.get('LEMLIST_SANDBOX_PORT', '8089')}"
        ]
    # the UI / REST API / webhook receiver: loopback unless the admin says otherwise
    assert _published(services["airflow-apiserver"], {}) == ["127.0.0.1:8080"]
    assert _published(services["airflow-apiserver"], {"AIRFLOW_API_BIND": "10.0.0.5"}) == ["10.0.0.5:8080"]
    for name, service in services.items():  # nothing else is published at all
        if name not in ("lemlist-sandbox", "airflow-apiserver"):
            assert not service.get("ports"), name


@pytest.fixture(scope="module")
def apply_settings():
    spec = importlib.util.spec_from_file_location("apply_settings", ROOT / "scripts" / "apply_settings.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _lemlist_default(apply_settings, environ: dict[str, str]) -> dict:
    settings = apply_settings.load_settings(ROOT / "airflow_settings.yaml", environ)
    (conn,) = [c for c in settings["connections"] if c["conn_id"] == "lemlist_default"]
    return conn


def test_a_key_without_a_base_url_goes_to_the_real_api(apply_settings):
    conn = _lemlist_default(apply_settings, {"LEMLIST_API_KEY": "real-key-123"})
    assert conn["conn_host"] == REAL_API and conn["conn_password"] == "real-key-123"
    conn = _lemlist_default(apply_settings, {"LEMLIST_API_KEY": "real-key-123", "LEMLIST_BASE_URL": ""})
    assert conn["conn_host"] == REAL_API  # compose passes an unset variable as an empty one
    # no key: the local sandbox and its demo key; both given: as given
    conn = _lemlist_default(apply_settings, {})
    assert (
        conn["conn_host"].startswith("http://127.0.0.1:8089") and conn["conn_password"] == "sandbox-api-key"
    )
    conn = _lemlist_default(
        apply_settings, {"LEMLIST_API_KEY": "k", "LEMLIST_BASE_URL": "http://127.0.0.1:9999/api"}
    )
    assert conn["conn_host"] == "http://127.0.0.1:9999/api"


def _init_base_url(services, environ: dict[str, str]) -> str:
    """``LEMLIST_BASE_URL`` after the airflow-init service's own shell lines (before ``exec /entrypoint``)."""
    script = services["airflow-init"]["command"][-1].replace("$$", "$")
    prelude = script.split("exec /entrypoint", 1)[0].replace("mkdir -p", "true")
    env = {"PATH": os.environ["PATH"], "LEMLIST_API_KEY": "", "LEMLIST_BASE_URL": "", **environ}
    done = subprocess.run(["bash", "-c", prelude + '\nprintf "\\nURL=%s" "$LEMLIST_BASE_URL"'], env=env,
                          capture_output=True, text=True, check=True)  # fmt: skip
    return done.stdout.rpartition("\nURL=")[2]


def test_compose_init_with_a_key_ends_at_the_real_api(services, apply_settings):
    for environ, host in (
        ({"LEMLIST_API_KEY": "real-key-123"}, REAL_API),
        ({}, "http://lemlist-sandbox:8089/api"),
        (
            {"LEMLIST_API_KEY": "k", "LEMLIST_BASE_URL": "https://proxy.example/api"},
            "https://proxy.example/api",
        ),
    ):
        url = _init_base_url(services, environ)
        applied = {**environ, "LEMLIST_BASE_URL": url}
        assert _lemlist_default(apply_settings, applied)["conn_host"] == host, environ
