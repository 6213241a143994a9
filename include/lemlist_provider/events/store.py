"""Durable store of webhook events in Airflow's metadata database, one transaction with the Asset event.

The table ``lemlist_webhook_event`` lives next to Airflow's own tables (same database, same engine) but in
its own SQLAlchemy ``MetaData``, so Airflow's migrations neither know nor touch it; it is created on first
use. A row is the ledger entry of one event: its dedupe key (unique index), type, family, connection,
arrival time and the id of the Asset event it produced. The payload itself lives once, in the Asset event's
``extra`` (secret removed), where DAGs read it.

``record`` inserts the row and registers the Asset event through Airflow's ``AssetManager`` (what the REST
route ``POST /api/v2/assets/events`` does) and commits both together: either the event is stored and DAGs
are queued, or nothing is and the receiver answers 503 so lemlist retries. ``record`` returns only after
that commit. A second delivery of the same key finds the row (or loses the race on the unique index) and
is reported as a duplicate, without a second Asset event. An enrichment callback (``note_scope``) also
notes its enrichment id for the waiting trigger (``callbacks.py``), in the same transaction, duplicate or not:
the same enrichment may reach the receiver through a hook first and through its callback second.

Group commit: one writer thread per process takes every event waiting at that moment or arriving within
``GATHER_SECONDS`` (up to ``MAX_BATCH``) and stores them in one transaction. A commit, not the work per event, is what costs most
(SQLite writes the file and syncs it; PostgreSQL flushes its WAL), and SQLite admits one writer at a time:
threads writing side by side mostly wait in its busy handler. Each caller still gets its answer only once
its own event is committed; if the batch cannot be committed, every event in it is answered 503.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Column, Integer, String, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from lemlist_provider.metadb import Tables, ledger_table, prune_before, utc_datetime

from .asset_events import PlainEvents, batching_allowed, register
from .callbacks import ENRICHMENT_URI, KEY_PREFIX, TTL_SECONDS, enrichment_id_of, merge_notes, note_key
from .payload import WebhookEvent

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine
    from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

TABLE_NAME = "lemlist_webhook_event"
PRUNE_EVERY_SECONDS = 600.0
MAX_BATCH = 64
#: how long the writer waits for more events before a commit: a few ms of latency for batches several times
#: larger under load, where each event's share of the commit and of Airflow's Asset lookup shrinks
GATHER_SECONDS = 0.005
WAIT_SECONDS = 60.0


metadata, events_table = ledger_table(
    TABLE_NAME,
    Column("dedupe_key", String(64), nullable=False),
    Column("event_type", String(100), nullable=False),
    Column("family", String(50), nullable=False),
    Column("conn_id", String(250), nullable=False),
    Column("received_at", utc_datetime(), nullable=False),
    Column("asset_event_id", Integer, nullable=True),
    unique=("dedupe_key", ["dedupe_key"]),
    aged_by="received_at",
)


class StoreError(RuntimeError):
    """The event could not be stored (database unreachable, locked, Asset missing): answer 503."""


@dataclass
class _Pending:
    event: WebhookEvent
    conn_id: str
    received_at: datetime
    note_scope: str | None = None
    outcome: Future = field(default_factory=Future)


@dataclass(frozen=True)
class Recorded:
    """The outcome of ``record``: ``duplicate`` is True when the key was already stored."""

    duplicate: bool
    asset_event_id: int | None


class EventStore:
    """The table, the family Assets it needs, the writer thread and retention, over one engine."""

    def __init__(self, engine: Engine, session_factory, *, retention_days: int) -> None:
        self.engine = engine
        self.session_factory = session_factory
        self.retention = timedelta(days=retention_days)
        self._tables = Tables(metadata)
        self._asset_ids: dict[str, int] = {}
        self._lock = threading.Lock()
        self._last_prune = 0.0
        self._queue: queue.SimpleQueue[_Pending] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None

    # -- schema and assets ---------------------------------------------------------------------------
    def ensure_table(self) -> None:
        """Create the table and its indexes once per process (another process may race: both end well)."""
        self._tables.ensure(self.engine)

    def ensure_asset(self, uri: str) -> int:
        """The family's Asset id; the Asset row is created when no DAG declared it yet: an event must be
        stored regardless."""
        if uri in self._asset_ids:
            return self._asset_ids[uri]
        from airflow.assets.manager import asset_manager
        from airflow.models.asset import AssetModel
        from airflow.serialization.definitions.assets import SerializedAsset

        def find(session: Session) -> int | None:
            return session.scalar(select(AssetModel.id).where(AssetModel.name == uri, AssetModel.uri == uri))

        with self.session_factory() as session:
            found = find(session)
            if found is None:
                asset = SerializedAsset(name=uri, uri=uri, group="asset", extra={}, watchers=[])
                asset_manager.create_assets([asset], session=session)
                try:
                    session.commit()
                except IntegrityError:  # created meanwhile by a DAG parse or another receiver process
                    session.rollback()
                found = find(session)
        if found is None:
            raise StoreError(f"asset {uri} could not be created")
        self._asset_ids[uri] = found
        return found

    # -- events --------------------------------------------------------------------------------------
    def prepared(self, uri: str) -> bool:
        """True once the table and this family's Asset are known (no I/O: safe on the event loop)."""
        return self._tables.ready and uri in self._asset_ids

    def prepare(self, uri: str) -> None:
        """The table and this family's Asset, created when missing; ``StoreError`` if the database fails."""
        try:
            self.ensure_table()
            self.ensure_asset(uri)
        except SQLAlchemyError as exc:
            raise StoreError(f"database error: {type(exc).__name__}") from exc

    def submit(
        self, event: WebhookEvent, *, conn_id: str, received_at: datetime, note_scope: str | None = None
    ) -> Future:
        """Hand the event to the writer; the future holds its ``Recorded`` once committed, or a
        ``StoreError``. Needs ``prepare`` first. ``note_scope``: the event is an enrichment callback of that
        run scope (see ``callbacks.py``)."""
        pending = _Pending(event, conn_id, received_at, note_scope)
        self._queue.put(pending)
        self._start_writer()
        return pending.outcome

    def record(
        self, event: WebhookEvent, *, conn_id: str, received_at: datetime, note_scope: str | None = None
    ) -> Recorded:
        """Store the event and its Asset event, committed; ``StoreError`` if that cannot be done (blocks)."""
        self.prepare(event.family.uri)
        outcome = self.submit(event, conn_id=conn_id, received_at=received_at, note_scope=note_scope)
        try:
            return outcome.result(timeout=WAIT_SECONDS)
        except TimeoutError as exc:  # the database hangs: lemlist retries; the key dedupes a late commit
            raise StoreError(f"not committed within {WAIT_SECONDS:.0f} s") from exc

    def _start_writer(self) -> None:
        if self._writer is not None and self._writer.is_alive():
            return
        with self._lock:
            if self._writer is None or not self._writer.is_alive():
                self._writer = threading.Thread(
                    target=self._write_forever, name="lemlist-events-writer", daemon=True
                )
                self._writer.start()

    def _write_forever(self) -> None:
        while True:
            batch = [self._queue.get()]
            gather_until = time.monotonic() + GATHER_SECONDS
            while len(batch) < MAX_BATCH and (left := gather_until - time.monotonic()) > 0:
                try:
                    batch.append(self._queue.get(timeout=left))
                except queue.Empty:
                    break
            self._write(batch)
            self._maybe_prune()

    def _write(self, batch: list[_Pending]) -> None:
        """Commit a batch and answer each caller; never raises (the writer thread must live on)."""
        try:
            try:
                outcomes = self._commit(batch)
            except IntegrityError:
                # another process stored one of these keys after our check: one transaction each, so
                # that only the event that lost the race is a duplicate
                outcomes = [self._commit_alone(pending) for pending in batch]
        except Exception as exc:  # noqa: BLE001 - every caller must get an answer
            error = (
                exc if isinstance(exc, StoreError) else StoreError(f"database error: {type(exc).__name__}")
            )
            if not isinstance(exc, SQLAlchemyError | StoreError):
                log.exception("lemlist webhook store: unexpected error, %d events answered 503", len(batch))
            for pending in batch:
                pending.outcome.set_exception(error)
            return
        for pending, outcome in zip(batch, outcomes, strict=True):
            pending.outcome.set_result(outcome)

    def _commit_alone(self, pending: _Pending) -> Recorded:
        try:
            return self._commit([pending])[0]
        except IntegrityError:
            return Recorded(duplicate=True, asset_event_id=None)

    def _commit(self, batch: list[_Pending]) -> list[Recorded]:
        """One transaction: an Asset event and a ledger row per new key; duplicates (stored or in the batch)
        skip. Each Asset's last new event goes through Airflow's registration, which queues the DAG runs
        for all of them (``asset_events.py``)."""
        keys = {pending.event.dedupe_key for pending in batch}
        callbacks: list = []
        with self.session_factory() as session:
            seen = set(
                session.scalars(select(events_table.c.dedupe_key).where(events_table.c.dedupe_key.in_(keys)))
            )
            fresh: dict[str, list[_Pending]] = {}  # family URI -> its new events, in arrival order
            for pending in batch:
                if pending.event.dedupe_key not in seen:
                    seen.add(pending.event.dedupe_key)
                    fresh.setdefault(pending.event.family.uri, []).append(pending)
            made = self._asset_events(session, fresh, callbacks)
            session.flush()  # the plain rows get their ids
            asset_event_ids = {key: asset_event.id for key, asset_event in made.items()}
            rows = [
                {"dedupe_key": p.event.dedupe_key, "event_type": p.event.type, "family": p.event.family.name,
                 "conn_id": p.conn_id, "received_at": p.received_at, "asset_event_id": asset_event_ids[id(p)]}
                for items in fresh.values() for p in items
            ]  # fmt: skip
            if rows:
                session.execute(insert(events_table), rows)
            self._refresh_queue(session, set(fresh))
            self._note_callbacks(session, batch)
            session.commit()
        for callback in callbacks:  # listeners hear of the events only once they are committed
            callback()
        return [
            Recorded(duplicate=id(p) not in asset_event_ids, asset_event_id=asset_event_ids.get(id(p)))
            for p in batch
        ]

    def _asset_events(
        self, session: Session, fresh: dict[str, list[_Pending]], callbacks: list
    ) -> dict[int, Any]:
        """The Asset event of each new event (keyed by ``id(pending)``)."""
        plain = PlainEvents(session) if batching_allowed() else None
        made: dict[int, Any] = {}
        for uri, items in fresh.items():
            for index, pending in enumerate(items):
                extra = asset_extra(pending.event, conn_id=pending.conn_id)
                if plain is not None and index < len(items) - 1:
                    made[id(pending)] = plain.add(self._asset_ids[uri], extra, callbacks)
                    continue
                asset_event = register(session, uri, extra, callbacks)
                if (
                    asset_event is None
                ):  # the Asset row is gone (deleted by hand): recreated on lemlist's retry
                    self._asset_ids.pop(uri, None)
                    raise StoreError(f"asset {uri} is missing")
                made[id(pending)] = asset_event
        return made

    def _refresh_queue(self, session: Session, uris: set[str]) -> None:
        """Date the DAG-run queue entries of these Assets now, after this transaction's events.

        Airflow 3.3 gives an asset-triggered run the events up to its queue entry's ``created_at``, and an
        event that finds the entry already there leaves its date alone: events stored between the entry's
        creation and the run's would wait for the next event of that Asset, hours later maybe. Dating the
        entry at each commit makes the next run take every event committed so far.
        """
        if not uris:
            return
        from airflow._shared.timezones import timezone
        from airflow.models.asset import AssetDagRunQueue

        ids = [self._asset_ids[uri] for uri in uris if uri in self._asset_ids]
        session.execute(
            update(AssetDagRunQueue)
            .where(AssetDagRunQueue.asset_id.in_(ids))
            .values(created_at=timezone.utcnow())
        )

    def _note_callbacks(self, session: Session, batch: list[_Pending]) -> None:
        """Note the enrichment ids of the batch's callbacks under their run scopes (Asset state store)."""
        found: dict[str, dict[str, str]] = {}
        for pending in batch:
            enrichment_id = enrichment_id_of(pending.event.payload)
            if pending.note_scope and enrichment_id:
                found.setdefault(pending.note_scope, {})[enrichment_id] = pending.event.type
        if not found:
            return
        from airflow._shared.state import AssetScope
        from airflow.state import get_state_backend

        backend = get_state_backend()
        scope = AssetScope(asset_id=self.ensure_asset(ENRICHMENT_URI))
        for run_scope, ids in found.items():
            current = backend.get(scope, note_key(run_scope), session=session)
            notes = merge_notes(json.loads(current) if current else None, ids)
            backend.set(scope, note_key(run_scope), json.dumps(notes), session=session)

    # -- reading ------------------------------------------------------------------------------------
    def family_counts(self, since: datetime) -> list[dict[str, Any]]:
        """Events stored per family since ``since`` and the last arrival: no payload, no lead data."""
        from .families import FAMILIES

        self.ensure_table()
        with self.session_factory() as session:
            rows = session.execute(
                select(events_table.c.family, func.count(), func.max(events_table.c.received_at))
                .where(events_table.c.received_at >= since)
                .group_by(events_table.c.family)
            ).all()
        found = {family: (count, last) for family, count, last in rows}
        return [
            {
                "family": family.name,
                "uri": family.uri,
                "events": found.get(family.name, (0, None))[0],
                "last_received_at": (
                    last.isoformat() if (last := found.get(family.name, (0, None))[1]) else None
                ),
            }
            for family in FAMILIES
        ]

    # -- retention -----------------------------------------------------------------------------------
    def _maybe_prune(self) -> None:
        """Delete ledger rows past retention, at most every ten minutes per process, never failing a request."""
        if time.monotonic() - self._last_prune < PRUNE_EVERY_SECONDS:
            return
        self._last_prune = time.monotonic()
        try:
            deleted = self.prune(datetime.now(UTC) - self.retention)
            self.prune_notes(datetime.now(UTC) - timedelta(seconds=TTL_SECONDS))
        except SQLAlchemyError as exc:
            log.warning(
                "lemlist webhook retention: pruning failed (%s); will retry later", type(exc).__name__
            )
            return
        if deleted:
            log.info("lemlist webhook retention: deleted %d events older than %s", deleted, self.retention)

    def prune(self, cutoff: datetime) -> int:
        """Delete rows received before ``cutoff`` in batches; returns how many were deleted."""
        self.ensure_table()
        return prune_before(self.session_factory, events_table, events_table.c.received_at, cutoff)

    def prune_notes(self, cutoff: datetime) -> int:
        """Delete enrichment-callback notes last written before ``cutoff`` (their URLs have expired).

        Only Airflow's default state backend (the metadata database) is pruned here; another backend keeps
        them until the enrichment Asset is removed.
        """
        from airflow.models.asset_state_store import AssetStateStoreModel
        from airflow.state import get_state_backend
        from airflow.state.metastore import MetastoreBackend

        if ENRICHMENT_URI not in self._asset_ids or not isinstance(get_state_backend(), MetastoreBackend):
            return 0
        with self.session_factory() as session:
            result = session.execute(
                delete(AssetStateStoreModel).where(
                    AssetStateStoreModel.asset_id == self._asset_ids[ENRICHMENT_URI],
                    AssetStateStoreModel.key.startswith(KEY_PREFIX),
                    AssetStateStoreModel.updated_at < cutoff,
                )
            )
            session.commit()
        return result.rowcount or 0


def asset_extra(event: WebhookEvent, *, conn_id: str) -> dict[str, Any]:
    """What a DAG finds in ``triggering_asset_events[...].extra``: the type, the key, and the payload."""
    return {
        "type": event.type,
        "family": event.family.name,
        "dedupe_key": event.dedupe_key,
        "conn_id": conn_id,
        "payload": event.payload,
    }
