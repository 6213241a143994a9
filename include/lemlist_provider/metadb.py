"""The provider's own tables in Airflow's metadata database: what the webhook store and the ops store share.

Both keep rows next to Airflow's tables (same database, same engine, so every component that reaches Airflow
reaches them: the API server of a Celery deployment on one host, its workers' results on others) but in their
own SQLAlchemy ``MetaData``, so Airflow's migrations neither know nor touch them. Tables are created on first
use, and rows past a retention are deleted in bounded batches. Only processes that may open metadata-DB
sessions use this (the API server, the scheduler): task code reaches the database through XCom.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import Column, Index, Integer, MetaData, Table, delete, inspect, select
from sqlalchemy.exc import SQLAlchemyError

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy.engine import Engine

PRUNE_BATCH = 5000


def utc_datetime() -> Any:
    """Airflow's timezone-aware column type (imported late: plugins are loaded by every Airflow process)."""
    from airflow.utils.sqlalchemy import UtcDateTime

    return UtcDateTime()


def airflow_engine() -> tuple[Engine, Any]:
    """Airflow's metadata engine and its plain session factory (``airflow.settings``)."""
    from airflow import settings as airflow_settings

    return airflow_settings.engine, airflow_settings.NonScopedSession


def ledger_table(
    name: str, *columns: Column, unique: tuple[str, Sequence[str]], aged_by: str
) -> tuple[MetaData, Table]:
    """A table of the provider's in its own ``MetaData``, the shape ``prune_before`` works on: an ``id``
    primary key, ``columns``, the unique index ``idx_<name>_<unique[0]>`` on the ``unique[1]`` columns (what
    makes a second copy of a row lose) and an index on the time column ``aged_by`` that retention deletes by."""
    label, key = unique
    metadata = MetaData()
    table = Table(
        name,
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        *columns,
        Index(f"idx_{name}_{label}", *key, unique=True),
        Index(f"idx_{name}_{aged_by}", aged_by),
    )
    return metadata, table


class Tables:
    """Creates the tables of ``metadata`` once per process; another process may race, and both end well."""

    def __init__(self, metadata: MetaData) -> None:
        self.metadata = metadata
        self.ready = False
        self._lock = threading.Lock()

    def ensure(self, engine: Engine) -> None:
        if self.ready:
            return
        with self._lock:
            if self.ready:
                return
            try:
                self.metadata.create_all(engine, checkfirst=True)
            except SQLAlchemyError:
                # another process created one between the check and the CREATE: fine if all are there now
                names = set(inspect(engine).get_table_names())
                if not set(self.metadata.tables) <= names:
                    raise
            self.ready = True


def prune_before(session_factory: Any, table: Table, column: Column, cutoff: datetime) -> int:
    """Delete the rows of ``table`` whose ``column`` is before ``cutoff``, ``PRUNE_BATCH`` per transaction
    (a long delete would hold the database's write lock); returns how many were deleted."""
    total = 0
    while True:
        with session_factory() as session:
            ids = select(table.c.id).where(column < cutoff).limit(PRUNE_BATCH)
            result = session.execute(delete(table).where(table.c.id.in_(ids.scalar_subquery())))
            session.commit()
        total += result.rowcount or 0
        if (result.rowcount or 0) < PRUNE_BATCH:
            return total
