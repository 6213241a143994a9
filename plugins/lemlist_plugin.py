"""Airflow plugin of the lemlist project: the "lemlist campaign" button on every lemlist task, and the
webhook receiver app (``lemlist_provider.events.receiver``) mounted by the API server at ``/lemlist``:
``POST /lemlist/webhooks`` (lemlist's hooks), ``POST /lemlist/webhooks/enrichment`` (enrichment callbacks),
``GET /lemlist/events/summary`` (Airflow login). See docs/events.md. The same app serves the ops page,
``GET /lemlist/ops`` (Airflow login, ``lemlist_provider.ops.page``), which ``external_views`` puts in the UI's
navigation: Airflow shows it in its own frame at ``/plugin/lemlist-ops``. See docs/operating.md.

Only the registration lives here (Airflow imports every ``.py`` under ``plugins/`` as a top-level module);
the link itself is ``lemlist_provider.links.LemlistCampaignLink``. It is registered as an
``operator_extra_links`` entry, so it appears on the provider's operators and sensors only (the list comes
from ``LemlistCampaignLink.operators``), not on every task of every DAG as a global link would.
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from lemlist_provider.events.receiver import app as events_app
from lemlist_provider.links import LemlistCampaignLink


class LemlistPlugin(AirflowPlugin):
    """Registers the campaign link and the events app with the API server."""

    name = "lemlist"
    operator_extra_links = [LemlistCampaignLink()]
    fastapi_apps = [{"name": "lemlist-events", "app": events_app, "url_prefix": "/lemlist"}]
    external_views = [
        {"name": "lemlist ops", "href": "/lemlist/ops", "url_route": "lemlist-ops", "destination": "nav",
         "nav_top_level": True},
    ]  # fmt: skip
