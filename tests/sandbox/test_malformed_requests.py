"""Issue 14's examples, each a regression test: malformed input gets lemlist's 4xx in the documented
shape, never a 500, and the server keeps its connections whatever happens in a route."""

from __future__ import annotations

import http.client
import json
from urllib.parse import urlsplit

import pytest
import requests

from lemlist_sandbox import SandboxServer

TEXT, JSON = "text/plain", "application/json"
BIG = 10**20  # seconds: a date far past the year 9999


@pytest.fixture
def api(sandbox, team_key):
    session = requests.Session()
    session.auth = ("", team_key)

    def call(method: str, path: str, **kwargs) -> requests.Response:
        return session.request(method, sandbox.base_url + path, timeout=10, **kwargs)

    return call


@pytest.fixture
def campaign_id(api) -> str:
    return api("POST", "/campaigns", json={"name": "Malformed"}).json()["_id"]


# (method, path, request keywords, documented error content type). ``{campaignId}`` is a real campaign.
MALFORMED = [
    ("PATCH", "/tasks", {"json": {"id": [None, None]}}, TEXT),
    ("POST", "/campaigns/{campaignId}/duplicate", {"data": b"\x00 not json"}, JSON),
    ("POST", "/contacts/lists", {}, TEXT),
    ("POST", "/database/people", {"json": {"filters": [{"filterId": {}}]}}, TEXT),
    ("POST", "/database/companies", {"json": {"filters": [{"filterId": "country", "in": 5}]}}, TEXT),
    ("POST", "/inbox/email", {"json": {"sendUserId": [None, None]}}, TEXT),
    ("POST", "/inbox/linkedin", {"json": {"sendUserId": [None, None], "contactId": "ctc_x", "message": "m"}}, TEXT),
    ("POST", "/v2/campaigns/stats/batch", {"json": {"campaignIds": ["cam_1"], "endDate": [None, None]}}, TEXT),
    ("POST", "/companies", {"json": {"domain": ["a.example", "b.example"]}}, JSON),
    ("POST", "/contacts", {"json": {"companyId": [None, None], "email": "a@b.example"}}, JSON),
    ("POST", "/tasks/ignore", {"json": {"ids": [{}]}}, TEXT),
    ("POST", "/user/email-accounts", {"json": {"userId": [None, None]}}, TEXT),
    ("POST", "/overview/activities/leadIds", {"json": {"minDate": BIG}}, TEXT),
    ("POST", "/overview/activities/export", {"json": {"minDate": str(BIG)}}, TEXT),
    ("POST", "/overview/leads/ids", {"json": {"campaignIds": 5}}, TEXT),
    ("GET", "/activities", {"params": {"minDate": str(BIG)}}, TEXT),
    ("POST", "/schedules", {"json": {"name": "s", "timezone": "UTC", "start": "09:00", "end": "18:00",
                                     "weekdays": [1], "public": {}}}, JSON),
    ("PATCH", "/campaigns/{campaignId}", {"json": {"sendUserIds": [{}]}}, TEXT),
    ("POST", "/campaigns/{campaignId}/leads/", {"data": b"[" * 100_000}, TEXT),
]  # fmt: skip


@pytest.mark.parametrize(("method", "path", "request_kwargs", "media"), MALFORMED)
def test_malformed_input_is_a_documented_400(api, campaign_id, method, path, request_kwargs, media):
    response = api(method, path.format(campaignId=campaign_id), **request_kwargs)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith(media), response.headers["content-type"]
    if media == JSON:
        assert response.json()  # a body of the documented shape (the fuzz test checks the schema)


def test_schedules_store_public_only_as_a_boolean(api):
    created = api(
        "POST",
        "/schedules",
        json={
            "name": "s",
            "timezone": "UTC",
            "start": "09:00",
            "end": "18:00",
            "weekdays": [1],
            "public": True,
        },
    ).json()
    assert api("PATCH", f"/schedules/{created['_id']}", json={"public": {}}).status_code == 400
    listed = api("GET", "/schedules").json()["schedules"]
    assert all(isinstance(s["public"], bool) for s in listed)
    assert api("GET", f"/schedules/{created['_id']}").json()["public"] is True


def test_campaign_send_users_have_string_ids(api, campaign_id, sandbox, team_key):
    user_id = sandbox.team(team_key).user_id
    settings = api("PATCH", f"/campaigns/{campaign_id}", json={"sendUserIds": [user_id]}).json()
    assert settings["sendUsers"] == [{"id": user_id, "mailboxes": []}]


def test_bulk_enrichment_with_a_malformed_input_charges_nothing(api, sandbox, team_key):
    before = sandbox.team(team_key).credits
    items = [
        {"input": {"email": "ann@example.com"}, "enrichmentRequests": ["verify"]},
        {
            "input": {"firstName": ["Ann"], "lastName": "Lee", "companyName": "Co"},
            "enrichmentRequests": ["find_email"],
        },
    ]
    response = api("POST", "/v2/enrichments/bulk", json=items)
    assert (response.status_code, response.json()) == (400, {"error": "WRONG_INPUT_FORMAT"})
    assert sandbox.team(team_key).credits == before
    assert sandbox.team(team_key).enrichments == {}


def test_a_wrong_control_setting_is_refused_and_breaks_nothing(fresh_sandbox):
    for bad in ({"latency_ms": "abc"}, {"error_rate": 2}, {"rate_window_kind": "lunar"}, {"force_429": -1}):
        refused = requests.post(
            f"{fresh_sandbox.root_url}/_sandbox/faults",
            json=bad,
            headers={"X-Sandbox-Token": "sandbox-control"},
            timeout=5,
        )
        assert refused.status_code == 400 and list(bad)[0] in refused.text
    assert requests.get(f"{fresh_sandbox.base_url}/team", auth=("", "sandbox-api-key"), timeout=5).ok
    assert fresh_sandbox.stats()["server_errors"] == 0


def test_domain_unsubscribes_carry_no_email(api):
    api("POST", "/unsubscribes/%40competitor.example")
    api("POST", "/unsubscribes/someone%40example.com")
    entries = {e["value"]: e for e in api("GET", "/unsubscribes").json()}
    assert "email" not in entries["@competitor.example"]
    assert entries["someone@example.com"]["email"] == "someone@example.com"


def test_an_unexpected_error_is_a_500_in_lemlists_shape_and_the_connection_stays_open():
    """A route that raises (a sandbox bug) answers 500 text/plain, is counted, and the keep-alive holds."""
    with SandboxServer(rate_limit=0) as server:

        async def broken() -> dict:
            raise RuntimeError("a bug")

        server.app.add_api_route("/api/broken", broken)
        address = urlsplit(server.root_url)
        connection = http.client.HTTPConnection(address.hostname, address.port, timeout=5)
        auth = {"Authorization": "Basic OnNhbmRib3gtYXBpLWtleQ=="}  # ":sandbox-api-key"
        connection.request("GET", "/api/broken", headers=auth)
        crashed = connection.getresponse()
        body = crashed.read()
        local = connection.sock.getsockname()
        connection.request("GET", "/api/team", headers=auth)
        team = connection.getresponse()
        assert (crashed.status, body) == (500, b"Internal Server Error")
        assert crashed.getheader("content-type").startswith("text/plain")
        assert crashed.getheader("connection") != "close"
        assert team.status == 200 and json.loads(team.read())["name"]
        assert connection.sock.getsockname() == local, "the server closed the connection after the 500"
        connection.close()
        assert server.stats()["server_errors"] == 1
