"""Sequences and steps: ``GET /campaigns/{id}/sequences``, ``POST|PATCH|DELETE /sequences/{id}/steps``."""

from __future__ import annotations

from fastapi import Request

from ..deps import SandboxDep, TeamDep, json_object
from ..errors import LemlistError
from ..state import Team, now_iso
from .common import api_router, clean, get_campaign, require

router = api_router()

STEP_TYPES = {
    "email", "manual", "phone", "api", "linkedinVisit", "linkedinInvite", "linkedinSend", "linkedinVoiceNote",
    "linkedinFollow", "linkedinLikeLastPost", "linkedinCommentLastPost", "linkedinEndorse",
    "linkedinWithdrawInvitation", "sendToAnotherCampaign", "conditional", "whatsappMessage", "sms",
}  # fmt: skip
_STEP_FIELDS = {
    "delay", "subject", "message", "altMessage", "title", "method", "url", "conditionKey", "delayType",
    "images", "videos", "skillName", "endorseAnyFallback", "recordMode",
}  # fmt: skip


def _sequence(team: Team, sequence_id: str) -> dict:
    return require(team.sequences.get(sequence_id), "Sequence")


def _renumber(sequence: dict) -> None:
    for i, step in enumerate(sequence["steps"]):
        step["index"] = i
        step["sequenceStep"] = i


def step_view(step: dict) -> dict:
    return clean(step)


@router.get("/campaigns/{campaignId}/sequences")
async def list_sequences(campaignId: str, team: TeamDep) -> dict:
    """An object keyed by sequence id, as the OAS says (one main sequence per campaign here)."""
    campaign = get_campaign(team, campaignId)
    sequence = team.sequences.get(campaign["sequenceId"], {"_id": campaign["sequenceId"], "steps": []})
    return {
        sequence["_id"]: {
            "_id": sequence["_id"],
            "steps": [step_view(s) for s in sequence["steps"]],
            "level": 0,
        }
    }


def _validate_step(body: dict, *, require_type: bool) -> None:
    if require_type and "type" not in body:
        raise LemlistError(400, "type is required")
    if "type" in body and body["type"] not in STEP_TYPES:
        raise LemlistError(400, f"Invalid step type: {body['type']}")
    if "delay" in body and (not isinstance(body["delay"], int) or body["delay"] < 0):
        raise LemlistError(400, "delay must be a positive integer")


@router.post("/sequences/{sequenceId}/steps")
async def add_step(sequenceId: str, request: Request, team: TeamDep, sandbox: SandboxDep) -> dict:
    sequence = _sequence(team, sequenceId)
    body = await json_object(request)
    _validate_step(body, require_type=True)
    if body["type"] == "email" and not body.get("subject") and not sequence["steps"]:
        raise LemlistError(400, "subject is required for the first email step")
    step = {
        "_id": sandbox.world.ids.new("stp"),
        "sequenceId": sequenceId,
        "type": body["type"],
        "delay": body.get("delay", 0 if not sequence["steps"] else 1),
        "createdAt": now_iso(),
        **{k: v for k, v in body.items() if k in _STEP_FIELDS and k != "delay"},
    }
    if step["type"] == "email":
        step["emailTemplateId"] = sandbox.world.ids.new("etp")
    index = body.get("index")
    position = (
        index if isinstance(index, int) and 0 <= index <= len(sequence["steps"]) else len(sequence["steps"])
    )
    sequence["steps"].insert(position, step)
    _renumber(sequence)
    return step_view(step)


def _find_step(sequence: dict, step_id: str) -> dict:
    return require(next((s for s in sequence["steps"] if s["_id"] == step_id), None), "Step")


@router.patch("/sequences/{sequenceId}/steps/{stepId}")
async def update_step(sequenceId: str, stepId: str, request: Request, team: TeamDep) -> dict:
    sequence = _sequence(team, sequenceId)
    step = _find_step(sequence, stepId)
    body = await json_object(request)
    _validate_step(body, require_type=True)
    if body["type"] != step["type"]:
        raise LemlistError(400, "The type of a step cannot be changed")
    step.update({k: v for k, v in body.items() if k in _STEP_FIELDS})
    return step_view(step)


@router.delete("/sequences/{sequenceId}/steps/{stepId}")
async def delete_step(sequenceId: str, stepId: str, team: TeamDep) -> dict:
    sequence = _sequence(team, sequenceId)
    step = _find_step(sequence, stepId)
    sequence["steps"].remove(step)
    _renumber(sequence)
    return {"ok": True}
