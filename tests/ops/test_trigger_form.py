"""The trigger forms' campaign field: only ``cam_...`` ids pass, and the campaigns the last account overview
saw are offered as suggestions (``examples``, a suggestion list in Airflow's form)."""

from __future__ import annotations

import copy

import pytest

from lemlist_provider.account.campaigns import known_file

CAMPAIGN_DAGS = (
    "lemlist_lead_import",
    "lemlist_campaign_export",
    "lemlist_enrichment",
    "lemlist_webhooks_setup",
)


def _parse() -> dict:
    from airflow.dag_processing.dagbag import DagBag

    from lemlist_provider.settings import project_root

    bag = DagBag(dag_folder=str(project_root() / "dags"))
    assert not bag.import_errors, bag.import_errors
    return bag.dags


@pytest.mark.parametrize("dag_id", CAMPAIGN_DAGS)
def test_only_campaign_ids_pass_the_form(shipped_dags, dag_id):
    from airflow.sdk.definitions.param import ParamValidationError

    param = copy.deepcopy(shipped_dags[dag_id].params.get_param("campaign_id"))
    assert param.resolve("cam_A1b2C3") == "cam_A1b2C3"
    for bad in ("abc", "cam_", "cam_x/../../team", " cam_A1", "lea_A1"):
        with pytest.raises(ParamValidationError):
            param.resolve(bad)


def test_the_last_overviews_campaigns_are_suggested(storage_roots, lemlist_conn, sandbox, shipped_dags):
    from lemlist_sandbox.seed import add_campaign

    team = sandbox.team(lemlist_conn)
    running = add_campaign(sandbox.sandbox.world, team, "Spring outreach", "running")["_id"]
    draft = add_campaign(sandbox.sandbox.world, team, "Autumn draft", "draft")["_id"]

    overview = shipped_dags["lemlist_account_overview"]
    assert overview.test(run_conf={"lemlist_conn_id": "lemlist_default", "min_credits": 0}).state == "success"
    assert known_file().startswith(str(storage_roots))  # the first output root, not a tracked folder

    for dag_id, dag in _parse().items():
        if dag_id in CAMPAIGN_DAGS:
            # this team's campaigns, from the overview this test ran: running first
            assert dag.params.get_param("campaign_id").schema["examples"] == [running, draft]
            assert dag.params.get_param("campaign_id").resolve(running) == running
