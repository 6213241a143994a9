"""The sync hooks: ``LemlistBaseHook`` (requests I/O over the shared transport) and ``LemlistHook``.

``LemlistBaseHook`` is providers-http's ``HttpHook`` (connection form, ``test_connection``, ``run``) with
what ``HttpHook`` gets wrong for lemlist fixed (see docs/airflow-3-notes.md): Basic auth with an empty login
is set on one cached session, the connection extra (rate budget, timeout) is never sent as headers, and
every way of sending, ``request`` and ``paginate`` as well as ``run``, ``run_with_advanced_retry`` and
``run_and_check``, goes through the one loop below: a slot from the key's gate, then the policy's decision.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import requests
from airflow.providers.http.hooks.http import HttpHook
from requests import PreparedRequest, Response, Session
from requests.adapters import HTTPAdapter
from requests.auth import AuthBase, HTTPBasicAuth

from .endpoints import LemlistEndpointsMixin
from .errors import LemlistError
from .policy import Call, RetryConfig, parse_body
from .transport import LemlistTransport, split_route

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


class _NoAuth(AuthBase):
    """Overrides the session's Basic auth for URLs off the connection's origin (e.g. signed links)."""

    def __call__(self, request):
        request.headers.pop("Authorization", None)
        return request


_NO_AUTH = _NoAuth()


class LemlistBaseHook(LemlistTransport, HttpHook):
    """Sync transport for lemlist's services: one session, the key's gate and the error policy on every send.

    :param conn_id: the connection (password = API key; host defaults to ``default_host``)
    :param retry_config: attempts, backoff and the cap on total 429 waiting per call
    :param method: the HTTP method of ``run`` (as in ``HttpHook``)
    """

    probe_route = "/team"  # what test_connection reads

    def __init__(self, conn_id: str, *, retry_config: RetryConfig | None = None, method: str = "GET") -> None:
        super().__init__(method=method, http_conn_id=conn_id)
        self._session: Session | None = None
        self._init_transport(conn_id, retry_config)

    def get_conn(self, headers: dict | None = None, extra_options: dict | None = None) -> Session:
        """The hook's one session: Basic auth from the key, JSON accept header, and nothing from extra.

        Send through the hook's methods: a request sent on this session directly is not paced or retried.
        """
        if not self._loaded:
            self._apply_connection(self.get_connection(self._conn_id))
            self._base_url_initialized = True
        self.merged_extra = dict(extra_options or {})  # what HttpHook.run hands to run_and_check
        if self._session is None:
            session = Session()
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
        """Close the session (a later call opens a new one)."""
        if self._session is not None:
            self._session.close()
            self._session = None

    def _exchange(self, call: Call, send: Callable[[], Response], checked: bool = True) -> Response:
        """The sync I/O of one call: take a slot, send, hand the answer to the policy, sleep as it says."""
        while True:
            call.sending(call.gate.acquire())
            try:
                response = send()
            except (requests.Timeout, requests.ConnectionError) as exc:
                time.sleep(call.failed(isinstance(exc, requests.Timeout), str(exc)))
                continue
            try:
                delay = call.answered(response.status_code, response.headers, lambda r=response: r.text)
            except LemlistError:
                if not checked:
                    return response  # run(extra_options={"check_response": False}): the caller reads it
                response.close()
                raise
            if delay is None:
                return response
            response.close()
            time.sleep(delay)

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

        ``path`` is a template (``/campaigns/{campaign_id}``) filled from ``path_params``, each value checked
        against its slot and URL-encoded (a bad one raises ``LemlistInvalidIdError`` and nothing is sent);
        errors name the template, never the values or the key. ``replay_safe`` allows a POST to be resent
        after an ambiguous failure. ``stream``/``raw`` return the ``requests.Response`` itself. An absolute
        URL gets the key only on the connection's exact origin; ``auth=False`` never sends it.
        """
        session = self.get_conn()
        call = self._call(method, path, path_params, replay_safe, auth)
        options = {"params": params, "json": json, "data": data, "files": files, "stream": stream}
        options["auth"] = None if call.with_key else _NO_AUTH
        response = self._exchange(
            call, partial(session.request, call.method, call.url, timeout=self.timeout, **options)
        )
        if raw or stream:
            return response
        return parse_body(response.headers.get("Content-Type", ""), response.text)

    def _route(self, route: str, *values: str, then: Callable | None = None, **options: Any) -> Any:
        """``request`` for an endpoint method: ``route`` is ``"METHOD /path/{slot}"`` filled from ``values``;
        ``then(status, body)`` post-processes the answer."""
        method, path, path_params = split_route(route, values)
        response = self.request(method, path, path_params=path_params, raw=True, **options)
        body = parse_body(response.headers.get("Content-Type", ""), response.text)
        return body if then is None else then(response.status_code, body)

    # -- HttpHook's ways of sending, through the same loop -------------------------------------------------
    def run_and_check(
        self, session: Session, prepped_request: PreparedRequest, extra_options: dict
    ) -> Response:
        """Where ``HttpHook.run`` sends: here paced, retried and checked like ``request``.

        ``extra_options``: ``check_response=False`` returns a final error answer instead of raising (429s
        are still waited out); ``timeout`` and ``allow_redirects`` as in ``HttpHook``.
        """
        call = self._call(prepped_request.method or "GET", prepped_request.url or "", None, False)
        if not call.with_key:
            prepped_request.headers.pop("Authorization", None)
        settings = session.merge_environment_settings(
            prepped_request.url, session.proxies, session.stream, session.verify, session.cert
        )
        options = {"timeout": extra_options.get("timeout") or self.timeout, **settings}
        options["allow_redirects"] = extra_options.get("allow_redirects", True)
        return self._exchange(
            call, partial(session.send, prepped_request, **options), extra_options.get("check_response", True)
        )

    def run_with_advanced_retry(self, _retry_args: dict[Any, Any], *args: Any, **kwargs: Any) -> Any:
        """``run`` once: the hook's policy already retries (429-aware, bounded, ``retry_config``).

        ``_retry_args`` is not used: a tenacity loop around the policy would resend what it refused to (a
        POST that may have been applied) and multiply its bounded attempts.
        """
        if _retry_args:
            self.log.info("lemlist: _retry_args ignored, the hook's retry_config governs retries")
        return self.run(*args, **kwargs)

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
        start: int = 0,
    ) -> Iterator[Any]:
        """Yield every item of a list endpoint, page by page.

        ``style``: ``offset`` (offset/limit), ``page`` (1-based page + limit), ``page0`` (0-based page, e.g.
        ``/tasks``) or ``auto`` (offset/limit, following ``pagination`` when the answer has it). A short page,
        an empty page, ``pagination.nextPage`` null or ``currentPage >= totalPage`` end the list. ``start``
        (offset styles) skips that many items: where a resumed sync left off.
        """
        if style not in ("offset", "page", "page0", "auto"):
            raise ValueError(f"unknown pagination style {style!r}")
        base = dict(params or {})
        offset, page = start, 0 if style == "page0" else 1
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
        """``GET probe_route`` with the connection's key; a clear message on failure (never the key)."""
        try:
            answer = self.request("GET", self.probe_route)
        except LemlistError as exc:
            return False, str(exc)
        except Exception as exc:  # bad URL, DNS, ...
            return False, f"{self.hook_name} connection '{self._conn_id}' failed: {self._scrub(str(exc))}"
        name = answer.get("name") if isinstance(answer, dict) else None
        return (
            True,
            f"Connected to {self.hook_name} team {name!r}" if name else f"Connected to {self.hook_name}",
        )


class LemlistHook(LemlistEndpointsMixin, LemlistBaseHook):
    """Sync hook for lemlist: every endpoint, paced to the key's shared budget, with lemlist's error policy.

    :param lemlist_conn_id: connection of type ``lemlist`` (password = API key; host defaults to the real API)
    :param retry_config: attempts, backoff and the cap on total 429 waiting per call
    :param method: the HTTP method of ``run`` (as in ``HttpHook``)
    """

    conn_name_attr = "lemlist_conn_id"
    default_conn_name = "lemlist_default"
    conn_type = "lemlist"
    hook_name = "lemlist"

    def __init__(
        self,
        lemlist_conn_id: str = default_conn_name,
        *,
        retry_config: RetryConfig | None = None,
        method: str = "GET",
    ) -> None:
        super().__init__(lemlist_conn_id, retry_config=retry_config, method=method)
        self.lemlist_conn_id = lemlist_conn_id
