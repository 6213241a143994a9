"""FastAPI dependencies for route modules."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import Request

from .state import Team

if TYPE_CHECKING:
    from .app import Sandbox


def current_team(request: Request) -> Team:
    """The team the middleware authenticated. Route handlers take it with ``Depends(current_team)``."""
    return request.state.team


def current_sandbox(request: Request) -> Sandbox:
    """The sandbox (config, world, ids): for delays (``sandbox.config.scaled``) and id generation."""
    return request.app.state.sandbox
