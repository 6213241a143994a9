"""Shared fixtures: a real lemlist sandbox over HTTP on loopback, and an isolated Airflow home.

Airflow reads its configuration at import time, so the environment is set here before anything imports it.
The suite's home is always ``.airflow/test`` (whatever AIRFLOW_HOME says), never the one ``make up`` keeps.
"""

from __future__ import annotations

import os
import re
import uuid
from pathlib import Path

import pytest

from lemlist_dev import TEST_HOME

ROOT = Path(__file__).resolve().parents[1]
os.environ["AIRFLOW_HOME"] = str(TEST_HOME)
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(ROOT / "dags"))
os.environ.setdefault("AIRFLOW__CORE__PLUGINS_FOLDER", str(ROOT / "plugins"))
# The sandboxes below run lemlist's clock 100 times faster (time_scale=0.01), so the floor of poll intervals
# ([lemlist] min_poll_seconds, 5 s in a deployment) is scaled the same way; the floor's own tests set theirs.
os.environ.setdefault("AIRFLOW__LEMLIST__MIN_POLL_SECONDS", "0.05")

from lemlist_sandbox import DEMO_KEY, SandboxServer  # noqa: E402
from lemlist_sandbox import connection_json as lemlist_conn_uri  # noqa: E402

# Lead sources that cannot be used: name -> (bytes, or None for a missing file; what the error must say)
BAD_LEAD_FILES = {
    "missing.csv": (None, "file not found"),
    "latin1.csv": ("email,name\nrene@acme.example,Ren\xe9\n".encode("latin-1"), "not UTF-8"),
    "no_email.csv": (b"name;company\nAda;Analytical\n", "no email column"),
    "empty.csv": (b"", "empty"),
    "blank.csv": (b"\r\n\r\n", "empty"),
    "header_only.csv": (b"email,firstName\n", "no data rows"),
    "empty.jsonl": (b"", "empty"),
    "no_email.jsonl": (b'{"name": "x"}\n', "no row has an email"),
    "unterminated_quote.csv": (
        b'email,note\nfirst@x.example,fine\nsecond@x.example,"opened\nthird@x.example,swallowed\n',
        "never closed",
    ),
    "duplicate_header.csv": (
        b"email,firstName,Email \nfirst@x.example,Ada,second@x.example\n",
        "field email",
    ),
    "utf16_header.csv": ("email,firstName\nfirst@x.example,Ada\n".encode("utf-16-le"), "NUL characters"),
}


@pytest.fixture(params=sorted(BAD_LEAD_FILES))
def bad_lead_file(request, tmp_path) -> tuple[Path, str, list[str]]:
    """``(path, problem, cells)``: a lead source in ``tmp_path`` that cannot be used, the problem its error must
    name, and the file's longer cells (a header, a value), none of which the error may quote."""
    content, problem = BAD_LEAD_FILES[request.param]
    path = tmp_path / request.param
    if content is not None:
        path.write_bytes(content)
    cells = re.findall(r"[^,;\s\"{}:]{7,}", (content or b"").decode("latin-1"))
    return path, problem, cells


@pytest.fixture
def storage_roots(tmp_path, monkeypatch) -> Path:
    """``tmp_path`` as an admin-allowed storage root (first for outputs, so defaults land there too), beside
    the project's defaults: what an admin's ``[lemlist] input_roots`` / ``output_roots`` would say."""
    monkeypatch.setenv("AIRFLOW__LEMLIST__INPUT_ROOTS", f"include/data,{tmp_path}")
    monkeypatch.setenv("AIRFLOW__LEMLIST__OUTPUT_ROOTS", f"{tmp_path},output")
    return tmp_path


@pytest.fixture(scope="module")
def shipped_dags() -> dict:
    """The project's DAGs by id, parsed from ``dags/`` as the DAG processor would."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(ROOT / "dags"))
    assert not bag.import_errors, bag.import_errors
    return bag.dags


@pytest.fixture
def form_defaults():
    """``form_defaults(dag)``: the trigger form's defaults, ``campaign_id`` left out. ``dag.test`` keeps the
    previous run's conf, so a test that types into the form starts every run from these."""

    def defaults(dag) -> dict:
        return {name: dag.params.get_param(name).value for name in dag.params if name != "campaign_id"}

    return defaults


@pytest.fixture(scope="session")
def sandbox():
    """One sandbox for the session, at the real 20 requests / 2 s, with fast async jobs.

    Tests that change faults or the rate limit must restore them (use ``fresh_sandbox`` instead
    when a test needs its own settings).
    """
    with SandboxServer(time_scale=0.01) as server:
        yield server


@pytest.fixture(scope="module")
def unlimited_sandbox():
    """A sandbox of the module's own without a rate limit, with fast async jobs: for DAG runs of hundreds of
    requests whose subject is not pacing."""
    with SandboxServer(time_scale=0.01, rate_limit=0) as server:
        yield server


@pytest.fixture
def fresh_sandbox():
    """A sandbox of its own for tests that change global settings (faults, rate limit)."""
    with SandboxServer(time_scale=0.01) as server:
        yield server


@pytest.fixture
def team_key(sandbox) -> str:
    """An empty team of its own, so a test's data and rate budget are isolated from every other test."""
    key = f"test-key-{uuid.uuid4().hex[:12]}"
    sandbox.create_team(key, name="pytest team", credits=100_000)
    return key


@pytest.fixture
def demo_key() -> str:
    return DEMO_KEY


@pytest.fixture
def lemlist_conn(sandbox, team_key, monkeypatch) -> str:
    """``lemlist_default`` points at the session sandbox with a fresh team's key; returns that key."""
    monkeypatch.setenv("AIRFLOW_CONN_LEMLIST_DEFAULT", lemlist_conn_uri(sandbox.base_url, team_key))
    return team_key


@pytest.fixture(scope="session")
def lemlist_pool():
    """The ``lemlist_api`` pool every lemlist task runs in (declared in airflow_settings.yaml)."""
    from airflow.models import Pool
    from airflow.utils.session import create_session

    with create_session() as session:
        Pool.create_or_update_pool(
            name="lemlist_api",
            slots=8,
            description="lemlist API (tests)",
            include_deferred=False,
            session=session,
        )
    return "lemlist_api"


@pytest.fixture(scope="module")
def lead_dag(shipped_dags, lemlist_pool):
    """``lemlist_lead_import`` as the DAG processor parses it, with the pool its tasks run in."""
    return shipped_dags["lemlist_lead_import"]
