"""Issue 11: enrichment spends credits once, whatever happens to a start's answer.

The request task runs in a process of its own, talking to the sandbox through :mod:`lossy_proxy`, a real TCP
proxy that lets the start reach lemlist (it is charged) and loses the answer: no answer at all while the task
is SIGKILLed, a reset, a 5xx after the start was applied, or a body that is not JSON. The retry then runs in
another process with another working directory and temporary folder, as on another Celery worker; only the
output storage (a storage root) is shared. The sandbox's credits say what was charged.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest
from lossy_proxy import LossyProxy

from lemlist_sandbox import SandboxServer, connection_json
from lemlist_sandbox.seed import add_campaign, add_lead

pytestmark = pytest.mark.usefixtures("storage_roots")
ROOT = Path(__file__).resolve().parents[2]
BULK = "POST /api/v2/enrichments/bulk"
SINGLE = "POST /api/leads/{leadId}/enrich"
CREDITS = 1000

#: the request task as a worker runs it: one try of LemlistEnrichOperator, waiting for the results in place
REQUEST_TASK = textwrap.dedent(
    """
    import json, sys
    from lemlist_provider.operators.enrichment import LemlistEnrichOperator
    args = json.loads(sys.argv[1])
    op = LemlistEnrichOperator(task_id="request_enrichments", enrichments=["verify_email"],
                               wait_for_completion=True, deferrable=False, first_poll=0.2, max_interval=0.5,
                               timeout=60, **args)
    op.execute({})
    """
)


@pytest.fixture
def sandbox_team():
    with SandboxServer(time_scale=0.01, rate_limit=0) as server:
        key = f"loss-{uuid.uuid4().hex[:10]}"
        server.create_team(key, credits=CREDITS)
        yield server, key


def _worker(tmp_path: Path, name: str, base_url: str, key: str, args: dict) -> subprocess.Popen:
    """The task's try in a process of its own: its own working directory and temporary folder."""
    home = tmp_path / name
    (home / "tmp").mkdir(parents=True, exist_ok=True)
    script = home / "request_task.py"
    script.write_text(REQUEST_TASK)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "include"), "TMPDIR": str(home / "tmp"),
           "AIRFLOW_CONN_LEMLIST_DEFAULT": connection_json(base_url, key, rate_limit=0)}  # fmt: skip
    return subprocess.Popen(
        [sys.executable, str(script), json.dumps(args)], cwd=home, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip


def _finish(proc: subprocess.Popen) -> None:
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err.decode()[-3000:]


def _rows(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _count(server: SandboxServer, route: str) -> int:
    return server.stats()["by_route"].get(route, 0)


@pytest.mark.parametrize("fault", ["drop", "reset", "5xx", "non_json"])
def test_a_bulk_start_whose_answer_is_lost_is_charged_once_and_reported_outcome_unknown(
    sandbox_team, storage_roots, tmp_path, fault
):
    server, key = sandbox_team
    source = storage_roots / "people.csv"
    source.write_text("email\n" + "".join(f"p{n}@acme.io\n" for n in range(5)))
    args = {"source": str(source), "output_path": str(storage_roots / "shared" / "results.csv")}
    with LossyProxy(server.base_url, fault, BULK) as proxy:
        first = _worker(tmp_path, "worker-a", proxy.base_url, key, args)
        if fault == "drop":  # the start reached lemlist; the worker dies waiting for its answer
            assert proxy.applied.wait(60), "the start never reached the proxy"
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=30)
            assert first.returncode == -signal.SIGKILL
        else:
            _finish(first)
    assert server.team(key).credits == CREDITS - 5  # lemlist applied the start once

    _finish(_worker(tmp_path, "worker-b", server.base_url, key, args))  # the retry, on another worker

    assert server.team(key).credits == CREDITS - 5 and _count(server, BULK) == 1  # never sent again
    rows = _rows(storage_roots / "shared" / "results.csv")
    assert [r["status"] for r in rows] == ["outcome_unknown"] * 5
    assert all("resend_unknown" in r["error"] for r in rows)


def test_resend_unknown_sends_them_again_on_purpose(sandbox_team, storage_roots, tmp_path):
    server, key = sandbox_team
    source = storage_roots / "people.csv"
    source.write_text("email\n" + "".join(f"p{n}@acme.io\n" for n in range(3)))
    args = {"source": str(source), "output_path": str(storage_roots / "results.csv")}
    with LossyProxy(server.base_url, "5xx", BULK) as proxy:
        _finish(_worker(tmp_path, "worker-a", proxy.base_url, key, args))
    _finish(_worker(tmp_path, "worker-b", server.base_url, key, {**args, "resend_unknown": True}))
    assert [r["status"] for r in _rows(storage_roots / "results.csv")] == ["done"] * 3
    assert server.team(key).credits == CREDITS - 6 and _count(server, BULK) == 2  # charged twice, as asked
    _finish(_worker(tmp_path, "worker-c", server.base_url, key, {**args, "resend_unknown": True}))
    assert (
        server.team(key).credits == CREDITS - 6 and _count(server, BULK) == 2
    )  # settled: never a third time


def test_a_lead_start_whose_answer_is_lost_is_checked_safely_not_charged_twice(
    sandbox_team, storage_roots, tmp_path
):
    """The lead route has a safe check: sent again without ``force``, lemlist answers 409 for a lead whose
    start was applied (being enriched, or enriched), so the retry even with ``force`` charges nothing twice."""
    server, key = sandbox_team
    team = server.team(key)
    campaign = add_campaign(server.sandbox.world, team, "Lost lead starts")
    ids = [add_lead(server.sandbox.world, team, campaign, f"lead{n}@acme.io")["_id"] for n in range(3)]
    args = {"lead_ids": ids, "output_path": str(storage_roots / "leads.csv"), "force": True}
    with LossyProxy(server.base_url, "drop", r"POST /api/leads/[^/]+/enrich") as proxy:
        first = _worker(tmp_path, "worker-a", proxy.base_url, key, args)
        assert proxy.applied.wait(60), "the start never reached the proxy"
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
    assert team.credits == CREDITS - 1

    _finish(_worker(tmp_path, "worker-b", server.base_url, key, args))

    assert team.credits == CREDITS - 3  # one charge per lead
    rows = {r["key"]: r for r in _rows(storage_roots / "leads.csv")}
    assert rows[ids[0]]["status"] == "skipped" and "charged once" in rows[ids[0]]["error"]
    assert [rows[i]["status"] for i in ids[1:]] == ["done", "done"]
    assert _count(server, SINGLE) == 4  # 3 starts + the safe check of the lost one


def test_repeated_people_are_enriched_once_and_reported_per_row(sandbox_team, storage_roots, monkeypatch):
    from lemlist_provider.hooks.ratelimit import reset_limiters
    from lemlist_provider.operators.enrichment import LemlistEnrichOperator

    server, key = sandbox_team
    monkeypatch.setenv("AIRFLOW_CONN_LEMLIST_DEFAULT", connection_json(server.base_url, key, rate_limit=0))
    reset_limiters()
    source = storage_roots / "repeats.csv"
    source.write_text(
        "email\nada@acme.io\nAda@ACME.io\nuser@exämple.de\nbob@acme.io\nUSER@xn--exmple-cua.de\nada@acme.io\n",
        encoding="utf-8",
    )
    out = storage_roots / "repeats.results.csv"
    result = LemlistEnrichOperator(
        task_id="repeats", source=str(source), enrichments=["verify_email"], output_path=str(out),
        wait_for_completion=True, deferrable=False, first_poll=0.2, max_interval=0.5, timeout=60,
    ).execute({})  # fmt: skip
    rows = _rows(out)
    assert [r["key"] for r in rows] == [f"row:{n}" for n in range(1, 7)]  # every row, in input order
    assert {r["status"] for r in rows} == {"done"} and result["counts"] == {"done": 6, "total": 6}
    ids = {r["key"]: r["enrichment_id"] for r in rows}
    assert ids["row:1"] == ids["row:2"] == ids["row:6"] and ids["row:3"] == ids["row:5"]
    assert len(set(ids.values())) == 3 and server.team(key).credits == CREDITS - 3
