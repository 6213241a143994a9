"""lemcal (lemlist's scheduling product) on the same server under ``/api/lemcal``.

The middleware authenticates these routes with Basic ``userId:apiKey``. lemcal has no write route for
meetings or meeting types, so each team gets two meeting types and three booked meetings on first use.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi import Request
from fastapi.responses import Response

from ..deps import SandboxDep, TeamDep, json_object
from ..errors import LemlistError
from ..state import Team, now_iso
from .common import api_router, require
from .users import ensure_owner

router = api_router(prefix="/lemcal")


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _ensure_data(team: Team, sandbox) -> None:
    if team.lemcal_meeting_types:
        return
    ids = sandbox.world.ids
    for name, minutes in (("Intro call", 30), ("Product demo", 45)):
        type_id = ids.new("met")
        team.lemcal_meeting_types[type_id] = {
            "_id": type_id,
            "userId": team.user_id,
            "name": name,
            "duration": minutes,
            "location": {"type": "googleMeet"},
            "slug": name.lower().replace(" ", "-"),
            "createdAt": "2024-01-01T00:00:00.000Z",
        }
    types = list(team.lemcal_meeting_types.values())
    start = datetime(2025, 3, 24, 15, 30, tzinfo=UTC)
    people = [("alice", "smith"), ("bob", "martin"), ("chloe", "durand")]
    for i, (first, last) in enumerate(people):
        meeting_type = types[i % len(types)]
        begin = start + timedelta(days=i)
        meeting_id = ids.new("mee")
        email = f"{first}.{last}@example.com"
        team.lemcal_meetings[meeting_id] = {
            "_id": meeting_id,
            "userId": team.user_id,
            "meetingTypeId": meeting_type["_id"],
            "providedInfos": "Booked from the sandbox",
            "eventId": f"evt{i}{meeting_id[-6:].lower()}",
            "start": _iso(begin),
            "end": _iso(begin + timedelta(minutes=meeting_type["duration"])),
            "lead": {"email": email, "firstName": first, "lastName": last},
            "attendees": [
                {"email": email, "name": first, "type": "required", "response": "accepted"},
                {"email": ensure_owner(team)["email"], "type": "required", "response": "accepted"},
            ],
            "createdAt": _iso(begin - timedelta(days=7)),
        }


@router.get("/me")
async def me(team: TeamDep, sandbox: SandboxDep) -> dict:
    owner = ensure_owner(team)
    return {
        "_id": team.user_id,
        "email": owner["email"],
        "firstName": owner.get("firstName"),
        "lastName": owner.get("lastName"),
        "teamId": team.id,
        "timezone": "Europe/Paris",
    }


@router.get("/meetings")
async def meetings(
    team: TeamDep,
    sandbox: SandboxDep,
    meetingTypeId: str | None = None,  # noqa: N803
) -> list[dict]:
    _ensure_data(team, sandbox)
    return [
        m
        for m in team.lemcal_meetings.values()
        if meetingTypeId is None or m["meetingTypeId"] == meetingTypeId
    ]


@router.get("/meeting-types")
@router.get("/meetingTypes")
async def meeting_types(team: TeamDep, sandbox: SandboxDep) -> list[dict]:
    """The lemcal docs spell this route both ways; both answer the same data."""
    _ensure_data(team, sandbox)
    return list(team.lemcal_meeting_types.values())


@router.get("/hooks")
async def list_hooks(team: TeamDep) -> list[dict]:
    return list(team.lemcal_hooks.values())


@router.post("/hooks")
async def create_hook(
    team: TeamDep,
    sandbox: SandboxDep,
    request: Request,
):
    _ensure_data(team, sandbox)
    body = await json_object(request)
    target = body.get("targetUrl")
    if not target:
        raise LemlistError(400, "You must provide a targetUrl")
    if not isinstance(target, str) or not target.startswith(("http://", "https://")) or len(target) < 10:
        raise LemlistError(400, "Invalid targetUrl")
    any_type = body.get("anyMeetingType") is True
    type_id = body.get("meetingTypeId")
    if not any_type and not type_id:
        raise LemlistError(400, "You must provide either a meetingTypeId or anyMeetingType")
    if not any_type and (not isinstance(type_id, str) or type_id not in team.lemcal_meeting_types):
        raise LemlistError(404, "meeting type not found")
    key = (target, None if any_type else type_id, any_type)
    for hook in team.lemcal_hooks.values():
        if (
            hook["targetUrl"],
            hook.get("meetingTypeId") if not hook["anyMeetingType"] else None,
            hook["anyMeetingType"],
        ) == key:
            raise LemlistError(409, "Duplicate hook")
    hook = {
        "_id": sandbox.world.ids.new("hoo"),
        "targetUrl": target,
        "anyMeetingType": any_type,
        "createdAt": now_iso(),
    }
    if type_id and not any_type:
        hook["meetingTypeId"] = type_id
    team.lemcal_hooks[hook["_id"]] = hook
    return hook


@router.delete("/hooks/{hookId}", status_code=204)
async def delete_hook(team: TeamDep, hookId: str) -> Response:  # noqa: N803
    require(team.lemcal_hooks.pop(hookId, None), "hook")
    return Response(status_code=204)
