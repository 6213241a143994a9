"""The same file imported into two campaigns writes two reports, never one over the other (issue 18)."""

from __future__ import annotations

import csv
import uuid

import pytest

from lemlist_sandbox import connection_json
from lemlist_sandbox.seed import add_campaign

pytestmark = pytest.mark.usefixtures("storage_roots")


def test_one_file_two_campaigns_two_reports(
    lead_dag, unlimited_sandbox, form_defaults, monkeypatch, tmp_path
):
    key = f"two-{uuid.uuid4().hex[:10]}"
    unlimited_sandbox.create_team(key, credits=1000)
    team = unlimited_sandbox.team(key)
    first, second = (
        add_campaign(unlimited_sandbox.sandbox.world, team, name, "draft")["_id"] for name in "AB"
    )
    monkeypatch.setenv(
        "AIRFLOW_CONN_LEMLIST_DEFAULT", connection_json(unlimited_sandbox.base_url, key, rate_limit=0)
    )
    source = tmp_path / "shared.csv"
    source.write_text("email\none@example.com\ntwo@example.com\n")
    out = tmp_path / "out"
    for campaign_id in (first, second):
        conf = {
            **form_defaults(lead_dag),
            "campaign_id": campaign_id,
            "source": str(source),
            "output_uri": str(out),
        }
        assert lead_dag.test(run_conf=conf).state == "success"
    reports = sorted(p.name for p in out.glob("*.results.csv"))
    assert reports == sorted([f"shared.{first}.results.csv", f"shared.{second}.results.csv"])
    for campaign_id in (first, second):  # each report tells its own campaign's story
        with (out / f"shared.{campaign_id}.results.csv").open(newline="") as handle:
            assert [r["status"] for r in csv.DictReader(handle)] == ["imported", "imported"]
        assert len(team.leads_in_campaign(campaign_id)) == 2
