"""``LemlistHook``: transport and policy for lemlist's REST API (endpoint methods live in ``endpoints.py``).

Fixes what ``HttpHook`` gets wrong for lemlist (see docs/airflow-3-notes.md): Basic auth with an empty login
is set on the session here, the connection extra (rate budget, timeout) is never sent as headers, responses
are inspected by the shared ``ErrorPolicy`` instead of ``check_response`` raising, and one
``requests.Session`` is cached per hook.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urlparse

import requests
from airflow.providers.http.hooks.http import HttpHook
from requests.adapters import HTTPAdapter
from requests.auth import HTTPBasicAuth

from .endpoints import LemlistEndpointsMixin
from .errors import LemlistError, scrub, secret_forms
from .policy import CallState, ErrorPolicy, RetryConfig, error_reason
from .ratelimit import DEFAULT_LIMIT, DEFAULT_WINDOW, RateLimiter, limiter_for

try:  # Airflow 3.3: the task SDK's metrics facade
    from airflow.sdk.observability.stats import Stats
except ImportError:  # pragma: no cover - older Airflow
    from airflow.stats import Stats  # type: ignore[no-redef]

try:
    from airflow.sdk.log import mask_secret
except ImportError:  # pragma: no cover
    from airflow.utils.log.secrets_masker import mask_secret  # type: ignore[no-redef]

LEMLIST_API = "https://api.lemlist.com/api"
DEFAULT_TIMEOUT = 30.0
METRIC_NAMES = ("requests", "rate_limited", "retries", "failures")
ITEM_KEYS = (
    "items", "data", "results", "campaigns", "leads", "activities", "unsubscribes", "schedules",
    "companies", "contacts", "tasks", "conversations", "notes", "labels", "hooks", "meetings",
)  # fmt: skip


def extract_items(body: Any, items_key: str | None = None) -> list:
    """The list in a page: a plain list, ``body[items_key]``, or the first known list key of an object."""
    if isinstance(body, list):
        return body
    if not isinstance(body, dict):
        return []
    if items_key:
        value = body.get(items_key)
        return value if isinstance(value, list) else []
    for key in ITEM_KEYS:
        if isinstance(body.get(key), list):
            return body[key]
    for value in body.values():
        if isinstance(value, list):
            return value
    return []


def pagination_done(body: Any) -> bool:
    """``{"pagination": {"nextPage": null}}`` or ``currentPage >= totalPage`` end a paged list."""
    if not isinstance(body, dict) or not isinstance(body.get("pagination"), dict):
        return False
    pag = body["pagination"]
    if "nextPage" in pag and pag["nextPage"] in (None, False, 0, ""):
        return True
    current, total = pag.get("currentPage"), pag.get("totalPage")
    return isinstance(current, int) and isinstance(total, int) and current >= total


class LemlistTransportMixin:
    """Connection loading, secrets, counters: shared by the sync and async hooks."""

    default_host = LEMLIST_API
    conn_type = "lemlist"
    login_required = False  # lemcal: login is the userId

    def _init_transport(self, conn_id: str, retry_config: RetryConfig | None) -> None:
        self.conn_id_value = conn_id
        self.policy = ErrorPolicy(retry_config)
        self.counters: dict[str, float] = {
            "requests": 0, "rate_limited": 0, "retries": 0, "failures": 0, "waited_seconds": 0.0,
        }  # fmt: skip
        self._secrets: list[str] = []
        self._loaded = False
        self.base_url = ""
        self.timeout = DEFAULT_TIMEOUT
        self.rate_limit = DEFAULT_LIMIT
        self.rate_window = DEFAULT_WINDOW
        self._login = ""
        self._password = ""
        self.limiter: RateLimiter | None = None

    def _apply_connection(self, conn: Any) -> None:
        """Read the connection once: base URL, key, budget. The key is masked in every Airflow log."""
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
        extra = conn.extra_dejson or {}
        self.rate_limit = int(
            extra.get("rate_limit", DEFAULT_LIMIT) if extra.get("rate_limit") is not None else DEFAULT_LIMIT
        )
        self.rate_window = float(extra.get("rate_window") or DEFAULT_WINDOW)
        self.timeout = float(extra.get("timeout") or DEFAULT_TIMEOUT)
        if extra.get("max_rate_limit_wait") is not None:
            self.policy.config.max_rate_limit_wait = float(extra["max_rate_limit_wait"])
        if extra.get("max_attempts") is not None:
            self.policy.config.max_attempts = int(extra["max_attempts"])
        self.limiter = limiter_for(self.base_url, password, self.rate_limit, self.rate_window)
        self._loaded = True

    def _auth_pair(self) -> tuple[str, str]:
        return (self._login if self.login_required else "", self._password)

    def _url(self, path: str, path_params: dict[str, Any] | None) -> str:
        if path.startswith(("http://", "https://")):
            return path
        if path_params:
            path = path.format(**{k: quote(str(v), safe="") for k, v in path_params.items()})
        return f"{self.base_url}/{path.lstrip('/')}"

    def _count(self, name: str, amount: float = 1) -> None:
        self.counters[name] += amount
        if name in METRIC_NAMES:
            try:
                Stats.incr(f"lemlist.{name}", int(amount))
            except Exception:  # metrics must never break a call
                pass

    def _scrub(self, text: str | None) -> str:
        return scrub(text, self._secrets)

    def metrics(self) -> dict[str, float]:
        """Counters of this hook: requests sent, 429s seen, retries, failed calls, seconds spent waiting."""
        out = dict(self.counters)
        out["waited_seconds"] = round(out["waited_seconds"], 3)
        return out

    def _rate_headers(self, headers: Any) -> tuple[int | None, int | None, float | None]:
        def num(name: str) -> float | None:
            value = headers.get(name)
            try:
                return float(value) if value is not None else None
            except ValueError:
                return None

        limit, remaining, retry_after = (
            num("X-RateLimit-Limit"),
            num("X-RateLimit-Remaining"),
            num("Retry-After"),
        )
        return (
            int(limit) if limit is not None else None,
            int(remaining) if remaining is not None else None,
            retry_after,
        )

    def _log_wait(self, state: CallState, kind: str, delay: float, reason: str) -> None:
        if kind == "wait":
            self.log.warning(
                "lemlist %s: rate limited (%s), 429 #%d of this call; waiting %.2f s before resending "
                "(%.1f s of the %.0f s cap used)",
                state.label, reason, state.rate_limited, delay, state.rate_limit_waited,
                self.policy.config.max_rate_limit_wait,
            )  # fmt: skip
        else:
            self.log.warning(
                "lemlist %s: attempt %d/%d failed (%s); retrying in %.2f s",
                state.label, state.attempt, self.policy.config.max_attempts, reason, delay,
            )  # fmt: skip


class LemlistHook(LemlistEndpointsMixin, LemlistTransportMixin, HttpHook):
    """Sync hook for lemlist: every endpoint, paced to the key's shared budget, with lemlist's error policy.

    :param lemlist_conn_id: connection of type ``lemlist`` (password = API key; host defaults to the real API)
    :param retry_config: attempts, backoff and the cap on total 429 waiting per call
    """

    conn_name_attr = "lemlist_conn_id"
    default_conn_name = "lemlist_default"
    conn_type = "lemlist"
    hook_name = "lemlist"

    def __init__(
        self, lemlist_conn_id: str = default_conn_name, *, retry_config: RetryConfig | None = None
    ) -> None:
        super().__init__(method="GET", http_conn_id=lemlist_conn_id)
        self.lemlist_conn_id = lemlist_conn_id
        self._session: requests.Session | None = None
        self._init_transport(lemlist_conn_id, retry_config)

    # -- connection and session --------------------------------------------------------------------
    def _ensure_loaded(self) -> None:
        if not self._loaded:
            self._apply_connection(self.get_connection(self.lemlist_conn_id))
            self._base_url_initialized = True

    def get_conn(
        self, headers: dict[str, Any] | None = None, extra_options: dict[str, Any] | None = None
    ) -> requests.Session:
        """The hook's one session: Basic auth from the key, JSON accept header, and nothing from extra."""
        self._ensure_loaded()
        if self._session is None:
            session = requests.Session()
            session.auth = HTTPBasicAuth(*self._auth_pair())
            session.headers.update({"Accept": "application/json", "User-Agent": "airflow-provider-lemlist"})
            adapter = HTTPAdapter(pool_connections=4, pool_maxsize=32)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            self._session = session
        if headers:
            self._session.headers.update(headers)
        return self._session

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None

    # -- the one request loop ------------------------------------------------------------------------
    def request(
        self,
        method: str,
        path: str,
        *,
        path_params: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        json: Any = None,
        data: Any = None,
        files: Any = None,
        replay_safe: bool = False,
        stream: bool = False,
        raw: bool = False,
        auth: bool = True,
    ) -> Any:
        """Send one logical call with pacing and the error policy; return parsed JSON (or text).

        ``path`` is a template (``/campaigns/{campaign_id}``) filled from ``path_params`` with every value
        URL-encoded; errors name the template, never the values or the key. ``replay_safe`` allows a POST to
        be resent after an ambiguous failure. ``stream``/``raw`` return the ``requests.Response`` itself.
        ``auth=False`` (absolute URLs on another host, e.g. a signed export link) sends no credentials.
        """
        session = self.get_conn()
        method = method.upper()
        url = self._url(path, path_params)
        state = CallState(
            method,
            path if not path.startswith("http") else urlparse(path).path,
            self.lemlist_conn_id,
            replay_safe,
        )
        limiter = self.limiter if auth else None
        while True:
            if limiter is not None and limiter.enabled:
                self.counters["waited_seconds"] += limiter.acquire()
            self._count("requests")
            sent_at = time.monotonic()
            try:
                response = session.request(
                    method, url, params=params, json=json, data=data, files=files, timeout=self.timeout,
                    stream=stream, auth=None if auth else _NoAuth(),
                )  # fmt: skip
            except (requests.Timeout, requests.ConnectionError) as exc:
                if limiter is not None:
                    limiter.release_probe()
                what = "timeout" if isinstance(exc, requests.Timeout) else "connection error/reset"
                decision = self.policy.on_transient(state, what, None, self._scrub(str(exc)))
                if decision.action == "raise":
                    self._fail(decision.error)
                self._count("retries")
                self._log_wait(state, "retry", decision.delay, what)
                self._sleep(decision.delay)
                continue
            limit, remaining, retry_after = self._rate_headers(response.headers)
            if limiter is not None:
                limiter.observe(response.status_code, limit, remaining, retry_after, sent_at)
            status = response.status_code
            ctype = response.headers.get("Content-Type", "")
            if status < 400 and "text/html" not in ctype:
                if raw or stream:
                    return response
                return self._parse(response)
            reason = self._scrub(error_reason(ctype, response.text)) if status >= 400 else ""
            if status == 429:
                self._count("rate_limited")
                decision = self.policy.on_rate_limited(state, response.headers.get("Retry-After"), reason)
            else:
                decision = self.policy.on_response(state, status, ctype, reason)
            response.close()
            if decision.action == "raise":
                self._fail(decision.error)
            if decision.action == "retry":
                self._count("retries")
            self._log_wait(state, decision.action, decision.delay, decision.reason)
            self._sleep(decision.delay)

    def _sleep(self, delay: float) -> None:
        self.counters["waited_seconds"] += delay
        time.sleep(delay)

    def _fail(self, error: LemlistError | None) -> None:
        self._count("failures")
        raise error  # type: ignore[misc]

    @staticmethod
    def _parse(response: requests.Response) -> Any:
        if response.status_code == 204 or not response.content:
            return None
        if "json" in response.headers.get("Content-Type", ""):
            return response.json()
        return response.text

    # -- pagination ------------------------------------------------------------------------------------
    def paginate(
        self,
        path: str,
        params: dict[str, Any] | None = None,
        *,
        path_params: dict[str, Any] | None = None,
        style: str = "offset",
        page_size: int = 100,
        items_key: str | None = None,
        max_pages: int | None = None,
    ) -> Iterator[Any]:
        """Yield every item of a list endpoint, page by page.

        ``style``: ``offset`` (offset/limit), ``page`` (1-based page + limit), ``page0`` (0-based page, e.g.
        ``/tasks``) or ``auto`` (offset/limit, following ``pagination`` when the answer has it). A short page,
        an empty page, ``pagination.nextPage`` null or ``currentPage >= totalPage`` end the list.
        """
        if style not in ("offset", "page", "page0", "auto"):
            raise ValueError(f"unknown pagination style {style!r}")
        base = dict(params or {})
        offset, page = 0, 0 if style == "page0" else 1
        pages = 0
        previous_first: Any = object()
        while True:
            query = dict(base)
            if style in ("offset", "auto"):
                query.update(offset=offset, limit=page_size)
            else:
                query.update(page=page, limit=page_size)
            body = self.request("GET", path, path_params=path_params, params=query)
            items = extract_items(body, items_key)
            pages += 1
            if not items or (items and items[0] == previous_first and len(items) == page_size):
                return  # empty, or the server ignored the cursor and sent the same page again
            previous_first = items[0]
            yield from items
            if len(items) < page_size or pagination_done(body) or (max_pages and pages >= max_pages):
                return
            offset += len(items)
            page += 1

    # -- UI ----------------------------------------------------------------------------------------------
    def test_connection(self) -> tuple[bool, str]:
        """``GET /team`` with the connection's key; a clear message on failure (never the key)."""
        try:
            team = self.get_team()
        except LemlistError as exc:
            return False, str(exc)
        except Exception as exc:  # bad URL, DNS, ...
            return False, f"lemlist connection '{self.lemlist_conn_id}' failed: {self._scrub(str(exc))}"
        name = team.get("name") if isinstance(team, dict) else None
        return True, f"Connected to lemlist team {name!r}" if name else "Connected to lemlist"


class _NoAuth(requests.auth.AuthBase):
    """Overrides the session's Basic auth for URLs that must not receive the key (e.g. signed links)."""

    def __call__(self, request):
        request.headers.pop("Authorization", None)
        return request
