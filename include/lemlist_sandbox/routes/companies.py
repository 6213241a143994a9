"""Companies (CRM records) and their notes."""

from __future__ import annotations

import re

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from ..deps import current_sandbox, current_team, json_object
from ..errors import LemlistError
from ..state import Team, now_iso

router = APIRouter()

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


def _json_error(status: int, code: str, message: str, **extra) -> LemlistError:
    return LemlistError(
        status, message, json_body={"success": False, "error": {"code": code, "message": message, **extra}}
    )


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


def _normalise_domain(value: str | None) -> str | None:
    if not value:
        return None
    value = value.strip().lower()
    value = re.sub(r"^https?://", "", value).split("/")[0]
    return value.removeprefix("www.") or None


@router.get("/companies")
async def list_companies(
    idsOrDomains: str | None = None,  # noqa: N803
    offset: int = 0,
    limit: int = 100,
    sortBy: str | None = None,  # noqa: N803
    sortOrder: str | None = None,  # noqa: N803
    search: str | None = None,
    crmSyncStatus: str | None = None,  # noqa: N803
    team: Team = Depends(current_team),
) -> dict:
    if not 1 <= limit <= 500:
        raise LemlistError(400, "limit must be between 1 and 500")
    if offset < 0:
        raise LemlistError(400, "offset must be positive")
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
    page = companies[offset : offset + limit]
    return {
        "data": [render_company(c) for c in page],
        "total": len(companies),
        "limit": limit,
        "offset": offset,
    }


@router.post("/companies")
async def upsert_company(
    request: Request, team: Team = Depends(current_team), sandbox=Depends(current_sandbox)
):
    body = await json_object(request, error=lambda message: _json_error(400, "INVALID_BODY", message))
    domain = _normalise_domain(body.get("domain"))
    linkedin = body.get("linkedinUrl")
    if not (body.get("companyId") or body.get("name") or domain or linkedin):
        raise _json_error(400, "MISSING_IDENTIFIER", "name, domain, linkedinUrl or companyId is required")
    company = None
    if body.get("companyId"):
        company = team.companies.get(body["companyId"])
        if company is None:
            raise _json_error(400, "COMPANY_NOT_FOUND", "Company not found")
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
async def delete_company(companyId: str, force: bool = False, team: Team = Depends(current_team)) -> dict:  # noqa: N803
    if not _COMPANY_ID.match(companyId):
        raise _json_error(400, "INVALID_COMPANY_ID", "companyId must look like cpn_...")
    if companyId not in team.companies:
        raise _json_error(404, "COMPANY_NOT_FOUND", "Company not found")
    linked = [c for c in team.contacts.values() if c.get("companyId") == companyId]
    if linked and not force:
        raise _json_error(
            400,
            "COMPANY_HAS_CONTACTS",
            "Company has linked contacts; pass force=true to unlink them and delete",
            contactCount=len(linked),
        )
    for contact in linked:
        contact.pop("companyId", None)
    del team.companies[companyId]
    _notes(team).pop(companyId, None)
    return {"success": True, "deletedCompanyId": companyId, "unlinkedContacts": len(linked)}


def _company(team: Team, company_id: str) -> dict:
    company = team.companies.get(company_id)
    if company is None:
        raise LemlistError(404, "Company not found")
    return company


@router.get("/companies/{companyId}/notes")
async def list_notes(
    companyId: str,  # noqa: N803
    limit: int = 20,
    page: int = 1,
    sortBy: str | None = None,  # noqa: N803
    sortOrder: str = "desc",  # noqa: N803
    team: Team = Depends(current_team),
) -> dict:
    _company(team, companyId)
    if limit < 1 or page < 1:
        raise LemlistError(400, "limit and page must be positive")
    if sortBy not in (None, "createdAt") or sortOrder not in ("asc", "desc"):
        raise LemlistError(400, "sortBy must be createdAt and sortOrder asc or desc")
    notes = sorted(_notes(team).get(companyId, []), key=lambda n: n["createdAt"], reverse=sortOrder == "desc")
    start = (page - 1) * limit
    return {"data": notes[start : start + limit], "total": len(notes)}


@router.post("/companies/{companyId}/notes")
async def create_note(
    companyId: str,  # noqa: N803
    request: Request,
    team: Team = Depends(current_team),
    sandbox=Depends(current_sandbox),
) -> dict:
    _company(team, companyId)
    body = await request.json()
    note = body.get("note") if isinstance(body, dict) else None
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
