"""The ``lemlist_unsubscribe_sync`` DAG end to end with ``dag.test()`` against a real sandbox over HTTP.

The 1,000 / 1,500 case runs once at the real 20 requests / 2 s (it needs only a few requests: one CSV export
to read lemlist, one bulk call to push); the other cases use a sandbox without a limit of their own.
"""

from __future__ import annotations

import csv
import json
import uuid
from pathlib import Path

import pytest

from lemlist_sandbox import SandboxServer
from lemlist_sandbox import connection_json as lemlist_conn_uri
from lemlist_sandbox.seed import add_unsubscribe

pytestmark = pytest.mark.usefixtures("storage_roots")
ROOT = Path(__file__).resolve().parents[2]
BULK = "POST /api/v2/unsubscribes/variables"


@pytest.fixture(scope="module")
def sync_dag():
    from airflow.models.dagbag import DagBag

    bag = DagBag(dag_folder=str(ROOT / "dags"))
    assert "lemlist_unsubscribe_sync" in bag.dags, bag.import_errors
    return bag.get_dag("lemlist_unsubscribe_sync")


@pytest.fixture(scope="module")
def nolimit():
    with SandboxServer(time_scale=0.01, rate_limit=0) as server:
        yield server


def _conf(tmp_path: Path, **overrides) -> dict:
    """Every param explicitly: ``dag.test`` keeps the previous run's conf otherwise."""
    conf = {
        "store": "csv", "csv_path": str(tmp_path / "suppression.csv"), "sql_conn_id": None, "table": None,
        "mode": "add_only", "truth": "local", "confirm_removals": False, "max_removal_percent": 5.0,
        "max_removals": 1000, "max_invalid_percent": 1.0, "dry_run": False, "pull": "export",
        "audit_dir": str(tmp_path / "audit"),
    }  # fmt: skip
    conf.update(overrides)
    return conf


def _team(server, monkeypatch, remote: list[tuple[str, str]]) -> str:
    key = f"unsub-{uuid.uuid4().hex[:10]}"
    server.create_team(key, seed="empty")
    team = server.team(key)
    for value, source in remote:
        add_unsubscribe(server.sandbox.world, team, value, source=source)
    monkeypatch.setenv("AIRFLOW_CONN_LEMLIST_DEFAULT", lemlist_conn_uri(server.base_url, key))
    return key


def _write_local(path: Path, values: list[str]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["value", "source", "created_at"])
        writer.writerows([v, "crm", "2024-01-01"] for v in values)


def _local_keys(path: Path) -> set[str]:
    with path.open(newline="", encoding="utf-8") as handle:
        return {row["value"].strip().lower() for row in csv.DictReader(handle)}


def _writes(before: dict, after: dict) -> dict[str, int]:
    """Write requests (POST/PUT/PATCH/DELETE under /api) the sandbox saw between two stats snapshots."""
    out = {}
    for route, count in after["by_route"].items():
        delta = count - before["by_route"].get(route, 0)
        if delta and route.split(" ")[0] in ("POST", "PUT", "PATCH", "DELETE") and " /api/" in route:
            out[route] = delta
    return out


def _sqlite_conn(db: Path) -> str:
    """JSON form: with sqlite provider 4.3.4 the URI ``sqlite:////abs/path`` parses to an empty host."""
    return json.dumps({"conn_type": "sqlite", "host": str(db)})


def _summary(run) -> dict:
    return run.get_task_instance("summary").xcom_pull(task_ids="summary")


def _audit(summary: dict) -> list[dict]:
    with open(summary["audit_file"], newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_1000_remote_1500_local_union_in_one_bulk_call_then_nothing(
    sync_dag, sandbox, monkeypatch, tmp_path, lemlist_pool
):
    remote = [(f"person{i}@acme.io", "lead") for i in range(995)] + [
        ("@blocked.example", "user"), ("@partner.example", "user"), ("boss@upper.example", "api"),
        ("+33 6 12 34 56 78", "user"), ("not a value", "user"),
    ]  # fmt: skip
    # 1,500 local: 400 overlapping (some in another case, one domain), 1,097 new, 2 invalid, 1 new domain.
    local = [f"Person{i}@ACME.io" if i % 2 else f"  person{i}@acme.io " for i in range(597, 995)]
    local += ["@Blocked.Example", "BOSS@upper.example"]
    local += [f"new{i}@local.example" for i in range(1097)] + ["@newdomain.example", "broken@", "acme.com"]
    assert len(local) == 1500
    key = _team(sandbox, monkeypatch, remote)
    local_csv = tmp_path / "suppression.csv"
    _write_local(local_csv, local)

    before = sandbox.stats()
    run = sync_dag.test(run_conf=_conf(tmp_path))
    assert run.state == "success"
    middle = sandbox.stats()
    summary = _summary(run)
    assert _writes(before, middle) == {BULK: 1}
    assert middle["rate_limited_429"] == before["rate_limited_429"]
    lemlist_keys = set(sandbox.team(key).unsubscribes)
    valid_remote = {v.lower() for v, _ in remote if v != "not a value"}
    valid_local = {v.strip().lower() for v in local if v not in ("broken@", "acme.com")}
    union = valid_remote | valid_local
    assert len(union) == 2097
    assert _local_keys(local_csv) - {"broken@", "acme.com"} == union
    assert lemlist_keys - {"not a value"} == union
    assert (
        summary["in_both"] == 400 and summary["added_to_lemlist"] == 1098 and summary["added_to_local"] == 599
    )
    assert summary["invalid_local"] == 2 and summary["invalid_lemlist"] == 1 and summary["bulk_calls"] == 1
    audit = _audit(summary)
    assert {(r["action"], r["side"], r["from_side"]) for r in audit} >= {
        ("added", "lemlist", "local"), ("added", "local", "lemlist"), ("invalid", "local", "local"),
        ("invalid", "lemlist", "lemlist"),
    }  # fmt: skip
    assert next(r for r in audit if r["value"] == "person0@acme.io")["source"] == "lead"
    assert not any(r["value"] in ("broken@", "acme.com") and r["action"] == "added" for r in audit)

    run2 = sync_dag.test(run_conf=_conf(tmp_path))
    assert run2.state == "success"
    assert _writes(middle, sandbox.stats()) == {}
    second = _summary(run2)
    assert second["added_to_lemlist"] == second["added_to_local"] == 0 and second["requests"] == 1
    assert Path(second["audit_file"]) != Path(summary["audit_file"])


def test_dry_run_changes_nothing(sync_dag, nolimit, monkeypatch, tmp_path, lemlist_pool):
    key = _team(nolimit, monkeypatch, [("a@x.io", "lead"), ("@gone.example", "api")])
    local_csv = tmp_path / "suppression.csv"
    _write_local(local_csv, ["b@x.io", "A@X.IO"])
    content = local_csv.read_bytes()
    before = nolimit.stats()
    run = sync_dag.test(
        run_conf=_conf(tmp_path, dry_run=True, mode="mirror", confirm_removals=True, max_removal_percent=50)
    )  # 1 of lemlist's 2 entries: a share a 2-entry list needs raised on purpose
    assert run.state == "success"
    assert _writes(before, nolimit.stats()) == {}
    assert local_csv.read_bytes() == content and set(nolimit.team(key).unsubscribes) == {
        "a@x.io",
        "@gone.example",
    }
    actions = {(r["action"], r["value"]) for r in _audit(_summary(run))}
    # the audit is spreadsheet-safe: a cell starting with @ is written '@ (docs/security.md)
    assert actions == {("would_add", "b@x.io"), ("would_remove", "'@gone.example")}


def test_mirror_removes_only_when_asked(sync_dag, nolimit, monkeypatch, tmp_path, lemlist_pool):
    remote = [("keep@x.io", "lead"), ("stale@x.io", "api"), ("@stale.example", "user"), ("both@x.io", "api")]
    key = _team(nolimit, monkeypatch, remote)
    local_csv = tmp_path / "suppression.csv"
    _write_local(local_csv, ["both@x.io", "local@x.io"])

    run = sync_dag.test(run_conf=_conf(tmp_path, mode="mirror"))  # not confirmed: report only
    assert run.state == "success"
    summary = _summary(run)
    assert summary["removals_pending"] and summary["would_remove_from_lemlist"] == 2
    assert {"stale@x.io", "@stale.example"} <= set(nolimit.team(key).unsubscribes)

    before = nolimit.stats()
    run = sync_dag.test(
        run_conf=_conf(tmp_path, mode="mirror", confirm_removals=True, max_removal_percent=50)
    )
    assert run.state == "success"  # 2 of 5 (local@x.io was added): a share raised on purpose for a tiny list
    assert set(nolimit.team(key).unsubscribes) == {"keep@x.io", "both@x.io", "local@x.io"}
    assert _local_keys(local_csv) == {
        "keep@x.io",
        "both@x.io",
        "local@x.io",
    }  # protected entry copied locally
    assert _writes(before, nolimit.stats()) == {"DELETE /api/v2/unsubscribes/variables/{value}": 2}

    run = sync_dag.test(run_conf=_conf(tmp_path, mode="mirror", confirm_removals=True, max_removals=0))
    assert run.state == "success"  # nothing left to remove: the limit does not trip


def test_sql_table_side(sync_dag, nolimit, monkeypatch, tmp_path, lemlist_pool):
    monkeypatch.setenv("AIRFLOW__LEMLIST__SQL_TABLES", "optout")  # the admin's allow-list
    db = tmp_path / "suppression.db"
    monkeypatch.setenv("AIRFLOW_CONN_SUPPRESSION_DB", _sqlite_conn(db))
    key = _team(
        nolimit, monkeypatch, [(f"r{i}@x.io", "lead") for i in range(30)] + [("@acme.example", "user")]
    )
    import sqlite3

    with sqlite3.connect(db) as conn:
        conn.execute(
            "CREATE TABLE optout (value VARCHAR(512) PRIMARY KEY, source VARCHAR(64), created_at VARCHAR(40))"
        )
        conn.executemany(
            "INSERT INTO optout VALUES (?, 'crm', '2024-01-01')", [(f"R{i}@X.io",) for i in range(20, 50)]
        )
        conn.execute("INSERT INTO optout VALUES ('@ACME.example', 'crm', '')")
    before = nolimit.stats()
    run = sync_dag.test(run_conf=_conf(tmp_path, store="sql", sql_conn_id="suppression_db", table="optout"))
    assert run.state == "success"
    assert _writes(before, nolimit.stats()) == {BULK: 1}
    with sqlite3.connect(db) as conn:
        rows = {v.lower() for (v,) in conn.execute("SELECT value FROM optout")}
    union = {f"r{i}@x.io" for i in range(50)} | {"@acme.example"}
    assert rows == union and set(nolimit.team(key).unsubscribes) == union

    middle = nolimit.stats()
    run = sync_dag.test(run_conf=_conf(tmp_path, store="sql", sql_conn_id="suppression_db", table="optout"))
    assert run.state == "success" and _writes(middle, nolimit.stats()) == {}
    assert _summary(run)["local_store"] == "sql:suppression_db/optout"


def test_store_from_variables_and_table_created(sync_dag, nolimit, monkeypatch, tmp_path, lemlist_pool):
    monkeypatch.setenv("AIRFLOW__LEMLIST__SQL_TABLES", "from_variable")  # the admin's allow-list
    db = tmp_path / "vars.db"
    monkeypatch.setenv("AIRFLOW_CONN_SUPPRESSION_DB", _sqlite_conn(db))
    monkeypatch.setenv("AIRFLOW_VAR_LEMLIST_SUPPRESSION_STORE", "sql")
    monkeypatch.setenv("AIRFLOW_VAR_LEMLIST_SUPPRESSION_TABLE", "from_variable")
    _team(nolimit, monkeypatch, [("v@x.io", "lead")])
    run = sync_dag.test(run_conf=_conf(tmp_path, store=None, table=None, sql_conn_id=None))
    assert run.state == "success"
    import sqlite3

    with sqlite3.connect(db) as conn:
        assert [r[0] for r in conn.execute("SELECT value FROM from_variable")] == ["v@x.io"]
    assert json.loads(json.dumps(_summary(run)))["local_store"] == "sql:suppression_db/from_variable"


REMOTE_30 = [(f"r{i}@x.io", "api") for i in range(30)]


def _local_state(path: Path) -> bytes | None:
    return path.read_bytes() if path.exists() else None


def _sqlite_tables(db: Path) -> set[str]:
    import sqlite3

    with sqlite3.connect(db) as conn:
        return {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


@pytest.mark.parametrize(
    ("case", "truth", "local", "expected"),
    [
        ("missing_csv", "local", None, "does not exist"),
        ("header_only_csv", "local", "value,source,created_at\n", "empty_truth guard"),
        ("value_column_not_found", "local", "id,mail\n" + "".join(f"{i},r{i}@x.io\n" for i in range(30)),
         "invalid_share guard"),
        ("missing_table", "local", "sql", "does not exist"),
        ("lemlist_side_empty", "lemlist", "value\n" + "".join(f"r{i}@x.io\n" for i in range(30)), "empty_truth guard"),
    ],
)  # fmt: skip
def test_mirror_never_removes_what_it_cannot_see(
    sync_dag, nolimit, monkeypatch, tmp_path, lemlist_pool, capfd, case, truth, local, expected
):
    """Issue 11: each case used to remove every entry of the other side; now the run fails at once, both
    sides stay as they were, and the message names the guard and how to proceed."""
    key = _team(nolimit, monkeypatch, REMOTE_30 if truth == "local" else [])
    local_csv, db = tmp_path / "suppression.csv", tmp_path / "suppression.db"
    conf = _conf(tmp_path, mode="mirror", truth=truth, confirm_removals=True)
    if local == "sql":
        monkeypatch.setenv("AIRFLOW_CONN_SUPPRESSION_DB", _sqlite_conn(db))
        _sqlite_tables(db)  # an existing database without the table
        conf.update(store="sql", sql_conn_id="suppression_db", table="lemlist_not_there")  # allowed, absent
    elif local is not None:
        local_csv.write_text(local)
    remote_before, local_before = set(nolimit.team(key).unsubscribes), _local_state(local_csv)
    before = nolimit.stats()

    run = sync_dag.test(run_conf=conf)

    assert run.state == "failed"
    (ti,) = [t for t in run.get_task_instances() if t.task_id == "sync"]
    assert ti.state == "failed" and ti.try_number == 1  # the same inputs would fail the same way
    assert _writes(before, nolimit.stats()) == {}
    assert set(nolimit.team(key).unsubscribes) == remote_before and _local_state(local_csv) == local_before
    if local == "sql":
        assert _sqlite_tables(db) == set()  # not created by the failed run either
    text = capfd.readouterr()
    lines = [line for line in (text.out + text.err).splitlines() if expected in line]
    assert lines and ("max_" in lines[0] or "never mirrored" in lines[0] or "Create it" in lines[0]), lines
    if "guard" in expected:  # the plan is in the audit file: every removal it would have made, refused
        (audit,) = (tmp_path / "audit").glob("unsubscribe_sync_*.csv")
        with audit.open(newline="", encoding="utf-8") as handle:
            refused = [r for r in csv.DictReader(handle) if r["action"] == "refused"]
        assert len(refused) == 30 and expected.split()[0] in refused[0]["reason"]


def test_a_legitimate_mirror_removal_passes_the_guards_and_dry_run_shows_it_exactly(
    sync_dag, nolimit, monkeypatch, tmp_path, lemlist_pool
):
    remote = [(f"r{i}@x.io", "api") for i in range(40)]
    key = _team(nolimit, monkeypatch, remote)
    local_csv = tmp_path / "suppression.csv"
    _write_local(local_csv, [f"r{i}@x.io" for i in range(1, 40)] + ["bad@"])  # r0 dropped, 1 invalid of 40
    conf = _conf(tmp_path, mode="mirror", confirm_removals=True, max_invalid_percent=5.0)

    dry = sync_dag.test(run_conf={**conf, "dry_run": True})
    assert dry.state == "success"
    dry_summary = _summary(dry)
    would = {r["value"] for r in _audit(dry_summary) if r["action"] == "would_remove"}
    assert would == {"r0@x.io"} and dry_summary["removal_guard"] is None

    run = sync_dag.test(run_conf=conf)
    assert run.state == "success"
    removed = {r["value"] for r in _audit(_summary(run)) if r["action"] == "removed"}
    assert removed == would and "r0@x.io" not in nolimit.team(key).unsubscribes
    assert len(nolimit.team(key).unsubscribes) == 39


def test_dry_run_of_a_refused_mirror_names_the_guard_and_removes_nothing(
    sync_dag, nolimit, monkeypatch, tmp_path, lemlist_pool
):
    key = _team(nolimit, monkeypatch, REMOTE_30)
    (tmp_path / "suppression.csv").write_text("value\n" + "".join(f"r{i}@x.io\n" for i in range(20)))
    run = sync_dag.test(run_conf=_conf(tmp_path, mode="mirror", confirm_removals=True, dry_run=True))
    assert run.state == "success"
    summary = _summary(run)
    assert (
        summary["removal_guard"] == "removal_share"
        and "max_removal_percent=33.4 or more" in summary["removal_refused"]
    )
    actions = [r["action"] for r in _audit(summary) if r["side"] == "lemlist" and r["action"] != "kept"]
    assert actions == ["refused"] * 10 and len(nolimit.team(key).unsubscribes) == 30
