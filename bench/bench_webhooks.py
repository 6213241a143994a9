"""Webhook receiver throughput: events accepted per second by the real ``airflow api-server``, with latency.

A temporary Airflow deployment (``integration.local_airflow.LocalAirflow``: SQLite metadata DB, only the
``api-server`` process, the project's plugin) receives lemlist-shaped events, each unique, from this process
with aiohttp (16 concurrent deliveries, as lemlist sends them in parallel): every answer must be 200 and
every event must end as one ledger row and one Asset event. ratio = accepted events per second / 200.
Target: >= 1.0 with p99 latency < 250 ms.

The rate depends on how much CPU the API server gets: the figures also give the server's own CPU time per
event (user + system of its process tree, from ``psutil``), which the machine's other load changes far less.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import sys
import time
import uuid
from pathlib import Path

import aiohttp
import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from integration.local_airflow import LocalAirflow  # noqa: E402

EVENTS = 3000
WARMUP = 50
CONCURRENCY = 16
TARGET_RPS = 200
TARGET_P99_MS = 250
TYPES = (
    "emailsOpened",
    "emailsClicked",
    "emailsReplied",
    "emailsUnsubscribed",
    "emailsSent",
    "linkedinReplied",
)


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


def _percentile(sorted_values: list[float], fraction: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * fraction))]


def webhook_receiver() -> dict:
    secret = secrets.token_urlsafe(24)
    conn = {"conn_type": "lemlist", "password": "unused", "extra": {"webhook_secret": secret}}
    airflow = LocalAirflow(
        components=("api-server",), extra_env={"AIRFLOW_CONN_LEMLIST_DEFAULT": json.dumps(conn)}
    )
    with airflow:
        url = f"http://127.0.0.1:{airflow.port}/lemlist/webhooks"
        airflow.wait_until(
            lambda: _up(f"http://127.0.0.1:{airflow.port}/api/v2/monitor/health"), 120, "api-server"
        )
        asyncio.run(_deliver(url, [_event(-n - 1, secret) for n in range(WARMUP)]))
        server = psutil.Process(airflow.processes["api-server"].pid)
        cpu_before = _cpu_seconds(server)
        latencies, statuses, elapsed = asyncio.run(_deliver(url, [_event(n, secret) for n in range(EVENTS)]))
        server_cpu = _cpu_seconds(server) - cpu_before
        rows = airflow.query("SELECT COUNT(*) FROM lemlist_webhook_event")[0][0]
        asset_events = airflow.query(
            "SELECT COUNT(*) FROM asset_event e JOIN asset a ON a.id = e.asset_id WHERE a.uri LIKE 'lemlist://%'"
        )[0][0]
    latencies.sort()
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
        "p99_ms": round(p99_ms, 1),
        "max_ms": round(latencies[-1] * 1000, 1),
        "server_cpu_ms_per_event": round(server_cpu * 1000 / EVENTS, 2),
        "events_per_server_cpu_second": round(EVENTS / server_cpu, 1) if server_cpu else None,
        "load_average_1m": round(psutil.getloadavg()[0], 2),
        "cpus": psutil.cpu_count(),
        "ledger_rows": rows,
        "asset_events": asset_events,
        "metadata_db": "sqlite",
    }
    complete = accepted == EVENTS and rows == asset_events == EVENTS + WARMUP
    ratio = round(rps / TARGET_RPS, 3)
    return {
        "figures": figures,
        "ratio": ratio,
        "target": f">= 1.0 (events/s / {TARGET_RPS}), p99 < {TARGET_P99_MS} ms, every event stored once",
        "passed": ratio >= 1.0 and p99_ms < TARGET_P99_MS and complete,
    }


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


def _up(url: str) -> bool:
    import requests

    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


BENCHMARKS = {"webhook_receiver": webhook_receiver}

if __name__ == "__main__":
    print(json.dumps(webhook_receiver(), indent=2))
