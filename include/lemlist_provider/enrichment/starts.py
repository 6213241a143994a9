"""Start enrichments without ever spending credits twice, and collect their results.

Enrichment starts are not replay-safe: a resent start is a second charge. So the hook never resends them
(a 5xx/timeout on ``POST /v2/enrichments/bulk`` raises), this module records such a chunk as ``error``
("not confirmed, not resent") instead of retrying it, and an optional ledger file (JSON Lines, one line per
chunk or single call, keyed by item key) lets a retried task skip every item an earlier try already sent.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from lemlist_provider.paths import mark

from .items import bulk_payload, query_flags
from .results import result_row

BULK_LIMIT = 500
ALREADY = ("already_enriched", "already being enriched", "recently enriched")


def _record(item: dict, status: str, enrichment_id: str | None = None, error: str = "") -> dict:
    return {"key": item["key"], "leadId": item.get("leadId"), "input": item.get("input") or {},
            "enrichmentId": enrichment_id, "status": status, "error": error}  # fmt: skip


class Ledger:
    """Records of items already sent in this run (by an earlier try of the same task)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.records: dict[str, dict] = {}
        if self.path is not None and self.path.exists():
            for line in self.path.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    for record in json.loads(line):
                        self.records[record["key"]] = record

    def add(self, records: list[dict]) -> None:
        for record in records:
            self.records[record["key"]] = record
        if self.path is not None and records:
            if not self.path.exists():
                self.path.parent.mkdir(parents=True, exist_ok=True)
                mark("ledger_path", self.path)
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(records) + "\n")
                handle.flush()


def start_enrichments(
    hook: Any,
    items: list[dict],
    enrichments: list[str],
    kinds: list[str],
    *,
    force: bool = False,
    chunk_size: int = BULK_LIMIT,
    ledger: Ledger | None = None,
    log: Any = None,
    webhook_url: str | None = None,
) -> tuple[list[dict], dict[str, int]]:
    """Start every item (bulk where it has person data, single ``/leads/{id}/enrich`` otherwise); lemlist
    calls ``webhook_url`` when each one is over (``lemlist_provider.events.callbacks``).

    Returns (records, counters ``{"bulk_calls", "single_calls", "reused"}``); a record's status is
    ``started``, ``skipped`` (409) or ``error`` (per-item error, or a start not confirmed).
    """
    from lemlist_provider.hooks.errors import (
        LemlistAuthError,
        LemlistClientError,
        LemlistError,
        LemlistNotFoundError,
    )

    ledger = ledger or Ledger(None)
    counters = {"bulk_calls": 0, "single_calls": 0, "reused": 0}
    records: list[dict] = []
    todo = []
    for item in items:
        if item["key"] in ledger.records:
            records.append(ledger.records[item["key"]])
            counters["reused"] += 1
        else:
            todo.append(item)
    bulk = [i for i in todo if i["mode"] == "bulk"]
    single = [i for i in todo if i["mode"] != "bulk"]
    chunk_size = max(1, min(BULK_LIMIT, chunk_size))
    for start in range(0, len(bulk), chunk_size):
        chunk = bulk[start : start + chunk_size]
        counters["bulk_calls"] += 1
        try:
            answers = hook.enrich_bulk([bulk_payload(i, kinds) for i in chunk], webhook_url=webhook_url)
        except LemlistAuthError as exc:
            if exc.status != 402:
                raise
            chunk_records = [_record(i, "error", error=f"NOT_ENOUGH_CREDITS: {exc.reason}") for i in chunk]
        except LemlistError as exc:
            reason = f"bulk start not confirmed ({exc.status or type(exc).__name__}); not resent to avoid a double charge"
            if log is not None:
                log.warning("lemlist bulk enrichment chunk of %d items: %s", len(chunk), reason)
            chunk_records = [_record(i, "error", error=reason) for i in chunk]
        else:
            chunk_records = _match_bulk(chunk, answers if isinstance(answers, list) else [])
        ledger.add(chunk_records)
        records += chunk_records
    flags = query_flags(enrichments)
    for item in single:
        counters["single_calls"] += 1
        try:
            answer = hook.enrich_lead(
                item["leadId"], find_email=flags.get("findEmail"), verify_email=flags.get("verifyEmail"),
                linkedin_enrichment=flags.get("linkedinEnrichment"), find_phone=flags.get("findPhone"),
                force=True if force else None, webhook_url=webhook_url,
            )  # fmt: skip
            record = _record(item, "started", (answer or {}).get("id"))
            if not record["enrichmentId"]:
                record.update(status="error", error="no enrichment id in the answer")
        except LemlistNotFoundError:
            record = _record(item, "error", error="LEAD_NOT_FOUND")
        except LemlistAuthError as exc:
            if exc.status != 402:
                raise
            record = _record(item, "error", error=f"NOT_ENOUGH_CREDITS: {exc.reason}")
        except LemlistClientError as exc:
            reason = (exc.reason or "").lower()
            if exc.status == 409 or any(a in reason for a in ALREADY):
                record = _record(item, "skipped", error=exc.reason or "ALREADY_ENRICHED")
            else:
                record = _record(item, "error", error=f"{exc.status} {exc.reason}".strip())
        except LemlistError as exc:
            record = _record(
                item, "error", error=f"start not confirmed ({exc.status or type(exc).__name__}); not resent"
            )
        ledger.add([record])
        records.append(record)
    return records, counters


def _match_bulk(chunk: list[dict], answers: list[Any]) -> list[dict]:
    """One answer per input, in order; metadata ``key`` is checked when lemlist echoes it."""
    by_key = {}
    for answer in answers:
        meta = answer.get("metadata") if isinstance(answer, dict) else None
        if isinstance(meta, dict) and meta.get("key") is not None:
            by_key[str(meta["key"])] = answer
    out = []
    for index, item in enumerate(chunk):
        answer = by_key.get(item["key"]) or (answers[index] if index < len(answers) and not by_key else None)
        if not isinstance(answer, dict):
            out.append(_record(item, "error", error="no answer for this item in the bulk response"))
        elif answer.get("id"):
            out.append(_record(item, "started", str(answer["id"])))
        else:
            out.append(_record(item, "error", error=str(answer.get("error") or "UNKNOWN_ERROR")))
    return out


def collect_results(hook: Any, records: Iterable[dict], *, pending_ids: Iterable[str] = ()) -> list[dict]:
    """Result rows for every record: started ones are read once more (``GET /enrich/{id}``), except the ids
    the wait already reported pending (they stay ``pending``)."""
    from lemlist_provider.hooks.errors import LemlistNotFoundError

    pending = set(pending_ids)
    rows = []
    for record in records:
        item = {"key": record["key"], "leadId": record.get("leadId"), "input": record.get("input") or {}}
        eid = record.get("enrichmentId")
        if record["status"] != "started" or not eid:
            rows.append(result_row(item, record["status"], enrichment_id=eid, error=record.get("error", "")))
            continue
        if eid in pending:
            rows.append(result_row(item, "pending", enrichment_id=eid, error="not final at the deadline"))
            continue
        try:
            result = hook.get_enrichment(eid)
        except LemlistNotFoundError:
            rows.append(result_row(item, "failed", enrichment_id=eid, error="enrichment not found (404)"))
            continue
        error = str(result.body.get("error") or "") if result.status == "failed" else ""
        rows.append(result_row(item, result.status, enrichment_id=eid, error=error, body=result.body))
    return rows


def write_back(hook: Any, rows: list[dict], log: Any = None) -> dict[str, int]:
    """Set the found data as lead variables (``enrichmentStatus``, ``enrichedEmail``, ...) on final leads."""
    from lemlist_provider.hooks.errors import LemlistError

    counts = {"written": 0, "write_errors": 0}
    for row in rows:
        if not row.get("lead_id") or row["status"] not in ("done", "not_found"):
            continue
        variables = {"enrichmentStatus": row["status"], "enrichedEmail": row.get("found_email"),
                     "enrichedEmailStatus": row.get("email_status"), "enrichedPhone": row.get("found_phone"),
                     "enrichedLinkedinUrl": row.get("linkedin_url")}  # fmt: skip
        try:
            hook.set_lead_variables(row["lead_id"], {k: v for k, v in variables.items() if v})
            counts["written"] += 1
        except LemlistError as exc:
            counts["write_errors"] += 1
            if log is not None:
                log.warning("writing enrichment variables on lead %s failed: %s", row["lead_id"], exc)
    return counts
