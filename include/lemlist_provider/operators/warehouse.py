"""``LemlistWarehouseSyncOperator``: one warehouse table for the run's data interval.

An operator (not a bare ``@task``) so a warehouse load is a lemlist task like the others: the
``lemlist_api`` pool, the allow-listed and templated ``lemlist_conn_id``, the hook whose figures go to the ops
page and Airflow's metrics. The loading itself is ``warehouse.sync.sync_stream`` (see docs/warehouse.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow.sdk.exceptions import AirflowFailException

from lemlist_provider.operators.base import LemlistBaseOperator
from lemlist_provider.warehouse.database import DEFAULT_CONN_ID
from lemlist_provider.warehouse.sync import check_window_settings, run_interval, sync_stream


class LemlistWarehouseSyncOperator(LemlistBaseOperator):
    """Load the table ``stream`` (``lemlist_activities``, ``lemlist_campaigns``, ...) for the run's data
    interval into the common-sql connection ``warehouse_conn_id``; returns the stream's summary (table,
    interval, rows, requests).

    :param stream: a table name of ``warehouse.streams.STREAMS``
    :param warehouse_conn_id: a connection among ``[lemlist] sql_conn_ids``
    :param lookback_days: how far back the first load of an empty activities table reaches
    :param overlap_minutes: each run also re-reads this much before its interval (merged on the id)
    """

    template_fields: Sequence[str] = (
        *LemlistBaseOperator.template_fields, "warehouse_conn_id", "lookback_days", "overlap_minutes",
    )  # fmt: skip
    ui_color = "#e8f0fd"

    def __init__(
        self,
        *,
        stream: str,
        warehouse_conn_id: str = DEFAULT_CONN_ID,
        lookback_days: Any = 365,
        overlap_minutes: Any = 10,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.keep_arguments(locals())

    def execute(self, context: Any) -> dict[str, Any]:
        start, end = run_interval(
            context.get("data_interval_start"), context.get("data_interval_end"), context["dag_run"].run_after
        )
        try:
            lookback_days, overlap_minutes = float(self.lookback_days), float(self.overlap_minutes)
            check_window_settings(lookback_days, overlap_minutes)
        except (TypeError, ValueError) as exc:  # the same values would fail every retry
            raise AirflowFailException(f"lemlist warehouse {self.stream}: {exc}") from None
        summary = sync_stream(
            self.stream,
            start,
            end,
            lemlist=self.hook,
            warehouse_conn_id=self.warehouse_conn_id,
            lookback_days=lookback_days,
            overlap_minutes=overlap_minutes,
        )
        self.note_ops(rows=summary["rows"])
        return summary
