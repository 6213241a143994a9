"""``LemlistAsyncHook``: aiohttp transport for triggers, with the sync hook's auth, pacing and error policy.

Never blocks the event loop: the connection comes from ``await BaseHook.aget_connection``, waits are
``asyncio.sleep``, and the rate limiter's lock is held only for arithmetic. The limiter is the same
process-wide object the sync hook uses, so a triggerer and a worker thread in one process share a budget.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

import aiohttp
from airflow.sdk import BaseHook

from .endpoints import EnrichmentResult
from .errors import LemlistError
from .lemlist import LemlistTransportMixin
from .policy import CallState, RetryConfig, error_reason


class LemlistAsyncHook(LemlistTransportMixin, BaseHook):
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
        self._init_transport(lemlist_conn_id, retry_config)

    async def _ensure_loaded(self) -> None:
        if not self._loaded:
            self._apply_connection(await BaseHook.aget_connection(self.lemlist_conn_id))

    async def get_session(self) -> aiohttp.ClientSession:
        await self._ensure_loaded()
        if self._session is None or self._session.closed:
            login, password = self._auth_pair()
            self._session = aiohttp.ClientSession(
                auth=aiohttp.BasicAuth(login, password),
                headers={"Accept": "application/json", "User-Agent": "airflow-provider-lemlist"},
                timeout=aiohttp.ClientTimeout(total=self.timeout),
            )
        return self._session

    async def close(self) -> None:
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
        path_params: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        json: Any = None,
        replay_safe: bool = False,
        with_status: bool = False,
    ) -> Any:
        """Like ``LemlistHook.request``; ``with_status=True`` returns ``(http_status, body)``."""
        session = await self.get_session()
        method = method.upper()
        url = self._url(path, path_params)
        state = CallState(method, path, self.lemlist_conn_id, replay_safe)
        limiter = self.limiter
        loop = asyncio.get_running_loop()
        while True:
            if limiter is not None and limiter.enabled:
                self.counters["waited_seconds"] += await limiter.aacquire()
            self._count("requests")
            sent_at = loop.time()
            try:
                async with session.request(method, url, params=params, json=json) as response:
                    status = response.status
                    ctype = response.headers.get("Content-Type", "")
                    text = await response.text()
                    headers = response.headers
            except (TimeoutError, aiohttp.ClientError) as exc:
                if limiter is not None:
                    limiter.release_probe()
                what = "timeout" if isinstance(exc, TimeoutError) else "connection error/reset"
                decision = self.policy.on_transient(state, what, None, self._scrub(str(exc)))
                if decision.action == "raise":
                    self._fail(decision.error)
                self._count("retries")
                self._log_wait(state, "retry", decision.delay, what)
                await self._sleep(decision.delay)
                continue
            limit, remaining, retry_after = self._rate_headers(headers)
            if limiter is not None:
                # loop.time() is time.monotonic() on the default loop: the limiter's clock
                limiter.observe(status, limit, remaining, retry_after, sent_at)
            if status < 400 and "text/html" not in ctype:
                body = _parse(ctype, text)
                return (status, body) if with_status else body
            reason = self._scrub(error_reason(ctype, text)) if status >= 400 else ""
            if status == 429:
                self._count("rate_limited")
                decision = self.policy.on_rate_limited(state, headers.get("Retry-After"), reason)
            else:
                decision = self.policy.on_response(state, status, ctype, reason)
            if decision.action == "raise":
                self._fail(decision.error)
            if decision.action == "retry":
                self._count("retries")
            self._log_wait(state, decision.action, decision.delay, decision.reason)
            await self._sleep(decision.delay)

    async def _sleep(self, delay: float) -> None:
        self.counters["waited_seconds"] += delay
        await asyncio.sleep(delay)

    def _fail(self, error: LemlistError | None) -> None:
        self._count("failures")
        raise error  # type: ignore[misc]

    # -- what triggers need --------------------------------------------------------------------------
    async def get_team(self) -> dict:
        return await self.request("GET", "/team")

    async def get_enrichment(self, enrich_id: str) -> EnrichmentResult:
        status, body = await self.request(
            "GET", "/enrich/{enrich_id}", path_params={"enrich_id": enrich_id}, with_status=True
        )
        return EnrichmentResult.from_response(enrich_id, status, body)

    async def get_enrichments(self, enrich_ids: Iterable[str]) -> dict[str, EnrichmentResult]:
        """Many enrichments, one after the other at the paced rate (a burst would only meet 429s)."""
        results: dict[str, EnrichmentResult] = {}
        for enrich_id in enrich_ids:
            results[enrich_id] = await self.get_enrichment(enrich_id)
        return results

    async def get_export_status(self, campaign_id: str, export_id: str) -> dict:
        body = await self.request(
            "GET", "/campaigns/{campaign_id}/export/{export_id}/status",
            path_params={"campaign_id": campaign_id, "export_id": export_id},
        )  # fmt: skip
        if isinstance(body, dict) and isinstance(body.get("status"), dict):
            return body["status"]
        return body


def _parse(content_type: str, text: str) -> Any:
    if not text:
        return None
    if "json" in content_type:
        import json

        return json.loads(text)
    return text
