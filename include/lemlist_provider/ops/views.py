"""What the ops page shows, computed from the task records (``store.records``): pure, tested without Airflow.

Per connection (key): requests, 429s, retries and seconds waited per hour and per DAG run; its credits over
time against the low-credit threshold; and the last runs of each pipeline with campaign, rows and outcome.
Seconds waited are wall-clock: the union of the wait intervals that fall in the hour, or in the run.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from lemlist_provider.figures import OPS_FIGURES, union_seconds

from .summary import run_summary

HOUR = 3600.0


def _hour_of(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _clip(intervals: Iterable[Iterable[float]], start: float, end: float) -> list[list[float]]:
    return [[max(a, start), min(b, end)] for a, b in intervals if b > start and a < end]


def per_hour(records: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """``{conn_id: [{"hour", requests, rate_limited, retries, failures, waited_seconds}, ...]}``, newest hour
    first; a try's counters go to the hour it ended in, its waits to the hours they happened in."""
    counters: dict[tuple[str, datetime], dict[str, int]] = defaultdict(lambda: dict.fromkeys(OPS_FIGURES, 0))
    waits: dict[tuple[str, datetime], list[list[float]]] = defaultdict(list)
    for record in records:
        conn = record["conn_id"]
        bucket = counters[(conn, _hour_of(record["ended_at"]))]
        for key in OPS_FIGURES:
            bucket[key] += int(record.get(key) or 0)
        for start, end in record.get("wait_intervals") or []:
            hour = _hour_of(datetime.fromtimestamp(start, UTC))
            while hour.timestamp() < end:
                waits[(conn, hour)].extend(_clip([[start, end]], hour.timestamp(), hour.timestamp() + HOUR))
                hour += timedelta(hours=1)
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for conn, hour in sorted(set(counters) | set(waits), key=lambda k: (k[0], k[1]), reverse=True):
        figures = counters.get((conn, hour)) or dict.fromkeys(OPS_FIGURES, 0)
        out[conn].append(
            {"hour": hour, **figures, "waited_seconds": union_seconds(waits.get((conn, hour), []))}
        )
    return dict(sorted(out.items()))


def per_run(
    records: list[dict[str, Any]], states: dict[tuple[str, str], str] | None = None
) -> list[dict[str, Any]]:
    """One summary per DAG run (``summary.run_summary``) with its dag, run, keys, times and Airflow state,
    newest first."""
    runs: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        runs[(record["dag_id"], record["run_id"])].append(record)
    out = []
    for (dag_id, run_id), items in runs.items():
        out.append({
            "dag_id": dag_id, "run_id": run_id,
            "conn_ids": sorted({r["conn_id"] for r in items if r["conn_id"]}),
            "started_at": min(r["started_at"] for r in items), "ended_at": max(r["ended_at"] for r in items),
            "state": (states or {}).get((dag_id, run_id)) or _state_of(items),
            **run_summary(items),
        })  # fmt: skip
    return sorted(out, key=lambda r: r["ended_at"], reverse=True)


def _state_of(items: list[dict[str, Any]]) -> str:
    """Without Airflow's run state: failed if a task's last try failed."""
    last: dict[tuple[str, int], dict[str, Any]] = {}
    for record in sorted(items, key=lambda r: r["try_number"]):
        last[(record["task_id"], record["map_index"])] = record
    return "failed" if any(r["state"] == "failed" for r in last.values()) else "success"


def last_runs(runs: list[dict[str, Any]], per_dag: int = 5) -> dict[str, list[dict[str, Any]]]:
    """The newest ``per_dag`` runs of each pipeline (``runs`` newest first)."""
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for run in runs:
        if len(out[run["dag_id"]]) < per_dag:
            out[run["dag_id"]].append(run)
    return dict(sorted(out.items()))


def credits_over_time(records: list[dict[str, Any]], threshold: int) -> dict[str, list[dict[str, Any]]]:
    """``{conn_id: [{"at", "credits", "low"}, ...]}`` oldest first, from the tries that read the credits."""
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in sorted(records, key=lambda r: r["ended_at"]):
        if record.get("credits") is not None:
            credits = int(record["credits"])
            out[record["conn_id"]].append(
                {"at": record["ended_at"], "credits": credits, "low": credits < threshold}
            )
    return dict(sorted(out.items()))
