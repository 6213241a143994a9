"""What the provider declares (``get_provider_info``, like a provider.yaml) and what every lemlist task
shares (``LemlistBaseOperator``): Airflow's own ProvidersManager and DAG machinery read both."""

from __future__ import annotations

import importlib
import inspect

from airflow.sdk import DAG, BaseOperator, BaseSensorOperator
from airflow.triggers.base import BaseTrigger

from lemlist_provider import get_provider_info
from lemlist_provider.operators.base import LemlistBaseOperator, LemlistBaseSensor
from lemlist_provider.settings import OPTIONS


def _classes(info: dict, layer: str, base: type) -> set[str]:
    names = set()
    for module_name in info[layer][0]["python-modules"]:
        module = importlib.import_module(module_name)
        names |= {n for n, c in inspect.getmembers(module, inspect.isclass)
                  if issubclass(c, base) and c.__module__ == module_name}  # fmt: skip
    return names


def test_provider_info_lists_every_layer_and_the_config_section():
    info = get_provider_info()
    assert {"LemlistAccountOverviewOperator", "LemlistCampaignExportOperator", "LemlistEnrichOperator",
            "LemlistValidateLeadsOperator", "LemlistUnsubscribeSyncOperator"} <= _classes(info, "operators", BaseOperator)  # fmt: skip
    assert _classes(info, "sensors", BaseSensorOperator) == {"LemlistEnrichmentSensor", "LemlistExportSensor"}
    assert _classes(info, "triggers", BaseTrigger) == {
        "LemlistEnrichmentTrigger",
        "LemlistExportStatusTrigger",
    }
    assert info["notifications"] == [
        "lemlist_provider.notifiers.LemlistIncidentNotifier",
        "lemlist_provider.notifiers.LemlistHandoffNotifier",
    ]
    assert set(info["config"]["lemlist"]["options"]) == set(OPTIONS)

    from airflow.providers_manager import ProvidersManager

    manager = ProvidersManager()
    manager.initialize_providers_configuration()
    assert "lemlist" in manager.provider_configs[0][1] or any(
        "lemlist" in c for _, c in manager.provider_configs
    )


def test_base_task_pool_conn_id_and_one_hook_per_task():
    class Probe(LemlistBaseOperator):
        def execute(self, context):
            return None

    class ProbeSensor(LemlistBaseSensor):
        def poke(self, context):
            return True

    with DAG("shape_defaults"):
        default = Probe(task_id="a")
    with DAG("shape_dag_pool", default_args={"pool": "elsewhere"}):
        from_dag = ProbeSensor(task_id="b", lemlist_conn_id="{{ params.conn }}")
    assert default.pool == "lemlist_api" and from_dag.pool == "elsewhere"  # a DAG's default_args win
    assert "lemlist_conn_id" in Probe.template_fields and "lemlist_conn_id" in ProbeSensor.template_fields
    assert default.lemlist_conn_id == "lemlist_default"
    assert default.hook is default.hook and default.hook.lemlist_conn_id == "lemlist_default"


def test_keyword_arguments_are_kept_take_default_args_and_render():
    """``keep_arguments``: every named argument of a provider task is its attribute of the same name (the
    ones handed to the base stay the base's), a DAG's ``default_args`` reach the lemlist-specific ones, and
    the template fields render."""
    from lemlist_provider.exports.wait import DEFAULT_POLL
    from lemlist_provider.operators.enrichment import LemlistCreditsOperator, LemlistEnrichOperator
    from lemlist_provider.operators.events import LemlistUnsubscribeEventsOperator
    from lemlist_provider.sensors.exports import LemlistExportSensor

    defaults = {"min_credits": "{{ params.least }}", "csv_path": "lists/{{ params.name }}.csv"}
    with DAG("shape_kept", default_args=defaults, params={"least": 7, "name": "people"}):
        credits = LemlistCreditsOperator(task_id="credits")
        suppress = LemlistUnsubscribeEventsOperator(task_id="suppress", bounces=True)
        enrich = LemlistEnrichOperator(task_id="enrich", lead_ids=["lea_1"], timeout=90)
        wait = LemlistExportSensor(task_id="wait", campaign_id="cam_1", export_id="axp_1", timeout=60)
    assert credits.min_credits == "{{ params.least }}" and credits.scheduled_spending is False
    assert credits.lemlist_conn_id == "lemlist_default" and credits.pool == "lemlist_api"
    assert suppress.csv_path == "lists/{{ params.name }}.csv" and suppress.store == "csv" and suppress.bounces
    assert enrich.lead_ids == ["lea_1"] and enrich.wait_timeout == 90.0 and "timeout" not in vars(enrich)
    assert (wait.campaign_id, wait.export_id, wait.timeout) == ("cam_1", "axp_1", 60)
    assert wait.poke_interval == DEFAULT_POLL["poll_min"] and wait.poll_max == DEFAULT_POLL["poll_max"]
    assert not {"self", "kwargs", "__class__"} & (set(vars(credits)) | set(vars(suppress)) | set(vars(wait)))
    context = {"params": {"least": 7, "name": "people"}}
    credits.render_template_fields(context)
    suppress.render_template_fields(context)
    assert credits.min_credits == "7" and suppress.csv_path == "lists/people.csv"
