"""Unsubscribe sync between a local suppression list (CSV or SQL table) and lemlist's unsubscribes (pure logic)."""

from .diff import MODES, PROTECTED_SOURCES, TRUTHS, Side, SyncPlan, plan_sync
from .guards import GUARDS, MissingSourceError, Refusal, RemovalLimits, RemovalRefused, check_removals
from .normalise import Entry, Invalid, normalise
from .stores import CsvSuppressionStore, SqlSuppressionStore, SuppressionStore, open_store
from .sync import PULLS, SyncOptions, run_summary, run_summary_line, run_sync

__all__ = [
    "GUARDS", "MODES", "PROTECTED_SOURCES", "PULLS", "TRUTHS", "CsvSuppressionStore", "Entry", "Invalid",
    "MissingSourceError", "Refusal", "RemovalLimits", "RemovalRefused", "Side", "SqlSuppressionStore",
    "SuppressionStore", "SyncOptions", "SyncPlan", "check_removals", "normalise", "open_store", "plan_sync",
    "run_summary", "run_summary_line", "run_sync",
]  # fmt: skip
