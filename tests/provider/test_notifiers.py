"""``LemlistIncidentNotifier`` and ``default_lemlist_args``: a real failing task run by ``dag.test()``.

The task, a ``LemlistBaseOperator``, calls the sandbox through its hook (one forced 429 so the figures are not
all zero), then fails with a message that quotes the key, as a careless error message would; the notifier
reads the figures from the failed task's own hook. What
the on-call person sees is one ERROR line with the DAG, task, run, try, error and lemlist figures, never the
key; the sink configured by dotted path gets the same line.
"""

from __future__ import annotations

import base64
import logging
import re
import textwrap
import uuid
from datetime import timedelta
from pathlib import Path

import pytest

from lemlist_sandbox import connection_json

DAG_FILE = """
from airflow.sdk import DAG, BaseHook

from lemlist_provider.dag_args import default_lemlist_args
from lemlist_provider.notifiers import LemlistIncidentNotifier
from lemlist_provider.operators.base import LemlistBaseOperator


class CallLemlist(LemlistBaseOperator):
    def execute(self, context):
        self.hook.get_team()
        self.hook.get_team()
        key = BaseHook.get_connection(self.lemlist_conn_id).password
        raise RuntimeError(f"lemlist refused key {{key}} (Authorization: Basic {{self.hook.basic_for_test(key)}})\\nmore")


with DAG(
    "{dag_id}",
    schedule=None,
    default_args=default_lemlist_args(
        retries=0, on_failure_callback=LemlistIncidentNotifier(sink="incident_sink.record")
    ),
) as dag:
    CallLemlist(task_id="call_lemlist")
"""

SINK_MODULE = """
import os


def record(context):
    with open(os.environ["LEMLIST_TEST_INCIDENT_FILE"], "a", encoding="utf-8") as handle:
        handle.write(context["lemlist_incident"] + "\\n")
"""


def test_default_lemlist_args_are_the_documented_policy():
    from lemlist_provider.dag_args import default_lemlist_args
    from lemlist_provider.notifiers import LemlistIncidentNotifier

    args = default_lemlist_args()
    assert args["retries"] == 3
    assert args["retry_delay"] == timedelta(seconds=30)
    assert args["retry_exponential_backoff"] == 2.0 and isinstance(args["retry_exponential_backoff"], float)
    assert args["max_retry_delay"] == timedelta(minutes=10)
    assert args["pool"] == "lemlist_api"
    assert isinstance(args["on_failure_callback"], LemlistIncidentNotifier)
    assert default_lemlist_args(retries=0)["retries"] == 0


def test_scrub_message_keeps_the_first_line_and_drops_every_key_form():
    from lemlist_provider.notifiers import scrub_message

    key = "k3y-" + uuid.uuid4().hex
    basic = base64.b64encode(f":{key}".encode()).decode()
    text = f"401 for {key} Authorization: Basic {basic} url ?access_token={key}&x=1\nTraceback line"
    out = scrub_message(text, [key])
    assert key not in out and basic not in out and "Traceback" not in out
    assert out.startswith("401 for *** Authorization: ***")
    # a key the notifier was not told about still goes when it rides in a Basic header or a query string
    assert (
        scrub_message(f"header Basic {basic} and ?access_token={key}")
        == "header Basic *** and ?access_token=***"
    )


@pytest.fixture
def failing_dag(fresh_sandbox, lemlist_pool, monkeypatch, tmp_path: Path):
    """A DAG file of its own, synced to the metadata DB like the DAG processor would, and its sink module."""
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.dagbag import BundleDagBag, sync_bag_to_db

    key = f"notifier-key-{uuid.uuid4().hex}"
    fresh_sandbox.create_team(key, credits=10)
    monkeypatch.setenv("AIRFLOW_CONN_LEMLIST_DEFAULT", connection_json(fresh_sandbox.base_url, key))
    incidents = tmp_path / "incidents.txt"
    monkeypatch.setenv("LEMLIST_TEST_INCIDENT_FILE", str(incidents))
    monkeypatch.syspath_prepend(str(tmp_path))
    (tmp_path / "incident_sink.py").write_text(textwrap.dedent(SINK_MODULE))
    # the hook has no helper to build a Basic value; the DAG file gets one so the message quotes both forms
    from lemlist_provider.hooks.lemlist import LemlistHook

    monkeypatch.setattr(
        LemlistHook,
        "basic_for_test",
        staticmethod(lambda k: base64.b64encode(f":{k}".encode()).decode()),
        raising=False,
    )
    dag_id = f"lemlist_notifier_test_{uuid.uuid4().hex[:8]}"
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / f"{dag_id}.py").write_text(DAG_FILE.format(dag_id=dag_id))
    DagBundlesManager().sync_bundles_to_db()  # the dags-folder bundle row the DAG rows refer to
    bag = BundleDagBag(dag_folder=str(dags), bundle_path=dags, bundle_name="dags-folder")
    assert not bag.import_errors, bag.import_errors
    sync_bag_to_db(bag, "dags-folder", None)
    fresh_sandbox.set_faults(force_429=1)
    return bag.get_dag(dag_id), key, incidents


def test_failed_task_logs_one_incident_line_without_the_key(failing_dag, fresh_sandbox, caplog, capsys):
    dag, key, incidents = failing_dag
    basic = base64.b64encode(f":{key}".encode()).decode()
    with caplog.at_level(logging.INFO):
        run = dag.test()
    assert run.state == "failed"
    output = capsys.readouterr()
    text = "\n".join([caplog.text, output.out, output.err])

    lines = [line for line in text.splitlines() if "lemlist incident:" in line and "forwarding" not in line]
    assert lines, f"no incident line in the logs:\n{text[-3000:]}"
    line = lines[0]
    stats = fresh_sandbox.stats()
    assert f"dag={dag.dag_id}" in line
    assert "task=call_lemlist" in line and f"run={run.run_id}" in line and "try=1/1" in line
    assert "error=RuntimeError: lemlist refused key ***" in line
    assert "more" not in line.split("error=", 1)[1].split(" lemlist ")[0]
    # the figures are the hook's own counters, which agree with what the sandbox saw
    assert stats["forced_429"] == 1
    assert f"requests={stats['total_requests']}" in line and "429s=1" in line
    assert re.search(r"retries=\d+", line)
    # logged at ERROR, once per failure, and the sink got exactly that line
    records = [
        r
        for r in caplog.records
        if "lemlist incident:" in r.getMessage() and "forwarding" not in r.getMessage()
    ]
    assert len(records) <= 1 and all(r.levelno == logging.ERROR for r in records)
    if not records:  # task logs went to the console renderer rather than caplog: the level is in the line
        assert re.search(r"\berror\b", lines[0], re.IGNORECASE)
    forwarded = incidents.read_text().splitlines()
    assert len(forwarded) == 1 and forwarded[0] in line
    # never the key, in any form, in any incident line logged or forwarded (only those lines: Airflow 3.3
    # prints the task's traceback unmasked on the dag.test console, while task log files are masked)
    for form in (key, basic):
        assert not [x for x in lines + forwarded if form in x]
