"""Control routes for tests and benchmarks, outside ``/api`` and behind their own token."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Header, HTTPException, Request

from .seed import seed_team

router = APIRouter(prefix="/_sandbox")


def _check_token(request: Request, x_sandbox_token: str | None) -> Any:
    sandbox = request.app.state.sandbox
    if x_sandbox_token != sandbox.config.control_token:
        raise HTTPException(status_code=403, detail="sandbox control token required (X-Sandbox-Token)")
    return sandbox


@router.get("/health")
async def health() -> dict:
    return {"ok": True}


@router.get("/stats")
async def stats(request: Request, x_sandbox_token: str | None = Header(None)) -> dict:
    sandbox = _check_token(request, x_sandbox_token)
    return sandbox.world.stats.to_dict()


@router.post("/reset")
async def reset(request: Request, x_sandbox_token: str | None = Header(None)) -> dict:
    """Body ``{"data": false}`` keeps the teams' data and only clears counters and budgets."""
    sandbox = _check_token(request, x_sandbox_token)
    body = await request.json() if await request.body() else {}
    sandbox.reset(data=bool(body.get("data", True)))
    return {"ok": True}


@router.get("/config")
async def get_config(request: Request, x_sandbox_token: str | None = Header(None)) -> dict:
    sandbox = _check_token(request, x_sandbox_token)
    cfg = sandbox.config
    return {
        "rate_limit": cfg.rate_limit,
        "rate_window": cfg.rate_window,
        "time_scale": cfg.time_scale,
        "enrichment_delay": cfg.enrichment_delay,
        "export_delay": cfg.export_delay,
        "export_expiry": cfg.export_expiry,
        "download_expiry": cfg.download_expiry,
        "faults": cfg.faults.to_dict(),
    }


@router.post("/faults")
async def set_faults(request: Request, x_sandbox_token: str | None = Header(None)) -> dict:
    """Change faults and timing at runtime. Keys: any ``Faults`` field, plus ``rate_limit``,
    ``rate_window``, ``time_scale``, ``enrichment_delay``, ``export_delay``, ``export_expiry``."""
    sandbox = _check_token(request, x_sandbox_token)
    body: dict = await request.json()
    cfg = sandbox.config
    for name, value in body.items():
        if name in ("rate_limit", "rate_window"):
            continue
        if hasattr(cfg.faults, name):
            setattr(cfg.faults, name, value)
        elif name in ("time_scale", "enrichment_delay", "export_delay", "export_expiry", "download_expiry"):
            setattr(cfg, name, float(value))
        else:
            raise HTTPException(status_code=400, detail=f"unknown setting {name!r}")
    if "rate_limit" in body or "rate_window" in body:
        sandbox.set_rate_limit(
            int(body.get("rate_limit", cfg.rate_limit)), float(body.get("rate_window", cfg.rate_window))
        )
    return await get_config(request, x_sandbox_token)


@router.post("/teams")
async def create_team(request: Request, x_sandbox_token: str | None = Header(None)) -> dict:
    """Create an isolated team: ``{"api_key": ..., "name": ..., "credits": 1000, "seed": "empty"|"demo"}``."""
    sandbox = _check_token(request, x_sandbox_token)
    body: dict = await request.json()
    if not body.get("api_key"):
        raise HTTPException(status_code=400, detail="api_key is required")
    if sandbox.world.team_for_key(body["api_key"]) is not None:
        raise HTTPException(status_code=409, detail="a team already uses that key")
    team = sandbox.world.add_team(
        body.get("name", "Test team"), body["api_key"], int(body.get("credits", 1000))
    )
    seed_team(sandbox.world, team, body.get("seed", "empty"))
    return {"team_id": team.id, "user_id": team.user_id, "credits": team.credits}


@router.post("/teams/{team_id}/credits")
async def set_credits(team_id: str, request: Request, x_sandbox_token: str | None = Header(None)) -> dict:
    sandbox = _check_token(request, x_sandbox_token)
    body: dict = await request.json()
    for team in sandbox.world.teams_by_key.values():
        if team.id == team_id:
            team.credits = int(body["credits"])
            return {"team_id": team.id, "credits": team.credits}
    raise HTTPException(status_code=404, detail="no such team")


def _team_by_id(sandbox: Any, team_id: str) -> Any:
    for team in sandbox.world.teams_by_key.values():
        if team.id == team_id:
            return team
    raise HTTPException(status_code=404, detail="no such team")


TEAM_FLAGS = ("blocked", "plan_gated", "reject_v2_unsubscribes", "campaigns_object_shape")


@router.post("/teams/{team_id}/flags")
async def set_team_flags(team_id: str, request: Request, x_sandbox_token: str | None = Header(None)) -> dict:
    """Merge flags: ``blocked`` (every /api call → 403), ``plan_gated`` (CSV import and v2 unsubscribes →
    402), ``reject_v2_unsubscribes`` (v2 unsubscribes → 402), ``campaigns_object_shape``."""
    sandbox = _check_token(request, x_sandbox_token)
    team = _team_by_id(sandbox, team_id)
    body: dict = await request.json()
    unknown = [k for k in body if k not in TEAM_FLAGS]
    if unknown:
        raise HTTPException(status_code=400, detail=f"unknown flag(s) {unknown}; known: {list(TEAM_FLAGS)}")
    flags = team.extra.setdefault("flags", {})
    flags.update({k: bool(v) for k, v in body.items()})
    return {"team_id": team.id, "flags": dict(flags)}


def _export_record(sandbox: Any, team_id: str, export_id: str) -> dict:
    record = _team_by_id(sandbox, team_id).exports.get(export_id)
    if record is None:
        raise HTTPException(status_code=404, detail="no such export")
    return record


@router.post("/teams/{team_id}/exports/{export_id}/fail")
async def fail_export(
    team_id: str, export_id: str, request: Request, x_sandbox_token: str | None = Header(None)
) -> dict:
    """Force an async export to ``error``: body ``{"reason": "..."}``."""
    record = _export_record(_check_token(request, x_sandbox_token), team_id, export_id)
    body = await request.json() if await request.body() else {}
    record["__error"] = str(body.get("reason") or "Export failed")
    return {"ok": True, "export_id": export_id, "error": record["__error"]}


@router.post("/teams/{team_id}/exports/{export_id}/expire")
async def expire_export(
    team_id: str, export_id: str, request: Request, x_sandbox_token: str | None = Header(None)
) -> dict:
    """Make an export's status answer 404 now, as after lemlist's 2 hours."""
    record = _export_record(_check_token(request, x_sandbox_token), team_id, export_id)
    record["__expired"] = True
    return {"ok": True, "export_id": export_id}


@router.post("/teams/{team_id}/campaigns/{campaign_id}/synthetic-leads")
async def synthetic_leads(
    team_id: str, campaign_id: str, request: Request, x_sandbox_token: str | None = Header(None)
) -> dict:
    """Give a campaign ``{"count": N}`` synthetic leads, generated only while exports stream them."""
    from .routes.exports import SYNTHETIC_ROW_BYTES

    sandbox = _check_token(request, x_sandbox_token)
    team = _team_by_id(sandbox, team_id)
    if campaign_id not in team.campaigns:
        raise HTTPException(status_code=404, detail="no such campaign")
    body: dict = await request.json()
    count = int(body.get("count", 0))
    if count < 0:
        raise HTTPException(status_code=400, detail="count must be >= 0")
    team.extra.setdefault("synthetic_leads", {})[campaign_id] = count
    return {"ok": True, "campaign_id": campaign_id, "count": count, "row_bytes": SYNTHETIC_ROW_BYTES}


@router.get("/downloads/{token}.csv")
async def download(token: str, request: Request):
    """An export's file: no auth, no rate limit, streamed (it stands in for lemlist's S3 link)."""
    from .routes.exports import download_response

    return download_response(request.app.state.sandbox, token)
