"""The ``lemlist_campaign_export`` DAG end to end with ``dag.test()`` against a real sandbox over HTTP.

The session sandbox runs at the real 20 requests / 2 s, so "no 429 while polling" is measured, not assumed;
its time scale (0.01) makes an export take 0.3 s. Status polls are set to 0.1 s then 0.2-0.3 s.
"""

from __future__ import annotations

import csv
import threading
import time
import uuid
from pathlib import Path

import pytest

from lemlist_sandbox import connection_json as lemlist_conn_uri
from lemlist_sandbox.seed import add_campaign, add_lead

pytestmark = pytest.mark.usefixtures("storage_roots")
ROOT = Path(__file__).resolve().parents[2]
FAST_POLL = {"first_poll": 0.1, "poll_min": 0.2, "poll_max": 0.3}
STATUS_ROUTE = "GET /api/campaigns/{campaignId}/export/{exportId}/status"


@pytest.fixture(scope="module")
def export_dag():
    from airflow.models.dagbag import DagBag

    bag = DagBag(dag_folder=str(ROOT / "dags"))
    assert "lemlist_campaign_export" in bag.dags, bag.import_errors.get(
        str(ROOT / "dags/lemlist_campaign_export.py")
    )
    return bag.get_dag("lemlist_campaign_export")


def _conf(tmp_path: Path, **overrides) -> dict:
    """Every param explicitly: ``dag.test`` keeps the previous run's conf otherwise."""
    conf = {
        "campaign_id": None, "status": None, "method": "async", "state": "all",
        "output_uri": str(tmp_path / "{campaign_id}" / "{date}.csv"), "export_timeout": 60, **FAST_POLL,
    }  # fmt: skip
    conf.update(overrides)
    return conf


def _team_with_campaigns(sandbox, monkeypatch, sizes: list[int]) -> tuple[str, list[str]]:
    key = f"export-{uuid.uuid4().hex[:10]}"
    sandbox.create_team(key, seed="empty")
    team = sandbox.team(key)
    ids = []
    for n, size in enumerate(sizes):
        campaign = add_campaign(sandbox.sandbox.world, team, f"Export test {n}", "running")
        for i in range(size):
            add_lead(sandbox.sandbox.world, team, campaign, f"lead{n}-{i}@export.example", firstName=f"F{i}")
        ids.append(campaign["_id"])
    monkeypatch.setenv("AIRFLOW_CONN_LEMLIST_DEFAULT", lemlist_conn_uri(sandbox.base_url, key))
    return key, ids


def _rows(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _files(tmp_path: Path, campaign_id: str) -> list[Path]:
    return sorted((tmp_path / campaign_id).glob("*.csv"))


class _Meddler(threading.Thread):
    """Does something to each new export of a team as soon as it appears (expire it, fail it)."""

    def __init__(self, sandbox, key: str, action, limit: int = 99) -> None:
        super().__init__(daemon=True)
        self.sandbox, self.key, self.action, self.limit = sandbox, key, action, limit
        self.seen: list[str] = []
        self.stop = threading.Event()

    def run(self) -> None:
        team = self.sandbox.team(self.key)
        while not self.stop.is_set():
            for export_id in list(team.exports):
                if export_id not in self.seen and len(self.seen) < self.limit:
                    self.seen.append(export_id)
                    self.action(export_id)
            time.sleep(0.005)

    def __enter__(self) -> _Meddler:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.join(timeout=5)


def test_three_campaigns_exported_in_one_run_without_429(
    export_dag, sandbox, monkeypatch, tmp_path, lemlist_pool
):
    key, ids = _team_with_campaigns(sandbox, monkeypatch, [3, 5, 0])
    sandbox.add_synthetic_leads(key, ids[2], 2500)  # a bigger file, streamed by the sandbox
    before = sandbox.stats()
    run = export_dag.test(run_conf=_conf(tmp_path))
    assert run.state == "success"
    after = sandbox.stats()
    for campaign_id, expected in zip(ids, [3, 5, 2500], strict=True):
        files = _files(tmp_path, campaign_id)
        assert len(files) == 1 and files[0].name.endswith(".csv")
        rows = _rows(files[0])
        assert len(rows) == expected
        assert not list((tmp_path / campaign_id).glob("*.part"))
    assert _rows(_files(tmp_path, ids[0])[0])[0]["email"].endswith("@export.example")
    assert after["rate_limited_429"] == before["rate_limited_429"], "status polling met 429s"
    polls = after["by_route"].get(STATUS_ROUTE, 0) - before["by_route"].get(STATUS_ROUTE, 0)
    assert 3 <= polls <= 30
    assert len(sandbox.team(key).exports) == 3

    summary = run.get_task_instance("summary").xcom_pull(task_ids="summary")
    assert summary["campaigns"] == 3 and summary["rows"] == 2508 and summary["restarts"] == 0

    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        events = session.scalars(
            select(AssetEvent)
            .join(AssetModel, AssetEvent.asset_id == AssetModel.id)
            .where(
                AssetModel.uri == "lemlist://exports/campaign-leads", AssetEvent.source_run_id == run.run_id
            )
        ).all()
        assert sorted(e.extra["campaign_id"] for e in events) == sorted(ids)


def test_expired_export_is_restarted_once(export_dag, sandbox, monkeypatch, tmp_path, lemlist_pool):
    key, ids = _team_with_campaigns(sandbox, monkeypatch, [4])
    with _Meddler(sandbox, key, lambda export_id: sandbox.expire_export(key, export_id), limit=1):
        run = export_dag.test(run_conf=_conf(tmp_path))
    assert run.state == "success"
    assert len(sandbox.team(key).exports) == 2  # the expired one and its one restart
    assert len(_rows(_files(tmp_path, ids[0])[0])) == 4
    result = run.get_task_instance("export", map_index=0).xcom_pull(task_ids="export", map_indexes=0)
    assert result["restarts"] == 1


def test_export_expiring_twice_fails_after_one_restart(
    export_dag, sandbox, monkeypatch, tmp_path, lemlist_pool
):
    key, ids = _team_with_campaigns(sandbox, monkeypatch, [2])
    with _Meddler(sandbox, key, lambda export_id: sandbox.expire_export(key, export_id)):
        run = export_dag.test(run_conf=_conf(tmp_path))
    assert run.state == "failed"
    assert len(sandbox.team(key).exports) == 2  # started, restarted once, then gave up
    assert not _files(tmp_path, ids[0])


def test_error_status_fails_the_export(export_dag, sandbox, monkeypatch, tmp_path, lemlist_pool):
    key, ids = _team_with_campaigns(sandbox, monkeypatch, [2, 2])
    reason = "Export failed: campaign too large"
    with _Meddler(sandbox, key, lambda export_id: sandbox.fail_export(key, export_id, reason), limit=1):
        run = export_dag.test(run_conf=_conf(tmp_path))
    assert run.state == "failed"
    states = {ti.map_index: ti.state for ti in run.get_task_instances() if ti.task_id == "export"}
    assert sorted(str(s) for s in states.values()) == ["failed", "success"]
    assert len(sandbox.team(key).exports) == 2  # an error is final: no restart


def test_sync_method_for_one_campaign(export_dag, sandbox, monkeypatch, tmp_path, lemlist_pool):
    key, ids = _team_with_campaigns(sandbox, monkeypatch, [3, 6])
    run = export_dag.test(run_conf=_conf(tmp_path, method="sync", campaign_id=ids[1]))
    assert run.state == "success"
    assert len(_rows(_files(tmp_path, ids[1])[0])) == 6
    assert not (tmp_path / ids[0]).exists()
    assert not sandbox.team(key).exports  # the synchronous route starts no async export


def test_status_polls_never_come_faster_than_the_floor(
    export_dag, sandbox, monkeypatch, tmp_path, lemlist_pool
):
    """Issue 11: a form asking for status polls every 0 s still gets at most one per ``[lemlist]
    min_poll_seconds`` (1 s here), counted by the sandbox over the 3 s lemlist takes to fail the export."""
    monkeypatch.setenv("AIRFLOW__LEMLIST__MIN_POLL_SECONDS", "1")
    key, _ = _team_with_campaigns(sandbox, monkeypatch, [2])
    before = sandbox.stats()["by_route"].get(STATUS_ROUTE, 0)
    sandbox.set_faults(export_delay=10**6)  # lemlist never finishes it by itself

    def fail_in_3_seconds(export_id: str) -> None:
        threading.Timer(3.0, sandbox.fail_export, (key, export_id, "stopped by the test")).start()

    try:
        with _Meddler(sandbox, key, fail_in_3_seconds, limit=1):
            run = export_dag.test(run_conf=_conf(tmp_path, first_poll=0, poll_min=0, poll_max=0))
    finally:
        sandbox.set_faults(export_delay=30)
    assert run.state == "failed"  # lemlist's error, after polling the whole time
    polls = sandbox.stats()["by_route"].get(STATUS_ROUTE, 0) - before
    assert 2 <= polls <= 4, polls  # 3 s / 1 s, plus the poll that saw the error; unthrottled: dozens
