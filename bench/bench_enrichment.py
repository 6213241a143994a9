"""``enrichment``: what it costs to enrich 1,000 people, against the sandbox at the real 20 requests / 2 s.

Two bulk starts, then the same ``LemlistEnrichmentTrigger`` the DAG defers to, with its default schedule
(first poll after the expected delay, x1.5 up to 30 s). Figures: requests per 1,000 enrichments (starts +
polls; the ideal is 2 + 1,000: every id read once, when done), 429s, and wall time over the sandbox's
enrichment delay beside the floor the key's budget allows (delay + 1,000 polls at 10/s).
Headline ratio: ideal requests / requests used (target >= 0.9), with 429s <= 1 % of the requests.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from pathlib import Path

os.environ.setdefault("AIRFLOW_HOME", str(Path(__file__).resolve().parents[1] / ".airflow" / "test"))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")

COUNT = 1000
TIME_SCALE = 0.25  # the sandbox's 20 s enrichment delay becomes 5 s
RATE, WINDOW = 20, 2.0


def bench_enrichment() -> dict:
    from lemlist_provider.hooks.lemlist import LemlistHook
    from lemlist_provider.hooks.ratelimit import reset_limiters
    from lemlist_provider.triggers.enrichment import LemlistEnrichmentTrigger
    from lemlist_sandbox import SandboxServer

    with SandboxServer(time_scale=TIME_SCALE, rate_limit=RATE, rate_window=WINDOW) as sb:
        key = f"bench-enr-{uuid.uuid4().hex[:8]}"
        sb.create_team(key, credits=10 * COUNT)
        conn = {
            "conn_type": "lemlist",
            "host": sb.base_url,
            "password": key,
            "extra": {"rate_limit": RATE, "rate_window": WINDOW},
        }
        os.environ["AIRFLOW_CONN_LEMLIST_DEFAULT"] = json.dumps(conn)
        reset_limiters()
        delay = sb.sandbox.config.scaled(sb.sandbox.config.enrichment_delay)
        sb.reset(data=False)
        started = time.monotonic()
        hook = LemlistHook()
        ids: list[str] = []
        for start in range(0, COUNT, 500):
            items = [
                {"input": {"email": f"b{n}@acme.io"}, "enrichmentRequests": ["verify"]}
                for n in range(start, start + 500)
            ]
            ids += [a["id"] for a in hook.enrich_bulk(items)]
        trigger = LemlistEnrichmentTrigger(ids, deadline=time.time() + 600, first_poll=delay)

        async def wait() -> dict:
            async for event in trigger.run():
                return event.payload
            return {}

        payload = asyncio.run(wait())
        wall = time.monotonic() - started
        stats = sb.stats()
    starts = stats["by_route"].get("POST /api/v2/enrichments/bulk", 0)
    polls = stats["by_route"].get("GET /api/enrich/{enrichId}", 0)
    used = starts + polls
    ideal = COUNT // 500 + COUNT
    floor = delay + COUNT / (RATE / WINDOW)
    ratio = round(ideal / used, 3) if used else 0.0
    return {
        "figures": {
            "enrichments": COUNT,
            "status": payload.get("status"),
            "done": len(payload.get("done", [])),
            "bulk_starts": starts,
            "polls": polls,
            "requests_per_1000": round(used * 1000 / COUNT),
            "rate_limited_429": stats["rate_limited_429"],
            "poll_rounds": payload.get("rounds"),
            "enrichment_delay_s": delay,
            "wall_s": round(wall, 1),
            "wall_over_delay": round(wall / delay, 2),
            "budget_floor_over_delay": round(floor / delay, 2),
        },  # fmt: skip
        "ratio": ratio,
        "target": ">= 0.9",
        "passed": payload.get("status") == "success"
        and ratio >= 0.9
        and stats["rate_limited_429"] <= used // 100,
    }


BENCHMARKS = {"enrichment": bench_enrichment}
