"""The connection form (via ProvidersManager), env var connections, lemcal (extras as headers: test_transport)."""

from __future__ import annotations

import json

from lemlist_provider.hooks.lemcal import LemcalHook
from lemlist_provider.hooks.lemlist import LemlistHook


def test_provider_registers_lemlist_and_lemcal_forms():
    from airflow.providers_manager import ProvidersManager

    pm = ProvidersManager()
    assert "airflow-provider-lemlist" in pm.providers
    behaviours = pm.field_behaviours
    lemlist = behaviours["lemlist"]
    assert set(lemlist["hidden_fields"]) == {"login", "schema", "port"}
    assert lemlist["relabeling"] == {"password": "API Key", "host": "Base URL"}
    assert lemlist["placeholders"]["host"] == "https://api.lemlist.com/api"
    assert behaviours["lemcal"]["relabeling"]["login"] == "User ID"
    widgets = pm.connection_form_widgets
    rate = widgets["extra__lemlist__rate_limit"].field
    assert rate["schema"]["title"] == "Requests per window" and rate["value"] == 20
    assert widgets["extra__lemlist__rate_window"].field["value"] == 2.0
    assert "extra__lemlist__timeout" in widgets
    hooks = pm.hooks
    assert hooks["lemlist"].hook_class_name == "lemlist_provider.hooks.lemlist.LemlistHook"


def test_default_conn_from_env_and_host_default(monkeypatch, sandbox, team_key):
    monkeypatch.setenv(
        "AIRFLOW_CONN_LEMLIST_DEFAULT",
        json.dumps({"conn_type": "lemlist", "host": sandbox.base_url, "password": team_key}),
    )
    hook = LemlistHook()
    assert hook.test_connection()[0]
    monkeypatch.setenv("AIRFLOW_CONN_LEMLIST_NOHOST", json.dumps({"conn_type": "lemlist", "password": "x"}))
    bare = LemlistHook("lemlist_nohost")
    bare.get_conn()
    assert bare.base_url == "https://api.lemlist.com/api"


def test_lemcal_hook_uses_user_id_login(sandbox, team_key, make_conn):
    user_id = sandbox.team(team_key).user_id
    hook = LemcalHook(make_conn(f"{sandbox.base_url}/lemcal", team_key, conn_type="lemcal", login=user_id))
    assert isinstance(hook.list_meetings(), list)
    assert isinstance(hook.list_meeting_types(), list)
    created = hook.create_hook("https://example.com/hook", any_meeting_type=True)
    hook.delete_hook(created["_id"])
    assert hook.test_connection()[0]
    # lemcal's own surface: none of lemlist's routes exist there
    assert not hasattr(hook, "get_campaign") and not hasattr(hook, "add_lead_to_campaign")
