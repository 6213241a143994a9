"""The production topology, natively: PostgreSQL metadata DB, Redis broker, scheduler, dag-processor,
triggerer, api-server and two Celery workers. The lead import's 8 mapped batches spread over both
workers, the ``lemlist_api`` pool caps how many call lemlist at once, and one key's budget holds.
"""

from __future__ import annotations

import csv
import random
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest

from lemlist_sandbox import SandboxServer, connection_json
from lemlist_sandbox.seed import add_campaign

from .services import flush_redis_db, fresh_postgres_database, redis_url, require_postgres_and_redis

DAG_ID = "lemlist_lead_import"
POOL_SLOTS = 4
LEADS = 240
BATCH_SIZE = 30  # -> 8 mapped batches
WORKERS = ("worker-a", "worker-b")
HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


@pytest.mark.integration
@pytest.mark.timeout(600)
def test_lead_import_runs_across_two_celery_workers_within_the_pool_and_budget(
    local_airflow_factory, tmp_path
):
    require_postgres_and_redis()
    redis_db = random.randint(8, 15)
    flush_redis_db(redis_db)
    queue = f"lemlist_it_{uuid.uuid4().hex[:8]}"

    source = tmp_path / "leads.csv"
    emails = [f"celery{n:04d}@scale-out.io" for n in range(LEADS)]
    with source.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["email", "firstName", "companyName"])
        writer.writerows([email, f"Lead {n}", "Scale Out Inc"] for n, email in enumerate(emails))

    with fresh_postgres_database() as db_url, SandboxServer(time_scale=0.01) as sb:
        key = f"celery-{uuid.uuid4().hex[:8]}"
        sb.create_team(key)
        team = sb.team(key)
        campaign = add_campaign(sb.sandbox.world, team, "Celery scale-out")

        af = local_airflow_factory(
            executor="CeleryExecutor",
            sql_alchemy_conn=db_url,
            pools={"lemlist_api": POOL_SLOTS},
            extra_env={
                "AIRFLOW_CONN_LEMLIST_DEFAULT": connection_json(sb.base_url, key),
                "AIRFLOW__CELERY__BROKER_URL": redis_url(redis_db),
                "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + db_url.replace("+psycopg2", ""),
                "AIRFLOW__OPERATORS__DEFAULT_QUEUE": queue,
                "AIRFLOW__CORE__HOSTNAME_CALLABLE": "worker_identity.hostname",
                "AIRFLOW__CORE__PARALLELISM": "16",
                # every component resolves hostname_callable, so the module must be importable by all
                "PYTHONPATH": f"{HERE}:{ROOT / 'include'}",
            },
        )
        base_env = dict(af.env)
        for name in WORKERS:
            af.env = {**base_env, "LEMLIST_IT_WORKER_NAME": name}
            af.start(
                f"celery worker --queues {queue} --concurrency 4 --celery-hostname {name}@%h --skip-serve-logs"
            )
        af.env = base_env

        af.wait_for_dag(DAG_ID, timeout=180)
        run_id = af.trigger(
            DAG_ID,
            {"campaign_id": campaign["_id"], "source": str(source), "batch_size": BATCH_SIZE,
             "output_uri": str(tmp_path / "out")},
        )  # fmt: skip
        started = time.monotonic()
        state = af.wait_until(
            lambda: (s := af.run_state(DAG_ID, run_id)) in ("success", "failed") and s,
            480,
            "lead import run finished",
            interval=2,
        )
        elapsed = time.monotonic() - started
        batches = af.query(
            "SELECT map_index, state, hostname, try_number, pool FROM task_instance "
            "WHERE dag_id = :d AND run_id = :r AND task_id = 'import_batch' ORDER BY map_index",
            d=DAG_ID,
            r=run_id,
        )
        states = af.query(
            "SELECT task_id, map_index, state, try_number FROM task_instance WHERE dag_id = :d AND run_id = :r",
            d=DAG_ID,
            r=run_id,
        )
        assert state == "success", f"run {state}: {states}\n{af.logs('celery worker --queues ' + queue)}"
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
