"""Enrichment: per lead, per person (query), in bulk (≤ 500), and the 202-then-200 result route.

Lifecycle: a request is charged ``config.enrichment_cost`` credits per requested type at once, stays
``pending`` (``GET /enrich/{id}`` answers 202 with an empty body) for ``scaled(enrichment_delay)``, then
ends ``done`` (200 with data), or ``failed`` (200, credits refunded). Deterministic outcomes for tests:
an input email, domain or URL containing ``enrich-fail`` fails; a name containing ``nobody`` is done but
``notFound``.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import time
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from ..deps import SandboxDep, TeamDep, json_body
from ..errors import LemlistError
from ..events import send_enrichment_events
from ..state import Team, now_iso
from .common import BODY_CHECKED_BY_ROUTE, api_router, bool_param

log = logging.getLogger(__name__)
router = api_router()

BULK_LIMIT = 500
KINDS = ("find_email", "find_phone", "verify", "linkedin_enrichment")
ENRICH_FLAGS = {  # query flag of the lead routes -> enrichment kind
    "findEmail": "find_email",
    "verifyEmail": "verify",
    "linkedinEnrichment": "linkedin_enrichment",
    "findPhone": "find_phone",
}
_INPUT_KEYS = ("email", "firstName", "lastName", "companyName", "companyDomain", "linkedinUrl", "jobTitle")


class NotEnoughCredits(LemlistError):
    def __init__(self, needed: int, available: int) -> None:
        super().__init__(402, f"Not enough credits: {needed} needed, {available} available")


def missing_inputs(kinds: list[str], data: dict) -> bool:
    """True when some requested enrichment has nothing to work from."""
    named = bool(
        data.get("firstName")
        and data.get("lastName")
        and (data.get("companyDomain") or data.get("companyName"))
    )
    for kind in kinds:
        if kind == "find_email" and not (data.get("linkedinUrl") or named):
            return True
        if kind == "verify" and not data.get("email"):
            return True
        if kind in ("find_phone", "linkedin_enrichment") and not (
            data.get("linkedinUrl") or data.get("email") or named
        ):
            return True
    return False


def _outcome(data: dict) -> str:
    probe = " ".join(str(data.get(k, "")) for k in ("email", "companyDomain", "linkedinUrl")).lower()
    if "enrich-fail" in probe:
        return "failed"
    if "nobody" in f"{data.get('firstName', '')} {data.get('lastName', '')}".lower():
        return "notFound"
    return "done"


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", text.lower()) or "company"


def _found_data(kinds: list[str], data: dict, not_found: bool) -> dict:
    """Plausible, deterministic results: same input, same answer."""
    first, last = _slug(data.get("firstName", "alex")), _slug(data.get("lastName", "doe"))
    domain = (data.get("companyDomain") or (_slug(data.get("companyName", "")) + ".com")).lower()
    email = (data.get("email") or f"{first}.{last}@{domain}").lower()
    digest = int(hashlib.sha256(email.encode()).hexdigest(), 16)
    phone = f"+33 6 {digest % 100:02d} {digest // 100 % 100:02d} {digest // 10**4 % 100:02d} {digest // 10**6 % 100:02d}"
    linkedin = data.get("linkedinUrl") or f"https://www.linkedin.com/in/{first}-{last}-{digest % 10**6:06d}"
    out: dict[str, Any] = {}
    for kind in kinds:
        if kind == "find_email":
            out["email"] = {"notFound": True} if not_found else {"email": email, "notFound": False}
        elif kind == "verify":
            out["verification"] = {
                "email": email,
                "status": "unknown" if not_found else "deliverable",
                "notFound": not_found,
            }
        elif kind == "find_phone":
            out["phone"] = {"notFound": True} if not_found else {"phone": phone, "notFound": False}
        elif kind == "linkedin_enrichment":
            out["linkedin"] = (
                {"notFound": True}
                if not_found
                else {
                    "linkedinUrl": linkedin,
                    "headline": data.get("jobTitle") or "Head of Growth",
                    "companyName": data.get("companyName") or domain.split(".")[0].title(),
                    "location": "Paris, France",
                    "notFound": False,
                }
            )
    return out


def start_enrichment(
    sandbox,
    team: Team,
    kinds: list[str],
    data: dict,
    *,
    lead: dict | None = None,
    metadata: Any = None,
    webhook_url: str | None = None,
) -> dict:
    """Charge the credits and register a pending enrichment that finishes after the scaled delay."""
    cost = len(kinds) * sandbox.config.enrichment_cost
    if team.credits < cost:
        raise NotEnoughCredits(cost, team.credits)
    team.credits -= cost
    delay = sandbox.config.scaled(sandbox.config.enrichment_delay)
    record = {
        "_id": sandbox.world.ids.new("enr"),
        "kinds": list(kinds),
        "input": {k: data[k] for k in _INPUT_KEYS if data.get(k)},
        "metadata": metadata,
        "webhookUrl": webhook_url,
        "leadId": lead["_id"] if lead else None,
        "cost": cost,
        "status": "pending",
        "outcome": _outcome(data),
        "createdAt": now_iso(),
        "ready_at": time.time() + delay,
    }
    team.enrichments[record["_id"]] = record
    if lead is not None:
        lead["__enriching"] = record["_id"]
    try:
        asyncio.get_running_loop().call_later(delay, finish_enrichment, team, record, sandbox)
    except RuntimeError:
        pass  # no loop (direct call): finished lazily on the next read
    return record


def finish_enrichment(team: Team, record: dict, sandbox=None) -> None:
    """Idempotent: settle the outcome, refund failures, update the lead, and (given the ``sandbox``) send the
    ``enrichmentDone`` / ``enrichmentError`` webhooks and the call to the request's ``webhookUrl``.

    An enrichment whose results cannot be built ends ``failed`` and refunded, never ``done`` with no data.
    """
    if record["status"] != "pending" or time.time() < record["ready_at"] - 0.001:
        return
    outcome = record["outcome"]
    if outcome != "failed":
        try:
            record["data"] = _found_data(record["kinds"], record["input"], outcome == "notFound")
        except Exception:
            log.exception("lemlist sandbox: enrichment %s could not be completed", record["_id"])
            outcome = record["outcome"] = "failed"
    record["status"] = "failed" if outcome == "failed" else "done"
    record["endedAt"] = now_iso()
    if outcome == "failed":
        team.credits += record["cost"]
        record["data"] = {}
    lead = team.leads.get(record["leadId"]) if record["leadId"] else None
    if lead is not None:
        lead.pop("__enriching", None)
        if outcome != "failed":
            lead["__enriched"] = True
            data = record["data"]
            if data.get("phone", {}).get("phone") and not lead.get("phone"):
                lead["phone"] = data["phone"]["phone"]
            if data.get("linkedin", {}).get("linkedinUrl") and not lead.get("linkedinUrl"):
                lead["linkedinUrl"] = data["linkedin"]["linkedinUrl"]
            if data.get("email", {}).get("email") and not lead.get("email"):
                lead["email"] = data["email"]["email"]
            if "verification" in data:
                lead["emailStatus"] = data["verification"]["status"]
    if sandbox is not None:
        send_enrichment_events(sandbox, team, record, lead)


def _kinds_from_query(request: Request) -> list[str]:
    return [kind for flag, kind in ENRICH_FLAGS.items() if bool_param(request.query_params.get(flag))]


@router.post("/leads/{leadId}/enrich")
async def enrich_lead(leadId: str, request: Request, team: TeamDep, sandbox: SandboxDep) -> dict:
    lead = team.leads.get(leadId)
    if lead is None:
        raise LemlistError(
            404, "Lead not found", json_body={"error": "Lead not found", "code": "LEAD_NOT_FOUND"}
        )
    kinds = _kinds_from_query(request)
    if not kinds:
        raise LemlistError(
            400, "No enrichment requested: set findEmail, verifyEmail, linkedinEnrichment or findPhone"
        )
    if lead.get("__enriching"):
        record = team.enrichments.get(lead["__enriching"])
        if record is not None:
            finish_enrichment(team, record, sandbox)
        if lead.get("__enriching"):
            raise LemlistError(
                409, "lead is already being enriched", json_body={"error": "lead is already being enriched"}
            )
    if lead.get("__enriched") and not bool_param(request.query_params.get("force")):
        raise LemlistError(
            409,
            "ALREADY_ENRICHED",
            json_body={
                "error": "Enrichment skipped: contact already has the requested data or was recently enriched",
                "code": "ALREADY_ENRICHED",
            },
        )
    input_data = {k: lead[k] for k in _INPUT_KEYS if lead.get(k)}
    record = start_enrichment(
        sandbox, team, kinds, input_data, lead=lead, webhook_url=request.query_params.get("webhookUrl")
    )
    return {"id": record["_id"]}


@router.post("/enrich")
async def enrich_person(request: Request, team: TeamDep, sandbox: SandboxDep) -> dict:
    kinds = _kinds_from_query(request)
    if not kinds:
        raise LemlistError(
            400, "No enrichment requested: set findEmail, verifyEmail, linkedinEnrichment or findPhone"
        )
    data = {k: request.query_params[k] for k in _INPUT_KEYS if request.query_params.get(k)}
    if missing_inputs(kinds, data):
        raise LemlistError(400, "Missing inputs for the requested enrichment")
    record = start_enrichment(sandbox, team, kinds, data, webhook_url=request.query_params.get("webhookUrl"))
    return {"id": record["_id"]}


@router.post("/v2/enrichments/bulk", openapi_extra=BODY_CHECKED_BY_ROUTE)
async def enrich_bulk(request: Request, team: TeamDep, sandbox: SandboxDep) -> list[dict]:
    """A malformed request (any item) is a 400 naming what is wrong, and nothing is charged; a
    well-formed item that lacks the data its enrichment needs is answered ``MISSING_INPUTS`` in its place
    (and ``NOT_ENOUGH_CREDITS`` when the team runs out), as the spec's examples show."""
    try:
        body = await json_body(request, allow_empty=False)
    except LemlistError:
        body = None
    error = _request_error(body, request.scope["route"].operation)
    if error is not None:
        raise LemlistError(400, error, json_body={"error": error})
    webhook_url = request.query_params.get("webhookUrl")
    answers = []
    for item in body:
        metadata = item.get("metadata")
        answer: dict[str, Any] = {} if metadata is None else {"metadata": metadata}
        kinds, data = item["enrichmentRequests"], item.get("input") or {}
        error, record = ("MISSING_INPUTS", None) if missing_inputs(kinds, data) else (None, None)
        if error is None:
            try:
                record = start_enrichment(
                    sandbox, team, kinds, data, metadata=metadata, webhook_url=webhook_url
                )
            except NotEnoughCredits:
                error = "NOT_ENOUGH_CREDITS"
        # The OAS answers oneOf {id, metadata} | {error, metadata}; with no required fields an item
        # matches both branches unless the other branch's key is null, so both are present.
        answer.update(id=record["_id"] if record else None, error=error)
        answers.append(answer)
    return answers


def _request_error(body: Any, operation) -> str | None:
    """The spec's 400 code for a malformed bulk request (its first malformed part), or None."""
    if not isinstance(body, list):
        return "WRONG_BODY_FORMAT"
    if not body:
        return "NO_ENRICHMENTS_REQUESTED"
    if len(body) > BULK_LIMIT:
        return "TOO_MANY_ENRICHMENTS_REQUESTED"
    for item in body:
        if not isinstance(item, dict):
            return "WRONG_BODY_FORMAT"
        metadata, data, kinds = item.get("metadata"), item.get("input", {}), item.get("enrichmentRequests")
        if metadata is not None and not isinstance(metadata, str | dict):
            return "WRONG_METADATA_FORMAT"
        if not isinstance(data, dict) or any(not isinstance(data.get(k, ""), str) for k in _INPUT_KEYS):
            return "WRONG_INPUT_FORMAT"
        if not kinds:
            return "NO_ENRICHMENTS_REQUESTED"
        if not isinstance(kinds, list) or any(k not in KINDS for k in kinds):
            return "WRONG_ENRICHMENT_REQUEST_FORMAT"
    if operation is not None and operation.body_problem(body) is not None:
        return "WRONG_BODY_FORMAT"  # anything else the schema forbids
    return None


@router.get("/enrich/{enrichId}")
async def get_enrichment(enrichId: str, team: TeamDep, sandbox: SandboxDep) -> Any:
    record = team.enrichments.get(enrichId)
    if record is None:
        raise LemlistError(404, "Enrichment not found")
    finish_enrichment(team, record, sandbox)
    if record["status"] == "pending":
        return Response(status_code=202)
    answer: dict[str, Any] = {
        "enrichmentId": record["_id"],
        "_id": record["_id"],
        "enrichmentStatus": record["status"],
        "status": "completed" if record["status"] == "done" else "failed",
        "input": record["input"],
        "data": record.get("data", {}),
        "credits": 0 if record["status"] == "failed" else record["cost"],
        "createdAt": record["createdAt"],
        "endedAt": record["endedAt"],
    }
    if record["status"] == "failed":
        answer["error"] = "Enrichment failed"
    if record.get("metadata") is not None:
        answer["metadata"] = record["metadata"]
    return answer
