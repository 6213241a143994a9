"""The admin's allow-lists (``lemlist_provider.allowlists``, keys in ``[lemlist]``): what passes, what is
refused and how the refusal reads; the webhook receiver admits exactly the same lemlist connections."""

from __future__ import annotations

import pytest
from airflow.sdk.exceptions import AirflowFailException

from lemlist_provider import allowlists, settings
from lemlist_provider.events.config import ReceiverSettings

KEYS = ("LEMLIST_CONN_IDS", "SQL_CONN_IDS", "SQL_TABLES", "WEBHOOK_CONN_ID")


@pytest.fixture(autouse=True)
def _defaults(monkeypatch):
    for key in KEYS:
        monkeypatch.delenv(f"AIRFLOW__LEMLIST__{key}", raising=False)


def _refused(check, param: str, value, key: str) -> str:
    with pytest.raises(allowlists.NotAllowedError) as caught:
        check(param, value)
    assert isinstance(caught.value, AirflowFailException)  # fails the task without retries
    message = str(caught.value)
    assert message.startswith(f"{param}=") and f"[lemlist] {key}" in message, message
    assert f"AIRFLOW__LEMLIST__{key.upper()}" in message
    return message


def test_defaults_let_the_shipped_pipelines_run():
    assert settings.lemlist_conn_ids() == ["lemlist_default"]
    assert allowlists.lemlist_connection("lemlist_conn_id", "lemlist_default") == "lemlist_default"
    for conn_id in ("suppression_db", "lemlist_warehouse"):  # the sync's default, the warehouse's
        assert allowlists.sql_connection("sql_conn_id", conn_id) == conn_id
    for table in ("lemlist_suppression", "lemlist_activities", "lemcal_meetings", "LEMLIST_Suppression"):
        assert allowlists.sql_table("table", table) == table


@pytest.mark.parametrize("value", ["airflow_db", "LEMLIST_DEFAULT", "lemlist_default2", "", None, 5])
def test_a_lemlist_connection_off_the_list_is_refused_naming_param_value_and_list(value):
    message = _refused(allowlists.lemlist_connection, "lemlist_conn_id", value, "lemlist_conn_ids")
    assert f"lemlist_conn_id={value!r}" in message and "allowed: lemlist_default" in message


def test_sql_connection_and_table_off_the_list_are_refused():
    message = _refused(allowlists.sql_connection, "sql_conn_id", "airflow_db", "sql_conn_ids")
    assert "allowed: suppression_db, lemlist_warehouse" in message
    message = _refused(allowlists.sql_table, "table", "customers", "sql_tables")
    assert "table='customers' is not an allowed table; allowed: lemlist_*, lemcal_*" in message
    # a schema-qualified name is its own entry: lemlist_* does not let a run into another schema
    _refused(allowlists.sql_table, "table", "crm.lemlist_suppression", "sql_tables")


@pytest.mark.parametrize(
    "table",
    [
        "lemlist_x; DROP TABLE users",
        "lemlist_x--",
        "1lemlist",
        "a.b.c",
        "lemlist_x\x00",
        "",
        None,
        "lemlist_" + "x" * 60,
    ],
)
def test_table_names_are_identifiers_first(table):
    with pytest.raises(allowlists.NotAllowedError, match=r"^table=.* is not a valid SQL name"):
        allowlists.sql_table("table", table)


def test_an_admin_widens_the_lists(monkeypatch):
    monkeypatch.setenv("AIRFLOW__LEMLIST__LEMLIST_CONN_IDS", "lemlist_default, lemlist_team_b")
    monkeypatch.setenv("AIRFLOW__LEMLIST__SQL_CONN_IDS", "crm_db")
    monkeypatch.setenv("AIRFLOW__LEMLIST__SQL_TABLES", "crm.optout, lemlist_*")
    assert allowlists.lemlist_connection("lemlist_conn_id", " lemlist_team_b ") == "lemlist_team_b"
    assert allowlists.sql_connection("sql_conn_id", "crm_db") == "crm_db"
    assert allowlists.sql_table("table", "CRM.OptOut") == "CRM.OptOut"
    _refused(
        allowlists.sql_connection, "sql_conn_id", "suppression_db", "sql_conn_ids"
    )  # replaced, not added
    monkeypatch.setenv("AIRFLOW__LEMLIST__SQL_TABLES", "")
    _refused(allowlists.sql_table, "table", "lemlist_suppression", "sql_tables")  # an empty list allows none


def test_a_hostile_value_is_quoted_escaped_and_cut():
    value = "x" * 5000 + "\n\x1b[31mFAKE LOG LINE"
    message = _refused(allowlists.lemlist_connection, "lemlist_conn_id", value, "lemlist_conn_ids")
    assert "\n" not in message and "\x1b" not in message and len(message) < 400


def test_form_proposals_are_the_listed_values_without_patterns(monkeypatch):
    monkeypatch.setenv("AIRFLOW__LEMLIST__SQL_TABLES", "lemlist_*, crm.optout")
    assert allowlists.examples("sql_tables") == ["crm.optout"]
    assert allowlists.examples("lemlist_conn_ids") == ["lemlist_default"]


def test_the_webhook_receiver_admits_the_same_connections(monkeypatch):
    assert ReceiverSettings.load().allowed_conn_ids == {"lemlist_default"}
    monkeypatch.setenv("AIRFLOW__LEMLIST__LEMLIST_CONN_IDS", "lemlist_default,lemlist_team_b")
    monkeypatch.setenv("AIRFLOW__LEMLIST__WEBHOOK_ALLOWED_CONN_IDS", "lemlist_old_key")  # no longer read
    loaded = ReceiverSettings.load()
    assert (
        loaded.allowed_conn_ids == set(settings.lemlist_conn_ids()) == {"lemlist_default", "lemlist_team_b"}
    )
    assert loaded.conn_id == "lemlist_default"
    monkeypatch.setenv("AIRFLOW__LEMLIST__WEBHOOK_MAX_BODY_BYTES", "-3")  # out of range: the safe default
    assert ReceiverSettings.load().max_body_bytes == 262144


def test_every_operator_and_sensor_of_the_provider_checks_its_connection():
    """Each declared operator and sensor inherits the base class's check (run before execute and whenever
    the hook is built): a new operator cannot forget it without leaving the base class."""
    import importlib
    import inspect

    from airflow.sdk import BaseOperator

    from lemlist_provider import get_provider_info
    from lemlist_provider.operators.base import LemlistTaskMixin

    info = get_provider_info()
    modules = [
        m for layer in ("operators", "sensors") for entry in info[layer] for m in entry["python-modules"]
    ]
    found = [
        cls
        for module in map(importlib.import_module, modules)
        for _, cls in inspect.getmembers(module, inspect.isclass)
        if cls.__module__ == module.__name__ and issubclass(cls, BaseOperator)
    ]
    assert len(found) >= 8, found
    # the event DAGs' operators act on events the receiver stored and call no lemlist route: no lemlist
    # connection to check (their SQL targets go through allowlists.sql_connection / sql_table)
    no_lemlist_connection = {"LemlistReplyHandoffOperator", "LemlistUnsubscribeEventsOperator"}
    refused = [cls.__name__ for cls in found
               if not issubclass(cls, LemlistTaskMixin) and cls.__name__ not in no_lemlist_connection]  # fmt: skip
    assert not refused
    assert not [cls.__name__ for cls in found if cls.__name__ in no_lemlist_connection
                and "lemlist_conn_id" in cls.template_fields]  # fmt: skip
    from lemlist_provider.operators.account import LemlistAccountOverviewOperator

    probe = LemlistAccountOverviewOperator(task_id="probe", lemlist_conn_id="airflow_db")
    with pytest.raises(allowlists.NotAllowedError):
        probe.pre_execute({})
    with pytest.raises(allowlists.NotAllowedError):
        probe.hook  # noqa: B018
