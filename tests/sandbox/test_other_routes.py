"""Functional tests of the team, users, inbox, companies, contacts, tasks, lemwarm, CRM, database, overview
and miscellaneous routes: what a client sees over real HTTP, each test on a team (and rate budget) of its own."""

from __future__ import annotations

import csv
import io
import json
import uuid

import pytest
from sandbox_client import SandboxClient


@pytest.fixture
def api(sandbox, team_key) -> SandboxClient:
    return SandboxClient(sandbox.base_url, team_key)


def _email() -> str:
    return f"p{uuid.uuid4().hex[:8]}@people.example.com"


def _campaign_with_lead(api: SandboxClient, **lead_fields) -> tuple[dict, dict]:
    campaign = api.ok("POST", "/campaigns", json={"name": "Functional"})
    lead = api.ok("POST", f"/campaigns/{campaign['_id']}/leads/", json={"email": _email(), **lead_fields})
    return campaign, lead


def _owner(api: SandboxClient) -> tuple[str, dict]:
    user_id = api.ok("GET", "/team")["createdBy"]
    return user_id, api.ok("GET", f"/users/{user_id}")["mailboxes"][0]


# -- team & users ------------------------------------------------------------------------------------


def test_team_routes_describe_the_team(api: SandboxClient):
    team = api.ok("GET", "/team")
    owner = team["createdBy"]
    assert owner in team["userIds"] and team["name"] == "pytest team"
    running = api.ok("POST", "/campaigns", json={"name": "Running one"})
    api.ok("POST", "/campaigns", json={"name": "Draft one"})
    api.ok("PATCH", f"/campaigns/{running['_id']}", json={"name": "Running one"})
    senders = api.ok("GET", "/team/senders")
    assert senders[0]["userId"] == owner
    assert {c["name"] for c in senders[0]["campaigns"]} == {"Running one", "Draft one"}
    assert api.call("GET", "/team/senders", params={"state": "bogus"}).status_code == 400
    members = api.ok("GET", "/team/members")
    assert [m["_id"] for m in members] == [owner] and members[0]["mailboxes"][0]["status"] == "CONNECTED"
    assert api.ok("GET", "/team/credits")["credits"] == 100_000
    assert api.ok("GET", "/team/overview")["campaigns"]["total"] == 2
    assert api.ok("GET", "/team/crmUsers")[0]["userId"] == owner
    assert api.ok("GET", "/team/sendUsers")[0]["mailboxes"][0]["email"].startswith("owner@")


def test_users_and_email_accounts(api: SandboxClient):
    owner, google = _owner(api)
    assert api.call("GET", "/users/usr_nobody").status_code == 400
    account = {
        "sender_name": "Ops",
        "sender_email": "ops@custom.example.com",
        "smtp_host": "smtp.nowhere.invalid",
        "smtp_port": 587,
        "smtp_login": "ops",
        "smtp_password": "pw",
        "imap_host": "imap.example.com",
        "imap_port": 993,
        "imap_login": "ops",
        "imap_password": "pw",
    }
    created = api.call("POST", "/user/email-accounts", json=account)
    assert created.status_code == 201 and created.json()["provider"] == "custom"
    account_id = created.json()["id"]
    channels = api.ok("GET", "/user/channels")
    assert {a["email"] for a in channels["email"]["accounts"]} == {google["email"], "ops@custom.example.com"}
    assert api.call("POST", "/user/email-accounts", json=account).status_code == 400  # already connected
    check = api.ok("POST", f"/user/email-accounts/{account_id}/test")
    assert check["smtp"]["success"] is False and check["imap"]["success"] is True
    assert api.call("DELETE", f"/user/email-accounts/{google['_id']}").status_code == 403
    assert api.ok("DELETE", f"/user/email-accounts/{account_id}") == {"ok": True}
    assert len(api.ok("GET", f"/users/{owner}")["mailboxes"]) == 1
    assert api.call("DELETE", f"/user/email-accounts/{account_id}").status_code == 404


# -- inbox -------------------------------------------------------------------------------------------


def test_send_email_lands_in_the_conversation(api: SandboxClient):
    owner, mailbox = _owner(api)
    _, lead = _campaign_with_lead(api, firstName="Ada")
    body = {
        "sendUserId": owner,
        "sendUserEmail": mailbox["email"],
        "sendUserMailboxId": mailbox["_id"],
        "contactId": lead["contactId"],
        "leadId": lead["_id"],
        "subject": "Follow up",
        "message": "<p>Hello</p>",
        "cc": ["boss@example.com"],
    }
    sent = api.ok("POST", "/inbox/email", json=body)
    assert sent["ok"] is True
    contact_id = sent["contactId"]
    assert contact_id == lead["contactId"]
    messages = api.ok("GET", f"/inbox/{contact_id}")["data"]
    assert [(m["subject"], m["recipient"], m["sender"]) for m in messages] == [
        ("Follow up", lead["email"], mailbox["email"])
    ]
    assert (
        api.call("POST", "/inbox/email", json={**body, "sendUserMailboxId": "usm_other"}).status_code == 400
    )
    assert api.call("POST", "/inbox/email", json={**body, "leadId": "lea_missing"}).text == "Lead not found"
    for channel, extra in (
        ("linkedin", {}),
        ("whatsapp", {"sendUserWhatsappAccountId": "wa_1"}),
        ("sms", {}),
    ):
        api.ok(
            "POST",
            f"/inbox/{channel}",
            json={
                "sendUserId": owner,
                "contactId": contact_id,
                "leadId": lead["_id"],
                "message": "Hi",
                **extra,
            },
        )
    page = api.ok("GET", f"/inbox/{contact_id}", params={"limit": 2, "skip": 2})
    assert [m["channel"] for m in page["data"]] == ["whatsapp", "sms"]
    assert page["pagination"]["totalItems"] == 4 and page["pagination"]["currentPage"] == 2
    inbox = api.ok("GET", "/inbox", params={"userId": owner, "page": 1, "limit": 10})
    assert [c["contactId"] for c in inbox["data"]] == [contact_id] and inbox["pagination"]["nextPage"] is None


def test_labels_and_conversation_labels(api: SandboxClient):
    _, lead = _campaign_with_lead(api)
    contact_id = lead["contactId"]
    hot = api.ok("POST", "/inbox/labels", json={"labelName": "Hot"})
    warm = api.ok("POST", "/inbox/labels", json={"labelName": "Warm", "color": "#ff0000"})
    duplicate = api.call("POST", "/inbox/labels", json={"labelName": "hot"})
    assert duplicate.status_code == 409 and duplicate.headers["content-type"].startswith("text/plain")
    assert (
        api.ok("PATCH", f"/inbox/labels/{warm['_id']}", json={"labelName": "Lukewarm"})["name"] == "Lukewarm"
    )
    api.ok(
        "POST",
        f"/inbox/conversations/labels/{contact_id}",
        json={"labelIds": [hot["_id"]], "appendLabels": True},
    )
    api.ok(
        "POST",
        f"/inbox/conversations/labels/{contact_id}",
        json={"labelIds": [warm["_id"]], "appendLabels": True},
    )
    names = [lbl["name"] for lbl in api.ok("GET", f"/inbox/conversations/labels/{contact_id}")["labels"]]
    assert names == ["Hot", "Lukewarm"]
    api.ok(
        "POST",
        f"/inbox/conversations/labels/{contact_id}",
        json={"labelIds": [warm["_id"]], "appendLabels": False},
    )
    api.ok("DELETE", f"/inbox/conversations/labels/{contact_id}", json={"labelIds": [warm["_id"]]})
    assert api.ok("GET", f"/inbox/conversations/labels/{contact_id}")["labels"] == []
    api.ok("DELETE", f"/inbox/labels/{hot['_id']}")
    assert api.call("GET", f"/inbox/labels/{hot['_id']}").status_code == 404
    assert [lbl["name"] for lbl in api.ok("GET", "/inbox/labels")] == ["Lukewarm"]


def test_drafts_lifecycle(api: SandboxClient):
    owner, _ = _owner(api)
    _, lead = _campaign_with_lead(api)
    base = f"/inbox/{lead['contactId']}/drafts"
    params = {"draftOwner": owner}
    created = api.call(
        "POST", base, params=params, json={"channel": "email", "subject": "Hi", "content": "Body"}
    )
    assert created.status_code == 201
    draft_id = created.json()["draftId"]
    api.ok("PATCH", f"{base}/{draft_id}", params=params, json={"content": "Edited body"})
    assert api.ok("GET", f"{base}/{draft_id}", params=params)["draft"]["content"] == "Edited body"
    assert api.ok("GET", base, params=params)["drafts"][0]["contentPreview"] == "Edited body"
    assert api.call("GET", base).status_code == 400  # draftOwner is required
    assert api.ok("DELETE", f"{base}/{draft_id}", params=params) == {"success": True}
    assert api.ok("GET", base, params=params)["drafts"] == []


# -- companies & contacts ----------------------------------------------------------------------------


def test_companies_upsert_notes_and_delete(api: SandboxClient):
    first = api.call(
        "POST",
        "/companies",
        json={"name": "Globex", "domain": "https://www.Globex.example/", "size": "11-50"},
    )
    assert first.status_code == 201
    company_id = first.json()["data"]["_id"]
    again = api.call("POST", "/companies", json={"domain": "globex.example", "industry": "Energy"})
    assert again.status_code == 200 and again.json()["data"]["_id"] == company_id
    listed = api.ok("GET", "/companies", params={"idsOrDomains": "globex.example"})
    assert listed["total"] == 1 and listed["data"][0]["industry"] == "Energy"
    api.ok("POST", f"/companies/{company_id}/notes", json={"note": "first"})
    api.ok("POST", f"/companies/{company_id}/notes", json={"note": "second"})
    notes = api.ok("GET", f"/companies/{company_id}/notes", params={"sortOrder": "asc"})
    assert [n["note"] for n in notes["data"]] == ["first", "second"] and notes["total"] == 2
    api.ok("POST", "/contacts", json={"email": _email(), "companyDomain": "globex.example"})
    blocked = api.call("DELETE", f"/companies/{company_id}")
    assert blocked.status_code == 400 and blocked.json()["error"]["contactCount"] == 1
    deleted = api.ok("DELETE", f"/companies/{company_id}", params={"force": "true"})
    assert deleted == {"success": True, "deletedCompanyId": company_id, "unlinkedContacts": 1}
    assert api.ok("GET", "/companies")["total"] == 0


def test_contacts_follow_leads_lists_and_export(api: SandboxClient):
    campaign, lead = _campaign_with_lead(api, firstName="Grace", lastName="Hopper")
    contact = api.ok("GET", f"/contacts/{lead['email']}")
    assert contact["fullName"] == "Grace Hopper"
    assert contact["campaigns"][0]["campaignId"] == campaign["_id"]
    created = api.call(
        "POST", "/contacts", json={"email": "Hedy@Lamarr.example.com", "firstName": "Hedy", "band": 7}
    )
    assert created.status_code == 201 and created.json()["data"]["created"] is True
    hedy = created.json()["data"]["_id"]
    lookup = api.ok(
        "GET", "/contacts", params={"idsOrEmails": f"hedy@lamarr.example.com,{contact['_id']},nobody@x.io"}
    )
    assert [c["_id"] for c in lookup] == [hedy, contact["_id"]]
    assert api.ok("GET", "/contacts", params={"notInAnyCampaign": "true"})["data"][0]["_id"] == hedy
    list_id = api.call("POST", "/contacts/lists", json={"name": "VIP"}).json()["list"]["id"]
    added = api.ok("POST", f"/contacts/lists/{list_id}/entities", json={"contactIds": [hedy, contact["_id"]]})
    assert (added["addedCount"], added["alreadyInList"]) == (2, 0)
    again = api.ok("POST", f"/contacts/lists/{list_id}/entities", json={"contactIds": [hedy]})
    assert (again["addedCount"], again["alreadyInList"]) == (0, 1)
    removed = api.ok(
        "POST",
        f"/contacts/lists/{list_id}/entities",
        params={"action": "remove"},
        json={"contactIds": [hedy]},
    )
    assert removed["removedCount"] == 1
    export = api.call("GET", "/contacts/export", params={"listId": list_id})
    assert export.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(export.text)))
    assert [(r["email"], r["firstName"]) for r in rows] == [(lead["email"], "Grace")]
    fields = api.ok("GET", "/fields", params={"entity": "contact", "source": "custom"})["data"]["contact"]
    assert {"name": "band", "label": "band", "type": "number", "source": "custom"} in fields


# -- tasks, lemwarm ----------------------------------------------------------------------------------


def test_tasks_pages_update_and_ignore(api: SandboxClient):
    owner, _ = _owner(api)
    _, lead = _campaign_with_lead(api)
    ids = [
        api.ok(
            "POST",
            "/tasks",
            json={
                "leadId": lead["_id"],
                "type": kind,
                "assignedTo": owner,
                "dueDate": f"2030-01-0{i + 1}T09:00:00Z",
            },
        )["_id"]
        for i, kind in enumerate(("email", "phone", "manual"))
    ]
    page0 = api.ok("GET", "/tasks", params={"page": 0})
    assert [t["_id"] for t in page0["results"]] == ids and page0["page"] == "0"
    assert api.ok("GET", "/tasks", params={"page": 1})["results"] == []
    done = api.ok("PATCH", "/tasks", json={"id": ids[0], "done": True})
    assert done["status"] == "completed" and "completedAt" in done
    api.ok("POST", "/tasks/ignore", json={"ids": [ids[1]]})
    pending = api.ok("GET", "/tasks", params={"filters": json.dumps({"status": "pending"})})["results"]
    assert [t["_id"] for t in pending] == [ids[2]]
    bad = api.call(
        "POST",
        "/tasks",
        json={
            "leadId": "lea_missing",
            "type": "email",
            "assignedTo": owner,
            "dueDate": "2030-01-01T09:00:00Z",
        },
    )
    assert (bad.status_code, bad.text) == (400, "Lead not found")


def test_lemwarm_start_settings_pause(api: SandboxClient):
    _, mailbox = _owner(api)
    base = f"/lemwarm/{mailbox['_id']}"
    assert api.ok("GET", f"{base}/settings")["active"] is False
    api.ok("POST", f"{base}/start")
    api.ok("PATCH", f"{base}/settings", json={"warmEmailMax": 35, "warmEmailRampup": 3})
    settings = api.ok("GET", f"{base}/settings")
    assert (settings["active"], settings["dailyLimit"], settings["warmEmailRampup"]) == (True, 35, 3)
    api.ok("POST", f"{base}/pause")
    assert api.ok("GET", f"{base}/settings")["active"] is False
    assert api.call("PATCH", f"{base}/settings", json={"warmEmailMax": -1}).status_code == 400
    assert api.call("POST", "/lemwarm/usm_unknown/start").text == "Mailbox not found"


# -- CRM, database, signals, domains -----------------------------------------------------------------


def test_crm_database_signals_and_domains(api: SandboxClient):
    owner, _ = _owner(api)
    leads_only = api.ok("GET", "/crm/filters", params={"crm": "hubspot", "userId": owner, "type": "lead"})
    assert leads_only and {f["type"] for f in leads_only} == {"lead"}
    assert api.call("GET", "/crm/filters", params={"crm": "excel", "userId": owner}).status_code == 400
    assert {f["_id"] for f in api.ok("GET", "/database/filters")} >= {"country", "companyIndustry"}
    french = api.ok(
        "POST", "/database/people", json={"filters": [{"filterId": "country", "in": ["France"]}], "size": 100}
    )
    everyone = api.ok("POST", "/database/people", json={"size": 1})
    assert 0 < french["total"] < everyone["total"] and {p["country"] for p in french["results"]} == {"France"}
    assert (
        api.call("POST", "/database/people", json={"filters": [{"filterId": "shoeSize"}]}).status_code == 400
    )
    assert api.ok("POST", "/database/companies", json={"size": 3})["total"] == 12
    signals = api.ok("GET", "/watchlist/signals", params={"status": "new", "type": "jobChange"})
    assert signals["total"] == 1 and signals["signals"][0]["type"] == "jobChange"
    redirect = api.ok("GET", "/domains/redirect", params={"domain": "track.sandbox.lemlist.test"})
    assert redirect["redirect"] is True
    assert api.ok("GET", "/domains/redirect", params={"domain": "elsewhere.example"})["redirect"] is False


# -- overview, campaigns extras ----------------------------------------------------------------------


def test_overview_ids_and_exports(sandbox):
    key = f"test-demo-{uuid.uuid4().hex[:10]}"
    sandbox.create_team(key, seed="demo")
    api = SandboxClient(sandbox.base_url, key)
    campaigns = api.ok("GET", "/campaigns", params={"version": "v2"})
    campaigns = campaigns["campaigns"] if isinstance(campaigns, dict) else campaigns
    first = next(c for c in campaigns if c["name"].startswith("Q4"))
    by_campaign = api.ok("POST", "/overview/leads/ids", json={"campaignIds": [first["_id"]]})
    assert by_campaign["total"] == 3
    sent = api.ok("POST", "/overview/activities/leadIds", json={"types": ["emailsSent"]})
    assert sent["total"] == 6
    export = api.call("POST", "/overview/activities/export", json={"campaignIds": [first["_id"]]})
    rows = list(csv.DictReader(io.StringIO(export.text)))
    assert export.headers["content-type"].startswith("text/csv") and len(rows) == 3
    assert all(r["campaignId"] == first["_id"] and "@" in r["email"] for r in rows)
    leads = list(csv.DictReader(io.StringIO(api.call("POST", "/overview/leads/export").text)))
    assert len(leads) == 6
    assert list(csv.DictReader(io.StringIO(api.call("POST", "/leads/export/hot-leads").text))) == []
    api.ok("POST", f"/leads/interested/{leads[0]['email']}")
    hot = list(csv.DictReader(io.StringIO(api.call("POST", "/leads/export/hot-leads").text)))
    assert [r["email"] for r in hot] == [leads[0]["email"]]


def test_duplicate_statutes_and_review(api: SandboxClient):
    campaign = api.ok("POST", "/campaigns", json={"name": "Original"})
    statutes = api.ok("GET", f"/campaigns/{campaign['_id']}/statutes")
    assert "The campaign has no leads" in [s["message"] for s in statutes["statutes"]]
    copy = api.ok("POST", f"/campaigns/{campaign['_id']}/duplicate", json={"name": "Clone"})
    assert copy["name"] == "Clone" and copy["_id"] != campaign["_id"] and copy["status"] == "draft"
    assert copy["sequenceId"] != campaign.get("sequenceId")
    names = [c["name"] for c in _campaign_list(api)]
    assert sorted(names) == ["Clone", "Original"]
    missing = api.call("POST", "/campaigns/cam_nope/duplicate")
    assert missing.status_code == 404 and missing.json() == {"error": "Campaign not found"}
    lead = api.ok("POST", f"/campaigns/{campaign['_id']}/leads/", json={"email": _email()})
    assert api.ok("POST", f"/leads/review/{lead['_id']}") == {"ok": True}
    assert api.call("POST", "/leads/review/lea_nope").json()["error"] == "LEAD_NOT_FOUND"


def _campaign_list(api: SandboxClient) -> list[dict]:
    body = api.ok("GET", "/campaigns", params={"version": "v2"})
    return body["campaigns"] if isinstance(body, dict) else body


def test_teams_do_not_see_each_other(sandbox, api: SandboxClient):
    api.ok("POST", "/inbox/labels", json={"labelName": "Mine"})
    api.ok("POST", "/companies", json={"name": "Mine Inc"})
    other_key = f"test-key-{uuid.uuid4().hex[:12]}"
    sandbox.create_team(other_key)
    other = SandboxClient(sandbox.base_url, other_key)
    assert other.ok("GET", "/inbox/labels") == [] and other.ok("GET", "/companies")["total"] == 0
