"""The machine's PostgreSQL and Redis, for the production-shape tests and benchmarks: whether they answer
(a reason when not, so tests skip clearly), and fresh databases on them."""

from __future__ import annotations

import os
import random
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

PG_HOST = os.environ.get("LEMLIST_IT_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("LEMLIST_IT_PG_PORT", "5432"))
PG_USER = os.environ.get("LEMLIST_IT_PG_USER", "postgres")
REDIS_HOST = os.environ.get("LEMLIST_IT_REDIS_HOST", "127.0.0.1")
REDIS_PORT = int(os.environ.get("LEMLIST_IT_REDIS_PORT", "6379"))


def postgres_problem() -> str | None:
    try:
        import psycopg2
    except ImportError:
        return "psycopg2 is not installed"
    try:
        psycopg2.connect(
            host=PG_HOST, port=PG_PORT, user=PG_USER, dbname="postgres", connect_timeout=3
        ).close()
    except Exception as exc:  # noqa: BLE001 - any failure means "not here"
        return f"PostgreSQL not reachable at {PG_HOST}:{PG_PORT} as {PG_USER}: {str(exc).strip()}"
    return None


def redis_problem() -> str | None:
    try:
        with socket.create_connection((REDIS_HOST, REDIS_PORT), timeout=3) as sock:
            sock.sendall(b"PING\r\n")
            if not sock.recv(16).startswith(b"+PONG"):
                return f"Redis at {REDIS_HOST}:{REDIS_PORT} did not answer PING"
    except OSError as exc:
        return f"Redis not reachable at {REDIS_HOST}:{REDIS_PORT}: {exc}"
    return None


def require_postgres_and_redis() -> None:
    import pytest

    problems = [p for p in (postgres_problem(), redis_problem()) if p]
    if problems:
        pytest.skip("production-shape test needs PostgreSQL and Redis: " + "; ".join(problems))


@contextmanager
def fresh_postgres_database() -> Iterator[str]:
    """A new, empty database on the machine's server; dropped afterwards. Yields its SQLAlchemy URL."""
    import psycopg2

    name = f"lemlist_it_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname="postgres")
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg2://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"
    finally:
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def fresh_redis_url() -> str:
    """The URL of an emptied Redis database: ``LEMLIST_IT_REDIS_DB`` if set, else one of 8-15 at random."""
    db = int(os.environ.get("LEMLIST_IT_REDIS_DB") or random.randint(8, 15))
    with socket.create_connection((REDIS_HOST, REDIS_PORT), timeout=3) as sock:
        sock.sendall(f"SELECT {db}\r\nFLUSHDB\r\n".encode())
        sock.recv(64)
    return f"redis://{REDIS_HOST}:{REDIS_PORT}/{db}"
