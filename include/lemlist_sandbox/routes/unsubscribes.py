"""Unsubscribes: the legacy list (emails and ``@domains``), its CSV export, and the v2 variables and
contacts routes (bulk ≤ 10,000 values, idempotent). One store serves both generations.

Team flags ``plan_gated`` or ``reject_v2_unsubscribes`` make every v2 route answer 402, as lemlist does
on plans below emailPro, so clients can test their fallback to the legacy routes.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response

from ..deps import SandboxDep, TeamDep, json_body
from ..errors import LemlistError
from ..seed import add_unsubscribe, variable_kind
from ..state import Team, now_iso
from .common import PLAN_GATED, api_router, csv_response, id_list, page_of, require, team_flag

router = api_router()

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


def _email_of(entry: dict) -> dict:
    """``{"email": value}`` for an email entry; nothing for a domain, which is no email address."""
    return {"email": entry["value"]} if entry["variable"] == "email" else {}


def _source(entry: dict) -> str:
    return entry.get("source") if entry.get("source") in SOURCES else "user"


# -- legacy -------------------------------------------------------------------------------------------------
@router.get("/unsubscribes")
async def list_unsubscribes(request: Request, team: TeamDep) -> list[dict]:
    """Emails and ``@domains``. A domain is no email, so its entry carries ``value`` and no ``email``."""
    items = [e for e in team.unsubscribes.values() if e["variable"] in ("email", "domain")]
    return [
        {
            "_id": e["_id"],
            **({"email": e["value"]} if e["variable"] == "email" else {}),
            "value": e["value"],
            "source": _source(e),
            "unsubscribedAt": e["createdAt"],
            "createdAt": e["createdAt"],
            "scope": "team",
        }
        for e in page_of(request.query_params).of(items)
    ]


@router.get("/unsubs/export")
@router.get("/unsubscribes/export", include_in_schema=False)  # the v1 documentation's path
async def export_unsubscribes(team: TeamDep) -> Response:
    rows = [[e["value"], _source(e), e["createdAt"]] for e in team.unsubscribes.values()]
    return csv_response(["value", "source", "createdAt"], rows, "unsubscribes.csv")


@router.get("/unsubscribes/{value}")
async def get_unsubscribe(value: str, team: TeamDep) -> dict:
    entry = require(team.unsubscribes.get(normalise(value)), "Unsubscribe")
    return {
        "_id": entry["_id"],
        "createdAt": entry["createdAt"],
        "value": entry["value"],
        "source": _source(entry),
    }


@router.post("/unsubscribes/{value}")
async def add_unsubscribe_legacy(value: str, team: TeamDep, sandbox: SandboxDep) -> dict:
    """Idempotent: adding a value twice answers the existing entry."""
    value = normalise(value)
    if not _valid(value) or variable_kind(value) not in ("email", "domain"):
        raise LemlistError(400, "Invalid email or domain (write a domain as @domain.com)")
    entry = team.unsubscribes.get(value) or add_unsubscribe(sandbox.world, team, value, source="api")
    return {"_id": entry["_id"], "value": entry["value"], **_email_of(entry)}


@router.delete("/unsubscribes/{value}")
async def delete_unsubscribe_legacy(value: str, team: TeamDep) -> dict:
    entry = require(team.unsubscribes.pop(normalise(value), None), "Unsubscribe")
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
async def list_variables(request: Request, team: TeamDep) -> list[dict]:
    _gate_v2(team)
    return [_variable_view(e) for e in page_of(request.query_params).of(list(team.unsubscribes.values()))]


@router.post("/v2/unsubscribes/variables")
async def bulk_variables(request: Request, team: TeamDep, sandbox: SandboxDep) -> str:
    """``{"values": [...]}`` (≤ 10,000). Idempotent: known values are left as they are. Answers the
    OAS example, the JSON string "Variables unsubscribed"."""
    _gate_v2(team)
    values = id_list(await json_body(request), "values", BULK_LIMIT)
    cleaned = [normalise(v) if isinstance(v, str) else "" for v in values]
    invalid = [v for v in cleaned if not _valid(v)]
    if invalid:
        raise LemlistError(400, f"Invalid value(s): {', '.join(invalid[:5])}")
    for value in cleaned:
        if value not in team.unsubscribes:
            add_unsubscribe(sandbox.world, team, value, source="api")
    return "Variables unsubscribed"


@router.get("/v2/unsubscribes/variables/{value}")
async def get_variable(value: str, team: TeamDep) -> dict:
    _gate_v2(team)
    return _variable_view(require(team.unsubscribes.get(normalise(value)), "Variable"))


@router.post("/v2/unsubscribes/variables/{value}")
async def add_variable(value: str, team: TeamDep, sandbox: SandboxDep) -> dict:
    _gate_v2(team)
    value = normalise(value)
    if not _valid(value):
        raise LemlistError(400, f"Invalid value: {value}")
    entry = team.unsubscribes.get(value) or add_unsubscribe(sandbox.world, team, value, source="api")
    return _variable_view(entry)


@router.delete("/v2/unsubscribes/variables/{value}")
async def delete_variable(value: str, team: TeamDep) -> dict:
    """Idempotent re-subscribe: removing an absent value is not an error."""
    _gate_v2(team)
    entry = team.unsubscribes.pop(normalise(value), None)
    return {"ok": True, "deleted": entry is not None}


@router.get("/v2/unsubscribes/exports/variables")
async def export_variables(team: TeamDep) -> Response:
    _gate_v2(team)
    rows = [[e["value"], e["variable"], _source(e), e["createdAt"]] for e in team.unsubscribes.values()]
    return csv_response(["value", "variable", "source", "createdAt"], rows, "unsubscribed-variables.csv")


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
async def get_contact_status(contactId: str, team: TeamDep) -> dict:
    _gate_v2(team)
    _known_contact(team, contactId)
    return {"_id": contactId, "doNotContact": contactId in _contacts(team)}


@router.post("/v2/unsubscribes/contacts/{contactId}")
async def unsubscribe_contact(contactId: str, team: TeamDep) -> dict:
    _gate_v2(team)
    _known_contact(team, contactId)
    _contacts(team).setdefault(contactId, now_iso())
    return {"_id": contactId, "doNotContact": True}


@router.delete("/v2/unsubscribes/contacts/{contactId}")
async def resubscribe_contact(contactId: str, team: TeamDep) -> dict:
    _gate_v2(team)
    _known_contact(team, contactId)
    _contacts(team).pop(contactId, None)
    return {"_id": contactId, "doNotContact": False}


@router.get("/v2/unsubscribes/exports/contacts")
async def export_contacts(team: TeamDep) -> Response:
    _gate_v2(team)
    rows = [[cid, at] for cid, at in _contacts(team).items()]
    return csv_response(["contactId", "createdAt"], rows, "unsubscribed-contacts.csv")
