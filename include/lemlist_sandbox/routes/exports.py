"""Campaign exports: the asynchronous start → status → download flow, and the synchronous CSV/JSON routes.

An async export snapshots the campaign's leads when it starts. It is ``pending`` (progress growing) for
``scaled(export_delay)``, then ``done`` with a ``url`` outside ``/api`` (``/_sandbox/downloads/...``, no
auth, no rate limit, like an S3 link) whose body is streamed with ``Content-Length == fileSize``. Its
status answers 404 after ``scaled(export_expiry)``; its link stops working after ``scaled(download_expiry)``.

Synthetic leads (control route) are generated row by row while streaming; every synthetic row has the
same width, so the file size is known exactly without building the file.
"""

from __future__ import annotations

import csv
import io
import secrets
import time
from collections.abc import Iterator
from typing import Any

from fastapi import Request
from fastapi.responses import Response, StreamingResponse

from ..deps import SandboxDep, TeamDep
from ..errors import LemlistError
from ..state import Team, now_iso
from .common import api_router, clean, get_campaign

router = api_router()

COLUMNS = (
    "_id",
    "email",
    "firstName",
    "lastName",
    "companyName",
    "jobTitle",
    "phone",
    "linkedinUrl",
    "state",
    "createdAt",
)
SYNTHETIC_CREATED = "2024-01-01T00:00:00.000Z"
CHUNK_ROWS = 2000
_EMAIL_STATUSES = {"deliverable", "risky", "undeliverable"}


# -- CSV building ------------------------------------------------------------------------------------------
def csv_bytes(leads: list[dict]) -> bytes:
    """Header plus the real leads, small enough to hold (the synthetic part is streamed)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for lead in leads:
        writer.writerow(["" if lead.get(c) is None else str(lead.get(c)) for c in COLUMNS])
    return buffer.getvalue().encode("utf-8")


def synthetic_row(i: int) -> bytes:
    """Row ``i`` of a campaign's synthetic leads: fixed width, no quoting, deterministic."""
    return (
        f"lea_syn{i:013d},lead{i:010d}@synthetic.example,First{i:010d},Last{i:010d},Synthetic Co {i % 1000:03d},"
        f"Engineer,+3360{i % 10**7:07d},https://www.linkedin.com/in/synthetic-{i:010d},scanned,{SYNTHETIC_CREATED}\n"
    ).encode()


SYNTHETIC_ROW_BYTES = len(synthetic_row(0))


def stream_chunks(head: bytes, synthetic: int) -> Iterator[bytes]:
    yield head
    for start in range(0, synthetic, CHUNK_ROWS):
        yield b"".join(synthetic_row(i) for i in range(start, min(start + CHUNK_ROWS, synthetic)))


def synthetic_count(team: Team, campaign_id: str) -> int:
    return int(team.extra.get("synthetic_leads", {}).get(campaign_id, 0))


def _filtered(team: Team, campaign_id: str, state: str | None) -> list[dict]:
    return [
        lead
        for lead in team.leads_in_campaign(campaign_id)
        if not state or state == "all" or lead.get("state") == state
    ]


def _csv_response(head: bytes, synthetic: int, filename: str) -> StreamingResponse:
    size = len(head) + synthetic * SYNTHETIC_ROW_BYTES
    return StreamingResponse(
        stream_chunks(head, synthetic),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Length": str(size), "Content-Disposition": f'attachment; filename="{filename}"'},
    )


# -- async export ----------------------------------------------------------------------------------------
def _downloads(sandbox) -> dict[str, tuple[str, str]]:
    """token -> (team api key, export id); kept on the world so a reset forgets it."""
    world = sandbox.world
    if not hasattr(world, "downloads"):
        world.downloads = {}
    return world.downloads


def export_status(sandbox, record: dict, base_url: str) -> dict:
    """The export's status now (pending → done), computed from the clock."""
    now = time.time()
    view = {k: v for k, v in record.items() if not k.startswith("__")}
    if record.get("__error"):
        view.update(status="error", error=record["__error"], endedAt=record.get("endedAt") or now_iso())
        record.setdefault("endedAt", view["endedAt"])
        return view
    if now >= record["__done_at"]:
        if "endedAt" not in record:
            record["endedAt"] = now_iso()
        view.update(
            status="done",
            progress=record["total"],
            progressIndex=record["total"],
            endedAt=record["endedAt"],
            fileSize=record["__size"],
            url=f"{base_url.rstrip('/')}/_sandbox/downloads/{record['__token']}.csv",
        )
        return view
    delay = max(record["__done_at"] - record["__started"], 1e-9)
    progress = int(record["total"] * min(1.0, (now - record["__started"]) / delay))
    view.update(
        status="pending",
        progress=progress,
        progressIndex=progress,
        progressTime=int((now - record["__started"]) * 1000),
    )
    return view


def _get_export(team: Team, campaign_id: str, export_id: str) -> dict:
    record = team.exports.get(export_id)
    if (
        record is None
        or record["campaignId"] != campaign_id
        or record.get("__expired")
        or time.time() >= record["__expires_at"]
    ):
        raise LemlistError(404, "Export not found")
    return record


@router.get("/campaigns/{campaignId}/export/start")
async def start_export(campaignId: str, team: TeamDep, sandbox: SandboxDep) -> dict:
    campaign = get_campaign(team, campaignId)
    leads = team.leads_in_campaign(campaignId)
    synthetic = synthetic_count(team, campaignId)
    head = csv_bytes(leads)
    now = time.time()
    cfg = sandbox.config
    export_id = sandbox.world.ids.new("axp")
    token = secrets.token_urlsafe(24)
    record = {
        "_id": export_id,
        "id": export_id,
        "teamId": team.id,
        "campaignId": campaignId,
        "campaignName": campaign["name"],
        "status": "pending",
        "startedAt": now_iso(),
        "progressIndex": 0,
        "progressTime": 0,
        "progressLastStepDuration": 0,
        "progressType": "leads",
        "progress": 0,
        "total": len(leads) + synthetic,
        "__started": now,
        "__done_at": now + cfg.scaled(cfg.export_delay),
        "__expires_at": now + cfg.scaled(cfg.export_expiry),
        "__link_expires_at": now + cfg.scaled(cfg.export_delay) + cfg.scaled(cfg.download_expiry),
        "__head": head,
        "__synthetic": synthetic,
        "__size": len(head) + synthetic * SYNTHETIC_ROW_BYTES,
        "__token": token,
    }
    team.exports[export_id] = record
    _downloads(sandbox)[token] = (team.api_key, export_id)
    return {k: v for k, v in record.items() if not k.startswith("__")}


@router.get("/campaigns/{campaignId}/export/{exportId}/status")
async def get_export_status(
    campaignId: str, exportId: str, request: Request, team: TeamDep, sandbox: SandboxDep
) -> dict:
    record = _get_export(team, campaignId, exportId)
    return {"ok": True, "status": export_status(sandbox, record, str(request.base_url))}


@router.put("/campaigns/{campaignId}/export/{exportId}/email/{email}")
async def export_email(
    campaignId: str, exportId: str, email: str, request: Request, team: TeamDep, sandbox: SandboxDep
) -> dict:
    record = _get_export(team, campaignId, exportId)
    if "@" not in email:
        raise LemlistError(400, "Invalid email")
    record["email"] = email.lower()
    return {"ok": True, "status": export_status(sandbox, record, str(request.base_url))}


def download_response(sandbox, token: str) -> Response:
    """The body behind an export's ``url`` (mounted by ``control.py`` outside ``/api``)."""
    entry = _downloads(sandbox).get(token)
    team = sandbox.world.team_for_key(entry[0]) if entry else None
    record = team.exports.get(entry[1]) if team else None
    if record is None or record.get("__error") or time.time() < record["__done_at"]:
        return Response(
            "<Error><Code>NoSuchKey</Code></Error>", status_code=404, media_type="application/xml"
        )
    if time.time() >= record["__link_expires_at"]:
        return Response(
            "<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>",
            status_code=403,
            media_type="application/xml",
        )
    return _csv_response(
        record["__head"], record["__synthetic"], f"{record['campaignName']}.csv".replace('"', "")
    )


# -- synchronous exports -----------------------------------------------------------------------------------
@router.get("/campaigns/{campaignId}/export")
async def export_sync(campaignId: str, team: TeamDep) -> Response:
    get_campaign(team, campaignId)
    return _csv_response(
        csv_bytes(team.leads_in_campaign(campaignId)), synthetic_count(team, campaignId), f"{campaignId}.csv"
    )


@router.get("/campaigns/{campaignId}/export/leads")
async def export_leads(campaignId: str, request: Request, team: TeamDep) -> Any:
    """``format=csv`` (default) streams synthetic leads too; ``format=json`` lists the real leads only."""
    get_campaign(team, campaignId)
    state = request.query_params.get("state", "all")
    fmt = request.query_params.get("format", "csv")
    if fmt not in ("csv", "json"):
        raise LemlistError(400, "format must be csv or json")
    leads = _filtered(team, campaignId, state)
    if fmt == "json":
        out = []
        for lead in leads:
            item = {k: v for k, v in clean(lead).items() if isinstance(v, str)}
            if item.get("emailStatus") not in _EMAIL_STATUSES:
                item.pop("emailStatus", None)
            item["lastState"] = lead.get("state", "scanned")
            item["status"] = lead.get("interest", "active")
            out.append(item)
        return out
    synthetic = synthetic_count(team, campaignId) if state in ("all", "scanned") else 0
    return _csv_response(csv_bytes(leads), synthetic, f"{campaignId}-leads.csv")


@router.get("/campaigns/{campaignId}/export/list")
async def export_list(campaignId: str, team: TeamDep) -> Response:
    get_campaign(team, campaignId)
    return _csv_response(
        csv_bytes(team.leads_in_campaign(campaignId)),
        synthetic_count(team, campaignId),
        f"{campaignId}-list.csv",
    )
