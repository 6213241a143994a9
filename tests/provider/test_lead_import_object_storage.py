"""Issue 11: the import's work folder lives next to the output, so a batch on another Celery host finds it.

Each task of one import runs in a process of its own, with its own working directory and temporary folder,
as on separate hosts; the output is object storage (``objstore://``, which like S3 cannot append), and a
host's folder is deleted once its task ended, as if that host were gone. The batch is SIGKILLed mid-way on
one host and retried on another. Every lead must be in lemlist once and every row ``imported``.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from lemlist_sandbox import connection_json
from lemlist_sandbox.seed import add_campaign

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
LEADS = 60

#: one task of the import on a "host": the operator's own execute with what its context provides
TASK = textwrap.dedent(
    """
    import json, sys
    from types import SimpleNamespace
    import objstore_fs
    objstore_fs.install()
    from lemlist_provider.operators.lead_import import (
        LemlistImportLeadBatchOperator, LemlistLeadImportReportOperator, LemlistValidateLeadsOperator)

    class TaskInstance:  # the XCom calls the operators make
        def __init__(self):
            self.pushed = {}
        def xcom_push(self, key, value):
            self.pushed[key] = value

    role, args = sys.argv[1], json.loads(sys.argv[2])
    ti = TaskInstance()
    context = {"dag": SimpleNamespace(dag_id="lemlist_lead_import"), "run_id": "manual__hosts", "ti": ti}
    operator = {"validate": LemlistValidateLeadsOperator, "batch": LemlistImportLeadBatchOperator,
                "report": LemlistLeadImportReportOperator}[role](task_id=role, **args)
    print(json.dumps({"result": operator.execute(context), "xcom": ti.pushed}, default=str))
    """
)


@pytest.fixture
def hosts(tmp_path, sandbox, team_key, monkeypatch):
    """``run(name, role, args, wait=True)``: a task on host ``name`` (its folder goes when the task ends)."""
    store = tmp_path / "store"  # the object store: one folder per bucket
    bucket = store / "bucket"
    bucket.mkdir(parents=True)
    script = tmp_path / "task.py"
    script.write_text(TASK)
    env = {
        **os.environ, "OBJSTORE_ROOT": str(store), "PYTHONPATH": os.pathsep.join([str(ROOT / "include"), str(HERE)]),
        "AIRFLOW__LEMLIST__INPUT_ROOTS": str(tmp_path / "in"), "AIRFLOW__LEMLIST__OUTPUT_ROOTS": "objstore://bucket/out",
        "AIRFLOW_CONN_LEMLIST_DEFAULT": connection_json(sandbox.base_url, team_key),
    }  # fmt: skip

    def run(name: str, role: str, args: dict, wait: bool = True):
        home = tmp_path / name
        (home / "tmp").mkdir(parents=True)
        proc = subprocess.Popen(
            [sys.executable, str(script), role, json.dumps(args)], cwd=home, env={**env, "TMPDIR": str(home / "tmp")},
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        if not wait:
            return proc, home
        out, err = proc.communicate(timeout=300)
        shutil.rmtree(home)  # the host is gone: only the bucket stays
        assert proc.returncode == 0, err[-3000:]
        return json.loads(out.strip().splitlines()[-1])

    return bucket, run


def test_batches_on_other_hosts_find_the_work_folder_in_object_storage_and_resume_after_a_kill(
    hosts, sandbox, team_key, tmp_path
):
    bucket, run = hosts
    campaign = add_campaign(sandbox.sandbox.world, sandbox.team(team_key), "Hosts", "draft")["_id"]
    emails = [f"host{i:03d}@objects.example" for i in range(LEADS)]
    (tmp_path / "in").mkdir()
    source = tmp_path / "in" / "leads.csv"
    source.write_text("email\n" + "\n".join(emails) + "\n")

    validated = run("host-a", "validate", {"campaign_id": campaign, "source": str(source),
                                           "output_uri": "objstore://bucket/out", "batch_size": LEADS})  # fmt: skip
    (batch,) = validated["result"]
    assert batch["work_dir"].startswith("objstore://bucket/out/")  # next to the report, not on host A
    assert (bucket / "out" / ".lemlist_import").is_dir()

    def arrived() -> list[str]:
        return sorted(lead["email"] for lead in sandbox.team(team_key).leads_in_campaign(campaign))

    proc, home = run("host-b", "batch", {"batch": batch}, wait=False)
    deadline = time.monotonic() + 120
    while len(arrived()) < 15:
        assert proc.poll() is None, proc.stderr.read()[-3000:]
        assert time.monotonic() < deadline, "no lead arrived"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    shutil.rmtree(home)
    assert 15 <= len(arrived()) < LEADS

    run("host-c", "batch", {"batch": batch})  # Airflow's retry, on another worker
    summary = run("host-d", "report", {"work_dir": batch["work_dir"]})["result"]

    assert arrived() == emails  # each lead once, none missing
    with (bucket / "out" / f"leads.{campaign}.results.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == LEADS and {r["status"] for r in rows} == {"imported"}
    assert summary["counts"]["imported"] == LEADS
    assert not any((bucket / "out" / ".lemlist_import").rglob("*.jsonl"))  # cleaned up after the report
