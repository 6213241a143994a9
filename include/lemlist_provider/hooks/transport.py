"""What the sync and the async hook share: the connection, where a call may go, and the counters.

``LemlistTransport`` reads the connection once (base URL, key, budget, retry settings), turns a route and
its values into a URL, and opens the ``Call`` (``policy.py``) that decides what each answer means. Two
rules hold here for every call, whichever public method sent it:

* every value that goes into a URL path is checked against its slot (``campaign_id`` must be ``cam_...``,
  ``lead`` a lead id or an email, any slot non-empty and not ``.`` or ``..``) before anything is sent;
* the key, and the key's rate gate, go only with requests to the exact scheme, host and port of the
  connection's base URL: an absolute URL elsewhere (a signed export link) is sent bare and unpaced.
"""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Mapping
from functools import lru_cache
from string import Formatter
from typing import Any
from urllib.parse import quote, urlsplit

from airflow.sdk.log import mask_secret
from airflow.sdk.observability.stats import Stats

from ..figures import WaitIntervals
from .errors import LemlistInvalidIdError, scrub, secret_forms
from .policy import Call, RetryConfig
from .ratelimit import DEFAULT_LIMIT, DEFAULT_WINDOW, UNPACED, limiter_for
from .shared_window import redis_url_of

LEMLIST_API = "https://api.lemlist.com/api"
DEFAULT_TIMEOUT = 30.0
METRIC_NAMES = ("requests", "rate_limited", "retries", "failures")

_ID = "_[A-Za-z0-9]+"
_EMAIL = r"[^@\s]+@[^@\s]+"
#: what each path slot of the routes accepts, by the slot's name (shapes from lemlist's spec examples and
#: the sandbox, e.g. ``cam_A1B2C3D4E5F6G7H8I9``; companies appear as both ``cpn_`` and ``cmp_``).
#: Slots not listed (unsubscribe values: an email, ``@domain``, a LinkedIn URL or a phone) only have to be
#: a non-empty string that is not a dot segment.
SLOT_SHAPES = {
    "campaign_id": ("a campaign id (cam_...)", f"cam{_ID}"),
    "export_id": ("an export id (axp_...)", f"axp{_ID}"),
    "enrich_id": ("an enrichment id (enr_...)", f"enr{_ID}"),
    "lead_id": ("a lead id (lea_...)", f"lea{_ID}"),
    "lead": ("a lead id (lea_...) or an email", f"lea{_ID}|{_EMAIL}"),
    "email": ("an email", _EMAIL),
    "contact_id": ("a contact id (ctc_...)", f"ctc{_ID}"),
    "contact": ("a contact id (ctc_...) or an email", f"ctc{_ID}|{_EMAIL}"),
    "company_id": ("a company id (cpn_... or cmp_...)", f"(cpn|cmp){_ID}"),
    "sequence_id": ("a sequence id (seq_...)", f"seq{_ID}"),
    "step_id": ("a step id (stp_...)", f"stp{_ID}"),
    "schedule_id": ("a schedule id (skd_...)", f"skd{_ID}"),
    "user_id": ("a user id (usr_...)", f"usr{_ID}"),
    "mailbox_id": ("a mailbox id (usm_...)", f"usm{_ID}"),
    "hook_id": ("a webhook id (hoo_...)", f"hoo{_ID}"),
    "label_id": ("a label id (lbl_...)", f"lbl{_ID}"),
}
_SLOT_PATTERNS = {slot: re.compile(pattern) for slot, (_, pattern) in SLOT_SHAPES.items()}


def emit(name: str, conn_id: str, count: int = 1) -> None:
    """Add ``count`` to the Airflow metric ``name`` and to its per-connection twin ``lemlist.conn.<conn_id>.*``
    (plain StatsD has no tags); names are listed in docs/operating.md. Metrics never break a call."""
    try:
        Stats.incr(name, count, tags={"conn_id": conn_id})
        Stats.incr(f"lemlist.conn.{conn_id}.{name.removeprefix('lemlist.')}", count)
    except Exception:  # noqa: BLE001, S110 - a metrics backend that fails must not fail the request
        pass


def slot_problem(slot: str, value: Any) -> str | None:
    """Why ``value`` cannot fill the path slot ``slot`` (``None`` when it can)."""
    if not isinstance(value, str):
        return f"must be a string, got {type(value).__name__}"
    if not value.strip() or set(value) <= {"."}:
        return "is empty or a dot segment, which would leave its place in the URL"
    if any(ord(char) < 32 for char in value):
        return "contains control characters"
    pattern = _SLOT_PATTERNS.get(slot)
    if pattern is not None and not pattern.fullmatch(value):
        return f"is not {SLOT_SHAPES[slot][0]}"
    return None


def fill_route(route: str, values: Mapping[str, Any]) -> str:
    """``route`` with each ``{slot}`` replaced by its URL-encoded value; ``ValueError`` names a bad one."""
    path = route
    if values:
        for slot, value in values.items():
            problem = slot_problem(slot, value)
            if problem:
                raise ValueError(f"{slot} {problem}")
        path = route.format(**{slot: quote(value, safe="") for slot, value in values.items()})
    if "." in path and {".", ".."} & set(path.split("/")):
        raise ValueError("a '.' or '..' segment would leave the route")
    return path


@lru_cache(maxsize=512)
def _slots(route: str) -> tuple[str, str, tuple[str, ...]]:
    method, path = route.split(" ", 1)
    return method, path, tuple(name for _, name, _, _ in Formatter().parse(path) if name)


def split_route(route: str, values: tuple) -> tuple[str, str, dict[str, Any]]:
    """``"GET /campaigns/{campaign_id}"`` and its slot values in order -> method, path, ``{slot: value}``."""
    method, path, slots = _slots(route)
    if len(slots) != len(values):
        raise TypeError(f"{route} takes {len(slots)} path values, got {len(values)}")
    return method, path, dict(zip(slots, values, strict=True))


def origin(url: str) -> tuple[str, str, int | None] | None:
    """``(scheme, host, port)`` of a URL, or ``None`` when it has user info or a backslash (parsers
    disagree on where such a URL goes, so it never gets the key)."""
    parts = urlsplit(url)
    if "@" in parts.netloc or "\\" in url:
        return None
    try:
        port = parts.port or {"http": 80, "https": 443}.get(parts.scheme.lower())
    except ValueError:
        return None
    return parts.scheme.lower(), parts.hostname or "", port


class LemlistTransport:
    """Connection, URLs and counters for a hook of lemlist's services; the hook adds the I/O."""

    default_host = LEMLIST_API
    conn_type = "lemlist"
    login_required = False  # lemcal: login is the userId

    # until the connection is read (``_apply_connection``): nothing loaded, no key, no gate
    base_url, _origin, _login, _password, _secrets, _loaded = "", None, "", "", (), False
    timeout, rate_limit, rate_window, limiter = DEFAULT_TIMEOUT, DEFAULT_LIMIT, DEFAULT_WINDOW, UNPACED

    def _init_transport(self, conn_id: str, retry_config: RetryConfig | None) -> None:
        self._conn_id = conn_id
        self.retry_config = retry_config or RetryConfig()
        self.counters: dict[str, float] = dict.fromkeys(("waited_seconds", *METRIC_NAMES), 0)
        self.wait_intervals = WaitIntervals()
        self._pacing_others: int | None = None  # sharers of the key last logged (``note_pacing``)

    def _apply_connection(self, conn: Any, store_conn: Any = None) -> None:
        """Read the connection once: base URL, key, budget, shared rate store. The key is masked in every
        Airflow log. ``store_conn`` is the Redis connection its ``redis_conn_id`` names, when the caller has
        fetched it already (the async hook, which must not fetch it blocking)."""
        password = conn.password or ""
        if password:
            mask_secret(password)
        self._password = password
        self._login = conn.login or ""
        self._secrets = secret_forms([password, self._login if self.login_required else None])
        host = (conn.host or self.default_host).strip()
        if "://" not in host:
            host = f"{conn.schema or 'https'}://{host}"
            if conn.port:
                host = f"{host}:{conn.port}"
        self.base_url = host.rstrip("/")
        self._origin = origin(self.base_url)
        extra = conn.extra_dejson or {}
        if extra.get("rate_limit") is not None:
            self.rate_limit = int(extra["rate_limit"])
        self.rate_window = float(extra.get("rate_window") or DEFAULT_WINDOW)
        self.timeout = float(extra.get("timeout") or DEFAULT_TIMEOUT)
        overrides = {"max_attempts": int, "max_rate_limit_wait": float}
        self.retry_config = dataclasses.replace(
            self.retry_config,
            **{k: cast(extra[k]) for k, cast in overrides.items() if extra.get(k) is not None},
        )
        self.limiter = limiter_for(
            self.base_url,
            password,
            self.rate_limit,
            self.rate_window,
            self._rate_store_url(extra, store_conn),
        )
        self._loaded = True

    def _rate_store_url(self, extra: Mapping, store_conn: Any = None) -> str | None:
        """The Redis URL of the key's shared send window: extra ``rate_store`` (a ``redis://`` or
        ``rediss://`` URL) or the connection extra ``redis_conn_id`` names; ``None``: the local store."""
        url = str(extra.get("rate_store") or "").strip()
        if url:
            if not url.startswith(("redis://", "rediss://", "unix://")):
                raise ValueError(
                    f"connection '{self._conn_id}': extra rate_store must be a redis:// or rediss:// URL"
                )
            return url
        redis_conn_id = str(extra.get("redis_conn_id") or "").strip()
        if not redis_conn_id:
            return None
        if store_conn is None:
            from airflow.sdk import BaseHook

            store_conn = BaseHook.get_connection(redis_conn_id)
        if store_conn.password:
            mask_secret(store_conn.password)
        return redis_url_of(store_conn)

    def _auth_pair(self) -> tuple[str, str]:
        return (self._login if self.login_required else "", self._password)

    def _call(
        self, method: str, path: str, values: Mapping | None, replay_safe: bool, auth: bool = True
    ) -> Call:
        """Open one logical call to ``path``: a route template (``/campaigns/{campaign_id}``) filled from
        ``values``, each checked and URL-encoded, or an absolute URL, which gets the key (and the key's
        gate) only on the connection's exact origin."""
        method = method.upper()
        if path.startswith(("http://", "https://")):
            with_key = auth and self._origin is not None and origin(path) == self._origin
            return Call(self, method, urlsplit(path).path, path, replay_safe=replay_safe, with_key=with_key)
        try:
            filled = fill_route(path, values or {})
        except ValueError as exc:
            msg = f"lemlist {method} {path} on connection '{self._conn_id}': {exc}; nothing was sent"
            raise LemlistInvalidIdError(
                msg, reason=str(exc), route=path, method=method, conn_id=self._conn_id
            ) from None
        url = f"{self.base_url}/{filled.lstrip('/')}"
        return Call(self, method, path, url, replay_safe=replay_safe, with_key=auth)

    def _count(self, name: str) -> None:
        self.counters[name] += 1
        emit(f"lemlist.{name}", self._conn_id)

    def _scrub(self, text: str | None) -> str:
        return scrub(text, self._secrets)

    def note_pacing(self, gate: Any) -> None:
        """Log the pacing when the number of processes sharing the key changes: that is when a task slows
        down (or speeds up) for reasons outside it. Reads the gate's estimate (``sharers``, ``quota`` per
        ``window``) where the gate has one (a layered gate's is its header-based layer's, which reads every
        answer); a gate without it (unpaced, another limiter) logs nothing."""
        estimate = getattr(gate, "header", gate)
        sharers, quota, window = (getattr(estimate, name, None) for name in ("sharers", "quota", "window"))
        if not isinstance(sharers, int | float) or not isinstance(quota, int) or not window:
            return
        others = max(0, round(sharers) - 1)
        last = self._pacing_others
        # a change of one sharer either way is the estimate's own noise (a sharer between two sends, an
        # answer counted at the window's edge): only a real change, or alone <-> shared, is worth a line
        if others == last or (others and last and abs(others - last) < 2):
            return
        first, self._pacing_others = last is None, others
        rate = quota / float(window)
        if others:
            self.log.info(f"lemlist pacing on connection '{self._conn_id}': sharing the key with ~{others} "
                          f"other{'s' if others > 1 else ''}: {rate:.1f} req/s")  # fmt: skip
        elif not first:
            self.log.info(f"lemlist pacing on connection '{self._conn_id}': alone on the key again")

    def waited(self, seconds: float, *, ahead: bool) -> None:
        """Count a wait: the ``seconds`` just waited (the gate), or about to be slept (``ahead``: a 429 or a
        backoff). Kept as a wall-clock interval so that waits overlapping in threads count once."""
        start = time.time() if ahead else time.time() - seconds
        self.counters["waited_seconds"] += seconds
        self.wait_intervals.add(start, start + seconds)
        if seconds > 0:
            emit("lemlist.waited_ms", self._conn_id, round(seconds * 1000))

    def metrics(self) -> dict[str, float]:
        """Counters of this hook: requests sent, 429s seen, retries, failed calls, and the wall-clock seconds
        spent waiting (the union of its wait intervals, not their sum)."""
        out = dict(self.counters)
        out["waited_seconds"] = self.wait_intervals.seconds()
        return out
