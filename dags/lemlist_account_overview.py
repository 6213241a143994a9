"""Daily health check of the lemlist account: key valid, credits left, campaigns, suppression list size.

Small on purpose: it is the first DAG to run after configuring a key (and the demo's smoke test), and a
daily early warning before credits run out. Two read-only requests per page, well inside the budget.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import dag

from lemlist_provider import allowlists
from lemlist_provider.dag_args import count, from_params, lemlist_dag, text
from lemlist_provider.operators.account import LemlistAccountOverviewOperator


@dag(
    dag_id="lemlist_account_overview",
    schedule="@daily",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    params={
        "lemlist_conn_id": text(
            "lemlist connection",
            "Airflow connection id, one of the admin's [lemlist] lemlist_conn_ids.",
            default="lemlist_default",
            examples=allowlists.examples("lemlist_conn_ids"),
        ),
        "min_credits": count(
            0, "Minimum credits", "Fail the run when fewer credits than this are left (0 = never)."
        ),
    },  # fmt: skip
    **lemlist_dag(__doc__, retries=2),
)
def lemlist_account_overview():
    LemlistAccountOverviewOperator(
        task_id="summary",
        **from_params("lemlist_conn_id", "min_credits"),
    )


lemlist_account_overview()
