"""What the events tests share besides fixtures (``conftest`` is not importable by name when several test
folders are collected together: each has one)."""

from __future__ import annotations

import uuid
from typing import Any

from lemlist_dev.deployment import LemlistTarget

#: the receiver never calls lemlist: a deployment for these tests points its connection nowhere
NO_LEMLIST = LemlistTarget("http://127.0.0.1:9/api", "unused-key")


def activity(event_type: str = "emailsUnsubscribed", **fields: Any) -> dict[str, Any]:
    """A webhook body shaped like lemlist's activity payloads (unique ids per call)."""
    body = {
        "_id": f"act_{uuid.uuid4().hex[:17]}",
        "type": event_type,
        "createdAt": "2026-11-29T10:00:00.000Z",
        "teamId": "tea_pytest",
        "campaignId": "cam_pytest",
        "campaignName": "pytest campaign",
        "leadId": f"lea_{uuid.uuid4().hex[:17]}",
        "email": f"lead-{uuid.uuid4().hex[:8]}@example.com",
        "firstName": "Ada",
    }
    body.update(fields)
    return body
