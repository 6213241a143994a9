"""Sender processes for the shared-window tests (a module of its own so ``spawn`` can import it).

Each process is what an Airflow task is to the key's budget: its own interpreter, its own ``LemlistHook``
and gate, the connection from an ``AIRFLOW_CONN_*`` variable.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import time


def _sender(conn: dict, env: dict, calls: int, ready, go, out) -> None:
    os.environ.update(env)
    os.environ["AIRFLOW_CONN_LEMLIST_SHARED"] = json.dumps(conn)
    from lemlist_provider.hooks.lemlist import LemlistHook

    hook = LemlistHook("lemlist_shared")
    hook.get_conn()
    ready.put(os.getpid())
    go.wait(timeout=300)
    failures = 0
    for _ in range(calls):
        try:
            hook.get_team()
        except Exception:
            failures += 1
    gate = hook.limiter
    out.put({"failures": failures, "shared": getattr(gate, "shared", None), **hook.metrics()})


def run_senders(base_url: str, key: str, procs: int, calls: int, extra: dict | None = None, env=None) -> dict:
    """``procs`` processes share ``key``, ``calls`` x ``get_team`` each, started together; what they saw."""
    ctx = mp.get_context("spawn")
    ready, out, go = ctx.Queue(), ctx.Queue(), ctx.Event()
    conn = {"conn_type": "lemlist", "host": base_url, "password": key, "extra": extra or {}}
    workers = [
        ctx.Process(target=_sender, args=(conn, dict(env or {}), calls, ready, go, out)) for _ in range(procs)
    ]
    for worker in workers:
        worker.start()
    for _ in workers:
        ready.get(timeout=300)
    started = time.monotonic()
    go.set()
    results = [out.get(timeout=300) for _ in workers]
    elapsed = time.monotonic() - started
    for worker in workers:
        worker.join(timeout=30)
    return {
        "seconds": elapsed,
        "failures": sum(r["failures"] for r in results),
        "rate_limited": sum(r["rate_limited"] for r in results),
        "shared": [r["shared"] for r in results],
    }
