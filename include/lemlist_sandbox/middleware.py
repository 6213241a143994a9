"""Pure ASGI middleware: auth, rate limit, faults and request accounting for every ``/api`` request, and
the last resort for every request: an unexpected exception is answered 500 in lemlist's shape, counted,
and the connection kept.

Written as raw ASGI rather than ``BaseHTTPMiddleware`` so one process serves well over 1,000 requests
per second: the sandbox must never be the bottleneck of a benchmark.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import random
import socket
import struct
import time
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

from .contract import unauthorized_operation
from .ratelimit import js_date

if TYPE_CHECKING:
    from .sandbox import Sandbox

log = logging.getLogger(__name__)

AUTH_FAILED = "The authentication you supplied is incorrect"
BLOCKED = b"User linked to this API key is blocked"
SERVER_ERROR = "Internal Server Error"


def _basic_credentials(headers: list[tuple[bytes, bytes]]) -> tuple[str, str] | None:
    for name, value in headers:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() != "basic":
                return None
            try:
                decoded = base64.b64decode(token.strip()).decode("utf-8")
            except (ValueError, UnicodeDecodeError):
                return None
            login, _, password = decoded.partition(":")
            return login, password
    return None


def _access_token(query_string: bytes) -> str | None:
    if b"access_token" not in query_string:
        return None
    values = parse_qs(query_string.decode("latin-1")).get("access_token")
    return values[0] if values else None


async def _answer(
    send, status: int, body: bytes, headers: list[tuple[bytes, bytes]] | None = None, *, media: bytes = b""
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", media or b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _plain(send, status: int, body: bytes, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    await _answer(send, status, body, headers)


def _reset_connection(scope) -> bool:
    """Abort the TCP connection with RST, as a flaky load balancer does. Works with uvicorn's protocols."""
    send = scope.get("sandbox.raw_send")
    cycle = getattr(send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None:
        return False
    sock = transport.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
    transport.abort()
    return True


class SandboxMiddleware:
    def __init__(self, app, sandbox: Sandbox) -> None:
        self.app = app
        self.sandbox = sandbox

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked_send(message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            if scope["path"].startswith("/api"):
                await self._api(scope, receive, tracked_send)
            else:
                await self.app(scope, receive, tracked_send)
        except Exception:
            # Whatever went wrong, answer like lemlist and keep the connection: an exception that reached
            # uvicorn would make it drop the keep-alive. Counted, so tests can insist on zero.
            log.exception("lemlist sandbox: unexpected error on %s %s", scope["method"], scope["path"])
            self.sandbox.world.stats.server_errors += 1
            if not started:
                await _plain(send, 500, SERVER_ERROR.encode())

    async def _api(self, scope, receive, send) -> None:
        sandbox = self.sandbox
        world = sandbox.world
        stats = world.stats
        faults = sandbox.config.faults
        stats.total += 1

        team = self._authenticate(scope)
        if team is None:
            stats.unauthorized += 1
            stats.by_status["401"] += 1
            stats.by_route_status[f"{scope['method']} {scope['path']}"]["401"] += 1
            operation = unauthorized_operation(scope["method"], scope["path"])
            if operation is not None:  # the few operations whose 401 the spec documents as JSON
                response = operation.error_response(401, AUTH_FAILED)
                await _answer(send, 401, response.body, media=b"application/json")
            else:
                await _plain(send, 401, AUTH_FAILED.encode())
            return

        if team.extra.get("flags", {}).get("blocked"):
            # A blocked user's key authenticates but every route refuses it, before any budget is used.
            self._count(scope, team.id, 403)
            await _plain(send, 403, BLOCKED)
            return

        rl_headers: list[tuple[bytes, bytes]] = []
        limiter = sandbox.limiter
        if sandbox.config.rate_limit > 0:
            decision = limiter.check(team.api_key)
            rl_headers = [
                (b"x-ratelimit-limit", str(decision.limit).encode()),
                (b"x-ratelimit-remaining", str(decision.remaining).encode()),
                (b"x-ratelimit-reset", js_date(decision.reset_at).encode()),
            ]
            if not decision.allowed:
                stats.rate_limited += 1
                self._count(scope, team.id, 429)
                await _plain(
                    send,
                    429,
                    b"Too Many Requests",
                    [*rl_headers, (b"retry-after", str(decision.retry_after).encode())],
                )
                return
            rl_headers.append((b"retry-after", b"0"))

        stats.requests_by_team[team.id] += 1
        stats.in_flight[team.id] += 1
        if stats.in_flight[team.id] > stats.peak_concurrency[team.id]:
            stats.peak_concurrency[team.id] = stats.in_flight[team.id]
        try:
            if faults.latency_ms > 0:
                await asyncio.sleep(faults.latency_ms / 1000.0)
            if faults.force_429 > 0:
                faults.force_429 -= 1
                stats.forced_429 += 1
                self._count(scope, team.id, 429)
                await _plain(send, 429, b"Too Many Requests", [*rl_headers[:3], (b"retry-after", b"1")])
                return
            if faults.outage_after > 0:
                faults.outage_after -= 1
                faults.outage = faults.outage_after == 0
            elif faults.outage:
                stats.faults_5xx += 1
                self._count(scope, team.id, 503)
                await _plain(send, 503, b"Service Unavailable", rl_headers)
                return
            if faults.reset_rate > 0 and random.random() < faults.reset_rate and _reset_connection(scope):
                stats.resets += 1
                self._count(scope, team.id, "reset")
                return
            if faults.error_rate > 0 and random.random() < faults.error_rate:
                status = random.choice(faults.error_statuses)
                stats.faults_5xx += 1
                self._count(scope, team.id, status)
                body = (
                    b"Internal Server Error"
                    if status == 500
                    else b"Bad Gateway"
                    if status == 502
                    else b"Service Unavailable"
                )
                if faults.echo_key_in_errors:
                    body += b" (request authorization: " + repr(scope.get("headers")).encode() + b")"
                await _plain(send, status, body, rl_headers)
                return

            scope.setdefault("state", {})["team"] = team
            status_holder: dict[str, int] = {}

            async def send_with_headers(message) -> None:
                if message["type"] == "http.response.start":
                    status_holder["status"] = message["status"]
                    message["headers"] = [*message.get("headers", []), *rl_headers]
                await send(message)

            await self.app(scope, receive, send_with_headers)
            self._count(scope, team.id, status_holder.get("status", 500))
        finally:
            stats.in_flight[team.id] -= 1

    def _authenticate(self, scope):
        world = self.sandbox.world
        creds = _basic_credentials(scope["headers"])
        if scope["path"].startswith("/api/lemcal"):
            if creds is None:
                return None
            user_id, key = creds
            team = world.team_for_key(key)
            return team if team is not None and team.user_id == user_id else None
        if creds is not None:
            team = world.team_for_key(creds[1])
            if team is not None:
                return team
        return world.team_for_key(_access_token(scope["query_string"]))

    def _count(self, scope, team_id: str, status) -> None:
        stats = self.sandbox.world.stats
        route = scope.get("route")
        template = getattr(route, "path", None) or scope["path"]
        key = f"{scope['method']} {template}"
        stats.log.append((time.time(), team_id, key, str(status)))
        stats.logged += 1
        stats.by_route[key] += 1
        stats.by_status[str(status)] += 1
        stats.by_route_status[key][str(status)] += 1
