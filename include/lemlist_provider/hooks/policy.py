"""The error policy shared by the sync and the async hook: what to do with each answer or failure.

The transports (``requests`` / ``aiohttp``) only send, sleep and parse; every decision is made here so both
hooks behave identically:

* 429: wait ``Retry-After`` (+ jitter) and resend; never a failure by itself, but the total 429 wait of a
  call is capped (``max_rate_limit_wait``), then ``LemlistRateLimitError``.
* 500/502/503/504, timeouts, connection errors: exponential backoff with jitter, at most ``max_attempts``;
  GET/PUT/DELETE/PATCH always replayable, a POST only when the caller says ``replay_safe``.
* 401/402/403: ``LemlistAuthError`` (an ``AirflowFailException``) at once.
* 404: ``LemlistNotFoundError``; other 4xx: ``LemlistClientError``; an HTML 200: ``LemlistResponseError``.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass

from .errors import (
    LemlistAuthError,
    LemlistClientError,
    LemlistError,
    LemlistNotFoundError,
    LemlistRateLimitError,
    LemlistResponseError,
    LemlistServerError,
)

RETRYABLE_STATUSES = frozenset({500, 502, 503, 504})
AUTH_STATUSES = {401: "rejected the API key", 402: "refused the route for this plan", 403: "refused access"}
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "PATCH", "OPTIONS"})


@dataclass
class RetryConfig:
    max_attempts: int = 5  # attempts for 5xx/timeouts/resets (429s do not count)
    backoff_base: float = 0.5  # first backoff in seconds, doubled per attempt
    backoff_max: float = 30.0
    max_rate_limit_wait: float = 120.0  # total seconds one call may spend waiting on 429s
    rate_limit_jitter: float = 0.1  # seconds of random jitter added to Retry-After


@dataclass
class CallState:
    """What happened so far during one logical call (all its attempts)."""

    method: str
    route: str
    conn_id: str
    replay_safe: bool
    attempt: int = 0  # transient failures so far
    rate_limit_waited: float = 0.0
    rate_limited: int = 0  # 429s answered to this call so far
    ambiguous: bool = False  # an earlier attempt may have reached the server (5xx/timeout/reset)

    @property
    def label(self) -> str:
        return f"{self.method} {self.route}"

    @property
    def replayable(self) -> bool:
        return self.method in IDEMPOTENT_METHODS or self.replay_safe


@dataclass
class Decision:
    action: str  # "ok" | "retry" | "wait" | "raise"
    delay: float = 0.0
    reason: str = ""
    error: LemlistError | None = None


def parse_retry_after(value: str | None, default: float) -> float:
    """``Retry-After`` is seconds here (lemlist); anything unparsable falls back to ``default``."""
    if value is None:
        return default
    try:
        return max(0.0, float(value))
    except ValueError:
        return default


def error_reason(content_type: str, text: str) -> str:
    """lemlist's own reason: ``{"error"|"message": ..., "code": ...}`` JSON or a text/plain body."""
    if "json" in (content_type or ""):
        try:
            body = json.loads(text)
        except ValueError:
            return text
        if isinstance(body, dict):
            parts = [str(body[k]) for k in ("error", "message", "code") if body.get(k)]
            if parts:
                return " ".join(dict.fromkeys(parts))
        return text
    return text


class ErrorPolicy:
    def __init__(self, config: RetryConfig | None = None) -> None:
        self.config = config or RetryConfig()

    def backoff(self, attempt: int) -> float:
        base = min(self.config.backoff_max, self.config.backoff_base * (2 ** (attempt - 1)))
        return base * (0.5 + random.random() / 2) + random.random() * 0.1  # "equal jitter"

    def on_rate_limited(self, state: CallState, retry_after: str | None, reason: str) -> Decision:
        delay = parse_retry_after(retry_after, 1.0) + random.random() * self.config.rate_limit_jitter
        if state.rate_limit_waited + delay > self.config.max_rate_limit_wait:
            msg = (
                f"lemlist kept answering 429 Too Many Requests to {state.label} on connection "
                f"'{state.conn_id}' for {state.rate_limit_waited:.0f} s (cap {self.config.max_rate_limit_wait:.0f} s): "
                "another client is using the same API key's budget"
            )
            return Decision("raise", error=self._error(LemlistRateLimitError, msg, state, 429, reason))
        state.rate_limit_waited += delay
        state.rate_limited += 1
        return Decision("wait", delay, f"429 {reason or 'Too Many Requests'}".strip())

    def on_transient(self, state: CallState, what: str, status: int | None, reason: str) -> Decision:
        """A 5xx, a timeout or a reset: maybe reached the server, so a POST is resent only if replay-safe."""
        state.attempt += 1
        if not state.replayable:
            msg = (
                f"lemlist {state.label} on connection '{state.conn_id}' failed ({what}); not resent because "
                "a POST here is not safe to replay (it may have been applied): check before running it again"
            )
            return Decision("raise", error=self._error(LemlistServerError, msg, state, status, reason))
        if state.attempt >= self.config.max_attempts:
            msg = f"lemlist {state.label} on connection '{state.conn_id}' failed after {state.attempt} attempts: {what}"
            return Decision("raise", error=self._error(LemlistServerError, msg, state, status, reason))
        state.ambiguous = True
        return Decision("retry", self.backoff(state.attempt), what)

    def on_response(self, state: CallState, status: int, content_type: str, reason: str) -> Decision:
        if status == 429:
            return self.on_rate_limited(state, None, reason)  # caller passes Retry-After itself
        if status in RETRYABLE_STATUSES:
            return self.on_transient(state, f"{status} {reason}".strip(), status, reason)
        if status in AUTH_STATUSES:
            msg = (
                f"lemlist {AUTH_STATUSES[status]} of connection '{state.conn_id}' on {state.label} "
                f"({status} {reason})"
            )
            return Decision("raise", error=self._error(LemlistAuthError, msg, state, status, reason))
        if status == 404:
            msg = f"lemlist {state.label} on connection '{state.conn_id}': not found (404 {reason})"
            return Decision("raise", error=self._error(LemlistNotFoundError, msg, state, status, reason))
        if 400 <= status < 500:
            msg = f"lemlist {state.label} on connection '{state.conn_id}' rejected the request ({status} {reason})"
            return Decision("raise", error=self._error(LemlistClientError, msg, state, status, reason))
        if status >= 500:
            msg = f"lemlist {state.label} on connection '{state.conn_id}' failed ({status} {reason})"
            return Decision("raise", error=self._error(LemlistServerError, msg, state, status, reason))
        if "text/html" in (content_type or ""):
            msg = (
                f"lemlist {state.label} on connection '{state.conn_id}' answered {status} with an HTML page, "
                "not the API: unknown route or wrong Base URL"
            )
            return Decision("raise", error=self._error(LemlistResponseError, msg, state, status, "HTML page"))
        return Decision("ok")

    @staticmethod
    def _error(cls, msg: str, state: CallState, status: int | None, reason: str) -> LemlistError:
        return cls(
            msg,
            status=status,
            reason=reason,
            route=state.route,
            method=state.method,
            conn_id=state.conn_id,
            after_replay=state.ambiguous,
        )
