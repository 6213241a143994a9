"""What a campaign export run reports: one summary of every campaign's file, and one line of it."""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)


def campaign_ref(campaign: Any) -> tuple[str, str]:
    """``(id, name)`` from a campaign id or a campaign dict (as listed by lemlist or by the list task)."""
    if isinstance(campaign, dict):
        cid = campaign.get("campaign_id") or campaign.get("_id") or campaign.get("id")
        return str(cid), str(campaign.get("name") or "")
    return str(campaign), ""


def summarise(results: list | None, method: str | None = None) -> dict[str, Any]:
    """The run's summary from the export tasks' results (one dict per exported campaign)."""
    done = [r for r in results or [] if isinstance(r, dict)]
    summary = {
        "method": method,
        "campaigns": len(done),
        "exported": len(done),
        "rows": sum(r["rows"] for r in done),
        "bytes": sum(r["bytes"] for r in done),
        "restarts": sum(r.get("restarts", 0) for r in done),
        "polls": sum(r.get("polls", 0) for r in done),
        "poll_rate_limited": sum(r.get("poll_rate_limited", 0) for r in done),
        "folder": done[0]["uri"].rsplit("/", 2)[0] if done else None,
        "files": {r["campaign_id"]: {"uri": r["uri"], "rows": r["rows"], "bytes": r["bytes"]} for r in done},
    }
    log.info("%s", run_summary_line(summary))
    return summary


def run_summary_line(summary: dict[str, Any]) -> str:
    """One line for ``make demo``: campaigns exported, rows, bytes, restarts."""
    if not summary:
        return "campaign export: no summary"
    return (
        f"campaign export [{summary.get('method')}]: {summary.get('exported')}/{summary.get('campaigns')} campaigns, "
        f"{summary.get('rows')} rows, {summary.get('bytes')} bytes, {summary.get('restarts', 0)} restart(s), "
        f"{summary.get('polls', 0)} status polls ({summary.get('poll_rate_limited', 0)} x 429); "
        f"files under {summary.get('folder')}"
    )
