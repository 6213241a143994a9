"""Contacts, contact lists and the contacts CSV export.

Every lead lemlist holds is also a contact: leads created by the campaign routes carry a ``contactId``, and
the contacts of those leads appear here (materialised on first read) next to contacts created directly.
"""

from __future__ import annotations

import re

from fastapi import Query, Request
from fastapi.responses import JSONResponse, Response

from ..deps import SandboxDep, TeamDep, json_object
from ..errors import LemlistError
from ..state import Team, now_iso
from .common import api_router, csv_table, id_list, is_unsubscribed, page_of, require

router = api_router()

_CONTACT_FIELDS = (
    "firstName",
    "lastName",
    "phone",
    "jobTitle",
    "jobDescription",
    "picture",
    "timezone",
    "industry",
    "languages",
    "location",
    "skills",
    "tagline",
    "companyName",
)
_CONTACT_ID = re.compile(r"^ctc_[a-zA-Z0-9]+$")


def _lists(team: Team) -> dict[str, dict]:
    return team.extra.setdefault("contact_lists", {})


def sync_contacts_from_leads(team: Team) -> None:
    """Give every lead's ``contactId`` a contact record (what lemlist does when a lead is added)."""
    for lead in team.leads.values():
        contact_id = lead.get("contactId")
        if not contact_id or contact_id in team.contacts:
            continue
        fields = {k: lead[k] for k in _CONTACT_FIELDS if isinstance(lead.get(k), str) and lead[k]}
        team.contacts[contact_id] = {
            "_id": contact_id,
            "email": (lead.get("email") or "").lower() or None,
            "additionalEmails": [],
            "linkedinUrl": lead.get("linkedinUrl"),
            "fields": fields,
            "ownerId": team.user_id,
            "createdBy": team.user_id,
            "createdAt": lead.get("createdAt") or now_iso(),
            "source": "campaign",
        }


def find_contact(team: Team, id_or_email: str) -> dict | None:
    sync_contacts_from_leads(team)
    if id_or_email in team.contacts:
        return team.contacts[id_or_email]
    email = id_or_email.strip().lower()
    for contact in team.contacts.values():
        if contact.get("email") == email or email in contact.get("additionalEmails", []):
            return contact
    return None


def render_contact(team: Team, contact: dict) -> dict:
    """The ``Contact`` schema."""
    fields = dict(contact.get("fields", {}))
    full_name = " ".join(p for p in (fields.get("firstName"), fields.get("lastName")) if p)
    campaigns = []
    for lead in team.leads.values():
        if lead.get("contactId") == contact["_id"]:
            campaign = team.campaigns.get(lead.get("campaignId"), {})
            campaigns.append(
                {
                    "campaignId": lead.get("campaignId", ""),
                    "campaignState": campaign.get("status", "draft"),
                    "leadState": str(lead.get("state", "scanned")),
                    "leadId": lead["_id"],
                }
            )
    out = {
        "_id": contact["_id"],
        "teamId": team.id,
        "fullName": full_name,
        "fields": fields,
        "campaigns": campaigns,
        "ownerId": contact.get("ownerId", team.user_id),
        "createdAt": contact["createdAt"],
        "createdBy": contact.get("createdBy", team.user_id),
        "unsubscribed": is_unsubscribed(team, contact.get("email")),
    }
    if contact.get("email"):
        out["email"] = contact["email"]
    for key in ("linkedinUrl", "linkedinUrlSalesNav", "companyId"):
        if contact.get(key):
            out[key] = contact[key]
    return out


def _upsert_payload(team: Team, contact: dict, *, created: bool, updated: bool, company_linked: bool) -> dict:
    emails = [contact["email"]] if contact.get("email") else []
    emails += contact.get("additionalEmails", [])
    data = {
        "_id": contact["_id"],
        "teamId": team.id,
        "emails": [{"value": e} for e in emails],
        "fields": dict(contact.get("fields", {})),
        "ownerId": contact.get("ownerId", team.user_id),
        "source": contact.get("source", "api"),
        "createdAt": contact["createdAt"],
        "createdBy": contact.get("createdBy", team.user_id),
        "unsubscribed": is_unsubscribed(team, contact.get("email")),
        "created": created,
        "updated": updated,
        "companyLinked": company_linked,
    }
    for key in ("linkedinUrl", "linkedinUrlSalesNav", "companyId"):
        if contact.get(key):
            data[key] = contact[key]
    return data


def _find_company(team: Team, body: dict) -> dict | None:
    if body.get("companyId"):
        return team.companies.get(body["companyId"])
    domain = (body.get("companyDomain") or "").strip().lower()
    linkedin = (body.get("companyLinkedinUrl") or "").strip()
    for company in team.companies.values():
        if (domain and company.get("domain") == domain) or (
            linkedin and company.get("linkedinUrl") == linkedin
        ):
            return company
    return None


@router.get("/contacts")
async def list_contacts(
    request: Request,
    team: TeamDep,
    idsOrEmails: str | None = Query(None),  # noqa: N803
    search: str | None = None,
    email: str | None = None,
    listId: str | None = None,  # noqa: N803
    notInAnyCampaign: bool | None = None,  # noqa: N803
    companyId: str | None = None,  # noqa: N803
    companyDomain: str | None = None,  # noqa: N803
):
    page = page_of(request.query_params, max_limit=500)
    sync_contacts_from_leads(team)
    if idsOrEmails is not None:
        # Lookup mode answers a plain array, in the order asked, skipping unknown values.
        found = []
        for value in (v.strip() for v in idsOrEmails.split(",")):
            contact = find_contact(team, value) if value else None
            if contact is not None and contact not in found:
                found.append(contact)
        return [render_contact(team, c) for c in found]
    contacts = list(team.contacts.values())
    if email:
        contacts = [c for c in contacts if c.get("email") == email.strip().lower()]
    if listId:
        members = _lists(team).get(listId, {}).get("contactIds", [])
        contacts = [c for c in contacts if c["_id"] in members]
    if companyId:
        contacts = [c for c in contacts if c.get("companyId") == companyId]
    if companyDomain:
        ids = {cid for cid, co in team.companies.items() if co.get("domain") == companyDomain.strip().lower()}
        contacts = [c for c in contacts if c.get("companyId") in ids]
    if notInAnyCampaign:
        in_campaign = {lead.get("contactId") for lead in team.leads.values()}
        contacts = [c for c in contacts if c["_id"] not in in_campaign]
    if search:
        needle = search.lower()
        contacts = [
            c
            for c in contacts
            if needle in (c.get("email") or "")
            or any(needle in str(v).lower() for v in c.get("fields", {}).values())
        ]
    return page.listing(contacts, lambda contact: render_contact(team, contact))


@router.post("/contacts")
async def upsert_contact(team: TeamDep, sandbox: SandboxDep, request: Request):
    body = await json_object(request)
    email = (body.get("email") or "").strip().lower() or None
    if email and "@" not in email:
        raise LemlistError(400, "Invalid email", code="INVALID_EMAIL")
    if not (email or body.get("linkedinUrl") or body.get("linkedinUrlSalesNav") or body.get("contactId")):
        raise LemlistError(
            400, "email, linkedinUrl, linkedinUrlSalesNav or contactId is required", code="MISSING_IDENTIFIER"
        )
    contact = None
    if body.get("contactId"):
        contact = require(find_contact(team, body["contactId"]), "Contact", status=400)
    elif email:
        contact = find_contact(team, email)
    if contact is None and body.get("linkedinUrl"):
        contact = next(
            (c for c in team.contacts.values() if c.get("linkedinUrl") == body["linkedinUrl"]), None
        )
    created = contact is None
    if created:
        contact = {
            "_id": sandbox.world.ids.new("ctc"),
            "email": None,
            "additionalEmails": [],
            "fields": {},
            "ownerId": body.get("contactOwner") or team.user_id,
            "createdBy": team.user_id,
            "createdAt": now_iso(),
            "source": body.get("source") or "api",
        }
        team.contacts[contact["_id"]] = contact
    if email:
        contact["email"] = email
    for key in ("linkedinUrl", "linkedinUrlSalesNav"):
        if body.get(key):
            contact[key] = body[key]
    if isinstance(body.get("additionalEmails"), list):
        contact["additionalEmails"] = [str(e).lower() for e in body["additionalEmails"]]
    skip = {
        "contactId",
        "email",
        "linkedinUrl",
        "linkedinUrlSalesNav",
        "additionalEmails",
        "contactOwner",
        "source",
    }
    skip |= {"companyId", "companyDomain", "companyLinkedinUrl"}
    for key, value in body.items():
        if key not in skip and value is not None:
            contact["fields"][key] = value
    company = _find_company(team, body)
    company_linked = False
    if company is not None:
        contact["companyId"] = company["_id"]
        company_linked = True
    warnings = []
    if (
        body.get("companyId") or body.get("companyDomain") or body.get("companyLinkedinUrl")
    ) and company is None:
        warnings.append(
            {"code": "COMPANY_NOT_FOUND", "message": "No company matches; the contact was not linked"}
        )
    data = _upsert_payload(team, contact, created=created, updated=not created, company_linked=company_linked)
    if created:
        return JSONResponse({"success": True, "data": data, "warnings": warnings}, status_code=201)
    return {"success": True, "data": data}


@router.get("/contacts/lists")
async def list_contact_lists(team: TeamDep, search: str | None = None) -> list[dict]:
    lists = _lists(team).values()
    if search:
        lists = [lst for lst in lists if search.lower() in lst["name"].lower()]
    return [{"_id": lst["_id"], "name": lst["name"], "dynamic": lst["dynamic"]} for lst in lists]


@router.post("/contacts/lists", status_code=201)
async def create_contact_list(team: TeamDep, sandbox: SandboxDep, request: Request):
    name = (await json_object(request)).get("name")
    if not isinstance(name, str) or not name.strip():
        raise LemlistError(400, "name is required")
    if len(name) > 200:
        raise LemlistError(400, "name must be at most 200 characters")
    list_id = sandbox.world.ids.new("clt")
    _lists(team)[list_id] = {"_id": list_id, "name": name.strip(), "dynamic": False, "contactIds": []}
    return {"message": "List created", "list": {"id": list_id, "name": name.strip()}}


@router.post("/contacts/lists/{listId}/entities")
async def list_entities(
    team: TeamDep,
    listId: str,  # noqa: N803
    request: Request,
    action: str | None = None,
) -> dict:
    contact_list = require(_lists(team).get(listId), "List")
    if action not in (None, "remove"):
        raise LemlistError(400, "action must be 'remove'")
    ids = id_list(await json_object(request), "contactIds", 1000)
    bad = [i for i in ids if not isinstance(i, str) or not _CONTACT_ID.match(i)]
    if bad:
        raise LemlistError(400, f"Invalid contact ids: {', '.join(map(str, bad[:5]))}")
    sync_contacts_from_leads(team)
    unknown = [i for i in ids if i not in team.contacts]
    if unknown:
        raise LemlistError(400, f"Unknown contacts: {', '.join(unknown[:5])}")
    members: list[str] = contact_list["contactIds"]
    if action == "remove":
        removed = [i for i in dict.fromkeys(ids) if i in members]
        for contact_id in removed:
            members.remove(contact_id)
        return {"message": "Contacts removed from list", "removedCount": len(removed)}
    added = already = 0
    for contact_id in dict.fromkeys(ids):
        if contact_id in members:
            already += 1
        else:
            members.append(contact_id)
            added += 1
    return {"message": "Contacts added to list", "addedCount": added, "alreadyInList": already}


_CONTACT_COLUMNS = [
    "_id",
    "email",
    "firstName",
    "lastName",
    "fullName",
    "companyName",
    "jobTitle",
    "phone",
    "linkedinUrl",
    "companyId",
    "createdAt",
    "unsubscribed",
]
_COMPANY_COLUMNS = ["_id", "name", "domain", "industry", "size", "location", "linkedinUrl", "createdAt"]


@router.get("/contacts/export")
async def export_contacts(
    team: TeamDep,
    listId: str | None = None,  # noqa: N803
    entity: str = "contact",
) -> Response:
    if not listId:
        raise LemlistError(400, "listId is required")
    if entity not in ("contact", "company"):
        raise LemlistError(400, "entity must be 'contact' or 'company'")
    contact_list = require(_lists(team).get(listId), "List", status=400)
    sync_contacts_from_leads(team)
    contacts = [team.contacts[i] for i in contact_list["contactIds"] if i in team.contacts]
    filename = f"{listId}-{entity}s.csv"
    if entity == "contact":
        rendered = (render_contact(team, contact) for contact in contacts)
        return csv_table(_CONTACT_COLUMNS, ({**r.get("fields", {}), **r} for r in rendered), filename)
    company_ids = dict.fromkeys(c["companyId"] for c in contacts if c.get("companyId") in team.companies)
    return csv_table(_COMPANY_COLUMNS, (team.companies[i] for i in company_ids), filename)


@router.get("/contacts/{idOrEmail}")
async def get_contact(team: TeamDep, idOrEmail: str) -> dict:  # noqa: N803
    # The spec lists 400 (not 404) for an unknown contact.
    return render_contact(team, require(find_contact(team, idOrEmail), "Contact", status=400))
