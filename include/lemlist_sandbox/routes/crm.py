"""CRM filters: the saved views of a connected CRM, used by the CRM lead import."""

from __future__ import annotations

from ..deps import TeamDep
from ..errors import LemlistError
from .common import api_router
from .users import find_user

router = api_router()

CRMS = ("hubspot", "salesforce", "pipedrive")
_KINDS = ("lead", "contact", "report")


@router.get("/crm/filters")
async def crm_filters(
    team: TeamDep,
    crm: str | None = None,
    userId: str | None = None,  # noqa: N803
    type: str | None = None,  # noqa: A002
) -> list[dict]:
    if not crm or not userId:
        raise LemlistError(400, "crm and userId are required")
    if crm not in CRMS:
        raise LemlistError(400, f"Unknown crm, must be one of {', '.join(CRMS)}")
    if type is not None and type not in _KINDS:
        raise LemlistError(400, "type must be lead, contact or report")
    if find_user(team, userId) is None:
        raise LemlistError(400, "Invalid userId")
    filters = [
        {"_id": f"{crm}_flt_{kind}_{i}", "name": name, "type": kind, "criteria": {"crm": crm, "view": name}}
        for kind in _KINDS
        for i, name in enumerate((f"All {kind}s", f"My {kind}s"))
    ]
    return [f for f in filters if type is None or f["type"] == type]
