"""The webhook receiver: a FastAPI app the Airflow API server mounts at ``/lemlist`` (plugin ``fastapi_apps``).

``POST /lemlist/webhooks[?conn_id=...]`` is public (lemlist has no Airflow login); a body is admitted only
with the right ``secret``. Answers, and why:

| answer | when | lemlist then |
| --- | --- | --- |
| 200 ``stored`` | the event and its Asset event are committed | done |
| 200 ``duplicate`` | the dedupe key was already stored (a retry, or a second hook) | done |
| 400 | not JSON, not an object, too deep, no event ``type`` | retries, then drops it |
| 401 | wrong or missing secret, or a ``conn_id`` that is not allowed | retries, then drops it |
| 413 | body over ``[lemlist] webhook_max_body_bytes`` (read as a stream, never held whole) | drops it |
| 503 | the store or the connection cannot be read (database down or locked, secret not configured) | retries |

This route never answers 404 or 410: to lemlist those mean "delete this hook".

Routes that need an Airflow login (an operator's view of the events) go on ``ops_router``, which carries
``requires_asset_read``; ``GET /lemlist/events/summary`` is the first.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy import func, select
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from .airflow_auth import requires_asset_read
from .config import ReceiverSettings
from .credentials import SecretCache, SecretUnavailable
from .families import FAMILIES
from .payload import BodyError, BodyTooLarge, parse_body, read_capped, secret_matches, to_event
from .store import EventStore, StoreError, events_table

log = logging.getLogger(__name__)

webhook_router = APIRouter()
ops_router = APIRouter(dependencies=[Depends(requires_asset_read)])


def _answer(status_code: int, detail: str, **fields: Any) -> JSONResponse:
    return JSONResponse({"detail": detail, **fields}, status_code=status_code)


# The dependencies are ``async`` only so that FastAPI runs them on the event loop: a plain ``def``
# dependency costs a thread-pool round trip per request. None of them blocks.
async def get_settings() -> ReceiverSettings:
    return ReceiverSettings.load()


async def get_store(request: Request) -> EventStore:
    """The app's store over Airflow's metadata database, built on first use (only the API server needs it)."""
    store = getattr(request.app.state, "store", None)
    if store is None:
        from airflow import settings as airflow_settings

        store = EventStore(
            airflow_settings.engine,
            airflow_settings.NonScopedSession,
            retention_days=ReceiverSettings.load().retention_days,
        )
        request.app.state.store = store
    return store


async def get_secrets(request: Request) -> SecretCache:
    return request.app.state.secrets


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(f"body over {limit} bytes")
    return await read_capped(request.stream(), limit)


@webhook_router.post(
    "/webhooks",
    summary="Receive one lemlist webhook event",
    responses={400: {}, 401: {}, 413: {}, 503: {}},
)
@webhook_router.post("/webhooks/", include_in_schema=False)
async def receive_webhook(
    request: Request,
    conn_id: str | None = Query(None, max_length=250, description="lemlist connection whose secret applies"),
    settings: ReceiverSettings = Depends(get_settings),
    store: EventStore = Depends(get_store),
    secrets: SecretCache = Depends(get_secrets),
) -> JSONResponse:
    chosen = conn_id or settings.conn_id
    client = request.client.host if request.client else "?"
    if chosen not in settings.allowed_conn_ids:
        log.warning("lemlist webhook from %s refused: conn_id not allowed", client)
        return _answer(401, "not authorised")
    try:
        raw = await _read_body(request, settings.max_body_bytes)
    except BodyTooLarge:
        log.warning("lemlist webhook from %s refused: body over %d bytes", client, settings.max_body_bytes)
        return _answer(413, f"body over {settings.max_body_bytes} bytes")
    except ClientDisconnect:
        return _answer(400, "the body was not received")
    try:
        payload = parse_body(raw)
    except BodyError as exc:
        log.warning("lemlist webhook from %s refused: %s", client, exc)
        return _answer(400, str(exc))
    try:
        secret = secrets.cached(chosen) or await run_in_threadpool(secrets.get, chosen)
    except SecretUnavailable as exc:
        log.error("lemlist webhook receiver cannot verify events: %s", exc)
        return _answer(503, "the receiver is not configured")
    except Exception as exc:  # the metastore or a secrets backend is unreachable: lemlist retries
        log.error("lemlist webhook receiver cannot read connection %r: %s", chosen, type(exc).__name__)
        return _answer(503, "the receiver cannot read its configuration")
    if not secret_matches(payload, secret):
        log.warning("lemlist webhook from %s refused: wrong or missing secret", client)
        return _answer(401, "not authorised")
    try:
        event = to_event(payload, secret)
    except BodyError as exc:
        log.warning("lemlist webhook from %s refused: %s", client, exc)
        return _answer(400, str(exc))

    try:
        recorded = await run_in_threadpool(store.record, event, conn_id=chosen, received_at=datetime.now(UTC))
    except StoreError as exc:
        log.error(
            "lemlist webhook %s (%s) not stored, answered 503: %s", event.type, event.dedupe_key[:12], exc
        )
        return _answer(503, "the event could not be stored; retry later")
    status = "duplicate" if recorded.duplicate else "stored"
    log.info("lemlist webhook %s %s -> %s (%s)", status, event.type, event.family.uri, event.dedupe_key[:12])
    return _answer(200, status, family=event.family.name, dedupe_key=event.dedupe_key)


@ops_router.get("/events/summary", summary="Events stored per family (Airflow login required)")
def events_summary(
    hours: int = Query(24, ge=1, le=24 * 90),
    store: EventStore = Depends(get_store),
) -> dict[str, Any]:
    """Counts per family over the last ``hours`` and the last arrival: no payload, no lead data."""
    since = datetime.now(UTC) - timedelta(hours=hours)
    store.ensure_table()
    with store.session_factory() as session:
        rows = session.execute(
            select(events_table.c.family, func.count(), func.max(events_table.c.received_at))
            .where(events_table.c.received_at >= since)
            .group_by(events_table.c.family)
        ).all()
    found = {family: (count, last) for family, count, last in rows}
    return {
        "hours": hours,
        "families": [
            {
                "family": family.name,
                "uri": family.uri,
                "events": found.get(family.name, (0, None))[0],
                "last_received_at": (
                    last.isoformat() if (last := found.get(family.name, (0, None))[1]) else None
                ),
            }
            for family in FAMILIES
        ],
    }


def create_app() -> FastAPI:
    """The plugin app; nothing touches the database until the first request."""
    app = FastAPI(
        title="lemlist events",
        description="lemlist webhook receiver of the lemlist Airflow provider",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.secrets = SecretCache()
    app.include_router(webhook_router)
    app.include_router(ops_router)
    return app


app = create_app()
