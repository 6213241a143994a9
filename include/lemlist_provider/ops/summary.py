"""The one summary shape of every lemlist task try, and how a run's summary adds them up.

A task record (what a task pushes under the XCom key ``lemlist_ops``)::

    {"conn_id", "try_number", "state", "started_at", "ended_at",           # which try, on which key
     "requests", "rate_limited", "retries", "failures", "waited_seconds",  # what it cost the key
     "wait_intervals": [[start, end], ...],                                # when it waited (epoch seconds)
     "campaign_id", "rows", "outcomes": {"imported": 140, ...}, "report", "credits"}   # what it did

Every DAG's tasks push the same shape, so the ops page, the metrics and the runs list read one thing. A run
adds the counters up, but its seconds waited are the union of its tasks' wait intervals: batches that wait
side by side wait once on the clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from lemlist_provider.figures import OPS_FIGURES, merge_intervals, union_seconds

OPS_XCOM_KEY = "lemlist_ops"
#: facts an operator may note about what its try did (``LemlistTaskMixin.note_ops``)
FACTS = ("campaign_id", "rows", "outcomes", "report", "credits")


def task_record(
    metrics: Mapping[str, Any],
    intervals: list[list[float]],
    *,
    conn_id: str,
    try_number: int,
    state: str,
    started_at: float,
    ended_at: float,
    facts: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The summary of one task try, from its hook's counters and what the operator noted."""
    facts = dict(facts or {})
    unknown = set(facts) - set(FACTS)
    if unknown:
        raise ValueError(f"unknown ops facts {sorted(unknown)}; known: {FACTS}")
    outcomes = facts.get("outcomes") or {}
    return {
        "conn_id": conn_id,
        "try_number": int(try_number),
        "state": state,
        "started_at": round(started_at, 3),
        "ended_at": round(ended_at, 3),
        **{key: int(metrics.get(key) or 0) for key in OPS_FIGURES},
        "waited_seconds": union_seconds(intervals),
        "wait_intervals": merge_intervals(intervals),
        "campaign_id": facts.get("campaign_id") or None,
        "rows": int(facts["rows"]) if facts.get("rows") is not None else None,
        "outcomes": {str(k): int(v) for k, v in outcomes.items() if v},
        "report": str(facts["report"]) if facts.get("report") else None,
        "credits": int(facts["credits"]) if facts.get("credits") is not None else None,
    }


def run_summary(records: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """A run's figures from its task records: counters and outcome counts added up, seconds waited as the
    union of every task's intervals, the campaign, rows and report of the task that named them last."""
    total: dict[str, Any] = dict.fromkeys(OPS_FIGURES, 0)
    outcomes: dict[str, int] = {}
    intervals: list[list[float]] = []
    facts: dict[str, Any] = {"campaign_id": None, "rows": None, "report": None, "credits": None}
    tasks = 0
    for record in sorted(records, key=lambda r: r.get("ended_at") or 0):
        tasks += 1
        for key in OPS_FIGURES:
            total[key] += int(record.get(key) or 0)
        for name, count in (record.get("outcomes") or {}).items():
            outcomes[name] = outcomes.get(name, 0) + int(count)
        intervals.extend(record.get("wait_intervals") or [])
        facts.update({k: record[k] for k in facts if record.get(k) is not None})
    return {
        **total,
        "waited_seconds": union_seconds(intervals),
        "outcomes": outcomes,
        "tasks": tasks,
        **facts,
    }
