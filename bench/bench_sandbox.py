"""Sandbox throughput (the sandbox must never be the bottleneck of another benchmark) and fidelity (the
property-based test of every operation of lemlist's spec, whose figures ``make bench`` records).

Starts the sandbox as its own process (``SandboxProcess``, limit off), drives ``GET /api/team`` from
this process with aiohttp (concurrency 16), and reports requests per second and latency percentiles.
ratio = rps / 1000 (the floor the client benchmarks need); the lead measured ~1,950 rps.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path

import aiohttp

from bench._sandbox_proc import SandboxProcess

REQUESTS = 4000
CONCURRENCY = 16
KEY = "sandbox-api-key"
HEADERS = {"Authorization": aiohttp.encode_basic_auth("", KEY)}


async def _drive(base: str) -> tuple[list[float], int, float]:
    latencies: list[float] = []
    errors = 0
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(REQUESTS):
        queue.put_nowait(i)
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(connector=connector, headers=HEADERS) as session:
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
    with SandboxProcess(rate_limit=0, seed="demo") as sandbox:
        latencies, errors, elapsed = asyncio.run(_drive(sandbox.base_url))
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


def sandbox_fuzz() -> dict:
    """schemathesis over every operation of the spec (as ``tests/sandbox/test_fuzz.py`` runs it)."""
    from lemlist_sandbox import fuzz

    with SandboxProcess(rate_limit=0, seed="demo") as sandbox, tempfile.TemporaryDirectory() as tmp:
        sandbox.set_faults(time_scale=0.001)
        result = fuzz.run(sandbox, max_examples=fuzz_examples(), workdir=Path(tmp))
    figures = result.figures()
    ratio = round(result.tested / result.operations, 3)
    clean = not result.failures and not result.server_errors
    return {
        "figures": figures,
        "ratio": ratio,
        "target": "== 1.0 (operations tested / in the spec), 0 failures, 0 server errors",
        "passed": ratio == 1.0 and clean,
    }


def fuzz_examples() -> int:
    return int(os.environ.get("SANDBOX_FUZZ_EXAMPLES", "10"))


BENCHMARKS = {"sandbox_throughput": sandbox_throughput, "sandbox_fuzz": sandbox_fuzz}

if __name__ == "__main__":
    print(sandbox_throughput())
