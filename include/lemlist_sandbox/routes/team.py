"""Team routes: ``/team``, members, overview, credits, senders, CRM users, send users."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from ..deps import current_team
from ..state import Team

router = APIRouter()


@router.get("/team")
async def get_team(team: Team = Depends(current_team)) -> dict:
    return {
        "_id": team.id,
        "name": team.name,
        "userIds": [team.user_id, *team.users.keys()],
        "createdBy": team.user_id,
        "createdAt": "2024-01-01T00:00:00.000Z",
        "hooks": list(team.hooks.values()),
        "beta": [],
    }


@router.get("/team/credits")
async def get_credits(team: Team = Depends(current_team)) -> dict:
    return {"credits": team.credits, "details": {"remaining": {"freemium": 0, "subscription": team.credits, "gifted": 0, "paid": 0}}}
