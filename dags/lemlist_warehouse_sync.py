"""Load lemlist into a SQL warehouse, hourly: activities, campaigns, leads, daily campaign stats,
unsubscribes and lemcal meetings, each a table with typed columns and the raw JSON of each record.

One task per table (pool ``lemlist_api``), each an Asset outlet ``lemlist://warehouse/<table>`` so dbt or
report DAGs can be scheduled on a refresh. The warehouse is the common-sql connection ``lemlist_warehouse``
(SQLite, PostgreSQL, ...; when it is not defined, a SQLite file ``lemlist_warehouse.sqlite`` in the first
output root). Activities load incrementally over the run's data interval (with a small overlap); the first
run on an empty table loads the history back to the lookback. lemcal meetings load when the connection
``lemcal_default`` exists (an admin's choice: it is not a trigger-form field, which could name any
credentials). A run killed mid-stream resumes from its
checkpoint on retry; re-running an interval or backfilling past hours (``airflow backfill create --dag-id
lemlist_warehouse_sync --from-date ... --to-date ...``) leaves the same tables. See docs/warehouse.md.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import dag, task
from airflow.timetables.interval import CronDataIntervalTimetable

from lemlist_provider import allowlists
from lemlist_provider.dag_args import count, from_params, lemlist_dag, text
from lemlist_provider.operators.warehouse import LemlistWarehouseSyncOperator
from lemlist_provider.warehouse.assets import WAREHOUSE_ASSETS
from lemlist_provider.warehouse.streams import STREAMS
from lemlist_provider.warehouse.sync import MAX_LOOKBACK_DAYS, MAX_OVERLAP_MINUTES, row_counts, summary_line


@dag(
    dag_id="lemlist_warehouse_sync",
    # real hourly intervals (the "@hourly" preset gives zero-length ones in Airflow 3), so each run and each
    # backfilled run loads exactly its hour
    schedule=CronDataIntervalTimetable("0 * * * *", timezone="UTC"),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    max_active_runs=1,  # intervals load in order: the first run alone decides "empty table, load history"
    **lemlist_dag(__doc__, "warehouse"),
    params={
        "warehouse_conn_id": text(
            "Warehouse connection",
            "A common-sql connection among the admin's [lemlist] sql_conn_ids. lemlist_warehouse, when not "
            "defined, is a SQLite file in the first output root.",
            "lemlist_warehouse",
            examples=allowlists.examples("sql_conn_ids"),
        ),
        "lemlist_conn_id": text(
            "lemlist connection",
            "Among the admin's [lemlist] lemlist_conn_ids.",
            "lemlist_default",
            examples=allowlists.examples("lemlist_conn_ids"),
        ),
        "lookback_days": count(
            365,
            "History on the first load (days)",
            "How far back the first run on an empty activities table reaches.",
            minimum=1,
            maximum=MAX_LOOKBACK_DAYS,
        ),
        "overlap_minutes": count(
            10,
            "Overlap (minutes)",
            "Each run also re-reads this much before its interval (merged on the id).",
            maximum=MAX_OVERLAP_MINUTES,
        ),
    },  # fmt: skip
)
def lemlist_warehouse_sync():
    loads = [
        LemlistWarehouseSyncOperator(
            task_id=stream,
            stream=stream,
            outlets=[WAREHOUSE_ASSETS[stream]],
            **from_params("lemlist_conn_id", "warehouse_conn_id", "lookback_days", "overlap_minutes"),
        )
        for stream in STREAMS
    ]

    @task(trigger_rule="all_done")
    def summary(params=None) -> dict:
        """Rows in each table after this run's loads (whether or not each succeeded)."""
        counts = row_counts(params["warehouse_conn_id"])
        print(summary_line(counts))
        return counts

    loads >> summary()


lemlist_warehouse_sync()
