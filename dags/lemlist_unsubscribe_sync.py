"""Keep a local suppression list and lemlist's unsubscribes in step (hourly).

sync (pool ``lemlist_api``) → summary. Add-only by default: both sides end with the union and nobody is
re-subscribed. ``mirror`` also removes, but only with ``confirm_removals`` (a mirror run without it reports
what it would remove). The local side is a CSV file or a SQL table; empty params fall back to the Variables
``lemlist_suppression_store`` / ``_csv_path`` / ``_conn_id`` / ``_table``. Every run writes an audit CSV.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import Param, dag, task

from lemlist_provider.notifiers import default_lemlist_args
from lemlist_provider.operators.unsubscribes import (
    DEFAULT_AUDIT_DIR,
    DEFAULT_CSV,
    LemlistUnsubscribeSyncOperator,
)


def _from_param_or_var(name: str, variable: str, default: str) -> str:
    return f"{{{{ params.{name} if params.{name} else var.value.get('{variable}', '{default}') }}}}"


@dag(
    dag_id="lemlist_unsubscribe_sync",
    schedule="@hourly",
    catchup=False,
    max_active_runs=1,
    render_template_as_native_obj=True,
    tags=["lemlist", "compliance"],
    doc_md=__doc__,
    default_args=default_lemlist_args(retries=2, retry_delay=timedelta(minutes=2)),
    params={
        "store": Param(
            None,
            type=["null", "string"],
            enum=[None, "csv", "sql"],
            title="Local store",
            description="csv or sql. Empty: Variable lemlist_suppression_store, else csv.",
        ),
        "csv_path": Param(
            None,
            type=["null", "string"],
            title="CSV path",
            description=f"Empty: Variable lemlist_suppression_csv_path, else {DEFAULT_CSV}.",
        ),
        "sql_conn_id": Param(
            None,
            type=["null", "string"],
            title="SQL connection",
            description="Any Airflow SQL connection (sqlite, postgres, ...). Empty: Variable "
            "lemlist_suppression_conn_id, else suppression_db.",
        ),
        "table": Param(
            None,
            type=["null", "string"],
            title="Table",
            description="Created if missing. Empty: Variable lemlist_suppression_table, else "
            "lemlist_suppression.",
        ),
        "mode": Param(
            "add_only",
            type="string",
            enum=["add_only", "mirror"],
            title="Mode",
            description="add_only never removes. mirror removes what the source of truth lacks.",
        ),
        "truth": Param(
            "local",
            type="string",
            enum=["local", "lemlist"],
            title="Mirror: source of truth",
            description="local: remove from lemlist (never unsubscribes the person made). "
            "lemlist: remove local rows.",
        ),
        "confirm_removals": Param(
            False,
            type="boolean",
            title="Mirror: apply removals",
            description="Without it a mirror run only reports would_remove.",
        ),
        "max_removals": Param(
            1000,
            type="integer",
            minimum=0,
            title="Mirror: max removals",
            description="Refuse (before any write) a mirror run that would remove more.",
        ),
        "dry_run": Param(
            False, type="boolean", title="Dry run", description="Plan and audit; change nothing."
        ),
        "pull": Param(
            "export",
            type="string",
            enum=["export", "paginate"],
            title="Read lemlist by",
            description="export: one CSV request for the whole list. paginate: 100 per request.",
        ),
        "audit_dir": Param(
            DEFAULT_AUDIT_DIR,
            type="string",
            title="Audit folder",
            description="Where each run writes its audit CSV (what was added where, from which side).",
        ),
    },
)
def lemlist_unsubscribe_sync():
    sync = LemlistUnsubscribeSyncOperator(
        task_id="sync",
        store=_from_param_or_var("store", "lemlist_suppression_store", "csv"),
        csv_path=_from_param_or_var("csv_path", "lemlist_suppression_csv_path", DEFAULT_CSV),
        sql_conn_id=_from_param_or_var("sql_conn_id", "lemlist_suppression_conn_id", "suppression_db"),
        table=_from_param_or_var("table", "lemlist_suppression_table", "lemlist_suppression"),
        mode="{{ params.mode }}",
        truth="{{ params.truth }}",
        confirm_removals="{{ params.confirm_removals }}",
        max_removals="{{ params.max_removals }}",
        dry_run="{{ params.dry_run }}",
        pull="{{ params.pull }}",
        audit_dir="{{ params.audit_dir }}",
    )

    @task(task_id="summary")
    def summary(result: dict) -> dict:
        from lemlist_provider.unsubscribes import run_summary_line

        print(run_summary_line(result))
        return result

    summary(sync.output)


lemlist_unsubscribe_sync()
