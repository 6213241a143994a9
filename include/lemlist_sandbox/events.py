"""Events of the sandbox's activity, and who receives them: lemlist's webhook payloads, matched to hooks.

An event is recorded as an activity of the team (``GET /activities`` shows it) and sent to every hook of
the team that wants it: a hook without types takes every event, one with ``types`` only those; a hook with
a ``campaignId`` only that campaign's events; an ``isFirst`` hook only the first event of that type for
that lead. The body is the activity as lemlist's webhook payload documents it (``endpoint-reference.md``,
"Payload": ``type``, ``campaignId``, ``campaignName``, ``leadId``, ``email``, ``firstName``, ``lastName``,
... plus ``_id``, ``createdAt``, ``teamId``) with the hook's ``secret`` when it has one.

Enrichments also call the ``webhookUrl`` given when they were started: that body carries no secret (lemlist
has none for it), only the enrichment's result.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from .delivery import Delivery, WebhookSender
from .state import Team, World, now_iso

LEAD_FIELDS = ("email", "firstName", "lastName", "companyName", "jobTitle", "linkedinUrl", "phone")
#: lemlist's lead-state events that accompany a channel event the first time it happens to a lead
LEAD_STATE_OF = {
    "emailsSent": "contacted",
    "emailsOpened": "hooked",
    "emailsClicked": "attracted",
    "emailsReplied": "warmed",
}


def activity(
    world: World, team: Team, event_type: str, *, lead: dict | None = None, **fields: Any
) -> dict[str, Any]:
    """A new activity of ``team``: lemlist's fields, the lead's when there is one, then ``fields``."""
    body: dict[str, Any] = {"_id": world.ids.new("act"), "type": event_type, "createdAt": now_iso(),
                            "teamId": team.id}  # fmt: skip
    if lead is not None:
        campaign = team.campaigns.get(lead.get("campaignId") or "", {})
        body.update(
            campaignId=lead.get("campaignId"),
            campaignName=campaign.get("name"),
            sequenceId=campaign.get("sequenceId"),
            leadId=lead["_id"],
            contactId=lead.get("contactId"),
            **{k: lead[k] for k in LEAD_FIELDS if lead.get(k)},
        )
    body.update(fields)
    return {k: v for k, v in body.items() if v is not None}


def _wants(hook: dict, event: dict[str, Any], firsts: set) -> bool:
    if hook["types"] and event["type"] not in hook["types"]:
        return False
    if hook.get("campaignId") and hook["campaignId"] != event.get("campaignId"):
        return False
    if hook.get("isFirst"):
        return (event.get("leadId"), event["type"]) not in firsts
    return True


def _on_loop(callback) -> Any:
    """``callback`` made safe to call from the sender's thread: it runs on the sandbox's own loop."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return callback
    return lambda: loop.call_soon_threadsafe(callback)


def emit(
    world: World, team: Team, sender: WebhookSender, event: dict[str, Any], *, record: bool = True
) -> int:
    """Record ``event`` as an activity (unless ``record`` is False) and queue it for every hook that wants
    it; returns how many hooks it was queued for."""
    firsts = team.extra.setdefault("webhook_firsts", set())
    if record:
        team.activities.append(dict(event))
    targets = [hook for hook in team.hooks.values() if _wants(hook, event, firsts)]
    firsts.add((event.get("leadId"), event["type"]))
    for hook in targets:
        body = {**event, **({"secret": hook["secret"]} if hook.get("secret") else {})}
        sender.submit(
            Delivery(
                url=hook["targetUrl"], body=json.dumps(body).encode(), event_id=event["_id"],
                event_type=event["type"], hook_id=hook["_id"],
                on_gone=_on_loop(lambda hook_id=hook["_id"]: team.hooks.pop(hook_id, None)),
            )
        )  # fmt: skip
    if targets:
        sender.count_event()
    return len(targets)


def call_back(sender: WebhookSender, url: str, event: dict[str, Any]) -> None:
    """POST ``event`` to a ``webhookUrl`` given with a request (enrichments): no hook, no secret."""
    sender.submit(Delivery(url=url, body=json.dumps(event).encode(), event_id=event["_id"],
                           event_type=event["type"]))  # fmt: skip
    sender.count_event()


#: ``GET /enrich/{id}`` names results ``email``, ``verification``, ...; lemlist's enrichment webhooks use the
#: workflow names (developer.lemlist.com, "Enrichment", result keys)
WEBHOOK_RESULT_KEYS = {"email": "find_email", "verification": "verify", "phone": "find_phone",
                       "linkedin": "linkedin_enrichment"}  # fmt: skip


def send_enrichment_events(sandbox: Any, team: Team, record: dict, lead: dict | None) -> None:
    """A finished enrichment: ``enrichmentDone`` or ``enrichmentError`` to the hooks that want it, and the
    same body to the ``webhookUrl`` of the request that started it."""
    event = activity(
        sandbox.world, team, "enrichmentDone" if record["status"] == "done" else "enrichmentError", lead=lead,
        id=record["_id"], enrichmentId=record["_id"], enrichmentStatus=record["status"],
        metadata=record.get("metadata"), input=record["input"],
        data={WEBHOOK_RESULT_KEYS.get(key, key): value for key, value in record.get("data", {}).items()},
    )  # fmt: skip
    emit(sandbox.world, team, sandbox.sender, event, record=False)
    if record.get("webhookUrl"):
        call_back(sandbox.sender, record["webhookUrl"], event)
