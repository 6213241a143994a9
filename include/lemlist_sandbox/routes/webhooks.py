"""Webhooks: ``GET|POST /hooks``, ``DELETE /hooks/{id}``. At most 200 per team; an identical second hook
(same url, types, campaign and isFirst) answers 409 "Duplicate hook"."""

from __future__ import annotations

from fastapi import Request

from ..deps import SandboxDep, TeamDep, json_object
from ..errors import LemlistError
from ..state import now_iso
from .common import api_router, bool_param, clean, require

router = api_router()

MAX_HOOKS = 200
ACTIVITY_EVENTS = (
    "contacted hooked attracted warmed interested notInterested emailsSent emailsOpened emailsClicked emailsReplied "
    "emailsBounced emailsFailed emailsInterested emailsNotInterested emailsUnsubscribed linkedinSent linkedinOpened "
    "linkedinReplied linkedinInterested linkedinNotInterested linkedinSendFailed linkedinVisitDone linkedinVisitFailed "
    "linkedinFollowDone linkedinFollowFailed linkedinFollowSkipped linkedinInviteDone linkedinInviteFailed "
    "linkedinInviteAccepted linkedinEndorseDone linkedinEndorseFailed linkedinEndorseSkipped linkedinVoiceNoteDone "
    "linkedinVoiceNoteFailed linkedinLikeLastPostDone linkedinLikeLastPostNoPost linkedinLikeLastPostFailed "
    "linkedinWithdrawInvitationDone linkedinWithdrawInvitationFailed whatsappMessageSent whatsappMessageDelivered "
    "whatsappMessageOpened whatsappReplied whatsappMessageFailed smsSent smsDelivered smsReplied smsFailed "
    "aircallCreated aircallEnded aircallDone aircallInterested aircallNotInterested apiDone apiInterested "
    "apiNotInterested apiFailed manualInterested manualNotInterested paused resumed stopped campaignComplete "
    "customDomainErrors connectionIssue sendLimitReached lemwarmPaused annotated enrichmentDone enrichmentError "
    "callRecordingDone callTranscriptDone inboxLabelUpdated signalRegistered deliverabilityAlertTriggered"
).split()
EVENTS = set(ACTIVITY_EVENTS)


def hook_view(hook: dict) -> dict:
    """``type`` is one event in the OAS: a hook on several events shows them in ``types`` only."""
    view = clean({k: v for k, v in hook.items() if k not in ("secret", "type")})
    if len(hook["types"]) == 1:
        view["type"] = hook["types"][0]
    return view


@router.get("/hooks")
async def list_hooks(team: TeamDep) -> list[dict]:
    return [hook_view(h) for h in team.hooks.values()]


@router.post("/hooks")
async def add_hook(request: Request, team: TeamDep, sandbox: SandboxDep) -> dict:
    body = await json_object(request, allow_empty=True)
    url = body.get("targetUrl")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise LemlistError(400, "targetUrl must be an http(s) URL")
    raw_type = body.get("type") or ""
    types = [t.strip() for t in raw_type.split(",") if t.strip()] if isinstance(raw_type, str) else []
    unknown = [t for t in types if t not in EVENTS]
    if unknown:
        raise LemlistError(400, f"Unknown event type(s): {', '.join(unknown)}")
    q = request.query_params
    campaign_id = q.get("campaignId") or body.get("campaignId")
    if campaign_id is not None and not isinstance(campaign_id, str):
        raise LemlistError(400, "campaignId must be a string")
    if campaign_id and campaign_id not in team.campaigns:
        raise LemlistError(404, "Campaign not found")
    is_first = bool_param(q.get("isFirst")) or bool(body.get("isFirst"))
    for hook in team.hooks.values():
        if (hook["targetUrl"], sorted(hook["types"]), hook.get("campaignId"), hook.get("isFirst", False)) == (
            url,
            sorted(types),
            campaign_id,
            is_first,
        ):
            raise LemlistError(409, "Duplicate hook")
    if len(team.hooks) >= MAX_HOOKS:
        raise LemlistError(400, f"Maximum number of webhooks reached ({MAX_HOOKS})")
    hook = {
        "_id": sandbox.world.ids.new("hoo"),
        "targetUrl": url,
        "types": types,
        "campaignId": campaign_id,
        "isFirst": is_first,
        "secret": body.get("secret"),
        "createdAt": now_iso(),
    }
    team.hooks[hook["_id"]] = hook
    view = hook_view(hook)
    view["type"] = ",".join(types)  # POST answers the string as given
    if not types:
        view.pop("type")
    return view


@router.delete("/hooks/{hookId}")
async def delete_hook(hookId: str, team: TeamDep) -> dict:
    hook = require(team.hooks.pop(hookId, None), "Hook")
    view = hook_view(hook)
    if hook["types"]:
        view["type"] = ",".join(hook["types"])
    return view
