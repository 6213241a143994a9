"""Activities: filters, offset/limit ≤ 100, ``minDate``/``maxDate`` as ISO 8601 or Unix seconds (what
incremental syncs use); and the recording/transcript deletion.

With ``version=v2`` the items have the OAS ``Activity`` shape; without it (v1 clients, ``access_token``
auth) the v1 documentation's shape, which names the lead, the campaign and the sender.
"""

from __future__ import annotations

from collections.abc import Callable
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


def newest_first(team: Team) -> tuple[list[dict], list[str]]:
    """The team's activities newest first (ties in the order they were recorded) and their ``createdAt``.

    Kept in ``team.extra`` and rebuilt only when an activity was added, so a page of a 100,000-activity
    history costs a binary search and a slice, not a sort: the sandbox must answer paging at the key's
    full rate.
    """
    cached = team.extra.get("activities_newest_first")
    rows = team.activities
    if cached is None or cached[0] != len(rows) or (rows and cached[1] is not rows[-1]):
        ordered = sorted(rows, key=lambda a: a.get("createdAt", ""), reverse=True)
        cached = (len(rows), rows[-1] if rows else None, ordered, [a.get("createdAt", "") for a in ordered])
        team.extra["activities_newest_first"] = cached
    return cached[2], cached[3]


def _first(keys: list[str], past: Callable[[str], bool]) -> int:
    """The first index of the descending ``keys`` where ``past`` holds (it holds from there on)."""
    low, high = 0, len(keys)
    while low < high:
        middle = (low + high) // 2
        if past(keys[middle]):
            high = middle
        else:
            low = middle + 1
    return low


@router.get("/activities")
async def list_activities(request: Request, team: TeamDep) -> list[dict]:
    q = request.query_params
    page = page_of(q)
    low = q.get("minDate") or q.get("startDate")
    high = q.get("maxDate") or q.get("endDate")
    low = iso(parse_date(low, "minDate")) if low else None
    high = iso(parse_date(high, "maxDate")) if high else None
    types = set(q["type"].split(",")) if q.get("type") else None
    ordered, keys = newest_first(team)
    first = _first(keys, lambda created: created <= high) if high else 0
    last = _first(keys, lambda created: created < low) if low else len(keys)
    window = ordered[first:last]
    if types or q.get("campaignId") or q.get("leadId") or "isFirst" in q:
        is_first = bool_param(q["isFirst"]) if "isFirst" in q else None
        window = [
            activity
            for activity in window
            if (not types or activity.get("type") in types)
            and (not q.get("campaignId") or activity.get("campaignId") == q["campaignId"])
            and (not q.get("leadId") or activity.get("leadId") == q["leadId"])
            and (is_first is None or bool(activity.get("isFirst")) == is_first)
        ]
    if not is_v2(request):
        return [_v1_activity(team, a) for a in page.of(window)]
    return [clean(a) for a in page.of(window)]


@router.delete("/activities/{activityId}/recording-transcript")
async def delete_recording(activityId: str, team: TeamDep) -> dict:
    for activity in team.activities:
        if activity.get("_id") == activityId:
            activity.pop("recordingUrl", None)
            activity.pop("transcript", None)
            return {"ok": True}
    raise LemlistError(404, "Activity not found")
