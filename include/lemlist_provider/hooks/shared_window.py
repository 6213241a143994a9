"""One send window per key shared by every process of the deployment: in Redis, or in a file on this host.

The header-based ``RateLimiter`` only shares what the server says (``X-RateLimit-Remaining``), so eight
processes guess at each other's pace and a server that keeps a fixed window punishes the guesses. Here the
processes share the window itself: each request takes a slot in one sliding log of ``amount`` sends per
``window`` seconds before it goes out. A client-side sliding log of N per W puts at most N requests in ANY
interval of length W, hence at most N in any fixed or clock-aligned window too: whatever lemlist keeps.

* ``RedisWindow``: the maintained ``limits`` library's moving window (an atomic Lua script) in Redis, for
  every host of a Celery deployment; ``limits.aio`` for the triggerer's event loop. Short socket timeouts:
  a slow or stopped Redis costs a request at most a fraction of a second before the gate falls back.
* ``LocalWindow``: pyrate-limiter's SQLite bucket behind its file lock, for one host with no Redis
  (LocalExecutor, ``make up``, ``make demo``).

Consecutive sends of the deployment are also spaced, once the window holds ``BURST`` sends: at least
``window / (amount - reserve)`` apart, so the deployment sends at an even pace instead of in bursts of a
whole window (a key that was idle sends its first few at once: a task of a few calls does not wait). A
burst fills the server's window at once and refuses any other sender of the key until it ages out; an
even pace leaves room throughout the window, and the answers arrive in the order the slots were taken,
so the server's count minus the deployment's is exact (what ``shared_gate.OutsideReserve`` learns from).

Both are keyed by ``window_id``, a hash of the key and the base URL, never the key itself. ``take`` either
takes a slot (returns ``(0, count)``, with ``count`` the sends in the last ``window`` seconds, unstretched,
including this one: what the server's count holds of the deployment) or says
how long to wait before trying again; a store that cannot answer raises ``StoreUnavailable``.
"""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
import tempfile
import threading
import time
import weakref
from pathlib import Path
from typing import Protocol

#: both stores stretch the window by this much: a request may reach lemlist a little later than its slot
#: was taken (a busy host, a queue at the server), and its slot must not free before lemlist's does.
#: Measured (docs/rate-limiting.md): 10 ms still let 0.3-0.7 % of requests through early on a 2-core host
#: running 8 senders and the sandbox; 40 ms none.
MARGIN_MS = 40


#: the spacing is this share of an even spread: a send that wakes up late (a sleep, a round trip to the
#: store) is made up by the next ones, so the log, not the spacing, sets the deployment's rate
PACE = 0.95


#: a window holding fewer sends than this is idle: the next send goes at once, without the spacing
BURST = 4


def spacing_ms(window_ms: int, cap: int) -> int:
    """The least time between two sends of the deployment: a little under its window spread evenly over its
    ``cap`` slots."""
    return max(1, int(window_ms * PACE) // max(1, cap))


#: Redis must answer within this many seconds, or the request falls back to the header-based gate
REDIS_TIMEOUT = 0.25
#: the local file lock must be had within this many seconds
LOCAL_LOCK_TIMEOUT = 2.0


class StoreUnavailable(Exception):
    """The shared store did not answer (Redis down or slow, the local file unusable)."""


class WindowStore(Protocol):
    amount: int
    where: str  # for logs: "redis://host:port/db" or the file, never the key

    def take(self, reserve: int = 0) -> tuple[float, int]:
        """Take a slot, keeping ``reserve`` more free: ``(0, count)``, or ``(seconds to wait, amount)``."""

    async def atake(self, reserve: int = 0) -> tuple[float, int]:
        """``take`` without blocking the event loop."""

    def record(self, sends: int) -> None:
        """Count ``sends`` made without the store (during an outage) as taken now, as far as the window
        has room: the server still counts them for up to a window."""

    def read_reserve(self) -> tuple | None:
        """The reserve for senders outside the deployment (``shared_gate.OutsideReserve``), or ``None``."""

    def write_reserve(self, state: tuple) -> None:
        """Store that reserve for every process of the deployment."""


def _encode_reserve(state: tuple) -> str:
    return ",".join(repr(value) for value in state)


def _decode_reserve(raw) -> tuple | None:
    """The numbers ``_encode_reserve`` wrote (``shared_gate.ReserveState`` checks their shape)."""
    if not raw:
        return None
    try:
        return tuple(
            float(v) if "." in v or "e" in v else int(v)
            for v in (raw.decode() if isinstance(raw, bytes) else str(raw)).split(",")
        )
    except ValueError:
        return None  # a value this version did not write: start again from no reserve


def window_id(base_url: str, secret: str | None) -> str:
    """The window's name: a hash of the base URL and the key (the key is never stored or logged)."""
    return hashlib.sha256(f"{base_url.rstrip('/')}\n{secret or ''}".encode()).hexdigest()[:24]


def redis_url_of(conn) -> str:
    """``redis://[:password@]host:port/db`` of an Airflow Redis connection (``extra.db``, default 0)."""
    extra = conn.extra_dejson or {}
    auth = f":{conn.password}@" if conn.password else ""
    scheme = "rediss" if str(extra.get("ssl", "")).lower() in ("1", "true") else "redis"
    db = extra.get("db", conn.schema or 0) or 0
    return f"{scheme}://{auth}{conn.host or 'localhost'}:{conn.port or 6379}/{db}"


def _safe_where(url: str) -> str:
    """The Redis URL without its password, for logs."""
    head, _, tail = url.rpartition("@")
    return f"{url.split('://', 1)[0]}://{tail}" if head else url


class RedisWindow:
    """``limits``' moving window of ``amount`` sends per ``window`` seconds in Redis, checked with a margin.

    limits' atomic acquire takes whole seconds (its key expiry), so the margin is a read of the same log
    over ``window + MARGIN`` first (``get_moving_window``): a slot is only taken once the log has room
    over the stretched window too. The read and the atomic acquire are two calls; processes that race
    between them are still held to ``amount`` per ``window`` by the acquire.
    """

    def __init__(self, url: str, wid: str, amount: int, window: float) -> None:
        from limits import RateLimitItemPerSecond
        from limits.storage import RedisStorage
        from limits.strategies import MovingWindowRateLimiter

        self.amount, self.where, self._url, self._wid = amount, _safe_where(url), url, wid
        self._item = RateLimitItemPerSecond(amount, max(1, round(window)))
        self._key = self._item.key_for(wid)
        self._span = window + MARGIN_MS / 1000.0
        self._window = window
        self._options = {"socket_timeout": REDIS_TIMEOUT, "socket_connect_timeout": REDIS_TIMEOUT}
        self._storage = RedisStorage(url, key_prefix="lemlist_rate", **self._options)
        self._reserve_key = f"lemlist_rate:reserve:{wid}"
        self._gap_key = f"lemlist_rate:gap:{wid}"
        self._sync = MovingWindowRateLimiter(self._storage)
        # event loop -> limits.aio (storage, limiter): connections belong to one loop
        self._aio: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def _errors(self) -> tuple[type[BaseException], ...]:
        import redis
        from limits.errors import StorageError

        return (redis.RedisError, OSError, StorageError, asyncio.TimeoutError)

    def _full(self, oldest: float, count: int, reserve: int) -> float:
        """Seconds until the stretched window has room for one more beside ``reserve`` (0: it has)."""
        if count + reserve < self.amount:
            return 0.0
        return max(0.002, oldest + self._span - time.time())

    def _gap(self, reserve: int) -> int:
        return spacing_ms(round(self._span * 1000), self.amount - reserve)

    def take(self, reserve: int = 0) -> tuple[float, int]:
        try:
            oldest, count = self._storage.get_moving_window(self._key, self.amount, self._span)
            wait = self._full(oldest, count, reserve)
            if wait:
                return wait, self.amount
            redis = self._storage.get_connection()
            # the spacing: a key that lives one gap, set by whoever sends (SET NX PX is atomic); an idle
            # window sends at once but still sets it, so the spacing runs from its last send
            if not redis.set(self._gap_key, 1, px=self._gap(reserve), nx=count >= BURST):
                return max(0.002, (redis.pttl(self._gap_key) or 2) / 1000.0), self.amount
            if self._sync.hit(self._item, self._wid):
                return 0.0, self._storage.get_moving_window(self._key, self.amount, self._window)[1]
            return 0.005, self.amount
        except self._errors() as exc:
            raise StoreUnavailable(f"{type(exc).__name__}: {exc}") from None

    def record(self, sends: int) -> None:
        try:
            count = self._storage.get_moving_window(self._key, self.amount, self._window)[1]
            if min(sends, self.amount - count) > 0:
                self._sync.hit(self._item, self._wid, cost=min(sends, self.amount - count))
        except self._errors() as exc:
            raise StoreUnavailable(f"{type(exc).__name__}: {exc}") from None

    def read_reserve(self) -> tuple | None:
        try:
            return _decode_reserve(self._storage.get_connection().get(self._reserve_key))
        except self._errors() as exc:
            raise StoreUnavailable(f"{type(exc).__name__}: {exc}") from None

    def write_reserve(self, state: tuple) -> None:
        try:
            # forgotten after a minute unused: a reserve is only worth what recent answers showed
            self._storage.get_connection().set(self._reserve_key, _encode_reserve(state), ex=60)
        except self._errors() as exc:
            raise StoreUnavailable(f"{type(exc).__name__}: {exc}") from None

    def _aio_pair(self):
        loop = asyncio.get_running_loop()
        pair = self._aio.get(loop)
        if pair is None:
            from limits.aio.storage import RedisStorage
            from limits.aio.strategies import MovingWindowRateLimiter

            url = "async+" + self._url
            storage = RedisStorage(url, implementation="redispy", key_prefix="lemlist_rate", **self._options)
            pair = self._aio[loop] = (storage, MovingWindowRateLimiter(storage))
        return pair

    async def atake(self, reserve: int = 0) -> tuple[float, int]:
        try:
            storage, limiter = self._aio_pair()
            oldest, count = await storage.get_moving_window(self._key, self.amount, self._span)
            wait = self._full(oldest, count, reserve)
            if wait:
                return wait, self.amount
            redis = storage.bridge.get_connection()
            if not await redis.set(self._gap_key, 1, px=self._gap(reserve), nx=count >= BURST):
                return max(0.002, ((await redis.pttl(self._gap_key)) or 2) / 1000.0), self.amount
            if await limiter.hit(self._item, self._wid):
                return 0.0, (await storage.get_moving_window(self._key, self.amount, self._window))[1]
            return 0.005, self.amount
        except self._errors() as exc:
            raise StoreUnavailable(f"{type(exc).__name__}: {exc}") from None


def local_store_path(directory: str, wid: str) -> Path:
    """The SQLite file of one window: ``<directory>/<window id>.sqlite`` (``directory`` empty: the temp dir)."""
    folder = (
        Path(directory).expanduser() if directory else Path(tempfile.gettempdir()) / "lemlist-rate-windows"
    )
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{wid}.sqlite"


class LocalWindow:
    """pyrate-limiter's SQLite sliding log behind its file lock: every process on this host, one window."""

    _leak_every = 64

    def __init__(self, path: Path, amount: int, window: float) -> None:
        from pyrate_limiter import Rate, SQLiteBucket

        self.amount, self.where = amount, str(path)
        self._window_ms = int(window * 1000)
        self._interval = self._window_ms + MARGIN_MS
        self._rate = Rate
        self._thread_lock = threading.Lock()  # the file lock is per thread; one sqlite connection is not
        self._puts = 0
        try:
            self._bucket = SQLiteBucket.init_from_file(
                [Rate(amount, self._interval)], table="send_window", db_path=str(path), use_file_lock=True
            )
            self._bucket.lock.timeout = LOCAL_LOCK_TIMEOUT
            with self._thread_lock, self._bucket.lock:
                self._bucket.conn.execute(
                    "CREATE TABLE IF NOT EXISTS outside_reserve (id INTEGER PRIMARY KEY, state TEXT NOT NULL)"
                )
                self._bucket.conn.commit()
        except (sqlite3.Error, OSError) as exc:
            raise StoreUnavailable(f"{type(exc).__name__}: {exc}") from None

    def _spacing_wait(self, now: int, cap: int) -> float:
        """Seconds until the spacing allows the next send (0: now): a window holding ``BURST`` sends or more
        waits one gap after its newest."""
        cur = self._bucket.conn.execute(
            "SELECT COUNT(*), MAX(item_timestamp) FROM send_window WHERE item_timestamp > ?",
            (now - self._interval,),
        )
        count, newest = cur.fetchone()
        cur.close()
        if count < BURST or newest is None:
            return 0.0
        return max(0.0, (newest + spacing_ms(self._interval, cap) - now) / 1000.0)

    def take(self, reserve: int = 0) -> tuple[float, int]:
        from filelock import Timeout
        from pyrate_limiter import RateItem

        bucket = self._bucket
        try:
            with self._thread_lock, bucket.lock:
                # the cap may shrink for senders outside the deployment; the log itself stays one log
                cap = max(1, self.amount - reserve)
                bucket.rates = [self._rate(cap, self._interval)]
                now = bucket.now()
                wait = self._spacing_wait(now, cap)
                if wait:
                    return max(0.002, wait), self.amount
                item = RateItem("send", now)
                if not bucket.put(item):
                    wait_ms = bucket.waiting(item)
                    return max(0.002, wait_ms / 1000.0 if wait_ms > 0 else 0.01), self.amount
                self._puts += 1
                if self._puts % self._leak_every == 0:
                    bucket.leak(now)
                cur = bucket.conn.execute(
                    "SELECT COUNT(*) FROM send_window WHERE item_timestamp > ?", (now - self._window_ms,)
                )
                count = cur.fetchone()[0]
                cur.close()
                return 0.0, count
        except (sqlite3.Error, OSError, Timeout) as exc:
            raise StoreUnavailable(f"{type(exc).__name__}: {exc}") from None

    async def atake(self, reserve: int = 0) -> tuple[float, int]:
        return await asyncio.to_thread(self.take, reserve)

    def record(self, sends: int) -> None:
        from filelock import Timeout
        from pyrate_limiter.buckets.sqlite_bucket import Queries

        bucket = self._bucket
        try:
            with self._thread_lock, bucket.lock:
                now = bucket.now()
                cur = bucket.conn.execute(
                    "SELECT COUNT(*) FROM send_window WHERE item_timestamp > ?", (now - self._interval,)
                )
                room = min(sends, self.amount - cur.fetchone()[0])
                cur.close()
                if room > 0:
                    bucket.conn.executemany(
                        Queries.PUT_ITEM.format(table="send_window"), [("send", now)] * room
                    )
                    bucket.conn.commit()
        except (sqlite3.Error, OSError, Timeout) as exc:
            raise StoreUnavailable(f"{type(exc).__name__}: {exc}") from None

    def _reserve_sql(self, sql: str, *args) -> list:
        from filelock import Timeout

        try:
            with self._thread_lock, self._bucket.lock:
                rows = self._bucket.conn.execute(sql, args).fetchall()
                self._bucket.conn.commit()
                return rows
        except (sqlite3.Error, OSError, Timeout) as exc:
            raise StoreUnavailable(f"{type(exc).__name__}: {exc}") from None

    def read_reserve(self) -> tuple | None:
        rows = self._reserve_sql("SELECT state FROM outside_reserve WHERE id = 1")
        return _decode_reserve(rows[0][0]) if rows else None

    def write_reserve(self, state: tuple) -> None:
        self._reserve_sql(
            "INSERT OR REPLACE INTO outside_reserve (id, state) VALUES (1, ?)", _encode_reserve(state)
        )
