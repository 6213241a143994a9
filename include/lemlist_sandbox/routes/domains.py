"""Custom tracking domains: ``GET /domains/redirect`` (not in the OAS; shape chosen by the sandbox)."""

from __future__ import annotations

from ..deps import TeamDep
from ..errors import LemlistError
from .common import api_router

router = api_router()


@router.get("/domains/redirect")
async def domain_redirect(team: TeamDep, domain: str | None = None) -> dict:
    """Whether a tracking domain redirects to lemlist's tracker. Without ``domain``, the team's own one."""
    tracking = team.info.get("customDomain", "track.sandbox.lemlist.test")
    target = (domain or tracking).strip().lower()
    if not target or "." not in target or "/" in target:
        raise LemlistError(400, "Invalid domain")
    ok = target == tracking or target.endswith(".lemlist.test")
    return {
        "domain": target,
        "redirect": ok,
        "target": "custom.lemlist.com" if ok else None,
        "status": "valid" if ok else "missing_cname",
    }
