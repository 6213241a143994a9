"""Campaign routes: list/create/get/update, pause/start, reports. (Duplicate and statutes are in misc.py.)"""

from __future__ import annotations

from typing import Any

from fastapi import Request

from ..deps import SandboxDep, TeamDep, json_body
from ..errors import LemlistError
from ..journeys import start_campaign_journeys
from ..seed import add_campaign
from .common import api_router, clean, get_campaign, is_v2, page_of, team_flag
from .stats import activity_counts

router = api_router()

CAMPAIGN_STATUSES = ("running", "paused", "draft", "ended", "archived", "errors")


# -- routes ---------------------------------------------------------------------------------------------
@router.get("/campaigns")
async def list_campaigns(request: Request, team: TeamDep) -> Any:
    """The array of campaigns (the OAS, and v1's answer, whose documented items show ``_id`` and ``name``).
    Captured v2 answers are ``{"campaigns", "pagination"}``: the sandbox gives that shape only with
    ``version=v2`` plus ``page`` (the page-based pagination those answers carry) or the team flag
    ``campaigns_object_shape``.
    """
    q = request.query_params
    status = q.get("status")
    if status and status not in CAMPAIGN_STATUSES:
        raise LemlistError(400, f"Invalid status: {status}")
    page = page_of(q)
    items = [c for c in team.campaigns.values() if not status or c["status"] == status]
    if q.get("createdBy"):
        items = [c for c in items if c.get("createdBy") == q["createdBy"]]
    items.sort(key=lambda c: c["createdAt"], reverse=q.get("sortOrder") == "desc")
    window = [clean(c) for c in page.of(items)]
    if is_v2(request) and ("page" in q or team_flag(team, "campaigns_object_shape")):
        return {"campaigns": window, "pagination": page.pagination(len(items), null_next=True)}
    return window


@router.post("/campaigns")
async def create_campaign(request: Request, team: TeamDep, sandbox: SandboxDep) -> dict:
    body = await json_body(request)
    name = body.get("name") if isinstance(body, dict) else None
    if not isinstance(name, str) or not name.strip():
        raise LemlistError(400, "name is required")
    campaign = add_campaign(sandbox.world, team, name.strip(), "draft")
    # The sequence starts empty: POST /campaigns "auto-adds an empty sequence + default schedule".
    team.sequences[campaign["sequenceId"]]["steps"] = []
    for key in ("timezone", "autoReview", "autoReviewConditions"):
        if key in body:
            campaign[key] = body[key]
    return {
        **clean(campaign),
        "state": "draft",
        "scannedCount": 0,
        "reviewedCount": 0,
        "inSequenceLeadCount": 0,
        "variableKeys": [],
        "senders": [],
        "sendUsers": [],
        "stopOnEmailReplied": True,
    }


@router.get("/campaigns/reports")
async def campaign_reports(request: Request, team: TeamDep) -> list[dict]:
    ids_param = request.query_params.get("campaignIds")
    if not ids_param:
        raise LemlistError(400, "campaignIds is required")
    reports = []
    for campaign_id in [i.strip() for i in ids_param.split(",") if i.strip()]:
        campaign = team.campaigns.get(campaign_id)
        if campaign is None:
            continue
        counts = activity_counts(team, campaign_id)
        leads = team.leads_in_campaign(campaign_id)
        reports.append(
            {
                "_id": campaign_id,
                "name": campaign["name"],
                "creator": campaign.get("createdBy", ""),
                "createdAt": campaign["createdAt"],
                "createdBy": campaign.get("createdBy", ""),
                "labels": ",".join(campaign.get("labels", [])),
                "totalCount": len(leads),
                "reviewedCount": sum(1 for lead in leads if lead.get("state") != "scanned"),
                "inSequenceLeadCount": sum(1 for lead in leads if not lead.get("isPaused")),
                "state": campaign["status"],
                "status": campaign["status"],
                "senderNames": "",
                "sendersUsers": "",
                "reviewed": sum(1 for lead in leads if lead.get("state") != "scanned"),
                "emailsSent": counts.get("emailsSent", 0),
                "emailsOpened": counts.get("emailsOpened", 0),
                "emailsClicked": counts.get("emailsClicked", 0),
                "emailsReplied": counts.get("emailsReplied", 0),
                "emailsUnsubscribed": counts.get("emailsUnsubscribed", 0),
                "emailsInterested": counts.get("emailsInterested", 0),
                "linkedinSent": counts.get("linkedinSent", 0),
                "linkedinOpened": counts.get("linkedinOpened", 0),
                "linkedinReplied": counts.get("linkedinReplied", 0),
                "interested": sum(1 for lead in leads if lead.get("interest") == "interested"),
                "notInterested": sum(1 for lead in leads if lead.get("interest") == "notInterested"),
            }
        )
    return reports


@router.get("/campaigns/{campaignId}")
async def get_campaign_route(campaignId: str, team: TeamDep) -> dict:
    return clean(get_campaign(team, campaignId))


_PATCHABLE = {
    "name", "stopOnEmailReplied", "stopOnMeetingBooked", "stopOnLinkClicked", "leadsPausedByInterest",
    "opportunityReplied", "opportunityClicked", "autoLeadInterest", "disableTrackOpen", "disableTrackClick",
    "disableTrackReply", "disableOutOfOffice", "sequenceSharing", "stopOnLinkClickedFilter", "sendUserIds",
    "autoReview", "autoReviewConditions", "aiFeatures", "tracking", "onReplied", "onLinkClicked", "onMeetingBooked",
}  # fmt: skip


@router.patch("/campaigns/{campaignId}")
async def update_campaign(campaignId: str, request: Request, team: TeamDep) -> dict:
    campaign = get_campaign(team, campaignId)
    body = await json_body(request)
    if not isinstance(body, dict):
        raise LemlistError(400, "Body must be an object")
    unknown = sorted(set(body) - _PATCHABLE)
    if unknown:
        raise LemlistError(400, f"Unknown field(s): {', '.join(unknown)}")
    if "name" in body and (not isinstance(body["name"], str) or not body["name"].strip()):
        raise LemlistError(400, "name must be a non-empty string")
    campaign.update(body)
    settings = {k: campaign[k] for k in _PATCHABLE if k in campaign and k not in ("sendUserIds",)}
    settings["sendUsers"] = [{"id": uid, "mailboxes": []} for uid in campaign.get("sendUserIds", [])]
    return settings


@router.post("/campaigns/{campaignId}/pause")
async def pause_campaign(campaignId: str, team: TeamDep) -> dict:
    campaign = get_campaign(team, campaignId)
    campaign["status"] = "paused"
    return {"_id": campaignId, "state": "paused"}


@router.post("/campaigns/{campaignId}/start")
async def start_campaign(campaignId: str, team: TeamDep, sandbox: SandboxDep) -> dict:
    campaign = get_campaign(team, campaignId)
    if campaign["status"] in ("archived", "ended"):
        raise LemlistError(400, f"Campaign is {campaign['status']}")
    campaign["status"] = "running"
    start_campaign_journeys(sandbox, team, campaignId)  # its leads' sends, opens, replies ... and webhooks
    return {"_id": campaignId, "state": "running"}
