"""Structure of ``docker-compose.yaml`` and the ``Dockerfile``: no Docker engine runs here, so the files are
parsed and checked for what the production shape needs (Celery topology, shared volumes, healthchecks,
start order, an optional sandbox, no secret in the files, the same Airflow version everywhere).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yaml"
DOCKERFILE = ROOT / "Dockerfile"

AIRFLOW_SERVICES = {
    "airflow-init": None,
    "airflow-apiserver": "api-server",
    "airflow-scheduler": "scheduler",
    "airflow-dag-processor": "dag-processor",
    "airflow-triggerer": "triggerer",
    "airflow-worker": "celery worker",
}
LONG_RUNNING = [name for name in AIRFLOW_SERVICES if name != "airflow-init"] + ["postgres", "redis"]
MOUNTS = {"dags": "/opt/airflow/dags", "plugins": "/opt/airflow/plugins", "include": "/opt/airflow/include"}
_REF = re.compile(r"^\$\{([A-Z0-9_]+)(:?-[^}]*)?\}$")
_DEFAULTED = re.compile(r"\$\{([A-Z0-9_]+):-([^}]*)\}")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


@pytest.fixture(scope="module")
def services(compose) -> dict:
    return compose["services"]


def _defaults(value: str) -> str:
    """What compose makes of ``${VAR:-default}`` when VAR is unset."""
    return _DEFAULTED.sub(lambda m: m.group(2), value)


def _env(service: dict) -> dict:
    env = service.get("environment") or {}
    assert isinstance(env, dict), "environment must be a mapping (the x-airflow-common anchor merges it)"
    return env


def _command(service: dict) -> str:
    command = service.get("command")
    return " ".join(command) if isinstance(command, list) else str(command or "")


def test_every_service_of_the_celery_topology_exists(services):
    assert set(AIRFLOW_SERVICES) | {"postgres", "redis", "lemlist-sandbox"} <= set(services)
    for name, command in AIRFLOW_SERVICES.items():
        if command:
            assert _command(services[name]).strip() == command, name


def test_images_builds_and_backing_services(compose, services):
    assert "x-airflow-common" in compose
    for name in AIRFLOW_SERVICES:
        assert services[name].get("build") == ".", f"{name} must run the project's image (build: .)"
        assert services[name].get("image"), name
    assert re.match(r"postgres:16(\b|[.-])", services["postgres"]["image"])
    assert re.match(r"redis:7(\b|[.-])", services["redis"]["image"])
    assert services["lemlist-sandbox"].get("build") == "."
    # the worker scales: no fixed container name and no host port to collide on
    worker = services["airflow-worker"]
    assert "container_name" not in worker and not worker.get("ports")


def test_executor_broker_and_database_match_the_postgres_and_redis_services(services):
    pg_env = services["postgres"]["environment"]
    for name in AIRFLOW_SERVICES:
        env = _env(services[name])
        assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor", name
        assert str(env["AIRFLOW__CORE__LOAD_EXAMPLES"]).lower() == "false", name
        for key in ("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "AIRFLOW__CELERY__RESULT_BACKEND"):
            url = urlparse(_defaults(env[key]))
            assert url.hostname == "postgres" and url.scheme.endswith(
                ("postgresql", "postgresql+psycopg2")
            ), key
            assert url.username == pg_env["POSTGRES_USER"], key
            assert url.password == _defaults(str(pg_env["POSTGRES_PASSWORD"])), key
            assert url.path.lstrip("/") == pg_env["POSTGRES_DB"], key
        # the same password variable feeds the server and the URLs
        assert "${POSTGRES_PASSWORD" in env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
        broker = urlparse(env["AIRFLOW__CELERY__BROKER_URL"])
        assert broker.scheme == "redis" and broker.hostname == "redis" and (broker.port or 6379) == 6379
        api = urlparse(env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"])
        assert api.hostname == "airflow-apiserver" and api.path.rstrip("/") == "/execution"
        assert "/opt/airflow/include" in env["PYTHONPATH"].split(":")
        assert env["LEMLIST_API_KEY"] == "${LEMLIST_API_KEY:-}", (
            "the key comes from the host, with no default"
        )
        assert _REF.match(env["LEMLIST_BASE_URL"]), "the URL comes from the host"


def test_dags_plugins_include_logs_and_settings_are_mounted_on_every_airflow_service(services):
    for name in AIRFLOW_SERVICES:
        mounts = {}
        for volume in services[name].get("volumes", []):
            source, target = str(volume).split(":")[:2]
            mounts[target] = source
        for folder, target in MOUNTS.items():
            assert mounts.get(target) == f"./{folder}", f"{name}: ./{folder} -> {target}"
        assert mounts.get("/opt/airflow/airflow_settings.yaml") == "./airflow_settings.yaml", name
        assert "/opt/airflow/logs" in mounts, name
        assert (ROOT / "airflow_settings.yaml").is_file()


def test_healthchecks_and_start_order(services):
    for name in LONG_RUNNING + ["lemlist-sandbox"]:
        check = services[name].get("healthcheck") or {}
        assert check.get("test"), f"{name} has no healthcheck"
        assert check.get("interval") and check.get("retries"), name
    for name in AIRFLOW_SERVICES:
        depends = services[name]["depends_on"]
        assert depends["postgres"]["condition"] == "service_healthy", name
        assert depends["redis"]["condition"] == "service_healthy", name
        if name != "airflow-init":
            assert depends["airflow-init"]["condition"] == "service_completed_successfully", name
    assert services["airflow-worker"]["depends_on"]["airflow-apiserver"]["condition"] == "service_healthy"


def test_init_migrates_creates_the_admin_and_applies_the_settings(services):
    init = services["airflow-init"]
    script = _command(init)
    assert "airflow db migrate" in script
    assert "airflow users create" in script and "airflow users list" in script
    assert "scripts/apply_settings.py /opt/airflow/airflow_settings.yaml" in script
    assert init.get("restart", "no") == "no"
    assert (ROOT / "scripts" / "apply_settings.py").is_file()
    assert "COPY --chown=airflow:0 scripts/apply_settings.py /opt/airflow/scripts/apply_settings.py" in (
        DOCKERFILE.read_text()
    )


def test_sandbox_is_optional_behind_a_profile(services):
    sandbox = services["lemlist-sandbox"]
    assert sandbox.get("profiles") == ["sandbox"]
    assert "python -m lemlist_sandbox --host 0.0.0.0 --port 8089" in _command(sandbox)
    # nothing needs it to start: the real API works without it
    for name, service in services.items():
        assert "lemlist-sandbox" not in (service.get("depends_on") or {}), name


def test_no_secret_is_written_in_the_files():
    text = COMPOSE.read_text()
    for literal in ("sandbox-api-key", "sandbox-other-key", "sandbox-control"):
        assert literal not in text
    data = yaml.safe_load(text)
    found = []

    def walk(node, path=""):
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value, f"{path}.{key}")
                if re.search(r"(KEY|SECRET|TOKEN|PASSWORD)$", str(key)) and isinstance(value, str):
                    if not _REF.match(value) and "${" not in value:
                        found.append(f"{path}.{key}={value!r}")
        elif isinstance(node, list):
            for item in node:
                walk(item, path)

    walk(data)
    assert not found, f"literal secrets: {found}"
    assert not re.search(r"FERNET_KEY:\s*['\"]?[A-Za-z0-9_\-]{20,}", text)
    assert not re.search(r"(?i)\bBasic\s+[A-Za-z0-9+/=]{12,}", text)
    assert "LEMLIST_API_KEY" not in DOCKERFILE.read_text()


def test_dockerfile_base_image_matches_requirements():
    dockerfile = DOCKERFILE.read_text()
    base = re.search(r"^FROM\s+apache/airflow:(\S+)", dockerfile, re.MULTILINE)
    assert base, "Dockerfile must start FROM the official apache/airflow image"
    pinned = re.search(r"^apache-airflow==(\S+)", (ROOT / "requirements.txt").read_text(), re.MULTILINE)
    assert pinned, "requirements.txt must pin apache-airflow=="
    assert base.group(1) == f"{pinned.group(1)}-python3.11" == "3.3.2-python3.11"
    # installs as the image's airflow user, keeps Airflow at the image's version, ships the provider
    assert re.search(r"^USER airflow\s*$", dockerfile, re.MULTILINE)
    assert '"apache-airflow==${AIRFLOW_VERSION}"' in dockerfile
    assert re.search(r"pip install --no-cache-dir --no-deps /tmp/project", dockerfile)
    # the runtime cut of requirements.txt relies on this marker
    assert "# Tests and tooling" in (ROOT / "requirements.txt").read_text()
    ignore = (ROOT / ".dockerignore").read_text().split()
    assert {".venv", ".airflow", ".git", ".env"} <= set(ignore)


def _compose_cli() -> list[str] | None:
    docker = shutil.which("docker")
    if docker:
        probe = subprocess.run([docker, "compose", "version"], capture_output=True, text=True, timeout=20)
        if probe.returncode == 0:
            return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    return [legacy] if legacy else None


def test_docker_compose_config_accepts_the_file():
    """``docker compose config`` validates without an engine; skipped where the compose CLI is missing."""
    cli = _compose_cli()
    if cli is None:
        pytest.skip(
            "no `docker compose` plugin nor `docker-compose` binary on this machine (docker CLI alone)"
        )
    result = subprocess.run(
        [*cli, "-f", str(COMPOSE), "--profile", "sandbox", "config", "-q"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
