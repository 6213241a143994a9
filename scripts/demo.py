"""`make demo`: run the project's pipelines end to end against a local lemlist sandbox.

It starts the sandbox on a free loopback port (a separate process), points the ``lemlist_default``
connection at it, applies ``airflow_settings.yaml`` (pool ``lemlist_api``), runs each DAG with
``dag.test()`` on the SQLite metadata DB, prints a table of runs with each run's key figures, stops
the sandbox and exits non-zero if any run failed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "include"))
sys.path.insert(0, str(ROOT / "scripts"))

from lemlist_sandbox import DEMO_KEY, free_port  # noqa: E402


@dataclass
class DemoRun:
    dag_id: str
    conf: dict[str, Any] = field(default_factory=dict)
    summary_task: str = "summary"
    describe: Any = None  # callable(summary) -> str


def _describe_overview(summary: dict) -> str:
    return (
        f"team {summary.get('team_name')!r}: {summary.get('campaigns')} campaigns, "
        f"{summary.get('unsubscribes')} unsubscribes, {summary.get('credits')} credits; "
        f"{summary.get('requests')} requests, {summary.get('rate_limited')} x 429"
    )


def demo_runs() -> list[DemoRun]:
    runs = [DemoRun("lemlist_account_overview", describe=_describe_overview)]
    try:  # pipelines register themselves here as they land
        from demo_pipelines import PIPELINE_RUNS

        runs.extend(PIPELINE_RUNS)
    except ImportError:
        pass
    return runs


class SandboxProcess:
    """The sandbox as a child process, so the demo's Airflow work does not compete with it for the GIL."""

    def __init__(self, port: int, time_scale: float = 0.05) -> None:
        self.port = port
        self.time_scale = time_scale
        self.proc: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    def __enter__(self) -> SandboxProcess:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "lemlist_sandbox",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--seed",
                "demo",
                "--time-scale",
                str(self.time_scale),
            ],
            env={**os.environ, "PYTHONPATH": str(ROOT / "include")},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                requests.get(f"http://127.0.0.1:{self.port}/_sandbox/health", timeout=1).raise_for_status()
                return self
            except requests.RequestException:
                if self.proc.poll() is not None:
                    raise RuntimeError("the lemlist sandbox exited at start") from None
                time.sleep(0.2)
        raise RuntimeError("the lemlist sandbox did not answer within 30 s")

    def stats(self) -> dict:
        return requests.get(
            f"http://127.0.0.1:{self.port}/_sandbox/stats",
            headers={"X-Sandbox-Token": "sandbox-control"},
            timeout=5,
        ).json()

    def __exit__(self, *exc: object) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def run_dag(run: DemoRun) -> tuple[str, float, dict | None, str]:
    from airflow.dag_processing.dagbag import DagBag
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    bag = DagBag(dag_folder=str(ROOT / "dags"))
    if run.dag_id not in bag.dags:
        return "missing", 0.0, None, f"DAG not found; import errors: {bag.import_errors}"
    started = time.monotonic()
    dag_run = bag.dags[run.dag_id].test(run_conf=run.conf or None)
    duration = time.monotonic() - started
    state = str(getattr(dag_run.state, "value", dag_run.state))
    summary = None
    with create_session() as session:
        rows = session.scalars(
            XComModel.get_many(
                run_id=dag_run.run_id, dag_ids=run.dag_id, task_ids=run.summary_task, key="return_value"
            )
        ).all()
        if rows:
            summary = XComModel.deserialize_value(rows[0])
    detail = run.describe(summary) if (summary and run.describe) else ""
    return state, duration, summary, detail


def main() -> int:
    port = free_port()
    with SandboxProcess(port) as sandbox:
        os.environ["LEMLIST_BASE_URL"] = sandbox.base_url
        os.environ.setdefault("LEMLIST_API_KEY", DEMO_KEY)
        os.environ["AIRFLOW_CONN_LEMLIST_DEFAULT"] = json.dumps(
            {
                "conn_type": "lemlist",
                "host": sandbox.base_url,
                "password": os.environ["LEMLIST_API_KEY"],
                "extra": {"rate_limit": 20, "rate_window": 2.0},
            }
        )
        from apply_settings import apply, load_settings

        for line in apply(load_settings(ROOT / "airflow_settings.yaml")):
            print(f"settings: {line}")
        print(f"lemlist sandbox: {sandbox.base_url} (pid {sandbox.proc.pid})\n")

        results = []
        for run in demo_runs():
            print(f"--- running {run.dag_id} ...", flush=True)
            try:
                state, duration, _summary, detail = run_dag(run)
            except Exception as exc:  # a demo reports, it does not hide
                state, duration, detail = "error", 0.0, f"{type(exc).__name__}: {exc}"
            results.append((run.dag_id, state, duration, detail))
        stats = sandbox.stats()

    width = max(len(r[0]) for r in results)
    print("\n" + "=" * 100)
    print(f"{'DAG'.ljust(width)}  {'state':8}  {'seconds':>7}  key figures")
    for dag_id, state, duration, detail in results:
        print(f"{dag_id.ljust(width)}  {state:8}  {duration:7.1f}  {detail}")
    print("=" * 100)
    print(
        f"sandbox saw {stats['total_requests']} requests, {stats['rate_limited_429']} answered 429, "
        f"peak concurrency {max(stats['peak_concurrency'].values() or [0])}"
    )
    failed = [r for r in results if r[1] != "success"]
    print(
        "demo OK: every run succeeded" if not failed else f"demo FAILED: {len(failed)} run(s) did not succeed"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
