"""The receiver's admin settings, read through :mod:`lemlist_provider.settings` (section ``[lemlist]``).

Config, not Variables: whoever may trigger a DAG may often edit Variables, and which connection's secret
admits events into Airflow is a deployment decision.

| key | default | meaning |
| --- | --- | --- |
| ``webhook_conn_id`` | ``lemlist_default`` | connection whose ``webhook_secret`` extra verifies events |
| ``lemlist_conn_ids`` | ``lemlist_default`` | the connections a hook may name with ``?conn_id=`` (the same allow-list the operators obey) |
| ``webhook_max_body_bytes`` | 262144 | bodies above this are answered 413 |
| ``webhook_retention_days`` | 30 | stored events older than this are deleted (also the dedupe window) |
"""

from __future__ import annotations

from dataclasses import dataclass

from lemlist_provider import settings

DEFAULT_CONN_ID = settings.OPTIONS["webhook_conn_id"].default


@dataclass(frozen=True)
class ReceiverSettings:
    conn_id: str = DEFAULT_CONN_ID
    allowed_conn_ids: frozenset[str] = frozenset({DEFAULT_CONN_ID})
    max_body_bytes: int = int(settings.OPTIONS["webhook_max_body_bytes"].default)
    retention_days: int = int(settings.OPTIONS["webhook_retention_days"].default)

    @classmethod
    def load(cls) -> ReceiverSettings:
        """Read ``[lemlist]``; a value out of range falls back to the safe default rather than failing open."""
        return cls(
            conn_id=settings.webhook_conn_id(),
            allowed_conn_ids=frozenset(settings.lemlist_conn_ids()),
            max_body_bytes=settings.webhook_max_body_bytes(),
            retention_days=settings.webhook_retention_days(),
        )
