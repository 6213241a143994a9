"""The receiver's settings, and the families the event DAGs use, read through :mod:`lemlist_provider.settings`
(section ``[lemlist]``).

Config, not Variables: whoever may trigger a DAG may often edit Variables, and which connection's secret
admits events into Airflow, where lemlist sends them and which families reach which DAGs are deployment
decisions. The keys (``webhook_*``, ``events_suppress_bounces``, ``reply_handoff_*``, ``lemlist_conn_ids``) are
described in ``settings.OPTIONS`` and docs/events.md.
"""

from __future__ import annotations

from dataclasses import dataclass

from lemlist_provider import settings

DEFAULT_CONN_ID = settings.OPTIONS["webhook_conn_id"].default
#: the families ``lemlist_reply_handoff`` is scheduled on
HANDOFF_FAMILIES = ("replied", "interested")


@dataclass(frozen=True)
class ReceiverSettings:
    conn_id: str = DEFAULT_CONN_ID
    allowed_conn_ids: frozenset[str] = frozenset({DEFAULT_CONN_ID})
    max_body_bytes: int = int(settings.OPTIONS["webhook_max_body_bytes"].default)
    retention_days: int = int(settings.OPTIONS["webhook_retention_days"].default)
    gc_freeze: bool = True

    @classmethod
    def load(cls) -> ReceiverSettings:
        """Read ``[lemlist]``; a value out of range falls back to the safe default rather than failing open."""
        return cls(
            conn_id=settings.webhook_conn_id(),
            allowed_conn_ids=frozenset(settings.lemlist_conn_ids()),
            max_body_bytes=settings.webhook_max_body_bytes(),
            retention_days=settings.webhook_retention_days(),
            gc_freeze=settings.webhook_gc_freeze(),
        )


def unsubscribe_families() -> tuple[str, ...]:
    """What ``lemlist_unsubscribe_events`` is scheduled on: unsubscribes, and bounces unless switched off."""
    return ("unsubscribed", "bounced") if settings.events_suppress_bounces() else ("unsubscribed",)
