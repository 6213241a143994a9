"""The Airflow Asset of each warehouse table, ``lemlist://warehouse/<table>``, beside the event Assets
(``lemlist://events/<family>``), so a dbt or report DAG can be scheduled on a table being refreshed:

    @dag(schedule=[WAREHOUSE_ASSETS["lemlist_activities"]])
"""

from __future__ import annotations

from airflow.sdk import Asset

from .tables import TABLES

WAREHOUSE_ASSETS: dict[str, Asset] = {name: Asset(f"lemlist://warehouse/{name}") for name in TABLES}
