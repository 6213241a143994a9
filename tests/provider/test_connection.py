"""The connection form (via ProvidersManager), extras never sent as headers, env var connections, lemcal."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

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


class _Echo(BaseHTTPRequestHandler):
    seen: list[dict] = []

    def do_GET(self):  # noqa: N802
        _Echo.seen.append(dict(self.headers))
        body = json.dumps({"name": "echo"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_extras_never_sent_as_headers_and_basic_auth_with_empty_login(make_conn):
    server = HTTPServer(("127.0.0.1", 0), _Echo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        conn_id = make_conn(
            f"http://127.0.0.1:{server.server_port}/api", "k-123", rate_limit=7, rate_window=3.0, timeout=9
        )
        hook = LemlistHook(conn_id)
        assert hook.get_team() == {"name": "echo"}
        assert (hook.rate_limit, hook.rate_window, hook.timeout) == (7, 3.0, 9.0)
    finally:
        server.shutdown()
    headers = {k.lower(): v for k, v in _Echo.seen[-1].items()}
    assert not {"rate_limit", "rate_window", "timeout"} & set(headers)
    import base64

    assert headers["authorization"] == "Basic " + base64.b64encode(b":k-123").decode()
    assert hook.get_conn() is hook.get_conn()  # one cached session


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
