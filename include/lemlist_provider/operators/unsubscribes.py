"""``LemlistUnsubscribeSyncOperator``: keep a local suppression list and lemlist's unsubscribes in step.

Thin: the logic is in :mod:`lemlist_provider.unsubscribes`. The operator resolves where the local list lives
(a CSV file, or a table through any Airflow SQL connection), runs one sync, writes the audit file and
returns the summary (XCom ``return_value``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowFailException

from lemlist_provider.unsubscribes import (
    MODES,
    TRUTHS,
    RemovalLimitError,
    SyncOptions,
    open_store,
    run_summary_line,
    run_sync,
)

LEMLIST_POOL = "lemlist_api"
DEFAULT_CSV = "include/data/suppression_list.csv"
DEFAULT_AUDIT_DIR = "include/data/suppression_audit"


def project_path(location: str | Path) -> Path:
    """Relative paths resolve against the project root, so the DAG works from any working directory."""
    from lemlist_provider.lead_import.reader import project_root

    path = Path(str(location)).expanduser()
    return path if path.is_absolute() else project_root() / path


def _as_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


class LemlistUnsubscribeSyncOperator(BaseOperator):
    """Sync the local suppression list with lemlist's unsubscribes; add-only unless ``mode="mirror"``.

    :param store: ``csv`` (``csv_path``) or ``sql`` (``sql_conn_id`` + ``table``; created if missing)
    :param mode: ``add_only`` (default: both sides end with the union; nobody is re-subscribed) or ``mirror``
    :param truth: in mirror mode, the side that wins: ``local`` removes from lemlist what the local list does
        not hold (never entries the person created: unsubscribe link, bounce, abuse), ``lemlist`` removes
        local rows lemlist does not hold
    :param confirm_removals: mirror removes only with this set; without it the run reports ``would_remove``
    :param max_removals: a mirror run that would remove more fails before any write
    :param dry_run: read both sides, plan and audit; change nothing
    :param pull: ``export`` (one CSV request for the whole list) or ``paginate`` (100 per request)
    :param audit_dir: folder of the per-run audit CSV (relative to the project root unless absolute)
    """

    template_fields: Sequence[str] = (
        "store", "csv_path", "sql_conn_id", "table", "mode", "truth", "confirm_removals", "max_removals",
        "dry_run", "pull", "audit_dir", "bulk_size",
    )  # fmt: skip
    ui_color = "#fde8e8"

    def __init__(
        self,
        *,
        store: str = "csv",
        csv_path: str = DEFAULT_CSV,
        sql_conn_id: str | None = None,
        table: str | None = "lemlist_suppression",
        mode: str = "add_only",
        truth: str = "local",
        confirm_removals: bool = False,
        max_removals: int = 1000,
        dry_run: bool = False,
        pull: str = "export",
        bulk_size: int = 10_000,
        audit_dir: str = DEFAULT_AUDIT_DIR,
        lemlist_conn_id: str = "lemlist_default",
        pool: str = LEMLIST_POOL,
        **kwargs: Any,
    ) -> None:
        super().__init__(pool=pool, **kwargs)
        self.store = store
        self.csv_path = csv_path
        self.sql_conn_id = sql_conn_id
        self.table = table
        self.mode = mode
        self.truth = truth
        self.confirm_removals = confirm_removals
        self.max_removals = max_removals
        self.dry_run = dry_run
        self.pull = pull
        self.bulk_size = bulk_size
        self.audit_dir = audit_dir
        self.lemlist_conn_id = lemlist_conn_id

    def _options(self) -> SyncOptions:
        if self.mode not in MODES:
            raise AirflowFailException(f"mode must be one of {MODES}, not {self.mode!r}")
        if self.truth not in TRUTHS:
            raise AirflowFailException(f"truth must be one of {TRUTHS}, not {self.truth!r}")
        if self.pull not in ("export", "paginate"):
            raise AirflowFailException(f"pull must be 'export' or 'paginate', not {self.pull!r}")
        return SyncOptions(
            mode=self.mode,
            truth=self.truth,
            dry_run=_as_bool(self.dry_run),
            confirm_removals=_as_bool(self.confirm_removals),
            max_removals=int(self.max_removals),
            pull=self.pull,
            bulk_size=int(self.bulk_size),
        )

    def _audit_path(self, context: Any) -> Path:
        run_id = str(context["run_id"]) if context and context.get("run_id") else "manual"
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", run_id)
        return project_path(self.audit_dir) / f"unsubscribe_sync_{safe}.csv"

    def execute(self, context: Any) -> dict[str, Any]:
        from lemlist_provider.hooks.lemlist import LemlistHook

        options = self._options()
        try:
            store = open_store(
                self.store,
                csv_path=project_path(self.csv_path) if self.store == "csv" else None,
                conn_id=self.sql_conn_id,
                table=self.table,
            )
        except ValueError as exc:
            raise AirflowFailException(str(exc)) from None
        hook = LemlistHook(lemlist_conn_id=self.lemlist_conn_id)
        self.log.info(
            "Syncing %s with lemlist (%s, dry_run=%s)", store.describe(), options.mode, options.dry_run
        )
        try:
            summary = run_sync(hook, store, options, self._audit_path(context), self.log)
        except RemovalLimitError as exc:
            raise AirflowFailException(str(exc)) from None
        finally:
            hook.close()
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
