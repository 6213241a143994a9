"""Issue 17's last row: the lead import on the production topology, one key's budget across two Celery workers.

``rate_celery`` runs ``lemlist_lead_import`` on a real deployment (PostgreSQL metadata DB, Redis broker,
scheduler, dag-processor, triggerer, api-server, two Celery workers: ``lemlist_dev.scale_out``) against a
sandbox process at lemlist's 20 requests / 2 s, twice: with the shared store (the lemlist connection's
``rate_store`` is the broker's Redis, as ``LocalAirflow`` wires it) and header-only (no ``rate_store``,
``[lemlist] local_rate_store = False`` in every component).

The figures come from the sandbox's request log (``GET /_sandbox/requests``: the time of each answer):

* leads/s: leads created (2xx on ``POST /api/campaigns/{campaignId}/leads...``) ÷ seconds from the first
  to the last of those answers; ratio = leads/s ÷ 10 (the key's 20 requests / 2 s, one request per lead);
* requests/s: every request of the key answered in that same span ÷ its seconds (÷ 10 again), the
  429s and the requests that create no lead (the validate task's campaign check and unsubscribe list);
* end-to-end seconds (run queued → run ended) and which worker ran each of the 8 mapped batches.

Target, shared store: >= 0.95 × 10 leads/s and 0 × 429 over the whole run; header-only is reported only.
Skips (no figures written) when PostgreSQL or Redis is absent.
"""

from __future__ import annotations

import os
import re
import tempfile
import time
import uuid
from collections import Counter
from datetime import datetime
from pathlib import Path

import requests

from bench._sandbox_proc import SandboxProcess

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("AIRFLOW_HOME", str(ROOT / ".airflow" / "test"))

BUDGET = 10.0  # requests per second: the key's 20 per 2 s
LEADS = 800  # 80 s of the budget: start-up and tail are a few seconds of it
BATCH_SIZE = 100  # -> 8 mapped batches
POOL_SLOTS = 8  # all 8 batches may call lemlist at once ...
WORKERS = ("worker-a", "worker-b")
CONCURRENCY = 4  # ... and the two workers have 8 task slots between them
TARGET_RATIO = 0.95
#: a request that adds a lead: the route template once routed, the raw path when a 429 answered it first
LEAD_ROUTE = re.compile(r"POST /api/campaigns/[^/]+/leads(/[^/]*)?$")
CASES = ("shared store", "header-only")


def _seconds(start: str | None, end: str | None) -> float | None:
    if not start or not end:
        return None
    return round((datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds(), 2)


def _most_at_once(batches: list[dict]) -> int:
    """The most batches running at one moment (from their start and end dates)."""
    edges = sorted(
        (datetime.fromisoformat(t[field]), step)
        for t in batches
        if t.get("start_date") and t.get("end_date")
        for field, step in (("start_date", 1), ("end_date", -1))
    )
    running = most = 0
    for _, step in edges:  # at a tie an end (-1) sorts before a start: touching batches do not overlap
        running += step
        most = max(most, running)
    return most


def _store_in_connection(local) -> str:
    """The shared store the deployment's ``lemlist_default`` names: ``scheme://host:port/db`` of the URL its
    ``rate_store`` was filled from (never a password), or "" when the connection names none. The API masks
    the value itself, so it only says whether one is set; the URL is the one ``airflow_settings.yaml`` got."""
    import json
    from urllib.parse import urlsplit

    extra = json.loads(local.client.get("/connections/lemlist_default").get("extra") or "{}")
    if not extra.get("rate_store"):
        return ""
    parts = urlsplit(local.env().get("LEMLIST_RATE_STORE", ""))
    return f"{parts.scheme}://{parts.hostname}:{parts.port}{parts.path}"


def _wait_for_workers(local, timeout: float = 180.0) -> None:
    """Both workers have connected to the broker (Celery logs ``<name>@<host> ready.``)."""
    local.wait_until(
        lambda: all("ready." in local.log(name, chars=200_000) for name in WORKERS), timeout, "celery workers"
    )


def _import_figures(log: list[dict], since: float, ended: float) -> dict:
    """The figures of one import from the sandbox's log of the key's requests, triggered at ``since`` and
    ended at ``ended`` (unix times)."""
    leads = [r for r in log if LEAD_ROUTE.match(r["route"]) and r["status"].startswith("2")]
    statuses = Counter(r["status"] for r in log)
    other = Counter(f"{r['route']} {r['status']}" for r in log if not LEAD_ROUTE.match(r["route"]))
    if len(leads) < 2:
        return {"leads_created": len(leads), "requests": len(log), "rate_limited_429": statuses["429"]}
    first, last = leads[0]["t"], leads[-1]["t"]
    span = last - first
    in_span = [r for r in log if first <= r["t"] <= last]
    # the largest pause between two answered requests inside the import: a gap no task was sending in
    gaps = [b["t"] - a["t"] for a, b in zip(in_span, in_span[1:], strict=False)]
    return {
        "leads_created": len(leads),
        "import_seconds": round(span, 2),
        "leads_per_second": round(len(leads) / span, 3),
        "leads_per_second_intervals": round((len(leads) - 1) / span, 3),  # (n - 1) gaps between n answers
        "utilisation_leads": round(len(leads) / span / BUDGET, 4),
        "requests": len(log),
        "requests_in_import": len(in_span),
        "requests_per_second": round(len(in_span) / span, 3),
        "utilisation_requests": round(len(in_span) / span / BUDGET, 4),
        "rate_limited_429": statuses["429"],
        "rate_limited_429_in_import": sum(r["status"] == "429" for r in in_span),
        "statuses": dict(statuses),
        "non_lead_requests": dict(other),
        "largest_gap_seconds": round(max(gaps), 3) if gaps else None,
        "trigger_to_first_lead_seconds": round(first - since, 2),
        "last_lead_to_run_end_seconds": round(ended - last, 2),
    }


def _run_case(case: str) -> dict:
    """One lead import of ``LEADS`` leads on a fresh deployment, database, Redis database and sandbox."""
    from lemlist_dev.deployment import LemlistTarget
    from lemlist_dev.scale_out import (
        HEADER_ONLY_ENV,
        LEAD_IMPORT,
        celery_settings,
        running_airflow,
        start_celery_workers,
        trigger_lead_import,
        write_leads_csv,
    )
    from lemlist_dev.services import fresh_postgres_database, fresh_redis_url

    queue = f"lemlist_bench_{uuid.uuid4().hex[:8]}"
    with (
        fresh_postgres_database() as db_url,
        SandboxProcess(rate_limit=20, rate_window=2.0) as sandbox,
        tempfile.TemporaryDirectory(prefix="rate_celery-") as tmp,
    ):
        folder = Path(tmp)
        key = sandbox.new_team()
        team_id = sandbox.team_id(key)
        campaign = requests.post(
            f"{sandbox.base_url}/campaigns", json={"name": "rate_celery"}, auth=("", key), timeout=10
        )
        campaign.raise_for_status()
        settings = celery_settings(db_url, fresh_redis_url(), queue)
        if case == "header-only":
            settings["extra_env"].update(HEADER_ONLY_ENV)
        target = LemlistTarget(sandbox.base_url, key, sandbox)
        with running_airflow(folder / "home", target, pool_slots=POOL_SLOTS, roots=folder, **settings) as af:
            start_celery_workers(af, queue, WORKERS, CONCURRENCY)
            _wait_for_workers(af)
            store = _store_in_connection(af)
            emails = [f"celery{n:05d}@bench.example" for n in range(LEADS)]
            source = write_leads_csv(folder / "leads.csv", emails)
            since = time.time()
            run_id = trigger_lead_import(af, campaign.json()["_id"], source, BATCH_SIZE, folder / "out")
            run = af.wait_for_run(LEAD_IMPORT, run_id, timeout=900, interval=1)
            tis = af.client.task_instances(LEAD_IMPORT, run_id)
            summary = af.client.xcom(LEAD_IMPORT, run_id, "write_report") if run["state"] == "success" else {}
        log = sandbox.requests(team_id, since=since)
        in_flight = sandbox.stats()["peak_concurrency"].get(team_id)
    batches = sorted((t for t in tis if t["task_id"] == "import_batch"), key=lambda t: t["map_index"])
    ended = datetime.fromisoformat(run["end_date"]).timestamp() if run.get("end_date") else time.time()
    return {
        "case": case,
        "rate_store": store,
        "run_state": run["state"],
        "end_to_end_seconds": _seconds(run.get("queued_at") or run.get("start_date"), run.get("end_date")),
        **_import_figures(log["requests"], since, ended),
        "peak_requests_in_flight": in_flight,
        "log_dropped": log["dropped"],
        "imported_in_report": ((summary or {}).get("counts") or {}).get("imported"),
        "batches": len(batches),
        "batches_per_worker": dict(Counter(t["hostname"] for t in batches)),
        "batch_states": dict(Counter(t["state"] for t in batches)),
        "batch_tries": dict(Counter(str(t["try_number"]) for t in batches)),
        "batch_seconds": [t.get("duration") and round(t["duration"], 1) for t in batches],
        "batches_at_once": _most_at_once(batches),
    }


def _cell(fig: dict) -> str:
    if "leads_per_second" not in fig:
        return f"run {fig['run_state']}, {fig['leads_created']} leads"
    return (
        f"{fig['leads_per_second']} leads/s ({fig['utilisation_leads']:.3f}), "
        f"{fig['requests_per_second']} req/s ({fig['utilisation_requests']:.3f}), "
        f"{fig['rate_limited_429']} × 429; {fig['end_to_end_seconds']} s end to end; "
        f"batches {', '.join(f'{w} {n}' for w, n in sorted(fig['batches_per_worker'].items()))}"
    )


def _table(shared: dict, header: dict, passed: bool) -> str:
    return "\n".join(
        [
            "| case | shared store (Redis) | header-only (today) | target | result |",
            "| --- | --- | --- | --- | --- |",
            f"| 2 Celery workers (real Redis broker), lead import of {LEADS} in 8 mapped batches "
            f"| {_cell(shared)} | {_cell(header)} | >= 0.95 × 10 leads/s, 0 × 429 | "
            f"{'pass' if passed else '**FAIL**'} |",
        ]
    )


def rate_celery() -> dict:
    from lemlist_dev.services import postgres_problem, redis_problem

    problems = [p for p in (postgres_problem(), redis_problem()) if p]
    if problems:
        return {"skipped": "needs PostgreSQL and Redis: " + "; ".join(problems)}
    cases = {}
    for case in CASES:
        cases[case] = _run_case(case)
        print(f"   {case}: {_cell(cases[case])}", flush=True)
    shared, header = cases["shared store"], cases["header-only"]
    ratio = shared.get("utilisation_leads")
    passed = (
        ratio is not None
        and ratio >= TARGET_RATIO
        and shared["rate_limited_429"] == 0
        and shared["run_state"] == "success"
        and shared["leads_created"] == LEADS
        and shared["batch_states"] == {"success": 8}
    )
    table = _table(shared, header, passed)
    return {
        "figures": {
            "leads": LEADS,
            "batch_size": BATCH_SIZE,
            "pool_slots": POOL_SLOTS,
            "workers": len(WORKERS),
            "concurrency_per_worker": CONCURRENCY,
            "shared_store": shared,
            "header_only": header,
            "header_only_utilisation_leads": header.get("utilisation_leads"),
            "table_md": table,
        },
        "ratio": ratio,
        "target": ">= 0.95 (shared store: leads/s ÷ 10) and 0 × 429; header-only reported",
        "passed": passed,
    }


BENCHMARKS = {"rate_celery": rate_celery}
