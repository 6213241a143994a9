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
        elif name in ("time_scale", "enrichment_delay", "export_delay", "export_expiry"):
            setattr(cfg, name, float(value))
        else:
            raise HTTPException(status_code=400, detail=f"unknown setting {name!r}")
    if "rate_limit" in body or "rate_window" in body:
        sandbox.set_rate_limit(int(body.get("rate_limit", cfg.rate_limit)), float(body.get("rate_window", cfg.rate_window)))
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
    team = sandbox.world.add_team(body.get("name", "Test team"), body["api_key"], int(body.get("credits", 1000)))
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
