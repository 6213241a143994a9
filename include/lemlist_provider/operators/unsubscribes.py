"""``LemlistUnsubscribeSyncOperator``: keep a local suppression list and lemlist's unsubscribes in step.

Thin: the logic is in :mod:`lemlist_provider.unsubscribes`. The operator opens the local list (``LocalStoreTask``: a CSV
file inside the output roots, since the sync writes it, or a table through any Airflow SQL connection),
runs one sync, writes the audit file and returns the summary (XCom ``return_value``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow.sdk.exceptions import AirflowFailException

from lemlist_provider import paths
from lemlist_provider.operators.base import LemlistBaseOperator, as_bool, given
from lemlist_provider.operators.local_store import LocalStoreTask
from lemlist_provider.unsubscribes import (
    MODES,
    PULLS,
    TRUTHS,
    MissingSourceError,
    RemovalLimits,
    RemovalRefused,
    SyncOptions,
    run_summary_line,
    run_sync,
)
from lemlist_provider.unsubscribes.guards import (
    DEFAULT_MAX_INVALID_PERCENT,
    DEFAULT_MAX_REMOVAL_PERCENT,
    DEFAULT_MAX_REMOVALS,
)

DEFAULT_AUDIT_DIR = "unsubscribe_audit"


class LemlistUnsubscribeSyncOperator(LocalStoreTask, LemlistBaseOperator):
    """Sync the local suppression list with lemlist's unsubscribes; add-only unless ``mode="mirror"``.

    The local list is ``LocalStoreTask``'s (``store``, ``csv_path``, ``sql_conn_id``, ``table``).

    :param mode: ``add_only`` (default: both sides end with the union; nobody is re-subscribed) or ``mirror``
    :param truth: in mirror mode, the side that wins: ``local`` removes from lemlist what the local list does
        not hold (never entries the person created: unsubscribe link, bounce, abuse), ``lemlist`` removes
        local rows lemlist does not hold
    :param confirm_removals: mirror removes only with this set; without it the run reports ``would_remove``
    :param max_removal_percent: a confirmed mirror run that would remove more than this share of the other
        side fails before any write (see ``unsubscribes/guards.py`` for every guard)
    :param max_removals: the same for an absolute number of removals
    :param max_invalid_percent: a confirmed mirror run whose source of truth has more invalid rows than this
        share fails before any write; so does one whose source of truth is empty, or (before anything is
        read) one whose local file or table does not exist
    :param dry_run: read both sides, plan and audit (with what a confirmed run would remove, or which guard
        would refuse it); change nothing
    :param pull: ``export`` (one CSV request for the whole list) or ``paginate`` (100 per request)
    :param audit_dir: folder of the per-run audit CSV, inside the output roots
    """

    template_fields: Sequence[str] = (
        *LemlistBaseOperator.template_fields, *LocalStoreTask.template_fields, "mode", "truth", "confirm_removals",
        "max_removal_percent", "max_removals", "max_invalid_percent", "dry_run", "pull", "audit_dir", "bulk_size",
    )  # fmt: skip

    def __init__(
        self,
        *,
        mode: str = "add_only",
        truth: str = "local",
        confirm_removals: bool = False,
        max_removal_percent: float = DEFAULT_MAX_REMOVAL_PERCENT,
        max_removals: int = DEFAULT_MAX_REMOVALS,
        max_invalid_percent: float = DEFAULT_MAX_INVALID_PERCENT,
        dry_run: bool = False,
        pull: str = "export",
        bulk_size: int = 10_000,
        audit_dir: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.keep_arguments(locals())

    def _options(self) -> SyncOptions:
        for name, value, allowed in (("mode", self.mode, MODES), ("truth", self.truth, TRUTHS),
                                     ("pull", self.pull, PULLS)):  # fmt: skip
            if value not in allowed:
                raise AirflowFailException(f"{name} must be one of {allowed}, not {value!r}")
        limits = RemovalLimits(
            max_removal_percent=float(self.max_removal_percent), max_removals=int(self.max_removals),
            max_invalid_percent=float(self.max_invalid_percent),
        )  # fmt: skip
        return SyncOptions(
            mode=self.mode, truth=self.truth, dry_run=as_bool(self.dry_run),
            confirm_removals=as_bool(self.confirm_removals), limits=limits, pull=self.pull,
            bulk_size=int(self.bulk_size),
        )  # fmt: skip

    def execute(self, context: Any) -> dict[str, Any]:
        options = self._options()
        audit_dir = paths.output_location(
            "audit_dir", given(self.audit_dir) or paths.default_output(DEFAULT_AUDIT_DIR)
        )
        audit = audit_dir / f"unsubscribe_sync_{paths.safe_name(context.get('run_id') or 'manual')}.csv"
        paths.check_replaceable("audit_dir", audit)
        store = self.local_store()
        self.log.info(
            "Syncing %s with lemlist (%s, dry_run=%s)", store.describe(), options.mode, options.dry_run
        )
        try:
            summary = run_sync(self.hook, store, options, audit, self.log)
        except (MissingSourceError, RemovalRefused) as exc:  # the same inputs would fail the same way
            raise AirflowFailException(str(exc)) from None
        if summary["removal_refused"]:
            self.log.warning(
                "%s (a confirmed run would fail here; see %s)",
                summary["removal_refused"],
                summary["audit_file"],
            )
        if summary["removals_pending"]:
            self.log.warning(
                "mirror: %d removal(s) planned but not applied (set confirm_removals after checking the audit "
                "file %s)",
                summary["would_remove_from_lemlist"] + summary["would_remove_from_local"], summary["audit_file"],
            )  # fmt: skip
        if summary["invalid_local"] or summary["invalid_lemlist"] or summary["rejected_by_lemlist"]:
            self.log.warning(
                "%d invalid local, %d invalid lemlist, %d refused by lemlist: see %s (never pushed)",
                summary["invalid_local"], summary["invalid_lemlist"], summary["rejected_by_lemlist"], summary["audit_file"],
            )  # fmt: skip
        self.log.info("%s", run_summary_line(summary))
        return summary
