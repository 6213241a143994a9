"""lemlist events: how many the receiver accepts per second, and how soon a DAG run handles one.

``webhook_receiver``: a real ``airflow api-server`` (SQLite, the project's plugin) with the dag-processor, so
the families the event DAGs use are active Assets as in production (the DAGs stay paused: no run competes
for the CPU), receives lemlist-shaped events of those families, each unique, from this process with aiohttp
(16 concurrent deliveries, as lemlist sends them in parallel). Every answer must be 200 and every event one
ledger row and one Asset event. ratio = accepted events per second / 200; target >= 1.0 with p99 < 250 ms.
The server's CPU per event (user + system of its process tree, from ``psutil``) is reported too: the rate
follows the CPU the server gets, which other jobs on the machine change, the CPU per event far less.

``webhook_emit_to_run``: the whole deployment (scheduler, dag-processor, triggerer, api-server) and the
sandbox sending webhooks like lemlist, hooks registered by ``lemlist_webhooks_setup``: the sandbox emits an
unsubscribe every 2 s; for each, the seconds from the sandbox emitting it (its ``createdAt``) to the
``lemlist_unsubscribe_events`` run that consumed it being queued, and to that run ending. Reported as
p50/p99; passes when every event was handled by a successful run within 30 s.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path

import aiohttp
import psutil
import requests

from lemlist_dev.deployment import LemlistTarget, LocalAirflow
from lemlist_dev.services import fresh_postgres_database, postgres_problem
from lemlist_sandbox import DEMO_KEY, SandboxServer

EVENTS = 3000
WARMUP = 100
CONCURRENCY = 16
TARGET_RPS = 200
TARGET_P99_MS = 250
TYPES = ("emailsUnsubscribed", "emailsBounced", "emailsReplied", "linkedinReplied", "emailsInterested")
EVENT_DAGS = ("lemlist_unsubscribe_events", "lemlist_reply_handoff")
NO_LEMLIST = LemlistTarget("http://127.0.0.1:9/api", "unused-key")
EMITS = 30
EMIT_EVERY = 2.0
TARGET_HANDLED_SECONDS = 30.0


def _event(n: int, secret: str) -> bytes:
    return json.dumps(
        {
            "_id": f"act_{uuid.uuid4().hex[:17]}",
            "type": TYPES[n % len(TYPES)],
            "createdAt": "2026-11-29T10:00:00.000Z",
            "teamId": "tea_bench",
            "campaignId": "cam_bench",
            "leadId": f"lea_{n:08d}",
            "email": f"lead{n}@example.com",
            "firstName": "Bench",
            "secret": secret,
        }
    ).encode()


async def _deliver(url: str, bodies: list[bytes]) -> tuple[list[float], dict[int, int], float]:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    pending = iter(bodies)
    headers = {"Content-Type": "application/json"}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=CONCURRENCY)) as session:

        async def sender() -> None:
            for body in pending:  # one shared iterator: each body is sent once
                started = time.perf_counter()
                async with session.post(url, data=body, headers=headers) as answer:
                    await answer.read()
                latencies.append(time.perf_counter() - started)
                statuses[answer.status] = statuses.get(answer.status, 0) + 1

        started = time.perf_counter()
        await asyncio.gather(*(sender() for _ in range(CONCURRENCY)))
        return latencies, statuses, time.perf_counter() - started


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def _cpu_seconds(process: psutil.Process) -> float:
    """User + system CPU of a process and its children (the ``airflow api-server`` runs uvicorn under it)."""
    total = 0.0
    for proc in [process, *process.children(recursive=True)]:
        try:
            times = proc.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def _healthy(url: str) -> bool:
    try:
        return requests.get(f"{url}/api/v2/monitor/health", timeout=2).status_code == 200
    except requests.RequestException:
        return False


def _query(airflow: LocalAirflow, sql: str) -> list[tuple]:
    from sqlalchemy import create_engine, text

    engine = create_engine(airflow.sql_alchemy_conn)
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(text(sql))]
    finally:
        engine.dispose()


def webhook_receiver(extra_env: dict[str, str] | None = None, sql_alchemy_conn: str | None = None) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-webhooks-") as tmp:
        home = Path(tmp)
        airflow = LocalAirflow(home, NO_LEMLIST, extra_env=extra_env, sql_alchemy_conn=sql_alchemy_conn)
        try:
            airflow.migrate()
            for component in ("api-server", "dag-processor"):
                airflow.start_component(component, [component])
            airflow.wait_until(
                lambda: _healthy(airflow.ui_url) and airflow.password_file.exists(), 180, "api"
            )
            missing = airflow.wait_for_dags(EVENT_DAGS)
            url = f"{airflow.ui_url}/lemlist/webhooks"
            secret = airflow.webhook_secret
            asyncio.run(_deliver(url, [_event(-n - 1, secret) for n in range(WARMUP)]))
            server = psutil.Process(airflow.groups["api-server"].proc.pid)
            load_before = psutil.getloadavg()[0]
            cpu_before = _cpu_seconds(server)
            latencies, statuses, elapsed = asyncio.run(
                _deliver(url, [_event(n, secret) for n in range(EVENTS)])
            )
            server_cpu = _cpu_seconds(server) - cpu_before
            load_after = psutil.getloadavg()[0]
            rows = _query(airflow, "SELECT COUNT(*) FROM lemlist_webhook_event")[0][0]
            asset_events = _query(
                airflow,
                "SELECT COUNT(*) FROM asset_event e JOIN asset a ON a.id = e.asset_id "
                "WHERE a.uri LIKE 'lemlist://%'",
            )[0][0]
            inactive = _query(
                airflow,
                "SELECT COUNT(*) FROM asset a LEFT JOIN asset_active x ON x.uri = a.uri "
                "WHERE a.uri LIKE 'lemlist://%' AND x.uri IS NULL",
            )[0][0]
        finally:
            airflow.stop()
    accepted = statuses.get(200, 0)
    rps = accepted / elapsed
    p99_ms = _percentile(latencies, 0.99) * 1000
    figures = {
        "events": EVENTS,
        "concurrency": CONCURRENCY,
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "seconds": round(elapsed, 2),
        "events_per_second": round(rps, 1),
        "p50_ms": round(_percentile(latencies, 0.5) * 1000, 1),
        "p95_ms": round(_percentile(latencies, 0.95) * 1000, 1),
        "p99_ms": round(p99_ms, 1),
        "max_ms": round(max(latencies) * 1000, 1),
        "server_cpu_ms_per_event": round(server_cpu * 1000 / EVENTS, 2),
        "events_per_server_cpu_second": round(EVENTS / server_cpu, 1) if server_cpu else None,
        "load_average_1m_before_after": [round(load_before, 2), round(load_after, 2)],
        "cpus": psutil.cpu_count(),
        "ledger_rows": rows,
        "asset_events": asset_events,
        "inactive_lemlist_assets": inactive,
        "dags_missing": missing,
        "metadata_db": "postgresql" if sql_alchemy_conn else "sqlite",
        "extra_env": extra_env or {},
    }
    complete = accepted == EVENTS and rows == asset_events == EVENTS + WARMUP
    ratio = round(rps / TARGET_RPS, 3)
    return {
        "figures": figures,
        "ratio": ratio,
        "target": f">= 1.0 (events/s / {TARGET_RPS}), p99 < {TARGET_P99_MS} ms, every event stored once",
        "passed": ratio >= 1.0 and p99_ms < TARGET_P99_MS and complete,
    }


def webhook_receiver_quiet_access_log() -> dict:
    """The same with the API server's access log at WARNING (``[logging] namespace_levels``): what one log
    line per request costs at this rate."""
    return webhook_receiver({"AIRFLOW__LOGGING__NAMESPACE_LEVELS": "http.access=WARNING"})


def webhook_receiver_postgres() -> dict:
    """The same on PostgreSQL (the machine's server, a database of its own): no single-writer file lock
    shared with the dag-processor."""
    problem = postgres_problem()
    if problem:
        return {"passed": False, "skipped": f"needs PostgreSQL: {problem}"}
    with fresh_postgres_database() as url:
        return webhook_receiver(sql_alchemy_conn=url)


def _when(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def webhook_emit_to_run() -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-emit-to-run-") as tmp:
        home, out = Path(tmp) / "home", Path(tmp) / "out"
        env = {
            "AIRFLOW__LEMLIST__OUTPUT_ROOTS": f"{out},output",
            "LEMLIST_SUPPRESSION_CSV": str(out / "list.csv"),
        }
        with SandboxServer(time_scale=0.05) as sandbox:
            lemlist = LemlistTarget(sandbox.base_url, DEMO_KEY, sandbox)
            with LocalAirflow(home, lemlist, extra_env=env) as airflow:
                client = airflow.client
                airflow.wait_for_dags(["lemlist_webhooks_setup", EVENT_DAGS[0]])
                setup = airflow.trigger("lemlist_webhooks_setup")
                if airflow.wait_for_run("lemlist_webhooks_setup", setup)["state"] != "success":
                    raise RuntimeError("lemlist_webhooks_setup failed")
                client.unpause(EVENT_DAGS[0])
                load_before = psutil.getloadavg()[0]
                emitted = {}
                for n in range(EMITS):
                    [event] = sandbox.emit(
                        "emailsUnsubscribed", email=f"bench{n}-{secrets.token_hex(3)}@example.com"
                    )["events"]
                    emitted[event["_id"]] = _when(event["createdAt"])
                    time.sleep(EMIT_EVERY)
                handled: dict[str, tuple[float, float]] = {}  # event id -> (run queued, run ended)
                seen_runs: set[str] = set()

                def all_handled() -> bool:
                    for run in client.list_runs(EVENT_DAGS[0]):
                        if run["state"] not in ("success", "failed") or run["dag_run_id"] in seen_runs:
                            continue
                        seen_runs.add(run["dag_run_id"])
                        upstream = client.get(
                            f"/dags/{EVENT_DAGS[0]}/dagRuns/{run['dag_run_id']}/upstreamAssetEvents"
                        )
                        for asset_event in upstream["asset_events"]:
                            event_id = asset_event["extra"]["payload"]["_id"]
                            handled[event_id] = (_when(run["queued_at"]), _when(run["end_date"]))
                    return set(emitted) <= set(handled)

                airflow.wait_until(all_handled, 300, "every emitted event handled")
                states = {r["state"] for r in client.list_runs(EVENT_DAGS[0])}
                load_after = psutil.getloadavg()[0]
    to_queued = [handled[i][0] - emitted[i] for i in emitted]
    to_done = [handled[i][1] - emitted[i] for i in emitted]
    p99_done = _percentile(to_done, 0.99)
    figures = {
        "events": EMITS,
        "emitted_every_seconds": EMIT_EVERY,
        "to_run_queued_p50_s": round(statistics.median(to_queued), 2),
        "to_run_queued_p99_s": round(_percentile(to_queued, 0.99), 2),
        "to_run_done_p50_s": round(statistics.median(to_done), 2),
        "to_run_done_p99_s": round(p99_done, 2),
        "run_states": sorted(states),
        "load_average_1m_before_after": [round(load_before, 2), round(load_after, 2)],
        "cpus": psutil.cpu_count(),
    }
    return {
        "figures": figures,
        "ratio": round(p99_done / TARGET_HANDLED_SECONDS, 3),
        "target": f"<= 1.0 (p99 seconds from emit to the handling run's end / {TARGET_HANDLED_SECONDS:.0f})",
        "passed": p99_done <= TARGET_HANDLED_SECONDS and states == {"success"},
    }


BENCHMARKS = {
    "webhook_receiver": webhook_receiver,
    "webhook_receiver_quiet_access_log": webhook_receiver_quiet_access_log,
    "webhook_receiver_postgres": webhook_receiver_postgres,
    "webhook_emit_to_run": webhook_emit_to_run,
}

if __name__ == "__main__":
    import sys

    for name in sys.argv[1:] or BENCHMARKS:
        print(name, json.dumps(BENCHMARKS[name](), indent=2))
