"""Companies (CRM records) and their notes."""

from __future__ import annotations

import re

from fastapi import Request
from fastapi.responses import JSONResponse

from ..deps import SandboxDep, TeamDep, json_object
from ..errors import LemlistError
from ..state import Team, now_iso
from .common import api_router, bool_param, page_of, require

router = api_router()

_COMPANY_ID = re.compile(r"^cpn_[a-zA-Z0-9]+$")
_TOP_LEVEL = ("name", "domain", "industry", "size", "location")
_CRM_SYNC = {
    "synced",
    "not_synced",
    "error",
    "unique_index_error_company",
    "property_doesnt_exist",
    "required_field_missing",
    "company_already_exists_with_name",
    "company_already_exists_with_linkedin_url",
}


def _notes(team: Team) -> dict[str, list[dict]]:
    return team.extra.setdefault("company_notes", {})


def render_company(company: dict) -> dict:
    """The ``Company`` schema (strings only where the schema says string; ``crmSync`` may be null)."""
    out = {k: company[k] for k in ("_id", *_TOP_LEVEL, "createdBy", "ownerId", "createdAt") if company.get(k)}
    out["fields"] = dict(company.get("fields", {}))
    out["crmSync"] = company.get("crmSync")
    if company.get("linkedinUrl"):
        out["linkedinUrl"] = company["linkedinUrl"]
    return out


def _normalise_domain(value: object) -> str | None:
    if not value or not isinstance(value, str):
        return None
    value = value.strip().lower()
    value = re.sub(r"^https?://", "", value).split("/")[0]
    return value.removeprefix("www.") or None


@router.get("/companies")
async def list_companies(request: Request, team: TeamDep) -> dict:
    q = request.query_params
    page = page_of(q, max_limit=500)
    idsOrDomains, sortBy, sortOrder = q.get("idsOrDomains"), q.get("sortBy"), q.get("sortOrder")  # noqa: N806
    search, crmSyncStatus = q.get("search"), q.get("crmSyncStatus")  # noqa: N806
    if sortBy not in (None, "createdAt") or sortOrder not in (None, "asc", "desc"):
        raise LemlistError(400, "sortBy must be createdAt and sortOrder asc or desc")
    if crmSyncStatus is not None and crmSyncStatus not in _CRM_SYNC:
        raise LemlistError(400, "Invalid crmSyncStatus")
    companies = list(team.companies.values())
    if idsOrDomains:
        wanted = [v.strip() for v in idsOrDomains.split(",") if v.strip()]
        domains = {_normalise_domain(v) for v in wanted}
        companies = [c for c in companies if c["_id"] in wanted or c.get("domain") in domains]
    if search:
        needle = search.lower()
        companies = [
            c
            for c in companies
            if needle in (c.get("name") or "").lower() or needle in (c.get("domain") or "")
        ]
    if crmSyncStatus is not None:
        companies = [
            c for c in companies if (c.get("crmSync") or {}).get("status", "not_synced") == crmSyncStatus
        ]
    if sortBy:
        companies.sort(key=lambda c: c["createdAt"], reverse=sortOrder == "desc")
    return page.listing(companies, render_company)


@router.post("/companies")
async def upsert_company(request: Request, team: TeamDep, sandbox: SandboxDep):
    body = await json_object(request)
    domain = _normalise_domain(body.get("domain"))
    linkedin = body.get("linkedinUrl")
    if not (body.get("companyId") or body.get("name") or domain or linkedin):
        raise LemlistError(
            400, "name, domain, linkedinUrl or companyId is required", code="MISSING_IDENTIFIER"
        )
    company = None
    if body.get("companyId"):
        company = require(team.companies.get(body["companyId"]), "Company", status=400)
    else:
        for existing in team.companies.values():
            if (domain and existing.get("domain") == domain) or (
                linkedin and existing.get("linkedinUrl") == linkedin
            ):
                company = existing
                break
    created = company is None
    if created:
        company = {
            "_id": sandbox.world.ids.new("cpn"),
            "teamId": team.id,
            "fields": {},
            "ownerId": body.get("companyOwner") or team.user_id,
            "createdBy": team.user_id,
            "createdAt": now_iso(),
            "source": body.get("source") or "api",
            "crmSync": None,
        }
        team.companies[company["_id"]] = company
    if domain:
        company["domain"] = domain
    if linkedin:
        company["linkedinUrl"] = linkedin
    for key, value in body.items():
        if value is None or key in ("companyId", "domain", "linkedinUrl", "companyOwner", "source"):
            continue
        if key in _TOP_LEVEL:
            company[key] = str(value)
        company["fields"][key] = value
    data = {
        k: company[k]
        for k in ("_id", "teamId", "domain", "linkedinUrl", "ownerId", "source", "createdAt", "createdBy")
        if company.get(k)
    }
    data.update(fields=dict(company["fields"]), created=created, updated=not created)
    if created:
        return JSONResponse({"success": True, "data": data, "warnings": []}, status_code=201)
    return {"success": True, "data": data}


@router.delete("/companies/{companyId}")
async def delete_company(companyId: str, request: Request, team: TeamDep) -> dict:  # noqa: N803
    if not _COMPANY_ID.match(companyId):
        raise LemlistError(400, "companyId must look like cpn_...", code="INVALID_COMPANY_ID")
    require(team.companies.get(companyId), "Company")
    linked = [c for c in team.contacts.values() if c.get("companyId") == companyId]
    if linked and not bool_param(request.query_params.get("force")):
        message = "Company has linked contacts; pass force=true to unlink them and delete"
        raise LemlistError(
            400,
            message,
            json_body={
                "success": False,
                "error": {"code": "COMPANY_HAS_CONTACTS", "message": message, "contactCount": len(linked)},
            },
        )
    for contact in linked:
        contact.pop("companyId", None)
    del team.companies[companyId]
    _notes(team).pop(companyId, None)
    return {"success": True, "deletedCompanyId": companyId, "unlinkedContacts": len(linked)}


def _company(team: Team, company_id: str) -> dict:
    return require(team.companies.get(company_id), "Company")


@router.get("/companies/{companyId}/notes")
async def list_notes(companyId: str, request: Request, team: TeamDep) -> dict:  # noqa: N803
    _company(team, companyId)
    q = request.query_params
    page = page_of(q, limit=20, max_limit=1000)
    sort_by, sort_order = q.get("sortBy"), q.get("sortOrder", "desc")
    if sort_by not in (None, "createdAt") or sort_order not in ("asc", "desc"):
        raise LemlistError(400, "sortBy must be createdAt and sortOrder asc or desc")
    notes = sorted(
        _notes(team).get(companyId, []), key=lambda n: n["createdAt"], reverse=sort_order == "desc"
    )
    return {"data": page.of(notes), "total": len(notes)}


@router.post("/companies/{companyId}/notes")
async def create_note(
    companyId: str,  # noqa: N803
    request: Request,
    team: TeamDep,
    sandbox: SandboxDep,
) -> dict:
    _company(team, companyId)
    note = (await json_object(request)).get("note")
    if not isinstance(note, str) or not note.strip():
        raise LemlistError(400, "note is required")
    created = now_iso()
    record = {
        "_id": sandbox.world.ids.new("not"),
        "teamId": team.id,
        "companyId": companyId,
        "note": note,
        "type": "note",
        "userId": team.user_id,
        "createdAt": created,
        "updatedAt": created,
    }
    _notes(team).setdefault(companyId, []).append(record)
    return record
