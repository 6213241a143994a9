"""FastAPI dependencies for route modules."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from fastapi import Request

from .errors import LemlistError
from .state import Team

if TYPE_CHECKING:
    from .app import Sandbox


def current_team(request: Request) -> Team:
    """The team the middleware authenticated. Route handlers take it with ``Depends(current_team)``."""
    return request.state.team


def current_sandbox(request: Request) -> Sandbox:
    """The sandbox (config, world, ids): for delays (``sandbox.config.scaled``) and id generation."""
    return request.app.state.sandbox


async def json_body(
    request: Request, *, allow_empty: bool = True, error: Callable[[str], Exception] | None = None
) -> Any:
    """The request body as any JSON value (``{}`` when empty). lemlist answers 400 to invalid JSON, never a 500.

    ``error`` builds the exception for routes whose spec documents JSON error bodies.
    """
    fail = error or (lambda message: LemlistError(400, message))
    raw = await request.body()
    if not raw.strip():
        if allow_empty:
            return {}
        raise fail("Body must be JSON")
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise fail("Body must be JSON") from exc


async def json_object(
    request: Request, *, allow_empty: bool = False, error: Callable[[str], Exception] | None = None
) -> dict:
    """The request body as a JSON object (routes whose body must be one)."""
    body = await json_body(request, allow_empty=allow_empty, error=error)
    if not isinstance(body, dict):
        raise (error or (lambda message: LemlistError(400, message)))("Body must be a JSON object")
    return body
