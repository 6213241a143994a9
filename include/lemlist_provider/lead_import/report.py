"""Merge every row's outcome into one results file and a summary that the next task or DAG can use.

Rows come from three sorted streams (rejected rows, staged batches in order, each batch's checkpoint), so
the merge holds one batch's checkpoint at a time, never the whole file.
"""

from __future__ import annotations

import heapq
import itertools
import json
import time
from collections.abc import Iterator
from typing import Any

from lemlist_provider import safe_csv
from lemlist_provider.figures import union_seconds
from lemlist_provider.journal import journal_at
from lemlist_provider.paths import writing

from .checkpoint import Checkpoint
from .workspace import Workspace

STATUSES = ("imported", "already_in_campaign", "duplicate_in_file", "unsubscribed", "invalid", "failed")
REPORT_COLUMNS = ("row_number", "email", "status", "lead_id", "reason")


def _rejected(workspace: Workspace) -> Iterator[dict]:
    if not workspace.rejected_path.exists():
        return
    with workspace.rejected_path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)


def _batch_outcomes(workspace: Workspace, descriptor: dict) -> Iterator[dict]:
    index = int(descriptor["batch"])
    done, attempted = Checkpoint(workspace.checkpoint_path(index)).load()
    with workspace.batch_path(index).open(encoding="utf-8") as handle:
        for line in handle:
            if not line.strip():
                continue
            item = json.loads(line)
            row = int(item["row"])
            outcome = done.get(row)
            if outcome is None:
                why = "interrupted mid-request" if row in attempted else "not sent"
                outcome = {
                    "status": "failed",
                    "lead_id": "",
                    "reason": f"batch {index} did not finish ({why}); re-run the DAG to import the rest",
                }
            yield {
                "row": row,
                "email": item["email"],
                **{k: outcome.get(k, "") for k in ("status", "lead_id", "reason")},
            }


def iter_outcomes(workspace: Workspace, manifest: dict) -> Iterator[dict]:
    """Every input row once, in row order."""
    batches = itertools.chain.from_iterable(
        _batch_outcomes(workspace, d) for d in manifest.get("batches", [])
    )
    return heapq.merge(_rejected(workspace), batches, key=lambda r: int(r["row"]))


def _batch_metrics(workspace: Workspace, manifest: dict) -> dict[str, float]:
    """The import's own figures: every try of every batch, added up, not the validate task's (its requests and
    429s are in its own ops summary). Seconds waited are the union of the batches' wait intervals: batches
    running side by side wait once on the clock."""
    totals: dict[str, float] = dict.fromkeys(("requests", "rate_limited", "retries", "failures"), 0)
    intervals: list = []
    first_start: float | None = None
    last_end: float | None = None
    for descriptor in manifest.get("batches", []):
        for entry in journal_at(workspace.metrics_path(int(descriptor["batch"]))).read():
            if not {"started", "ended"} <= set(entry):
                continue
            for key in totals:
                totals[key] += float(entry.get(key, 0) or 0)
            intervals.extend(entry.get("intervals") or [])
            first_start = min(first_start or entry["started"], entry["started"])
            last_end = max(last_end or entry["ended"], entry["ended"])
    totals["waited_seconds"] = union_seconds(intervals)
    totals["import_seconds"] = round((last_end - first_start), 3) if first_start and last_end else 0.0
    return totals


def write_report(workspace: Workspace, manifest: dict, destination: Any) -> dict:
    """Write the results CSV to ``destination`` (``Path`` or ``ObjectStoragePath``); return the summary.

    The report is published only when it accounts for every row of the source: an incomplete work folder
    raises, and the previous report (if any) stays as it was.
    """
    counts = dict.fromkeys(STATUSES, 0)
    rows = 0
    with writing("output_uri", destination, "w", encoding="utf-8", newline="") as handle:
        writer = safe_csv.writer(handle)
        writer.writerow(REPORT_COLUMNS)
        for outcome in iter_outcomes(workspace, manifest):
            rows += 1
            counts[outcome["status"]] = counts.get(outcome["status"], 0) + 1
            writer.writerow([outcome["row"], outcome["email"], outcome["status"], outcome.get("lead_id", ""),
                             outcome.get("reason", "")])  # fmt: skip
        if rows != int(manifest.get("total_rows", rows)):
            raise RuntimeError(
                f"report accounts for {rows} rows but the source had {manifest.get('total_rows')}: work folder "
                f"{workspace.root} is incomplete"
            )
    metrics = _batch_metrics(workspace, manifest)
    sent = counts.get("imported", 0) + counts.get("already_in_campaign", 0)
    import_seconds = metrics.pop("import_seconds")
    return {
        "campaign_id": manifest.get("campaign_id"),
        "source": manifest.get("source"),
        "report": str(destination),
        "strategy": manifest.get("strategy", "per_lead"),
        "dry_run": bool(manifest.get("dry_run")),
        "total_rows": rows,
        "counts": {k: v for k, v in counts.items() if v or k in STATUSES},
        "duration_seconds": round(time.time() - float(manifest.get("started_at", time.time())), 3),
        "import_seconds": import_seconds,
        "leads_per_second": round(sent / import_seconds, 3) if import_seconds else 0.0,
        **{k: int(metrics[k]) for k in ("requests", "rate_limited", "retries", "failures")},
        "waited_seconds": round(metrics["waited_seconds"], 3),
    }


def run_summary_line(summary: dict) -> str:
    """One line for a terminal or ``make demo``: what happened to every row, how fast, at what cost."""
    counts = summary.get("counts", {})
    parts = ", ".join(f"{counts.get(s, 0)} {s}" for s in STATUSES)
    extra = f", {counts['would_import']} would_import (dry run)" if counts.get("would_import") else ""
    return (
        f"lemlist_lead_import: {summary.get('total_rows', 0)} rows -> {parts}{extra} | "
        f"{summary.get('duration_seconds', 0):.1f} s, {summary.get('leads_per_second', 0):.2f} leads/s, "
        f"{summary.get('requests', 0)} requests, {summary.get('rate_limited', 0)} x 429, "
        f"{summary.get('retries', 0)} retries | report: {summary.get('report', '')}"
    )
