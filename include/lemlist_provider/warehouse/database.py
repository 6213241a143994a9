"""The warehouse connection and how rows get into it: one code path for SQLite and PostgreSQL.

Writes go through the common-sql ``DbApiHook`` of the connection: ``INSERT ... ON CONFLICT (key) DO UPDATE``
(SQLite >= 3.24 and PostgreSQL both have it) merges on a table's key, and a scope is replaced (``DELETE``
then ``INSERT``) in one transaction, so a reader never sees it half written. Each write commits together
with the checkpoint that says how far the run got (``checkpoints.py``), so a killed run never has rows
without their checkpoint or the reverse.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from contextlib import closing, contextmanager
from typing import Any

from airflow.sdk.exceptions import AirflowFailException, AirflowNotFoundException

from lemlist_provider import allowlists, paths

from .tables import CHECKPOINTS, TABLES, Table

log = logging.getLogger(__name__)

DEFAULT_CONN_ID = "lemlist_warehouse"
DEFAULT_SQLITE = "lemlist_warehouse.sqlite"


def warehouse_hook(conn_id: str = DEFAULT_CONN_ID) -> Any:
    """The ``DbApiHook`` of ``conn_id`` (an allowed SQL connection). When ``lemlist_warehouse`` is not
    defined, a SQLite file ``lemlist_warehouse.sqlite`` in the first output root (created when missing)."""
    from airflow.providers.common.sql.hooks.sql import DbApiHook
    from airflow.sdk import BaseHook

    conn_id = allowlists.sql_connection("warehouse_conn_id", conn_id)
    try:
        hook = BaseHook.get_hook(conn_id)
    except AirflowNotFoundException:
        if conn_id != DEFAULT_CONN_ID:
            raise
        from lemlist_provider.operators.events import OutputSqliteHook

        path = paths.output_location("warehouse", paths.default_output(DEFAULT_SQLITE))
        log.info("lemlist warehouse: connection %s not defined; using the SQLite file %s", conn_id, path)
        return OutputSqliteHook(path, conn_id=conn_id)
    if not isinstance(hook, DbApiHook):
        raise AirflowFailException(f"connection {conn_id!r} is not a SQL connection")
    return hook


class Warehouse:
    """The warehouse tables on one ``DbApiHook``."""

    def __init__(self, hook: Any) -> None:
        self.hook = hook
        self.mark = hook.placeholder

    def create_tables(self, tables: Iterable[Table] = (*TABLES.values(), CHECKPOINTS)) -> None:
        """Create the tables (each an allowed table name) that do not exist yet."""
        for table in tables:
            allowlists.sql_table("table", table.name)
        self.hook.run([table.ddl() for table in tables], autocommit=True)

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        """A cursor whose writes commit together when the block ends, or roll back when it raises."""
        with closing(self.hook.get_conn()) as conn:
            cursor = conn.cursor()
            try:
                yield cursor
                conn.commit()
            except BaseException:
                conn.rollback()
                raise
            finally:
                cursor.close()

    def upsert(self, cursor: Any, table: Table, rows: Sequence[tuple]) -> None:
        """Merge ``rows`` on the table's key: new keys inserted, known keys updated in place."""
        if not rows:
            return
        names = table.column_names
        updates = ", ".join(f"{n} = excluded.{n}" for n in names if n not in table.key)
        cursor.executemany(
            f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({', '.join([self.mark] * len(names))}) "
            f"ON CONFLICT ({', '.join(table.key)}) DO UPDATE SET {updates}",
            list(rows),
        )

    def delete(self, cursor: Any, table: Table, where: dict[str, Any]) -> None:
        """Delete the rows whose columns equal ``where`` (all rows when it is empty)."""
        clause = " AND ".join(f"{name} = {self.mark}" for name in where)
        cursor.execute(
            f"DELETE FROM {table.name}" + (f" WHERE {clause}" if clause else ""), list(where.values())
        )

    def replace(self, table: Table, where: dict[str, Any], rows: Sequence[tuple]) -> None:
        """Replace the scope ``where`` of ``table`` with ``rows``, in one transaction."""
        with self.transaction() as cursor:
            self.delete(cursor, table, where)
            self.upsert(cursor, table, rows)

    def count(self, table: Table) -> int:
        return int(self.hook.get_first(f"SELECT COUNT(*) FROM {table.name}")[0])
