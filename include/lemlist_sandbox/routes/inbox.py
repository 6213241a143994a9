"""The unified inbox: conversations, sending (email, LinkedIn, WhatsApp, SMS), labels and drafts.

A conversation is keyed by the contact id. Sending appends a message; the demo team's first read builds one
conversation per lead that already received an email, so the inbox is never empty there.
"""

from __future__ import annotations

import math

from fastapi import Request

from ..deps import SandboxDep, TeamDep, json_object
from ..errors import LemlistError
from ..state import Team, now_iso
from .common import Page, api_router, array, page_of, require
from .contacts import find_contact, sync_contacts_from_leads
from .users import ensure_owner, find_user

router = api_router()


def _seed_from_activities(team: Team, sandbox) -> None:
    if team.extra.get("inbox_seeded"):
        return
    team.extra["inbox_seeded"] = True
    owner = ensure_owner(team)
    for activity in team.activities:
        lead = team.leads.get(activity.get("leadId", ""))
        if activity.get("type") != "emailsSent" or lead is None or not lead.get("contactId"):
            continue
        conversation = _conversation(team, lead["contactId"], lead)
        conversation["messages"].append(
            {
                "_id": sandbox.world.ids.new("msg"),
                "conversationId": conversation["_id"],
                "sender": owner["email"],
                "recipient": lead.get("email", ""),
                "body": "Hi {{firstName}}, ...",
                "sentAt": activity.get("createdAt") or now_iso(),
                "channel": "email",
            }
        )


def _conversation(team: Team, contact_id: str, lead: dict | None = None) -> dict:
    conversation = team.inbox.get(contact_id)
    if conversation is None:
        conversation = {
            "_id": contact_id,
            "contactId": contact_id,
            "messages": [],
            "labelIds": [],
            "createdAt": now_iso(),
        }
        team.inbox[contact_id] = conversation
    if lead is not None and not conversation.get("leadId"):
        conversation["leadId"] = lead["_id"]
    return conversation


def _pagination(total: int, page: Page) -> dict:
    """The inbox's own paging envelope (the spec's ``pagination`` of ``GET /inbox``)."""
    pages = max(1, math.ceil(total / page.limit))
    return {
        "totalItems": total,
        "currentPage": page.number,
        "nextPage": page.number + 1 if page.number < pages else None,
        "previousPage": page.number - 1 if page.number > 1 else None,
        "perPage": page.limit,
        "totalPages": pages,
    }


def _render_conversation(team: Team, conversation: dict) -> dict:
    out = {k: v for k, v in conversation.items() if k != "labelIds"}
    out["labels"] = [team.labels[i]["name"] for i in conversation.get("labelIds", []) if i in team.labels]
    return out


@router.get("/inbox")
async def list_inbox(
    team: TeamDep,
    sandbox: SandboxDep,
    request: Request,
    userId: str | None = None,  # noqa: N803  (required by the spec; the sandbox defaults to the owner)
) -> dict:
    page = page_of(request.query_params, limit=20)
    if userId is not None and find_user(team, userId) is None:
        raise LemlistError(400, "Invalid userId")
    _seed_from_activities(team, sandbox)
    conversations = sorted(team.inbox.values(), key=lambda c: c["createdAt"], reverse=True)
    return {
        "data": [_render_conversation(team, c) for c in page.of(conversations)],
        "pagination": _pagination(len(conversations), page),
    }


def _lead_for(team: Team, body: dict) -> tuple[dict | None, str]:
    """Resolve ``leadId``/``contactId`` into (lead, contactId), with lemlist's error texts."""
    lead_id, contact_id = body.get("leadId"), body.get("contactId")
    if not lead_id and not contact_id:
        raise LemlistError(400, "contactId or leadId is required")
    if contact_id is not None and not isinstance(contact_id, str):
        raise LemlistError(400, "Invalid contactId")
    lead = None
    if lead_id:
        if not isinstance(lead_id, str) or not lead_id.startswith("lea_"):
            raise LemlistError(400, "Invalid leadId")
        lead = team.leads.get(lead_id)
        if lead is None:
            raise LemlistError(400, "Lead not found")
        contact_id = contact_id or lead.get("contactId")
    if not contact_id or find_contact(team, contact_id) is None:
        raise LemlistError(400, "Contact not found")
    return lead, contact_id


def _sender(team: Team, body: dict) -> dict:
    return require(find_user(team, body.get("sendUserId")), "Sender", status=400)


def _append(team: Team, sandbox, contact_id: str, lead: dict | None, **message) -> dict:
    conversation = _conversation(team, contact_id, lead)
    record = {"_id": sandbox.world.ids.new("msg"), "conversationId": conversation["_id"], "sentAt": now_iso()}
    record.update(message)
    conversation["messages"].append(record)
    return record


@router.post("/inbox/email")
async def send_email(team: TeamDep, sandbox: SandboxDep, request: Request) -> dict:
    body = await json_object(request)
    user = _sender(team, body)
    email, mailbox_id = body.get("sendUserEmail"), body.get("sendUserMailboxId")
    if not isinstance(email, str) or "@" not in email:
        raise LemlistError(400, "Invalid sendUserEmail")
    email = email.strip().lower()
    mailbox = team.mailboxes.get(mailbox_id) if isinstance(mailbox_id, str) else None
    if mailbox is None or mailbox.get("userId") != user["_id"]:
        raise LemlistError(400, "Invalid sendUserMailboxId")
    if mailbox["email"] != email:
        raise LemlistError(400, "Invalid sendUserEmail")
    for field in ("subject", "message"):
        if not isinstance(body.get(field), str) or not body[field]:
            raise LemlistError(400, f"{field} is required")
    lead, contact_id = _lead_for(team, body)
    contact = find_contact(team, contact_id)
    if not contact.get("email"):
        raise LemlistError(400, "Failed to send email: the contact has no email")
    record = _append(
        team,
        sandbox,
        contact_id,
        lead,
        sender=email,
        recipient=contact["email"],
        subject=body["subject"],
        body=body["message"],
        cc=[str(c) for c in array(body, "cc")],
        channel="email",
    )
    return {"ok": True, "messageId": record["_id"], "contactId": contact_id}


async def _send_simple(
    request: Request, team: Team, sandbox, channel: str, *, account_field: str | None = None
):
    body = await json_object(request)
    user = _sender(team, body)
    if account_field and not body.get(account_field):
        raise LemlistError(400, f"{account_field} is required")
    if not isinstance(body.get("message"), str) or not body["message"]:
        raise LemlistError(400, "message is required")
    lead, contact_id = _lead_for(team, body)
    record = _append(
        team,
        sandbox,
        contact_id,
        lead,
        sender=user["_id"],
        recipient=contact_id,
        body=body["message"],
        channel=channel,
    )
    return {"ok": True, "messageId": record["_id"], "contactId": contact_id}


@router.post("/inbox/linkedin")
async def send_linkedin(team: TeamDep, sandbox: SandboxDep, request: Request):
    result = await _send_simple(request, team, sandbox, "linkedin")
    return {"ok": result["ok"]}


@router.post("/inbox/whatsapp")
async def send_whatsapp(team: TeamDep, sandbox: SandboxDep, request: Request):
    return await _send_simple(request, team, sandbox, "whatsapp", account_field="sendUserWhatsappAccountId")


@router.post("/inbox/sms")
async def send_sms(
    team: TeamDep,
    sandbox: SandboxDep,
    request: Request,
):
    """Not in the OAS (listed in endpoint-reference.md): same body as WhatsApp, without an account id."""
    return await _send_simple(request, team, sandbox, "sms")


# -- labels ------------------------------------------------------------------------------------------


def _label(team: Team, label_id: str) -> dict:
    return require(team.labels.get(label_id), "Label")


def _check_name(team: Team, name, *, exclude: str | None = None) -> str:
    if not isinstance(name, str) or not name.strip():
        raise LemlistError(400, "labelName is required")
    name = name.strip()
    if any(lbl["name"].lower() == name.lower() and lbl["_id"] != exclude for lbl in team.labels.values()):
        raise LemlistError(409, "Label already exists")
    return name


@router.get("/inbox/labels")
async def list_labels(team: TeamDep) -> list[dict]:
    return list(team.labels.values())


@router.post("/inbox/labels")
async def create_label(team: TeamDep, sandbox: SandboxDep, request: Request):
    body = await json_object(request)
    name = _check_name(team, body.get("labelName"))
    label = {
        "_id": sandbox.world.ids.new("lbl"),
        "name": name,
        "color": str(body.get("color") or "#6c5ce7"),
        "createdAt": now_iso(),
        "createdBy": team.user_id,
    }
    team.labels[label["_id"]] = label
    return label


@router.get("/inbox/labels/{labelId}")
async def get_label(team: TeamDep, labelId: str) -> dict:  # noqa: N803
    return _label(team, labelId)


@router.patch("/inbox/labels/{labelId}")
async def update_label(team: TeamDep, labelId: str, request: Request) -> dict:  # noqa: N803
    label = _label(team, labelId)
    body = await json_object(request)
    if "labelName" in body:
        label["name"] = _check_name(team, body["labelName"], exclude=labelId)
    if body.get("color"):
        label["color"] = str(body["color"])
    return label


@router.delete("/inbox/labels/{labelId}")
async def delete_label(team: TeamDep, labelId: str) -> dict:  # noqa: N803
    _label(team, labelId)
    del team.labels[labelId]
    for conversation in team.inbox.values():
        if labelId in conversation.get("labelIds", []):
            conversation["labelIds"].remove(labelId)
    return {"ok": True}


def _known_conversation(team: Team, contact_id: str) -> dict:
    if contact_id not in team.inbox and find_contact(team, contact_id) is None:
        raise LemlistError(404, "Contact not found")
    return _conversation(team, contact_id)


def _label_ids(team: Team, body: dict) -> list[str]:
    ids = body.get("labelIds")
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise LemlistError(400, "labelIds must be an array of label ids")
    for label_id in ids:
        _label(team, label_id)
    return ids


@router.get("/inbox/conversations/labels/{contactId}")
async def conversation_labels(team: TeamDep, contactId: str) -> dict:  # noqa: N803
    """Not in the OAS: the labels of one conversation."""
    conversation = _known_conversation(team, contactId)
    return {
        "contactId": contactId,
        "labels": [team.labels[i] for i in conversation["labelIds"] if i in team.labels],
    }


@router.post("/inbox/conversations/labels/{contactId}")
async def assign_labels(team: TeamDep, contactId: str, request: Request) -> dict:  # noqa: N803
    conversation = _known_conversation(team, contactId)
    body = await json_object(request)
    ids = _label_ids(team, body)
    if not isinstance(body.get("appendLabels"), bool):
        raise LemlistError(400, "appendLabels must be a boolean")
    current = conversation["labelIds"] if body["appendLabels"] else []
    conversation["labelIds"] = list(dict.fromkeys([*current, *ids]))
    return {"ok": True}


@router.delete("/inbox/conversations/labels/{contactId}")
async def remove_labels(team: TeamDep, contactId: str, request: Request) -> dict:  # noqa: N803
    conversation = _known_conversation(team, contactId)
    ids = _label_ids(team, await json_object(request))
    conversation["labelIds"] = [i for i in conversation["labelIds"] if i not in ids]
    return {"ok": True}


# -- drafts ------------------------------------------------------------------------------------------

_CHANNELS = ("email", "linkedin", "whatsapp", "sms")


def _drafts(team: Team, contact_id: str, owner: str | None) -> dict[str, dict]:
    if not owner:
        raise LemlistError(400, "draftOwner is required")
    if find_user(team, owner) is None:
        raise LemlistError(400, "Invalid draftOwner")
    sync_contacts_from_leads(team)
    if find_contact(team, contact_id) is None:
        raise LemlistError(400, "Invalid contactId")
    return team.extra.setdefault("drafts", {}).setdefault((contact_id, owner), {})


def _draft(drafts: dict[str, dict], draft_id: str) -> dict:
    return require(drafts.get(draft_id), "Draft")


@router.get("/inbox/{contactId}/drafts")
async def list_drafts(team: TeamDep, contactId: str, draftOwner: str | None = None) -> dict:  # noqa: N803
    drafts = _drafts(team, contactId, draftOwner)
    out = []
    for draft in drafts.values():
        summary = {
            k: draft[k]
            for k in ("_id", "channel", "subject", "source", "createdAt", "updatedAt")
            if k in draft
        }
        summary["contentPreview"] = draft["content"][:140]
        out.append(summary)
    return {"drafts": out}


@router.post("/inbox/{contactId}/drafts", status_code=201)
async def create_draft(
    team: TeamDep,
    sandbox: SandboxDep,
    contactId: str,  # noqa: N803
    request: Request,
    draftOwner: str | None = None,  # noqa: N803
) -> dict:
    drafts = _drafts(team, contactId, draftOwner)
    body = await json_object(request)
    if body.get("channel") not in _CHANNELS:
        raise LemlistError(400, f"channel must be one of {', '.join(_CHANNELS)}")
    if not isinstance(body.get("content"), str):
        raise LemlistError(400, "content is required")
    created = now_iso()
    draft = {
        "_id": sandbox.world.ids.new("dft"),
        "channel": body["channel"],
        "content": body["content"],
        "cc": [str(c) for c in array(body, "cc")],
        "attachments": array(body, "attachments"),
        "source": "api",
        "createdAt": created,
        "updatedAt": created,
    }
    if isinstance(body.get("subject"), str):
        draft["subject"] = body["subject"]
    drafts[draft["_id"]] = draft
    return {"draftId": draft["_id"]}


@router.get("/inbox/{contactId}/drafts/{draftId}")
async def get_draft(team: TeamDep, contactId: str, draftId: str, draftOwner: str | None = None):  # noqa: N803
    return {"draft": _draft(_drafts(team, contactId, draftOwner), draftId)}


@router.patch("/inbox/{contactId}/drafts/{draftId}")
async def update_draft(
    team: TeamDep,
    contactId: str,  # noqa: N803
    draftId: str,  # noqa: N803
    request: Request,
    draftOwner: str | None = None,  # noqa: N803
) -> dict:
    draft = _draft(_drafts(team, contactId, draftOwner), draftId)
    body = await json_object(request)
    for key in ("subject", "content", "replyToActivityId"):
        if key in body:
            if not isinstance(body[key], str):
                raise LemlistError(400, f"{key} must be a string")
            draft[key] = body[key]
    for key in ("cc", "attachments"):
        if key in body:
            if not isinstance(body[key], list):
                raise LemlistError(400, f"{key} must be an array")
            draft[key] = body[key]
    draft["updatedAt"] = now_iso()
    return {"draft": draft}


@router.delete("/inbox/{contactId}/drafts/{draftId}")
async def delete_draft(team: TeamDep, contactId: str, draftId: str, draftOwner: str | None = None):  # noqa: N803
    drafts = _drafts(team, contactId, draftOwner)
    _draft(drafts, draftId)
    del drafts[draftId]
    return {"success": True}


@router.get("/inbox/{contactId}")
async def get_conversation(
    team: TeamDep,
    sandbox: SandboxDep,
    contactId: str,  # noqa: N803
    request: Request,
    markAsRead: bool = False,  # noqa: N803
    userId: str | None = None,  # noqa: N803
) -> dict:
    if not contactId.startswith("ctc_"):
        raise LemlistError(400, "Invalid contactId")
    page = page_of(request.query_params, limit=20, offset_name="skip")
    _seed_from_activities(team, sandbox)
    conversation = team.inbox.get(contactId)
    messages = list(conversation["messages"]) if conversation else []
    if conversation is not None and markAsRead:
        conversation["read"] = True
    return {"data": page.of(messages), "pagination": _pagination(len(messages), page)}
