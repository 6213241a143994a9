"""The ``lemlist_lead_import`` DAG end to end with ``dag.test()`` against a real sandbox over HTTP.

These tests are about correctness, not pacing: the sandbox and the connection run without a rate limit so
the 520-row sample imports in seconds (pacing is measured by ``bench/bench_import.py``).
"""

from __future__ import annotations

import csv
import uuid
from pathlib import Path

import pytest

from lemlist_sandbox import SandboxServer, connection_json
from lemlist_sandbox.seed import add_campaign

pytestmark = pytest.mark.usefixtures("storage_roots")
ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "include" / "data" / "sample_leads.csv"

# What include/data/sample_leads.csv holds (planted by construction; see the file's rows).
SAMPLE_ROWS = 520
SAMPLE_EXPECTED = {"imported": 470, "invalid": 20, "duplicate_in_file": 20, "unsubscribed": 10, "failed": 0}


_DEFAULTS: dict = {}


@pytest.fixture(scope="module", autouse=True)
def _form_defaults(lead_dag):
    """The trigger form's defaults as parsed, before any run (``campaign_id`` left out)."""
    _DEFAULTS.update(
        {name: lead_dag.params.get_param(name).value for name in lead_dag.params if name != "campaign_id"}
    )


def _team(server: SandboxServer, monkeypatch, *, seed: str = "demo") -> tuple[str, str]:
    """A team of its own (demo seed: the three unsubscribes) with a fresh campaign; the connection points at it."""
    key = f"dag-test-{uuid.uuid4().hex[:10]}"
    server.create_team(key, credits=10_000, seed=seed)
    team = server.team(key)
    campaign = add_campaign(server.sandbox.world, team, "Lead import test", "draft")
    monkeypatch.setenv("AIRFLOW_CONN_LEMLIST_DEFAULT", connection_json(server.base_url, key, rate_limit=0))
    return key, campaign["_id"]


def _report(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _summary(dag_run) -> dict:
    ti = next(t for t in dag_run.get_task_instances() if t.task_id == "write_report")
    return ti.xcom_pull(task_ids="write_report", key="summary")


def _run(lead_dag, **conf):
    """``dag.test`` keeps the previous run's conf in the DAG's params: pass every param explicitly."""
    return lead_dag.test(run_conf={**_DEFAULTS, **conf})


def test_sample_import_then_rerun_then_faults_give_the_same_report(
    lead_dag, unlimited_sandbox, monkeypatch, tmp_path
):
    key, campaign_id = _team(unlimited_sandbox, monkeypatch)
    team = unlimited_sandbox.team(key)
    out = tmp_path / "first"
    run = _run(lead_dag, campaign_id=campaign_id, source="include/data/sample_leads.csv", output_uri=str(out))
    assert run.state == "success"
    rows = _report(out / f"sample_leads.{campaign_id}.results.csv")
    assert len(rows) == SAMPLE_ROWS
    assert [int(r["row_number"]) for r in rows] == list(range(1, SAMPLE_ROWS + 1))
    counts = {s: sum(1 for r in rows if r["status"] == s) for s in SAMPLE_EXPECTED}
    assert counts == SAMPLE_EXPECTED

    # The sandbox holds exactly the imported leads, once each, with their ids and custom variables.
    leads = team.leads_in_campaign(campaign_id)
    imported = {r["email"]: r["lead_id"] for r in rows if r["status"] == "imported"}
    assert len(leads) == 470
    assert {lead["email"]: lead["_id"] for lead in leads} == imported
    ada = next(lead for lead in leads if lead["email"] == "ada.lovelace0@northwind.example")
    assert ada["firstName"] == "Ada" and ada["companyName"] == "Northwind" and ada["Industry"] == "SaaS"
    assert "met at booth" in ada["Notes"]
    # planted rows: upper case and padded emails are normalised, repeats point at their first row
    by_row = {int(r["row_number"]): r for r in rows}
    assert by_row[4]["email"] == "margaret.hopper3@globex.example" and by_row[4]["status"] == "imported"
    assert by_row[8]["status"] == "invalid" and "@-sign" in by_row[8]["reason"]
    assert by_row[61]["status"] == "duplicate_in_file" and by_row[61]["reason"] == "duplicate of row 2"
    assert by_row[53]["status"] == "unsubscribed"  # OptOut@Acme.test: on the list, whatever its TLD
    assert by_row[94]["status"] == "unsubscribed" and "@competitor.example" in by_row[94]["reason"]
    assert not any(lead["email"].endswith("@competitor.example") for lead in leads)

    summary = _summary(run)
    assert summary["counts"]["imported"] == 470 and summary["total_rows"] == SAMPLE_ROWS
    # the import's own requests, one per lead; the validate task's (campaign check, unsubscribes) are in its
    # own ops summary, not added here (issue 18: the import's 429s once counted the validation's)
    assert summary["requests"] >= 470
    assert not (out / ".lemlist_import").exists() or not any((out / ".lemlist_import").iterdir())

    # A second run creates nothing and says so.
    out2 = tmp_path / "second"
    run2 = _run(lead_dag, campaign_id=campaign_id, source=str(SAMPLE), output_uri=str(out2))
    assert run2.state == "success"
    rows2 = _report(out2 / f"sample_leads.{campaign_id}.results.csv")
    assert sum(1 for r in rows2 if r["status"] == "already_in_campaign") == 470
    assert sum(1 for r in rows2 if r["status"] == "imported") == 0
    assert len(team.leads_in_campaign(campaign_id)) == 470

    # Same file into a new campaign with 10 % 5xx and 2 % resets: identical statuses and sandbox state.
    key3, campaign3 = _team(unlimited_sandbox, monkeypatch)
    unlimited_sandbox.set_faults(error_rate=0.1, reset_rate=0.02)
    try:
        out3 = tmp_path / "faults"
        run3 = _run(lead_dag, campaign_id=campaign3, source=str(SAMPLE), output_uri=str(out3))
    finally:
        unlimited_sandbox.set_faults(error_rate=0.0, reset_rate=0.0)
    assert run3.state == "success"
    stats = unlimited_sandbox.stats()
    assert stats["faults_5xx"] > 10 and stats["connection_resets"] > 0  # the faults really happened
    rows3 = _report(out3 / f"sample_leads.{campaign3}.results.csv")
    assert [(r["row_number"], r["email"], r["status"]) for r in rows3] == [
        (r["row_number"], r["email"], r["status"]) for r in rows
    ]
    assert all(r["lead_id"] for r in rows3 if r["status"] == "imported")
    leads3 = unlimited_sandbox.team(key3).leads_in_campaign(campaign3)
    assert sorted(lead["email"] for lead in leads3) == sorted(imported)
    assert _summary(run3)["retries"] > 0


def test_dry_run_sends_no_lead(lead_dag, unlimited_sandbox, monkeypatch, tmp_path):
    key, campaign_id = _team(unlimited_sandbox, monkeypatch)
    src = tmp_path / "few.csv"
    src.write_text("email,firstName\na@ok.example,A\nb@ok.example,B\nbroken,C\n")
    run = _run(lead_dag, campaign_id=campaign_id, source=str(src), dry_run=True)
    assert run.state == "success"
    rows = _report(
        tmp_path / "lemlist_lead_import" / f"few.{campaign_id}.results.csv"
    )  # the first output root by default
    assert [r["status"] for r in rows] == ["would_import", "would_import", "invalid"]
    assert unlimited_sandbox.team(key).leads_in_campaign(campaign_id) == []


def test_inline_leads_and_all_rows_rejected(lead_dag, unlimited_sandbox, monkeypatch, tmp_path):
    key, campaign_id = _team(unlimited_sandbox, monkeypatch)
    run = _run(
        lead_dag,
        campaign_id=campaign_id,
        leads=["x@inline.example", {"email": "Y@Inline.example", "firstName": "Y"}, "x@inline.example"],
        output_uri=str(tmp_path),
    )
    assert run.state == "success"
    (report,) = tmp_path.glob("inline_leads_*.results.csv")
    assert [r["status"] for r in _report(report)] == ["imported", "imported", "duplicate_in_file"]
    # every row rejected: no batch to map, the report still runs and the run succeeds
    src = tmp_path / "none_valid.csv"
    src.write_text("email\nnope\nno-thanks@example.com\n")
    run = _run(lead_dag, campaign_id=campaign_id, source=str(src))
    assert run.state == "success"
    default_folder = tmp_path / "lemlist_lead_import"
    assert [r["status"] for r in _report(default_folder / f"none_valid.{campaign_id}.results.csv")] == [
        "invalid",
        "unsubscribed",
    ]


def test_bad_files_fail_the_run_with_a_clear_message(
    lead_dag, unlimited_sandbox, monkeypatch, capfd, bad_lead_file
):
    src, problem, cells = bad_lead_file
    _, campaign_id = _team(unlimited_sandbox, monkeypatch)
    run = _run(lead_dag, campaign_id=campaign_id, source=str(src))
    assert run.state == "failed"
    validate = next(t for t in run.get_task_instances() if t.task_id == "validate")
    assert validate.state == "failed" and validate.try_number == 1  # no retries for a bad file
    captured = capfd.readouterr()
    messages = [line for line in (captured.out + captured.err).splitlines() if "Lead source" in line]
    assert any(str(src) in line and problem in line for line in messages), messages
    assert not [cell for cell in cells if cell in captured.out + captured.err]  # no file content in the log


def test_bad_conf_is_refused(lead_dag):
    from airflow.sdk.exceptions import ParamValidationError

    with pytest.raises(ParamValidationError):
        lead_dag.test(run_conf={"campaign_id": "not-a-campaign"})
    with pytest.raises(ParamValidationError):
        lead_dag.test(run_conf={"campaign_id": "cam_x", "strategy": "bulk"})


def test_unsubscribed_people_are_matched_in_every_spelling(
    lead_dag, unlimited_sandbox, monkeypatch, tmp_path
):
    """An address on the list in its IDNA form stops its Unicode spelling and the other way round, for
    whole ``@domain`` entries too; two spellings of one address in the file are one person."""
    from lemlist_sandbox.seed import add_unsubscribe

    key, campaign_id = _team(unlimited_sandbox, monkeypatch, seed="empty")
    team = unlimited_sandbox.team(key)
    for value in ("ada@xn--exmple-cua.de", "bob@exämple.de", "@xn--bcher-kva.example", "@münchen.example"):
        add_unsubscribe(unlimited_sandbox.sandbox.world, team, value)
    src = tmp_path / "spellings.csv"
    src.write_text(
        "email\nada@exämple.de\nBOB@xn--exmple-cua.de\ncarl@BÜCHER.example\ndora@xn--mnchen-3ya.example\n"
        "eve@exämple.de\nEVE@XN--EXMPLE-CUA.DE\n",
        encoding="utf-8",
    )
    run = _run(lead_dag, campaign_id=campaign_id, source=str(src), output_uri=str(tmp_path / "out"))
    assert run.state == "success"
    rows = _report(tmp_path / "out" / f"spellings.{campaign_id}.results.csv")
    assert [r["status"] for r in rows] == [
        "unsubscribed", "unsubscribed", "unsubscribed", "unsubscribed", "imported", "duplicate_in_file",
    ]  # fmt: skip
    assert [lead["email"] for lead in team.leads_in_campaign(campaign_id)] == ["eve@exämple.de"]


def test_hostile_rows_are_reported_invalid_and_the_report_counts_every_row(
    lead_dag, unlimited_sandbox, monkeypatch, tmp_path
):
    key, campaign_id = _team(unlimited_sandbox, monkeypatch, seed="empty")
    src = tmp_path / "hostile.csv"
    with src.open("wb") as handle:
        handle.write(b"email,firstName,Notes\n")
        handle.write(b"one@x.example,One,ok\n")
        handle.write(b"two@x.example,Two," + b"a" * 200_000 + b"\n")  # over the csv module's field limit
        handle.write(b"three@x.example,Th\x00ree,ok\n")  # a NUL byte
        handle.write(b"four@x.example,Four," + b"b" * (3 * 1024 * 1024) + b"\n")  # a 3 MB line
        handle.write(b"five@x.example,Five,ok\n")
    run = _run(lead_dag, campaign_id=campaign_id, source=str(src), output_uri=str(tmp_path / "out"))
    assert run.state == "success"
    rows = _report(tmp_path / "out" / f"hostile.{campaign_id}.results.csv")
    assert [(r["row_number"], r["status"]) for r in rows] == [
        ("1", "imported"), ("2", "invalid"), ("3", "invalid"), ("4", "invalid"), ("5", "imported"),
    ]  # fmt: skip
    assert "longer than 131,072 characters" in rows[1]["reason"] and "NUL" in rows[2]["reason"]
    assert _summary(run)["total_rows"] == 5
    assert sorted(lead["email"] for lead in unlimited_sandbox.team(key).leads_in_campaign(campaign_id)) == [
        "five@x.example", "one@x.example",
    ]  # fmt: skip
