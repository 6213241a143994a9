"""Schedules (sending windows) and their assignment to campaigns."""

from __future__ import annotations

import math
import re

from fastapi import APIRouter, Depends, Request

from ..deps import current_sandbox, current_team
from ..errors import LemlistError
from ..seed import add_schedule
from ..state import Team, now_iso
from .campaigns import clean, get_campaign, int_param, json_body

router = APIRouter()

_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
_FIELDS = ("name", "secondsToWait", "timezone", "start", "end", "weekdays", "public")


def _json_error(status: int, error: str, message: str) -> LemlistError:
    # POST/PATCH /schedules answer errors as JSON per the OAS; the other schedule routes as text.
    return LemlistError(status, message, json_body={"error": error, "message": message})


def _validate(body: dict, *, partial: bool) -> None:
    if not partial:
        missing = [k for k in ("name", "timezone", "start", "end", "weekdays") if k not in body]
        if missing:
            raise _json_error(400, "Bad request", f"Missing field(s): {', '.join(missing)}")
    for key in ("start", "end"):
        if key in body and (not isinstance(body[key], str) or not _TIME.match(body[key])):
            raise _json_error(400, "Bad request", f"{key} must be HH:MM")
    if "weekdays" in body:
        days = body["weekdays"]
        if not isinstance(days, list) or not all(isinstance(d, int) and 0 <= d <= 6 for d in days):
            raise _json_error(400, "Bad request", "weekdays must be a list of integers 0 (Sunday) to 6")


def _schedule(team: Team, schedule_id: str, *, json_errors: bool = False) -> dict:
    schedule = team.schedules.get(schedule_id)
    if schedule is None or schedule.get("deletedAt"):
        if json_errors:
            raise _json_error(404, "Schedule not found", "Schedule not found")
        raise LemlistError(404, "Schedule not found")
    return schedule


@router.get("/schedules")
async def list_schedules(request: Request, team: Team = Depends(current_team)) -> dict:
    q = request.query_params
    limit = int_param(q.get("limit"), "limit", 100, low=1, high=100)
    items = [s for s in team.schedules.values() if not s.get("deletedAt")]
    items.sort(key=lambda s: s["createdAt"], reverse=q.get("sortOrder") == "desc")
    if "page" in q:
        page = int_param(q.get("page"), "page", 1, low=1)
        offset = (page - 1) * limit
    else:
        offset = int_param(q.get("offset"), "offset", 0)
        page = offset // limit + 1
    total_pages = max(1, math.ceil(len(items) / limit))
    pagination = {"totalRecords": len(items), "currentPage": page, "totalPage": total_pages}
    if page < total_pages:
        pagination["nextPage"] = page + 1
    return {"schedules": [clean(s) for s in items[offset : offset + limit]], "pagination": pagination}


@router.post("/schedules")
async def create_schedule(
    request: Request, team: Team = Depends(current_team), sandbox=Depends(current_sandbox)
) -> dict:
    body = await json_body(request)
    if not isinstance(body, dict):
        raise _json_error(400, "Bad request", "Body must be an object")
    _validate(body, partial=False)
    fields = {k: body[k] for k in _FIELDS if k in body and k != "name"}
    return clean(add_schedule(sandbox.world, team, body["name"], **fields))


@router.get("/schedules/{scheduleId}")
async def get_schedule(scheduleId: str, team: Team = Depends(current_team)) -> dict:
    return clean(_schedule(team, scheduleId))


@router.patch("/schedules/{scheduleId}")
async def update_schedule(scheduleId: str, request: Request, team: Team = Depends(current_team)) -> dict:
    schedule = _schedule(team, scheduleId, json_errors=True)
    body = await json_body(request)
    if not isinstance(body, dict):
        raise _json_error(400, "Bad request", "Body must be an object")
    _validate(body, partial=True)
    schedule.update({k: body[k] for k in _FIELDS if k in body})
    return clean(schedule)


@router.delete("/schedules/{scheduleId}")
async def delete_schedule(scheduleId: str, team: Team = Depends(current_team)) -> dict:
    schedule = _schedule(team, scheduleId)
    schedule["deletedAt"] = now_iso()
    schedule["deletedBy"] = team.user_id
    for campaign in team.campaigns.values():
        if scheduleId in campaign.get("scheduleIds", []):
            campaign["scheduleIds"].remove(scheduleId)
    return {"_id": scheduleId}


@router.get("/campaigns/{campaignId}/schedules/")
@router.get("/campaigns/{campaignId}/schedules", include_in_schema=False)
async def campaign_schedules(campaignId: str, team: Team = Depends(current_team)) -> list[dict]:
    campaign = get_campaign(team, campaignId)
    return [clean(team.schedules[s]) for s in campaign.get("scheduleIds", []) if s in team.schedules]


def _assign(team: Team, campaign: dict, schedule_id: str) -> dict:
    _schedule(team, schedule_id)
    if schedule_id not in campaign["scheduleIds"]:
        campaign["scheduleIds"].append(schedule_id)
    return {"scheduleId": schedule_id, "campaignId": campaign["_id"]}


@router.post("/campaigns/{campaignId}/schedules/{scheduleId}")
async def assign_schedule(campaignId: str, scheduleId: str, team: Team = Depends(current_team)) -> dict:
    return _assign(team, get_campaign(team, campaignId), scheduleId)


@router.post("/campaigns/{campaignId}/schedules")
@router.post("/campaigns/{campaignId}/schedules/", include_in_schema=False)
async def assign_schedules(campaignId: str, request: Request, team: Team = Depends(current_team)) -> dict:
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
