"""Cross-campaign overview: lead ids from filters, and CSV exports of activities, leads and hot leads.

None of these are in the OAS; bodies are filter objects (``campaignIds``, ``types``, ``states``, ``minDate``,
``maxDate``, ``isFirst``) and the exports answer ``text/csv`` directly.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import Request
from fastapi.responses import Response

from ..deps import TeamDep, json_object
from ..errors import LemlistError
from ..state import Team
from .activities import parse_date
from .common import api_router, csv_table

router = api_router()

HOT_TYPES = {
    "emailsOpened",
    "emailsClicked",
    "emailsReplied",
    "emailsInterested",
    "linkedinReplied",
    "linkedinInterested",
    "interested",
    "manualInterested",
}


def _is_interested(lead: dict) -> bool:
    """Marked interested by hand (``/leads/interested/...``): ``interest``/``state`` hold ``interested``."""
    return lead.get("interested") is True or "interested" in (lead.get("interest"), lead.get("state"))


async def _filters(request: Request) -> dict:
    body = await json_object(request, allow_empty=True)
    body = body.get("filters", body) if isinstance(body.get("filters"), dict) else body
    return body


def _as_list(filters: dict, *names: str) -> list[str]:
    """The first of ``names`` given: a comma list or an array of strings (else lemlist's 400)."""
    value = next((filters[n] for n in names if filters.get(n)), None)
    if value is None:
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    raise LemlistError(400, f"{names[0]} must be a comma-separated string or an array of strings")


def _when(value: object, name: str) -> datetime | None:
    return None if value in (None, "") else parse_date(value, name)


def _activities(team: Team, filters: dict) -> list[dict]:
    campaigns = set(_as_list(filters, "campaignIds", "campaignId"))
    types = set(_as_list(filters, "types", "type"))
    low, high = _when(filters.get("minDate"), "minDate"), _when(filters.get("maxDate"), "maxDate")
    out, seen_first = [], set()
    for activity in team.activities:
        if campaigns and activity.get("campaignId") not in campaigns:
            continue
        if types and activity.get("type") not in types:
            continue
        when = _when(activity.get("createdAt"), "createdAt")
        if (low and when and when < low) or (high and when and when > high):
            continue
        if filters.get("isFirst"):
            key = (activity.get("leadId"), activity.get("type"))
            if key in seen_first:
                continue
            seen_first.add(key)
        out.append(activity)
    return out


def _leads(team: Team, filters: dict) -> list[dict]:
    campaigns = set(_as_list(filters, "campaignIds", "campaignId"))
    states = set(_as_list(filters, "states", "state"))
    return [
        lead
        for lead in team.leads.values()
        if (not campaigns or lead.get("campaignId") in campaigns)
        and (not states or str(lead.get("state")) in states)
    ]


@router.post("/overview/activities/leadIds")
async def activity_lead_ids(request: Request, team: TeamDep) -> dict:
    ids = list(
        dict.fromkeys(a["leadId"] for a in _activities(team, await _filters(request)) if a.get("leadId"))
    )
    return {"leadIds": ids, "total": len(ids)}


@router.post("/overview/leads/ids")
async def lead_ids(request: Request, team: TeamDep) -> dict:
    ids = [lead["_id"] for lead in _leads(team, await _filters(request))]
    return {"leadIds": ids, "total": len(ids)}


_ACTIVITY_COLUMNS = ["_id", "type", "createdAt", "leadId", "campaignId", "sequenceId", "email"]
_LEAD_COLUMNS = [
    "_id",
    "email",
    "firstName",
    "lastName",
    "companyName",
    "state",
    "campaignId",
    "campaignName",
    "contactId",
    "createdAt",
]


@router.post("/overview/activities/export")
async def export_activities(request: Request, team: TeamDep) -> Response:
    rows = []
    for activity in _activities(team, await _filters(request)):
        lead = team.leads.get(activity.get("leadId", ""), {})
        rows.append({**activity, "email": activity.get("email") or lead.get("email")})
    return csv_table(_ACTIVITY_COLUMNS, rows, "activities.csv")


@router.post("/overview/leads/export")
async def export_leads(request: Request, team: TeamDep) -> Response:
    return csv_table(_LEAD_COLUMNS, _leads(team, await _filters(request)), "leads.csv")


@router.post("/leads/export/hot-leads")
async def export_hot_leads(request: Request, team: TeamDep) -> Response:
    """Leads with at least one engagement (open, click, reply, interest), with their engagement count."""
    filters = await _filters(request)
    engagement: dict[str, int] = {}
    for activity in _activities(team, {k: v for k, v in filters.items() if k not in ("types", "type")}):
        if activity.get("type") in HOT_TYPES and activity.get("leadId"):
            engagement[activity["leadId"]] = engagement.get(activity["leadId"], 0) + 1
    rows = [
        {**team.leads[lead_id], "engagements": count}
        for lead_id, count in engagement.items()
        if lead_id in team.leads
    ]
    rows += [
        {**lead, "engagements": 0}
        for lead in team.leads.values()
        if _is_interested(lead) and lead["_id"] not in engagement
    ]
    return csv_table([*_LEAD_COLUMNS, "engagements"], rows, "hot-leads.csv")
