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

``POST /lemlist/webhooks/enrichment?scope=&expires=&token=`` takes the callbacks of enrichments started
with a ``webhookUrl`` (``callbacks.py``): the same answers, with the URL's token as the proof (401 when wrong
or expired; 400 when the body names no enrichment).

Routes that need an Airflow login (an operator's view of the events) go on ``ops_router``, which carries
``requires_asset_read``; ``GET /lemlist/events/summary`` is the first.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from lemlist_provider.metadb import airflow_engine
from lemlist_provider.ops import page as ops_page

from .airflow_auth import requires_asset_read
from .callbacks import callback_type, enrichment_id_of, token_valid
from .config import ReceiverSettings
from .credentials import SecretCache, SecretUnavailable
from .payload import BodyError, BodyTooLarge, WebhookEvent, parse_body, read_capped, secret_matches, to_event
from .store import WAIT_SECONDS, EventStore, StoreError

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
    """The app's store over Airflow's metadata database, built on first use (only the API server needs it).

    On that first use the API server's objects are also frozen out of the garbage collector (``gc.freeze``,
    as Airflow's dag-processor and executors do), unless ``[lemlist] webhook_gc_freeze`` is off: a full
    collection walks the API server's whole heap, and at a few hundred events per second such collections
    came several times a minute and held every request for 200-400 ms. Objects created later are collected
    as usual."""
    store = getattr(request.app.state, "store", None)
    if store is None:
        settings = ReceiverSettings.load()
        store = EventStore(*airflow_engine(), retention_days=settings.retention_days)
        request.app.state.store = store
        if settings.gc_freeze:
            gc.freeze()
    return store


async def get_secrets(request: Request) -> SecretCache:
    return request.app.state.secrets


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(f"body over {limit} bytes")
    return await read_capped(request.stream(), limit)


class Refused(Exception):
    """An answer other than 200, with what the log says about it (never the body, never the secret)."""

    def __init__(self, status: int, detail: str, reason: str = "", level: int = logging.WARNING) -> None:
        super().__init__(detail)
        self.status, self.detail, self.reason, self.level = status, detail, reason or detail, level


async def _admitted(
    request: Request,
    chosen: str,
    settings: ReceiverSettings,
    secrets: SecretCache,
    proof: Callable[[dict[str, Any], str], bool],
) -> tuple[dict[str, Any], str]:
    """The body and the connection's secret, once the body is JSON within the cap and ``proof`` holds."""
    if chosen not in settings.allowed_conn_ids:
        raise Refused(401, "not authorised", "conn_id not allowed")
    try:
        raw = await _read_body(request, settings.max_body_bytes)
    except BodyTooLarge:
        raise Refused(413, f"body over {settings.max_body_bytes} bytes") from None
    except ClientDisconnect:
        raise Refused(400, "the body was not received", level=logging.DEBUG) from None
    try:
        payload = parse_body(raw)
    except BodyError as exc:
        raise Refused(400, str(exc)) from None
    try:
        secret = secrets.cached(chosen) or await run_in_threadpool(secrets.get, chosen)
    except SecretUnavailable as exc:
        raise Refused(
            503, "the receiver is not configured", f"cannot verify events: {exc}", logging.ERROR
        ) from None
    except Exception as exc:  # the metastore or a secrets backend is unreachable: lemlist retries
        reason = f"cannot read connection {chosen!r}: {type(exc).__name__}"
        raise Refused(503, "the receiver cannot read its configuration", reason, logging.ERROR) from None
    if not proof(payload, secret):
        raise Refused(401, "not authorised", "wrong or missing secret")
    return payload, secret


async def _store_event(
    event: WebhookEvent, store: EventStore, chosen: str, note_scope: str | None = None
) -> JSONResponse:
    """Answer once the event is committed. Waiting takes no thread: the writer's future is awaited."""
    try:
        if not store.prepared(event.family.uri):  # first event of a family in this process
            await run_in_threadpool(store.prepare, event.family.uri)
        outcome = store.submit(event, conn_id=chosen, received_at=datetime.now(UTC), note_scope=note_scope)
        recorded = await asyncio.wait_for(asyncio.wrap_future(outcome), WAIT_SECONDS)
    except (StoreError, TimeoutError) as exc:  # lemlist retries; the dedupe key catches a late commit
        reason = exc if isinstance(exc, StoreError) else f"not committed within {WAIT_SECONDS:.0f} s"
        log.error(
            "lemlist webhook %s (%s) not stored, answered 503: %s", event.type, event.dedupe_key[:12], reason
        )
        return _answer(503, "the event could not be stored; retry later")
    status = "duplicate" if recorded.duplicate else "stored"
    if log.isEnabledFor(logging.DEBUG):
        log.debug(
            "lemlist webhook %s %s -> %s (%s)", status, event.type, event.family.uri, event.dedupe_key[:12]
        )
    return _answer(200, status, family=event.family.name, dedupe_key=event.dedupe_key)


def _refusal(request: Request, refused: Refused) -> JSONResponse:
    client = request.client.host if request.client else "?"
    log.log(refused.level, "lemlist webhook from %s refused (%d): %s", client, refused.status, refused.reason)
    return _answer(refused.status, refused.detail)


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
    try:
        payload, secret = await _admitted(request, chosen, settings, secrets, secret_matches)
        event = to_event(payload, secret)
    except Refused as refused:
        return _refusal(request, refused)
    except BodyError as exc:
        return _refusal(request, Refused(400, str(exc)))
    return await _store_event(event, store, chosen)


@webhook_router.post(
    "/webhooks/enrichment",
    summary="Receive the callback of a lemlist enrichment (its webhookUrl)",
    responses={400: {}, 401: {}, 413: {}, 503: {}},
)
async def receive_enrichment_callback(
    request: Request,
    scope: str = Query("", max_length=64),
    expires: str = Query("", max_length=20),
    token: str = Query("", max_length=128),
    conn_id: str | None = Query(None, max_length=250),
    settings: ReceiverSettings = Depends(get_settings),
    store: EventStore = Depends(get_store),
    secrets: SecretCache = Depends(get_secrets),
) -> JSONResponse:
    """An enrichment's ``webhookUrl`` (see ``callbacks.py``): proven by the URL's token, not a body secret.
    Stored as an ``enrichmentDone`` / ``enrichmentError`` event, and noted for the run's waiting trigger."""
    chosen = conn_id or settings.conn_id

    def proof(payload: dict[str, Any], secret: str) -> bool:
        return token_valid(secret, scope, expires, token)

    try:
        payload, secret = await _admitted(request, chosen, settings, secrets, proof)
        if enrichment_id_of(payload) is None:
            raise Refused(400, "the body names no enrichment (enrichmentId or id)")
        event = to_event({**payload, "type": callback_type(payload)}, secret)
    except Refused as refused:
        return _refusal(request, refused)
    except BodyError as exc:
        return _refusal(request, Refused(400, str(exc)))
    return await _store_event(event, store, chosen, note_scope=scope)


@ops_router.get("/events/summary", summary="Events stored per family (Airflow login required)")
def events_summary(
    hours: int = Query(24, ge=1, le=24 * 90),
    store: EventStore = Depends(get_store),
) -> dict[str, Any]:
    """Counts per family over the last ``hours`` and the last arrival: no payload, no lead data."""
    return {"hours": hours, "families": store.family_counts(datetime.now(UTC) - timedelta(hours=hours))}


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
    app.include_router(ops_page.router)  # GET /ops, /ops/report: lemlist_provider.ops.page
    return app


app = create_app()
