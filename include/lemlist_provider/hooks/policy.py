"""What an answer from lemlist means: decided here once, without I/O, for the sync and the async hook.

A hook opens a ``Call`` for each logical request and only does the I/O around it::

    while True:
        call.sending(call.gate.acquire())      # take a send slot (``await gate.aacquire()`` in asyncio)
        send; on a timeout or reset: sleep(call.failed(...)) and loop
        delay = call.answered(status, headers, read_text)
        if delay is None: return the answer
        sleep(delay)

``answered`` and ``failed`` report to the gate, count, log the wait, and either return how long to sleep
before resending or raise the typed error:

* 429: wait ``Retry-After`` (+ jitter) and resend; never a failure by itself, but the total 429 wait of a
  call is capped (``max_rate_limit_wait``), then ``LemlistRateLimitError``.
* 500/502/503/504, timeouts, connection errors: exponential backoff with jitter, at most ``max_attempts``;
  GET/PUT/DELETE/PATCH always replayable, a POST only when the caller says ``replay_safe``.
* 401/402/403: ``LemlistAuthError`` (an ``AirflowFailException``) at once.
* 404: ``LemlistNotFoundError``; other 4xx: ``LemlistClientError``; an HTML 200: ``LemlistResponseError``.
"""

from __future__ import annotations

import calendar
import json
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from .errors import (
    LemlistAuthError,
    LemlistClientError,
    LemlistError,
    LemlistNotFoundError,
    LemlistRateLimitError,
    LemlistResponseError,
    LemlistServerError,
)
from .ratelimit import UNPACED, RateAnswer, SendGate

if TYPE_CHECKING:
    from .transport import LemlistTransport

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


def _header(headers: Mapping[str, str], name: str, cast: type = float) -> Any:
    try:
        return cast(float(headers[name]))
    except (KeyError, ValueError):
        return None


_MONTHS = {name: number for number, name in enumerate(calendar.month_abbr) if name}


def reset_epoch(value: str | None) -> float | None:
    """``X-RateLimit-Reset`` as epoch seconds. lemlist sends a JavaScript ``Date.toString()`` (``Tue Feb 16 2021
    09:02:42 GMT+0100 (Central European Standard Time)``): a date to the second. Parsed without the process's
    locale (``strptime``'s ``%b`` follows it); anything else is ``None``."""
    try:
        _, month, day, year, clock, zone = (value or "").split(" (", 1)[0].split()
        hours, minutes, seconds = (int(part) for part in clock.split(":"))
        if not (zone.startswith("GMT") and len(zone) == 8 and zone[3] in "+-"):
            return None
        offset = timedelta(hours=int(zone[4:6]), minutes=int(zone[6:8])) * (1 if zone[3] == "+" else -1)
        moment = datetime(
            int(year), _MONTHS[month], int(day), hours, minutes, seconds, tzinfo=timezone(offset)
        )
        return moment.timestamp()
    except (ValueError, KeyError, OverflowError):
        return None


def error_reason(content_type: str, text: str) -> str:
    """lemlist's own reason: ``{"error"|"message": ..., "code": ...}`` JSON or a text/plain body."""
    if "json" in content_type:
        try:
            body = json.loads(text)
        except ValueError:
            return text
        if isinstance(body, dict):
            parts = [str(body[k]) for k in ("error", "message", "code") if body.get(k)]
            if parts:
                return " ".join(dict.fromkeys(parts))
    return text


def parse_body(content_type: str, text: str) -> Any:
    """A successful answer: JSON when lemlist says so, else the text; ``None`` when empty (204)."""
    if not text:
        return None
    return json.loads(text) if "json" in content_type else text


class Call:
    """One logical call (all its attempts): the answers go in, "sleep this long and resend" or an error
    comes out. ``route`` is the path template, so messages never carry ids, emails or the key."""

    def __init__(
        self, owner: LemlistTransport, method: str, route: str, url: str, *, with_key: bool, replay_safe: bool
    ) -> None:
        self.owner, self.config, self.method, self.route = owner, owner.retry_config, method, route
        self.url = url
        self.with_key = with_key  # on the connection's origin: the key and its gate go with it
        self.gate: SendGate = owner.limiter if with_key else UNPACED
        self.replayable = method in IDEMPOTENT_METHODS or replay_safe
        self.attempt = 0  # transient failures so far
        self.rate_limited = 0  # 429s answered to this call so far
        self.rate_limit_waited = 0.0
        self.ambiguous = False  # an earlier attempt may have reached the server (5xx/timeout/reset)
        self.sent_at = 0.0
        self.label, self.conn_id = f"{method} {route}", owner._conn_id

    @property
    def where(self) -> str:
        return f"lemlist {self.label} on connection '{self.conn_id}'"

    def sending(self, waited: float) -> None:
        """The gate gave a slot after ``waited`` seconds; the request goes out now."""
        self.owner.waited(waited, ahead=False)
        self.owner._count("requests")
        self.sent_at = time.monotonic()

    def failed(self, timed_out: bool, detail: str) -> float:
        """No answer (timeout, reset): the seconds to wait before resending, or the error."""
        self.gate.no_answer()
        what = "timeout" if timed_out else "connection error/reset"
        return self._transient(what, None, self.owner._scrub(detail))

    def answered(
        self, status: int, headers: Mapping[str, str], text: str | Callable[[], str]
    ) -> float | None:
        """``None``: the answer is the result. Else the seconds to wait before resending, or the error.

        ``text`` may be a callable, called only for an error answer: a streamed success is not read here.
        """
        retry_after, limit = _header(headers, "Retry-After"), _header(headers, "X-RateLimit-Limit", int)
        remaining = _header(headers, "X-RateLimit-Remaining", int)
        reset = reset_epoch(headers.get("X-RateLimit-Reset"))
        self.gate.observe(RateAnswer(status, limit, remaining, retry_after, self.sent_at, reset))
        if self.with_key:
            self.owner.note_pacing(self.gate)
        content_type = headers.get("Content-Type") or ""
        if status < 400 and "text/html" not in content_type:
            return None
        text = text() if callable(text) else text
        reason = self.owner._scrub(error_reason(content_type, text)) if status >= 400 else ""
        if status == 429:
            return self._rate_limited(retry_after, reason)
        if status in RETRYABLE_STATUSES:
            return self._transient(f"{status} {reason}".strip(), status, reason)
        if status in AUTH_STATUSES:
            msg = f"lemlist {AUTH_STATUSES[status]} of connection '{self.conn_id}' on {self.label}"
            raise self._error(LemlistAuthError, f"{msg} ({status} {reason})", status, reason)
        if status == 404:
            raise self._error(LemlistNotFoundError, f"{self.where}: not found (404 {reason})", status, reason)
        if 400 <= status < 500:
            msg = f"{self.where} rejected the request ({status} {reason})"
            raise self._error(LemlistClientError, msg, status, reason)
        if status >= 500:
            raise self._error(LemlistServerError, f"{self.where} failed ({status} {reason})", status, reason)
        msg = (
            f"{self.where} answered {status} with an HTML page, not the API: unknown route or wrong Base URL"
        )
        raise self._error(LemlistResponseError, msg, status, "HTML page")

    def _rate_limited(self, retry_after: float | None, reason: str) -> float:
        self.owner._count("rate_limited")
        jitter, cap = random.random() * self.config.rate_limit_jitter, self.config.max_rate_limit_wait
        delay = (1.0 if retry_after is None else max(0.0, retry_after)) + jitter
        if self.rate_limit_waited + delay > cap:
            msg = (
                f"lemlist kept answering 429 Too Many Requests to {self.label} on connection '{self.conn_id}' "
                f"for {self.rate_limit_waited:.0f} s (cap {cap:.0f} s): another client is using the same API "
                "key's budget"
            )
            raise self._error(LemlistRateLimitError, msg, 429, reason)
        self.rate_limit_waited += delay
        self.rate_limited += 1
        self.owner.log.warning(
            f"lemlist {self.label}: rate limited (429 {reason or 'Too Many Requests'}), 429 #{self.rate_limited} "
            f"of this call; waiting {delay:.2f} s before resending ({self.rate_limit_waited:.1f} s of the "
            f"{cap:.0f} s cap used)"
        )
        return self._waiting(delay)

    def _transient(self, what: str, status: int | None, reason: str) -> float:
        """A 5xx, a timeout or a reset may have reached the server: a POST is resent only if replay-safe."""
        self.attempt += 1
        if not self.replayable:
            msg = (
                f"{self.where} failed ({what}); not resent because a POST here is not safe to replay "
                "(it may have been applied): check before running it again"
            )
            raise self._error(LemlistServerError, msg, status, reason)
        if self.attempt >= self.config.max_attempts:
            msg = f"{self.where} failed after {self.attempt} attempts: {what}"
            raise self._error(LemlistServerError, msg, status, reason)
        self.ambiguous = True
        base = min(self.config.backoff_max, self.config.backoff_base * (2 ** (self.attempt - 1)))
        delay = base * (0.5 + random.random() / 2) + random.random() * 0.1  # "equal jitter"
        self.owner._count("retries")
        attempts = f"{self.attempt}/{self.config.max_attempts}"
        self.owner.log.warning(
            f"lemlist {self.label}: attempt {attempts} failed ({what}); retrying in {delay:.2f} s"
        )
        return self._waiting(delay)

    def _waiting(self, delay: float) -> float:
        self.owner.waited(delay, ahead=True)
        return delay

    def _error(self, cls: type[LemlistError], msg: str, status: int | None, reason: str) -> LemlistError:
        self.owner._count("failures")
        context = {"route": self.route, "method": self.method, "conn_id": self.conn_id}
        return cls(msg, status=status, reason=reason, after_replay=self.ambiguous, **context)
