"""``overhead``: 3,000 GETs with the sandbox's limit off and the hook's pacing off (rate_limit 0).

Hook throughput / a bare ``requests.Session`` loop (same work: GET + JSON parse) must be >= 0.8; a plain
``HttpHook.run`` (a new session and connection lookup per request) is measured beside it. Each client is
timed in alternating rounds so a busy machine slows all of them alike; the ratio uses the best round.
"""

from __future__ import annotations

import base64
import json
import os
import time
from pathlib import Path

os.environ.setdefault("AIRFLOW_HOME", str(Path(__file__).resolve().parents[1] / ".airflow" / "test"))

from bench._sandbox_proc import SandboxProcess, lemlist_conn_env

N = 3000
ROUNDS = 3


def overhead() -> dict:
    import requests
    from airflow.providers.http.hooks.http import HttpHook

    from lemlist_provider.hooks.lemlist import LemlistHook

    with SandboxProcess(rate_limit=0) as sandbox:
        key = sandbox.new_team()
        lemlist_conn_env("lemlist_overhead", sandbox.base_url, key, rate_limit=0)
        token = base64.b64encode(f":{key}".encode()).decode()
        os.environ["AIRFLOW_CONN_HTTP_OVERHEAD"] = json.dumps(
            {"conn_type": "http", "host": sandbox.base_url, "extra": {"Authorization": f"Basic {token}"}}
        )
        url = f"{sandbox.base_url}/team"
        per_round = N // ROUNDS

        bare_session = requests.Session()
        bare_session.auth = ("", key)
        hook = LemlistHook("lemlist_overhead")
        http = HttpHook(method="GET", http_conn_id="http_overhead")

        def bare(n):
            for _ in range(n):
                r = bare_session.get(url, timeout=30)
                r.raise_for_status()
                r.json()

        def ours(n):
            for _ in range(n):
                hook.get_team()

        def plain(n):
            for _ in range(max(1, n // 5)):  # slow: a fifth of the calls, rate scaled
                http.run("team").json()

        clients = {
            "bare_session": (bare, per_round),
            "lemlist_hook": (ours, per_round),
            "http_hook_run": (plain, per_round // 5),
        }
        for fn, _ in clients.values():
            fn(20)  # warm up connections and imports
        best: dict[str, float] = {name: 0.0 for name in clients}
        for _ in range(ROUNDS):
            for name, (fn, n) in clients.items():
                started = time.perf_counter()
                fn(per_round)
                rate = (n if name == "http_hook_run" else per_round) / (time.perf_counter() - started)
                best[name] = max(best[name], rate)
        assert hook.metrics()["failures"] == 0
    ratio = round(best["lemlist_hook"] / best["bare_session"], 3)
    figures = {
        "requests_per_client": N,
        "bare_session_req_per_s": round(best["bare_session"], 1),
        "lemlist_hook_req_per_s": round(best["lemlist_hook"], 1),
        "http_hook_run_req_per_s": round(best["http_hook_run"], 1),
        "http_hook_run_over_bare": round(best["http_hook_run"] / best["bare_session"], 3),
    }
    return {
        "figures": figures,
        "ratio": ratio,
        "target": ">= 0.8 (hook / bare requests.Session)",
        "passed": ratio >= 0.8,
    }


BENCHMARKS = {"overhead": overhead}
