"""The sandbox answers every operation of lemlist's OpenAPI spec the way the spec says.

Table-driven: one case per operation and expected status, sent over real HTTP to a sandbox of our own (no
rate limit, fast clock) and checked with openapi-core: the status must be listed for the operation, and the
content type and body must match the spec's response. The data a call needs is created through the API
first (``Ctx``), never by reaching into the sandbox's memory.

An operation of the spec with no case fails ``test_every_operation_has_a_case`` unless it is listed in
``NOT_IMPLEMENTED`` with a reason.
"""

from __future__ import annotations

import json
import os
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import pytest
import requests
from openapi_core import OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse
from sandbox_client import CallFailed, SandboxClient

from lemlist_sandbox import DEMO_KEY, SandboxServer

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("LEMLIST_SHARED_DIR") or REPO.parent / "shared")
SPEC_PATH = SHARED / "lemlist-api" / "openapi-v2.json"
HTTP_METHODS = ("get", "post", "put", "patch", "delete")

# Operations of the spec the sandbox deliberately does not serve: "METHOD /path" -> reason. Keep it empty.
NOT_IMPLEMENTED: dict[str, str] = {}

# Cases where the sandbox knowingly differs from the spec: case id -> reason (run as strict xfail).
KNOWN_DEVIATIONS: dict[str, str] = {}


def _load_spec() -> dict:
    return json.loads(SPEC_PATH.read_text())


def _any_of(node: Any) -> Any:
    """The OAS writes ``oneOf`` where its branches overlap (e.g. ``{id, metadata}`` vs ``{error, metadata}``
    with no required keys), which JSON Schema ``oneOf`` rejects for every value. Read those as ``anyOf``."""
    if isinstance(node, dict):
        return {("anyOf" if k == "oneOf" else k): _any_of(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_any_of(v) for v in node]
    return node


def spec_operations(spec: dict) -> list[str]:
    return [f"{m.upper()} {p}" for p, ops in spec["paths"].items() for m in ops if m in HTTP_METHODS]


# ------------------------------------------------------------------------------------------------------
# Data the calls need, created through the API on first use and memoised.
# ------------------------------------------------------------------------------------------------------


def email_account(email: str) -> dict:
    """The body of ``POST /user/email-accounts`` for a custom SMTP/IMAP mailbox."""
    servers = {
        "smtp_host": "smtp.example.com",
        "smtp_port": 587,
        "imap_host": "imap.example.com",
        "imap_port": 993,
    }
    logins = {f"{kind}_{part}": part[0] for kind in ("smtp", "imap") for part in ("login", "password")}
    return {"sender_name": "Conf", "sender_email": email, **servers, **logins}


class Ctx(SandboxClient):
    @staticmethod
    def uniq(prefix: str = "x") -> str:
        return f"{prefix}{uuid.uuid4().hex[:10]}"

    def email(self) -> str:
        return f"{self.uniq('lead')}@conformance.example.com"

    # -- team ------------------------------------------------------------------------------------------
    @cached_property
    def user_id(self) -> str:
        return self.ok("GET", "/team")["createdBy"]

    @cached_property
    def mailbox(self) -> dict:
        return self.ok("GET", f"/users/{self.user_id}")["mailboxes"][0]

    # -- campaigns, sequences, schedules ---------------------------------------------------------------
    def new_campaign(self) -> dict:
        return self.ok("POST", "/campaigns", json={"name": self.uniq("Conformance ")})

    @cached_property
    def campaign(self) -> dict:
        return self.new_campaign()

    @cached_property
    def campaign_id(self) -> str:
        return self.campaign["_id"]

    @cached_property
    def sequence_id(self) -> str:
        if self.campaign.get("sequenceId"):
            return self.campaign["sequenceId"]
        body = self.ok("GET", f"/campaigns/{self.campaign_id}/sequences")
        sequences = body if isinstance(body, list) else list(body.values())
        return sequences[0]["_id"]

    def new_step(self) -> str:
        body = self.ok(
            "POST",
            f"/sequences/{self.sequence_id}/steps",
            json={"type": "email", "delay": 1, "subject": "Hi", "message": "Hello {{firstName}}"},
        )
        return body["_id"]

    def new_schedule(self) -> str:
        body = self.ok(
            "POST",
            "/schedules",
            json={
                "name": self.uniq("sch "),
                "timezone": "Europe/Paris",
                "start": "09:00",
                "end": "18:00",
                "weekdays": [1, 2, 3, 4, 5],
            },
        )
        return body["_id"]

    @cached_property
    def schedule_id(self) -> str:
        return self.new_schedule()

    @cached_property
    def export_id(self) -> str:
        body = self.ok("GET", f"/campaigns/{self.campaign_id}/export/start")
        return body.get("id") or body["_id"]

    # -- leads -----------------------------------------------------------------------------------------
    def new_lead(self, campaign_id: str | None = None) -> dict:
        email = self.email()
        body = self.ok(
            "POST",
            f"/campaigns/{campaign_id or self.campaign_id}/leads/",
            json={"email": email, "firstName": "Ada", "lastName": "Lovelace", "companyName": "Engines"},
        )
        body.setdefault("email", email)
        return body

    @cached_property
    def lead(self) -> dict:
        return self.new_lead()

    @cached_property
    def contact_id(self) -> str:
        if self.lead.get("contactId"):
            return self.lead["contactId"]
        return self.ok("GET", f"/contacts/{self.lead['email']}")["_id"]

    @cached_property
    def enrichment_id(self) -> str:
        body = self.ok("POST", "/enrich", params={"email": self.email(), "verifyEmail": "true"})
        return body.get("id") or body["_id"]

    @cached_property
    def activity_id(self) -> str:
        body = self.ok("GET", "/activities", params={"version": "v2", "limit": 5})
        items = body if isinstance(body, list) else body.get("activities") or body.get("items") or []
        return items[0]["_id"]

    def new_hook(self) -> str:
        return self.ok("POST", "/hooks", json={"targetUrl": f"https://hooks.example.com/{self.uniq()}"})[
            "_id"
        ]

    # -- inbox, companies, contacts, tasks -------------------------------------------------------------
    def new_label(self) -> str:
        return self.ok("POST", "/inbox/labels", json={"labelName": self.uniq("label ")})["_id"]

    @cached_property
    def label_id(self) -> str:
        return self.new_label()

    def new_draft(self) -> str:
        body = self.ok(
            "POST",
            f"/inbox/{self.contact_id}/drafts",
            params={"draftOwner": self.user_id},
            json={"channel": "email", "subject": "Draft", "content": "Hello"},
        )
        return body["draftId"]

    def new_company(self) -> str:
        body = self.ok(
            "POST", "/companies", json={"name": "Conformance Co", "domain": f"{self.uniq()}.example"}
        )
        return body["data"]["_id"]

    @cached_property
    def company_id(self) -> str:
        return self.new_company()

    @cached_property
    def list_id(self) -> str:
        return self.ok("POST", "/contacts/lists", json={"name": self.uniq("list ")})["list"]["id"]

    def new_task(self) -> str:
        body = self.ok(
            "POST",
            "/tasks",
            json={
                "leadId": self.lead["_id"],
                "type": "manual",
                "assignedTo": self.user_id,
                "dueDate": "2030-01-01T09:00:00.000Z",
            },
        )
        return body["_id"]

    def new_email_account(self) -> str:
        body = self.ok(
            "POST",
            "/user/email-accounts",
            json=email_account(self.email()),
        )
        return body["id"]


# ------------------------------------------------------------------------------------------------------
# The table.
# ------------------------------------------------------------------------------------------------------

Build = Callable[[Ctx], dict]


@dataclass(frozen=True)
class Case:
    method: str
    path: str  # the spec's path template
    status: int
    build: Build = field(default=lambda c: {})
    label: str = ""
    auth: bool = True
    missing: str = ""  # the path parameter given an id that does not exist (the rest exist)

    @property
    def operation(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def id(self) -> str:
        return f"{self.operation} {self.status}" + (f" {self.label}" if self.label else "")

    def concrete_path(self, ctx: Ctx) -> str:
        """The path with an existing id for each parameter (``EXISTING``), or ``MISSING`` for ``missing``."""
        names = re.findall(r"\{([^}]+)\}", self.path)
        return self.path.format(**{n: MISSING[n] if n == self.missing else EXISTING[n](ctx) for n in names})


def C(
    method: str, path: str, status: int, build: Build | None = None, label: str = "", missing: str = ""
) -> Case:  # noqa: N802
    return Case(method, path, status, build or (lambda c: {}), label, missing=missing)


def pair(
    method: str,
    path: str,
    build: Build | None = None,
    *,
    missing: str,
    status: int = 200,
    missing_status: int = 404,
) -> list[Case]:
    """The same request twice: with ids that exist (``status``), then with ``missing`` unknown."""
    return [C(method, path, status, build), C(method, path, missing_status, build, missing=missing)]


MISSING_CAMPAIGN = "cam_missing0000000000"
MISSING_LEAD = "lea_missing0000000000"

# Path parameter -> an id that exists (created through the API on first use), and one that does not.
EXISTING: dict[str, Callable[[Ctx], str]] = {
    "campaignId": lambda c: c.campaign_id,
    "sequenceId": lambda c: c.sequence_id,
    "stepId": lambda c: c.new_step(),
    "scheduleId": lambda c: c.schedule_id,
    "exportId": lambda c: c.export_id,
    "leadId": lambda c: c.lead["_id"],
    "leadIdOrEmail": lambda c: c.lead["_id"],
    "contactId": lambda c: c.contact_id,
    "idOrEmail": lambda c: c.contact_id,
    "labelId": lambda c: c.label_id,
    "draftId": lambda c: c.new_draft(),
    "userId": lambda c: c.user_id,
    "emailAccountId": lambda c: c.new_email_account(),
    "userMailboxId": lambda c: c.mailbox["_id"],
    "companyId": lambda c: c.company_id,
    "listId": lambda c: c.list_id,
    "hookId": lambda c: c.new_hook(),
    "enrichId": lambda c: c.enrichment_id,
    "activityId": lambda c: c.activity_id,
}
MISSING = {
    "campaignId": MISSING_CAMPAIGN,
    "leadId": MISSING_LEAD,
    "leadIdOrEmail": MISSING_LEAD,
    "userId": "usr_missing000000",
    "emailAccountId": "usm_nope",
    **{
        name: f"{prefix}_missing000000"
        for name, prefix in (
            ("stepId", "stp"),
            ("exportId", "axp"),
            ("draftId", "dft"),
            ("scheduleId", "skd"),
            ("labelId", "lbl"),
            ("contactId", "ctc"),
            ("listId", "clt"),
            ("userMailboxId", "usm"),
            ("companyId", "cpn"),
            ("activityId", "act"),
            ("hookId", "hoo"),
            ("enrichId", "enr"),
        )
    },  # fmt: skip
}

CASES: list[Case] = [
    # Team & users
    C("GET", "/team", 200),
    C(
        "GET",
        "/team",
        200,
        lambda c: {
            "_pre": (
                c.new_hook(),
                c.ok(
                    "POST",
                    "/hooks",
                    json={
                        "targetUrl": "https://hooks.example.com/multi",
                        "type": "emailsOpened,emailsClicked",
                    },
                ),
            )
        },
        label="with hooks",
    ),
    C("GET", "/team/senders", 200),
    C("GET", "/team/senders", 400, lambda c: {"params": {"state": "sideways"}}),
    C("GET", "/team/credits", 200),
    C("GET", "/team/crmUsers", 200),
    *pair("GET", "/users/{userId}", missing="userId", missing_status=400),
    C("GET", "/user/channels", 200),
    C(
        "POST",
        "/user/email-accounts",
        201,
        lambda c: {"json": email_account(c.email())},
    ),
    C("POST", "/user/email-accounts", 400, lambda c: {"json": {"sender_name": "only a name"}}),
    *pair("DELETE", "/user/email-accounts/{emailAccountId}", missing="emailAccountId"),
    *pair("POST", "/user/email-accounts/{emailAccountId}/test", missing="emailAccountId"),
    # Campaigns
    C("GET", "/campaigns", 200, lambda c: {"params": {"version": "v2", "limit": 10}}),
    C("POST", "/campaigns", 200, lambda c: {"json": {"name": c.uniq("New campaign ")}}),
    C("POST", "/campaigns", 400, lambda c: {"json": {}}),
    *pair("GET", "/campaigns/{campaignId}", missing="campaignId"),
    C("PATCH", "/campaigns/{campaignId}", 200, lambda c: {"json": {"name": c.uniq("Renamed ")}}),
    C("PATCH", "/campaigns/{campaignId}", 404, lambda c: {"json": {"name": "x"}}, missing="campaignId"),
    *pair("POST", "/campaigns/{campaignId}/pause", missing="campaignId"),
    C(
        "POST",
        "/campaigns/{campaignId}/start",
        200,
        lambda c: {"path": f"/campaigns/{c.new_lead() and c.campaign_id}/start"},
    ),
    C("POST", "/campaigns/{campaignId}/start", 404, missing="campaignId"),
    *pair("GET", "/campaigns/{campaignId}/export/start", missing="campaignId"),
    *pair("GET", "/campaigns/{campaignId}/export/{exportId}/status", missing="exportId"),
    C(
        "PUT",
        "/campaigns/{campaignId}/export/{exportId}/email/{email}",
        200,
        lambda c: {"path": f"/campaigns/{c.campaign_id}/export/{c.export_id}/email/ops%40example.com"},
    ),
    C(
        "PUT",
        "/campaigns/{campaignId}/export/{exportId}/email/{email}",
        404,
        lambda c: {"path": f"/campaigns/{c.campaign_id}/export/axp_missing000000/email/ops%40example.com"},
    ),
    C(
        "GET",
        "/campaigns/{campaignId}/export/leads",
        200,
        lambda c: {"params": {"state": "all", "format": "json"}},
        label="json",
    ),
    C(
        "GET",
        "/campaigns/{campaignId}/export/leads",
        200,
        lambda c: {"params": {"state": "all", "format": "csv"}},
        label="csv",
    ),
    C(
        "GET",
        "/campaigns/{campaignId}/export/leads",
        404,
        lambda c: {"params": {"state": "all"}},
        missing="campaignId",
    ),
    C("GET", "/campaigns/reports", 200, lambda c: {"params": {"campaignIds": c.campaign_id}}),
    C("GET", "/campaigns/reports", 400),
    C("POST", "/campaigns/{campaignId}/duplicate", 200, lambda c: {"json": {"name": c.uniq("Copy ")}}),
    C("POST", "/campaigns/{campaignId}/duplicate", 404, lambda c: {"json": {}}, missing="campaignId"),
    *pair("GET", "/campaigns/{campaignId}/statutes", missing="campaignId"),
    C(
        "GET",
        "/v2/campaigns/{campaignId}/stats",
        200,
        lambda c: {
            "params": {"startDate": "2020-01-01T00:00:00.000Z", "endDate": "2035-01-01T00:00:00.000Z"}
        },
    ),
    C("GET", "/v2/campaigns/{campaignId}/stats", 400),
    C(
        "GET",
        "/v2/campaigns/{campaignId}/stats",
        404,
        lambda c: {
            "params": {"startDate": "2020-01-01T00:00:00.000Z", "endDate": "2035-01-01T00:00:00.000Z"}
        },
        missing="campaignId",
    ),
    C(
        "POST",
        "/v2/campaigns/stats/batch",
        200,
        lambda c: {
            "json": {
                "campaignIds": [c.campaign_id],
                "startDate": "2020-01-01T00:00:00.000Z",
                "endDate": "2035-01-01T00:00:00.000Z",
            }
        },
    ),
    C("POST", "/v2/campaigns/stats/batch", 400, lambda c: {"json": {"campaignIds": [c.campaign_id]}}),
    # Sequences
    *pair("GET", "/campaigns/{campaignId}/sequences", missing="campaignId"),
    C(
        "POST",
        "/sequences/{sequenceId}/steps",
        200,
        lambda c: {"json": {"type": "email", "delay": 2, "subject": "Follow-up", "message": "Any news?"}},
    ),
    C("POST", "/sequences/{sequenceId}/steps", 400, lambda c: {"json": {"type": "carrierPigeon"}}),
    C(
        "PATCH",
        "/sequences/{sequenceId}/steps/{stepId}",
        200,
        lambda c: {"json": {"type": "email", "delay": 3}},
    ),
    *pair("DELETE", "/sequences/{sequenceId}/steps/{stepId}", missing="stepId"),
    # Schedules
    C("GET", "/schedules", 200),
    C(
        "POST",
        "/schedules",
        200,
        lambda c: {
            "json": {
                "name": c.uniq("Office hours "),
                "timezone": "Europe/Paris",
                "start": "09:00",
                "end": "18:00",
                "weekdays": [1, 2, 3, 4, 5],
            }
        },
    ),
    C("POST", "/schedules", 400, lambda c: {"json": {"name": "no hours"}}),
    *pair("GET", "/schedules/{scheduleId}", missing="scheduleId"),
    C("PATCH", "/schedules/{scheduleId}", 200, lambda c: {"json": {"name": c.uniq("Renamed ")}}),
    C("PATCH", "/schedules/{scheduleId}", 404, lambda c: {"json": {"name": "x"}}, missing="scheduleId"),
    C("DELETE", "/schedules/{scheduleId}", 200, lambda c: {"path": f"/schedules/{c.new_schedule()}"}),
    C("DELETE", "/schedules/{scheduleId}", 404, missing="scheduleId"),
    *pair("GET", "/campaigns/{campaignId}/schedules/", missing="campaignId"),
    *pair("POST", "/campaigns/{campaignId}/schedules/{scheduleId}", missing="campaignId"),
    # Leads
    C("GET", "/leads", 200, lambda c: {"params": {"email": c.lead["email"], "version": "v2"}}),
    C("GET", "/leads", 404, lambda c: {"params": {"email": "nobody@nowhere.example.com", "version": "v2"}}),
    C(
        "GET",
        "/leads/{email}",
        200,
        lambda c: {"path": f"/leads/{c.lead['email']}", "params": {"version": "v2"}},
    ),
    C(
        "GET",
        "/leads/{email}",
        404,
        lambda c: {"path": "/leads/nobody@nowhere.example.com", "params": {"version": "v2"}},
    ),
    C("GET", "/campaigns/{campaignId}/leads/", 200),
    C(
        "POST",
        "/campaigns/{campaignId}/leads/",
        200,
        lambda c: {"json": {"email": c.email(), "firstName": "Grace"}},
    ),
    C(
        "POST",
        "/campaigns/{campaignId}/leads/",
        404,
        lambda c: {"json": {"email": c.email()}},
        missing="campaignId",
    ),
    C("POST", "/campaigns/{campaignId}/leads/", 400, lambda c: {"json": {"email": "not-an-email"}}),
    C(
        "DELETE",
        "/campaigns/{campaignId}/leads/",
        200,
        lambda c: {"params": {"email": c.new_lead()["email"]}},
    ),
    C("DELETE", "/campaigns/{campaignId}/leads/", 404, missing="campaignId"),
    C("PATCH", "/campaigns/{campaignId}/leads/{leadId}", 200, lambda c: {"json": {"jobTitle": "Countess"}}),
    C(
        "PATCH",
        "/campaigns/{campaignId}/leads/{leadId}",
        404,
        lambda c: {"json": {"jobTitle": "x"}},
        missing="leadId",
    ),
    C(
        "DELETE",
        "/campaigns/{campaignId}/leads/{leadId}",
        200,
        lambda c: {
            "path": f"/campaigns/{c.campaign_id}/leads/{c.new_lead()['_id']}",
            "params": {"action": "remove"},
        },
    ),
    C("DELETE", "/campaigns/{campaignId}/leads/{leadId}", 404, missing="leadId"),
    C(
        "DELETE",
        "/campaigns/{campaignId}/leads/{email}",
        200,
        lambda c: {"path": f"/campaigns/{c.campaign_id}/leads/{c.new_lead()['email']}"},
    ),
    *pair("POST", "/leads/start/{leadId}", missing="leadId"),
    *pair("POST", "/leads/pause/{leadId}", missing="leadId"),
    *pair("POST", "/leads/review/{leadId}", missing="leadId"),
    C("POST", "/leads/review/{leadId}", 400, lambda c: {"path": "/leads/review/not-a-lead-id"}),
    *pair("POST", "/leads/interested/{leadIdOrEmail}", missing="leadIdOrEmail"),
    *pair("POST", "/leads/notinterested/{leadIdOrEmail}", missing="leadIdOrEmail"),
    *pair("POST", "/campaigns/{campaignId}/leads/{leadIdOrEmail}/interested", missing="leadIdOrEmail"),
    *pair("POST", "/campaigns/{campaignId}/leads/{leadIdOrEmail}/notinterested", missing="leadIdOrEmail"),
    *pair(
        "POST", "/leads/{leadId}/variables", lambda c: {"params": {"customField1": "blue"}}, missing="leadId"
    ),
    *pair(
        "PATCH",
        "/leads/{leadId}/variables",
        lambda c: {"params": {"customField1": "green"}},
        missing="leadId",
    ),
    *pair(
        "DELETE", "/leads/{leadId}/variables", lambda c: {"params": {"customField1": ""}}, missing="leadId"
    ),
    C(
        "POST",
        "/leads/audio",
        200,
        lambda c: {
            "params": {"leadId": c.lead["_id"], "stepId": c.new_step()},
            "files": {"file": ("note.mp3", b"ID3fake-mp3-bytes", "audio/mpeg")},
        },
    ),
    C("POST", "/leads/audio", 400, lambda c: {"params": {"leadId": c.lead["_id"], "stepId": c.new_step()}}),
    C("GET", "/crm/filters", 200, lambda c: {"params": {"crm": "hubspot", "userId": c.user_id}}),
    C("GET", "/crm/filters", 400),
    C(
        "POST",
        "/campaigns/{campaignId}/leads/import",
        200,
        lambda c: {"json": {"crm": "hubspot", "userId": c.user_id, "filterId": "hubspot_flt_lead_0"}},
    ),
    C("POST", "/campaigns/{campaignId}/leads/import", 400, lambda c: {"json": {"crm": "hubspot"}}),
    # People database
    C("GET", "/database/filters", 200),
    C(
        "POST",
        "/database/people",
        200,
        lambda c: {"json": {"filters": [{"filterId": "country", "in": ["France"]}], "page": 1, "size": 5}},
    ),
    C("POST", "/database/people", 400, lambda c: {"json": {"size": 500}}),
    C("POST", "/database/companies", 200, lambda c: {"json": {"filters": [], "page": 1, "size": 5}}),
    C("POST", "/database/companies", 400, lambda c: {"json": {"page": 0}}),
    # Tasks
    C("GET", "/tasks", 200, lambda c: {"_pre": c.new_task(), "params": {"page": 0}}),
    C("GET", "/tasks", 400, lambda c: {"params": {"filters": "{not json"}}),
    C(
        "POST",
        "/tasks",
        200,
        lambda c: {
            "json": {
                "leadId": c.lead["_id"],
                "type": "email",
                "assignedTo": c.user_id,
                "dueDate": "2030-01-01T09:00:00.000Z",
            }
        },
    ),
    C("POST", "/tasks", 400, lambda c: {"json": {"type": "email"}}),
    C("PATCH", "/tasks", 200, lambda c: {"json": {"id": c.new_task(), "done": True}}),
    C("PATCH", "/tasks", 400, lambda c: {"json": {"id": "tsk_missing000000", "done": True}}),
    C("POST", "/tasks/ignore", 200, lambda c: {"json": {"ids": [c.new_task()]}}),
    C("POST", "/tasks/ignore", 400, lambda c: {"json": {"ids": []}}),
    # Inbox
    C("GET", "/inbox", 200, lambda c: {"params": {"userId": c.user_id, "page": 1, "limit": 10}}),
    C("GET", "/inbox", 400, lambda c: {"params": {"userId": c.user_id, "limit": 0}}),
    C("GET", "/inbox/{contactId}", 200, lambda c: {"params": {"limit": 10}}),
    C("GET", "/inbox/{contactId}", 400, lambda c: {"path": "/inbox/not-a-contact"}),
    C(
        "POST",
        "/inbox/email",
        200,
        lambda c: {
            "json": {
                "sendUserId": c.user_id,
                "sendUserEmail": c.mailbox["email"],
                "sendUserMailboxId": c.mailbox["_id"],
                "contactId": c.contact_id,
                "leadId": c.lead["_id"],
                "subject": "Follow up",
                "message": "<p>Hello</p>",
            }
        },
    ),
    C(
        "POST",
        "/inbox/email",
        400,
        lambda c: {"json": {"sendUserId": c.user_id, "subject": "s", "message": "m"}},
    ),
    C(
        "POST",
        "/inbox/linkedin",
        200,
        lambda c: {
            "json": {
                "sendUserId": c.user_id,
                "leadId": c.lead["_id"],
                "contactId": c.contact_id,
                "message": "Hi",
            }
        },
    ),
    C("POST", "/inbox/linkedin", 400, lambda c: {"json": {"sendUserId": "usr_nobody", "message": "Hi"}}),
    C(
        "POST",
        "/inbox/whatsapp",
        200,
        lambda c: {
            "json": {
                "sendUserId": c.user_id,
                "sendUserWhatsappAccountId": "wha_1",
                "leadId": c.lead["_id"],
                "contactId": c.contact_id,
                "message": "Hi",
            }
        },
    ),
    C("POST", "/inbox/whatsapp", 400, lambda c: {"json": {"sendUserId": c.user_id, "message": "Hi"}}),
    C("GET", "/inbox/labels", 200, lambda c: {"_pre": c.label_id}),
    C("POST", "/inbox/labels", 200, lambda c: {"json": {"labelName": c.uniq("Hot ")}}),
    C(
        "POST",
        "/inbox/labels",
        409,
        lambda c: {"json": {"labelName": c.ok("GET", f"/inbox/labels/{c.label_id}")["name"]}},
    ),
    C("POST", "/inbox/labels", 400, lambda c: {"json": {}}),
    *pair("GET", "/inbox/labels/{labelId}", missing="labelId"),
    *pair(
        "POST",
        "/inbox/conversations/labels/{contactId}",
        lambda c: {"json": {"labelIds": [c.label_id], "appendLabels": True}},
        missing="contactId",
    ),
    *pair(
        "DELETE",
        "/inbox/conversations/labels/{contactId}",
        lambda c: {"json": {"labelIds": [c.label_id]}},
        missing="contactId",
    ),
    C(
        "GET",
        "/inbox/{contactId}/drafts",
        200,
        lambda c: {"_pre": c.new_draft(), "params": {"draftOwner": c.user_id}},
    ),
    C("GET", "/inbox/{contactId}/drafts", 400),
    C(
        "POST",
        "/inbox/{contactId}/drafts",
        201,
        lambda c: {
            "params": {"draftOwner": c.user_id},
            "json": {"channel": "linkedin", "content": "Hi there"},
        },
    ),
    C(
        "POST",
        "/inbox/{contactId}/drafts",
        400,
        lambda c: {"params": {"draftOwner": c.user_id}, "json": {"channel": "fax"}},
    ),
    *pair(
        "GET",
        "/inbox/{contactId}/drafts/{draftId}",
        lambda c: {"params": {"draftOwner": c.user_id}},
        missing="draftId",
    ),
    *pair(
        "PATCH",
        "/inbox/{contactId}/drafts/{draftId}",
        lambda c: {"params": {"draftOwner": c.user_id}, "json": {"content": "Edited"}},
        missing="draftId",
    ),
    *pair(
        "DELETE",
        "/inbox/{contactId}/drafts/{draftId}",
        lambda c: {"params": {"draftOwner": c.user_id}},
        missing="draftId",
    ),
    # Contacts
    C("GET", "/contacts", 200, lambda c: {"_pre": c.contact_id, "params": {"limit": 10}}, label="page"),
    C(
        "GET",
        "/contacts",
        200,
        lambda c: {"params": {"idsOrEmails": f"{c.contact_id},{c.lead['email']}"}},
        label="lookup",
    ),
    C("GET", "/contacts", 400, lambda c: {"params": {"limit": 0}}),
    C(
        "POST",
        "/contacts",
        201,
        lambda c: {"json": {"email": c.email(), "firstName": "Hedy", "jobTitle": "Inventor"}},
    ),
    C("POST", "/contacts", 200, lambda c: {"json": {"email": c.lead["email"], "jobTitle": "Countess"}}),
    C("POST", "/contacts", 400, lambda c: {"json": {"firstName": "No identifier"}}),
    C("GET", "/contacts/{idOrEmail}", 200),
    C("GET", "/contacts/{idOrEmail}", 400, lambda c: {"path": "/contacts/nobody@nowhere.example.com"}),
    C("GET", "/contacts/lists", 200, lambda c: {"_pre": c.list_id}),
    C("POST", "/contacts/lists", 201, lambda c: {"json": {"name": c.uniq("List ")}}),
    C("POST", "/contacts/lists", 400, lambda c: {"json": {"name": "x" * 201}}),
    *pair(
        "POST",
        "/contacts/lists/{listId}/entities",
        lambda c: {"json": {"contactIds": [c.contact_id]}},
        missing="listId",
    ),
    C("POST", "/contacts/lists/{listId}/entities", 400, lambda c: {"json": {"contactIds": []}}),
    C("GET", "/contacts/export", 200, lambda c: {"params": {"listId": c.list_id}}),
    C("GET", "/contacts/export", 400),
    # lemwarm
    *pair("POST", "/lemwarm/{userMailboxId}/start", missing="userMailboxId", missing_status=400),
    *pair("POST", "/lemwarm/{userMailboxId}/pause", missing="userMailboxId", missing_status=400),
    *pair("GET", "/lemwarm/{userMailboxId}/settings", missing="userMailboxId", missing_status=400),
    C("PATCH", "/lemwarm/{userMailboxId}/settings", 200, lambda c: {"json": {"warmEmailMax": 30}}),
    C("PATCH", "/lemwarm/{userMailboxId}/settings", 400, lambda c: {"json": {"warmEmailMax": "lots"}}),
    # Companies
    C("GET", "/companies", 200, lambda c: {"_pre": c.company_id, "params": {"limit": 10}}),
    C("GET", "/companies", 400, lambda c: {"params": {"limit": 501}}),
    C(
        "POST",
        "/companies",
        201,
        lambda c: {"json": {"name": "Globex", "domain": f"{c.uniq()}.example", "size": "11-50"}},
    ),
    C("POST", "/companies", 200, lambda c: {"json": {"companyId": c.company_id, "industry": "Software"}}),
    C("POST", "/companies", 400, lambda c: {"json": {"industry": "no identifier"}}),
    C("DELETE", "/companies/{companyId}", 200, lambda c: {"path": f"/companies/{c.new_company()}"}),
    C("DELETE", "/companies/{companyId}", 404, missing="companyId"),
    C("DELETE", "/companies/{companyId}", 400, lambda c: {"path": "/companies/not-a-company"}),
    *pair("GET", "/companies/{companyId}/notes", missing="companyId"),
    C("POST", "/companies/{companyId}/notes", 200, lambda c: {"json": {"note": "Met at a conference"}}),
    C("POST", "/companies/{companyId}/notes", 404, lambda c: {"json": {"note": "x"}}, missing="companyId"),
    C("POST", "/companies/{companyId}/notes", 400, lambda c: {"json": {}}),
    # Activities
    C("GET", "/activities", 200, lambda c: {"params": {"version": "v2", "limit": 10}}),
    C("GET", "/activities", 400, lambda c: {"params": {"version": "v2", "limit": "many"}}),
    *pair("DELETE", "/activities/{activityId}/recording-transcript", missing="activityId"),
    # Unsubscribes
    C("GET", "/unsubscribes", 200),
    C("GET", "/unsubs/export", 200),
    C("GET", "/v2/unsubscribes/variables", 200),
    C(
        "POST",
        "/v2/unsubscribes/variables",
        200,
        lambda c: {"json": {"values": [c.email(), "@spam.example"]}},
    ),
    C("POST", "/v2/unsubscribes/variables", 400, lambda c: {"json": {}}),
    C(
        "GET",
        "/v2/unsubscribes/variables/{value}",
        200,
        lambda c: {
            "path": f"/v2/unsubscribes/variables/{(e := c.email())}",
            "_pre": c.ok("POST", f"/v2/unsubscribes/variables/{e}"),
        },
    ),
    C(
        "GET",
        "/v2/unsubscribes/variables/{value}",
        404,
        lambda c: {"path": "/v2/unsubscribes/variables/never@subscribed.example.com"},
    ),
    C(
        "POST",
        "/v2/unsubscribes/variables/{value}",
        200,
        lambda c: {"path": f"/v2/unsubscribes/variables/{c.email()}"},
    ),
    C(
        "DELETE",
        "/v2/unsubscribes/variables/{value}",
        200,
        lambda c: {
            "path": f"/v2/unsubscribes/variables/{(e := c.email())}",
            "_pre": c.ok("POST", f"/v2/unsubscribes/variables/{e}"),
        },
    ),
    C("GET", "/v2/unsubscribes/contacts/{contactId}", 200),
    C(
        "POST",
        "/v2/unsubscribes/contacts/{contactId}",
        200,
        lambda c: {"path": f"/v2/unsubscribes/contacts/{c.new_lead()['contactId']}"},
    ),
    C("DELETE", "/v2/unsubscribes/contacts/{contactId}", 200),
    C("GET", "/v2/unsubscribes/exports/variables", 200),
    C("GET", "/v2/unsubscribes/exports/contacts", 200),
    C(
        "GET",
        "/unsubscribes/{email}",
        200,
        lambda c: {"path": f"/unsubscribes/{(e := c.email())}", "_pre": c.ok("POST", f"/unsubscribes/{e}")},
    ),
    C("GET", "/unsubscribes/{email}", 404, lambda c: {"path": "/unsubscribes/never@subscribed.example.com"}),
    C("POST", "/unsubscribes/{email}", 200, lambda c: {"path": f"/unsubscribes/{c.email()}"}),
    C(
        "DELETE",
        "/unsubscribes/{email}",
        200,
        lambda c: {"path": f"/unsubscribes/{(e := c.email())}", "_pre": c.ok("POST", f"/unsubscribes/{e}")},
    ),
    C(
        "DELETE",
        "/unsubscribes/{email}",
        404,
        lambda c: {"path": "/unsubscribes/never@subscribed.example.com"},
    ),
    # Webhooks
    C("GET", "/hooks", 200),
    C(
        "POST",
        "/hooks",
        200,
        lambda c: {"json": {"targetUrl": f"https://hooks.example.com/{c.uniq()}", "type": "emailsOpened"}},
    ),
    C("POST", "/hooks", 400, lambda c: {"json": {}}),
    *pair("DELETE", "/hooks/{hookId}", missing="hookId"),
    # Enrichment
    C("GET", "/enrich/{enrichId}", 200, lambda c: {"_wait": 0.2}),
    C("GET", "/enrich/{enrichId}", 404, missing="enrichId"),
    C("POST", "/enrich", 200, lambda c: {"params": {"email": c.email(), "verifyEmail": "true"}}),
    C("POST", "/enrich", 400, lambda c: {"params": {"email": c.email()}}),
    C(
        "POST",
        "/v2/enrichments/bulk",
        200,
        lambda c: {
            "json": [
                {"input": {"email": c.email()}, "enrichmentRequests": ["verify"], "metadata": {"row": 1}},
                {"input": {}, "enrichmentRequests": ["find_email"], "metadata": "row-2"},
            ]
        },
    ),
    C("POST", "/v2/enrichments/bulk", 400, lambda c: {"json": {"not": "an array"}}),
    C(
        "POST",
        "/leads/{leadId}/enrich",
        200,
        lambda c: {"path": f"/leads/{c.new_lead()['_id']}/enrich", "params": {"findEmail": "true"}},
    ),
    C("POST", "/leads/{leadId}/enrich", 404, lambda c: {"params": {"findEmail": "true"}}, missing="leadId"),
    C(
        "POST",
        "/leads/{leadId}/enrich",
        409,
        lambda c: {
            "path": f"/leads/{(lid := c.new_lead()['_id'])}/enrich",
            "params": {"findEmail": "true"},
            "_pre": c.ok("POST", f"/leads/{lid}/enrich", params={"findEmail": "true"}),
        },
    ),
    # Signals, fields
    C("GET", "/watchlist/signals", 200, lambda c: {"params": {"limit": 5, "status": "new"}}),
    C("GET", "/watchlist/signals", 400, lambda c: {"params": {"limit": 1000}}),
    C("GET", "/watchlist/signals", 404, lambda c: {"params": {"watchListId": "wtl_missing000000"}}),
    C("GET", "/fields", 200, lambda c: {"params": {"entity": "contact"}}),
    C("GET", "/fields", 400, lambda c: {"params": {"entity": "planet"}}),
]


def _auth_cases(spec: dict) -> list[Case]:
    """One unauthenticated call per operation that lists a 401 (the sandbox checks auth before routing)."""
    out = []
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            if method in HTTP_METHODS and "401" in op.get("responses", {}):
                concrete = path.replace("{", "").replace("}", "")  # any value will do: auth fails first
                out.append(Case(method.upper(), path, 401, lambda c, p=concrete: {"path": p}, auth=False))
    return out


SPEC = _load_spec()
ALL_CASES = CASES + _auth_cases(SPEC)


def _param(case: Case):
    marks = []
    if case.id in KNOWN_DEVIATIONS:
        marks.append(pytest.mark.xfail(reason=KNOWN_DEVIATIONS[case.id], strict=True))
    return pytest.param(case, id=case.id, marks=marks)


# ------------------------------------------------------------------------------------------------------
# Fixtures and tests.
# ------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def conformance_sandbox():
    with SandboxServer(rate_limit=0, time_scale=0.001) as server:
        yield server


@pytest.fixture(scope="module")
def openapi(conformance_sandbox) -> OpenAPI:
    spec = _any_of(_load_spec())
    spec["servers"] = [{"url": conformance_sandbox.base_url}]
    return OpenAPI.from_dict(spec)


@pytest.fixture(scope="module")
def ctx(conformance_sandbox) -> Ctx:
    return Ctx(conformance_sandbox.base_url, DEMO_KEY)


def test_every_operation_has_a_case():
    """An operation of the spec without a 2xx case is an operation the sandbox does not prove it serves."""
    covered = {c.operation for c in CASES if 200 <= c.status < 300}
    missing = [op for op in spec_operations(SPEC) if op not in covered and op not in NOT_IMPLEMENTED]
    print(
        f"\nOpenAPI conformance: {len(covered)}/{len(spec_operations(SPEC))} operations have a success case"
    )
    assert not missing, f"operations with no success case and not in NOT_IMPLEMENTED: {missing}"
    stale = [op for op in NOT_IMPLEMENTED if op in covered]
    assert not stale, f"NOT_IMPLEMENTED lists operations that now have cases: {stale}"


def test_cases_name_real_operations():
    known = set(spec_operations(SPEC))
    assert not [c.id for c in ALL_CASES if c.operation not in known]
    ids = [c.id for c in ALL_CASES]
    assert len(ids) == len(set(ids)), "case ids must be unique"


@pytest.mark.parametrize("case", [_param(c) for c in ALL_CASES])
def test_operation_conforms(case: Case, ctx: Ctx, openapi: OpenAPI) -> None:
    try:
        request = case.build(ctx)
    except (CallFailed, KeyError, IndexError, TypeError) as exc:
        pytest.fail(f"could not create the data for {case.id}: {type(exc).__name__}: {exc}")
    path = request.pop("path", None) or case.concrete_path(ctx)
    request.pop("_pre", None)
    wait = request.pop("_wait", 0)
    if wait:
        time.sleep(wait)
    if case.auth:
        response = ctx.call(case.method, path, **request)
    else:
        response = requests.request(
            case.method, ctx.base_url + path, auth=("", "wrong-key"), timeout=10, **request
        )
    content_type = response.headers.get("content-type", "")
    assert "text/html" not in content_type, f"{case.id}: HTML answer, the route does not exist in the sandbox"
    assert response.status_code == case.status, (
        f"{case.id}: expected {case.status}, got {response.status_code} {content_type}: {response.text[:300]}"
    )
    openapi.validate_response(RequestsOpenAPIRequest(response.request), RequestsOpenAPIResponse(response))


def _forged(
    real: requests.Response,
    *,
    status: int | None = None,
    body: bytes | None = None,
    content_type: str | None = None,
) -> requests.Response:
    forged = requests.Response()
    forged.status_code = status or real.status_code
    forged._content = real.content if body is None else body
    forged.headers.update(real.headers)
    if content_type:
        forged.headers["content-type"] = content_type
    forged.request = real.request
    forged.url = real.url
    return forged


def test_the_validator_rejects_what_the_spec_forbids(ctx: Ctx, openapi: OpenAPI) -> None:
    """Proof that the conformance cases can fail: wrong types, an unlisted status, a wrong content type."""
    from openapi_core.exceptions import OpenAPIError

    real = ctx.call("GET", "/team")
    openapi.validate_response(RequestsOpenAPIRequest(real.request), RequestsOpenAPIResponse(real))
    bad_type = _forged(real, body=b'{"_id": 123, "userIds": "not-an-array"}')
    unlisted_status = _forged(real, status=418)
    wrong_media = _forged(real, body=b"<html></html>", content_type="text/html")
    for forged in (bad_type, unlisted_status, wrong_media):
        with pytest.raises(OpenAPIError):
            openapi.validate_response(RequestsOpenAPIRequest(forged.request), RequestsOpenAPIResponse(forged))
