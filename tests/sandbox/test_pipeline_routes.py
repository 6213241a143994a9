"""Functional tests of the pipeline route groups over real HTTP, each answer checked against the OAS.

Every test uses its own team (``team_key``), so data and rate budgets are isolated.
"""

from __future__ import annotations

import functools
import io
import time
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
import requests
from openapi_core import OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse

SPEC = Path("/work/shared/lemlist-api/openapi-v2.json")
for parent in Path(__file__).resolve().parents:
    if (parent / "shared" / "lemlist-api" / "openapi-v2.json").exists():
        SPEC = parent / "shared" / "lemlist-api" / "openapi-v2.json"
        break
REAL_BASE = "https://api.lemlist.com/api"


@functools.lru_cache(maxsize=1)
def spec() -> OpenAPI:
    return OpenAPI.from_file_path(str(SPEC))


def conforms(response: requests.Response) -> requests.Response:
    """Assert the answer matches the OAS response of its operation (when the OAS has the operation)."""
    parts = urlsplit(response.request.url)
    path = parts.path.split("/api", 1)[1]
    prepared = response.request.copy()
    prepared.url = f"{REAL_BASE}{path}" + (f"?{parts.query}" if parts.query else "")
    errors = list(
        spec().iter_response_errors(RequestsOpenAPIRequest(prepared), RequestsOpenAPIResponse(response))
    )
    real = [
        e
        for e in errors
        if "PathNotFound" not in type(e).__name__ and "OperationNotFound" not in type(e).__name__
    ]
    assert not real, (
        f"{response.request.method} {path} -> {response.status_code}: {[repr(e) for e in real]} body={response.text[:300]}"
    )
    return response


class Api:
    """A tiny client: the key as Basic password, every answer checked against the OAS."""

    def __init__(self, base_url: str, key: str) -> None:
        self.base = base_url
        self.session = requests.Session()
        self.session.auth = ("", key)

    def __call__(self, method: str, path: str, *, check: bool = True, **kwargs) -> requests.Response:
        """Waits out a 429 (the team has the real 20 / 2 s budget) so tests read as plain calls."""
        for _ in range(40):
            response = self.session.request(method, f"{self.base}{path}", timeout=10, **kwargs)
            if response.status_code != 429:
                break
            time.sleep(0.25)
        return conforms(response) if check else response


@pytest.fixture
def api(sandbox, team_key) -> Api:
    return Api(sandbox.base_url, team_key)


@pytest.fixture
def campaign(api) -> dict:
    return api("POST", "/campaigns", json={"name": "Pipeline test"}).json()


# -- campaigns -------------------------------------------------------------------------------------------------
def test_campaign_lifecycle(api):
    created = api("POST", "/campaigns", json={"name": "Q1"}).json()
    assert created["_id"].startswith("cam_") and created["sequenceId"] and len(created["scheduleIds"]) == 1
    assert api("GET", f"/campaigns/{created['_id']}").json()["name"] == "Q1"
    assert (
        api(
            "PATCH", f"/campaigns/{created['_id']}", json={"name": "Q1b", "stopOnEmailReplied": False}
        ).json()["name"]
        == "Q1b"
    )
    assert api("POST", f"/campaigns/{created['_id']}/start").json() == {
        "_id": created["_id"],
        "state": "running",
    }
    assert (
        api("GET", "/campaigns", params={"status": "running", "version": "v2"}).json()[0]["_id"]
        == created["_id"]
    )
    assert api("POST", f"/campaigns/{created['_id']}/pause").json()["state"] == "paused"
    assert api("GET", "/campaigns", params={"status": "running"}).json() == []
    missing = api("GET", "/campaigns/cam_nope")
    assert missing.status_code == 404 and missing.headers["content-type"].startswith("text/plain")
    assert api("POST", "/campaigns", json={}).status_code == 400
    # the sequence of a new campaign is empty, its default schedule is listed
    assert list(api("GET", f"/campaigns/{created['_id']}/sequences").json().values())[0]["steps"] == []
    assert len(api("GET", f"/campaigns/{created['_id']}/schedules/").json()) == 1


def test_campaign_list_pagination_and_object_shape(api, sandbox, team_key):
    ids = [api("POST", "/campaigns", json={"name": f"c{i}"}).json()["_id"] for i in range(3)]
    assert [c["_id"] for c in api("GET", "/campaigns", params={"offset": 1, "limit": 1}).json()] == [ids[1]]
    shaped = api("GET", "/campaigns", params={"version": "v2", "page": 2, "limit": 2}, check=False).json()
    assert shaped["pagination"] == {"totalRecords": 3, "currentPage": 2, "nextPage": None, "totalPage": 2}
    assert [c["_id"] for c in shaped["campaigns"]] == [ids[2]]
    sandbox.set_team_flags(team_key, campaigns_object_shape=True)
    assert "campaigns" in api("GET", "/campaigns", params={"version": "v2"}, check=False).json()


def test_reports_and_stats(api, campaign):
    cid = campaign["_id"]
    api("POST", f"/campaigns/{cid}/leads/", json={"email": "a@stats.test"})
    reports = api("GET", "/campaigns/reports", params={"campaignIds": cid}).json()
    assert reports[0]["_id"] == cid and reports[0]["totalCount"] == 1
    assert api("GET", f"/campaigns/{cid}/stats").json()["nbLeads"] == 1
    window = {"startDate": "2020-01-01T00:00:00Z", "endDate": "2030-01-01T00:00:00Z"}
    assert api("GET", f"/v2/campaigns/{cid}/stats", params=window).json()["nbLeads"] == 1
    assert (
        api("GET", f"/v2/campaigns/{cid}/stats", params={"startDate": "2020-01-01T00:00:00Z"}).status_code
        == 400
    )
    batch = api(
        "POST", "/v2/campaigns/stats/batch", json={"campaignIds": [cid, "cam_missing"], **window}
    ).json()
    assert [r["campaignId"] for r in batch["results"]] == [cid] and batch["errors"][0][
        "campaignId"
    ] == "cam_missing"
    too_many = api("POST", "/v2/campaigns/stats/batch", json={"campaignIds": [cid] * 101, **window})
    assert too_many.status_code == 400


# -- sequences, schedules ------------------------------------------------------------------------------------------
def test_sequence_steps(api, campaign):
    seq = campaign["sequenceId"]
    step = api(
        "POST",
        f"/sequences/{seq}/steps",
        json={"type": "email", "subject": "Hi", "message": "Hello", "delay": 0},
    ).json()
    second = api("POST", f"/sequences/{seq}/steps", json={"type": "linkedinVisit", "delay": 2}).json()
    assert (
        api(
            "PATCH", f"/sequences/{seq}/steps/{step['_id']}", json={"type": "email", "subject": "Hey"}
        ).json()["subject"]
        == "Hey"
    )
    steps = api("GET", f"/campaigns/{campaign['_id']}/sequences").json()[seq]["steps"]
    assert [s["_id"] for s in steps] == [step["_id"], second["_id"]] and [s["index"] for s in steps] == [0, 1]
    assert api("POST", f"/sequences/{seq}/steps", json={"type": "fax"}).status_code == 400
    assert api("DELETE", f"/sequences/{seq}/steps/{step['_id']}").json() == {"ok": True}
    assert api("DELETE", f"/sequences/{seq}/steps/{step['_id']}").status_code == 404


def test_schedules(api, campaign):
    body = {
        "name": "EU mornings",
        "timezone": "Europe/Berlin",
        "start": "08:00",
        "end": "12:00",
        "weekdays": [1, 2, 3],
    }
    schedule = api("POST", "/schedules", json=body).json()
    assert api("GET", f"/schedules/{schedule['_id']}").json()["start"] == "08:00"
    assert api("PATCH", f"/schedules/{schedule['_id']}", json={"end": "13:00"}).json()["end"] == "13:00"
    bad = api("POST", "/schedules", json={**body, "start": "8am"})
    assert bad.status_code == 400 and bad.json()["error"]
    listed = api("GET", "/schedules").json()
    assert listed["pagination"]["totalRecords"] == 2 and len(listed["schedules"]) == 2
    assert (
        api("POST", f"/campaigns/{campaign['_id']}/schedules/{schedule['_id']}").json()["scheduleId"]
        == schedule["_id"]
    )
    assert len(api("GET", f"/campaigns/{campaign['_id']}/schedules/").json()) == 2
    assert (
        api(
            "POST",
            f"/campaigns/{campaign['_id']}/schedules",
            json={"scheduleIds": [schedule["_id"]]},
            check=False,
        ).status_code
        == 200
    )
    assert [s["_id"] for s in api("GET", f"/campaigns/{campaign['_id']}/schedules/").json()] == [
        schedule["_id"]
    ]
    assert api("DELETE", f"/schedules/{schedule['_id']}").json() == {"_id": schedule["_id"]}
    assert api("GET", f"/schedules/{schedule['_id']}").status_code == 404


# -- leads ----------------------------------------------------------------------------------------------------------
def test_add_lead_and_duplicates(api, campaign):
    cid = campaign["_id"]
    lead = api(
        "POST",
        f"/campaigns/{cid}/leads/",
        json={"email": "Ada@Example.com", "firstName": "Ada", "tier": "gold"},
    ).json()
    assert lead["email"] == "ada@example.com" and lead["campaignId"] == cid and lead["tier"] == "gold"
    again = api("POST", f"/campaigns/{cid}/leads/", json={"email": "ADA@example.com"})
    assert (again.status_code, again.text) == (400, "Lead already in the campaign")
    assert again.headers["content-type"].startswith("text/plain")
    other = api("POST", "/campaigns", json={"name": "other"}).json()["_id"]
    dedup = api(
        "POST",
        f"/campaigns/{other}/leads/",
        params={"deduplicate": "true"},
        json={"email": "ada@example.com"},
    )
    assert (dedup.status_code, dedup.text) == (400, "Lead already exists in another campaign")
    # without deduplicate the same person may be in two campaigns, sharing one contact
    twin = api("POST", f"/campaigns/{other}/leads/", json={"email": "ada@example.com"}).json()
    assert twin["contactId"] == lead["contactId"]
    legacy = api(
        "POST",
        f"/campaigns/{cid}/leads/{quote('grace@example.com')}",
        json={"firstName": "Grace"},
        check=False,
    )
    assert legacy.status_code == 200 and legacy.json()["firstName"] == "Grace"
    assert api("POST", f"/campaigns/{cid}/leads/", json={"email": "not-an-email"}).status_code == 400
    assert api("POST", "/campaigns/cam_missing/leads/", json={"email": "x@y.io"}).status_code == 404


def test_unsubscribed_lead_is_added_but_never_contacted(api, campaign):
    api("POST", "/unsubscribes/@blocked.example")
    lead = api("POST", f"/campaigns/{campaign['_id']}/leads/", json={"email": "ceo@blocked.example"}).json()
    assert lead["state"] == "emailsUnsubscribed"


def test_list_get_update_delete_leads(api, campaign):
    cid = campaign["_id"]
    ids = [
        api("POST", f"/campaigns/{cid}/leads/", json={"email": f"p{i}@list.test"}).json()["_id"]
        for i in range(3)
    ]
    listed = api("GET", f"/campaigns/{cid}/leads/", params={"limit": 2}).json()
    assert [x["_id"] for x in listed] == ids[:2] and set(listed[0]) == {"_id", "contactId", "state"}
    assert api("GET", f"/campaigns/{cid}/leads/", params={"limit": 501}, check=False).status_code == 400
    assert api("GET", f"/campaigns/{cid}/leads/p1%40list.test", check=False).json()["_id"] == ids[1]
    patched = api("PATCH", f"/campaigns/{cid}/leads/{ids[0]}", json={"firstName": "Zed"}).json()
    assert patched["firstName"] == "Zed" and patched["leadUrl"]
    assert api("DELETE", f"/campaigns/{cid}/leads/{ids[1]}").json()["state"] == "emailsUnsubscribed"
    assert api("DELETE", f"/campaigns/{cid}/leads/{ids[2]}", params={"action": "remove"}).status_code == 200
    assert len(api("GET", f"/campaigns/{cid}/leads/").json()) == 2
    assert (
        api("GET", f"/campaigns/{cid}/leads/", params={"state": "emailsUnsubscribed"}).json()[0]["_id"]
        == ids[1]
    )
    assert api("DELETE", f"/campaigns/{cid}/leads/{ids[2]}").status_code == 404


def test_interest_pause_start_and_global_lookup(api, campaign):
    cid = campaign["_id"]
    lead = api(
        "POST", f"/campaigns/{cid}/leads/", json={"email": "kim@interest.test", "firstName": "Kim"}
    ).json()
    assert api("POST", f"/campaigns/{cid}/leads/{lead['_id']}/interested").json()["state"] == "interested"
    assert (
        api("POST", f"/leads/notinterested/{quote('kim@interest.test')}").json()[0]["state"]
        == "notInterested"
    )
    assert api("POST", f"/campaigns/{cid}/leads/{lead['_id']}/notinterested").status_code == 200
    assert api("POST", f"/leads/interested/{lead['_id']}").status_code == 200
    assert api("POST", f"/leads/pause/{lead['_id']}").json()[0]["isPaused"] is True
    assert api("POST", f"/leads/start/{lead['_id']}").json()[0]["isPaused"] is False
    assert api("GET", "/leads", params={"email": "kim@interest.test"}).json()["_id"] == lead["_id"]
    by_email = api("GET", f"/leads/{quote('kim@interest.test')}", params={"version": "v2"}).json()
    assert by_email[0]["campaign"]["id"] == cid
    assert api("GET", "/leads/nobody%40nowhere.test", params={"version": "v2"}).status_code == 404
    assert api("POST", "/leads/pause/lea_missing").status_code == 404


def test_lead_variables(api, campaign):
    lead = api("POST", f"/campaigns/{campaign['_id']}/leads/", json={"email": "v@vars.test"}).json()
    assert api("POST", f"/leads/{lead['_id']}/variables", params={"plan": "pro"}).json()["plan"] == "pro"
    assert api("PATCH", f"/leads/{lead['_id']}/variables", params={"plan": "team"}).json()["plan"] == "team"
    assert api("PATCH", f"/leads/{lead['_id']}/variables", params={"unknown": "x"}).status_code == 400
    assert "plan" not in api("DELETE", f"/leads/{lead['_id']}/variables", params={"plan": ""}).json()
    assert api("POST", f"/leads/{lead['_id']}/variables").status_code == 400
    assert api("POST", "/leads/lea_missing/variables", params={"a": "b"}).status_code == 404


def test_audio_upload(api, campaign):
    lead = api("POST", f"/campaigns/{campaign['_id']}/leads/", json={"email": "au@audio.test"}).json()
    answer = api(
        "POST",
        "/leads/audio",
        params={"leadId": lead["_id"], "stepId": "stp_x"},
        files={"file": ("note.mp3", b"ID3fake")},
    )
    assert answer.json()["status"]["fileName"] == "note.mp3"
    assert (
        api(
            "POST", "/leads/audio", params={"leadId": lead["_id"]}, files={"file": ("n.mp3", b"x")}
        ).status_code
        == 400
    )


def test_csv_import_reports_each_row(api, campaign, sandbox, team_key):
    cid = campaign["_id"]
    api("POST", f"/campaigns/{cid}/leads/", json={"email": "dup@csv.test"})
    csv_text = "email,firstName,companyName\nnew@csv.test,New,Acme\nDUP@csv.test,Dup,Acme\nbroken,Bad,Acme\n"
    answer = api(
        "POST",
        f"/campaigns/{cid}/leads/import",
        files={"file": ("leads.csv", io.BytesIO(csv_text.encode()), "text/csv")},
    )
    body = answer.json()
    assert (body["imported"], body["duplicates"], body["failed"]) == (1, 1, 1)
    assert [r["status"] for r in body["results"]] == ["imported", "duplicate", "error"]
    assert len(sandbox.team(team_key).leads_in_campaign(cid)) == 2
    crm = api(
        "POST", f"/campaigns/{cid}/leads/import", json={"crm": "hubspot", "userId": "usr_1", "filterId": "16"}
    )
    assert crm.json() == {"ok": True}
    assert api("POST", f"/campaigns/{cid}/leads/import", json={"crm": "hubspot"}).status_code == 400
    sandbox.set_team_flags(team_key, plan_gated=True)
    gated = api(
        "POST", f"/campaigns/{cid}/leads/import", files={"file": ("l.csv", b"email\na@b.io\n")}, check=False
    )
    assert (gated.status_code, gated.text) == (402, "route is available starting emailPro plan")


# -- unsubscribes ----------------------------------------------------------------------------------------------------
def test_legacy_unsubscribes(api):
    assert api("POST", "/unsubscribes/Bob%40Corp.test").json()["value"] == "bob@corp.test"
    assert api("POST", "/unsubscribes/@corp.test").json()["value"] == "@corp.test"
    again = api("POST", "/unsubscribes/bob%40corp.test").json()
    assert again["value"] == "bob@corp.test"  # idempotent
    assert len(api("GET", "/unsubscribes").json()) == 2
    assert len(api("GET", "/unsubscribes", params={"offset": 1, "limit": 1}).json()) == 1
    assert api("GET", "/unsubscribes/bob%40corp.test").json()["value"] == "bob@corp.test"
    csv_body = api("GET", "/unsubs/export").text.splitlines()
    assert csv_body[0] == "value,source,createdAt" and len(csv_body) == 3
    assert api("DELETE", "/unsubscribes/@corp.test").json()["value"] == "@corp.test"
    assert api("DELETE", "/unsubscribes/@corp.test").status_code == 404
    assert api("POST", "/unsubscribes/not%20valid").status_code == 400


def test_v2_unsubscribe_variables(api, sandbox, team_key):
    values = [f"user{i}@bulk.test" for i in range(50)] + ["@bulk-domain.test", "+33612345678"]
    assert (
        api("POST", "/v2/unsubscribes/variables", json={"values": values}).json() == "Variables unsubscribed"
    )
    api("POST", "/v2/unsubscribes/variables", json={"values": values[:5]})  # idempotent
    assert len(sandbox.team(team_key).unsubscribes) == 52
    assert api("POST", "/v2/unsubscribes/variables", json={"values": ["x@y.io"] * 10_001}).status_code == 400
    entry = api("GET", "/v2/unsubscribes/variables/%40bulk-domain.test").json()
    assert entry["variable"] == "domain" and entry["source"] == "api"
    assert api("POST", "/v2/unsubscribes/variables/solo%40one.test").json()["value"] == "solo@one.test"
    assert len(api("GET", "/v2/unsubscribes/variables", params={"limit": 100}).json()) == 53
    assert api("DELETE", "/v2/unsubscribes/variables/solo%40one.test").status_code == 200
    assert api("DELETE", "/v2/unsubscribes/variables/solo%40one.test").status_code == 200  # idempotent
    assert api("GET", "/v2/unsubscribes/variables/solo%40one.test").status_code == 404
    exported = api("GET", "/v2/unsubscribes/exports/variables").text.splitlines()
    assert exported[0] == "value,variable,source,createdAt" and len(exported) == 53
    sandbox.set_team_flags(team_key, reject_v2_unsubscribes=True)
    gated = api("GET", "/v2/unsubscribes/variables", check=False)
    assert (gated.status_code, gated.text) == (402, "route is available starting emailPro plan")
    assert api("GET", "/unsubscribes").status_code == 200  # the legacy fallback still works


def test_v2_unsubscribe_contacts(api, campaign):
    lead = api("POST", f"/campaigns/{campaign['_id']}/leads/", json={"email": "c@contacts.test"}).json()
    contact = lead["contactId"]
    assert api("GET", f"/v2/unsubscribes/contacts/{contact}").json() == {
        "_id": contact,
        "doNotContact": False,
    }
    api("POST", f"/v2/unsubscribes/contacts/{contact}")
    assert api("GET", f"/v2/unsubscribes/contacts/{contact}").json()["doNotContact"] is True
    assert api("GET", "/v2/unsubscribes/exports/contacts").text.splitlines()[1].startswith(contact)
    api("DELETE", f"/v2/unsubscribes/contacts/{contact}")
    assert api("GET", f"/v2/unsubscribes/contacts/{contact}").json()["doNotContact"] is False
    assert api("GET", "/v2/unsubscribes/contacts/ctc_missing").status_code == 400


# -- activities, hooks --------------------------------------------------------------------------------------------------
def test_activities_filters(api, sandbox, team_key, campaign):
    team = sandbox.team(team_key)
    for i, kind in enumerate(["emailsSent", "emailsOpened", "emailsSent"]):
        team.activities.append(
            {
                "_id": f"act_{i}",
                "type": kind,
                "campaignId": campaign["_id"],
                "leadId": f"lea_{i}",
                "createdAt": f"2024-05-0{i + 1}T10:00:00.000Z",
                "isFirst": i == 0,
            }
        )
    # Without version=v2, the v1 documentation's shape: the lead, campaign and sender named in place.
    v1 = api("GET", "/activities").json()
    assert [a["_id"] for a in v1] == ["act_2", "act_1", "act_0"]
    assert v1[0]["campaignName"] == campaign["name"] and v1[0]["teamId"] and v1[0]["sendUserEmail"]
    assert api("GET", "/activities", params={"version": "v1"}).status_code == 400  # the spec's enum is v2
    everything = api("GET", "/activities", params={"version": "v2"}).json()
    assert [a["_id"] for a in everything] == ["act_2", "act_1", "act_0"]
    assert len(api("GET", "/activities", params={"version": "v2", "type": "emailsSent"}).json()) == 2
    assert [
        a["_id"]
        for a in api("GET", "/activities", params={"version": "v2", "minDate": "2024-05-02T00:00:00Z"}).json()
    ] == ["act_2", "act_1"]
    assert [
        a["_id"] for a in api("GET", "/activities", params={"version": "v2", "maxDate": "1714730000"}).json()
    ] == ["act_1", "act_0"]
    assert [
        a["_id"] for a in api("GET", "/activities", params={"version": "v2", "isFirst": "true"}).json()
    ] == ["act_0"]
    assert [
        a["_id"] for a in api("GET", "/activities", params={"version": "v2", "leadId": "lea_1"}).json()
    ] == ["act_1"]
    assert len(api("GET", "/activities", params={"version": "v2", "offset": 1, "limit": 1}).json()) == 1
    assert api("GET", "/activities", params={"version": "v2", "limit": 101}).status_code == 400
    assert api("DELETE", "/activities/act_1/recording-transcript").json() == {"ok": True}
    assert api("DELETE", "/activities/act_none/recording-transcript").status_code == 404


def test_hooks(api, campaign):
    hook = api(
        "POST",
        "/hooks",
        json={"targetUrl": "https://example.test/hook", "type": "emailsOpened", "secret": "s"},
    ).json()
    assert hook["_id"] and hook["type"] == "emailsOpened" and "secret" not in hook
    duplicate = api(
        "POST", "/hooks", json={"targetUrl": "https://example.test/hook", "type": "emailsOpened"}, check=False
    )  # 409: api-facts, not in the OAS
    assert (duplicate.status_code, duplicate.text) == (409, "Duplicate hook")
    multi = api(
        "POST",
        "/hooks",
        params={"campaignId": campaign["_id"]},
        json={"targetUrl": "https://example.test/h2", "type": "emailsOpened,emailsClicked"},
        check=False,
    ).json()
    assert multi["type"] == "emailsOpened,emailsClicked"
    listed = api("GET", "/hooks").json()
    assert {h["_id"] for h in listed} == {hook["_id"], multi["_id"]}
    assert api("POST", "/hooks", json={"targetUrl": "ftp://x"}).status_code == 400
    assert api("DELETE", f"/hooks/{hook['_id']}").json()["_id"] == hook["_id"]
    assert api("DELETE", f"/hooks/{hook['_id']}").status_code == 404


def test_hooks_limit_200(api, sandbox, team_key):
    team = sandbox.team(team_key)
    for i in range(200):
        team.hooks[f"hoo_{i}"] = {
            "_id": f"hoo_{i}",
            "targetUrl": f"https://x.test/{i}",
            "types": [],
            "createdAt": "2024-01-01T00:00:00.000Z",
        }
    assert api("POST", "/hooks", json={"targetUrl": "https://x.test/201"}).status_code == 400
