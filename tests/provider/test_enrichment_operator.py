"""``LemlistEnrichOperator`` and the results/credits operators against a real sandbox over HTTP."""

from __future__ import annotations

import csv
import uuid
from pathlib import Path

import pytest
from airflow.sdk.exceptions import AirflowFailException

from lemlist_provider.hooks.ratelimit import reset_limiters
from lemlist_provider.operators.enrichment import LemlistEnrichOperator
from lemlist_sandbox import SandboxServer, connection_json
from lemlist_sandbox.seed import add_campaign, add_lead

pytestmark = pytest.mark.usefixtures("storage_roots")

BULK = "POST /api/v2/enrichments/bulk"
SINGLE = "POST /api/leads/{leadId}/enrich"


def _connect(monkeypatch, server: SandboxServer, credits: int, **extra) -> str:
    key = f"enr-{uuid.uuid4().hex[:10]}"
    server.create_team(key, credits=credits)
    monkeypatch.setenv(
        "AIRFLOW_CONN_LEMLIST_DEFAULT", connection_json(server.base_url, key, rate_limit=0, **extra)
    )
    reset_limiters()
    return key


@pytest.fixture(scope="module")
def server(unlimited_sandbox):
    return unlimited_sandbox


def _rows(path: Path) -> dict[str, dict]:
    with path.open(newline="", encoding="utf-8") as handle:
        return {row["key"]: row for row in csv.DictReader(handle)}


def _count(server: SandboxServer, route: str) -> int:
    return server.stats()["by_route"].get(route, 0)


def _op(**kwargs) -> LemlistEnrichOperator:
    kwargs.setdefault("task_id", f"enrich_{uuid.uuid4().hex[:6]}")
    kwargs.setdefault("wait_for_completion", True)
    kwargs.setdefault("deferrable", False)
    kwargs.setdefault("first_poll", 0.25)
    kwargs.setdefault("max_interval", 0.5)
    kwargs.setdefault("timeout", 30)
    return LemlistEnrichOperator(**kwargs)


def test_per_item_errors_are_reported_not_fatal(server, monkeypatch, tmp_path):
    key = _connect(monkeypatch, server, credits=1000)
    people = [
        {"firstName": "Ada", "lastName": "Lovelace", "companyName": "Analytical"},  # done
        {"firstName": "Nobody", "lastName": "Known", "companyName": "Void"},  # not found
        {"linkedinUrl": "https://www.linkedin.com/in/enrich-fail"},  # failed, refunded
        {"firstName": "Only"},  # MISSING_INPUTS
    ]
    out = tmp_path / "results.csv"
    result = _op(people=people, enrichments=["find_email"], output_path=str(out)).execute({})
    rows = _rows(out)
    assert [rows[f"person:{n}"]["status"] for n in range(1, 5)] == ["done", "not_found", "failed", "error"]
    assert rows["person:4"]["error"] == "MISSING_INPUTS"
    assert rows["person:1"]["found_email"] == "ada.lovelace@analytical.com"
    assert result["counts"] == {"done": 1, "not_found": 1, "failed": 1, "error": 1, "total": 4}
    # charged for 3 starts, the failed one refunded
    assert server.team(key).credits == 1000 - 2


def test_409_already_enriched_is_skipped_unless_force(server, monkeypatch, tmp_path):
    key = _connect(monkeypatch, server, credits=1000)
    team = server.team(key)
    campaign = add_campaign(server.sandbox.world, team, "Enrich 409")
    leads = [
        add_lead(server.sandbox.world, team, campaign, f"lead{n}@acme.io", firstName="L", lastName=str(n))
        for n in range(3)
    ]
    ids = [lead["_id"] for lead in leads]
    first = _op(lead_ids=ids, enrichments=["verify_email"], output_path=str(tmp_path / "a.csv")).execute({})
    assert first["counts"] == {"done": 3, "total": 3}
    assert _rows(tmp_path / "a.csv")[ids[0]]["email_status"] == "deliverable"
    again = _op(lead_ids=ids, enrichments=["verify_email"], output_path=str(tmp_path / "b.csv")).execute({})
    assert again["counts"] == {"skipped": 3, "total": 3}
    assert "ALREADY_ENRICHED" in _rows(tmp_path / "b.csv")[ids[1]]["error"]
    assert team.credits == 1000 - 3
    forced = _op(
        lead_ids=ids[:1], enrichments=["verify_email"], force=True, output_path=str(tmp_path / "c.csv")
    ).execute({})
    assert forced["counts"] == {"done": 1, "total": 1}
    assert team.credits == 1000 - 4


def test_being_enriched_is_skipped(server, monkeypatch):
    key = _connect(monkeypatch, server, credits=1000)
    server.set_faults(enrichment_delay=1000)
    try:
        team = server.team(key)
        campaign = add_campaign(server.sandbox.world, team, "Enrich pending")
        lead = add_lead(server.sandbox.world, team, campaign, "busy@acme.io")
        first = _op(lead_ids=[lead["_id"]], enrichments=["verify_email"], wait_for_completion=False).execute(
            {}
        )
        second = _op(lead_ids=[lead["_id"]], enrichments=["verify_email"], wait_for_completion=False).execute(
            {}
        )
    finally:
        server.set_faults(enrichment_delay=20)
    assert first["counts"] == {"started": 1, "total": 1} if "started" in first["counts"] else first["counts"]
    assert len(first["enrichment_ids"]) == 1
    assert second["enrichment_ids"] == [] and second["records"][0]["status"] == "skipped"
    assert "already being enriched" in second["records"][0]["error"]


def test_insufficient_credits_fails_with_needed_and_available(server, monkeypatch):
    key = _connect(monkeypatch, server, credits=5)
    people = [f"p{n}@acme.io" for n in range(10)]
    bulk_before = _count(server, BULK)
    with pytest.raises(AirflowFailException) as caught:
        _op(people=people, enrichments=["verify_email"], wait_for_completion=False).execute({})
    assert "needs 10 credits" in str(caught.value) and "5 are available" in str(caught.value)
    assert _count(server, BULK) == bulk_before  # nothing was started
    assert server.team(key).credits == 5


def test_partial_and_max_credits_enrich_what_fits(server, monkeypatch, tmp_path):
    key = _connect(monkeypatch, server, credits=5)
    people = [f"p{n}@acme.io" for n in range(10)]
    result = _op(
        people=people,
        enrichments=["verify_email"],
        on_insufficient_credits="partial",
        output_path=str(tmp_path / "p.csv"),
    ).execute({})
    assert result["counts"] == {"done": 5, "skipped_credits": 5, "total": 10}
    assert server.team(key).credits == 0
    key = _connect(monkeypatch, server, credits=100)
    capped = _op(people=people, enrichments=["verify_email", "find_phone"], max_credits=7,
                 on_insufficient_credits="partial", output_path=str(tmp_path / "m.csv")).execute({})  # fmt: skip
    assert capped["counts"] == {"done": 3, "skipped_credits": 7, "total": 10}  # 2 credits per person
    assert server.team(key).credits == 100 - 6


def test_ledger_makes_a_retried_start_free(server, monkeypatch, tmp_path):
    key = _connect(monkeypatch, server, credits=100)
    ledger = tmp_path / "starts.jsonl"
    people = [f"p{n}@acme.io" for n in range(6)]
    bulk_before = _count(server, BULK)
    first, retry = (
        _op(people=people, enrichments=["verify_email"], chunk_size=4, ledger_path=str(ledger),
            wait_for_completion=False).execute({})
        for _ in range(2)
    )  # fmt: skip
    assert _count(server, BULK) == bulk_before + 2
    assert retry["enrichment_ids"] == first["enrichment_ids"] and retry["http"]["reused"] == 6
    assert server.team(key).credits == 94


def test_fault_rate_ten_percent(monkeypatch, tmp_path):
    with SandboxServer(time_scale=0.01, rate_limit=0) as sb:
        key = _connect(monkeypatch, sb, credits=10_000, max_attempts=8)
        sb.set_faults(error_rate=0.1)
        people = [f"p{n}@acme.io" for n in range(200)]
        out = tmp_path / "faults.csv"
        result = _op(
            people=people, enrichments=["verify_email"], chunk_size=20, output_path=str(out)
        ).execute({})
        stats = sb.stats()
        sb.set_faults(error_rate=0.0)
        rows = _rows(out)
        bulk_calls = stats["by_route"][BULK]
        assert bulk_calls == 10  # one per chunk: a start is never resent, even after a 5xx
        # a 5xx may come after lemlist applied the start: those people are outcome_unknown, never resent
        assert len(rows) == 200 and all(r["status"] in ("done", "outcome_unknown") for r in rows.values())
        errors = [r for r in rows.values() if r["status"] == "outcome_unknown"]
        assert all("not resent" in r["error"] for r in errors) and len(errors) % 20 == 0
        assert stats["faults_5xx"] > 0
        done = result["counts"].get("done", 0)
        assert done == 200 - len(errors) and sb.team(key).credits == 10_000 - done
