"""The ops table on PostgreSQL, the metadata database of a Celery deployment whose workers run on several hosts:
created on first use, written by two API server processes at once, read, pruned."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine, insert
from sqlalchemy.orm import sessionmaker

from lemlist_dev.services import fresh_postgres_database, postgres_problem
from lemlist_provider.ops.store import OpsStore, calls_table, row_of


class _XCom:
    """The columns of an XCom row that ``row_of`` reads."""

    def __init__(self, task_id: str, map_index: int, when: datetime) -> None:
        self.dag_id, self.run_id, self.task_id, self.map_index, self.timestamp = (
            "d",
            "r",
            task_id,
            map_index,
            when,
        )


def test_ops_table_on_postgres():
    problem = postgres_problem()
    if problem:
        pytest.skip(f"the PostgreSQL variant needs a server: {problem}")
    with fresh_postgres_database() as url:
        engine = create_engine(url)
        try:
            stores = [OpsStore(engine, sessionmaker(engine), retention_days=30) for _ in range(2)]
            for store in stores:  # two processes create the table: both end well
                store.ensure_table()
            now = datetime.now(UTC)
            record = {"try_number": 1, "conn_id": "lemlist_default", "state": "success",
                      "started_at": now.timestamp() - 5, "ended_at": now.timestamp(), "requests": 7,
                      "wait_intervals": [[now.timestamp() - 4, now.timestamp() - 3]], "report": "/out/r.csv"}  # fmt: skip
            with stores[0].session_factory() as session:
                session.execute(
                    insert(calls_table), [row_of(_XCom(f"t{i}", -1, now), record) for i in range(3)]
                )
                session.commit()
            records = stores[1].records(now - timedelta(hours=1))
            assert [r["requests"] for r in records] == [7, 7, 7]
            assert records[0]["wait_intervals"] == record["wait_intervals"]
            assert stores[1].report_of("d", "r") == "/out/r.csv"
            assert stores[0].prune(now + timedelta(days=31)) == 3
            assert stores[1].records(now - timedelta(days=60)) == []
        finally:
            engine.dispose()
