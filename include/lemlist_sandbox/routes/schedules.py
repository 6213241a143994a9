"""Schedules (sending windows) and their assignment to campaigns."""

from __future__ import annotations

import re

from fastapi import Request

from ..deps import SandboxDep, TeamDep, json_body, json_object
from ..errors import LemlistError
from ..seed import add_schedule
from ..state import Team, now_iso
from .common import api_router, clean, get_campaign, page_of, require

router = api_router()

_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
_FIELDS = ("name", "secondsToWait", "timezone", "start", "end", "weekdays", "public")


def _validate(body: dict, *, partial: bool) -> None:
    """What the schema leaves to the server: required fields, times as HH:MM, weekdays 0 (Sunday) to 6."""
    if not partial:
        missing = [k for k in ("name", "timezone", "start", "end", "weekdays") if k not in body]
        if missing:
            raise LemlistError(400, f"Missing field(s): {', '.join(missing)}")
    for key in ("start", "end"):
        if key in body and (not isinstance(body[key], str) or not _TIME.match(body[key])):
            raise LemlistError(400, f"{key} must be HH:MM")
    if "weekdays" in body:
        days = body["weekdays"]
        if not isinstance(days, list) or not all(isinstance(d, int) and 0 <= d <= 6 for d in days):
            raise LemlistError(400, "weekdays must be a list of integers 0 (Sunday) to 6")


def _schedule(team: Team, schedule_id: str) -> dict:
    schedule = team.schedules.get(schedule_id)
    return require(None if schedule is None or schedule.get("deletedAt") else schedule, "Schedule")


@router.get("/schedules")
async def list_schedules(request: Request, team: TeamDep) -> dict:
    q = request.query_params
    page = page_of(q)
    items = [s for s in team.schedules.values() if not s.get("deletedAt")]
    items.sort(key=lambda s: s["createdAt"], reverse=q.get("sortOrder") == "desc")
    return {"schedules": [clean(s) for s in page.of(items)], "pagination": page.pagination(len(items))}


@router.post("/schedules")
async def create_schedule(request: Request, team: TeamDep, sandbox: SandboxDep) -> dict:
    body = await json_object(request)
    _validate(body, partial=False)
    fields = {k: body[k] for k in _FIELDS if k in body and k != "name"}
    return clean(add_schedule(sandbox.world, team, body["name"], **fields))


@router.get("/schedules/{scheduleId}")
async def get_schedule(scheduleId: str, team: TeamDep) -> dict:
    return clean(_schedule(team, scheduleId))


@router.patch("/schedules/{scheduleId}")
async def update_schedule(scheduleId: str, request: Request, team: TeamDep) -> dict:
    schedule = _schedule(team, scheduleId)
    body = await json_object(request)
    _validate(body, partial=True)
    schedule.update({k: body[k] for k in _FIELDS if k in body})
    return clean(schedule)


@router.delete("/schedules/{scheduleId}")
async def delete_schedule(scheduleId: str, team: TeamDep) -> dict:
    schedule = _schedule(team, scheduleId)
    schedule["deletedAt"] = now_iso()
    schedule["deletedBy"] = team.user_id
    for campaign in team.campaigns.values():
        if scheduleId in campaign.get("scheduleIds", []):
            campaign["scheduleIds"].remove(scheduleId)
    return {"_id": scheduleId}


@router.get("/campaigns/{campaignId}/schedules/")
@router.get("/campaigns/{campaignId}/schedules", include_in_schema=False)
async def campaign_schedules(campaignId: str, team: TeamDep) -> list[dict]:
    campaign = get_campaign(team, campaignId)
    return [clean(team.schedules[s]) for s in campaign.get("scheduleIds", []) if s in team.schedules]


def _assign(team: Team, campaign: dict, schedule_id: str) -> dict:
    _schedule(team, schedule_id)
    if schedule_id not in campaign["scheduleIds"]:
        campaign["scheduleIds"].append(schedule_id)
    return {"scheduleId": schedule_id, "campaignId": campaign["_id"]}


@router.post("/campaigns/{campaignId}/schedules/{scheduleId}")
async def assign_schedule(campaignId: str, scheduleId: str, team: TeamDep) -> dict:
    return _assign(team, get_campaign(team, campaignId), scheduleId)


@router.post("/campaigns/{campaignId}/schedules")
@router.post("/campaigns/{campaignId}/schedules/", include_in_schema=False)
async def assign_schedules(campaignId: str, request: Request, team: TeamDep) -> dict:
    """Body ``{"scheduleId": ...}`` or ``{"scheduleIds": [...]}``: the campaign's schedules become these."""
    campaign = get_campaign(team, campaignId)
    body = await json_body(request)
    ids = body.get("scheduleIds") if isinstance(body, dict) else None
    if ids is None and isinstance(body, dict) and body.get("scheduleId"):
        ids = [body["scheduleId"]]
    if not isinstance(ids, list) or not ids:
        raise LemlistError(400, "scheduleId or scheduleIds is required")
    for schedule_id in ids:
        _schedule(team, schedule_id)
    campaign["scheduleIds"] = list(dict.fromkeys(ids))
    return {"scheduleIds": campaign["scheduleIds"], "campaignId": campaignId}
