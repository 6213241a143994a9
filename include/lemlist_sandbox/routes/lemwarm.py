"""lemwarm (mailbox warm-up): start, pause and settings of one mailbox."""

from __future__ import annotations

from fastapi import Request

from ..deps import TeamDep, json_object
from ..errors import LemlistError
from ..state import Team, now_iso
from .common import api_router, require
from .users import ensure_owner

router = api_router()


def _mailbox(team: Team, mailbox_id: str) -> dict:
    ensure_owner(team)
    # The spec lists no 404 for lemwarm: an unknown mailbox is a bad request.
    mailbox = require(team.mailboxes.get(mailbox_id), "Mailbox", status=400)
    mailbox.setdefault(
        "lemwarmSettings",
        {
            "dailyLimit": 20,
            "warmupTemplate": "default",
            "warmEmailMax": 20,
            "warmEmailRampup": 2,
            "deliverability": {"score": 92, "lastAt": now_iso()},
        },
    )
    return mailbox


def _set_active(mailbox: dict, active: bool) -> None:
    mailbox.setdefault("lemwarm", {})["active"] = active


@router.post("/lemwarm/{userMailboxId}/start")
async def start(userMailboxId: str, team: TeamDep) -> dict:  # noqa: N803
    _set_active(_mailbox(team, userMailboxId), True)
    return {"ok": True}


@router.post("/lemwarm/{userMailboxId}/pause")
async def pause(userMailboxId: str, team: TeamDep) -> dict:  # noqa: N803
    _set_active(_mailbox(team, userMailboxId), False)
    return {"ok": True}


@router.get("/lemwarm/{userMailboxId}/settings")
async def get_settings(userMailboxId: str, team: TeamDep) -> dict:  # noqa: N803
    mailbox = _mailbox(team, userMailboxId)
    return {"active": bool(mailbox.get("lemwarm", {}).get("active")), **mailbox["lemwarmSettings"]}


@router.patch("/lemwarm/{userMailboxId}/settings")
async def update_settings(userMailboxId: str, request: Request, team: TeamDep) -> dict:  # noqa: N803
    mailbox = _mailbox(team, userMailboxId)
    body = await json_object(request)
    unknown = set(body) - {"warmEmailMax", "warmEmailRampup"}
    if unknown:
        raise LemlistError(400, f"Unknown settings: {', '.join(sorted(unknown))}")
    for key, value in body.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise LemlistError(400, f"{key} must be a positive integer")
    settings = mailbox["lemwarmSettings"]
    settings.update(body)
    if "warmEmailMax" in body:
        settings["dailyLimit"] = body["warmEmailMax"]
    return {"ok": True}
