"""Users, their mailboxes and channels: ``/users/{userId}``, ``/user/channels``, ``/user/email-accounts``.

Every team has one owner (``team.user_id``) with one connected Google mailbox, created on first use so that
the routes that need a sender (inbox, lemwarm, team senders) always have one to point at.
"""

from __future__ import annotations

from fastapi import Request

from ..deps import SandboxDep, TeamDep, json_object
from ..errors import LemlistError
from ..state import Team, now_iso
from .common import api_router, require

router = api_router()


def _slug(team: Team) -> str:
    return "".join(ch for ch in team.name.lower() if ch.isalnum())[:20] or "team"


def ensure_owner(team: Team) -> dict:
    """The owner's user record (with its mailbox), created on first use."""
    user = team.users.get(team.user_id)
    if user is None:
        mailbox_id = "usm_" + team.user_id[4:]
        mailbox = {
            "_id": mailbox_id,
            "email": f"owner@{_slug(team)}.example.com",
            "provider": "google",
            "status": "CONNECTED",
            "lemlist": {"emailLimit": 100},
            "lemwarm": {"active": False},
            "userId": team.user_id,
        }
        team.mailboxes.setdefault(mailbox_id, mailbox)
        user = {
            "_id": team.user_id,
            "email": mailbox["email"],
            "firstName": "Sandbox",
            "lastName": "Owner",
            "role": "admin",
            "linkedIn": {
                "linkedinUrl": f"https://www.linkedin.com/in/{_slug(team)}-owner",
                "status": True,
                "inviteLimit": 20,
                "sendLimit": 50,
                "visitLimit": 80,
            },
            "mailboxIds": [mailbox_id],
            "createdAt": "2024-01-01T00:00:00.000Z",
        }
        team.users[team.user_id] = user
    return user


def all_users(team: Team) -> list[dict]:
    ensure_owner(team)
    return list(team.users.values())


def user_mailboxes(team: Team, user: dict) -> list[dict]:
    return [team.mailboxes[m] for m in user.get("mailboxIds", []) if m in team.mailboxes]


def render_user(team: Team, user: dict) -> dict:
    """The ``User`` schema: mailboxes inlined, without internal fields."""
    mailboxes = [{k: v for k, v in mb.items() if k != "userId"} for mb in user_mailboxes(team, user)]
    body = {k: v for k, v in user.items() if k != "mailboxIds"}
    body["mailboxes"] = mailboxes
    return body


def find_user(team: Team, user_id: object) -> dict | None:
    ensure_owner(team)
    return team.users.get(user_id) if isinstance(user_id, str) else None


@router.get("/users/{userId}")
async def get_user(userId: str, team: TeamDep) -> dict:  # noqa: N803
    # The spec lists no 404 here: lemlist answers an unknown user as a bad request.
    return render_user(team, require(find_user(team, userId), "User", status=400))


@router.get("/user/channels")
async def user_channels(team: TeamDep) -> dict:
    owner = ensure_owner(team)
    accounts = [
        {"id": mb["_id"], "email": mb["email"], "provider": mb.get("provider", "custom")}
        for mb in user_mailboxes(team, owner)
    ]
    return {
        "plan": "emailPro",
        "email": {"connected": bool(accounts), "available": True, "accounts": accounts},
        "linkedin": {"connected": owner["linkedIn"]["status"], "available": True},
        "whatsapp": {"connected": False, "available": True, "addonActive": False, "accounts": []},
    }


_ACCOUNT_FIELDS = (
    "sender_name",
    "sender_email",
    "smtp_host",
    "smtp_port",
    "smtp_login",
    "smtp_password",
    "imap_host",
    "imap_port",
    "imap_login",
    "imap_password",
)


@router.post("/user/email-accounts", status_code=201)
async def create_email_account(request: Request, team: TeamDep, sandbox: SandboxDep) -> dict:
    body = await json_object(request)
    missing = [name for name in _ACCOUNT_FIELDS if body.get(name) in (None, "")]
    if missing:
        raise LemlistError(400, f"Missing required fields: {', '.join(missing)}")
    for port in ("smtp_port", "imap_port"):
        if not isinstance(body[port], int):
            raise LemlistError(400, f"{port} must be an integer")
    email = str(body["sender_email"]).strip().lower()
    if "@" not in email:
        raise LemlistError(400, "Invalid sender_email")
    user = find_user(team, body.get("userId") or team.user_id)
    if user is None:
        raise LemlistError(403, "User is not a member of this team")
    if any(mb["email"] == email for mb in team.mailboxes.values()):
        raise LemlistError(400, "Email account already connected")
    mailbox_id = sandbox.world.ids.new("usm")
    team.mailboxes[mailbox_id] = {
        "_id": mailbox_id,
        "email": email,
        "provider": "custom",
        "status": "CONNECTED",
        "lemlist": {"emailLimit": 100},
        "lemwarm": {"active": False},
        "userId": user["_id"],
        "senderName": body["sender_name"],
        "smtpHost": body["smtp_host"],
        "imapHost": body["imap_host"],
        "createdAt": now_iso(),
    }
    user.setdefault("mailboxIds", []).append(mailbox_id)
    return {"id": mailbox_id, "email": email, "provider": "custom"}


def _custom_account(team: Team, account_id: str) -> dict:
    return require(team.mailboxes.get(account_id), "Email account")


@router.delete("/user/email-accounts/{emailAccountId}")
async def delete_email_account(emailAccountId: str, team: TeamDep) -> dict:  # noqa: N803
    mailbox = _custom_account(team, emailAccountId)
    if mailbox.get("provider") != "custom":
        raise LemlistError(403, "Only custom SMTP/IMAP accounts can be removed through the API")
    del team.mailboxes[emailAccountId]
    for user in team.users.values():
        if emailAccountId in user.get("mailboxIds", []):
            user["mailboxIds"].remove(emailAccountId)
    return {"ok": True}


@router.post("/user/email-accounts/{emailAccountId}/test")
async def test_email_account(emailAccountId: str, team: TeamDep) -> dict:  # noqa: N803
    mailbox = _custom_account(team, emailAccountId)
    # Hosts on the reserved .invalid TLD never resolve: a way for tests to see a failing connection.
    smtp_ok = not str(mailbox.get("smtpHost", "")).endswith(".invalid")
    imap_ok = not str(mailbox.get("imapHost", "")).endswith(".invalid")
    return {
        "smtp": {"success": smtp_ok} if smtp_ok else {"success": False, "error": "getaddrinfo ENOTFOUND"},
        "imap": {"success": imap_ok} if imap_ok else {"success": False, "error": "getaddrinfo ENOTFOUND"},
    }
