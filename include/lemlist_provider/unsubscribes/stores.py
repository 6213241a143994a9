"""The local side of the suppression sync: a CSV file or a table behind any Airflow SQL connection.

Both stores read rows as ``(raw value, source, created_at)``, append new entries and remove exact rows, so the
sync logic never knows which one it talks to. Writes are appends or one atomic rewrite (CSV) / one
transaction (SQL): a failed run leaves the local list as it was or with a subset of the adds, never corrupt.
"""

from __future__ import annotations

import csv
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Protocol

from lemlist_provider.allowlists import SQL_NAME as TABLE_RE

from .normalise import Entry

COLUMNS = ("value", "source", "created_at")
VALUE_HEADERS = ("value", "email", "unsubscribe", "suppression")
Row = tuple[str, str, str]


class SuppressionStore(Protocol):
    """What the sync needs from a local suppression list."""

    def describe(self) -> str: ...
    def exists(self) -> bool: ...
    def read(self) -> Iterator[Row]: ...
    def add(self, entries: list[Entry], source: str, created_at: str) -> int: ...
    def remove(self, entries: list[Entry]) -> int: ...


class CsvSuppressionStore:
    """A CSV file with a header; the value column is ``value`` (or ``email``), else the first column.

    A missing file reads as an empty list (``exists()`` tells the two apart) and is created with the header
    ``value,source,created_at`` on the first add. Adds append; removals rewrite the file through a temporary file and an atomic rename.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def describe(self) -> str:
        return f"csv:{self.path}"

    def exists(self) -> bool:
        return self.path.is_file()

    def _layout(self, header: list[str]) -> tuple[int, int | None, int | None, bool]:
        lowered = [h.strip().lower() for h in header]
        for name in VALUE_HEADERS:
            if name in lowered:
                src = lowered.index("source") if "source" in lowered else None
                created = next((lowered.index(n) for n in ("created_at", "createdat") if n in lowered), None)
                return lowered.index(name), src, created, True
        return 0, None, None, False  # no header: the first row is data

    def read(self) -> Iterator[Row]:
        if not self.path.exists():
            return
        with self.path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            if header is None:
                return
            value_i, source_i, created_i, has_header = self._layout(header)
            rows: Iterable[list[str]] = reader if has_header else _chain([header], reader)
            for row in rows:
                if not row or not any(cell.strip() for cell in row):
                    continue
                yield (
                    row[value_i] if value_i < len(row) else "",
                    row[source_i] if source_i is not None and source_i < len(row) else "",
                    row[created_i] if created_i is not None and created_i < len(row) else "",
                )

    def add(self, entries: list[Entry], source: str, created_at: str) -> int:
        if not entries:
            return 0
        self.path.parent.mkdir(parents=True, exist_ok=True)
        new = not self.path.exists() or self.path.stat().st_size == 0
        needs_newline = not new and not _ends_with_newline(self.path)
        with self.path.open("a", newline="", encoding="utf-8") as handle:
            if needs_newline:
                handle.write("\n")
            writer = csv.writer(handle, lineterminator="\n")
            if new:
                writer.writerow(COLUMNS)
            for entry in entries:
                writer.writerow((entry.value, entry.source or source, created_at))
        return len(entries)

    def remove(self, entries: list[Entry]) -> int:
        if not entries or not self.path.exists():
            return 0
        doomed = {e.raw or e.value for e in entries}
        removed = 0
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.", suffix=".tmp")
        try:
            with (
                self.path.open(newline="", encoding="utf-8-sig") as src,
                os.fdopen(fd, "w", newline="", encoding="utf-8") as dst,
            ):
                reader, writer = csv.reader(src), csv.writer(dst, lineterminator="\n")
                header = next(reader, None)
                value_i, _, _, has_header = self._layout(header or [])
                if header is not None:
                    if has_header or header[value_i] not in doomed:
                        writer.writerow(header)
                    else:
                        removed += 1
                for row in reader:
                    if row and value_i < len(row) and row[value_i] in doomed:
                        removed += 1
                        continue
                    writer.writerow(row)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return removed


class SqlSuppressionStore:
    """A table ``(value, source, created_at)`` reached through any Airflow SQL connection (``DbApiHook``).

    A missing table reads as empty (``exists()`` tells the two apart, without creating anything) and is
    created by the first add (``value`` is the primary key; ``created_at`` is ISO-8601 UTC text so
    the same DDL works on SQLite, PostgreSQL and MySQL). The table name is checked against a strict pattern
    because it is the one part of the SQL that cannot be a bound parameter.
    """

    def __init__(self, conn_id: str, table: str, hook: Any = None) -> None:
        if not TABLE_RE.match(table or ""):
            raise ValueError(
                f"invalid table name {table!r}: use letters, digits and _ (optionally schema.table)"
            )
        self.conn_id = conn_id
        self.table = table
        self._hook = hook
        self._ensured = False

    @property
    def hook(self) -> Any:
        if self._hook is None:
            from airflow.providers.common.sql.hooks.sql import DbApiHook
            from airflow.sdk import BaseHook

            hook = BaseHook.get_hook(self.conn_id)
            if not isinstance(hook, DbApiHook):
                raise TypeError(
                    f"connection {self.conn_id!r} is not a SQL connection (got {type(hook).__name__})"
                )
            self._hook = hook
        return self._hook

    def describe(self) -> str:
        return f"sql:{self.conn_id}/{self.table}"

    def exists(self) -> bool:
        """Whether the table is there, asked of the database's catalogue (SQLAlchemy's inspector)."""
        if self._ensured:
            return True
        schema, _, name = self.table.rpartition(".")
        return bool(self.hook.inspector.has_table(name, schema=schema or None))

    def ensure_table(self) -> None:
        if self._ensured:
            return
        self.hook.run(
            f"CREATE TABLE IF NOT EXISTS {self.table} ("
            "value VARCHAR(512) NOT NULL PRIMARY KEY, source VARCHAR(64), created_at VARCHAR(40))",
            autocommit=True,
        )
        self._ensured = True

    def read(self) -> Iterator[Row]:
        if not self.exists():
            return
        conn = self.hook.get_conn()
        try:
            cursor = conn.cursor()
            cursor.execute(f"SELECT value, source, created_at FROM {self.table}")
            while batch := cursor.fetchmany(5000):
                for value, source, created in batch:
                    yield (value or "", source or "", str(created or ""))
            cursor.close()
        finally:
            conn.close()

    def add(self, entries: list[Entry], source: str, created_at: str) -> int:
        if not entries:
            return 0
        self.ensure_table()
        rows = [(e.value, e.source or source, created_at) for e in entries]
        self.hook.insert_rows(
            self.table, rows, target_fields=list(COLUMNS), commit_every=5000, executemany=True
        )
        return len(rows)

    def remove(self, entries: list[Entry]) -> int:
        if not entries:
            return 0
        values = [e.raw or e.value for e in entries]
        mark = self.hook.placeholder
        for start in range(0, len(values), 500):
            chunk = values[start : start + 500]
            self.hook.run(
                f"DELETE FROM {self.table} WHERE value IN ({', '.join([mark] * len(chunk))})",
                parameters=chunk,
                autocommit=True,
            )
        return len(values)


def _chain(first: Iterable[list[str]], rest: Iterable[list[str]]) -> Iterator[list[str]]:
    yield from first
    yield from rest


def _ends_with_newline(path: Path) -> bool:
    with path.open("rb") as handle:
        handle.seek(-1, os.SEEK_END)
        return handle.read(1) in (b"\n", b"\r")


def open_store(
    kind: str, *, csv_path: str | Path | None = None, conn_id: str | None = None, table: str | None = None
) -> SuppressionStore:
    """``kind`` ``csv`` (``csv_path``) or ``sql`` (``conn_id`` + ``table``)."""
    if kind == "csv":
        if not csv_path:
            raise ValueError("the csv store needs a path")
        return CsvSuppressionStore(csv_path)
    if kind == "sql":
        if not conn_id or not table:
            raise ValueError("the sql store needs a connection id and a table name")
        return SqlSuppressionStore(conn_id, table)
    raise ValueError(f"unknown local store {kind!r}: use 'csv' or 'sql'")
