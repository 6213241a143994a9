"""Make lemlist's webhooks match what this deployment's event DAGs need (manual).

Reads lemlist's hooks (`GET /hooks`), plans, and applies: deletions first, then creations, never a duplicate
(identity: target URL, types, campaign, isFirst), never above lemlist's 200 hooks (a plan that would be is
refused whole), and only this deployment's hooks are ever deleted (their URL carries
`airflow_lemlist=<[lemlist] webhook_owner>`). The report (XCom `return_value`) lists what was created, kept,
deleted and left alone.

Where lemlist sends (`[lemlist] webhook_receiver_url`) and the owner tag are admin settings, not form fields:
the hooks carry the connection's `webhook_secret`, so whoever chooses their URL receives the secret.
By default one hook subscribes to what the event DAGs use: unsubscribes, hard bounces (unless
`[lemlist] events_suppress_bounces` is off), replies and interest, each channel's event only.
"""

from __future__ import annotations

from airflow.sdk import Param, dag

from lemlist_provider.dag_args import campaign, flag, from_params, lemlist_dag
from lemlist_provider.operators.events import LemlistWebhooksSetupOperator


@dag(
    dag_id="lemlist_webhooks_setup",
    schedule=None,
    max_active_runs=1,
    **lemlist_dag(__doc__, "events"),
    params={
        "hooks": Param(
            None,
            type=["null", "array"],
            items={"type": "object"},
            title="Declared hooks",
            description='Empty: what the event DAGs use. Else a list of {"types": [...], "campaign_id": "cam_...", '
            '"is_first": false}; types are lemlist event types (empty list: every event).',
        ),
        "campaign_id": campaign(
            "Campaign", "Restrict the default hooks to one campaign (cam_...). Empty: all."
        ),
        "recreate": flag(
            "Recreate our hooks",
            "Delete and create every hook of ours, e.g. after the webhook secret changed.",
        ),
        "dry_run": flag("Dry run", "Plan and report; change nothing at lemlist."),
    },
)
def lemlist_webhooks_setup():
    LemlistWebhooksSetupOperator(
        task_id="sync_hooks",
        **from_params("hooks", "campaign_id", "recreate", "dry_run"),
    )


lemlist_webhooks_setup()
