"""The warehouse tables: typed columns for the fields analysts filter and join on, plus ``raw_json``.

Each table has a key (what a merge matches on) and columns read from a lemlist record by a function, so the
typed columns and the raw JSON always come from the same record. Types are those SQLite and PostgreSQL both
accept; timestamps stay lemlist's ISO 8601 text in SQLite and become ``timestamptz`` in PostgreSQL.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

TEXT, INTEGER, BOOLEAN, TIMESTAMP, DATE = "TEXT", "BIGINT", "BOOLEAN", "TIMESTAMP WITH TIME ZONE", "DATE"


@dataclass(frozen=True)
class Column:
    name: str
    sql_type: str
    read: Callable[[dict], Any]


@dataclass(frozen=True)
class Table:
    name: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]

    @property
    def column_names(self) -> list[str]:
        return [column.name for column in self.columns]

    def row(self, record: dict) -> tuple:
        """The table's row for one lemlist record (the raw JSON last)."""
        return tuple(column.read(record) for column in self.columns)

    def ddl(self) -> str:
        columns = ", ".join(
            f"{c.name} {c.sql_type}{' NOT NULL' if c.name in self.key else ''}" for c in self.columns
        )
        return f"CREATE TABLE IF NOT EXISTS {self.name} ({columns}, PRIMARY KEY ({', '.join(self.key)}))"


def raw_json(record: dict) -> str:
    """The record as lemlist sent it, keys sorted, so the same record always gives the same text."""
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def field(name: str, sql_type: str = TEXT) -> Callable[[dict], Any]:
    def read(record: dict) -> Any:
        value = record.get(name)
        if sql_type == BOOLEAN:
            return None if value is None else bool(value)
        if sql_type == INTEGER:
            return value if isinstance(value, int) and not isinstance(value, bool) else None
        return value if value is None or isinstance(value, str) else str(value)

    return read


def typed(name: str, source: str, sql_type: str = TEXT) -> Column:
    return Column(name, sql_type, field(source, sql_type))


RAW = Column("raw_json", TEXT, raw_json)

ACTIVITIES = Table(
    "lemlist_activities",
    ("id",),
    (
        typed("id", "_id"), typed("type", "type"), typed("created_at", "createdAt", TIMESTAMP),
        typed("campaign_id", "campaignId"), typed("lead_id", "leadId"), typed("contact_id", "contactId"),
        typed("sequence_id", "sequenceId"), typed("step_id", "stepId"), typed("is_first", "isFirst", BOOLEAN),
        RAW,
    ),
)  # fmt: skip

CAMPAIGNS = Table(
    "lemlist_campaigns",
    ("id",),
    (
        typed("id", "_id"), typed("name", "name"), typed("status", "status"),
        typed("created_at", "createdAt", TIMESTAMP), typed("created_by", "createdBy"),
        typed("sequence_id", "sequenceId"), RAW,
    ),
)  # fmt: skip

LEADS = Table(
    "lemlist_leads",
    ("id",),
    (typed("id", "_id"), typed("campaign_id", "campaignId"), typed("contact_id", "contactId"),
     typed("state", "state"), RAW),
)  # fmt: skip

#: the v2 stats counters kept as columns (every other field, e.g. the per-step list, stays in raw_json)
STATS_COUNTERS = (
    "nbLeads", "nbLeadsLaunched", "nbLeadsReached", "nbLeadsOpened", "nbLeadsInteracted", "nbLeadsAnswered",
    "nbLeadsInterested", "nbLeadsNotInterested", "nbLeadsUnsubscribed", "nbLeadsInterrupted", "messagesSent",
    "messagesNotSent", "messagesBounced", "delivered", "opened", "clicked", "replied", "invitationAccepted",
    "meetingBooked",
)  # fmt: skip


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name)


CAMPAIGN_STATS_DAILY = Table(
    "lemlist_campaign_stats_daily",
    ("campaign_id", "day"),
    (
        typed("campaign_id", "campaignId"), typed("day", "day", DATE),
        *(typed(_snake(name), name, INTEGER) for name in STATS_COUNTERS), RAW,
    ),
)  # fmt: skip


def unsubscribe_kind(record: dict) -> str:
    """``domain`` for an ``@domain`` entry, else ``email`` (``GET /unsubscribes`` lists only those two)."""
    return "domain" if str(record.get("value") or "").startswith("@") else "email"


UNSUBSCRIBES = Table(
    "lemlist_unsubscribes",
    ("value",),
    (typed("value", "value"), Column("kind", TEXT, unsubscribe_kind), typed("source", "source"),
     typed("created_at", "createdAt", TIMESTAMP), RAW),
)  # fmt: skip

LEMCAL_MEETINGS = Table(
    "lemcal_meetings",
    ("id",),
    (typed("id", "_id"), typed("meeting_type_id", "meetingTypeId"), typed("user_id", "userId"),
     typed("start_at", "start", TIMESTAMP), typed("end_at", "end", TIMESTAMP),
     typed("created_at", "createdAt", TIMESTAMP), RAW),
)  # fmt: skip

#: where a run keeps how far it got (see checkpoints.py)
CHECKPOINTS = Table(
    "lemlist_sync_checkpoints",
    ("stream", "interval_key"),
    (typed("stream", "stream"), typed("interval_key", "interval_key"), typed("min_date", "min_date"),
     typed("max_date", "max_date"), typed("next_offset", "next_offset", INTEGER)),
)  # fmt: skip

TABLES = {
    t.name: t for t in (ACTIVITIES, CAMPAIGNS, LEADS, CAMPAIGN_STATS_DAILY, UNSUBSCRIBES, LEMCAL_MEETINGS)
}
