"""Daily health check of the lemlist account: key valid, credits left, campaigns, suppression list size.

Small on purpose: it is the first DAG to run after configuring a key (and the demo's smoke test), and a
daily early warning before credits run out. Two read-only requests per page, well inside the budget.
"""

from __future__ import annotations

from collections import Counter

import pendulum
from airflow.sdk import Param, dag, task

from lemlist_provider.hooks.lemlist import LemlistHook
from lemlist_provider.notifiers import default_lemlist_args


@dag(
    dag_id="lemlist_account_overview",
    schedule="@daily",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["lemlist"],
    params={
        "lemlist_conn_id": Param(
            "lemlist_default", type="string", title="lemlist connection", description="Airflow connection id"
        ),
        "min_credits": Param(
            0,
            type="integer",
            minimum=0,
            title="Minimum credits",
            description="Fail the run when fewer credits than this are left (0 = never).",
        ),
    },
    default_args=default_lemlist_args(retries=2),
    doc_md=__doc__,
)
def lemlist_account_overview():
    @task(pool="lemlist_api")
    def summary(params: dict | None = None) -> dict:
        params = params or {}
        hook = LemlistHook(params.get("lemlist_conn_id", "lemlist_default"))
        team = hook.get_team()
        credits = hook.get_credits().get("credits")
        campaigns = hook.list_campaigns()
        unsubscribes = hook.list_unsubscribes()
        metrics = hook.metrics()
        result = {
            "team_name": team.get("name"),
            "credits": credits,
            "campaigns": len(campaigns),
            "campaigns_by_status": dict(Counter(c.get("status", "unknown") for c in campaigns)),
            "unsubscribes": len(unsubscribes),
            "requests": int(metrics.get("requests", 0)),
            "rate_limited": int(metrics.get("rate_limited", 0)),
            "retries": int(metrics.get("retries", 0)),
        }
        minimum = int(params.get("min_credits") or 0)
        if minimum and (credits or 0) < minimum:
            raise ValueError(f"only {credits} lemlist credits left, below the minimum of {minimum}")
        return result

    summary()


lemlist_account_overview()
