"""Sender processes sharing one key's budget: what the rate tests and the rate benchmarks both start.

Each process is what an Airflow task is to the key's budget: its own interpreter, its own ``LemlistHook``
and gate, the connection from an ``AIRFLOW_CONN_*`` variable. The functions are module-level so that
``multiprocessing``'s ``spawn`` can import them.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import time

from lemlist_sandbox import connection_json

CONN_ID = "lemlist_shared"


def wait_for_start(ready, go) -> None:
    """Tell the parent this process is imported and connected, then wait for everyone's start signal: on
    2 cores, processes importing Airflow take seconds, and a fixed start time would stagger them."""
    ready.put(os.getpid())
    go.wait(timeout=600)


def team_calls(conn_json: str, env: dict, calls: int, delay: float, ready, go, out) -> None:
    """``calls`` x ``get_team`` through ``LemlistHook``, ``delay`` seconds after the start signal; puts what
    the process saw on ``out``: first and last call (epoch seconds), failures, whether its gate took its
    slots from the shared window at the end, the store outages it saw, and the hook's request counters.
    ``env`` is applied first (e.g. ``AIRFLOW__LEMLIST__LOCAL_RATE_STORE``)."""
    os.environ.update(env)
    os.environ[f"AIRFLOW_CONN_{CONN_ID.upper()}"] = conn_json
    from lemlist_provider.hooks.lemlist import LemlistHook

    hook = LemlistHook(CONN_ID)
    hook.get_conn()
    wait_for_start(ready, go)
    if delay:
        time.sleep(delay)
    first, failures = time.time(), 0
    for _ in range(calls):
        try:
            hook.get_team()
        except Exception:
            failures += 1
    gate = hook.limiter
    out.put(
        {
            "first": first,
            "last": time.time(),
            "failures": failures,
            "shared": getattr(gate, "shared", None),
            "fallbacks": getattr(gate, "fallbacks", 0),
            **hook.metrics(),
        }
    )


def run_senders(base_url: str, key: str, procs: int, calls: int, extra: dict | None = None, env=None) -> dict:
    """``procs`` processes share ``key``, ``calls`` x ``get_team`` each, started together; what they saw."""
    ctx = mp.get_context("spawn")
    ready, out, go = ctx.Queue(), ctx.Queue(), ctx.Event()
    conn = connection_json(base_url, key, **(extra or {}))
    workers = [
        ctx.Process(target=team_calls, args=(conn, dict(env or {}), calls, 0.0, ready, go, out))
        for _ in range(procs)
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
