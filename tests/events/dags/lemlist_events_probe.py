"""Test DAG: scheduled on the ``unsubscribed`` family's Asset; returns the emails of the events that ran it."""

from __future__ import annotations

from airflow.sdk import dag, task

from lemlist_provider.events.assets import EVENT_ASSETS

UNSUBSCRIBED = EVENT_ASSETS["unsubscribed"]


@dag(schedule=[UNSUBSCRIBED], catchup=False, tags=["test"])
def lemlist_events_probe():
    @task
    def emails_of_triggering_events(**context) -> list[str]:
        events = context["triggering_asset_events"][UNSUBSCRIBED]
        return sorted(event.extra["payload"]["email"] for event in events)

    emails_of_triggering_events()


lemlist_events_probe()
