"""The async hook: same auth, pacing and error policy, in an event loop."""

from __future__ import annotations

import asyncio

import pytest

from lemlist_provider.hooks.async_lemlist import LemlistAsyncHook
from lemlist_provider.hooks.errors import LemlistAuthError
from lemlist_provider.hooks.lemlist import LemlistHook
from lemlist_provider.hooks.policy import RetryConfig


def test_async_hook_team_enrichment_export(sandbox, team_key, make_conn):
    conn_id = make_conn(sandbox.base_url, team_key)
    sync = LemlistHook(conn_id)
    campaign = sync.create_campaign("Async")
    campaign_id = campaign.get("_id") or campaign.get("id")
    sync.add_lead_to_campaign(
        campaign_id, "z@example.com", firstName="Zed", lastName="Z", companyDomain="example.com"
    )
    bulk = sync.enrich_bulk([{"input": {"email": "z@example.com"}, "enrichmentRequests": ["verify"]}])
    enrich_id = bulk[0]["id"]
    export = sync.start_export(campaign_id)
    export_id = export.get("id") or export.get("_id")

    async def main():
        async with LemlistAsyncHook(conn_id) as hook:
            team = await hook.get_team()
            results = await hook.get_enrichments([enrich_id])
            status = await hook.get_export_status(campaign_id, export_id)
            return team, results, status, hook.metrics()

    team, results, status, metrics = asyncio.run(main())
    assert team["_id"]
    assert results[enrich_id].status in ("pending", "done")
    assert status["status"] in ("pending", "done")
    assert metrics["requests"] == 3


def test_async_hook_error_policy(fresh_team, make_conn):
    sandbox, key, _ = fresh_team
    conn_id = make_conn(sandbox.base_url, key)

    async def ok_after_faults():
        async with LemlistAsyncHook(
            conn_id, retry_config=RetryConfig(backoff_base=0.01, max_attempts=50)
        ) as hook:
            sandbox.set_faults(force_429=1, error_rate=0.3)
            for _ in range(5):
                await hook.get_team()
            return hook.metrics()

    metrics = asyncio.run(ok_after_faults())
    stats = sandbox.stats()
    assert metrics["rate_limited"] == stats["forced_429"] + stats["rate_limited_429"] == 1
    assert metrics["retries"] == stats["faults_5xx"]

    bad = make_conn(sandbox.base_url, "wrong-key")

    async def unauthorized():
        async with LemlistAsyncHook(bad) as hook:
            await hook.get_team()

    with pytest.raises(LemlistAuthError, match=bad):
        asyncio.run(unauthorized())
