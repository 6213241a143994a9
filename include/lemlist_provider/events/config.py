"""The receiver's admin settings, from the Airflow config section ``[lemlist]`` (env ``AIRFLOW__LEMLIST__*``).

Config, not Variables: whoever may trigger a DAG may often edit Variables, and which connection's secret
admits events into Airflow is a deployment decision.

| key | default | meaning |
| --- | --- | --- |
| ``webhook_conn_id`` | ``lemlist_default`` | connection whose ``webhook_secret`` extra verifies events |
| ``webhook_allowed_conn_ids`` | (empty) | more connections a hook may name with ``?conn_id=`` (comma list) |
| ``webhook_max_body_bytes`` | 262144 | bodies above this are answered 413 |
| ``webhook_retention_days`` | 30 | stored events older than this are deleted (also the dedupe window) |
"""

from __future__ import annotations

from dataclasses import dataclass

SECTION = "lemlist"
DEFAULT_CONN_ID = "lemlist_default"
DEFAULT_MAX_BODY_BYTES = 256 * 1024
DEFAULT_RETENTION_DAYS = 30


@dataclass(frozen=True)
class ReceiverSettings:
    conn_id: str = DEFAULT_CONN_ID
    allowed_conn_ids: frozenset[str] = frozenset({DEFAULT_CONN_ID})
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    retention_days: int = DEFAULT_RETENTION_DAYS

    @classmethod
    def load(cls) -> ReceiverSettings:
        """Read ``[lemlist]``; a value out of range falls back to the safe default rather than failing open."""
        from airflow.configuration import conf

        conn_id = conf.get(SECTION, "webhook_conn_id", fallback=DEFAULT_CONN_ID).strip() or DEFAULT_CONN_ID
        extra = conf.get(SECTION, "webhook_allowed_conn_ids", fallback="")
        allowed = frozenset({conn_id, *(c.strip() for c in extra.split(",") if c.strip())})
        max_body = _positive_int(
            conf.get(SECTION, "webhook_max_body_bytes", fallback=""), DEFAULT_MAX_BODY_BYTES
        )
        retention = _positive_int(
            conf.get(SECTION, "webhook_retention_days", fallback=""), DEFAULT_RETENTION_DAYS
        )
        return cls(
            conn_id=conn_id, allowed_conn_ids=allowed, max_body_bytes=max_body, retention_days=retention
        )


def _positive_int(raw: str, default: int) -> int:
    try:
        value = int(str(raw).strip())
    except ValueError:
        return default
    return value if value > 0 else default
