"""``unsubscribe_sync``: requests and seconds to sync 100,000 entries on each side at the real 20 req / 2 s.

The sandbox runs in its own process at the real limit. lemlist holds 100,000 unsubscribes (seeded through
the bulk route), the local CSV 100,000 entries, 50,000 in common. The first run pushes 50,000 (5 bulk calls)
and adds 50,000 locally; the second finds nothing to do. Ratio = requests of the first run ÷ the least
possible (one read + one call per 10,000 adds): target <= 1.0. A per-value client would need 50,000 writes
(≈ 83 min at 10 req/s) for the same push.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

import requests

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
N = 100_000
OVERLAP = 50_000


def unsubscribe_sync() -> dict:
    from bench._sandbox_proc import SandboxProcess
    from lemlist_provider.unsubscribes import CsvSuppressionStore, SyncOptions, run_sync

    with SandboxProcess(rate_limit=20) as sandbox:
        key = sandbox.new_team()
        remote = [f"remote{i}@bench.example" for i in range(N - OVERLAP)] + [
            f"shared{i}@bench.example" for i in range(OVERLAP)
        ]
        for start in range(0, N, 10_000):
            r = requests.post(f"{sandbox.base_url}/v2/unsubscribes/variables", json={"values": remote[start:start + 10_000]},
                              auth=("", key), timeout=60)  # fmt: skip
            if r.status_code == 429:
                time.sleep(float(r.headers.get("Retry-After", 1)))
                r = requests.post(f"{sandbox.base_url}/v2/unsubscribes/variables", json={"values": remote[start:start + 10_000]},
                                  auth=("", key), timeout=60)  # fmt: skip
            r.raise_for_status()
        time.sleep(2.1)  # start with a full budget
        os.environ["AIRFLOW_CONN_LEMLIST_DEFAULT"] = json.dumps(
            {
                "conn_type": "lemlist",
                "host": sandbox.base_url,
                "password": key,
                "extra": {"rate_limit": 20, "rate_window": 2.0},
            }
        )
        from lemlist_provider.hooks.lemlist import LemlistHook

        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "local.csv"
            with path.open("w") as handle:
                handle.write("value,source\n")
                for i in range(OVERLAP):
                    handle.write(f"Shared{i}@Bench.example,crm\n")
                for i in range(N - OVERLAP):
                    handle.write(f"local{i}@bench.example,crm\n")
            sandbox.reset_counters()
            started = time.monotonic()
            first = run_sync(
                LemlistHook(), CsvSuppressionStore(path), SyncOptions(), Path(tmp) / "audit1.csv"
            )
            first_seconds = time.monotonic() - started
            started = time.monotonic()
            second = run_sync(
                LemlistHook(), CsvSuppressionStore(path), SyncOptions(), Path(tmp) / "audit2.csv"
            )
            second_seconds = time.monotonic() - started
            stats = sandbox.stats()
    minimum = 1 + -(-first["to_lemlist"] // 10_000)
    return {
        "figures": {
            "entries_each_side": N,
            "in_common": OVERLAP,
            "first_run": {
                "requests": first["requests"],
                "bulk_calls": first["bulk_calls"],
                "seconds": round(first_seconds, 2),
                "added_to_lemlist": first["added_to_lemlist"],
                "added_to_local": first["added_to_local"],
                "rate_limited": first["rate_limited"],
            },  # fmt: skip
            "second_run": {
                "requests": second["requests"],
                "seconds": round(second_seconds, 2),
                "added": second["added_to_lemlist"] + second["added_to_local"],
            },  # fmt: skip
            "sandbox_requests": stats["total_requests"],
            "sandbox_429": stats["rate_limited_429"],
            "per_value_client_writes_for_the_same_push": first["to_lemlist"],
        },
        "ratio": round(first["requests"] / minimum, 3),
        "target": "<= 1.0",
        "passed": first["requests"] <= minimum
        and second["requests"] == 1
        and first["added_to_lemlist"] == N - OVERLAP,
    }


BENCHMARKS = {"unsubscribe_sync": unsubscribe_sync}
