"""Enrichment callbacks: lemlist calls an enrichment's ``webhookUrl`` when it is over, and a waiting task
hears of it within a second instead of at its next poll.

The callback carries no ``secret`` (that belongs to registered hooks, and an enrichment is not one), so the
proof is in the URL: the task that starts the enrichments asks lemlist to call

    <receiver>/enrichment?scope=<run scope>&expires=<unix time>&token=<HMAC>[&conn_id=<connection>]

where the run scope is a hash of the DAG id and run id, and the token is HMAC-SHA256 of scope and expiry
under the connection's ``webhook_secret``. The receiver recomputes it (constant-time comparison), refuses an
expired or wrong token with 401, and needs no stored state to do so. A leaked URL admits callbacks for one
run, until it expires, and nothing else.

An accepted callback is stored like any event (ledger row, ``enrichment`` Asset event) and its enrichment id
is noted under the run scope in the Asset state store of ``lemlist://events/enrichment`` (Airflow 3.3's
key/value store per Asset, which triggers can read). The enrichment trigger reads that note between polls
and polls the ids it names first: the callback only says *when* to look; the poll still decides. Lost notes
cost latency, never results: polling stays the fallback.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import re
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlencode

from .families import BY_NAME

log = logging.getLogger(__name__)

CALLBACK_PATH = "/enrichment"
TTL_SECONDS = 2 * 24 * 3600
SCOPE_PATTERN = re.compile(r"^[0-9a-f]{32}$")
TOKEN_PATTERN = re.compile(r"^[0-9a-f]{64}$")
ENRICHMENT_ID = re.compile(r"^[A-Za-z0-9_-]{1,100}$")
ENRICHMENT_URI = BY_NAME["enrichment"].uri
KEY_PREFIX = "enrichment-run:"
MAX_NOTED = 10_000
CHECK_SECONDS = 1.0
FAILED_STATUSES = ("failed", "error", "enrichmentError")


def run_scope(dag_id: str, run_id: str) -> str:
    """The scope of one DAG run's callbacks: a hash, so the URL names neither DAG nor run."""
    return hashlib.sha256(f"{dag_id}\x00{run_id}".encode()).hexdigest()[:32]


def callback_token(secret: str, scope: str, expires: int) -> str:
    message = f"lemlist-enrichment-callback:{scope}:{int(expires)}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def callback_url(
    receiver_url: str, *, secret: str, scope: str, expires: int, conn_id: str | None = None
) -> str:
    """The ``webhookUrl`` for enrichments started by the run of ``scope``."""
    query = {"scope": scope, "expires": int(expires), "token": callback_token(secret, scope, expires)}
    if conn_id:
        query["conn_id"] = conn_id
    return f"{receiver_url.rstrip('/')}{CALLBACK_PATH}?{urlencode(query)}"


def token_valid(secret: str, scope: str, expires: str | int, token: str, now: float | None = None) -> bool:
    """Scope, expiry and token well formed, not expired, and the token the secret gives (constant time)."""
    if not secret or not SCOPE_PATTERN.match(scope or "") or not TOKEN_PATTERN.match(token or ""):
        return False
    try:
        expiry = int(expires)
    except (TypeError, ValueError):
        return False
    if expiry < (time.time() if now is None else now):
        return False
    return hmac.compare_digest(callback_token(secret, scope, expiry), token)


def enrichment_id_of(payload: Mapping[str, Any]) -> str | None:
    """The enrichment a callback or ``enrichmentDone`` event is about (``enrichmentId``, else ``id``)."""
    for field in ("enrichmentId", "id"):
        value = payload.get(field)
        if isinstance(value, str) and ENRICHMENT_ID.match(value):
            return value
    return None


def callback_type(payload: Mapping[str, Any]) -> str:
    """``enrichmentDone`` or ``enrichmentError``: the body's own type when it is one, else from its status."""
    if payload.get("type") in ("enrichmentDone", "enrichmentError"):
        return str(payload["type"])
    status = payload.get("enrichmentStatus") or payload.get("status")
    return "enrichmentError" if status in FAILED_STATUSES else "enrichmentDone"


def note_key(scope: str) -> str:
    return KEY_PREFIX + scope


def merge_notes(current: Any, found: Mapping[str, str]) -> dict[str, Any]:
    """The run's note with ``found`` (id -> event type) added; the oldest entries go beyond ``MAX_NOTED``."""
    ids = dict(current.get("ids", {})) if isinstance(current, Mapping) else {}
    ids.update(found)
    if len(ids) > MAX_NOTED:
        ids = dict(list(ids.items())[-MAX_NOTED:])
    return {"ids": ids}


# -- the task side ----------------------------------------------------------------------------------------
def enrichment_webhook_url(dag_id: str | None, run_id: str | None, conn_id: str) -> str | None:
    """The ``webhookUrl`` for this run's enrichments, or None (the task then relies on polling alone) when the
    receiver's URL is not configured or the connection has no webhook secret."""
    from lemlist_provider import settings

    from .credentials import SecretUnavailable, task_webhook_secret

    url = settings.webhook_receiver_url()
    if not url or not dag_id or not run_id:
        return None
    try:
        secret = task_webhook_secret(conn_id)
    except SecretUnavailable as exc:
        log.warning("lemlist enrichments will be polled only (no callback): %s", exc)
        return None
    expires = int(time.time()) + TTL_SECONDS
    named = None if conn_id == settings.webhook_conn_id() else conn_id
    return callback_url(url, secret=secret, scope=run_scope(dag_id, run_id), expires=expires, conn_id=named)


def scope_of_trigger(trigger: Any) -> str | None:
    """The run scope of a trigger deferred by a task (the triggerer sets ``task_instance``); None elsewhere."""
    ti = getattr(trigger, "task_instance", None)
    dag_id, run_id = getattr(ti, "dag_id", None), getattr(ti, "run_id", None)
    return run_scope(dag_id, run_id) if dag_id and run_id else None


async def read_notes(scope: str) -> dict[str, str]:
    """The enrichment ids noted for ``scope`` (id -> event type); ``{}`` when none or unreadable."""
    from airflow.sdk.execution_time.context import AssetStateStoreAccessor

    try:
        value = await AssetStateStoreAccessor(uri=ENRICHMENT_URI).aget(note_key(scope))
    except Exception as exc:  # noqa: BLE001 - no Asset yet, no comms: polling alone then
        log.debug("lemlist enrichment callbacks unreadable (%s); polling only", type(exc).__name__)
        return {}
    ids = value.get("ids") if isinstance(value, Mapping) else None
    return {str(k): str(v) for k, v in ids.items()} if isinstance(ids, Mapping) else {}


async def sleep_until_called_back(
    scope: str | None, waiting_for: Callable[[], set[str]], seconds: float, every: float = CHECK_SECONDS
) -> list[str]:
    """Sleep ``seconds``, or less once a callback names one of ``waiting_for()``; returns those ids."""
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        await asyncio.sleep(min(every, left) if scope else left)
        if scope and (found := waiting_for() & set(await read_notes(scope))):
            return sorted(found)
    return []
