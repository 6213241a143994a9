"""From unsubscribe and bounce events to suppression entries, in the form the unsubscribe sync compares.

A person who unsubscribes, or whose address hard-bounces, must leave every list now, not at the next hourly
sync. Each event gives at most one entry: its ``email`` normalised by the sync's own ``normalise`` (so the
event DAG and the sync agree on what is already on the list), with the source lemlist itself gives such
entries (``lead`` for an unsubscribe, ``bounced`` for a bounce) as the sync writes it locally. What gives no
entry is reported with its reason, never dropped silently.

Bounces: lemlist's payload does not document whether a bounce was hard or soft. A bounce counts as hard
unless its payload says otherwise (``bounceType`` / ``bounce_type`` of ``soft``, ``transient`` or
``temporary``): a soft bounce is a full mailbox, not a bad address.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from lemlist_provider.unsubscribes import Entry, Invalid, normalise

SOURCES = {"unsubscribed": "lemlist:lead", "bounced": "lemlist:bounced"}
SOFT_BOUNCES = frozenset({"soft", "transient", "temporary"})


@dataclass
class Suppressions:
    """The entries of a batch of events (one per person) and why the other events gave none."""

    entries: list[Entry] = field(default_factory=list)
    repeated: int = 0  # events about a person already in ``entries``
    skipped: list[dict[str, str]] = field(default_factory=list)  # {"dedupe_key", "type", "reason"}

    def skip(self, extra: Mapping[str, Any], reason: str) -> None:
        self.skipped.append(
            {
                "dedupe_key": str(extra.get("dedupe_key", "")),
                "type": str(extra.get("type", "")),
                "reason": reason,
            }
        )


def is_soft_bounce(payload: Mapping[str, Any]) -> bool:
    kind = payload.get("bounceType", payload.get("bounce_type"))
    return isinstance(kind, str) and kind.strip().lower() in SOFT_BOUNCES


def suppressions(events: Iterable[Mapping[str, Any]], *, bounces: bool = True) -> Suppressions:
    """``events``: the ``extra`` of each Asset event (``type``, ``family``, ``dedupe_key``, ``payload``)."""
    result = Suppressions()
    seen: set[str] = set()
    for extra in events:
        family, payload = extra.get("family"), extra.get("payload")
        if family not in SOURCES or not isinstance(payload, Mapping):
            result.skip(extra, f"not an unsubscribe or a bounce (family {family!r})")
            continue
        if family == "bounced" and not bounces:
            result.skip(extra, "bounce: [lemlist] events_suppress_bounces is off")
            continue
        if family == "bounced" and is_soft_bounce(payload):
            result.skip(extra, "soft bounce: the address is not bad")
            continue
        email = payload.get("email")
        if not isinstance(email, str) or "@" not in email:
            result.skip(extra, "no email in the event")
            continue
        entry = normalise(email, source=SOURCES[family], created_at=str(payload.get("createdAt") or ""))
        if isinstance(entry, Invalid) or entry.kind != "email":
            result.skip(extra, f"invalid email: {getattr(entry, 'reason', 'not an email address')}")
        elif entry.key in seen:
            result.repeated += 1
        else:
            seen.add(entry.key)
            result.entries.append(entry)
    return result
