"""Keep a local suppression list and lemlist's unsubscribes in step (hourly).

sync (pool ``lemlist_api``) → summary. Add-only by default: both sides end with the union and nobody is
re-subscribed. ``mirror`` also removes, but only with ``confirm_removals`` (a mirror run without it reports
what it would remove), only from an existing local list, and only when the plan passes the guards: a
source of truth that is empty or has too many invalid rows, or removals above ``max_removal_percent`` of the
other side or above ``max_removals``, fail the run before anything is written. The local side is a CSV file
inside the output roots (the sync writes it) or a SQL table (a connection and a table from the admin's
allow-lists); empty params fall back to the Variables ``lemlist_suppression_store`` / ``_csv_path`` /
``_conn_id`` / ``_table``, then to ``output/suppression_list.csv``. Every run writes an audit CSV.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import dag, task

from lemlist_provider import allowlists
from lemlist_provider.dag_args import choice, count, flag, from_params, lemlist_dag, percent, text
from lemlist_provider.operators.local_store import STORE_ARGUMENTS
from lemlist_provider.operators.unsubscribes import LemlistUnsubscribeSyncOperator
from lemlist_provider.unsubscribes import run_summary


@dag(
    dag_id="lemlist_unsubscribe_sync",
    schedule="@hourly",
    max_active_runs=1,
    **lemlist_dag(__doc__, "compliance", retries=2, retry_delay=timedelta(minutes=2)),
    params={
        "store": text(
            "Local store",
            "csv or sql. Empty: Variable lemlist_suppression_store, else csv.",
            enum=[None, "csv", "sql"],
        ),
        "csv_path": text(
            "CSV path",
            "Inside the output roots. Empty: Variable lemlist_suppression_csv_path, else "
            "output/suppression_list.csv.",
        ),
        "sql_conn_id": text(
            "SQL connection",
            "An Airflow SQL connection (sqlite, postgres, ...) among the admin's [lemlist] sql_conn_ids. "
            "Empty: Variable lemlist_suppression_conn_id, else suppression_db.",
            examples=allowlists.examples("sql_conn_ids"),
        ),
        "table": text(
            "Table",
            "Created if missing (a mirror run needs it to exist); a name the admin's [lemlist] sql_tables "
            "allows (by default lemlist_*). Empty: Variable lemlist_suppression_table, else lemlist_suppression.",
            examples=allowlists.examples("sql_tables") or ["lemlist_suppression"],
        ),
        "mode": choice(
            "add_only",
            ["add_only", "mirror"],
            "Mode",
            "add_only never removes. mirror removes what the source of truth lacks.",
        ),
        "truth": choice(
            "local",
            ["local", "lemlist"],
            "Mirror: source of truth",
            "local: remove from lemlist (never unsubscribes the person made). lemlist: remove local rows.",
        ),
        "confirm_removals": flag(
            "Mirror: apply removals", "Without it a mirror run only reports would_remove."
        ),
        "max_removal_percent": percent(
            5.0,
            "Mirror: max removals (% of the other side)",
            "Refuse (before any write) a mirror run that would remove a larger share of the other side. Raise "
            "it on purpose after checking the refused rows of a dry run's audit file.",
        ),
        "max_removals": count(
            1000, "Mirror: max removals", "Refuse (before any write) a mirror run that would remove more."
        ),
        "max_invalid_percent": percent(
            1.0,
            "Mirror: max invalid rows (%)",
            "Refuse (before any write) a mirror run whose source of truth has a larger share of invalid rows "
            "(a wrong value column reads as all invalid).",
        ),
        "dry_run": flag("Dry run", "Plan and audit; change nothing."),
        "pull": choice(
            "export",
            ["export", "paginate"],
            "Read lemlist by",
            "export: one CSV request for the whole list. paginate: 100 per request.",
        ),
        "audit_dir": text(
            "Audit folder",
            "Where each run writes its audit CSV (what was added where, from which "
            "side), inside the output roots. Empty: output/unsubscribe_audit.",
        ),
    },  # fmt: skip
)
def lemlist_unsubscribe_sync():
    sync = LemlistUnsubscribeSyncOperator(
        task_id="sync",
        **STORE_ARGUMENTS,
        **from_params("mode", "truth", "confirm_removals", "dry_run", "pull", "audit_dir"),
        **from_params("max_removal_percent", "max_removals", "max_invalid_percent"),  # the mirror guards
    )
    task(run_summary, task_id="summary")(sync.output)


lemlist_unsubscribe_sync()
