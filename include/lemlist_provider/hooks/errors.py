"""Exception types of the lemlist hooks, and the helpers that keep keys out of their messages.

Operators act on the type, not on text: ``LemlistNotFoundError`` (an id that does not exist),
``LemlistAuthError`` (a permanent 401/402/403, an ``AirflowFailException`` so Airflow does not retry the
task), ``LemlistRateLimitError`` (the 429 wait cap was reached), ``LemlistClientError`` (other 4xx),
``LemlistServerError`` (5xx/transport failures left after the bounded retries), ``LemlistInvalidIdError``
(a path value that cannot be what its slot names; nothing was sent).
"""

from __future__ import annotations

import base64
from collections.abc import Iterable

from airflow.sdk.exceptions import AirflowException, AirflowFailException

MAX_REASON_CHARS = 300


def secret_forms(secrets: Iterable[str | None]) -> list[str]:
    """Every spelling of a secret that could reach a body or a log: raw, and inside a Basic header."""
    forms: list[str] = []
    values = [s for s in secrets if s]
    for value in values:
        forms.append(value)
        forms.append(base64.b64encode(f":{value}".encode()).decode())
        for other in values:
            if other != value:
                forms.append(base64.b64encode(f"{other}:{value}".encode()).decode())
    # longest first, so a Basic token is replaced before a key that may be a substring of it
    return sorted(set(forms), key=len, reverse=True)


def scrub(text: str | None, secrets: Iterable[str], limit: int = MAX_REASON_CHARS) -> str:
    """Replace every form of the secrets with ``***`` and truncate: error bodies may echo headers."""
    if not text:
        return ""
    out = str(text)
    for form in secrets:
        if form:
            out = out.replace(form, "***")
    out = " ".join(out.split())
    if len(out) > limit:
        out = out[:limit] + "..."
    return out


class LemlistError(AirflowException):
    """Base of every error the hooks raise. ``route`` is the path template, never a URL with values."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        reason: str = "",
        route: str = "",
        method: str = "",
        conn_id: str = "",
        after_replay: bool = False,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.route = route
        self.method = method
        self.conn_id = conn_id
        self.after_replay = after_replay


class LemlistAuthError(LemlistError, AirflowFailException):
    """401/402/403: the key, the plan or the user is the problem; retrying the task cannot help."""


class LemlistNotFoundError(LemlistError):
    """404: the campaign, lead, export or enrichment does not exist (or an export status expired)."""


class LemlistClientError(LemlistError):
    """Another 4xx: the request itself is wrong; ``reason`` holds lemlist's own message."""


class LemlistInvalidIdError(LemlistClientError, AirflowFailException):
    """An id (or email, or unsubscribe value) that cannot go into its URL slot: refused before sending.

    A task retry would send the same value again, so Airflow does not retry it.
    """


class LemlistRateLimitError(LemlistError):
    """429s went on longer than the configured cap on total waiting for one call."""


class LemlistServerError(LemlistError):
    """5xx, timeouts or connection resets left after the bounded retries (or a POST not safe to resend)."""


class LemlistResponseError(LemlistError):
    """A response that is not what lemlist answers: e.g. the web app's HTML with a 200 (unknown path)."""
