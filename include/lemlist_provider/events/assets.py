"""The Airflow Asset of each event family, for DAGs scheduled on lemlist events.

    from lemlist_provider.events.assets import EVENT_ASSETS

    @dag(schedule=[EVENT_ASSETS["unsubscribed"]])
    def on_unsubscribe(): ...

Each Asset's name and URI are both ``lemlist://events/<family>``, so ``Asset("lemlist://events/replied")``
written by hand in a DAG is the same Asset.
"""

from __future__ import annotations

from airflow.sdk import Asset

from .families import FAMILIES

EVENT_ASSETS: dict[str, Asset] = {family.name: Asset(family.uri) for family in FAMILIES}
