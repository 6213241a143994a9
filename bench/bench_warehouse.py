"""``warehouse_activities``: the warehouse sync's first load of 100,000 activities and an incremental hour.

The sandbox runs in its own process at lemlist's budget (20 requests / 2 s sliding) with a 30-day history
of 100,000 activities over 10 campaigns. A fresh Python process runs the ``lemlist_activities`` stream from
an empty SQLite warehouse (so ``ru_maxrss`` measures that load alone: growth = peak after - peak before,
the peak before being the process after its imports);
then 500 new activities arrive in the next hour and a second process loads that hour. Figures:

- request efficiency = ideal / used, ideal = ceil(n / 100) pages + 1 (the empty page that ends a list
  whose length is a multiple of 100), requests counted by the sandbox (target >= 0.95);
- throughput = rows per second / 1,000 (the key's ceiling: 100 rows x 10 requests/s; target >= 0.85);
- peak RSS growth (target < 100 MB) and the incremental hour's requests (target <= 10).
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ACTIVITIES = 100_000
NEW_IN_HOUR = 500
END = datetime(2026, 11, 28, tzinfo=UTC)
HOUR = timedelta(hours=1)
ROUTE = "GET /api/activities"


def _worker(start: str, end: str) -> None:
    """In a child process: run the activities stream for ``[start, end)``; print figures as JSON."""
    import resource

    from lemlist_provider.warehouse.sync import sync_stream

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()
    summary = sync_stream("lemlist_activities", datetime.fromisoformat(start), datetime.fromisoformat(end))
    seconds = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    current_kib = int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024
    print(json.dumps({"rows": summary["rows"], "seconds": seconds, "rss_growth_kib": after - before,
                      "baseline_peak_kib": before, "final_rss_kib": current_kib}))  # fmt: skip


def _run(env: dict, start: datetime, end: datetime) -> dict:
    proc = subprocess.run(
        [sys.executable, __file__, "--worker", start.isoformat(), end.isoformat()],
        capture_output=True, text=True, timeout=1200, env=env,
    )  # fmt: skip
    if proc.returncode != 0:
        raise RuntimeError(f"warehouse worker failed: {proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def warehouse_activities() -> dict:
    from bench._sandbox_proc import SandboxProcess
    from lemlist_sandbox import connection_json

    with SandboxProcess(rate_limit=20) as sandbox, tempfile.TemporaryDirectory() as tmp:
        key = sandbox.new_team()
        sandbox.add_history(key, activities=ACTIVITIES, campaigns=10, days=30, end=END.isoformat())
        env = {
            **os.environ,
            "AIRFLOW_HOME": tmp,
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__LEMLIST__OUTPUT_ROOTS": tmp,
            "AIRFLOW_CONN_LEMLIST_DEFAULT": connection_json(sandbox.base_url, key),
            "AIRFLOW_CONN_LEMLIST_WAREHOUSE": json.dumps({"conn_type": "sqlite", "host": f"{tmp}/wh.sqlite"}),
        }
        used_before = sandbox.stats()["by_route"].get(ROUTE, 0)
        first = _run(env, END - HOUR, END)
        used = sandbox.stats()["by_route"][ROUTE] - used_before
        sandbox.add_history(key, activities=NEW_IN_HOUR, campaigns=1, leads_per_campaign=10, hours=1,
                            unsubscribes=0, end=(END + HOUR).isoformat(), seed=1)  # fmt: skip
        hour_before = sandbox.stats()["by_route"][ROUTE]
        hour = _run(env, END, END + HOUR)
        hour_requests = sandbox.stats()["by_route"][ROUTE] - hour_before
    ideal = math.ceil(ACTIVITIES / 100) + (1 if ACTIVITIES % 100 == 0 else 0)
    efficiency = round(ideal / used, 4)
    rows_per_second = first["rows"] / first["seconds"]
    throughput = round(rows_per_second / 1000, 4)
    growth_mb = round(first["rss_growth_kib"] / 1024, 1)
    checks = {
        "request_efficiency >= 0.95": efficiency >= 0.95,
        "throughput >= 0.85": throughput >= 0.85,
        "peak_rss_growth_mb < 100": growth_mb < 100,
        "incremental_hour_requests <= 10": hour_requests <= 10,
        "all rows loaded": first["rows"] == ACTIVITIES,
    }
    return {
        "figures": {
            "activities": ACTIVITIES,
            "rows_loaded": first["rows"],
            "requests_used": used,
            "requests_ideal": ideal,
            "request_efficiency": efficiency,
            "seconds": round(first["seconds"], 1),
            "rows_per_second": round(rows_per_second, 1),
            "throughput_vs_key_ceiling": throughput,
            "peak_rss_growth_mb": growth_mb,
            "baseline_peak_rss_mb": round(first["baseline_peak_kib"] / 1024, 1),
            "rss_after_load_mb": round(first["final_rss_kib"] / 1024, 1),
            "incremental_hour": {
                "new_activities": NEW_IN_HOUR,
                "rows_loaded": hour["rows"],
                "requests": hour_requests,
            },  # fmt: skip
            "checks": checks,
        },
        "ratio": throughput,
        "target": "request efficiency >= 0.95, throughput >= 0.85, RSS growth < 100 MB, hour <= 10 requests",
        "passed": all(checks.values()),
    }


BENCHMARKS = {"warehouse_activities": warehouse_activities}

if __name__ == "__main__" and len(sys.argv) > 1 and sys.argv[1] == "--worker":
    _worker(sys.argv[2], sys.argv[3])
