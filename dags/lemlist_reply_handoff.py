"""Hand leads that reply or become interested to sales (scheduled on lemlist events).

Runs when the webhook receiver stores a `replied` or `interested` event: one row per lead in a SQL table
(`[lemlist] reply_handoff_conn_id`, any common-sql connection; default a SQLite file
`output/lemlist_reply_handoff.sqlite`; table `[lemlist] reply_handoff_table`, default `lemlist_reply_handoff`),
upserted so that a repeated event changes nothing, then `LemlistHandoffNotifier` for the leads that are new
or became interested (one log line; give it a `sink` such as the Slack provider's notifier to post them).
"""

from __future__ import annotations

from airflow.sdk import dag

from lemlist_provider.dag_args import lemlist_dag
from lemlist_provider.events.assets import EVENT_ASSETS
from lemlist_provider.operators.events import LemlistReplyHandoffOperator


@dag(
    dag_id="lemlist_reply_handoff",
    schedule=EVENT_ASSETS["replied"] | EVENT_ASSETS["interested"],
    max_active_runs=1,  # one writer of the table at a time
    **lemlist_dag(__doc__, "events", pool=None),
)
def lemlist_reply_handoff():
    LemlistReplyHandoffOperator(task_id="handoff")


lemlist_reply_handoff()
