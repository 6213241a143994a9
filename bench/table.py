"""Print ``bench/results.json`` as the Markdown table the README shows: ``python -m bench.table``."""

from __future__ import annotations

import json
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results.json"

# name -> (what is measured, which figures to show)
ROWS = {
    "rate_single": ("1 process, 300 requests at 20/2 s: req/s ÷ 10", ["req_per_s", "rate_limited_pct"]),
    "rate_shared": (
        "8 processes, 1 key, 600 requests: combined req/s ÷ 10, worst of 3 runs",
        ["utilisation_each_run", "rate_limited_pct_each_run", "failed_calls_all_runs"],
    ),
    "rate_naive": ("ours ÷ plain HttpHook + tenacity on the same 8-process load", []),
    "rate_windows": (
        "8 processes, shared window on this host, each window kind: worst req/s ÷ 10 (table: bench_rate.py)",
        ["requests_per_case"],
    ),
    "rate_store": ("8 processes, shared window in Redis: worst req/s ÷ 10 (table: bench_rate.py)", ["redis"]),
    "rate_celery": (
        "lead import, 800 leads in 8 mapped batches on 2 Celery workers, shared store in Redis: leads/s ÷ 10"
        " (table: bench_celery.py)",
        ["header_only_utilisation_leads"],
    ),
    "overhead": ("3,000 GETs, limits off: hook ÷ bare requests.Session", []),
    "sandbox_throughput": ("sandbox, limit off: GET /team per s ÷ 1,000", ["rps", "p99_ms"]),
    "import_throughput": (
        "600 leads through the DAG, 4 mapped batches: leads/s ÷ 10",
        ["leads_per_second", "end_to_end_leads_per_second", "server_429s"],
    ),
    "import_memory": ("validating 100,000 rows: peak RSS growth ÷ file size", ["streaming_vs_list"]),
    "import_memory_bounded": (
        "hostile files (100 MB line, 100 MB quoted value, quote never closed, NUL rows): worst growth ÷ 64 MiB",
        ["worst_peak_growth_mib"],
    ),
    "enrichment": ("1,000 enrichments: ideal requests ÷ requests used", []),
    "export_stream": ("200 MB export download: peak RSS growth ÷ file size", []),
    "unsubscribe_sync": ("100,000 entries each side", []),
    "warehouse_activities": (
        "100,000 activities into an empty SQLite warehouse at 20/2 s: rows/s ÷ 1,000",
        ["request_efficiency", "rows_per_second", "peak_rss_growth_mb", "incremental_hour"],
    ),
    "webhook_receiver": (
        "3,000 webhook events into the API server (SQLite): events/s ÷ 200",
        ["events_per_second", "p99_ms"],
    ),
    "webhook_receiver_postgres": ("the same on PostgreSQL", ["events_per_second", "p99_ms"]),
    "webhook_emit_to_run": (
        "sandbox emits an unsubscribe → the DAG run that handles it ends: p99 s ÷ 30",
        ["to_run_queued_p50_s", "to_run_queued_p99_s", "to_run_done_p50_s", "to_run_done_p99_s"],
    ),
    "sandbox_fuzz": (
        "schemathesis over lemlist's spec: operations, cases, server errors",
        ["operations", "cases", "failures"],
    ),
}


def main() -> None:
    results = json.loads(RESULTS.read_text())
    print("| benchmark | what | ratio | target | result | figures | measured |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name, (what, keys) in ROWS.items():
        r = results.get(name)
        if not r:
            continue
        figures = r.get("figures", {})
        shown = ", ".join(f"{k} {figures[k]}" for k in keys if k in figures)
        status = "pass" if r.get("passed") else "**FAIL**"
        measured = (r.get("measured_at") or "")[:10]
        print(
            f"| `{name}` | {what} | {r.get('ratio')} | {r.get('target')} | {status} | {shown} | {measured} |"
        )


if __name__ == "__main__":
    main()
