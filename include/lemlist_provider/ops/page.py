"""The ops page: ``GET /lemlist/ops`` in the plugin app, behind Airflow's login (DAG read permission).

Server-rendered HTML (no JavaScript build): per connection (key) the requests, 429s, retries and seconds waited
per hour and per DAG run over the last days, its credits over time against ``[lemlist] low_credits_threshold``,
the last runs of each pipeline with campaign, rows and outcome, the webhook events received, and a download of
each run's report. The download serves only the file a run's task recorded, and only when it lies inside the
admin's output roots (``paths.py``): anything else is refused. The plugin registers the page in the UI's
navigation (``external_views``), where Airflow shows it inside its own frame.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, StreamingResponse
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.concurrency import run_in_threadpool

from lemlist_provider import paths, settings
from lemlist_provider.events.airflow_auth import requires_dag_read
from lemlist_provider.metadb import airflow_engine

from . import views
from .store import OpsStore

PRUNE_EVERY_SECONDS = 600.0

router = APIRouter(dependencies=[Depends(requires_dag_read)])
templates = Environment(
    loader=PackageLoader("lemlist_provider.ops", "templates"), autoescape=select_autoescape()
)


async def get_ops_store(request: Request) -> OpsStore:
    """The app's ops store over Airflow's metadata database, built on first use."""
    store = getattr(request.app.state, "ops_store", None)
    if store is None:
        store = OpsStore(*airflow_engine(), retention_days=settings.ops_retention_days())
        request.app.state.ops_store = store
        request.app.state.ops_pruned = 0.0
    return store


def _run_states(store: OpsStore, runs: set[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """Airflow's state of each run (a run whose tasks all succeeded may still be running)."""
    if not runs:
        return {}
    from airflow.models.dagrun import DagRun
    from sqlalchemy import select, tuple_

    with store.session_factory() as session:
        rows = session.execute(
            select(DagRun.dag_id, DagRun.run_id, DagRun.state).where(
                tuple_(DagRun.dag_id, DagRun.run_id).in_(list(runs))
            )
        ).all()
    return {
        (dag_id, run_id): str(state.value if hasattr(state, "value") else state)
        for dag_id, run_id, state in rows
    }


def page_data(request: Request, store: OpsStore, days: int) -> dict[str, Any]:
    """Copy new task summaries in, prune now and then, and compute what the page shows."""
    store.ingest()
    if time.monotonic() - request.app.state.ops_pruned > PRUNE_EVERY_SECONDS:
        request.app.state.ops_pruned = time.monotonic()
        store.prune()
    since = datetime.now(UTC) - timedelta(days=days)
    records = store.records(since)
    runs = views.per_run(records, _run_states(store, {(r["dag_id"], r["run_id"]) for r in records}))
    threshold = settings.low_credits_threshold()
    event_store = getattr(request.app.state, "store", None)
    if event_store is None:
        from lemlist_provider.events.store import EventStore

        event_store = EventStore(*airflow_engine(), retention_days=settings.webhook_retention_days())
    events = event_store.family_counts(since)
    return {
        "days": days,
        "generated_at": datetime.now(UTC),
        "hours": views.per_hour(records),
        "runs": runs,
        "last_runs": views.last_runs(runs),
        "credits": views.credits_over_time(records, threshold),
        "threshold": threshold,
        "events": events,
        "retention_days": settings.ops_retention_days(),
    }


@router.get("/ops", response_class=HTMLResponse, summary="The lemlist ops page (Airflow login required)")
async def ops_page(
    request: Request, days: int = Query(3, ge=1, le=90), store: OpsStore = Depends(get_ops_store)
) -> HTMLResponse:
    data = await run_in_threadpool(page_data, request, store, days)
    return HTMLResponse(templates.get_template("ops.html").render(**data))


@router.get("/ops/report", summary="Download the report file of one run (from the output roots only)")
async def run_report(
    dag_id: str = Query(..., max_length=250),
    run_id: str = Query(..., max_length=250),
    store: OpsStore = Depends(get_ops_store),
) -> Any:
    await run_in_threadpool(store.ingest)  # a run that ended since the page was drawn
    recorded = await run_in_threadpool(store.report_of, dag_id, run_id)
    if not recorded:
        raise HTTPException(404, "this run recorded no report file")
    try:
        location = paths.output_location("report", recorded)
    except paths.StoragePathError:
        raise HTTPException(403, "the recorded report is outside the allowed output roots") from None
    name = Path(str(location)).name
    headers = {"Content-Disposition": f'attachment; filename="{paths.safe_name(name)}"'}
    if isinstance(location, Path):
        if not location.is_file():
            raise HTTPException(404, "the report file is gone")
        return FileResponse(location, media_type="text/csv", headers=headers)
    if not location.exists():
        raise HTTPException(404, "the report file is gone")

    def chunks():
        with location.open("rb") as handle:
            while chunk := handle.read(64 * 1024):
                yield chunk

    return StreamingResponse(chunks(), media_type="text/csv", headers=headers)
