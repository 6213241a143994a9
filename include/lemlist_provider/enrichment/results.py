"""Result rows, the results file (CSV or JSON Lines) and the one-line run summary.

Statuses of a row: ``done`` (something found), ``not_found`` (finished, nothing found), ``failed`` (lemlist
ended it failed; credits refunded), ``skipped`` (409 already enriched / being enriched, or already carried a
final written-back status), ``skipped_credits`` (left out by the credit plan), ``error`` (a per-item error
such as MISSING_INPUTS, or a request lemlist refused), ``outcome_unknown`` (the start was sent but its answer
was lost: charged at most once, not resent unless asked), ``pending`` (the deadline passed first).
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from lemlist_provider import safe_csv
from lemlist_provider.paths import writing

from .items import INPUT_KEYS

FINAL_STATUSES = ("done", "not_found", "failed", "skipped", "skipped_credits", "error", "outcome_unknown")
ALL_STATUSES = (*FINAL_STATUSES, "pending")
FOUND_COLUMNS = ("found_email", "email_status", "found_phone", "linkedin_url", "linkedin_headline")
COLUMNS = ("key", "lead_id", *INPUT_KEYS, "enrichment_id", "status", "error", *FOUND_COLUMNS, "credits")


def found_data(data: dict | None) -> dict[str, str]:
    """Flatten lemlist's ``data`` (``email``, ``verification``, ``phone``, ``linkedin``) into columns."""
    data = data if isinstance(data, dict) else {}

    def part(name: str) -> dict:
        value = data.get(name)
        return value if isinstance(value, dict) else {}

    return {
        "found_email": part("email").get("email") or "",
        "email_status": part("verification").get("status") or "",
        "found_phone": part("phone").get("phone") or "",
        "linkedin_url": part("linkedin").get("linkedinUrl") or "",
        "linkedin_headline": part("linkedin").get("headline") or "",
    }


def final_status(status: str, body: dict | None) -> str:
    """``done`` with every requested part ``notFound`` is reported as ``not_found``."""
    if status != "done":
        return status
    data = (body or {}).get("data")
    parts = [v for v in data.values() if isinstance(v, dict)] if isinstance(data, dict) else []
    if parts and all(p.get("notFound") for p in parts):
        return "not_found"
    return "done"


def result_row(
    item: dict, status: str, *, enrichment_id: str | None = None, error: str = "", body: dict | None = None
) -> dict[str, Any]:
    row: dict[str, Any] = {"key": item.get("key", ""), "lead_id": item.get("leadId") or ""}
    source = item.get("input") or {}
    if body and isinstance(body.get("input"), dict):
        source = {**body["input"], **source}
    row.update({k: source.get(k, "") for k in INPUT_KEYS})
    row.update(enrichment_id=enrichment_id or "", status=final_status(status, body), error=error)
    row.update(found_data((body or {}).get("data")))
    row["credits"] = (body or {}).get("credits", "") if body else ""
    return row


def status_counts(rows: list[dict]) -> dict[str, int]:
    counts = Counter(r["status"] for r in rows)
    return {s: counts.get(s, 0) for s in ALL_STATUSES if counts.get(s)} | {"total": len(rows)}


def write_results(rows: list[dict], path: Any, param: str = "output_path") -> str:
    """CSV (``.csv``) or JSON Lines (anything else, e.g. ``.jsonl``), through :func:`paths.writing`."""
    with writing(param, path, "w", newline="", encoding="utf-8") as handle:
        if path.suffix.lower() == ".csv":
            writer = safe_csv.DictWriter(handle, fieldnames=list(COLUMNS), extrasaction="ignore")
            writer.writeheader()
            writer.writerows(rows)
        else:
            for row in rows:
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    return str(path)


def run_summary_line(summary: dict) -> str:
    """One line for ``make demo``: counts per status, credits, requests, 429s and retries."""
    counts = summary.get("counts", {})
    statuses = ", ".join(f"{s} {counts[s]}" for s in ALL_STATUSES if counts.get(s))
    credits = summary.get("credits", {})
    http = summary.get("http", {})
    return (
        f"lemlist_enrichment: {counts.get('total', 0)} inputs ({statuses or 'nothing to do'}); "
        f"credits {credits.get('before', '?')} -> {credits.get('after', '?')} (used {credits.get('used', '?')}); "
        f"{http.get('requests', 0)} requests ({http.get('starts', 0)} starts, {http.get('polls', 0)} polls), "
        f"{http.get('rate_limited', 0)} x 429, {http.get('retries', 0)} retries; report {summary.get('output', '-')}"
    )
