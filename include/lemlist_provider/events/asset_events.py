"""Asset events for a batch of webhook events: Airflow's registration once per Asset, plain rows for the rest.

``AssetManager.register_asset_change`` does, for each event, what a batch needs once per Asset: look the
Asset up with its scheduled DAGs, find the DAGs to queue (aliases, name and URI references, teams) and
queue their runs. At hundreds of events per second that lookup is most of the receiver's CPU. So, within one
transaction, every event of an Asset but the last is written as the ``AssetEvent`` row
``register_asset_change`` would write for an API event without alias or partition (its ``extra``, the
``asset.updates`` metric, the listeners' ``on_asset_event_emitted``/``on_asset_changed`` after the commit), and
the last one goes through ``register_asset_change`` itself, which queues the DAG runs for all of them: their
rows are in the same transaction and dated before its queue entry.

Airflow's own path is used for every event when the deployment changes how asset events are registered: a
custom ``[core] asset_manager_class`` may act on each event, and ``[core] multi_team`` filters consumers.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

DEFAULT_MANAGER = "airflow.assets.manager.AssetManager"


def batching_allowed() -> bool:
    """Plain rows only with Airflow's own asset manager and without multi-team filtering."""
    from airflow.configuration import conf

    manager = conf.get("core", "asset_manager_class", fallback=DEFAULT_MANAGER) or DEFAULT_MANAGER
    return manager == DEFAULT_MANAGER and not conf.getboolean("core", "multi_team", fallback=False)


def register(session: Session, uri: str, extra: dict[str, Any], callbacks: list[Callable[[], None]]) -> Any:
    """Airflow's full registration of one event (queues the DAG runs); None when the Asset is gone."""
    from airflow.assets.manager import asset_manager
    from airflow.serialization.definitions.assets import SerializedAssetUniqueKey

    return asset_manager.register_asset_change(
        asset=SerializedAssetUniqueKey(name=uri, uri=uri),
        extra=extra,
        source_is_api=True,
        session=session,
        callback_sink=callbacks,
    )


class PlainEvents:
    """Writes the plain rows of one transaction; the listeners' asset is read once per Asset, and only when
    listeners are installed."""

    def __init__(self, session: Session) -> None:
        from airflow.listeners.listener import get_listener_manager

        self.session = session
        self.listening = get_listener_manager().has_listeners
        self._assets: dict[int, Any] = {}

    def add(self, asset_id: int, extra: dict[str, Any], callbacks: list[Callable[[], None]]) -> Any:
        from airflow._shared.observability.metrics import stats
        from airflow.models.asset import AssetEvent

        event = AssetEvent(asset_id=asset_id, extra=extra)
        self.session.add(event)
        stats.incr("asset.updates")
        if self.listening:
            callbacks.extend(self._notifications(asset_id, extra))
        return event

    def _notifications(self, asset_id: int, extra: dict[str, Any]) -> list[Callable[[], None]]:
        from airflow.assets.manager import asset_manager
        from airflow.listeners.types import AssetEvent as ListenerAssetEvent
        from airflow.models.asset import AssetModel

        if asset_id not in self._assets:
            self._assets[asset_id] = self.session.get(AssetModel, asset_id).to_serialized()
        asset = self._assets[asset_id]
        emitted = ListenerAssetEvent(
            asset=asset, extra=extra, source_dag_id=None, source_task_id=None, source_run_id=None,
            source_map_index=None, source_aliases=[], partition_key=None,
        )  # fmt: skip
        return [
            partial(asset_manager.notify_asset_changed, asset=asset),
            partial(asset_manager.nofity_asset_event_emitted, asset_event=emitted),
        ]
