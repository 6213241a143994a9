"""Every DAG of the project, as the scheduler sees it: parses, stays in the lemlist pool, retries with
backoff, reports failures, and offers a usable trigger form.

The pool is checked on the *serialized* DAG, because that is what the scheduler queues from: a mapped
task's pool comes from its partial kwargs, so an operator that only sets its pool in ``__init__`` would
run its mapped batches in ``default_pool``, outside the key's concurrency cap.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lemlist_provider.notifiers import LemlistIncidentNotifier

ROOT = Path(__file__).resolve().parents[2]
EXPECTED_DAGS = {
    "lemlist_account_overview",
    "lemlist_campaign_export",
    "lemlist_enrichment",
    "lemlist_enrichment_new_leads",
    "lemlist_lead_import",
    "lemlist_reply_handoff",
    "lemlist_unsubscribe_events",
    "lemlist_unsubscribe_sync",
    "lemlist_warehouse_sync",
    "lemlist_webhooks_setup",
}
#: scheduled on lemlist events, calling no lemlist route: outside the pool, so a pool busy with long lemlist
#: tasks never delays a suppression
EVENT_DAGS = {"lemlist_reply_handoff", "lemlist_unsubscribe_events"}


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(ROOT / "dags"))


@pytest.fixture(scope="module")
def serialized(dagbag):
    from airflow.serialization.serialized_objects import DagSerialization

    return {
        dag_id: DagSerialization.deserialize_dag(DagSerialization.serialize_dag(dag))
        for dag_id, dag in dagbag.dags.items()
    }


def test_every_dag_parses(dagbag):
    assert dagbag.import_errors == {}
    assert set(dagbag.dags) == EXPECTED_DAGS


@pytest.mark.parametrize("dag_id", sorted(EXPECTED_DAGS - EVENT_DAGS))
def test_every_task_runs_in_the_lemlist_pool_as_scheduled(serialized, dag_id):
    tasks = serialized[dag_id].tasks
    outside = {t.task_id: t.pool for t in tasks if t.pool != "lemlist_api"}
    assert outside == {}, f"{dag_id}: tasks the scheduler would queue outside lemlist_api: {outside}"


@pytest.mark.parametrize("dag_id", sorted(EVENT_DAGS))
def test_event_dags_call_no_lemlist_route_and_wait_for_no_lemlist_slot(dagbag, serialized, dag_id):
    from lemlist_provider.operators.base import LemlistTaskMixin

    assert not [t.task_id for t in dagbag.dags[dag_id].tasks if isinstance(t, LemlistTaskMixin)]
    assert {t.pool for t in serialized[dag_id].tasks} == {"default_pool"}
    assert dagbag.dags[dag_id].max_active_runs == 1  # one writer of the list or table at a time


@pytest.mark.parametrize("dag_id", sorted(EXPECTED_DAGS))
def test_retries_with_backoff_and_an_incident_line(dagbag, dag_id):
    for task in dagbag.dags[dag_id].tasks:
        assert task.retries >= 2, (dag_id, task.task_id)
        assert task.retry_exponential_backoff, (dag_id, task.task_id)
        callbacks = task.on_failure_callback
        callbacks = callbacks if isinstance(callbacks, list) else [callbacks]
        assert any(isinstance(c, LemlistIncidentNotifier) for c in callbacks), (dag_id, task.task_id)


@pytest.mark.parametrize("dag_id", sorted(EXPECTED_DAGS))
def test_trigger_form_params_are_explained(dagbag, dag_id):
    dag = dagbag.dags[dag_id]
    assert dag.doc_md and "lemlist" in dag.tags
    for name in dag.params:
        param = dag.params.get_param(name)
        assert param.schema.get("title"), f"{dag_id}.{name} has no title"
        assert param.description, f"{dag_id}.{name} has no description"
