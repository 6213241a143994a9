"""Activities: filters, offset/limit ≤ 100, ``minDate``/``maxDate`` as ISO 8601 or Unix seconds (what
incremental syncs use); and the recording/transcript deletion.

With ``version=v2`` the items have the OAS ``Activity`` shape; without it (v1 clients, ``access_token``
auth) the v1 documentation's shape, which names the lead, the campaign and the sender.
"""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import Request

from ..deps import TeamDep
from ..errors import LemlistError
from ..state import Team
from .common import api_router, bool_param, clean, is_v2, page_of
from .users import ensure_owner

router = api_router()


def parse_date(value: object, name: str) -> datetime:
    """ISO 8601 or Unix seconds (number or digits) → an aware datetime; anything else, or a date outside
    the calendar (a huge ``minDate``), is lemlist's 400."""
    try:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return datetime.fromtimestamp(float(value), UTC)
        if not isinstance(value, str):
            raise ValueError(value)
        if value.replace(".", "", 1).isdigit():
            return datetime.fromtimestamp(float(value), UTC)
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    except (ValueError, OverflowError, OSError):
        raise LemlistError(400, f"{name} must be an ISO 8601 date or Unix seconds") from None


def iso(moment: datetime) -> str:
    """The ISO string activities are stored with (comparable as text)."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _v1_activity(team: Team, activity: dict) -> dict:
    """An activity as lemlist's v1 documentation shows it: lead, campaign and sender named in place."""
    lead = team.leads.get(activity.get("leadId") or "", {})
    campaign = team.campaigns.get(activity.get("campaignId") or "", {})
    owner = ensure_owner(team)
    return clean(
        {
            **activity,
            "isFirst": bool(activity.get("isFirst", True)),
            "teamId": team.id,
            "sendUserId": owner["_id"],
            "sendUserEmail": owner["email"],
            "sendUserName": f"{owner['firstName']} {owner['lastName']}",
            "leadFirstName": lead.get("firstName"),
            "leadLastName": lead.get("lastName"),
            "leadEmail": lead.get("email"),
            "campaignName": campaign.get("name"),
        }
    )


@router.get("/activities")
async def list_activities(request: Request, team: TeamDep) -> list[dict]:
    q = request.query_params
    page = page_of(q)
    low = q.get("minDate") or q.get("startDate")
    high = q.get("maxDate") or q.get("endDate")
    low = iso(parse_date(low, "minDate")) if low else None
    high = iso(parse_date(high, "maxDate")) if high else None
    types = set(q["type"].split(",")) if q.get("type") else None
    items = []
    for activity in team.activities:
        if types and activity.get("type") not in types:
            continue
        if q.get("campaignId") and activity.get("campaignId") != q["campaignId"]:
            continue
        if q.get("leadId") and activity.get("leadId") != q["leadId"]:
            continue
        if "isFirst" in q and bool(activity.get("isFirst")) != bool_param(q["isFirst"]):
            continue
        created = activity.get("createdAt", "")
        if (low and created < low) or (high and created > high):
            continue
        items.append(activity)
    items.sort(key=lambda a: a.get("createdAt", ""), reverse=True)
    if not is_v2(request):
        return [_v1_activity(team, a) for a in page.of(items)]
    return [clean(a) for a in page.of(items)]


@router.delete("/activities/{activityId}/recording-transcript")
async def delete_recording(activityId: str, team: TeamDep) -> dict:
    for activity in team.activities:
        if activity.get("_id") == activityId:
            activity.pop("recordingUrl", None)
            activity.pop("transcript", None)
            return {"ok": True}
    raise LemlistError(404, "Activity not found")
