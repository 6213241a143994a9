"""Control routes for tests and benchmarks, outside ``/api`` and behind their own token.

Every body is checked before anything changes: a wrong value is a 400 naming it, never a setting that
breaks the requests after it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Request

from .config import RATE_FIELDS, checked_settings
from .delivery import ATTEMPT_LOG
from .deps import json_body
from .events import activity, emit
from .history import add_history
from .routes.exports import SYNTHETIC_ROW_BYTES, download_response
from .routes.webhooks import EVENTS
from .sandbox import Sandbox
from .seed import DEMO_KEY, seed_team
from .state import Team

router = APIRouter(prefix="/_sandbox")

TEAM_FLAGS = ("blocked", "plan_gated", "reject_v2_unsubscribes", "campaigns_object_shape")


def controlled_sandbox(request: Request, x_sandbox_token: str | None = Header(None)) -> Sandbox:
    sandbox = request.app.state.sandbox
    if x_sandbox_token != sandbox.config.control_token:
        raise HTTPException(status_code=403, detail="sandbox control token required (X-Sandbox-Token)")
    return sandbox


Controlled = Annotated[Sandbox, Depends(controlled_sandbox)]


def _refused(message: str) -> HTTPException:
    return HTTPException(status_code=400, detail=message)


async def _body(request: Request) -> dict:
    body = await json_body(request, error=_refused)
    if not isinstance(body, dict):
        raise _refused("Body must be a JSON object")
    return body


def _count(body: dict, name: str, default: int) -> int:
    value = body.get(name, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise _refused(f"{name} must be a whole number >= 0")
    return value


def _team_by_id(sandbox: Sandbox, team_id: str) -> Team:
    for team in sandbox.world.teams_by_key.values():
        if team.id == team_id:
            return team
    raise HTTPException(status_code=404, detail="no such team")


def _team_view(team: Team) -> dict:
    return {
        "team_id": team.id,
        "user_id": team.user_id,
        "credits": team.credits,
        "flags": dict(team.extra.get("flags", {})),
    }


@router.get("/health")
async def health() -> dict:
    return {"ok": True}


@router.get("/stats")
async def stats(sandbox: Controlled) -> dict:
    return sandbox.world.stats.to_dict()


@router.get("/requests")
async def request_log(sandbox: Controlled, team_id: str | None = None, since: float = 0.0) -> dict:
    """Each answered ``/api`` request of a known key, oldest first: ``{"t": unix time of the answer,
    "team_id", "route": "METHOD /api/template", "status"}`` (``?team_id=``, ``?since=`` filter), and
    ``dropped``: how many older ones the bounded log (``REQUEST_LOG_SIZE``) no longer holds."""
    return sandbox.world.stats.requests(team_id, since)


@router.post("/reset")
async def reset(request: Request, sandbox: Controlled) -> dict:
    """Body ``{"data": false}`` keeps the teams' data and only clears counters and budgets."""
    body = await _body(request)
    sandbox.reset(data=bool(body.get("data", True)))
    return {"ok": True}


@router.get("/config")
async def get_config(sandbox: Controlled) -> dict:
    return sandbox.config.runtime_settings()


@router.post("/faults")
async def set_faults(request: Request, sandbox: Controlled) -> dict:
    """Change faults and timing at runtime: any ``Faults`` field and any key ``GET /config`` shows
    (``rate_limit``, ``rate_window``, ``rate_window_kind``, ``time_scale``, the delays, ...)."""
    try:
        settings = checked_settings(await _body(request))
    except ValueError as exc:
        raise _refused(str(exc)) from None
    cfg = sandbox.config
    for name, value in settings.items():
        if hasattr(cfg.faults, name):
            setattr(cfg.faults, name, value)
        elif name not in RATE_FIELDS:
            setattr(cfg, name, value)
    if RATE_FIELDS.keys() & settings.keys():
        sandbox.set_rate_limit(
            settings.get("rate_limit", cfg.rate_limit),
            settings.get("rate_window", cfg.rate_window),
            settings.get("rate_window_kind", cfg.rate_window_kind),
        )
    return cfg.runtime_settings()


@router.post("/teams")
async def create_team(request: Request, sandbox: Controlled) -> dict:
    """Create an isolated team: ``{"api_key": ..., "name": ..., "credits": 1000, "seed": "empty"|"demo"}``."""
    body = await _body(request)
    key, name, seed = body.get("api_key"), body.get("name", "Test team"), body.get("seed", "empty")
    if not isinstance(key, str) or not key:
        raise _refused("api_key is required")
    if not isinstance(name, str) or seed not in ("empty", "demo"):
        raise _refused("name must be a string and seed 'empty' or 'demo'")
    if sandbox.world.team_for_key(key) is not None:
        raise HTTPException(status_code=409, detail="a team already uses that key")
    team = sandbox.world.add_team(name, key, _count(body, "credits", 1000))
    seed_team(sandbox.world, team, seed)
    return _team_view(team)


@router.get("/teams")
async def find_team(api_key: str, sandbox: Controlled) -> dict:
    """The team behind a key (``?api_key=``): its ids, credits and flags."""
    team = sandbox.world.team_for_key(api_key)
    if team is None:
        raise HTTPException(status_code=404, detail="no team uses that key")
    return _team_view(team)


@router.post("/teams/{team_id}/credits")
async def set_credits(team_id: str, request: Request, sandbox: Controlled) -> dict:
    team = _team_by_id(sandbox, team_id)
    team.credits = _count(await _body(request), "credits", team.credits)
    return {"team_id": team.id, "credits": team.credits}


@router.post("/teams/{team_id}/flags")
async def set_team_flags(team_id: str, request: Request, sandbox: Controlled) -> dict:
    """Merge flags: ``blocked`` (every /api call → 403), ``plan_gated`` (CSV import and v2 unsubscribes →
    402), ``reject_v2_unsubscribes`` (v2 unsubscribes → 402), ``campaigns_object_shape``."""
    team = _team_by_id(sandbox, team_id)
    body = await _body(request)
    unknown = [k for k in body if k not in TEAM_FLAGS]
    if unknown:
        raise _refused(f"unknown flag(s) {unknown}; known: {list(TEAM_FLAGS)}")
    flags = team.extra.setdefault("flags", {})
    flags.update({k: bool(v) for k, v in body.items()})
    return {"team_id": team.id, "flags": dict(flags)}


def _export_record(sandbox: Sandbox, team_id: str, export_id: str) -> dict:
    record = _team_by_id(sandbox, team_id).exports.get(export_id)
    if record is None:
        raise HTTPException(status_code=404, detail="no such export")
    return record


@router.post("/teams/{team_id}/exports/{export_id}/fail")
async def fail_export(team_id: str, export_id: str, request: Request, sandbox: Controlled) -> dict:
    """Force an async export to ``error``: body ``{"reason": "..."}``."""
    record = _export_record(sandbox, team_id, export_id)
    record["__error"] = str((await _body(request)).get("reason") or "Export failed")
    return {"ok": True, "export_id": export_id, "error": record["__error"]}


@router.post("/teams/{team_id}/exports/{export_id}/expire")
async def expire_export(team_id: str, export_id: str, sandbox: Controlled) -> dict:
    """Make an export's status answer 404 now, as after lemlist's 2 hours."""
    _export_record(sandbox, team_id, export_id)["__expired"] = True
    return {"ok": True, "export_id": export_id}


@router.post("/teams/{team_id}/campaigns/{campaign_id}/synthetic-leads")
async def synthetic_leads(team_id: str, campaign_id: str, request: Request, sandbox: Controlled) -> dict:
    """Give a campaign ``{"count": N}`` synthetic leads, generated only while exports stream them."""
    team = _team_by_id(sandbox, team_id)
    if campaign_id not in team.campaigns:
        raise HTTPException(status_code=404, detail="no such campaign")
    count = _count(await _body(request), "count", 0)
    team.extra.setdefault("synthetic_leads", {})[campaign_id] = count
    return {"ok": True, "campaign_id": campaign_id, "count": count, "row_bytes": SYNTHETIC_ROW_BYTES}


@router.post("/teams/{team_id}/history")
async def history(team_id: str, request: Request, sandbox: Controlled) -> dict:
    """Realistic volumes (``history.py``): ``{"activities": N, "campaigns": 10, "leads_per_campaign": 200,
    "days": 30, "hours": 0 (a span in hours instead), "end": ISO 8601 (default now), "unsubscribes": 20, "seed": 0}``."""
    team = _team_by_id(sandbox, team_id)
    body = await _body(request)
    sizes = {
        "campaigns": 10,
        "leads_per_campaign": 200,
        "days": 30,
        "hours": 0,
        "unsubscribes": 20,
        "seed": 0,
    }
    options = {name: _count(body, name, default) for name, default in sizes.items()}
    end = body.get("end")
    try:
        moment = datetime.fromisoformat(end.replace("Z", "+00:00")) if isinstance(end, str) else None
        if end is not None and (moment is None or moment.tzinfo is None):
            raise ValueError(end)
        return add_history(
            sandbox.world, team, activities=_count(body, "activities", 0), end=moment, **options
        )
    except ValueError as exc:
        raise _refused(f"history: {exc}; end must be an ISO 8601 date with a time zone") from None


@router.get("/webhooks")
async def webhook_deliveries(sandbox: Controlled, attempts: int = 0) -> dict:
    """What the webhook sender did: counters (``in_flight`` 0 = nothing left to send or retry) and, with
    ``?attempts=N``, the last N attempts (event id, hook id, attempt number, status, times)."""
    return sandbox.sender.snapshot(attempts=min(max(attempts, 0), ATTEMPT_LOG))


@router.post("/webhooks/emit")
async def emit_event(request: Request, sandbox: Controlled) -> dict:
    """Emit a chosen event, as if it happened: ``{"type", "api_key"?, "lead_id"? | "email"?, "campaign_id"?,
    "fields"?: {...}, "count"?: 1}``. Each of ``count`` events is a new activity (its own ``_id``) sent to
    every hook of the team that wants it. Answers the events (without secrets) and the deliveries queued."""
    body = await _body(request)
    event_type, key = body.get("type"), body.get("api_key", DEMO_KEY)
    if event_type not in EVENTS:
        raise _refused("type must be one of lemlist's webhook event types")
    team = sandbox.world.team_for_key(key) if isinstance(key, str) else None
    if team is None:
        raise HTTPException(status_code=404, detail="no team uses that key")
    fields = body.get("fields", {})
    count = _count(body, "count", 1)
    if not isinstance(fields, dict) or not 1 <= count <= 1000:
        raise _refused("fields must be an object and count between 1 and 1000")
    lead = None
    for name in ("lead_id", "email"):
        if body.get(name) is not None:
            lead = team.find_lead(body.get("campaign_id"), str(body[name]))
    if lead is None and body.get("email") is not None:
        fields = {
            "email": str(body["email"]).strip().lower(),
            "campaignId": body.get("campaign_id"),
            **fields,
        }
    events, deliveries = [], 0
    for _ in range(count):
        event = activity(sandbox.world, team, event_type, lead=lead, **fields)
        deliveries += emit(sandbox.world, team, sandbox.sender, event)
        events.append(event)
    return {"events": events, "deliveries": deliveries}


@router.get("/downloads/{token}.csv")
async def download(token: str, request: Request) -> Any:
    """An export's file: no auth, no rate limit, streamed (it stands in for lemlist's S3 link)."""
    return download_response(request.app.state.sandbox, token)
