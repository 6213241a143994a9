"""The difference between the local suppression list and lemlist's unsubscribes, as a plan to apply.

Add-only (the default) never removes anything: nobody is re-subscribed by a sync. ``mirror`` makes one side
the source of truth and removes from the other side what the truth does not hold, except entries that
the person created themselves on lemlist (an unsubscribe link, a bounce, an abuse report): those are kept
and copied to the local side instead, because removing them would contact someone who asked not to be.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from .normalise import Entry, Invalid

MODES = ("add_only", "mirror")
TRUTHS = ("local", "lemlist")
PROTECTED_SOURCES = frozenset({"lead", "bounced", "abuse"})


@dataclass
class Side:
    """One side after normalisation: valid entries by key, invalid ones, and duplicates dropped."""

    entries: dict[str, Entry] = field(default_factory=dict)
    invalid: list[Invalid] = field(default_factory=list)
    duplicates: int = 0

    @classmethod
    def collect(cls, items: Iterable[Entry | Invalid]) -> Side:
        side = cls()
        for item in items:
            if isinstance(item, Invalid):
                side.invalid.append(item)
            elif item.key in side.entries:
                side.duplicates += 1
            else:
                side.entries[item.key] = item
        return side


@dataclass
class SyncPlan:
    """What a run does (or, in dry run, would do). Lists are sorted for stable audits."""

    mode: str
    truth: str
    local_total: int
    remote_total: int
    in_both: int
    to_remote: list[Entry]
    to_local: list[Entry]
    remove_remote: list[Entry]
    remove_local: list[Entry]
    kept_protected: list[Entry]
    local_invalid: list[Invalid]
    remote_invalid: list[Invalid]
    local_duplicates: int = 0


def _sorted(entries: Iterable[Entry]) -> list[Entry]:
    return sorted(entries, key=lambda e: e.key)


def plan_sync(
    local: Side,
    remote: Side,
    *,
    mode: str = "add_only",
    truth: str = "local",
    protected_sources: frozenset[str] = PROTECTED_SOURCES,
) -> SyncPlan:
    """Compare both sides by key and decide every add and removal.

    add_only: local-only entries go to lemlist, lemlist-only entries go to the local side (the union).
    mirror, truth=local: local-only go to lemlist; lemlist-only are removed from lemlist unless protected
    (then they are copied to the local side). mirror, truth=lemlist: lemlist-only go to the local side,
    local-only are removed from the local side; nothing is pushed.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
    if truth not in TRUTHS:
        raise ValueError(f"truth must be one of {TRUTHS}, not {truth!r}")
    local_only = [e for k, e in local.entries.items() if k not in remote.entries]
    remote_only = [e for k, e in remote.entries.items() if k not in local.entries]
    to_remote, to_local, remove_remote, remove_local, protected = local_only, remote_only, [], [], []
    if mode == "mirror" and truth == "local":
        protected = [e for e in remote_only if e.source in protected_sources]
        remove_remote = [e for e in remote_only if e.source not in protected_sources]
        to_local = protected
    elif mode == "mirror" and truth == "lemlist":
        to_remote, remove_local = [], local_only
    return SyncPlan(
        mode=mode,
        truth=truth,
        local_total=len(local.entries),
        remote_total=len(remote.entries),
        in_both=len(local.entries) - len(local_only),
        to_remote=_sorted(to_remote),
        to_local=_sorted(to_local),
        remove_remote=_sorted(remove_remote),
        remove_local=_sorted(remove_local),
        kept_protected=_sorted(protected),
        local_invalid=list(local.invalid),
        remote_invalid=list(remote.invalid),
        local_duplicates=local.duplicates,
    )
