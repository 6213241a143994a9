"""Team routes: ``/team``, members, overview, credits, senders, CRM users, send users."""

from __future__ import annotations

from collections import Counter

from fastapi import Query

from ..deps import TeamDep
from ..errors import LemlistError
from .common import api_router
from .users import all_users, ensure_owner, render_user, user_mailboxes

router = api_router()

_CAMPAIGN_STATES = {"running", "paused", "draft", "ended", "archived", "errors"}


def _hook_summary(hook: dict) -> dict:
    """A hook as the ``Webhook`` schema shows it inside ``Team``: ``type`` is one event, so a
    comma-separated list of events is left out rather than shown as an invalid value."""
    out = {k: hook[k] for k in ("_id", "targetUrl", "campaignId", "createdAt") if hook.get(k) is not None}
    kind = hook.get("type")
    if isinstance(kind, str) and kind and "," not in kind:
        out["type"] = kind
    return out


@router.get("/team")
async def get_team(team: TeamDep) -> dict:
    users = all_users(team)
    return {
        "_id": team.id,
        "name": team.name,
        "userIds": [u["_id"] for u in users],
        "createdBy": team.user_id,
        "createdAt": "2024-01-01T00:00:00.000Z",
        "hooks": [_hook_summary(h) for h in team.hooks.values()],
        "beta": [],
        "invitedUsers": list(team.extra.get("invited_users", [])),
        "customDomain": team.info.get("customDomain", "track.sandbox.lemlist.test"),
    }


@router.get("/team/members")
async def team_members(team: TeamDep) -> list[dict]:
    return [render_user(team, user) for user in all_users(team)]


@router.get("/team/overview")
async def team_overview(team: TeamDep) -> dict:
    """Not in the OAS; the sandbox answers a summary of what the team holds."""
    statuses = Counter(c.get("status", "draft") for c in team.campaigns.values())
    return {
        "_id": team.id,
        "name": team.name,
        "members": len(all_users(team)),
        "campaigns": {"total": len(team.campaigns), **dict(statuses)},
        "leads": len(team.leads),
        "unsubscribes": len(team.unsubscribes),
        "credits": team.credits,
        "mailboxes": len(team.mailboxes),
    }


@router.get("/team/credits")
async def get_credits(team: TeamDep) -> dict:
    return {
        "credits": team.credits,
        "details": {
            "remaining": {
                "total": team.credits,
                "freemium": 0,
                "subscription": team.credits,
                "gifted": 0,
                "paid": 0,
            }
        },
    }


def _channels(campaign: dict, sequences: dict) -> list[str]:
    sequence = sequences.get(campaign.get("sequenceId"), {})
    kinds = []
    for step in sequence.get("steps", []):
        kind = str(step.get("type", "email"))
        channel = (
            "linkedin"
            if kind.startswith("linkedin")
            else kind
            if kind in ("email", "whatsapp", "sms")
            else None
        )
        if channel and channel not in kinds:
            kinds.append(channel)
    return kinds or ["email"]


@router.get("/team/senders")
async def team_senders(team: TeamDep, state: str | None = Query(None)) -> list[dict]:
    if state is not None and state not in _CAMPAIGN_STATES:
        raise LemlistError(400, f"Invalid state, must be one of {', '.join(sorted(_CAMPAIGN_STATES))}")
    owner = ensure_owner(team)
    senders: dict[str, list[dict]] = {u["_id"]: [] for u in all_users(team)}
    for campaign in team.campaigns.values():
        status = campaign.get("status", "draft")
        if state == "errors":
            if not campaign.get("hasError"):
                continue
        elif state is not None and status != state:
            continue
        user_ids = [s for s in campaign.get("senders", []) if isinstance(s, str) and s in senders] or [
            owner["_id"]
        ]
        for user_id in user_ids:
            senders[user_id].append(
                {
                    "_id": campaign["_id"],
                    "name": campaign.get("name", ""),
                    "status": status,
                    "sendingChannels": _channels(campaign, team.sequences),
                }
            )
    return [{"userId": user_id, "campaigns": campaigns} for user_id, campaigns in senders.items()]


@router.get("/team/crmUsers")
async def crm_users(team: TeamDep) -> list[dict]:
    owner = ensure_owner(team)
    return list(team.extra.get("crm_users", [{"userId": owner["_id"], "crm": "hubspot"}]))


@router.get("/team/sendUsers")
async def send_users(team: TeamDep) -> list[dict]:
    """Not in the OAS: the users able to send, with their connected mailboxes."""
    out = []
    for user in all_users(team):
        mailboxes = [
            {
                "_id": mb["_id"],
                "email": mb["email"],
                "provider": mb.get("provider"),
                "status": mb.get("status"),
            }
            for mb in user_mailboxes(team, user)
        ]
        out.append({"userId": user["_id"], "email": user.get("email"), "mailboxes": mailboxes})
    return out
