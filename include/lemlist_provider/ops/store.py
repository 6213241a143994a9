"""The ops table in Airflow's metadata database: one row per lemlist task try, copied from its XCom.

``lemlist_ops_call_stats`` holds the summary each try pushed (``summary.task_record``): which key, what it cost
(requests, 429s, retries, failures, seconds waited and when), what it did (campaign, rows, outcome counts,
report, credits left). Tasks cannot write here themselves (Airflow 3 keeps workers off the metadata DB), so
the API server copies the ``lemlist_ops`` XComs in (``ingest``, on each view of the page) and keeps them for
``[lemlist] ops_retention_days``, past the XComs' own life. It lives beside Airflow's tables like the webhook
events (``lemlist_provider.metadb``), so it survives restarts and sees tasks from every worker host.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Column,
    Float,
    Integer,
    String,
    Text,
    func,
    insert,
    select,
    tuple_,
)
from sqlalchemy.exc import IntegrityError

from lemlist_provider.figures import OPS_FIGURES
from lemlist_provider.metadb import Tables, ledger_table, prune_before, utc_datetime

from .summary import OPS_XCOM_KEY

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

log = logging.getLogger(__name__)

TABLE_NAME = "lemlist_ops_call_stats"
#: XComs written this long before the newest copied one are looked at again (clocks, slow commits)
INGEST_OVERLAP = timedelta(minutes=5)
INGEST_BATCH = 2000

_KEY = ("dag_id", "run_id", "task_id", "map_index", "try_number")
metadata, calls_table = ledger_table(
    TABLE_NAME,
    Column("dag_id", String(250), nullable=False),
    Column("run_id", String(250), nullable=False),
    Column("task_id", String(250), nullable=False),
    Column("map_index", Integer, nullable=False),
    Column("try_number", Integer, nullable=False),
    Column("conn_id", String(250), nullable=False),
    Column("state", String(20), nullable=False),
    Column("started_at", utc_datetime(), nullable=False),
    Column("ended_at", utc_datetime(), nullable=False),
    Column("recorded_at", utc_datetime(), nullable=False),  # the XCom's timestamp
    *(Column(name, Integer, nullable=False, default=0) for name in OPS_FIGURES),
    Column("waited_seconds", Float, nullable=False, default=0.0),
    Column("wait_intervals", Text, nullable=False, default="[]"),
    Column("campaign_id", String(100), nullable=True),
    Column("rows", Integer, nullable=True),
    Column("outcomes", Text, nullable=False, default="{}"),
    Column("report", Text, nullable=True),
    Column("credits", Integer, nullable=True),
    unique=("try", _KEY),
    aged_by="ended_at",
)


def _when(epoch: Any) -> datetime:
    return datetime.fromtimestamp(float(epoch or 0), UTC)


def row_of(xcom: Any, record: dict[str, Any]) -> dict[str, Any]:
    """The table row of one ``lemlist_ops`` XCom (``xcom``: its row, for the dag, run, task and time)."""
    return {
        "dag_id": xcom.dag_id, "run_id": xcom.run_id, "task_id": xcom.task_id, "map_index": xcom.map_index,
        "try_number": int(record.get("try_number") or 0), "conn_id": str(record.get("conn_id") or "")[:250],
        "state": str(record.get("state") or "")[:20], "started_at": _when(record.get("started_at")),
        "ended_at": _when(record.get("ended_at")), "recorded_at": xcom.timestamp,
        **{name: int(record.get(name) or 0) for name in OPS_FIGURES},
        "waited_seconds": float(record.get("waited_seconds") or 0.0),
        "wait_intervals": json.dumps(record.get("wait_intervals") or []),
        "campaign_id": (str(record["campaign_id"])[:100] if record.get("campaign_id") else None),
        "rows": record.get("rows"), "outcomes": json.dumps(record.get("outcomes") or {}),
        "report": record.get("report"), "credits": record.get("credits"),
    }  # fmt: skip


def as_record(row: Any) -> dict[str, Any]:
    """A table row back in the summary shape (``summary.task_record``) plus its dag, run and task."""
    record = dict(row._mapping)
    record["wait_intervals"] = json.loads(record["wait_intervals"] or "[]")
    record["outcomes"] = json.loads(record["outcomes"] or "{}")
    return record


class OpsStore:
    """The ops table over one engine: copy in, read, prune."""

    def __init__(self, engine: Engine, session_factory: Any, *, retention_days: int) -> None:
        self.engine = engine
        self.session_factory = session_factory
        self.retention = timedelta(days=retention_days)
        self._tables = Tables(metadata)

    def ensure_table(self) -> None:
        """Create the table once per process (another process may race: both end well)."""
        self._tables.ensure(self.engine)

    def ingest(self) -> int:
        """Copy the ``lemlist_ops`` XComs not copied yet; returns how many rows were added."""
        from airflow.models.xcom import XComModel

        self.ensure_table()
        added = 0
        with self.session_factory() as session:
            newest = session.scalar(select(func.max(calls_table.c.recorded_at)))
            query = select(XComModel).where(XComModel.key == OPS_XCOM_KEY).order_by(XComModel.timestamp)
            if newest is not None:
                query = query.where(XComModel.timestamp >= newest - INGEST_OVERLAP)
            rows = []
            for xcom in session.scalars(query.limit(INGEST_BATCH)):
                record = XComModel.deserialize_value(xcom)
                if isinstance(record, dict):
                    rows.append(row_of(xcom, record))
            if not rows:
                return 0
            keys = [tuple(row[k] for k in _KEY) for row in rows]
            seen = set(
                session.execute(
                    select(*(calls_table.c[k] for k in _KEY)).where(
                        tuple_(*(calls_table.c[k] for k in _KEY)).in_(keys)
                    )
                ).all()
            )
            fresh = [row for row, key in zip(rows, keys, strict=True) if key not in seen]
            if fresh:
                try:
                    session.execute(insert(calls_table), fresh)
                    session.commit()
                    added = len(fresh)
                except IntegrityError:  # another API server process copied them meanwhile
                    session.rollback()
        return added

    def prune(self, now: datetime | None = None) -> int:
        """Delete rows of task tries that ended before the retention; returns how many."""
        self.ensure_table()
        cutoff = (now or datetime.now(UTC)) - self.retention
        return prune_before(self.session_factory, calls_table, calls_table.c.ended_at, cutoff)

    def records(self, since: datetime) -> list[dict[str, Any]]:
        """Every task try that ended after ``since``, oldest first."""
        self.ensure_table()
        with self.session_factory() as session:
            rows = session.execute(
                select(calls_table).where(calls_table.c.ended_at >= since).order_by(calls_table.c.ended_at)
            ).all()
        return [as_record(row) for row in rows]

    def report_of(self, dag_id: str, run_id: str) -> str | None:
        """The report file a run's tasks named last (``None`` when none did)."""
        self.ensure_table()
        with self.session_factory() as session:
            return session.scalar(
                select(calls_table.c.report)
                .where(calls_table.c.dag_id == dag_id, calls_table.c.run_id == run_id,
                       calls_table.c.report.is_not(None))
                .order_by(calls_table.c.ended_at.desc())
                .limit(1)
            )  # fmt: skip
