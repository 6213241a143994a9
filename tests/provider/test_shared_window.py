"""The key's shared send window, against the real sandbox over HTTP, on each kind of window lemlist may keep.

Several processes share one key: with the local store (the default: a SQLite file on this host) and with
Redis (127.0.0.1:6379, db 5) the sandbox answers no 429 whether its window slides, is fixed from the first
request or fixed to the clock. Then the faults: Redis down (a closed port), slow (a relay that holds every
answer), and back (the relay resumes): calls succeed, the fallback is logged once, and the gate goes back to
the shared window.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
import uuid

import pytest

from lemlist_dev.rate_senders import run_senders
from lemlist_dev.tcp_relay import TcpRelay
from lemlist_provider.hooks.async_lemlist import LemlistAsyncHook
from lemlist_provider.hooks.lemlist import LemlistHook
from lemlist_provider.hooks.ratelimit import RateLimiter
from lemlist_provider.hooks.shared_gate import LayeredGate, OutsideReserve, ReserveState
from lemlist_provider.hooks.shared_window import BURST, window_id
from lemlist_sandbox import SandboxServer
from lemlist_sandbox.ratelimit import WINDOW_KINDS

REDIS = ("127.0.0.1", 6379)
REDIS_DB = 5
PROCS, CALLS = 4, 30  # 120 requests: six windows' worth at 20 per 2 s, started together


def _redis_client():
    import redis

    return redis.Redis(*REDIS, db=REDIS_DB, socket_timeout=1, socket_connect_timeout=1)


@pytest.fixture(scope="module")
def redis_url() -> str:
    try:
        _redis_client().ping()
    except Exception as exc:
        pytest.skip(f"needs Redis on {REDIS[0]}:{REDIS[1]} (db {REDIS_DB}) for the shared window: {exc}")
    return f"redis://{REDIS[0]}:{REDIS[1]}/{REDIS_DB}"


@pytest.fixture(scope="module")
def kind_sandbox():
    """One sandbox in a process of its own; each test sets the window kind it plays."""
    with SandboxServer(seed="empty", in_process=False) as server:
        yield server


def _new_key(server: SandboxServer, kind: str) -> str:
    server.set_faults(rate_window_kind=kind, rate_limit=20, rate_window=2.0)
    key = f"shared-{uuid.uuid4().hex[:10]}"
    server.create_team(key)
    return key


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _window_entries(base_url: str, key: str) -> int:
    """How many sends Redis holds in the key's window (its list, whichever limits key names it; the
    outside reserve beside it is a string)."""
    client = _redis_client()
    wid = window_id(base_url, key)
    names = client.scan_iter(f"lemlist_rate*{wid}*")
    return sum(client.llen(name) for name in names if client.type(name) == b"list")


@pytest.mark.slow
@pytest.mark.parametrize("kind", WINDOW_KINDS)
def test_processes_sharing_a_key_through_the_local_store_see_no_429(kind_sandbox, kind, tmp_path):
    key = _new_key(kind_sandbox, kind)
    before = kind_sandbox.stats()["rate_limited_429"]
    run = run_senders(
        kind_sandbox.base_url,
        key,
        PROCS,
        CALLS,
        env={"AIRFLOW__LEMLIST__LOCAL_RATE_STORE_DIR": str(tmp_path)},
    )
    assert run["failures"] == 0 and run["shared"] == [True] * PROCS
    assert run["rate_limited"] == 0
    assert kind_sandbox.stats()["rate_limited_429"] == before
    # one window file for the key, named by a hash: the key itself is in no file name
    files = sorted(p.name for p in tmp_path.iterdir())
    assert f"{window_id(kind_sandbox.base_url, key)}.sqlite" in files
    assert not any(key in name for name in files)
    # and the processes used the budget: 120 calls at 19 per 2.04 s take about 11.5 s
    assert run["seconds"] < PROCS * CALLS / 10 * 1.3


@pytest.mark.slow
@pytest.mark.parametrize("kind", WINDOW_KINDS)
def test_processes_sharing_a_key_through_redis_see_no_429(kind_sandbox, kind, redis_url):
    key = _new_key(kind_sandbox, kind)
    before = kind_sandbox.stats()["rate_limited_429"]
    env = {"AIRFLOW__LEMLIST__LOCAL_RATE_STORE": "False"}  # Redis is the only shared store
    run = run_senders(kind_sandbox.base_url, key, PROCS, CALLS, extra={"rate_store": redis_url}, env=env)
    assert run["failures"] == 0 and run["shared"] == [True] * PROCS
    assert run["rate_limited"] == 0
    assert kind_sandbox.stats()["rate_limited_429"] == before
    assert _window_entries(kind_sandbox.base_url, key) > 0
    assert run["seconds"] < PROCS * CALLS / 10 * 1.3


def test_the_header_limiter_alone_when_the_local_store_is_off(sandbox, team_key, make_conn, monkeypatch):
    monkeypatch.setenv("AIRFLOW__LEMLIST__LOCAL_RATE_STORE", "False")
    hook = LemlistHook(make_conn(sandbox.base_url, team_key))
    hook.get_conn()
    assert type(hook.limiter) is RateLimiter


def test_a_rate_store_that_is_not_a_redis_url_is_refused(sandbox, team_key, make_conn):
    hook = LemlistHook(make_conn(sandbox.base_url, team_key, rate_store="http://127.0.0.1:6379"))
    with pytest.raises(ValueError, match="rate_store must be a redis:// or rediss:// URL"):
        hook.get_conn()


def test_redis_named_by_a_connection_id(sandbox, team_key, make_conn, redis_url, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_LIMITER_REDIS", f"redis://{REDIS[0]}:{REDIS[1]}/?db={REDIS_DB}")
    hook = LemlistHook(make_conn(sandbox.base_url, team_key, redis_conn_id="limiter_redis"))
    for _ in range(3):
        hook.get_team()
    assert isinstance(hook.limiter, LayeredGate) and hook.limiter.shared
    assert hook.limiter.where.startswith("redis://127.0.0.1:6379/")
    assert _window_entries(sandbox.base_url, team_key) == 3


def _calls(hook: LemlistHook, n: int) -> list[float]:
    took = []
    for _ in range(n):
        started = time.monotonic()
        hook.get_team()
        took.append(time.monotonic() - started)
    return took


def test_redis_down_falls_back_to_the_headers_at_once(sandbox, team_key, make_conn, caplog):
    url = f"redis://127.0.0.1:{_closed_port()}/{REDIS_DB}"
    hook = LemlistHook(make_conn(sandbox.base_url, team_key, rate_store=url))
    before = sandbox.stats()["rate_limited_429"]
    with caplog.at_level(logging.WARNING):
        took = _calls(hook, 30)
    gate = hook.limiter
    assert isinstance(gate, LayeredGate) and not gate.shared and gate.fallbacks == 1
    warnings = [r for r in caplog.records if "rate store" in r.getMessage() and r.levelno == logging.WARNING]
    assert len(warnings) == 1  # one WARNING per outage, not one per request
    assert "headers alone" in warnings[0].getMessage()
    assert took[0] < 1.0  # the first call did not hang on the store
    assert sandbox.stats()["rate_limited_429"] == before  # the header-based limiter paced the calls


def test_redis_slow_falls_back_and_calls_succeed(sandbox, team_key, make_conn, redis_url, caplog):
    with TcpRelay(REDIS) as relay:
        relay.delay = 1.0  # well past the store's socket timeout
        url = f"redis://127.0.0.1:{relay.port}/{REDIS_DB}"
        hook = LemlistHook(make_conn(sandbox.base_url, team_key, rate_store=url))
        with caplog.at_level(logging.WARNING):
            took = _calls(hook, 10)
    assert not hook.limiter.shared and hook.limiter.fallbacks == 1
    assert any("rate store" in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
    assert max(took) < 2.0  # a slow store costs a call its socket timeout, never Redis's delay each time


def test_redis_back_returns_to_the_shared_window(sandbox, team_key, make_conn, redis_url, caplog):
    relay = TcpRelay(REDIS).start()
    try:
        url = f"redis://127.0.0.1:{relay.port}/{REDIS_DB}"
        hook = LemlistHook(make_conn(sandbox.base_url, team_key, rate_store=url))
        _calls(hook, 3)
        gate = hook.limiter
        gate.retry_store_after = 0.5
        assert gate.shared and _window_entries(sandbox.base_url, team_key) == 3
        relay.stop()  # Redis "stopped"
        with caplog.at_level(logging.INFO):
            _calls(hook, 5)
            assert not gate.shared and gate.fallbacks == 1
            relay.resume()  # and back on the same port
            time.sleep(0.6)
            _calls(hook, 5)
        assert gate.shared
        # slots taken in Redis again, and the sends of the outage (the last 5, ~1 s before) recorded in it:
        # the server still counts them, so the window must too, or the processes coming back overfill it
        assert _window_entries(sandbox.base_url, team_key) >= 9
        assert any("is back" in r.getMessage() for r in caplog.records)
    finally:
        relay.stop()
    assert hook.metrics()["failures"] == 0


def test_the_async_hook_takes_its_slots_from_redis(sandbox, team_key, make_conn, redis_url):
    conn_id = make_conn(sandbox.base_url, team_key, rate_store=redis_url)
    before = sandbox.stats()["rate_limited_429"]

    async def main():
        async with LemlistAsyncHook(conn_id) as hook:
            await asyncio.gather(*(hook.get_team() for _ in range(25)))
            return hook.limiter, hook.metrics(), _window_entries(sandbox.base_url, team_key)

    started = time.monotonic()
    gate, metrics, entries = asyncio.run(main())
    assert isinstance(gate, LayeredGate) and gate.shared
    assert metrics["rate_limited"] == 0 and sandbox.stats()["rate_limited_429"] == before
    # 25 sends at 19 per window: the last 6 waited for the first slots to free, and are in Redis
    assert time.monotonic() - started >= 2.0
    assert entries >= 6


# -- the reserve for senders outside the deployment (a pure rule over the store's state, fake clock) ----------
class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_outside_reserve_follows_an_outside_senders_use_then_decays_slowly():
    clock = _Clock()
    rule = OutsideReserve(20, 2.0, clock=clock)
    state = None
    assert rule.value(state) == 0
    # nobody outside, or a lone request at the edge of the window: no reserve
    assert rule.sampled(state, 0) is None
    state = rule.sampled(state, 1)
    assert rule.value(state) == 0
    clock.now += 0.1
    assert rule.sampled(state, 1) is None
    # an outside sender already running when it is first seen: the level is what it got, plus a slot of
    # headroom to show more
    clock.now += 5.0
    state = rule.sampled(state, 6)
    assert rule.value(state) == 7
    # smaller samples keep the level; one that asks for it again confirms it
    clock.now += 9.0
    assert rule.sampled(state, 4) is None
    state = rule.sampled(state, 6)
    clock.now += 9.0
    assert rule.value(state) == 7
    # it stops: one slot back per `hold` windows (10 s) without a confirming sample
    clock.now += 1.1
    assert rule.value(state) == 6
    clock.now += 30.0
    assert rule.value(state) == 3
    clock.now += 200.0
    assert rule.value(state) == 0


def _samples(rule: OutsideReserve, clock: _Clock, samples: list[tuple[float, int]], state=None):
    """Feed ``(seconds after the start, sample)`` in order; returns the state and the level after each."""
    start, levels = clock.now, []
    for at, excess in samples:
        clock.now = start + at
        state = rule.sampled(state, excess) or state
        levels.append(rule.value(state))
    return state, levels


def test_a_sender_starting_beside_the_deployment_is_reserved_its_pace_over_a_whole_window_at_once():
    """3 requests a second started with the deployment: its sample grows 1, 2, 3... through its first
    window, but its pace (one request per 0.33 s) says it takes 6 slots of each window. The level is 7
    from its second request on, not one sample behind all window long (which let the deployment fill the
    window before the sender did, and refused both near its end)."""
    clock = _Clock()
    rule = OutsideReserve(20, 2.0, clock=clock)
    _, levels = _samples(rule, clock, [(0.01, 1), (0.34, 2), (0.67, 3), (1.0, 4), (1.7, 6), (2.5, 6)])
    assert levels == [0, 7, 7, 7, 7, 7]


def test_an_overestimated_first_window_is_corrected_by_what_the_next_window_shows():
    """Two requests counted close together (the sender started before the deployment looked) make the first
    window's pace look too fast; the next window's samples show the sender's whole use and set the level."""
    clock = _Clock()
    rule = OutsideReserve(20, 2.0, clock=clock)
    state, levels = _samples(rule, clock, [(0.0, 1), (0.3, 3), (1.5, 6)])
    assert levels[1] >= 10
    state, levels = _samples(rule, clock, [(0.6, 5), (1.0, 6), (1.4, 5)], state)
    assert levels == [7, 7, 7]
    # after that, the usual rule: the largest sample plus headroom, decaying slowly
    clock.now += 3.0
    assert rule.value(rule.sampled(state, 7)) == 8


def test_a_429_with_a_healthy_store_raises_the_reserve_by_one_per_window_and_never_takes_the_whole_window():
    clock = _Clock()
    rule = OutsideReserve(20, 2.0, clock=clock)
    state = rule.rejected(None)
    assert rule.value(state) == 1
    # one overflow refuses several of our processes at once: one sign, one slot
    clock.now += 0.1
    state = rule.rejected(state)
    assert rule.value(state) == 1
    clock.now += 2.0
    state = rule.rejected(state)
    assert rule.value(state) == 2
    clock.now += 10.0
    assert rule.value(rule.sampled(state, 50)) == 18  # the deployment always keeps a slot of its own


def _first_take_after(window, reserve: int, taken: int = 1) -> float:
    """Seconds from the last of ``taken`` takes (granted at once) to the next one the window grants
    (sleeping the pauses it asks for)."""
    for _ in range(taken):
        assert window.take(reserve)[0] == 0.0
    started = time.monotonic()
    while window.take(reserve)[0] > 0:
        time.sleep(0.01)
    return time.monotonic() - started


def test_the_deployment_sends_at_an_even_pace(tmp_path):
    from lemlist_provider.hooks.shared_window import LocalWindow, local_store_path

    window = LocalWindow(local_store_path(str(tmp_path), "pace-test"), 20, 2.0)
    # an idle window sends its first BURST at once; then 20 slots per 2.04 s are spaced
    # 2040 * 0.95 // 20 = 96 ms apart: never a burst of the whole window
    assert 0.09 <= _first_take_after(window, 0, taken=BURST) < 0.5


def test_the_reserve_is_shared_through_the_local_store(tmp_path):
    from lemlist_provider.hooks.shared_window import LocalWindow, local_store_path

    path = local_store_path(str(tmp_path), "reserve-test")
    first, second = LocalWindow(path, 7, 4.0), LocalWindow(path, 7, 4.0)
    assert first.read_reserve() is None
    first.write_reserve((6, 1234.5))
    assert second.read_reserve() == (6, 1234.5)
    # a reserve of 6 leaves one slot of 7 per 4.04 s: the next take waits out the window (with no reserve
    # it would go at once: the window is idle)
    assert _first_take_after(second, 6) >= 4.0


def test_a_reserve_raised_by_another_process_holds_the_next_take_at_once(tmp_path):
    """Every take reads the reserve the store holds: a process that only read it at its own answers kept
    taking slots for up to a second after another process's answer had given them to an outside sender."""
    from lemlist_provider.hooks.shared_window import LocalWindow, local_store_path

    path = local_store_path(str(tmp_path), "fresh-reserve")
    gate = LayeredGate(lambda: LocalWindow(path, 7, 2.0), RateLimiter(7, 2.0))
    assert gate.acquire() < 0.1  # an idle window: at once
    # another process of the deployment learns that a sender outside it takes 6 of the 7 slots
    LocalWindow(path, 7, 2.0).write_reserve(ReserveState(6, time.time()))
    started = time.monotonic()
    gate.acquire()
    assert time.monotonic() - started >= 1.9  # the one slot left is the one taken: wait for it to age out


@pytest.mark.parametrize(
    "stored", ["garbage", "7", "1e999,1.0,0.0,0,0,0.0", "nan,1.0,0.0,0,0,0.0", "6,1.0,x,0,0,0.0"]
)
def test_a_reserve_this_version_did_not_write_reads_as_none_and_the_gate_still_sends(tmp_path, stored):
    """The store is shared (another version, a hand edit): a value that is not a reserve is no reserve, and
    the take goes on instead of failing the request."""
    from lemlist_provider.hooks.shared_window import LocalWindow, local_store_path

    path = local_store_path(str(tmp_path), "odd-reserve")
    window = LocalWindow(path, 7, 2.0)
    window._reserve_sql("INSERT OR REPLACE INTO outside_reserve (id, state) VALUES (1, ?)", stored)
    assert ReserveState.of(window.read_reserve()) is None
    gate = LayeredGate(lambda: LocalWindow(path, 7, 2.0), RateLimiter(7, 2.0))
    assert gate.acquire() < 0.1 and gate.shared


def test_the_reserve_is_shared_through_redis(redis_url):
    from lemlist_provider.hooks.shared_window import RedisWindow

    wid = f"reserve-{uuid.uuid4().hex}"
    first, second = RedisWindow(redis_url, wid, 7, 4.0), RedisWindow(redis_url, wid, 7, 4.0)
    assert first.read_reserve() is None
    first.write_reserve((6, 1234.5))
    assert second.read_reserve() == (6, 1234.5)
    assert _first_take_after(second, 6) >= 4.0
