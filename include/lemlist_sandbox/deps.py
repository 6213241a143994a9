"""FastAPI dependencies for route modules: the authenticated team, the sandbox, the request body."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, Request

from .errors import LemlistError
from .sandbox import Sandbox
from .state import Team


def current_team(request: Request) -> Team:
    """The team the middleware authenticated."""
    return request.state.team


def current_sandbox(request: Request) -> Sandbox:
    """The sandbox (config, world, ids): for delays (``sandbox.config.scaled``) and id generation."""
    return request.app.state.sandbox


# What route handlers take: ``team: TeamDep``, ``sandbox: SandboxDep``.
TeamDep = Annotated[Team, Depends(current_team)]
SandboxDep = Annotated[Sandbox, Depends(current_sandbox)]


def _bad_request(message: str) -> Exception:
    return LemlistError(400, message)


async def json_body(
    request: Request, *, allow_empty: bool = True, error: Callable[[str], Exception] = _bad_request
) -> Any:
    """The request body as any JSON value (``{}`` when empty). lemlist answers 400 to invalid JSON, never a 500.

    ``error`` builds the exception to raise (the control routes answer their own way).
    """
    raw = await request.body()
    if not raw.strip():
        if allow_empty:
            return {}
        raise error("Body must be JSON")
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as exc:  # also UnicodeDecodeError; nesting too deep to parse
        raise error("Body must be JSON") from exc


async def json_object(
    request: Request, *, allow_empty: bool = False, error: Callable[[str], Exception] = _bad_request
) -> dict:
    """The request body as a JSON object (routes whose body must be one)."""
    body = await json_body(request, allow_empty=allow_empty, error=error)
    if not isinstance(body, dict):
        raise error("Body must be a JSON object")
    return body
