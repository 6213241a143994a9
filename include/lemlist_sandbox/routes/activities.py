"""Activities (``version=v2`` required): filters, offset/limit ≤ 100, ``minDate``/``maxDate`` as ISO 8601 or
Unix seconds (what incremental syncs use); and the recording/transcript deletion."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Depends, Request

from ..deps import current_team
from ..errors import LemlistError
from ..state import Team
from .campaigns import bool_param, clean, int_param

router = APIRouter()


def parse_date(value: str, name: str) -> str:
    """ISO 8601 or Unix seconds → the ISO string activities are stored with (comparable as text)."""
    try:
        if value.replace(".", "", 1).isdigit():
            moment = datetime.fromtimestamp(float(value), UTC)
        else:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
    except (ValueError, OverflowError):
        raise LemlistError(400, f"{name} must be an ISO 8601 date or Unix seconds") from None
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@router.get("/activities")
async def list_activities(request: Request, team: Team = Depends(current_team)) -> list[dict]:
    q = request.query_params
    if q.get("version") != "v2":
        raise LemlistError(400, "version=v2 is required on this route")
    offset = int_param(q.get("offset"), "offset", 0)
    limit = int_param(q.get("limit"), "limit", 100, low=1, high=100)
    low = q.get("minDate") or q.get("startDate")
    high = q.get("maxDate") or q.get("endDate")
    low = parse_date(low, "minDate") if low else None
    high = parse_date(high, "maxDate") if high else None
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
    return [clean(a) for a in items[offset : offset + limit]]


@router.delete("/activities/{activityId}/recording-transcript")
async def delete_recording(activityId: str, team: Team = Depends(current_team)) -> dict:
    for activity in team.activities:
        if activity.get("_id") == activityId:
            activity.pop("recordingUrl", None)
            activity.pop("transcript", None)
            return {"ok": True}
    raise LemlistError(404, "Activity not found")
