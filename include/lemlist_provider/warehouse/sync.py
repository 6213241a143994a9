"""One stream for one data interval, from connection ids to a summary: what each DAG task runs."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from airflow.sdk.exceptions import AirflowNotFoundException

from lemlist_provider import allowlists

from .database import DEFAULT_CONN_ID, Warehouse, warehouse_hook
from .streams import STREAMS, Sources, Window
from .tables import TABLES

log = logging.getLogger(__name__)

#: bounds of the load window's settings: beyond them a value is a typo (and a huge one overflows a date)
MAX_LOOKBACK_DAYS = 3650
MAX_OVERLAP_MINUTES = 1440


def check_window_settings(lookback_days: float, overlap_minutes: float) -> None:
    """Refuse a lookback outside (0, 3650] days or an overlap outside [0, 1440] minutes, naming the value."""
    if not 0 < lookback_days <= MAX_LOOKBACK_DAYS:
        raise ValueError(
            f"lookback_days={lookback_days!r} must be more than 0 and at most {MAX_LOOKBACK_DAYS}"
        )
    if not 0 <= overlap_minutes <= MAX_OVERLAP_MINUTES:
        raise ValueError(f"overlap_minutes={overlap_minutes!r} must be 0 to {MAX_OVERLAP_MINUTES}")


def lemcal_hook(conn_id: str | None) -> Any | None:
    """The lemcal hook when the connection ``conn_id`` exists, else ``None`` (the stream is skipped)."""
    if not conn_id:
        return None
    from airflow.sdk import BaseHook

    from lemlist_provider.hooks.lemcal import LemcalHook

    try:
        BaseHook.get_connection(conn_id)
    except AirflowNotFoundException:
        return None
    return LemcalHook(conn_id)


def run_interval(
    start: datetime | None, end: datetime | None, run_after: datetime
) -> tuple[datetime, datetime]:
    """The run's data interval. A run triggered without a logical date (the UI's or REST's trigger in
    Airflow 3) has none: it loads the last full hour before it was triggered."""
    if start is not None and end is not None:
        return start, end
    hour = run_after.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return hour - timedelta(hours=1), hour


def sync_stream(
    stream: str,
    start: datetime,
    end: datetime,
    *,
    lemlist: Any | None = None,
    lemlist_conn_id: str = "lemlist_default",
    warehouse_conn_id: str = DEFAULT_CONN_ID,
    lemcal_conn_id: str | None = "lemcal_default",
    lookback_days: float = 365,
    overlap_minutes: float = 10,
) -> dict:
    """Load ``stream`` (a table name of ``STREAMS``) for the interval ``[start, end)``; answers the table,
    the rows written and the requests sent. ``lemlist`` is the caller's hook (the operator's, which its ops
    summary reads); without one a hook on ``lemlist_conn_id`` is built and closed here."""
    from lemlist_provider.hooks.lemlist import LemlistHook

    if stream not in STREAMS:
        raise ValueError(f"unknown stream {stream!r}; known: {', '.join(STREAMS)}")
    allowlists.sql_table("stream", stream)
    owned = lemlist is None
    if owned:
        lemlist = LemlistHook(allowlists.lemlist_connection("lemlist_conn_id", lemlist_conn_id))
    sent_before = lemlist.metrics()["requests"]
    lemcal = lemcal_hook(lemcal_conn_id) if stream == "lemcal_meetings" else None
    warehouse = Warehouse(warehouse_hook(warehouse_conn_id))
    warehouse.create_tables()
    check_window_settings(lookback_days, overlap_minutes)
    window = Window(start, end, timedelta(days=lookback_days), timedelta(minutes=overlap_minutes))
    try:
        summary = STREAMS[stream](Sources(lemlist, lemcal), warehouse, window)
    finally:
        if owned:
            lemlist.close()
        if lemcal is not None:
            lemcal.close()
    requests = lemlist.metrics()["requests"] - sent_before + (lemcal.metrics()["requests"] if lemcal else 0)
    summary = {"table": stream, "interval": window.key, **summary, "requests": int(requests)}
    log.info("lemlist warehouse: %s", summary)
    return summary


def row_counts(warehouse_conn_id: str = DEFAULT_CONN_ID) -> dict[str, int]:
    """Rows in each warehouse table (created when missing, so a first look at an empty warehouse works)."""
    warehouse = Warehouse(warehouse_hook(warehouse_conn_id))
    warehouse.create_tables()
    return {name: warehouse.count(table) for name, table in TABLES.items()}


def summary_line(counts: dict[str, int]) -> str:
    """The row counts as one line: ``lemlist_activities 3000, lemlist_campaigns 13, ...``."""
    return "warehouse rows: " + ", ".join(f"{name} {rows}" for name, rows in counts.items())
