"""Suppress people seconds after they unsubscribe or hard-bounce (scheduled on lemlist events).

Runs when the webhook receiver stores an `unsubscribed` event (and a `bounced` one, unless
`[lemlist] events_suppress_bounces` is off): every event that queued the run adds its email to the local
suppression list, the same list and the same store code as `lemlist_unsubscribe_sync` (Variables
`lemlist_suppression_store`, `_csv_path`, `_conn_id`, `_table`; default `output/suppression_list.csv`). A person
already listed is not added again; soft bounces and events without an email are logged with the reason.
The hourly sync stays the safety net for anything that did not arrive as an event.
"""

from __future__ import annotations

from functools import reduce
from operator import or_

from airflow.sdk import dag

from lemlist_provider.dag_args import lemlist_dag
from lemlist_provider.events.assets import EVENT_ASSETS
from lemlist_provider.events.config import unsubscribe_families
from lemlist_provider.operators.events import LemlistUnsubscribeEventsOperator
from lemlist_provider.operators.local_store import STORE_ARGUMENTS


@dag(
    dag_id="lemlist_unsubscribe_events",
    schedule=reduce(or_, (EVENT_ASSETS[family] for family in unsubscribe_families())),
    max_active_runs=1,  # one writer of the list at a time
    **lemlist_dag(__doc__, "events", "compliance", pool=None),
)
def lemlist_unsubscribe_events():
    LemlistUnsubscribeEventsOperator(task_id="suppress", **STORE_ARGUMENTS)


lemlist_unsubscribe_events()
