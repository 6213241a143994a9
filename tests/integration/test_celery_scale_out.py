"""The production topology, natively: PostgreSQL metadata DB, Redis broker, scheduler, dag-processor,
triggerer, api-server and two Celery workers. The lead import's 8 mapped batches spread over both
workers, the ``lemlist_api`` pool caps how many call lemlist at once, and one key's budget holds.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter

import pytest

from lemlist_dev.scale_out import celery_settings, start_celery_workers
from lemlist_dev.services import fresh_postgres_database, fresh_redis_url, require_postgres_and_redis
from lemlist_sandbox import SandboxServer
from lemlist_sandbox.seed import add_campaign

DAG_ID = "lemlist_lead_import"
POOL_SLOTS = 4
LEADS = 240
BATCH_SIZE = 30  # -> 8 mapped batches
WORKERS = ("worker-a", "worker-b")


@pytest.mark.integration
@pytest.mark.timeout(600)
def test_lead_import_runs_across_two_celery_workers_within_the_pool_and_budget(
    local_airflow_factory, trigger_lead_import
):
    require_postgres_and_redis()
    queue = f"lemlist_it_{uuid.uuid4().hex[:8]}"
    emails = [f"celery{n:04d}@scale-out.io" for n in range(LEADS)]

    with fresh_postgres_database() as db_url, SandboxServer(time_scale=0.01) as sb:
        key = f"celery-{uuid.uuid4().hex[:8]}"
        sb.create_team(key)
        team = sb.team(key)
        campaign = add_campaign(sb.sandbox.world, team, "Celery scale-out")

        broker = fresh_redis_url()
        af = local_airflow_factory(sb, key, pool_slots=POOL_SLOTS, **celery_settings(db_url, broker, queue))
        start_celery_workers(af, queue, WORKERS, concurrency=4)

        run_id = trigger_lead_import(af, campaign["_id"], emails, batch_size=BATCH_SIZE)
        started = time.monotonic()
        finished = af.wait_for_run(DAG_ID, run_id, timeout=480, interval=2)
        elapsed = time.monotonic() - started
        tis = af.client.task_instances(DAG_ID, run_id)
        batches = sorted(
            (ti["map_index"], ti["state"], ti["hostname"], ti["try_number"], ti["pool"])
            for ti in tis
            if ti["task_id"] == "import_batch"
        )
        states = [(ti["task_id"], ti["map_index"], ti["state"], ti["try_number"]) for ti in tis]
        assert finished["state"] == "success", f"run {finished['state']}: {states}\n{af.log(WORKERS[0])}"
        stats = sb.stats()

        # 8 mapped batches, spread over both workers, each on its first try (no 429 failed a task)
        assert len(batches) == LEADS // BATCH_SIZE == 8
        assert all(s == "success" for _, s, _, _, _ in batches), batches
        assert all(t == 1 for _, _, _, t, _ in batches), f"a batch needed a retry: {batches}"
        assert {p for *_, p in batches} == {"lemlist_api"}, f"batches ran outside the pool: {batches}"
        per_worker = Counter(host for _, _, host, _, _ in batches)
        assert set(per_worker) == set(WORKERS), f"batches did not run on both workers: {per_worker}"

        # the pool capped concurrency: never more requests in flight for this key than slots
        assert stats["peak_concurrency"][team.id] <= POOL_SLOTS, stats["peak_concurrency"]

        # every lead arrived exactly once
        in_campaign = Counter(lead["email"] for lead in team.leads_in_campaign(campaign["_id"]))
        assert set(in_campaign) == set(emails)
        assert max(in_campaign.values()) == 1, [e for e, n in in_campaign.items() if n > 1]

        print(
            f"\ncelery scale-out: {LEADS} leads in {elapsed:.1f} s over {dict(per_worker)}; "
            f"peak concurrency {stats['peak_concurrency'][team.id]} (pool {POOL_SLOTS}); "
            f"429 answered {stats['rate_limited_429']} of {stats['total_requests']} requests"
        )
