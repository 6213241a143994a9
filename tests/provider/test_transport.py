"""The transport's guarantees, whatever public method sends: HttpHook's ``run`` family is paced and checked,
a bad path value is refused before anything is sent, and the key reaches only the connection's exact origin."""

from __future__ import annotations

import asyncio
import base64
import io
import random
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from airflow.sdk.exceptions import AirflowFailException
from requests.adapters import BaseAdapter

from lemlist_provider.hooks.async_lemlist import LemlistAsyncHook
from lemlist_provider.hooks.errors import LemlistInvalidIdError, LemlistNotFoundError
from lemlist_provider.hooks.lemlist import LemlistHook


def test_http_hook_run_family_is_paced_and_checked(sandbox, team_key, make_conn):
    hook = LemlistHook(make_conn(sandbox.base_url, team_key))
    team_id = sandbox.team(team_key).id
    before = sandbox.stats()["rate_limited_429"]
    # the http provider's documented loop, in a burst three times the key's 20 requests / 2 s
    answers = [hook.run("team") for _ in range(60)]
    answers += [hook.run_with_advanced_retry({"stop": None}, "team") for _ in range(10)]
    session = hook.get_conn()
    prepared = session.prepare_request(requests.Request("GET", f"{sandbox.base_url}/team"))
    answers += [hook.run_and_check(session, prepared, {}) for _ in range(10)]
    stats = sandbox.stats()
    assert [answer.json()["_id"] for answer in answers] == [team_id] * 80
    assert stats["rate_limited_429"] == before  # 0 x 429 counted at the sandbox
    assert stats["requests_by_team"][team_id] == hook.metrics()["requests"] == 80
    assert hook.metrics()["waited_seconds"] >= 5.0  # the limiter, not luck, kept it under the budget

    with pytest.raises(LemlistNotFoundError):  # the error policy too, not check_response's bare 404
        hook.run("campaigns/cam_missing")
    unchecked = hook.run("campaigns/cam_missing", extra_options={"check_response": False})
    assert unchecked.status_code == 404
    created = LemlistHook(hook.lemlist_conn_id, method="POST").run("campaigns", json={"name": "via run"})
    assert created.json()["name"] == "via run"


BAD_VALUES = [
    ("get_campaign", ("..",), "campaign_id"),
    ("get_campaign", ("",), "campaign_id"),
    ("get_campaign", (".",), "campaign_id"),
    ("get_campaign", ("lea_8xJSc7sV7ggpiVnXe",), "campaign_id"),  # an id of another kind
    ("get_campaign", ("cam_a/../../team",), "campaign_id"),
    ("get_export_status", ("cam_abc", ".."), "export_id"),
    ("get_enrichment", ("..",), "enrich_id"),
    ("get_campaign_lead", ("cam_abc", "Ada Lovelace"), "lead"),  # neither a lead id nor an email
    ("email_export", ("cam_abc", "axp_abc", "nobody"), "email"),
    ("add_unsubscribe", ("..",), "value"),
    ("remove_unsubscribe", (" ",), "value"),
    ("start_lemwarm", ("usm_a\nb",), "mailbox_id"),
    ("delete_webhook", (None,), "hook_id"),
]


@pytest.mark.parametrize(
    "method,args,slot", BAD_VALUES, ids=[f"{m}-{s}-{i}" for i, (m, _, s) in enumerate(BAD_VALUES)]
)
def test_bad_path_value_is_refused_before_sending(sandbox, team_key, make_conn, method, args, slot):
    hook = LemlistHook(make_conn(sandbox.base_url, team_key))
    before = sandbox.stats()["total_requests"]
    with pytest.raises(LemlistInvalidIdError) as err:
        getattr(hook, method)(*args)
    assert isinstance(err.value, AirflowFailException)  # a task retry would send the same value again
    assert f": {slot} " in str(err.value) and "nothing was sent" in str(err.value)
    assert hook.metrics()["requests"] == 0 and sandbox.stats()["total_requests"] == before


def test_bad_path_value_is_refused_by_the_async_hook_and_request(sandbox, team_key, make_conn):
    conn_id = make_conn(sandbox.base_url, team_key)
    before = sandbox.stats()["total_requests"]

    async def poll():
        async with LemlistAsyncHook(conn_id) as hook:
            await hook.get_export_status("cam_abc", "..")

    with pytest.raises(LemlistInvalidIdError, match="export_id"):
        asyncio.run(poll())
    with pytest.raises(LemlistInvalidIdError, match="campaign_id"):
        LemlistHook(conn_id).request("GET", "/campaigns/{campaign_id}", path_params={"campaign_id": ".."})
    assert sandbox.stats()["total_requests"] == before


def test_emails_and_domains_are_valid_path_values(sandbox, team_key, make_conn):
    hook = LemlistHook(make_conn(sandbox.base_url, team_key))
    for value in ("ada+x@example.com", "@example.org", "Ada.O'Neil@Example.COM"):
        hook.add_unsubscribe(value)
    assert {u["value"] for u in hook.list_unsubscribes()} >= {"ada+x@example.com", "@example.org"}
    campaign_id = hook.create_campaign("Slots")["_id"]
    hook.add_lead_to_campaign(campaign_id, "a.b@example.com")
    assert hook.get_campaign_lead(campaign_id, "a.b@example.com")["email"] == "a.b@example.com"


class _Echo(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802
        self.server.seen.append({k.lower(): v for k, v in self.headers.items()})
        body = b'{"name": "echo"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def _serve(port: int = 0) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", port), _Echo)
    server.seen = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_extras_never_sent_as_headers_and_basic_auth_with_empty_login(make_conn):
    server = _serve()
    try:
        extra = {"rate_limit": 7, "rate_window": 3.0, "timeout": 9}
        hook = LemlistHook(make_conn(f"http://127.0.0.1:{server.server_port}/api", "k-123", **extra))
        assert hook.get_team() == {"name": "echo"}
        assert (hook.rate_limit, hook.rate_window, hook.timeout) == (7, 3.0, 9.0)
    finally:
        server.shutdown()
    assert not {"rate_limit", "rate_window", "timeout"} & set(server.seen[-1])
    assert server.seen[-1]["authorization"] == "Basic " + base64.b64encode(b":k-123").decode()
    assert hook.get_conn() is hook.get_conn()  # one cached session


@pytest.fixture
def echo_pair():
    """Two echo servers whose ports are a prefix of each other (``:1234`` and ``:12345``): the first is the
    connection's base URL, the second another origin that a prefix comparison would take for the first."""
    for _ in range(50):
        port = random.randint(1024, 6553)
        try:
            api = _serve(port)
        except OSError:
            continue
        try:
            other = _serve(port * 10 + random.randint(0, 9))
        except OSError:
            api.shutdown()
            continue
        yield api, other
        api.shutdown()
        other.shutdown()
        return
    pytest.skip("no free pair of prefix ports on this machine")


def test_the_key_goes_only_to_the_connections_exact_origin(echo_pair, make_conn):
    api, other = echo_pair
    key = "k-exact-origin-123"
    basic = "Basic " + base64.b64encode(f":{key}".encode()).decode()
    hook = LemlistHook(make_conn(f"http://127.0.0.1:{api.server_port}/api", key))
    elsewhere = [
        f"http://127.0.0.1:{other.server_port}/export.csv",  # another port that starts like ours
        f"http://127.0.0.1:{api.server_port}@127.0.0.1:{other.server_port}/export.csv",  # user info
    ]
    for url in elsewhere:
        assert hook.download_export(url, io.BytesIO()) > 0
    assert (
        hook.download_export(f"http://localhost:{api.server_port}/x.csv", io.BytesIO()) > 0
    )  # other spelling
    assert hook.download_export(f"http://127.0.0.1:{api.server_port}/x.csv", io.BytesIO()) > 0  # the origin
    assert len(other.seen) == 2 and len(api.seen) == 2
    assert all("authorization" not in headers and key not in str(headers) for headers in other.seen)
    assert "authorization" not in api.seen[0] and api.seen[1]["authorization"] == basic

    async def fetch():
        async with LemlistAsyncHook(hook.lemlist_conn_id) as async_hook:
            await async_hook.request("GET", elsewhere[0])
            await async_hook.request("GET", f"http://127.0.0.1:{api.server_port}/x.csv")

    asyncio.run(fetch())
    assert "authorization" not in other.seen[-1] and api.seen[-1]["authorization"] == basic
    assert hook.metrics()["requests"] == 4


class _Recorder(BaseAdapter):
    """Stands in for the network for host names that do not resolve here: records what would be sent."""

    def __init__(self):
        super().__init__()
        self.sent: list[requests.PreparedRequest] = []

    def send(self, request, **kwargs):
        self.sent.append(request)
        response = requests.Response()
        response.status_code, response.raw, response.request = 200, io.BytesIO(b"x"), request
        response.headers["Content-Type"] = "text/csv"
        return response

    def close(self):
        pass


@pytest.mark.parametrize(
    "url",
    [
        "https://api.lemlist.com.evil.net/export.csv",
        "https://api.lemlist.com@evil.net/export.csv",
        "https://evil.net\\@api.lemlist.com/export.csv",
        "http://api.lemlist.com/export.csv",  # the API's host, but not its scheme
        "https://api.lemlist.com:8443/export.csv",
    ],
)
def test_lookalike_hosts_never_get_the_key(make_conn, url):
    hook = LemlistHook(make_conn("https://api.lemlist.com/api", "k-lookalike-123"))
    recorder = _Recorder()
    for prefix in ("http://", "https://"):
        hook.get_conn().mount(prefix, recorder)
    hook.download_export(url, io.BytesIO())
    hook.download_export("https://api.lemlist.com/exports/x.csv", io.BytesIO())
    lookalike, own = recorder.sent
    assert "Authorization" not in lookalike.headers and "k-lookalike-123" not in str(lookalike.headers)
    assert own.headers["Authorization"].startswith("Basic ")
