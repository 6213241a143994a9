"""Leads, in a campaign and team-wide: add (JSON and legacy path form), list, get, update, delete or
unsubscribe, interest, pause/start, variables, voice notes, and the CSV and CRM imports.

Behaviour choices (see the README): a lead already in the campaign answers 400 "Lead already in the
campaign"; with ``deduplicate=true`` a lead already in another campaign of the team answers 400 "Lead
already exists in another campaign"; a lead whose email or @domain is unsubscribed is added but never
contacted (state ``emailsUnsubscribed``).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from typing import Any

from fastapi import Request

from ..deps import SandboxDep, TeamDep, json_body
from ..errors import LemlistError
from ..journeys import start_journey
from ..seed import add_lead
from ..state import Team, now_iso
from .common import (
    PLAN_GATED,
    api_router,
    bool_param,
    clean,
    get_campaign,
    int_param,
    is_unsubscribed,
    is_v2,
    require,
    team_flag,
)
from .enrichment import ENRICH_FLAGS, start_enrichment

router = api_router()

EMAIL_RE = re.compile(r"^[^@\s,;]+@[^@\s,;]+\.[^@\s,;]+$")
STANDARD_FIELDS = (
    "email", "firstName", "lastName", "companyName", "jobTitle", "linkedinUrl", "picture", "phone",
    "companyDomain", "icebreaker", "timezone", "contactOwner", "preferredContactMethod",
)  # fmt: skip
_TYPED = {"isPaused": bool}
_RESERVED_QUERY = {"access_token", "version"}


# -- views ------------------------------------------------------------------------------------------------
def lead_view(lead: dict, **extra: Any) -> dict:
    """A lead as the API shows it. Custom variables are strings (the OAS types them so)."""
    out: dict[str, Any] = {}
    for key, value in clean({**lead, **extra}).items():
        if key in _TYPED or isinstance(value, str):
            out[key] = value
        elif isinstance(value, (int, float, bool)):
            out[key] = str(value).lower() if isinstance(value, bool) else str(value)
        # nested objects (lists, dicts) are internal bookkeeping: not shown
    return out


def lead_variables(lead: dict) -> dict:
    return {
        k: v
        for k, v in lead_view(lead).items()
        if k
        not in (
            "_id",
            "isPaused",
            "campaignId",
            "campaignName",
            "contactId",
            "state",
            "createdAt",
            "interest",
        )
    }


# -- shared logic (also used by the CSV import) ----------------------------------------------------------
def insert_lead(
    sandbox, team: Team, campaign: dict, data: dict, *, deduplicate: bool, enrich: list[str] | None = None
) -> dict:
    """Add one lead to a campaign or raise the ``LemlistError`` lemlist would answer."""
    if not isinstance(data, dict):
        raise LemlistError(400, "Body must be an object")
    email = data.get("email")
    if email is not None and not isinstance(email, str):
        raise LemlistError(400, "Invalid email")
    email = (email or "").strip().lower() or None
    if email and not EMAIL_RE.match(email):
        raise LemlistError(400, f"Invalid email: {email}")
    if (
        not email
        and not data.get("linkedinUrl")
        and not (
            data.get("firstName")
            and data.get("lastName")
            and (data.get("companyName") or data.get("companyDomain"))
        )
    ):
        raise LemlistError(400, "A lead needs an email, a linkedinUrl, or a name and a company")
    for lead in team.leads.values():
        if email and (lead.get("email") or "") == email:
            if lead.get("campaignId") == campaign["_id"]:
                raise LemlistError(400, "Lead already in the campaign")
            if deduplicate:
                raise LemlistError(400, "Lead already exists in another campaign")
    fields = {k: v for k, v in data.items() if k != "email" and v is not None and not k.startswith("_")}
    lead = add_lead(sandbox.world, team, campaign, email, **fields)
    if is_unsubscribed(team, email):
        lead["state"] = "emailsUnsubscribed"
        lead["__unsubscribed"] = True
    start_journey(sandbox, team, lead)  # a running campaign contacts it
    if enrich:
        try:
            start_enrichment(sandbox, team, enrich, _enrich_input(lead), lead=lead)
        except LemlistError:
            pass  # not enough credits: the lead is still added, without enrichment
    return lead


def _enrich_input(lead: dict) -> dict:
    keys = ("email", "firstName", "lastName", "companyName", "companyDomain", "linkedinUrl", "jobTitle")
    return {k: lead[k] for k in keys if lead.get(k)}


def _enrich_flags(request: Request) -> list[str]:
    return [kind for flag, kind in ENRICH_FLAGS.items() if bool_param(request.query_params.get(flag))]


def find_lead_or_404(team: Team, campaign_id: str | None, id_or_email: str) -> dict:
    return require(team.find_lead(campaign_id, id_or_email), "Lead")


# -- campaign context --------------------------------------------------------------------------------------
async def _add_lead(request: Request, team: Team, sandbox, campaign_id: str, **fields: Any) -> dict:
    """Add the lead the body describes (``fields`` override it): both add routes answer the same."""
    campaign = get_campaign(team, campaign_id)
    body = await json_body(request)
    if not isinstance(body, dict):
        raise LemlistError(400, "Body must be an object")
    lead = insert_lead(
        sandbox,
        team,
        campaign,
        {**body, **fields},
        deduplicate=bool_param(request.query_params.get("deduplicate")),
        enrich=_enrich_flags(request),
    )
    return lead_view(lead)


@router.post("/campaigns/{campaignId}/leads/")
@router.post("/campaigns/{campaignId}/leads", include_in_schema=False)
async def create_lead(campaignId: str, request: Request, team: TeamDep, sandbox: SandboxDep) -> dict:
    return await _add_lead(request, team, sandbox, campaignId)


@router.get("/campaigns/{campaignId}/leads/")
@router.get("/campaigns/{campaignId}/leads", include_in_schema=False)
async def list_campaign_leads(campaignId: str, request: Request, team: TeamDep) -> list[dict]:
    get_campaign(team, campaignId)
    limit = int_param(request.query_params.get("limit"), "limit", 100, low=1, high=500)
    state = request.query_params.get("state")
    leads = [
        lead
        for lead in team.leads_in_campaign(campaignId)
        if not state or state == "all" or lead.get("state") == state
    ]
    return [
        {"_id": lead["_id"], "contactId": lead["contactId"], "state": lead.get("state", "scanned")}
        for lead in leads[:limit]
    ]


@router.delete("/campaigns/{campaignId}/leads/")
async def unsubscribe_lead_by_query(campaignId: str, request: Request, team: TeamDep) -> dict:
    """The OAS form without a path value: the lead is named by ``email``/``leadId`` in the query or body."""
    get_campaign(team, campaignId)
    body = await json_body(request)
    body = body if isinstance(body, dict) else {}
    key = (
        request.query_params.get("email")
        or request.query_params.get("leadId")
        or body.get("email")
        or body.get("leadId")
    )
    if not key:
        raise LemlistError(400, "email or leadId is required")
    lead = find_lead_or_404(team, campaignId, key)
    lead["state"] = "emailsUnsubscribed"
    view = lead_view(lead)
    return {
        k: view[k] for k in ("email", "firstName", "lastName", "_id", "isPaused", "campaignId") if k in view
    }


@router.post("/campaigns/{campaignId}/leads/import")
async def import_leads(campaignId: str, request: Request, team: TeamDep, sandbox: SandboxDep) -> dict:
    """Multipart CSV upload (endpoint-reference) or CRM import ``{crm, userId, filterId}`` (OAS)."""
    campaign = get_campaign(team, campaignId)
    if team_flag(team, "plan_gated"):
        raise LemlistError(402, PLAN_GATED)
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        return await _import_csv(request, sandbox, team, campaign)
    body = await json_body(request)
    if not isinstance(body, dict):
        raise LemlistError(400, "Body must be an object")
    missing = [k for k in ("crm", "userId", "filterId") if not body.get(k)]
    if missing:
        raise LemlistError(400, f"Missing field(s): {', '.join(missing)}")
    team.extra.setdefault("crm_imports", []).append(
        {"campaignId": campaignId, **body, "createdAt": now_iso()}
    )
    return {"ok": True}


async def _import_csv(request: Request, sandbox, team: Team, campaign: dict) -> dict:
    form = await request.form()
    upload = form.get("file") or next((v for v in form.values() if hasattr(v, "read")), None)
    if upload is None or not hasattr(upload, "read"):
        raise LemlistError(400, "A CSV file is required (multipart field 'file')")
    raw = await upload.read()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise LemlistError(400, "The CSV file must be UTF-8") from None
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or "email" not in [f.strip() for f in reader.fieldnames]:
        raise LemlistError(400, "The CSV file needs a header row with an 'email' column")
    deduplicate = bool_param(request.query_params.get("deduplicate") or str(form.get("deduplicate") or ""))
    results = []
    for number, row in enumerate(reader, start=1):
        data = {k.strip(): (v or "").strip() for k, v in row.items() if k and (v or "").strip()}
        try:
            lead = insert_lead(sandbox, team, campaign, data, deduplicate=deduplicate)
        except LemlistError as exc:
            status = "duplicate" if exc.message.startswith("Lead already") else "error"
            results.append(
                {"row": number, "email": data.get("email", ""), "status": status, "error": exc.message}
            )
        else:
            results.append(
                {"row": number, "email": lead.get("email") or "", "status": "imported", "leadId": lead["_id"]}
            )
    imported = sum(1 for r in results if r["status"] == "imported")
    duplicates = sum(1 for r in results if r["status"] == "duplicate")
    return {
        "ok": True,
        "total": len(results),
        "imported": imported,
        "duplicates": duplicates,
        "failed": len(results) - imported - duplicates,
        "results": results,
    }


@router.post("/campaigns/{campaignId}/leads/{email}")
async def create_lead_legacy(
    campaignId: str, email: str, request: Request, team: TeamDep, sandbox: SandboxDep
) -> dict:
    """The older style every public client uses: the email in the path, other fields in the body."""
    return await _add_lead(request, team, sandbox, campaignId, email=email)


@router.get("/campaigns/{campaignId}/leads/{idOrEmail}")
async def get_campaign_lead(campaignId: str, idOrEmail: str, team: TeamDep) -> dict:
    get_campaign(team, campaignId)
    return lead_view(find_lead_or_404(team, campaignId, idOrEmail))


@router.patch("/campaigns/{campaignId}/leads/{idOrEmail}")
async def update_campaign_lead(campaignId: str, idOrEmail: str, request: Request, team: TeamDep) -> dict:
    get_campaign(team, campaignId)
    lead = find_lead_or_404(team, campaignId, idOrEmail)
    body = await json_body(request)
    if not isinstance(body, dict) or not body:
        raise LemlistError(400, "Nothing to update")
    if "email" in body:
        raise LemlistError(400, "The email of a lead cannot be changed")
    lead.update(
        {k: v for k, v in body.items() if not k.startswith("_") and k not in ("campaignId", "contactId")}
    )
    return lead_view(lead, leadUrl=f"https://app.lemlist.com/campaigns/{campaignId}/leads/{lead['_id']}")


@router.delete("/campaigns/{campaignId}/leads/{idOrEmail}")
async def delete_campaign_lead(campaignId: str, idOrEmail: str, request: Request, team: TeamDep) -> dict:
    """Unsubscribes the lead from the campaign; ``?action=remove`` deletes it."""
    get_campaign(team, campaignId)
    lead = find_lead_or_404(team, campaignId, idOrEmail)
    if request.query_params.get("action") == "remove":
        del team.leads[lead["_id"]]
    else:
        lead["state"] = "emailsUnsubscribed"
    return lead_view(lead)


def _set_interest(lead: dict, interest: str) -> dict:
    lead["interest"] = interest
    lead["state"] = interest
    return lead_view(lead)


@router.post("/campaigns/{campaignId}/leads/{idOrEmail}/interested")
async def campaign_interested(campaignId: str, idOrEmail: str, team: TeamDep) -> dict:
    get_campaign(team, campaignId)
    return _set_interest(find_lead_or_404(team, campaignId, idOrEmail), "interested")


@router.post("/campaigns/{campaignId}/leads/{idOrEmail}/notinterested")
async def campaign_notinterested(campaignId: str, idOrEmail: str, team: TeamDep) -> dict:
    get_campaign(team, campaignId)
    return _set_interest(find_lead_or_404(team, campaignId, idOrEmail), "notInterested")


# -- team-wide --------------------------------------------------------------------------------------------
def _all_matching(team: Team, id_or_email: str, campaign_id: str | None = None) -> list[dict]:
    key = id_or_email.strip().lower()
    found = [
        lead
        for lead in team.leads.values()
        if (lead["_id"] == id_or_email or (lead.get("email") or "") == key)
        and (campaign_id is None or lead.get("campaignId") == campaign_id)
    ]
    if not found:
        raise LemlistError(404, "Lead not found")
    return found


@router.get("/leads")
async def get_lead(request: Request, team: TeamDep) -> dict:
    key = request.query_params.get("id") or request.query_params.get("email")
    if not key:
        raise LemlistError(400, "id or email is required")
    return lead_view(_all_matching(team, key)[0])


def _update_everywhere(request: Request, team: Team, id_or_email: str, **fields: Any) -> list[dict]:
    """Give ``fields`` to every lead of that id or email (only in ``?campaignId=`` when given)."""
    leads = _all_matching(team, id_or_email, request.query_params.get("campaignId"))
    for lead in leads:
        lead.update(fields)
    return [lead_view(lead) for lead in leads]


@router.post("/leads/interested/{idOrEmail}")
async def lead_interested(idOrEmail: str, request: Request, team: TeamDep) -> list[dict]:
    return _update_everywhere(request, team, idOrEmail, interest="interested", state="interested")


@router.post("/leads/notinterested/{idOrEmail}")
async def lead_notinterested(idOrEmail: str, request: Request, team: TeamDep) -> list[dict]:
    return _update_everywhere(request, team, idOrEmail, interest="notInterested", state="notInterested")


@router.post("/leads/pause/{idOrEmail}")
async def pause_lead(idOrEmail: str, request: Request, team: TeamDep) -> list[dict]:
    return _update_everywhere(request, team, idOrEmail, isPaused=True)


@router.post("/leads/start/{idOrEmail}")
async def start_lead(idOrEmail: str, request: Request, team: TeamDep) -> list[dict]:
    return _update_everywhere(request, team, idOrEmail, isPaused=False)


@router.post("/leads/audio")
async def upload_audio(request: Request, team: TeamDep, sandbox: SandboxDep) -> dict:
    q = request.query_params
    if not q.get("leadId") or not q.get("stepId"):
        raise LemlistError(400, "leadId and stepId are required")
    lead = team.leads.get(q["leadId"])
    if lead is None:
        raise LemlistError(400, "Lead not found")
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise LemlistError(400, "A multipart/form-data body with a 'file' field is required")
    form = await request.form()
    upload = form.get("file")
    if upload is None or not hasattr(upload, "read"):
        raise LemlistError(400, "file is required")
    data = await upload.read()
    if not data:
        raise LemlistError(400, "file is empty")
    name = upload.filename or "voice-note.mp3"
    team.extra.setdefault("audio", {})[(q["leadId"], q["stepId"])] = len(data)
    return {
        "ok": True,
        "status": {
            "url": f"https://files.lemlist.com/audio/{team.id}/{sandbox.world.ids.new('aud')}/{name}",
            "teamId": team.id,
            "campaignId": lead["campaignId"],
            "leadId": lead["_id"],
            "fileName": name,
        },
    }


def _variables_from_query(request: Request) -> dict[str, str]:
    values = {k: v for k, v in request.query_params.items() if k not in _RESERVED_QUERY}
    if not values:
        raise LemlistError(400, "No variable given: pass them as query parameters (?name=value)")
    reserved = [k for k in values if k in ("_id", "campaignId", "contactId", "email", "isPaused")]
    if reserved:
        raise LemlistError(400, f"Reserved field(s): {', '.join(reserved)}")
    return values


def _change_variables(
    team: Team, lead_id: str, request: Request, change: Callable[[dict, dict[str, str]], None]
) -> dict:
    """Apply ``change`` to the lead with the variables of the query; answer the lead's variables."""
    lead = require(team.leads.get(lead_id) or team.find_lead(None, lead_id), "Lead")
    change(lead, _variables_from_query(request))
    return {"_id": lead["_id"], **lead_variables(lead)}


def _update_existing(lead: dict, values: dict[str, str]) -> None:
    missing = [k for k in values if k not in lead]
    if missing:
        raise LemlistError(400, f"Variable(s) not found: {', '.join(missing)} (use POST to add)")
    lead.update(values)


def _erase(lead: dict, values: dict[str, str]) -> None:
    for key in values:
        if key in STANDARD_FIELDS or key in ("state", "createdAt", "campaignName"):
            raise LemlistError(400, f"{key} is not a custom variable")
        lead.pop(key, None)


@router.post("/leads/{leadId}/variables")
async def add_variables(leadId: str, request: Request, team: TeamDep) -> dict:
    return _change_variables(team, leadId, request, dict.update)


@router.patch("/leads/{leadId}/variables")
async def update_variables(leadId: str, request: Request, team: TeamDep) -> dict:
    return _change_variables(team, leadId, request, _update_existing)


@router.delete("/leads/{leadId}/variables")
async def delete_variables(leadId: str, request: Request, team: TeamDep) -> dict:
    return _change_variables(team, leadId, request, _erase)


@router.get("/leads/{email}")
async def get_lead_by_email(email: str, request: Request, team: TeamDep) -> Any:
    """v2 (``version=v2``): one element per campaign the email is in. v1: the lead itself, as lemlist's v1
    documentation shows it (the first campaign's)."""
    matching = _all_matching(team, email)
    if not is_v2(request):
        return lead_view(matching[0])
    items = []
    for lead in matching:
        campaign = team.campaigns.get(lead["campaignId"], {})
        items.append(
            {
                "_id": lead["_id"],
                "updatedAt": lead.get("updatedAt", lead["createdAt"]),
                "isPaused": bool(lead.get("isPaused")),
                "state": lead.get("state", "scanned"),
                "status": lead.get("interest", "active"),
                "personalized": False,
                "source": "api",
                "variables": lead_variables(lead),
                "contactId": lead["contactId"],
                "enrichment": {"emailStatus": lead.get("emailStatus", "unknown")},
                "campaign": {
                    "id": lead["campaignId"],
                    "name": campaign.get("name", ""),
                    "status": campaign.get("status", "draft"),
                },
                "sendingUser": {},
            }
        )
    return items
