"""The receiver's admin settings, from the Airflow config section ``[lemlist]`` (env ``AIRFLOW__LEMLIST__*``).

Config, not Variables: whoever may trigger a DAG may often edit Variables, and which connection's secret
admits events into Airflow is a deployment decision.

| key | default | meaning |
| --- | --- | --- |
| ``webhook_conn_id`` | ``lemlist_default`` | connection whose ``webhook_secret`` extra verifies events |
| ``webhook_allowed_conn_ids`` | (empty) | more connections a hook may name with ``?conn_id=`` (comma list) |
| ``webhook_max_body_bytes`` | 262144 | bodies above this are answered 413 |
| ``webhook_retention_days`` | 30 | stored events older than this are deleted (also the dedupe window) |
| ``webhook_gc_freeze`` | ``true`` | freeze the API server's objects out of the garbage collector at the first event (``receiver.get_store``) |
| ``webhook_receiver_url`` | (empty) | the receiver's public URL (``https://<airflow>/lemlist/webhooks``): where the setup DAG points lemlist's hooks and enrichments send their callbacks; empty = no enrichment callbacks |
| ``webhook_owner`` | ``default`` | the tag (``airflow_lemlist=<owner>``) that marks the hooks this deployment created |
| ``events_suppress_bounces`` | ``true`` | hard bounces join the local suppression list (``lemlist_unsubscribe_events``) |
| ``reply_handoff_conn_id`` | (empty) | SQL connection of the reply hand-off table; empty = SQLite file ``<first output root>/lemlist_reply_handoff.sqlite`` |
| ``reply_handoff_table`` | ``lemlist_reply_handoff`` | the hand-off table (created if missing) |
"""

from __future__ import annotations

from dataclasses import dataclass

SECTION = "lemlist"
DEFAULT_CONN_ID = "lemlist_default"
DEFAULT_OWNER = "default"
DEFAULT_HANDOFF_TABLE = "lemlist_reply_handoff"
#: the families each event DAG is scheduled on (bounces: see ``unsubscribe_families``)
HANDOFF_FAMILIES = ("replied", "interested")
DEFAULT_MAX_BODY_BYTES = 256 * 1024
DEFAULT_RETENTION_DAYS = 30


@dataclass(frozen=True)
class ReceiverSettings:
    conn_id: str = DEFAULT_CONN_ID
    allowed_conn_ids: frozenset[str] = frozenset({DEFAULT_CONN_ID})
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    retention_days: int = DEFAULT_RETENTION_DAYS
    gc_freeze: bool = True

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
        gc_freeze = conf.get(SECTION, "webhook_gc_freeze", fallback="true").strip().lower()
        return cls(
            conn_id=conn_id, allowed_conn_ids=allowed, max_body_bytes=max_body, retention_days=retention,
            gc_freeze=gc_freeze not in ("false", "0", "no", "off"),
        )  # fmt: skip


def _positive_int(raw: str, default: int) -> int:
    try:
        value = int(str(raw).strip())
    except ValueError:
        return default
    return value if value > 0 else default


def _task_conf(key: str, default: str = "") -> str:
    """One ``[lemlist]`` value as DAG files and tasks read configuration (the Task SDK's ``conf``)."""
    from airflow.sdk.configuration import conf

    return str(conf.get(SECTION, key, fallback=default) or "").strip()


def receiver_url() -> str:
    """The receiver's public URL, or ``""`` when the deployment does not say where lemlist can reach it."""
    return _task_conf("webhook_receiver_url")


def webhook_owner() -> str:
    return _task_conf("webhook_owner", DEFAULT_OWNER) or DEFAULT_OWNER


def webhook_conn_id() -> str:
    """The connection whose secret the receiver checks when a hook's URL names none."""
    return _task_conf("webhook_conn_id", DEFAULT_CONN_ID) or DEFAULT_CONN_ID


def suppress_bounces() -> bool:
    return _task_conf("events_suppress_bounces", "true").lower() not in ("false", "0", "no", "off")


def unsubscribe_families() -> tuple[str, ...]:
    """What ``lemlist_unsubscribe_events`` is scheduled on: unsubscribes, and bounces unless switched off."""
    return ("unsubscribed", "bounced") if suppress_bounces() else ("unsubscribed",)


def handoff_target() -> tuple[str, str]:
    """``(conn_id, table)`` of the reply hand-off; ``conn_id`` empty means the default SQLite file."""
    return _task_conf("reply_handoff_conn_id"), _task_conf("reply_handoff_table", DEFAULT_HANDOFF_TABLE)
