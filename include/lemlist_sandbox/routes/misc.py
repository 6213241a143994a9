"""Routes of the OAS outside the main groups: signals, fields, campaign duplicate/statutes, lead review."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta

from fastapi import Request

from ..deps import SandboxDep, TeamDep, json_object
from ..errors import LemlistError
from ..state import Team, now_iso
from .common import api_router, get_campaign, page_of, require

router = api_router()


# -- signals -----------------------------------------------------------------------------------------

_SIGNAL_TYPES = ["companyIsHiring", "companyRaisedFunds", "jobChange", "newHire"]
_SIGNAL_STATUSES = ("new", "old", "handled", "ignored")


def _signals(team: Team, sandbox) -> list[dict]:
    """A few signals per team, created on first read: the watch-list agent has no public write route."""
    signals = team.extra.get("signals")
    if signals is None:
        watch_list = sandbox.world.ids.new("wtl")
        base = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
        signals = []
        for i, kind in enumerate(_SIGNAL_TYPES * 2):
            received = (base + timedelta(days=i)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
            signals.append(
                {
                    "_id": sandbox.world.ids.new("sig"),
                    "teamId": team.id,
                    "watchListId": watch_list,
                    "watchListName": "Target accounts",
                    "type": kind,
                    "status": "new" if i < 4 else "old",
                    "receivedAt": received,
                    "createdAt": received,
                    "company": {
                        "_id": f"cpn_signal{i}",
                        "name": f"Signal Co {i}",
                        "domain": f"signal{i}.example",
                    },
                    "signalData": {"jobTitle": "Head of Sales", "jobLocation": "Paris"}
                    if kind == "companyIsHiring"
                    else {},
                }
            )
        team.extra["signals"] = signals
    return signals


@router.get("/watchlist/signals")
async def watchlist_signals(team: TeamDep, sandbox: SandboxDep, request: Request):
    q = request.query_params
    page = page_of(q, limit=20)
    sort_by, order = q.get("sortBy", "receivedAt"), q.get("sortOrder", "desc")
    if sort_by not in ("receivedAt", "createdAt") or order not in ("asc", "desc"):
        raise LemlistError(400, "Invalid sortBy or sortOrder")
    types = [v for raw in q.getlist("type") for v in raw.split(",") if v]
    statuses = [v for raw in q.getlist("status") for v in raw.split(",") if v]
    if any(s not in _SIGNAL_STATUSES for s in statuses):
        raise LemlistError(400, "Invalid status")
    signals = _signals(team, sandbox)
    if q.get("watchListId"):
        signals = [s for s in signals if s["watchListId"] == q["watchListId"]]
        if not signals:
            raise LemlistError(404, "Watch list not found")
    signals = [
        s for s in signals if (not types or s["type"] in types) and (not statuses or s["status"] in statuses)
    ]
    if q.get("receivedAtFrom"):
        signals = [s for s in signals if s["receivedAt"] >= q["receivedAtFrom"]]
    if q.get("receivedAtTo"):
        signals = [s for s in signals if s["receivedAt"] <= q["receivedAtTo"]]
    signals = sorted(signals, key=lambda s: s[sort_by], reverse=order == "desc")
    return {
        "signals": page.of(signals),
        "total": len(signals),
        "page": page.number,
        "offset": page.offset,
        "limit": page.limit,
    }


# -- fields ------------------------------------------------------------------------------------------

# entity -> "name:Label:type" of each default field
_DEFAULT_FIELDS = {
    "contact": "firstName:First name:text, lastName:Last name:text, email:Email:text, phone:Phone:phone, "
    "jobTitle:Job title:text, linkedinUrl:LinkedIn URL:text, timezone:Timezone:text",
    "company": "name:Name:text, domain:Domain:text, industry:Industry:text, size:Size:text, "
    "foundedOn:Founded on:date",
}


@router.get("/fields")
async def list_fields(team: TeamDep, entity: str | None = None, source: str | None = None):
    if entity not in (None, "contact", "company"):
        raise LemlistError(400, "entity must be contact or company")
    if source not in (None, "default", "custom", "crm_synced"):
        raise LemlistError(400, "source must be default, custom or crm_synced")
    data: dict[str, list[dict]] = {}
    for kind, table in _DEFAULT_FIELDS.items():
        defaults = [spec.split(":") for spec in table.split(", ")]
        if entity and kind != entity:
            continue
        fields = [{"name": n, "label": label, "type": t, "source": "default"} for n, label, t in defaults]
        known = {f["name"] for f in fields}
        records = team.contacts.values() if kind == "contact" else team.companies.values()
        for record in records:
            for name, value in record.get("fields", {}).items():
                if name in known:
                    continue
                known.add(name)
                kind_of = (
                    "boolean"
                    if isinstance(value, bool)
                    else "number"
                    if isinstance(value, int | float)
                    else "text"
                )
                fields.append({"name": name, "label": name, "type": kind_of, "source": "custom"})
        data[kind] = [f for f in fields if source is None or f["source"] == source]
    return {"success": True, "data": data}


# -- campaigns: duplicate and statutes ---------------------------------------------------------------


@router.post("/campaigns/{campaignId}/duplicate")
async def duplicate_campaign(
    team: TeamDep,
    sandbox: SandboxDep,
    campaignId: str,  # noqa: N803
    request: Request,
) -> dict:
    source = get_campaign(team, campaignId)
    body = await json_object(request, allow_empty=True)
    if "name" in body and not isinstance(body["name"], str):
        raise LemlistError(400, "name must be a string")
    ids = sandbox.world.ids
    campaign = copy.deepcopy(source)
    campaign.update(
        _id=ids.new("cam"),
        name=body.get("name") or f"{source.get('name', 'Campaign')} (copy)",
        status="draft",
        createdAt=now_iso(),
        createdBy=team.user_id,
        archived=False,
        hasError=False,
        errors=[],
    )
    old_sequence = team.sequences.get(source.get("sequenceId"))
    if old_sequence is not None:
        sequence = copy.deepcopy(old_sequence)
        sequence.update(_id=ids.new("seq"), campaignId=campaign["_id"], createdAt=campaign["createdAt"])
        for step in sequence.get("steps", []):
            step.update(_id=ids.new("stp"), sequenceId=sequence["_id"])
        team.sequences[sequence["_id"]] = sequence
        campaign["sequenceId"] = sequence["_id"]
    team.campaigns[campaign["_id"]] = campaign
    out = {
        k: campaign[k]
        for k in ("_id", "name", "sequenceId", "archived", "createdAt", "createdBy", "status", "hasError")
        if campaign.get(k) is not None
    }
    out["labels"] = [str(label) for label in campaign.get("labels", [])]
    out["senders"] = list(campaign.get("senders", []))
    out["errors"] = [str(e) for e in campaign.get("errors", [])]
    return out


@router.get("/campaigns/{campaignId}/statutes")
async def campaign_statutes(team: TeamDep, campaignId: str) -> dict:  # noqa: N803
    campaign = get_campaign(team, campaignId)
    statutes = []
    if not team.leads_in_campaign(campaignId):
        statutes.append(
            {"type": "issue", "level": 2, "message": "The campaign has no leads", "category": "leads"}
        )
    sequence = team.sequences.get(campaign.get("sequenceId"), {})
    if not sequence.get("steps"):
        statutes.append(
            {"type": "issue", "level": 3, "message": "The sequence has no steps", "category": "sequence"}
        )
    if not campaign.get("scheduleIds"):
        statutes.append(
            {
                "type": "information",
                "level": 1,
                "message": "The default schedule is used",
                "category": "schedule",
            }
        )
    for error in campaign.get("errors", []):
        statutes.append({"type": "issue", "level": 3, "message": str(error), "category": "errors"})
    if campaign.get("status") == "paused":
        statutes.append(
            {"type": "information", "level": 1, "message": "The campaign is paused", "category": "status"}
        )
    return {"name": campaign.get("name", ""), "status": campaign.get("status", "draft"), "statutes": statutes}


# -- lead review -------------------------------------------------------------------------------------


@router.post("/leads/review/{leadId}")
async def review_lead(team: TeamDep, leadId: str) -> dict:  # noqa: N803
    if not leadId.startswith("lea_"):
        raise LemlistError(400, "Invalid leadId", code="INVALID_LEAD_ID")
    lead = require(team.leads.get(leadId), "Lead")
    lead["reviewed"] = True
    lead["reviewedAt"] = now_iso()
    if lead.get("state") in ("review", "toReview", "needsReview"):
        lead["state"] = "scanned"
    return {"ok": True}
