"""Issue 12, tried from the trigger forms of the shipped DAGs (``dag.test()`` against the sandbox): a file
Param outside the admin's storage roots, through ``..`` or a symlink, or naming a file the pipeline did not
write, fails its task at once, without retries, with a message naming the Param, the value and the roots;
nothing is read, spent or overwritten, and no file content reaches the log."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lemlist_sandbox.seed import add_campaign, add_lead

pytestmark = pytest.mark.usefixtures("storage_roots", "lemlist_pool")
ROOT = Path(__file__).resolve().parents[2]
FOREIGN = "not written by a lemlist pipeline"


def _failed_at_once(run, task_id: str, capfd, param: str, value: str | None = None) -> str:
    """The run failed in ``task_id`` on its first try, naming the Param and the value and the allowed roots
    (or, with no value, saying the Param names a file the pipeline did not write)."""
    assert run.state == "failed"
    (ti,) = [t for t in run.get_task_instances() if t.task_id == task_id]
    assert ti.state == "failed" and ti.try_number == 1, (ti.state, ti.try_number)  # no retries
    captured = capfd.readouterr()
    text = captured.out + captured.err
    expected = (f"{param}={value!r}", "allowed", "roots") if value is not None else (f"{param}: ", FOREIGN)
    assert any(all(part in line for part in expected) for line in text.splitlines()), expected
    return text


@pytest.fixture
def trigger(shipped_dags, form_defaults):
    """``trigger(dag_id, **conf)``: a run of a shipped DAG from its trigger form, the form's defaults but ``conf``."""

    def run(dag_id: str, **conf):
        dag = shipped_dags[dag_id]
        return dag.test(run_conf={**form_defaults(dag), **conf})

    return run


@pytest.fixture
def campaign(sandbox, lemlist_conn) -> tuple:
    team = sandbox.team(lemlist_conn)
    campaign = add_campaign(sandbox.sandbox.world, team, "Paths test", "running")
    add_lead(
        sandbox.sandbox.world, team, campaign, "ada@acme.io", firstName="Ada", lastName="L", companyName="A"
    )
    return team, campaign["_id"]


@pytest.mark.parametrize("source", ["/etc/passwd", "/proc/self/environ"])
def test_import_source_outside_the_input_roots(trigger, campaign, capfd, source, lemlist_conn):
    team, campaign_id = campaign
    run = trigger("lemlist_lead_import", campaign_id=campaign_id, source=source)
    text = _failed_at_once(run, "validate", capfd, "source", source)
    assert "root:x:0:0" not in text and lemlist_conn not in text  # neither passwd nor the environment
    assert [lead["email"] for lead in team.leads_in_campaign(campaign_id)] == [
        "ada@acme.io"
    ]  # the seeded one


def test_import_symlink_and_dot_dot_are_resolved_first(trigger, campaign, capfd, storage_roots):
    _, campaign_id = campaign
    link = storage_roots / "leads.csv"
    link.symlink_to("/etc/passwd")
    run = trigger("lemlist_lead_import", campaign_id=campaign_id, source=str(link))
    assert "root:x:0:0" not in _failed_at_once(run, "validate", capfd, "source", str(link))
    escape = f"{storage_roots}/../elsewhere"
    run = trigger("lemlist_lead_import", campaign_id=campaign_id, leads=["a@b.io"], output_uri=escape)
    _failed_at_once(run, "validate", capfd, "output_uri", escape)
    assert not (storage_roots.parent / "elsewhere").exists()


def test_export_onto_a_foreign_file_starts_nothing_and_leaves_it(trigger, campaign, capfd, storage_roots):
    team, campaign_id = campaign
    foreign = storage_roots / "suppression_list.csv"
    foreign.write_text("value\nkeep@me.io\n")
    conf = {"campaign_id": campaign_id, "output_uri": str(foreign), "first_poll": 0.1}
    run = trigger("lemlist_campaign_export", **conf)
    _failed_at_once(run, "export", capfd, "output_uri")
    assert foreign.read_text() == "value\nkeep@me.io\n"
    assert not team.exports  # refused before lemlist was asked to build anything
    outside = "/var/tmp/lemlist-export-{campaign_id}.csv"
    run = trigger("lemlist_campaign_export", **{**conf, "output_uri": outside})
    _failed_at_once(run, "export", capfd, "output_uri", outside.format(campaign_id=campaign_id))


def test_enrichment_output_or_source_refused_before_any_credit(
    trigger, campaign, capfd, storage_roots, sandbox
):
    team, campaign_id = campaign
    foreign = storage_roots / "customers.csv"
    foreign.write_text("email\nvip@acme.io\n")
    credits, bulk = team.credits, sandbox.stats()["by_route"].get("POST /api/v2/enrichments/bulk", 0)
    run = trigger("lemlist_enrichment", campaign_id=campaign_id, output=str(foreign))
    _failed_at_once(run, "request_enrichments", capfd, "output_path")
    run = trigger("lemlist_enrichment", campaign_id=None, output=None, source="/etc/passwd")
    assert "root:x:0:0" not in _failed_at_once(run, "request_enrichments", capfd, "source", "/etc/passwd")
    assert team.credits == credits and foreign.read_text() == "email\nvip@acme.io\n"
    assert sandbox.stats()["by_route"].get("POST /api/v2/enrichments/bulk", 0) == bulk


@pytest.mark.parametrize("param", ["csv_path", "audit_dir"])
def test_unsubscribe_sync_writes_only_inside_the_output_roots(trigger, lemlist_conn, capfd, param, sandbox):
    value = "/var/tmp/lemlist-sync-test/list.csv" if param == "csv_path" else "/var/tmp/lemlist-sync-test"
    writes = sum(n for r, n in sandbox.stats()["by_route"].items() if r.startswith("POST /api/v2/unsub"))
    run = trigger("lemlist_unsubscribe_sync", store="csv", **{param: value})
    _failed_at_once(run, "sync", capfd, param, value)
    assert not os.path.exists("/var/tmp/lemlist-sync-test")
    assert writes == sum(
        n for r, n in sandbox.stats()["by_route"].items() if r.startswith("POST /api/v2/unsub")
    )
