"""Campaign statistics: v1 ``/campaigns/{id}/stats``, v2 per campaign and v2 batch (at most 100 ids).

Figures are computed from the team's leads and activities, so a test that adds activities sees them.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import Request

from ..deps import TeamDep, json_body
from ..errors import LemlistError
from ..state import Team
from .common import api_router, get_campaign, id_list

router = api_router()

BATCH_LIMIT = 100


def _iso(value: object, name: str) -> str:
    if not value:
        raise LemlistError(400, "startDate and endDate are required")
    if not isinstance(value, str):
        raise LemlistError(400, f"{name} must be an ISO 8601 date")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise LemlistError(400, f"{name} must be an ISO 8601 date") from None
    return parsed.isoformat(timespec="milliseconds").replace("+00:00", "Z")


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


def compute_stats(team: Team, campaign_id: str, start: str | None, end: str | None) -> dict:
    campaign = team.campaigns[campaign_id]
    leads = team.leads_in_campaign(campaign_id)
    counts = activity_counts(team, campaign_id, start, end)
    sent = counts.get("emailsSent", 0)
    bounced = counts.get("emailsBounced", 0)
    reached = {a.get("leadId") for a in team.activities if a.get("campaignId") == campaign_id}
    steps = []
    for i, step in enumerate(team.sequences.get(campaign["sequenceId"], {}).get("steps", [])):
        step_acts = [
            a
            for a in team.activities
            if a.get("campaignId") == campaign_id and a.get("stepId") == step["_id"]
        ]
        kinds = [a["type"] for a in step_acts]
        steps.append(
            {
                "index": i,
                "sequenceId": campaign["sequenceId"],
                "sequenceStep": i,
                "taskType": step.get("type") if step.get("type") in _TASK_TYPES else "manual",
                "invited": 0,
                "sent": kinds.count("emailsSent"),
                "delivered": kinds.count("emailsSent") - kinds.count("emailsBounced"),
                "opened": kinds.count("emailsOpened"),
                "clicked": kinds.count("emailsClicked"),
                "replied": kinds.count("emailsReplied"),
                "notDelivered": kinds.count("emailsFailed"),
                "bounced": kinds.count("emailsBounced"),
                "unsubscribed": kinds.count("emailsUnsubscribed"),
            }
        )
    return {
        "nbLeads": len(leads),
        "nbLeadsLaunched": sum(1 for lead in leads if lead.get("state") not in ("scanned", "imported")),
        "nbLeadsReached": len(reached),
        "nbLeadsOpened": len(
            {
                a.get("leadId")
                for a in team.activities
                if a.get("campaignId") == campaign_id and a["type"] == "emailsOpened"
            }
        ),
        "nbLeadsInteracted": counts.get("emailsClicked", 0) + counts.get("emailsReplied", 0),
        "nbLeadsAnswered": counts.get("emailsReplied", 0),
        "nbLeadsInterested": sum(1 for lead in leads if lead.get("interest") == "interested"),
        "nbLeadsNotInterested": sum(1 for lead in leads if lead.get("interest") == "notInterested"),
        "nbLeadsUnsubscribed": counts.get("emailsUnsubscribed", 0),
        "nbLeadsInterrupted": sum(1 for lead in leads if lead.get("isPaused")),
        "messagesSent": sent,
        "messagesNotSent": counts.get("emailsFailed", 0),
        "messagesBounced": bounced,
        "delivered": sent - bounced,
        "opened": counts.get("emailsOpened", 0),
        "clicked": counts.get("emailsClicked", 0),
        "replied": counts.get("emailsReplied", 0),
        "invitationAccepted": counts.get("linkedinInviteAccepted", 0),
        "meetingBooked": counts.get("meetingBooked", 0),
        "steps": steps,
    }


_TASK_TYPES = {"email", "linkedinVisit", "linkedinInvite", "linkedinSend", "phone", "manual", "conditional"}


@router.get("/campaigns/{campaignId}/stats")
async def stats_v1(campaignId: str, team: TeamDep) -> dict:
    """Legacy v1 stats: flat counters since the campaign started."""
    get_campaign(team, campaignId)
    full = compute_stats(team, campaignId, None, None)
    return {
        "nbLeads": full["nbLeads"],
        "nbLeadsLaunched": full["nbLeadsLaunched"],
        "nbLeadsReached": full["nbLeadsReached"],
        "emailsSent": full["messagesSent"],
        "emailsOpened": full["opened"],
        "emailsClicked": full["clicked"],
        "emailsReplied": full["replied"],
        "emailsBounced": full["messagesBounced"],
        "emailsUnsubscribed": full["nbLeadsUnsubscribed"],
        "interested": full["nbLeadsInterested"],
        "notInterested": full["nbLeadsNotInterested"],
    }


@router.get("/v2/campaigns/{campaignId}/stats")
async def stats_v2(campaignId: str, request: Request, team: TeamDep) -> dict:
    start = _iso(request.query_params.get("startDate"), "startDate")
    end = _iso(request.query_params.get("endDate"), "endDate")
    get_campaign(team, campaignId)
    return compute_stats(team, campaignId, start, end)


@router.post("/v2/campaigns/stats/batch")
async def stats_batch(request: Request, team: TeamDep) -> dict:
    body = await json_body(request)
    ids = id_list(body, "campaignIds", BATCH_LIMIT)
    start = _iso(body.get("startDate"), "startDate")
    end = _iso(body.get("endDate"), "endDate")
    results, errors = [], []
    for campaign_id in ids:
        if isinstance(campaign_id, str) and campaign_id in team.campaigns:
            results.append({"campaignId": campaign_id, **compute_stats(team, campaign_id, start, end)})
        else:
            errors.append({"campaignId": str(campaign_id), "error": "Campaign not found"})
    return {"results": results, "errors": errors}
