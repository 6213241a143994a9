"""Sandbox throughput: the sandbox must never be the bottleneck of another benchmark.

Starts ``python -m lemlist_sandbox --rate-limit 0`` as its own process, drives ``GET /api/team`` from
this process with aiohttp (concurrency 16), and reports requests per second and latency percentiles.
ratio = rps / 1000 (the floor the client benchmarks need); the lead measured ~1,950 rps.
"""

from __future__ import annotations

import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import aiohttp

REQUESTS = 4000
CONCURRENCY = 16
KEY = "sandbox-api-key"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_up(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("sandbox did not start")


async def _drive(base: str) -> tuple[list[float], int, float]:
    latencies: list[float] = []
    errors = 0
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(REQUESTS):
        queue.put_nowait(i)
    auth = aiohttp.BasicAuth("", KEY)
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(connector=connector, auth=auth) as session:
        for _ in range(50):  # warm-up, not measured
            async with session.get(f"{base}/team") as response:
                await response.read()

        async def worker() -> None:
            nonlocal errors
            while not queue.empty():
                queue.get_nowait()
                started = time.perf_counter()
                async with session.get(f"{base}/team") as response:
                    await response.read()
                    if response.status != 200:
                        errors += 1
                latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        elapsed = time.perf_counter() - started
    return latencies, errors, elapsed


def sandbox_throughput() -> dict:
    port = _free_port()
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(root / "include") + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "lemlist_sandbox", "--port", str(port), "--rate-limit", "0"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    try:
        _wait_up(port)
        latencies, errors, elapsed = asyncio.run(_drive(f"http://127.0.0.1:{port}/api"))
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
    latencies.sort()
    rps = len(latencies) / elapsed
    figures = {
        "requests": len(latencies),
        "concurrency": CONCURRENCY,
        "errors": errors,
        "seconds": round(elapsed, 3),
        "rps": round(rps, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 2),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 2),
    }
    ratio = round(rps / 1000, 3)
    return {"figures": figures, "ratio": ratio, "target": ">= 1.0", "passed": ratio >= 1.0 and errors == 0}


BENCHMARKS = {"sandbox_throughput": sandbox_throughput}

if __name__ == "__main__":
    print(sandbox_throughput())
