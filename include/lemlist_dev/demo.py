"""``make demo``: every pipeline of ``demo_runs.DEMO_RUNS``, run the way production runs them.

A fresh Airflow home (``.airflow/demo``), the lemlist sandbox (or, with ``LEMLIST_API_KEY``, the real lemlist:
mind the side effects), Airflow's components with the LocalExecutor; each run is triggered through
``POST /api/v2/dags/{id}/dagRuns`` as the UI's trigger button does. Then a table (state, duration, tries,
the key figures of each summary XCom, the failed tasks of a failed run), everything stopped, and a non-zero
exit status if any run did not succeed.

    python -m lemlist_dev.demo
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from dataclasses import dataclass
from datetime import datetime

from . import DEMO_HOME
from .demo_runs import DEMO_RUNS, DemoRun, prepare
from .deployment import LemlistTarget, LocalAirflow, lemlist_target
from .rest import TERMINAL_RUN_STATES

RUN_TIMEOUT = float(os.environ.get("DEMO_RUN_TIMEOUT", "600"))
FAILED_TASK_STATES = {"failed", "upstream_failed", "up_for_retry"}


@dataclass
class RunResult:
    dag_id: str
    state: str
    seconds: float = 0.0
    tasks: int = 0
    tries: int = 0
    detail: str = ""


def _seconds(run: dict) -> float:
    start, end = run.get("start_date"), run.get("end_date")
    if not start or not end:
        return 0.0
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


def collect(local: LocalAirflow, demo: DemoRun, run: dict) -> RunResult:
    """What a person would look up in the UI: state, duration, attempts, failed tasks, the summary."""
    run_id = run["dag_run_id"]
    tis = local.client.task_instances(demo.dag_id, run_id)
    tries = sum(int(ti.get("try_number") or 0) for ti in tis)
    result = RunResult(demo.dag_id, run["state"], _seconds(run), tasks=len(tis), tries=tries)
    failed = sorted(
        ti["task_id"] + (f"[{ti['map_index']}]" if ti.get("map_index", -1) >= 0 else "") + f" {ti['state']}"
        for ti in tis
        if ti.get("state") in FAILED_TASK_STATES
    )
    summary = None
    try:
        summary = local.client.xcom(demo.dag_id, run_id, demo.summary_task)
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
    if failed:
        result.detail = f"FAILED TASKS: {', '.join(failed)}" + (
            f" | {result.detail}" if result.detail else ""
        )
    return result


def start_run(local: LocalAirflow, lemlist: LemlistTarget, demo: DemoRun) -> str:
    if demo.start is not None:
        return demo.start(local, lemlist)
    return local.trigger(demo.dag_id, demo.conf(lemlist) if callable(demo.conf) else demo.conf)


def run_tour(local: LocalAirflow, lemlist: LemlistTarget, runs: list[DemoRun]) -> list[RunResult]:
    """Start every run, then wait for all of them together (one deadline), in the order given."""
    missing = local.wait_for_dags([r.dag_id for r in runs])
    results: dict[int, RunResult] = {}
    pending: dict[int, tuple[DemoRun, str]] = {}
    for index, demo in enumerate(runs):
        if demo.dag_id in missing:
            results[index] = RunResult(demo.dag_id, "missing", detail=missing[demo.dag_id][:200])
            continue
        try:
            run_id = start_run(local, lemlist, demo)
        except Exception as exc:  # e.g. 400: the conf does not satisfy the DAG's Params
            results[index] = RunResult(demo.dag_id, "rejected", detail=str(exc)[:200])
            continue
        print(f"triggered {demo.dag_id}: {run_id}", flush=True)
        pending[index] = (demo, run_id)
    deadline = time.monotonic() + RUN_TIMEOUT
    while pending:
        for index, (demo, run_id) in list(pending.items()):
            run = local.client.get_run(demo.dag_id, run_id)
            if run["state"] in TERMINAL_RUN_STATES or time.monotonic() > deadline:
                results[index] = collect(local, demo, run)
                if run["state"] not in TERMINAL_RUN_STATES:
                    results[index].state = f"timeout ({run['state']})"
                print(
                    f"finished  {demo.dag_id}: {results[index].state} in {results[index].seconds:.1f} s",
                    flush=True,
                )
                del pending[index]
        local.check_alive()
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
    shutil.rmtree(DEMO_HOME, ignore_errors=True)  # every demo starts from a fresh metadata DB
    started = time.monotonic()
    print(f"demo: {len(DEMO_RUNS)} DAG(s); Airflow home {DEMO_HOME} (logs stay there after the demo)")
    real_key, real_url = os.environ.get("LEMLIST_API_KEY"), os.environ.get("LEMLIST_BASE_URL")
    try:
        with (
            lemlist_target(real_key, real_url=real_url, time_scale=0.05) as lemlist,
            LocalAirflow(DEMO_HOME, lemlist, extra_env=prepare(), echo=True) as local,
        ):
            print(f"Airflow is up at {local.ui_url} after {time.monotonic() - started:.0f} s", flush=True)
            results = run_tour(local, lemlist, DEMO_RUNS)
            stats = lemlist.sandbox.stats() if lemlist.sandbox else None
    except KeyboardInterrupt:
        print("interrupted: everything stopped")
        return 130
    print_table(results, stats)
    failed = [r for r in results if r.state != "success"]
    total = time.monotonic() - started
    if failed:
        print(f"demo FAILED: {len(failed)} run(s) did not succeed (logs under {DEMO_HOME}); {total:.0f} s")
        return 1
    print(f"demo OK: every run succeeded; {total:.0f} s in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
