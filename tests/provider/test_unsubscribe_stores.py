"""Local suppression stores: CSV files, and SQL tables through real Airflow connections (SQLite, PostgreSQL)."""

from __future__ import annotations

import json
import uuid

import pytest

from lemlist_provider.unsubscribes import CsvSuppressionStore, SqlSuppressionStore, normalise

PG_URI = "postgresql://postgres@127.0.0.1:5432/test"


def _entries(*values: str):
    return [normalise(v) for v in values]


def test_csv_store_reads_value_or_email_column_and_headerless_files(tmp_path):
    with_email = tmp_path / "a.csv"
    with_email.write_text("name,EMAIL\nJo,jo@x.io\n,\nAl,al@x.io\n")
    assert [r[0] for r in CsvSuppressionStore(with_email).read()] == ["jo@x.io", "al@x.io"]
    headerless = tmp_path / "b.csv"
    headerless.write_text("first@x.io\nsecond@x.io")
    store = CsvSuppressionStore(headerless)
    assert [r[0] for r in store.read()] == ["first@x.io", "second@x.io"]
    store.add(
        _entries("third@x.io"), "lemlist", "2024-01-01T00:00:00Z"
    )  # no trailing newline before: kept apart
    assert [r[0] for r in store.read()] == ["first@x.io", "second@x.io", "third@x.io"]


def test_csv_store_creates_appends_and_removes_exact_rows(tmp_path):
    store = CsvSuppressionStore(tmp_path / "sub" / "list.csv")
    assert list(store.read()) == []
    store.add(_entries("a@x.io", "@d.io"), "lemlist:lead", "2024-01-01T00:00:00Z")
    (tmp_path / "sub" / "list.csv").open("a").write("Mixed@Case.io,crm,\n")
    rows = list(store.read())
    assert rows[0] == ("a@x.io", "lemlist:lead", "2024-01-01T00:00:00Z") and len(rows) == 3
    assert store.remove([normalise("Mixed@Case.io"), normalise("a@x.io")]) == 2
    assert [r[0] for r in store.read()] == ["@d.io"]
    assert not list((tmp_path / "sub").glob(".*tmp"))


def test_sql_store_on_sqlite_creates_the_table(tmp_path, monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_SUPPRESSION_DB", json.dumps({"conn_type": "sqlite", "host": str(tmp_path / "s.db")})
    )
    store = SqlSuppressionStore("suppression_db", "supp_list")
    assert list(store.read()) == []
    store.add(_entries("a@x.io", "@d.io", "b@x.io"), "lemlist", "2024-01-01T00:00:00Z")
    assert sorted(r[0] for r in store.read()) == ["@d.io", "a@x.io", "b@x.io"]
    store.remove(_entries("a@x.io"))
    assert sorted(r[0] for r in SqlSuppressionStore("suppression_db", "supp_list").read()) == [
        "@d.io",
        "b@x.io",
    ]


@pytest.mark.parametrize("table", ["x; DROP TABLE y", "1abc", "a.b.c", ""])
def test_sql_store_refuses_unsafe_table_names(table):
    with pytest.raises(ValueError):
        SqlSuppressionStore("suppression_db", table)


def _postgres_reachable() -> str | None:
    try:
        import psycopg2
    except ImportError:
        return "psycopg2 is not installed"
    try:
        psycopg2.connect(PG_URI, connect_timeout=2).close()
    except Exception as exc:  # noqa: BLE001
        return f"PostgreSQL at 127.0.0.1:5432/test is unreachable: {str(exc).strip()[:120]}"
    return None


def test_sql_store_on_postgres(monkeypatch):
    reason = _postgres_reachable()
    if reason:
        pytest.skip(reason)
    monkeypatch.setenv("AIRFLOW_CONN_SUPPRESSION_PG", PG_URI)
    table = f"lemlist_supp_{uuid.uuid4().hex[:8]}"
    store = SqlSuppressionStore("suppression_pg", table)
    try:
        assert list(store.read()) == []
        store.add(_entries(*(f"p{i}@x.io" for i in range(1200)), "@d.io"), "lemlist", "2024-01-01T00:00:00Z")
        store.remove(_entries("p0@x.io", "@d.io"))
        rows = {r[0] for r in store.read()}
        assert len(rows) == 1199 and "p0@x.io" not in rows and "p1199@x.io" in rows
    finally:
        store.hook.run(f"DROP TABLE IF EXISTS {table}", autocommit=True)
