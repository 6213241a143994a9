"""lemcal on the sandbox: Basic ``userId:apiKey`` auth, meetings, both spellings of meeting types, hooks."""

from __future__ import annotations

import requests


def _lemcal(sandbox, team_key: str) -> tuple[requests.Session, str]:
    user_id = sandbox.team(team_key).user_id
    session = requests.Session()
    session.auth = (user_id, team_key)
    return session, sandbox.base_url + "/lemcal"


def test_auth_needs_the_user_id_and_the_key(sandbox, team_key):
    session, base = _lemcal(sandbox, team_key)
    me = session.get(f"{base}/me", timeout=10)
    assert me.status_code == 200 and me.json()["_id"] == sandbox.team(team_key).user_id
    for auth in (
        ("usr_someoneElse", team_key),
        ("", team_key),
        (sandbox.team(team_key).user_id, "wrong-key"),
    ):
        denied = requests.get(f"{base}/me", auth=auth, timeout=10)
        assert denied.status_code == 401, auth[0]
    assert requests.get(f"{base}/meetings", timeout=10).status_code == 401


def test_meetings_and_meeting_types(sandbox, team_key):
    session, base = _lemcal(sandbox, team_key)
    dashed = session.get(f"{base}/meeting-types", timeout=10).json()
    camel = session.get(f"{base}/meetingTypes", timeout=10).json()
    assert dashed == camel and len(dashed) == 2
    meetings = session.get(f"{base}/meetings", timeout=10).json()
    assert len(meetings) == 3
    for meeting in meetings:
        assert meeting["_id"].startswith("mee_") and meeting["start"] < meeting["end"]
        assert meeting["lead"]["email"] and meeting["attendees"][0]["response"] == "accepted"
    type_id = dashed[0]["_id"]
    filtered = session.get(f"{base}/meetings", params={"meetingTypeId": type_id}, timeout=10).json()
    assert filtered and {m["meetingTypeId"] for m in filtered} == {type_id} and len(filtered) < len(meetings)


def test_hooks_create_list_duplicate_delete(sandbox, team_key):
    session, base = _lemcal(sandbox, team_key)
    type_id = session.get(f"{base}/meeting-types", timeout=10).json()[0]["_id"]
    body = {"targetUrl": "https://hooks.example.com/lemcal", "meetingTypeId": type_id}
    created = session.post(f"{base}/hooks", json=body, timeout=10)
    assert created.status_code == 200 and created.json()["meetingTypeId"] == type_id
    duplicate = session.post(f"{base}/hooks", json=body, timeout=10)
    assert (duplicate.status_code, duplicate.text) == (409, "Duplicate hook")
    any_type = session.post(
        f"{base}/hooks", json={"targetUrl": body["targetUrl"], "anyMeetingType": True}, timeout=10
    )
    assert any_type.status_code == 200  # same URL, different scope: not a duplicate
    errors = [
        ({}, 400, "You must provide a targetUrl"),
        ({"targetUrl": "ftp://x.example.com"}, 400, "Invalid targetUrl"),
        (
            {"targetUrl": "https://hooks.example.com/x"},
            400,
            "You must provide either a meetingTypeId or anyMeetingType",
        ),
        (
            {"targetUrl": "https://hooks.example.com/x", "meetingTypeId": "met_nope"},
            404,
            "meeting type not found",
        ),
    ]
    for payload, status, text in errors:
        answer = session.post(f"{base}/hooks", json=payload, timeout=10)
        assert (answer.status_code, answer.text) == (status, text)
    listed = session.get(f"{base}/hooks", timeout=10).json()
    assert {h["_id"] for h in listed} == {created.json()["_id"], any_type.json()["_id"]}
    deleted = session.delete(f"{base}/hooks/{created.json()['_id']}", timeout=10)
    assert deleted.status_code == 204 and deleted.content == b""
    assert session.delete(f"{base}/hooks/{created.json()['_id']}", timeout=10).status_code == 404
    assert [h["_id"] for h in session.get(f"{base}/hooks", timeout=10).json()] == [any_type.json()["_id"]]


def test_lemcal_shares_the_key_rate_budget(sandbox, team_key):
    """lemcal counts against the same 20 requests / 2 s as the lemlist routes of the key."""
    session, base = _lemcal(sandbox, team_key)
    lemlist = [
        requests.get(f"{sandbox.base_url}/team", auth=("", team_key), timeout=10).status_code
        for _ in range(20)
    ]
    assert lemlist == [200] * 20
    limited = session.get(f"{base}/me", timeout=10)
    assert limited.status_code == 429 and float(limited.headers["retry-after"]) > 0
