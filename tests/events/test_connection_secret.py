"""The ``webhook_secret`` field of the lemlist connection: a password field in the form, masked in answers."""

from __future__ import annotations

import json


def test_form_has_a_password_field_for_the_webhook_secret():
    from airflow.providers_manager import ProvidersManager

    widget = ProvidersManager().connection_form_widgets["extra__lemlist__webhook_secret"]
    assert widget.is_sensitive
    assert widget.field["schema"]["format"] == "password"
    assert widget.field["schema"]["title"] == "Webhook secret"


def test_airflow_masks_the_secret_wherever_it_shows_a_connection():
    """Airflow's connection answer (REST API and UI) replaces the extra's value with ``***``."""
    from airflow.api_fastapi.core_api.datamodels.connections import ConnectionResponse

    secret = "a-webhook-secret-that-must-not-show"
    shown = ConnectionResponse.model_validate(
        {
            "conn_id": "lemlist_default",
            "conn_type": "lemlist",
            "description": None,
            "host": None,
            "login": None,
            "schema": None,
            "port": None,
            "password": None,
            "extra": json.dumps({"webhook_secret": secret, "rate_limit": 20}),
            "team_name": None,
        }
    )
    assert json.loads(shown.extra) == {"webhook_secret": "***", "rate_limit": 20}
