"""``LocalStoreTask``: the local suppression list of a task, for the unsubscribe sync and the event operator.

Where the list lives (a CSV file inside the output roots, or a table through an Airflow SQL connection from
the admin's allow-lists) is four templated arguments, resolved here once, so an unsubscribe event lands in
the very list the hourly sync keeps. A base class, not an operator of its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowFailException

from lemlist_provider import allowlists, paths
from lemlist_provider.operators.base import KeepArgumentsMixin, given
from lemlist_provider.unsubscribes import SuppressionStore, open_store

DEFAULT_CSV = "suppression_list.csv"
DEFAULT_TABLE = "lemlist_suppression"
#: how the shipped DAGs fill the store arguments, so the sync and the event DAG name one list: the run's Param
#: of the same name when the DAG has one and it is set (the sync's form), else the Variable, else its default
STORE_ARGUMENTS = {
    "store": "{{ params.get('store') or var.value.get('lemlist_suppression_store', 'csv') }}",
    "csv_path": "{{ params.get('csv_path') or var.value.get('lemlist_suppression_csv_path', '') }}",
    "sql_conn_id": "{{ params.get('sql_conn_id') or var.value.get('lemlist_suppression_conn_id', 'suppression_db') }}",
    "table": "{{ params.get('table') or var.value.get('lemlist_suppression_table', 'lemlist_suppression') }}",
}


class LocalStoreTask(KeepArgumentsMixin, BaseOperator):
    """Base of the tasks that write the local suppression list: the unsubscribe sync and
    ``lemlist_unsubscribe_events``, so the events land in the very list the sync keeps, resolved one way.

    :param store: ``csv`` (``csv_path``) or ``sql`` (``sql_conn_id`` + ``table``; created if missing; both
        must be on the admin's allow-lists, ``[lemlist] sql_conn_ids`` and ``sql_tables``)
    :param csv_path: the CSV list, inside the output roots (default ``<first output root>/suppression_list.csv``)
    :param sql_conn_id: an Airflow SQL connection (with ``store="sql"``)
    :param table: the table (default ``lemlist_suppression``)
    """

    template_fields: Sequence[str] = tuple(STORE_ARGUMENTS)
    ui_color = "#fde8e8"

    def __init__(
        self,
        *,
        store: str | None = "csv",
        csv_path: str | None = None,
        sql_conn_id: str | None = None,
        table: str | None = DEFAULT_TABLE,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.keep_arguments(locals())

    def local_store(self) -> SuppressionStore:
        """The list the rendered arguments name: a CSV file inside the output roots (default ``<first output
        root>/suppression_list.csv``) or a table (default ``lemlist_suppression``) through an Airflow SQL
        connection, both from the admin's allow-lists (``[lemlist] sql_conn_ids``, ``sql_tables``). A bad
        value fails the task without retries."""
        kind = given(self.store) or "csv"
        try:
            if kind == "csv":
                location = given(self.csv_path) or paths.default_output(DEFAULT_CSV)
                return open_store(kind, csv_path=paths.output_location("csv_path", location))
            if kind != "sql":
                return open_store(kind)  # refused: an unknown kind
            return open_store(
                kind,
                conn_id=allowlists.sql_connection("sql_conn_id", given(self.sql_conn_id)),
                table=allowlists.sql_table("table", given(self.table) or DEFAULT_TABLE),
            )
        except ValueError as exc:
            raise AirflowFailException(str(exc)) from None
