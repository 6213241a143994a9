"""From reply and interest events to one row per lead for sales: what the hand-off table holds.

A row is the lead's state, not a log of events, so a second delivery of the same event (a retry the
receiver let through, a cleared DAG run, the same reply reported by two hooks) changes nothing: merging an
event is idempotent and does not depend on the order events arrive in. ``replied_at`` / ``interested_at``
keep the earliest time each happened, ``status`` is ``interested`` once the lead was, else ``replied``, and
``last_event_*`` follow the latest event by its own time (ties by dedupe key). A lead is its lemlist lead id,
else its campaign and email.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

COLUMNS = (
    "lead_key", "lead_id", "email", "first_name", "last_name", "company_name", "campaign_id", "campaign_name",
    "team_id", "status", "replied_at", "interested_at", "last_event_type", "last_event_at", "last_event_key",
)  # fmt: skip
PAYLOAD_FIELDS = {"lead_id": "leadId", "email": "email", "first_name": "firstName", "last_name": "lastName",
                  "company_name": "companyName", "campaign_id": "campaignId", "campaign_name": "campaignName",
                  "team_id": "teamId"}  # fmt: skip
STATUS_COLUMNS = {"replied": "replied_at", "interested": "interested_at"}
ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,100}$")
MAX_TEXT = 300


def lead_key(payload: Mapping[str, Any]) -> str | None:
    """The lead's lemlist id, else ``<campaignId>:<email>``; None when the event names no lead."""
    lead_id = payload.get("leadId")
    if isinstance(lead_id, str) and ID_PATTERN.match(lead_id):
        return lead_id
    email = payload.get("email")
    if isinstance(email, str) and "@" in email:
        return f"{payload.get('campaignId') or ''}:{email.strip().lower()}"[:MAX_TEXT]
    return None


def _text(value: Any) -> str | None:
    return value.strip()[:MAX_TEXT] if isinstance(value, str) and value.strip() else None


def event_row(extra: Mapping[str, Any]) -> dict[str, Any] | None:
    """The row one event gives (None when it names no lead or is neither a reply nor an interest)."""
    payload, family = extra.get("payload"), extra.get("family")
    if not isinstance(payload, Mapping) or family not in STATUS_COLUMNS or (key := lead_key(payload)) is None:
        return None
    row: dict[str, Any] = {column: None for column in COLUMNS}
    row.update({column: _text(payload.get(field)) for column, field in PAYLOAD_FIELDS.items()})
    if row["email"]:
        row["email"] = row["email"].lower()
    at = _text(payload.get("createdAt")) or ""
    row.update(lead_key=key, status=family, last_event_type=_text(extra.get("type")), last_event_at=at,
               last_event_key=_text(extra.get("dedupe_key")) or "")  # fmt: skip
    row[STATUS_COLUMNS[family]] = at
    return row


def merge(current: Mapping[str, Any] | None, update: Mapping[str, Any]) -> dict[str, Any]:
    """``current`` (a stored row, or None) with one event's row merged in: the same result in any order."""
    if current is None:
        return dict(update)
    merged = dict(current)
    for column in PAYLOAD_FIELDS:
        merged[column] = merged.get(column) or update.get(column)
    for column in STATUS_COLUMNS.values():
        merged[column] = min(filter(None, (current.get(column), update.get(column))), default=None)
    merged["status"] = "interested" if merged.get("interested_at") else "replied"
    newer = (update.get("last_event_at") or "", update.get("last_event_key") or "") > (
        current.get("last_event_at") or "",
        current.get("last_event_key") or "",
    )
    if newer:
        merged.update({k: update.get(k) for k in ("last_event_type", "last_event_at", "last_event_key")})
    return merged


def handoff_rows(
    events: Iterable[Mapping[str, Any]], stored: Mapping[str, Mapping[str, Any]]
) -> tuple[dict[str, dict[str, Any]], list[dict[str, str]]]:
    """``events`` merged into the ``stored`` rows (by lead key): the rows that change, and the events that
    gave no row with the reason."""
    rows: dict[str, dict[str, Any]] = {}
    skipped: list[dict[str, str]] = []
    for extra in events:
        row = event_row(extra)
        if row is None:
            skipped.append({"dedupe_key": str(extra.get("dedupe_key", "")), "type": str(extra.get("type", "")),
                            "reason": "no lead in the event, or not a reply or an interest"})  # fmt: skip
            continue
        key = row["lead_key"]
        rows[key] = merge(rows.get(key, stored.get(key)), row)
    changed = {key: row for key, row in rows.items() if dict(stored.get(key) or {}) != row}
    return changed, skipped


def is_news(before: Mapping[str, Any] | None, after: Mapping[str, Any]) -> bool:
    """Worth telling sales: a new lead, or one that became interested."""
    return before is None or (before.get("status") != after.get("status"))
