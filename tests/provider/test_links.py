"""The "lemlist campaign" extra link: its URL, the plugin that registers it, and the API server's view.

The last test runs the real ``lemlist_lead_import`` DAG (dry run, inline leads) against the sandbox, then
asks for the links exactly as the API server's ``/links`` route does: the DAG deserialized from the metadata
DB (plugin links attached by Airflow's plugins manager) and ``task.get_extra_links(ti, name)``.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _key(task_id: str, run_id: str = "manual__test", map_index: int = -1):
    from airflow.models.taskinstancekey import TaskInstanceKey

    return TaskInstanceKey(
        dag_id="links_test", task_id=task_id, run_id=run_id, try_number=1, map_index=map_index
    )


def test_link_uses_the_operators_literal_campaign_id():
    from airflow.sdk import BaseOperator

    from lemlist_provider.links import LemlistCampaignLink

    class CampaignTask(BaseOperator):
        def __init__(self, *, campaign_id: str, **kwargs):
            super().__init__(**kwargs)
            self.campaign_id = campaign_id

        def execute(self, context):
            return None

    link = LemlistCampaignLink()
    op = CampaignTask(task_id="t", campaign_id="cam_abc123")
    assert link.name == "lemlist campaign"
    assert link.get_link(op, ti_key=_key("t")) == "https://app.lemlist.com/campaigns/cam_abc123"


def test_plugin_loads_through_airflows_plugins_manager():
    from airflow import plugins_manager

    from lemlist_provider.links import LemlistCampaignLink
    from lemlist_provider.operators.lead_import import (
        LemlistImportLeadBatchOperator,
        LemlistValidateLeadsOperator,
    )

    plugins, errors = plugins_manager._get_plugins()
    assert not {k: v for k, v in errors.items() if "lemlist" in k}, errors
    assert "lemlist" in [p.name for p in plugins]
    links = [
        link for link in plugins_manager.get_operator_extra_links() if isinstance(link, LemlistCampaignLink)
    ]
    assert len(links) == 1
    assert {LemlistValidateLeadsOperator, LemlistImportLeadBatchOperator} <= set(links[0].operators)
    assert not [
        link for link in plugins_manager.get_global_operator_extra_links() if link.name == links[0].name
    ]
    # the provider declares it too (``airflow providers links``)
    from airflow.providers_manager import ProvidersManager

    assert "lemlist_provider.links.LemlistCampaignLink" in ProvidersManager().extra_links_class_names


@pytest.fixture
def campaign(sandbox, lemlist_conn, lemlist_pool):
    from lemlist_sandbox.seed import add_campaign

    return add_campaign(sandbox.sandbox.world, sandbox.team(lemlist_conn), "Link test", "draft")["_id"]


def test_api_server_renders_the_campaign_link_for_lead_import_tasks(campaign, storage_roots):
    from airflow.dag_processing.dagbag import DagBag
    from airflow.models.serialized_dag import SerializedDagModel

    dag = DagBag(dag_folder=str(ROOT / "dags")).get_dag("lemlist_lead_import")
    conf = {name: dag.params.get_param(name).value for name in dag.params if name != "campaign_id"}
    conf.update(
        campaign_id=campaign,
        leads=[f"link-{uuid.uuid4().hex[:6]}-{i}@example.com" for i in range(3)],
        output_uri=str(storage_roots),
        dry_run=True,
        skip_unsubscribed=False,
    )
    run = dag.test(run_conf=conf)
    assert run.state == "success", [(t.task_id, t.state) for t in run.get_task_instances()]

    served = SerializedDagModel.get_dag(dag.dag_id)  # what the API server works from
    expected = f"https://app.lemlist.com/campaigns/{campaign}"
    links = {}
    for ti in run.get_task_instances():
        task = served.get_task(ti.task_id)
        assert "lemlist campaign" in task.extra_links
        links[(ti.task_id, ti.map_index)] = task.get_extra_links(ti, "lemlist campaign")
    assert links[("validate", -1)] == expected  # templated campaign_id: from the rendered field
    assert links[("import_batch", 0)] == expected  # mapped batch: from the XCom it pushed
    # the report task knows no campaign: the UI shows a disabled button, not an error
    assert links[("write_report", -1)] == ""
