"""Airflow plugin of the lemlist project: the "lemlist campaign" button on every lemlist task.

Only the registration lives here (Airflow imports every ``.py`` under ``plugins/`` as a top-level module);
the link itself is ``lemlist_provider.links.LemlistCampaignLink``. It is registered as an
``operator_extra_links`` entry, so it appears on the provider's operators and sensors only (the list comes
from ``LemlistCampaignLink.operators``), not on every task of every DAG as a global link would.
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from lemlist_provider.links import LemlistCampaignLink


class LemlistPlugin(AirflowPlugin):
    """Registers the lemlist campaign link with the API server (which renders extra links in Airflow 3)."""

    name = "lemlist"
    operator_extra_links = [LemlistCampaignLink()]
