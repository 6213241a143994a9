"""Worker processes of the rate benchmarks (a module of its own so ``spawn`` can import them)."""

from __future__ import annotations

import os
import time

from lemlist_dev.rate_senders import team_calls, wait_for_start
from lemlist_sandbox import connection_json


def _our_worker(base_url: str, key: str, n: int, ready, go, out, opts: dict | None = None) -> None:
    """``n`` x ``get_team`` through ``LemlistHook`` (``lemlist_dev.rate_senders.team_calls``). ``opts``:
    ``extra`` (connection extra, e.g. a ``rate_store``), ``env`` (e.g. ``AIRFLOW__LEMLIST__LOCAL_RATE_STORE``),
    ``delay`` (seconds after the start signal: processes joining over time)."""
    opts = opts or {}
    conn = connection_json(base_url, key, rate_limit=20, rate_window=2.0, **(opts.get("extra") or {}))
    team_calls(conn, opts.get("env") or {}, n, opts.get("delay") or 0.0, ready, go, out)


def _outside_worker(base_url: str, key: str, rate: float, ready, go, stop, out) -> None:
    """Another tool using the same key: ``rate`` plain requests per second, no pacing, until ``stop``."""
    import requests

    session = requests.Session()
    session.auth = ("", key)
    wait_for_start(ready, go)
    sent = rejected = 0
    started = time.time()
    while not stop.is_set():
        response = session.get(f"{base_url}/team", timeout=10)
        sent += 1
        rejected += response.status_code == 429
        time.sleep(max(0.0, started + sent / rate - time.time()))
    out.put({"outside_sent": sent, "outside_429": rejected, "outside_seconds": time.time() - started})


def _naive_worker(base_url: str, key: str, n: int, ready, go, out) -> None:
    import base64
    import json
    import logging

    import tenacity

    logging.getLogger("airflow").setLevel(logging.CRITICAL)
    token = base64.b64encode(f":{key}".encode()).decode()
    os.environ["AIRFLOW_CONN_NAIVE_BENCH"] = json.dumps(
        {"conn_type": "http", "host": base_url, "extra": {"Authorization": f"Basic {token}"}}
    )
    from airflow.providers.http.hooks.http import HttpHook

    hook = HttpHook(method="GET", http_conn_id="naive_bench")
    retry_args = dict(
        wait=tenacity.wait_exponential(multiplier=0.5, max=30),
        stop=tenacity.stop_after_attempt(8),
        retry=tenacity.retry_if_exception_type(Exception),
        reraise=True,
    )
    failures = 0
    wait_for_start(ready, go)
    first = time.time()
    for _ in range(n):
        try:
            hook.run_with_advanced_retry(_retry_args=retry_args, endpoint="team")
        except Exception:
            failures += 1
    out.put({"first": first, "last": time.time(), "failures": failures})
