"""Worker processes of the rate benchmarks (a module of its own so ``spawn`` can import them)."""

from __future__ import annotations

import os
import time

from _sandbox_proc import lemlist_conn_env


def _wait_for_start(ready, go) -> None:
    """Tell the parent this process is imported and connected, then wait for everyone's start signal."""
    ready.put(os.getpid())
    go.wait(timeout=600)


def _our_worker(base_url: str, key: str, n: int, ready, go, out) -> None:
    lemlist_conn_env("lemlist_bench", base_url, key, rate_limit=20, rate_window=2.0)
    from lemlist_provider.hooks.lemlist import LemlistHook

    hook = LemlistHook("lemlist_bench")
    hook.get_conn()
    failures = 0
    _wait_for_start(ready, go)
    first = time.time()
    for _ in range(n):
        try:
            hook.get_team()
        except Exception:
            failures += 1
    out.put({"first": first, "last": time.time(), "failures": failures, **hook.metrics()})


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
    _wait_for_start(ready, go)
    first = time.time()
    for _ in range(n):
        try:
            hook.run_with_advanced_retry(_retry_args=retry_args, endpoint="team")
        except Exception:
            failures += 1
    out.put({"first": first, "last": time.time(), "failures": failures})
