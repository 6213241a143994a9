"""What a webhook body must be, and what is kept of it: parsing, the secret check, stripping, the dedupe key.

lemlist signs nothing: the only proof that a POST comes from lemlist is the ``secret`` field of the JSON
body, equal to the secret given when the hook was created. It is compared in constant time and removed (with
any echo of it deeper in the body) before the event is stored or handed to Airflow.

The dedupe key must be equal for lemlist's retries of one delivery and for the same activity delivered to
two hooks, and different for two activities. Activity payloads carry lemlist's own ids (``_id`` of the
activity, ``leadId``, ``campaignId``, ...) and ``createdAt``; those identify the activity, so the key is a
hash of them with the type. A body with neither ``_id`` nor ``createdAt`` has nothing that names it, so the
whole body (secret removed) is hashed: a retry sends the same body.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import AsyncIterable
from dataclasses import dataclass
from typing import Any

from .families import Family, family_of

MAX_DEPTH = 32
REDACTED = "***"
TYPE_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,99}$")
# Fields that name one activity; equal across retries and across hooks that receive the same activity.
IDENTITY_FIELDS = (
    "_id", "teamId", "campaignId", "leadId", "contactId", "email", "createdAt", "sequenceId", "sequenceStep",
    "emailId", "messageId", "enrichmentId",
)  # fmt: skip


class BodyError(ValueError):
    """The body cannot be an event (answered 400); the message names why, never echoes the body."""


class BodyTooLarge(ValueError):
    """The body is over the configured cap (answered 413)."""


@dataclass(frozen=True)
class WebhookEvent:
    """One accepted event: its type, family, dedupe key, and the payload with the secret removed."""

    type: str
    family: Family
    dedupe_key: str
    payload: dict[str, Any]


async def read_capped(chunks: AsyncIterable[bytes], limit: int) -> bytes:
    """Join a streamed body, raising ``BodyTooLarge`` as soon as it passes ``limit`` bytes.

    The body is never held whole when it is too large: reading stops at the first chunk past the cap.
    """
    parts: list[bytes] = []
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(f"body over {limit} bytes")
        parts.append(chunk)
    return b"".join(parts)


def _reject_constant(name: str) -> Any:
    raise BodyError(f"not JSON: {name} is not a JSON value")


def parse_body(raw: bytes) -> dict[str, Any]:
    """The JSON object of a body; ``BodyError`` for anything else (not JSON, not an object, too deep)."""
    try:
        value = json.loads(raw, parse_constant=_reject_constant)
    except BodyError:
        raise
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise BodyError("not JSON") from exc
    if not isinstance(value, dict):
        raise BodyError("the body must be a JSON object")
    if _depth(value) > MAX_DEPTH:
        raise BodyError(f"the body is nested deeper than {MAX_DEPTH} levels")
    return value


def _depth(value: Any) -> int:
    """Nesting depth, computed without recursion (the body is untrusted)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, level = stack.pop()
        deepest = max(deepest, level)
        if level > MAX_DEPTH:
            break
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
        stack.extend((child, level + 1) for child in children if isinstance(child, dict | list))
    return deepest


def secret_matches(payload: dict[str, Any], expected: str) -> bool:
    """``payload["secret"] == expected`` in constant time; a missing, empty or non-string secret never matches."""
    given = payload.get("secret")
    if not expected or not isinstance(given, str) or not given:
        return False
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def strip_secret(payload: dict[str, Any], secret: str) -> dict[str, Any]:
    """A copy without the ``secret`` field, and with every string that contains the secret redacted."""

    def clean(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items()}
        if isinstance(value, list):
            return [clean(v) for v in value]
        if isinstance(value, str) and secret and secret in value:
            return value.replace(secret, REDACTED)
        return value

    return {key: clean(value) for key, value in payload.items() if key != "secret"}


def dedupe_key(payload: dict[str, Any]) -> str:
    """A stable hex key for one activity (see the module docstring); ``payload`` is already stripped."""
    if payload.get("_id") is not None or payload.get("createdAt") is not None:
        identity = {field: payload.get(field) for field in IDENTITY_FIELDS}
        if isinstance(identity["email"], str):
            identity["email"] = identity["email"].strip().lower()
        basis: Any = ["activity", payload.get("type"), identity]
    else:
        basis = ["body", payload]
    canonical = json.dumps(basis, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=str)
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


def to_event(payload: dict[str, Any], secret: str) -> WebhookEvent:
    """The event of a verified payload; ``BodyError`` when it has no usable ``type``."""
    event_type = payload.get("type")
    if not isinstance(event_type, str) or not TYPE_PATTERN.match(event_type):
        raise BodyError("the body has no valid event 'type'")
    stripped = strip_secret(payload, secret)
    return WebhookEvent(
        type=event_type,
        family=family_of(event_type),
        dedupe_key=dedupe_key(stripped),
        payload=stripped,
    )
