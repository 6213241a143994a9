"""`make demo`: the full tour, the way the pipelines run in production.

It starts the lemlist sandbox and ``airflow standalone`` (scheduler, dag-processor, api-server, triggerer,
LocalExecutor) in the background with a fresh AIRFLOW_HOME, applies ``airflow_settings.yaml``, triggers every
registered DAG through the REST API exactly as the UI's trigger button does
(``POST /api/v2/dags/{id}/dagRuns``), waits for the runs, prints a table (state, duration, tries, key
figures from each run's summary XCom, and the failed tasks of a failed run), stops everything and exits
non-zero if any run did not succeed.

Pipelines register themselves in ``scripts/demo_pipelines.py`` (``PIPELINE_RUNS: list[DemoRun]``).
With ``LEMLIST_API_KEY`` set, the runs go to the real lemlist instead of the sandbox: mind the side effects.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "include"))
sys.path.insert(0, str(ROOT / "scripts"))

from airflow_local import AirflowClient, LocalAirflow  # noqa: E402

RUN_TIMEOUT = float(os.environ.get("DEMO_RUN_TIMEOUT", "600"))


@dataclass
class DemoRun:
    dag_id: str
    #: the run's conf, or a callable ``conf(local) -> dict`` resolved at trigger time (e.g. to look up a
    #: campaign id in the sandbox or the real account through ``local.lemlist_base_url`` / ``local.api_key``)
    conf: dict[str, Any] | Callable[[LocalAirflow], dict[str, Any]] = field(default_factory=dict)
    summary_task: str = "summary"
    describe: Callable[[dict], str] | None = None


@dataclass
class RunResult:
    dag_id: str
    state: str
    seconds: float = 0.0
    tasks: int = 0
    tries: int = 0
    detail: str = ""
    run_id: str = ""


def _describe_overview(summary: dict) -> str:
    return (
        f"team {summary.get('team_name')!r}: {summary.get('campaigns')} campaigns, "
        f"{summary.get('unsubscribes')} unsubscribes, {summary.get('credits')} credits; "
        f"{summary.get('requests')} requests, {summary.get('rate_limited')} x 429"
    )


def demo_runs() -> list[DemoRun]:
    runs = [DemoRun("lemlist_account_overview", describe=_describe_overview)]
    try:  # pipelines register themselves here as they land
        from demo_pipelines import PIPELINE_RUNS, prepare

        prepare()
        runs.extend(PIPELINE_RUNS)
    except ImportError:
        pass
    return runs


def _seconds(run: dict) -> float:
    start, end = run.get("start_date"), run.get("end_date")
    if not start or not end:
        return 0.0
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


def collect(client: AirflowClient, demo: DemoRun, run: dict) -> RunResult:
    """What a person would look up in the UI: state, duration, attempts, failed tasks, the summary."""
    run_id = run["dag_run_id"]
    tis = client.task_instances(demo.dag_id, run_id)
    result = RunResult(
        demo.dag_id,
        run["state"],
        _seconds(run),
        tasks=len(tis),
        tries=sum(int(ti.get("try_number") or 0) for ti in tis),
        run_id=run_id,
    )
    bad = sorted(
        {
            ti["task_id"]
            + (f"[{ti['map_index']}]" if ti.get("map_index", -1) >= 0 else "")
            + f" {ti['state']}"
            for ti in tis
            if ti.get("state") in {"failed", "upstream_failed", "up_for_retry"}
        }
    )
    summary = None
    try:
        summary = client.xcom(demo.dag_id, run_id, demo.summary_task)
    except RuntimeError as exc:
        if result.state == "success":
            result.detail = f"no summary XCom from {demo.summary_task!r}: {str(exc)[:120]}"
    if isinstance(summary, dict) and demo.describe:
        try:
            result.detail = demo.describe(summary)
        except Exception as exc:  # a describe bug must not hide the run's state
            result.detail = f"describe() failed: {type(exc).__name__}: {exc}"
    elif summary is not None and not result.detail:
        result.detail = str(summary)[:160]
    if bad:
        result.detail = f"FAILED TASKS: {', '.join(bad)}" + (f" | {result.detail}" if result.detail else "")
    return result


def run_demo(local: LocalAirflow, runs: list[DemoRun]) -> list[RunResult]:
    missing = local.wait_for_dags([r.dag_id for r in runs])
    client = local.client()
    results: dict[int, RunResult] = {}
    pending: dict[int, tuple[DemoRun, str]] = {}
    for index, demo in enumerate(runs):
        if demo.dag_id in missing:
            results[index] = RunResult(demo.dag_id, "missing", detail=missing[demo.dag_id][:200])
            continue
        try:
            client.unpause(demo.dag_id)  # the demo keeps every other DAG paused: only the tour runs
            conf = demo.conf(local) if callable(demo.conf) else demo.conf
            run = client.trigger(demo.dag_id, conf)
        except Exception as exc:  # e.g. 400: the conf does not satisfy the DAG's Params
            results[index] = RunResult(demo.dag_id, "rejected", detail=str(exc)[:200])
            continue
        print(f"triggered {demo.dag_id}: {run['dag_run_id']}", flush=True)
        pending[index] = (demo, run["dag_run_id"])
    deadline = time.monotonic() + RUN_TIMEOUT
    while pending:
        for index, (demo, run_id) in list(pending.items()):
            run = client.get_run(demo.dag_id, run_id)
            if run["state"] in {"success", "failed"}:
                results[index] = collect(client, demo, run)
                print(
                    f"finished  {demo.dag_id}: {run['state']} in {results[index].seconds:.1f} s", flush=True
                )
                del pending[index]
            elif time.monotonic() > deadline:
                results[index] = collect(client, demo, run)
                results[index].state = f"timeout ({run['state']})"
                del pending[index]
        time.sleep(1)
    return [results[i] for i in sorted(results)]


def print_table(results: list[RunResult], stats: dict | None) -> None:
    width = max([len(r.dag_id) for r in results] + [3])
    line = "=" * 110
    print("\n" + line)
    print(f"{'DAG'.ljust(width)}  {'state':8}  {'seconds':>7}  {'tries':>5}  key figures")
    for r in results:
        tries = f"{r.tries}/{r.tasks}" if r.tasks else "-"
        print(f"{r.dag_id.ljust(width)}  {r.state:8}  {r.seconds:7.1f}  {tries:>5}  {r.detail}")
    print(line)
    print("tries = task attempts / task instances (more attempts than tasks means retries)")
    if stats:
        peak = max(stats.get("peak_concurrency", {}).values() or [0])
        print(
            f"sandbox saw {stats['total_requests']} requests, {stats['rate_limited_429']} answered 429, "
            f"peak concurrency {peak}"
        )


def main() -> int:
    home = Path(os.environ.get("AIRFLOW_HOME", ROOT / ".airflow")) / "demo"
    shutil.rmtree(home, ignore_errors=True)  # every demo starts from a fresh metadata DB
    started = time.monotonic()
    runs = demo_runs()
    print(f"demo: {len(runs)} DAG(s); Airflow home {home} (logs stay there after the demo)")
    local = LocalAirflow(home, echo=True, unpause_dags=False)
    try:
        local.start()
        print(f"Airflow is up at {local.ui_url} after {time.monotonic() - started:.0f} s", flush=True)
        results = run_demo(local, runs)
        stats = None if local.real_key else local.sandbox_stats()
    except KeyboardInterrupt:
        print("interrupted: stopping everything")
        return 130
    finally:
        local.stop()
    print_table(results, stats)
    failed = [r for r in results if r.state != "success"]
    total = time.monotonic() - started
    if failed:
        print(
            f"demo FAILED: {len(failed)} run(s) did not succeed (task logs under {home}/logs); {total:.0f} s"
        )
        return 1
    print(f"demo OK: every run succeeded; {total:.0f} s in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
