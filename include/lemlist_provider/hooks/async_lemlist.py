"""``LemlistAsyncHook``: the aiohttp I/O for triggers over the sync hook's transport, gate and policy.

Never blocks the event loop: the connection comes from ``await BaseHook.aget_connection``, waits are
``asyncio.sleep``, and the gate's lock is held only for arithmetic. The gate is the same process-wide
object the sync hook uses, so a triggerer and a worker thread in one process share a budget.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from typing import Any

import aiohttp
from airflow.sdk import BaseHook

from .endpoints import EnrichmentResult, LemlistPollingMixin
from .policy import RetryConfig, parse_body
from .transport import LemlistTransport, split_route


class LemlistAsyncHook(LemlistPollingMixin, LemlistTransport, BaseHook):
    """Async hook for lemlist: ``request`` and the polled reads (``get_team``, ``get_enrichment``,
    ``get_enrichments``, ``get_export_status``), all awaitable.

    :param lemlist_conn_id: connection of type ``lemlist``
    :param retry_config: attempts, backoff and the cap on total 429 waiting per call
    """

    conn_name_attr = "lemlist_conn_id"
    default_conn_name = "lemlist_default"
    conn_type = "lemlist"
    hook_name = "lemlist (async)"

    def __init__(
        self, lemlist_conn_id: str = default_conn_name, *, retry_config: RetryConfig | None = None
    ) -> None:
        super().__init__()
        self.lemlist_conn_id = lemlist_conn_id
        self._session: aiohttp.ClientSession | None = None
        self._basic_auth: aiohttp.BasicAuth | None = None
        self._init_transport(lemlist_conn_id, retry_config)

    async def get_session(self) -> aiohttp.ClientSession:
        """The hook's one session; the key is added per request, only on the connection's origin."""
        if not self._loaded:
            conn = await BaseHook.aget_connection(self.lemlist_conn_id)
            redis_conn_id = (conn.extra_dejson or {}).get("redis_conn_id")
            store = await BaseHook.aget_connection(redis_conn_id) if redis_conn_id else None
            self._apply_connection(conn, store)
            self._basic_auth = aiohttp.BasicAuth(*self._auth_pair())
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                headers={"Accept": "application/json", "User-Agent": "airflow-provider-lemlist"},
                timeout=aiohttp.ClientTimeout(total=self.timeout),
            )
        return self._session

    async def close(self) -> None:
        """Close the session (a later call opens a new one)."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> LemlistAsyncHook:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def request(
        self,
        method: str,
        path: str,
        *,
        with_status: bool = False,
        path_params: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        json: Any = None,
        replay_safe: bool = False,
    ) -> Any:
        """The async ``LemlistHook.request``: parsed JSON (or text); ``(status, body)`` with ``with_status``."""
        session = await self.get_session()
        call = self._call(method, path, path_params, replay_safe)
        auth = self._basic_auth if call.with_key else None
        while True:
            call.sending(await call.gate.aacquire())
            try:
                async with session.request(
                    call.method, call.url, params=params, json=json, auth=auth
                ) as response:
                    status, headers, text = response.status, response.headers, await response.text()
            except (TimeoutError, aiohttp.ClientError) as exc:
                await asyncio.sleep(call.failed(isinstance(exc, TimeoutError), str(exc)))
                continue
            delay = call.answered(status, headers, text)
            if delay is None:
                body = parse_body(headers.get("Content-Type", ""), text)
                return (status, body) if with_status else body
            await asyncio.sleep(delay)

    async def _route(self, route: str, *values: str, then: Callable | None = None, **options: Any) -> Any:
        """``request`` for the polled reads: as ``LemlistHook._route``, awaited."""
        method, path, path_params = split_route(route, values)
        status, body = await self.request(method, path, path_params=path_params, with_status=True, **options)
        return body if then is None else then(status, body)

    async def get_enrichments(self, enrich_ids: Iterable[str]) -> dict[str, EnrichmentResult]:
        """``GET /enrich/{enrichId}`` for each of ``enrich_ids``, one after the other at the paced rate (a
        burst would only meet 429s)."""
        results: dict[str, EnrichmentResult] = {}
        for enrich_id in enrich_ids:
            results[enrich_id] = await self.get_enrichment(enrich_id)
        return results
