"""``run_sync`` against a real sandbox: chunked bulk pushes, and the fallback to the legacy routes."""

from __future__ import annotations

import csv
import logging
import uuid

from lemlist_provider.unsubscribes import CsvSuppressionStore, SyncOptions, run_sync
from lemlist_sandbox import connection_json as lemlist_conn_uri
from lemlist_sandbox.seed import add_unsubscribe


def _setup(server, monkeypatch, tmp_path, remote, local):
    key = f"sync-{uuid.uuid4().hex[:10]}"
    server.create_team(key, seed="empty")
    for value in remote:
        add_unsubscribe(server.sandbox.world, server.team(key), value, source="lead")
    monkeypatch.setenv("AIRFLOW_CONN_LEMLIST_DEFAULT", lemlist_conn_uri(server.base_url, key))
    path = tmp_path / "local.csv"
    path.write_text("value\n" + "\n".join(local) + "\n")
    from lemlist_provider.hooks.lemlist import LemlistHook

    return key, CsvSuppressionStore(path), LemlistHook()


def _delta(before, after, route):
    return after["by_route"].get(route, 0) - before["by_route"].get(route, 0)


def test_bulk_push_is_chunked(unlimited_sandbox, monkeypatch, tmp_path):
    key, store, hook = _setup(unlimited_sandbox, monkeypatch, tmp_path, [], [f"u{i}@x.io" for i in range(7)])
    before = unlimited_sandbox.stats()
    summary = run_sync(hook, store, SyncOptions(bulk_size=3))
    assert (
        _delta(before, unlimited_sandbox.stats(), "POST /api/v2/unsubscribes/variables")
        == 3
        == summary["bulk_calls"]
    )
    assert len(unlimited_sandbox.team(key).unsubscribes) == 7


def test_legacy_fallback_when_v2_is_refused(unlimited_sandbox, monkeypatch, tmp_path, caplog):
    local = ["new@x.io", "@newdomain.io", "https://www.linkedin.com/in/someone", "old@x.io"]
    key, store, hook = _setup(unlimited_sandbox, monkeypatch, tmp_path, ["old@x.io", "remote@x.io"], local)
    unlimited_sandbox.set_team_flags(key, reject_v2_unsubscribes=True)
    before = unlimited_sandbox.stats()
    with caplog.at_level(logging.WARNING):
        summary = run_sync(hook, store, SyncOptions(), tmp_path / "audit.csv")
    after = unlimited_sandbox.stats()
    assert any(
        "falling back to the legacy" in r.getMessage() and r.levelno == logging.WARNING
        for r in caplog.records
    )
    assert _delta(before, after, "POST /api/unsubscribes/{value}") == 2
    assert _delta(before, after, "POST /api/v2/unsubscribes/variables") == 0
    assert set(unlimited_sandbox.team(key).unsubscribes) == {
        "old@x.io",
        "remote@x.io",
        "new@x.io",
        "@newdomain.io",
    }
    assert summary["legacy_fallback"] and summary["not_pushed_legacy"] == 1 and summary["added_to_local"] == 1
    audit = list(csv.DictReader((tmp_path / "audit.csv").open()))
    assert [r["action"] for r in audit if "linkedin" in r["value"]] == ["not_pushed"]


def test_paginated_pull_matches_the_export(unlimited_sandbox, monkeypatch, tmp_path):
    remote = [f"r{i}@x.io" for i in range(250)]
    key, store, hook = _setup(unlimited_sandbox, monkeypatch, tmp_path, remote, [])
    before = unlimited_sandbox.stats()
    summary = run_sync(hook, store, SyncOptions(pull="paginate", dry_run=True))
    assert summary["lemlist_total"] == 250 and summary["to_local"] == 250
    assert _delta(before, unlimited_sandbox.stats(), "GET /api/v2/unsubscribes/variables") == 3


def test_unicode_and_idna_spellings_match_across_sides(unlimited_sandbox, monkeypatch, tmp_path):
    remote = ["user@xn--exmple-cua.de", "@bücher.example"]
    key, store, hook = _setup(
        unlimited_sandbox, monkeypatch, tmp_path, remote, ["User@Exämple.de", "@XN--BCHER-KVA.example"]
    )
    before = unlimited_sandbox.stats()
    summary = run_sync(hook, store, SyncOptions())
    assert summary["in_both"] == 2 and summary["to_lemlist"] == summary["to_local"] == 0
    assert summary["invalid_local"] == summary["invalid_lemlist"] == 0
    assert _delta(before, unlimited_sandbox.stats(), "POST /api/v2/unsubscribes/variables") == 0
    assert set(unlimited_sandbox.team(key).unsubscribes) == set(remote)
