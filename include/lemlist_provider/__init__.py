"""Apache Airflow provider for lemlist (and lemcal): rate-limited hooks, operators, sensors and triggers.

``get_provider_info()`` is registered under the ``apache_airflow_provider`` entry point and says what a
provider.yaml would: the modules of its hooks, operators, sensors and triggers, its notifier and extra link,
the ``[lemlist]`` config section (see :mod:`lemlist_provider.settings`), and the ``lemlist`` and ``lemcal``
connection types, whose forms Airflow 3.2+ reads declaratively from ``conn-fields`` and
``ui-field-behaviour``, without importing the hook.
"""

from __future__ import annotations

__version__ = "0.1.0"

_RATE_FIELDS = {
    "rate_limit": {
        "label": "Requests per window",
        "description": "Rate budget of the API key: requests allowed per window (lemlist: 20). 0 disables pacing.",
        "schema": {"type": ["integer", "null"], "default": 20, "minimum": 0},
    },
    "rate_window": {
        "label": "Window (seconds)",
        "description": "Length of the rate window in seconds (lemlist: 2.0).",
        "schema": {"type": ["number", "null"], "default": 2.0, "minimum": 0.1},
    },
    "timeout": {
        "label": "Request timeout (seconds)",
        "description": "Per-request timeout; a timeout is retried with backoff like a 5xx.",
        "schema": {"type": ["number", "null"], "default": 30.0, "minimum": 1},
    },
}

# The secret lemlist puts in every webhook body; the receiver compares it (lemlist_provider.events).
# "format": "password" makes the form field a password field; the key's "secret" makes Airflow mask it.
_WEBHOOK_FIELDS = {
    "webhook_secret": {
        "label": "Webhook secret",
        "description": "Secret of the webhooks lemlist sends to Airflow (at least 16 characters).",
        "schema": {"type": ["string", "null"], "format": "password", "minLength": 16},
    },
}


DOMAINS = ("account", "enrichment", "events", "exports", "lead_import", "unsubscribes", "warehouse")


def _modules(layer: str, names: tuple[str, ...]) -> list[dict]:
    return [
        {"integration-name": "lemlist", "python-modules": [f"lemlist_provider.{layer}.{n}" for n in names]}
    ]


def get_provider_info() -> dict:
    """Provider metadata read by Airflow's ProvidersManager."""
    from lemlist_provider.settings import provider_config

    return {
        "package-name": "airflow-provider-lemlist",
        "name": "lemlist",
        "description": "lemlist and lemcal: rate-limited hooks, lead import, enrichment, unsubscribes, exports.",
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": "lemlist",
                "external-doc-url": "https://developer.lemlist.com/",
                "tags": ["service"],
            }
        ],
        "hooks": [
            {
                "integration-name": "lemlist",
                "python-modules": [
                    "lemlist_provider.hooks.lemlist",
                    "lemlist_provider.hooks.async_lemlist",
                    "lemlist_provider.hooks.lemcal",
                ],
            }
        ],
        "operators": _modules("operators", DOMAINS),
        "sensors": _modules("sensors", ("enrichment", "exports")),
        "triggers": _modules("triggers", ("enrichment", "exports")),
        "extra-links": ["lemlist_provider.links.LemlistCampaignLink"],
        "notifications": [
            "lemlist_provider.notifiers.LemlistIncidentNotifier",
            "lemlist_provider.notifiers.LemlistHandoffNotifier",
        ],
        "config": provider_config(),
        "connection-types": [
            {
                "connection-type": "lemlist",
                "hook-class-name": "lemlist_provider.hooks.lemlist.LemlistHook",
                "hook-name": "lemlist",
                "ui-field-behaviour": {
                    "hidden-fields": ["login", "schema", "port"],
                    "relabeling": {"password": "API Key", "host": "Base URL"},
                    "placeholders": {"host": "https://api.lemlist.com/api", "password": "lemlist API key"},
                },
                "conn-fields": {**_RATE_FIELDS, **_WEBHOOK_FIELDS},
            },
            {
                "connection-type": "lemcal",
                "hook-class-name": "lemlist_provider.hooks.lemcal.LemcalHook",
                "hook-name": "lemcal",
                "ui-field-behaviour": {
                    "hidden-fields": ["schema", "port"],
                    "relabeling": {"login": "User ID", "password": "API Key", "host": "Base URL"},
                    "placeholders": {
                        "host": "https://api.lemcal.com/api/lemcal",
                        "login": "usr_...",
                        "password": "lemcal API key",
                    },
                },
                "conn-fields": dict(_RATE_FIELDS),
            },
        ],
    }
