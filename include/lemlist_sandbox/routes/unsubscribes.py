"""Unsubscribes: the legacy list (emails and ``@domains``), its CSV export, and the v2 variables and
contacts routes (bulk ≤ 10,000 values, idempotent). One store serves both generations.

Team flags ``plan_gated`` or ``reject_v2_unsubscribes`` make every v2 route answer 402, as lemlist does
on plans below emailPro, so clients can test their fallback to the legacy routes.
"""

from __future__ import annotations

import csv
import io

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from ..deps import current_sandbox, current_team
from ..errors import LemlistError
from ..seed import add_unsubscribe, variable_kind
from ..state import Team, now_iso
from .campaigns import int_param, json_body, team_flag
from .leads import PLAN_GATED

router = APIRouter()

BULK_LIMIT = 10_000
SOURCES = {"api", "bounced", "lead", "user", "abuse"}


def normalise(value: str) -> str:
    return value.strip().lower()


def _valid(value: str) -> bool:
    if not value or " " in value:
        return False
    kind = variable_kind(value)
    if kind == "domain":
        return "." in value[1:]
    if kind == "email":
        local, _, domain = value.partition("@")
        return bool(local) and "." in domain
    return True


def _gate_v2(team: Team) -> None:
    if team_flag(team, "plan_gated") or team_flag(team, "reject_v2_unsubscribes"):
        raise LemlistError(402, PLAN_GATED)


def _source(entry: dict) -> str:
    return entry.get("source") if entry.get("source") in SOURCES else "user"


def _paged(request: Request, items: list) -> list:
    offset = int_param(request.query_params.get("offset"), "offset", 0)
    limit = int_param(request.query_params.get("limit"), "limit", 100, low=1, high=100)
    return items[offset : offset + limit]


def _csv(rows: list[list[str]], header: list[str], name: str) -> Response:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return Response(
        buffer.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


# -- legacy -------------------------------------------------------------------------------------------------
@router.get("/unsubscribes")
async def list_unsubscribes(request: Request, team: Team = Depends(current_team)) -> list[dict]:
    items = [e for e in team.unsubscribes.values() if e["variable"] in ("email", "domain")]
    return [
        {
            "_id": e["_id"],
            "email": e["value"],
            "value": e["value"],
            "source": _source(e),
            "unsubscribedAt": e["createdAt"],
            "createdAt": e["createdAt"],
            "scope": "team",
        }
        for e in _paged(request, items)
    ]


@router.get("/unsubs/export")
async def export_unsubscribes(team: Team = Depends(current_team)) -> Response:
    rows = [[e["value"], _source(e), e["createdAt"]] for e in team.unsubscribes.values()]
    return _csv(rows, ["value", "source", "createdAt"], "unsubscribes.csv")


@router.get("/unsubscribes/{value}")
async def get_unsubscribe(value: str, team: Team = Depends(current_team)) -> dict:
    entry = team.unsubscribes.get(normalise(value))
    if entry is None:
        raise LemlistError(404, "Unsubscribe not found")
    return {
        "_id": entry["_id"],
        "createdAt": entry["createdAt"],
        "value": entry["value"],
        "source": _source(entry),
    }


@router.post("/unsubscribes/{value}")
async def add_unsubscribe_legacy(
    value: str, team: Team = Depends(current_team), sandbox=Depends(current_sandbox)
) -> dict:
    """Idempotent: adding a value twice answers the existing entry."""
    value = normalise(value)
    if not _valid(value) or variable_kind(value) not in ("email", "domain"):
        raise LemlistError(400, "Invalid email or domain (write a domain as @domain.com)")
    entry = team.unsubscribes.get(value) or add_unsubscribe(sandbox.world, team, value, source="api")
    return {"_id": entry["_id"], "value": entry["value"], "email": entry["value"]}


@router.delete("/unsubscribes/{value}")
async def delete_unsubscribe_legacy(value: str, team: Team = Depends(current_team)) -> dict:
    entry = team.unsubscribes.pop(normalise(value), None)
    if entry is None:
        raise LemlistError(404, "Unsubscribe not found")
    return {"_id": entry["_id"], "value": entry["value"]}


# -- v2 variables -------------------------------------------------------------------------------------------
def _variable_view(entry: dict) -> dict:
    return {
        "_id": entry["_id"],
        "value": entry["value"],
        "variable": entry["variable"],
        "source": _source(entry),
        "createdAt": entry["createdAt"],
    }


@router.get("/v2/unsubscribes/variables")
async def list_variables(request: Request, team: Team = Depends(current_team)) -> list[dict]:
    _gate_v2(team)
    return [_variable_view(e) for e in _paged(request, list(team.unsubscribes.values()))]


@router.post("/v2/unsubscribes/variables")
async def bulk_variables(
    request: Request, team: Team = Depends(current_team), sandbox=Depends(current_sandbox)
) -> str:
    """``{"values": [...]}`` (≤ 10,000). Idempotent: known values are left as they are. Answers the
    OAS example, the JSON string "Variables unsubscribed"."""
    _gate_v2(team)
    body = await json_body(request)
    values = body.get("values") if isinstance(body, dict) else None
    if not isinstance(values, list) or not values:
        raise LemlistError(400, "values must be a non-empty array")
    if len(values) > BULK_LIMIT:
        raise LemlistError(400, f"values must contain at most {BULK_LIMIT} items")
    cleaned = [normalise(v) if isinstance(v, str) else "" for v in values]
    invalid = [v for v in cleaned if not _valid(v)]
    if invalid:
        raise LemlistError(400, f"Invalid value(s): {', '.join(invalid[:5])}")
    for value in cleaned:
        if value not in team.unsubscribes:
            add_unsubscribe(sandbox.world, team, value, source="api")
    return "Variables unsubscribed"


@router.get("/v2/unsubscribes/variables/{value}")
async def get_variable(value: str, team: Team = Depends(current_team)) -> dict:
    _gate_v2(team)
    entry = team.unsubscribes.get(normalise(value))
    if entry is None:
        raise LemlistError(404, "Variable not found")
    return _variable_view(entry)


@router.post("/v2/unsubscribes/variables/{value}")
async def add_variable(
    value: str, team: Team = Depends(current_team), sandbox=Depends(current_sandbox)
) -> dict:
    _gate_v2(team)
    value = normalise(value)
    if not _valid(value):
        raise LemlistError(400, f"Invalid value: {value}")
    entry = team.unsubscribes.get(value) or add_unsubscribe(sandbox.world, team, value, source="api")
    return _variable_view(entry)


@router.delete("/v2/unsubscribes/variables/{value}")
async def delete_variable(value: str, team: Team = Depends(current_team)) -> dict:
    """Idempotent re-subscribe: removing an absent value is not an error."""
    _gate_v2(team)
    entry = team.unsubscribes.pop(normalise(value), None)
    return {"ok": True, "deleted": entry is not None}


@router.get("/v2/unsubscribes/exports/variables")
async def export_variables(team: Team = Depends(current_team)) -> Response:
    _gate_v2(team)
    rows = [[e["value"], e["variable"], _source(e), e["createdAt"]] for e in team.unsubscribes.values()]
    return _csv(rows, ["value", "variable", "source", "createdAt"], "unsubscribed-variables.csv")


# -- v2 contacts ----------------------------------------------------------------------------------------------
def _contacts(team: Team) -> dict[str, str]:
    return team.extra.setdefault("unsubscribed_contacts", {})


def _known_contact(team: Team, contact_id: str) -> None:
    known = contact_id in team.contacts or any(
        lead.get("contactId") == contact_id for lead in team.leads.values()
    )
    if not known:
        raise LemlistError(400, "Contact not found")


@router.get("/v2/unsubscribes/contacts/{contactId}")
async def get_contact_status(contactId: str, team: Team = Depends(current_team)) -> dict:
    _gate_v2(team)
    _known_contact(team, contactId)
    return {"_id": contactId, "doNotContact": contactId in _contacts(team)}


@router.post("/v2/unsubscribes/contacts/{contactId}")
async def unsubscribe_contact(contactId: str, team: Team = Depends(current_team)) -> dict:
    _gate_v2(team)
    _known_contact(team, contactId)
    _contacts(team).setdefault(contactId, now_iso())
    return {"_id": contactId, "doNotContact": True}


@router.delete("/v2/unsubscribes/contacts/{contactId}")
async def resubscribe_contact(contactId: str, team: Team = Depends(current_team)) -> dict:
    _gate_v2(team)
    _known_contact(team, contactId)
    _contacts(team).pop(contactId, None)
    return {"_id": contactId, "doNotContact": False}


@router.get("/v2/unsubscribes/exports/contacts")
async def export_contacts(team: Team = Depends(current_team)) -> Response:
    _gate_v2(team)
    rows = [[cid, at] for cid, at in _contacts(team).items()]
    return _csv(rows, ["contactId", "createdAt"], "unsubscribed-contacts.csv")
