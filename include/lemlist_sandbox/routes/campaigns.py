"""Campaign routes: list/create/get/update, pause/start, reports, statutes, duplicate.

Also holds the small helpers every pipeline route group shares (campaign lookup, team flags, clean
output), so they live next to the resource most routes hang off.
"""

from __future__ import annotations

import math
from typing import Any

from fastapi import APIRouter, Depends, Request

from ..deps import current_sandbox, current_team, json_body
from ..errors import LemlistError
from ..seed import add_campaign
from ..state import Team

router = APIRouter()

CAMPAIGN_STATUSES = ("running", "paused", "draft", "ended", "archived", "errors")
PAGE_SIZE = 100


# -- shared helpers ----------------------------------------------------------------------------------
def team_flag(team: Team, name: str) -> bool:
    """A flag set by ``POST /_sandbox/teams/{id}/flags`` (blocked, plan_gated, ...)."""
    return bool(team.extra.get("flags", {}).get(name))


def get_campaign(team: Team, campaign_id: str) -> dict:
    campaign = team.campaigns.get(campaign_id)
    if campaign is None:
        raise LemlistError(404, "Campaign not found")
    return campaign


def clean(data: dict) -> dict:
    """Drop ``None`` values and internal keys (``__...``): the spec's strings are not nullable."""
    return {k: v for k, v in data.items() if v is not None and not k.startswith("__")}


def int_param(value: str | None, name: str, default: int, *, low: int = 0, high: int | None = None) -> int:
    """Parse a query integer the way lemlist does: a text/plain 400 when it is not a number in range."""
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise LemlistError(400, f"{name} must be an integer") from None
    if number < low or (high is not None and number > high):
        raise LemlistError(
            400, f"{name} must be between {low} and {high}" if high else f"{name} must be >= {low}"
        )
    return number


def bool_param(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def campaign_view(campaign: dict) -> dict:
    return clean(campaign)


# -- routes ---------------------------------------------------------------------------------------------
@router.get("/campaigns")
async def list_campaigns(request: Request, team: Team = Depends(current_team)) -> Any:
    """The OAS says an array; captured v2 answers are ``{"campaigns", "pagination"}``.

    The sandbox answers the OAS array, except with ``version=v2`` plus ``page`` (the page-based
    pagination those captured answers carry) or the team flag ``campaigns_object_shape``.
    """
    q = request.query_params
    status = q.get("status")
    if status and status not in CAMPAIGN_STATUSES:
        raise LemlistError(400, f"Invalid status: {status}")
    limit = int_param(q.get("limit"), "limit", PAGE_SIZE, low=1, high=PAGE_SIZE)
    items = [c for c in team.campaigns.values() if not status or c["status"] == status]
    if q.get("createdBy"):
        items = [c for c in items if c.get("createdBy") == q["createdBy"]]
    items.sort(key=lambda c: c["createdAt"], reverse=q.get("sortOrder") == "desc")
    object_shape = q.get("version") == "v2" and ("page" in q or team_flag(team, "campaigns_object_shape"))
    if "page" in q:
        page = int_param(q.get("page"), "page", 1, low=1)
        offset = (page - 1) * limit
    else:
        offset = int_param(q.get("offset"), "offset", 0)
        page = offset // limit + 1
    window = [campaign_view(c) for c in items[offset : offset + limit]]
    if not object_shape:
        return window
    total_pages = max(1, math.ceil(len(items) / limit))
    return {
        "campaigns": window,
        "pagination": {
            "totalRecords": len(items),
            "currentPage": page,
            "nextPage": page + 1 if page < total_pages else None,
            "totalPage": total_pages,
        },
    }


@router.post("/campaigns")
async def create_campaign(
    request: Request, team: Team = Depends(current_team), sandbox=Depends(current_sandbox)
) -> dict:
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
        **campaign_view(campaign),
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
async def campaign_reports(request: Request, team: Team = Depends(current_team)) -> list[dict]:
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


def activity_counts(
    team: Team, campaign_id: str, start: str | None = None, end: str | None = None
) -> dict[str, int]:
    counts: dict[str, int] = {}
    for activity in team.activities:
        if activity.get("campaignId") != campaign_id:
            continue
        created = activity.get("createdAt", "")
        if (start and created < start) or (end and created > end):
            continue
        counts[activity["type"]] = counts.get(activity["type"], 0) + 1
    return counts


@router.get("/campaigns/{campaignId}")
async def get_campaign_route(campaignId: str, team: Team = Depends(current_team)) -> dict:
    return campaign_view(get_campaign(team, campaignId))


_PATCHABLE = {
    "name", "stopOnEmailReplied", "stopOnMeetingBooked", "stopOnLinkClicked", "leadsPausedByInterest",
    "opportunityReplied", "opportunityClicked", "autoLeadInterest", "disableTrackOpen", "disableTrackClick",
    "disableTrackReply", "disableOutOfOffice", "sequenceSharing", "stopOnLinkClickedFilter", "sendUserIds",
    "autoReview", "autoReviewConditions", "aiFeatures", "tracking", "onReplied", "onLinkClicked", "onMeetingBooked",
}  # fmt: skip


@router.patch("/campaigns/{campaignId}")
async def update_campaign(campaignId: str, request: Request, team: Team = Depends(current_team)) -> dict:
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
async def pause_campaign(campaignId: str, team: Team = Depends(current_team)) -> dict:
    campaign = get_campaign(team, campaignId)
    campaign["status"] = "paused"
    return {"_id": campaignId, "state": "paused"}


@router.post("/campaigns/{campaignId}/start")
async def start_campaign(campaignId: str, team: Team = Depends(current_team)) -> dict:
    campaign = get_campaign(team, campaignId)
    if campaign["status"] in ("archived", "ended"):
        raise LemlistError(400, f"Campaign is {campaign['status']}")
    campaign["status"] = "running"
    return {"_id": campaignId, "state": "running"}


# POST /campaigns/{id}/duplicate and GET /campaigns/{id}/statutes live in misc.py (other route group owner).
