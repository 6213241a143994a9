"""The guards a mirror plan must pass before the sync removes anything.

Removing an entry from a suppression list means emailing someone who asked not to be emailed, and a
mirror plan is only as good as the read of its source of truth. A truth side that reads as empty, or whose
rows are mostly invalid (a wrong value column, a truncated export), looks to a diff exactly like "remove
everything on the other side". So before any write a mirror plan with removals is checked, in this order:

1. ``invalid_share``: more than ``max_invalid_percent`` of the truth side's rows are invalid;
2. ``empty_truth``: the truth side holds no valid entry at all;
3. ``removal_share``: the removals exceed ``max_removal_percent`` of the other side;
4. ``removal_cap``: the removals exceed ``max_removals``.

The first guard that trips refuses the whole run (nothing written on either side); its message names the
guard and how to proceed on purpose. A missing source (a CSV file or a SQL table that does not exist) is
refused earlier, before anything is read, by :class:`MissingSourceError`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .diff import SyncPlan

GUARDS = ("invalid_share", "empty_truth", "removal_share", "removal_cap")
DEFAULT_MAX_REMOVAL_PERCENT = 5.0
DEFAULT_MAX_INVALID_PERCENT = 1.0
DEFAULT_MAX_REMOVALS = 1000


@dataclass(frozen=True)
class RemovalLimits:
    """How much a mirror run may remove: a share of the other side, an absolute cap, and how much of the
    truth side may be invalid for its read to be trusted at all."""

    max_removal_percent: float = DEFAULT_MAX_REMOVAL_PERCENT
    max_removals: int = DEFAULT_MAX_REMOVALS
    max_invalid_percent: float = DEFAULT_MAX_INVALID_PERCENT


@dataclass(frozen=True)
class Refusal:
    """The guard that refused a plan, and the message a person reads in the task log and the audit."""

    guard: str
    message: str


class RemovalRefused(RuntimeError):
    """A mirror plan failed a guard: the run changed nothing on either side."""

    def __init__(self, refusal: Refusal, audit_file: str | None = None) -> None:
        where = f" The plan is in the audit file {audit_file}." if audit_file else ""
        super().__init__(refusal.message + where)
        self.refusal = refusal
        self.audit_file = audit_file


class MissingSourceError(RuntimeError):
    """A mirror run's local list (file or table) does not exist: an error before anything is read or written."""


def _percent(part: int, whole: int) -> float:
    return 100.0 * part / whole if whole else 0.0


def check_removals(plan: SyncPlan, limits: RemovalLimits, local_name: str) -> Refusal | None:
    """The first guard ``plan`` fails, or ``None`` (also when it removes nothing). ``local_name`` names the
    local list in the message (``csv:/path`` or ``sql:conn/table``)."""
    if plan.mode != "mirror":
        return None
    removals = len(plan.remove_remote) + len(plan.remove_local)
    if not removals:
        return None
    local = plan.truth == "local"
    truth = f"the local list ({local_name})" if local else "lemlist's unsubscribes"
    other, other_total = (
        ("lemlist's", plan.remote_total) if local else (f"the local list's ({local_name})", plan.local_total)
    )
    valid = plan.local_total if local else plan.remote_total
    invalid = len(plan.local_invalid if local else plan.remote_invalid)
    rows = valid + invalid + (plan.local_duplicates if local else 0)
    unchanged = "Nothing was changed on either side."

    def refuse(guard: str, why: str, proceed: str) -> Refusal:
        return Refusal(
            guard, f"mirror (truth={plan.truth}) refused by the {guard} guard: {why}. {unchanged} {proceed}"
        )

    if _percent(invalid, rows) > limits.max_invalid_percent:
        return refuse(
            "invalid_share",
            f"{invalid} of the {rows} rows of {truth} ({_percent(invalid, rows):.1f} %) are invalid, more than "
            f"max_invalid_percent={limits.max_invalid_percent:g}; the source may have been read with the wrong "
            f"value column, and it would remove {removals} entries",
            "Fix the rows listed as invalid in the audit file (or name the value column 'value'), or raise "
            "max_invalid_percent if they are expected.",
        )
    if valid == 0:
        return refuse(
            "empty_truth",
            f"{truth} holds no valid entry, so the plan would remove every one of {other} {other_total} entries",
            "An empty source of truth is never mirrored: check that it was read from the right place; to clear "
            "the other side on purpose, remove its entries there directly.",
        )
    if _percent(removals, other_total) > limits.max_removal_percent:
        share = math.ceil(_percent(removals, other_total) * 10) / 10
        return refuse(
            "removal_share",
            f"it would remove {removals} of {other} {other_total} entries ({share:.1f} %), more than "
            f"max_removal_percent={limits.max_removal_percent:g}",
            f"Check the refused rows in the audit file (run with dry_run), then run again with "
            f"max_removal_percent={share:g} or more if they are right.",
        )
    if removals > limits.max_removals:
        return refuse(
            "removal_cap",
            f"it would remove {removals} entries, more than max_removals={limits.max_removals}",
            "Check the refused rows in the audit file (run with dry_run), then raise max_removals if they are right.",
        )
    return None
