"""Batch import against the sandbox over HTTP: kill-safety, re-runs, the CSV upload strategy and its fallback."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from lemlist_provider.lead_import import (
    Checkpoint,
    ImportOptions,
    Workspace,
    import_batch,
    iter_inline,
    stage_rows,
)
from lemlist_sandbox.seed import add_campaign

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def conn_env(sandbox, team_key, monkeypatch):
    """The ``lemlist_default`` connection of a fresh team (own data, own rate budget at the real 20/2 s)."""
    conn = json.dumps({"conn_type": "lemlist", "host": sandbox.base_url, "password": team_key})
    monkeypatch.setenv("AIRFLOW_CONN_LEMLIST_DEFAULT", conn)
    campaign = add_campaign(sandbox.sandbox.world, sandbox.team(team_key), "Batch test", "draft")
    return campaign["_id"]


def _stage(tmp_path: Path, emails: list[str], batch_size: int = 1000) -> tuple[Workspace, list[dict]]:
    workspace = Workspace(tmp_path / "work")
    manifest = stage_rows(iter_inline(emails), workspace, batch_size=batch_size)
    return workspace, manifest["batches"]


def _hook():
    from lemlist_provider.hooks.lemlist import LemlistHook

    return LemlistHook()


def _emails_in(sandbox, key: str, campaign_id: str) -> list[str]:
    return sorted(lead["email"] for lead in sandbox.team(key).leads_in_campaign(campaign_id))


KILLABLE = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    from lemlist_provider.hooks.lemlist import LemlistHook
    from lemlist_provider.lead_import import ImportOptions, Workspace, import_batch
    import_batch(LemlistHook(), Workspace(Path(sys.argv[1])), json.loads(sys.argv[2]), ImportOptions(campaign_id=sys.argv[3]))
    """
)


def test_batch_killed_with_sigkill_then_retried_has_no_duplicate_and_no_missing_lead(
    sandbox, team_key, conn_env, tmp_path
):
    emails = [f"kill{i:03d}@resume.example" for i in range(60)]
    workspace, batches = _stage(tmp_path, emails)
    script = tmp_path / "run_batch.py"
    script.write_text(KILLABLE)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "include")}
    proc = subprocess.Popen(
        [sys.executable, str(script), str(workspace.root), json.dumps(batches[0]), conn_env],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while len(_emails_in(sandbox, team_key, conn_env)) < 15:
        assert proc.poll() is None, "the batch ended before it could be killed"
        assert time.monotonic() < deadline, "no lead arrived"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    created_before_retry = len(_emails_in(sandbox, team_key, conn_env))
    assert 15 <= created_before_retry < 60

    done, attempted = Checkpoint(workspace.checkpoint_path(0)).load()
    assert len(done) >= created_before_retry - 1  # at most the one in flight lacks its outcome

    result = import_batch(_hook(), workspace, batches[0], ImportOptions(campaign_id=conn_env))
    assert result["skipped_from_checkpoint"] == len(done)
    assert _emails_in(sandbox, team_key, conn_env) == emails  # each lead once, none missing
    done, attempted = Checkpoint(workspace.checkpoint_path(0)).load()
    assert attempted == set()
    assert {r["status"] for r in done.values()} == {"imported"}  # the in-flight row counts as ours
    assert all(r["lead_id"].startswith("lea_") for r in done.values())


def test_rerun_of_a_batch_reports_already_in_campaign(sandbox, team_key, conn_env, tmp_path):
    emails = [f"again{i}@rerun.example" for i in range(5)]
    workspace, batches = _stage(tmp_path, emails)
    first = import_batch(_hook(), workspace, batches[0], ImportOptions(campaign_id=conn_env))
    assert first["counts"] == {"imported": 5}
    fresh = Workspace(tmp_path / "second-run")  # a new DAG run has a new work folder
    manifest = stage_rows(iter_inline(emails), fresh, batch_size=100)
    second = import_batch(_hook(), fresh, manifest["batches"][0], ImportOptions(campaign_id=conn_env))
    assert second["counts"] == {"already_in_campaign": 5}
    assert _emails_in(sandbox, team_key, conn_env) == sorted(emails)


def test_csv_upload_strategy_imports_with_per_row_outcomes(sandbox, team_key, conn_env, tmp_path):
    leads = [{"email": f"up{i}@upload.example", "firstName": f"U{i}", "Plan": "pro"} for i in range(12)]
    workspace, batches = _stage(tmp_path, leads)
    before = sandbox.stats()["requests_by_team"].get(sandbox.team(team_key).id, 0)
    result = import_batch(
        _hook(), workspace, batches[0], ImportOptions(campaign_id=conn_env, strategy="csv_upload")
    )
    assert result["strategy"] == "csv_upload" and result["counts"] == {"imported": 12}
    sent = sandbox.stats()["requests_by_team"][sandbox.team(team_key).id] - before
    assert sent == 1  # one multipart request for the whole batch
    lead = sandbox.team(team_key).find_lead(conn_env, "up3@upload.example")
    assert lead["firstName"] == "U3" and lead["Plan"] == "pro"


def test_csv_upload_falls_back_to_per_lead_on_402(sandbox, team_key, conn_env, tmp_path, caplog):
    sandbox.team(team_key).extra["flags"] = {"plan_gated": True}
    emails = [f"gated{i}@plan.example" for i in range(6)]
    workspace, batches = _stage(tmp_path, emails)
    with caplog.at_level(logging.WARNING):
        result = import_batch(
            _hook(), workspace, batches[0], ImportOptions(campaign_id=conn_env, strategy="csv_upload")
        )
    assert result["strategy"] == "per_lead" and result["counts"] == {"imported": 6}
    assert _emails_in(sandbox, team_key, conn_env) == sorted(emails)
    assert any("402" in r.getMessage() and "per_lead" in r.getMessage() for r in caplog.records)
    statuses = sandbox.stats()["by_route_status"]["POST /api/campaigns/{campaignId}/leads/import"]
    assert statuses.get("402", 0) >= 1


def test_columns_named_like_hook_arguments_reach_lemlist(sandbox, team_key, conn_env, tmp_path):
    """Custom variables are never dropped, even when a column is called ``deduplicate`` or ``campaign_id``."""
    leads = [
        {"email": "clash@columns.example", "firstName": "Ada", "deduplicate": "keep me",
         "campaign_id": "crm-42", "find_email": "manual", "self": "me"},
    ]  # fmt: skip
    workspace = Workspace(tmp_path / "work")
    manifest = stage_rows(iter_inline(leads), workspace, batch_size=10)
    result = import_batch(_hook(), workspace, manifest["batches"][0], ImportOptions(campaign_id=conn_env))
    assert result["counts"] == {"imported": 1}
    (lead,) = sandbox.team(team_key).leads_in_campaign(conn_env)
    stored = {**lead, **(lead.get("variables") or {})}
    assert stored["firstName"] == "Ada"
    assert {k: stored.get(k) for k in ("deduplicate", "campaign_id", "find_email", "self")} == {
        "deduplicate": "keep me",
        "campaign_id": "crm-42",
        "find_email": "manual",
        "self": "me",
    }
