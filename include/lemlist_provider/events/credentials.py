"""The webhook secret of a lemlist connection (extra ``webhook_secret``), looked up for the receiver.

Lookups are cached for a few seconds per connection: at hundreds of events per second a metastore or
secrets-backend read per event would cost more than storing the event, and a rotated secret still applies
within ``CACHE_SECONDS``. Every secret read is registered with Airflow's masker, so it is replaced by ``***``
in any log line of the API server that might carry it.
"""

from __future__ import annotations

import threading
import time

EXTRA_KEY = "webhook_secret"
MIN_SECRET_LENGTH = 16
CACHE_SECONDS = 10.0


class SecretUnavailable(RuntimeError):
    """The connection is missing, or has no usable webhook secret: the receiver cannot verify anything."""


class SecretCache:
    def __init__(self, ttl: float = CACHE_SECONDS) -> None:
        self.ttl = ttl
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[float, str]] = {}

    def cached(self, conn_id: str) -> str | None:
        """The secret if read less than ``ttl`` ago (no I/O: safe on the event loop), else None."""
        with self._lock:
            entry = self._entries.get(conn_id)
        if entry and time.monotonic() - entry[0] < self.ttl:
            return entry[1]
        return None

    def get(self, conn_id: str) -> str:
        """The secret, read from the connection when the cached one is stale (blocking I/O)."""
        secret = self.cached(conn_id)
        if secret is None:
            secret = read_webhook_secret(conn_id)
            with self._lock:
                self._entries[conn_id] = (time.monotonic(), secret)
        return secret

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def read_webhook_secret(conn_id: str) -> str:
    """The connection's ``webhook_secret`` as the API server reads it (``SecretUnavailable`` when unusable)."""
    from airflow.exceptions import AirflowNotFoundException
    from airflow.models.connection import Connection

    try:
        conn = Connection.get_connection_from_secrets(conn_id)
    except AirflowNotFoundException as exc:
        raise SecretUnavailable(f"connection {conn_id!r} is not defined") from exc
    return usable_secret(conn_id, conn.extra_dejson)


def task_webhook_secret(conn_id: str) -> str:
    """The connection's ``webhook_secret`` as a task reads it (through the Task SDK), for registering hooks
    and signing enrichment callbacks; ``SecretUnavailable`` when unusable."""
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        conn = BaseHook.get_connection(conn_id)
    except AirflowNotFoundException as exc:
        raise SecretUnavailable(f"connection {conn_id!r} is not defined") from exc
    return usable_secret(conn_id, conn.extra_dejson)


def usable_secret(conn_id: str, extra: dict | None) -> str:
    """The ``webhook_secret`` of a connection's extra, masked in every log from now on; ``SecretUnavailable``
    when absent or shorter than 16 characters.

    A short secret is refused rather than used: it is the only thing standing between the public route and
    Airflow's scheduler.
    """
    from airflow.sdk.log import mask_secret

    secret = (extra or {}).get(EXTRA_KEY)
    if not isinstance(secret, str) or not secret:
        raise SecretUnavailable(f"connection {conn_id!r} has no {EXTRA_KEY!r} extra")
    mask_secret(secret)
    if len(secret) < MIN_SECRET_LENGTH:
        raise SecretUnavailable(
            f"the {EXTRA_KEY!r} of connection {conn_id!r} is shorter than {MIN_SECRET_LENGTH}"
        )
    return secret
