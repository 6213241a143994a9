"""The lemlist counters reach Airflow's metrics: StatsD configured as an admin would ([metrics] statsd_on,
host, port), a real UDP socket listening on that port, a hook calling the sandbox over HTTP.

The task runner initialises Airflow's Stats from ``[metrics]`` when a task starts; the test does the same
(``stats.initialize`` with ``get_stats_factory``) in its own process, then reads what arrives on the socket.
"""

from __future__ import annotations

import socket
import time

import pytest

from lemlist_provider.hooks.lemlist import LemlistHook

NAMES = ("lemlist.requests", "lemlist.rate_limited", "lemlist.waited_ms")


@pytest.fixture
def statsd_listener(monkeypatch):
    """A UDP socket on a free loopback port, and Airflow's Stats sending StatsD there."""
    from airflow.sdk._shared.observability.metrics.base_stats_logger import NoStatsLogger
    from airflow.sdk.observability import stats
    from airflow.sdk.observability.metrics import stats_utils

    listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    listener.bind(("127.0.0.1", 0))
    listener.settimeout(0.2)
    monkeypatch.setenv("AIRFLOW__METRICS__STATSD_ON", "True")
    monkeypatch.setenv("AIRFLOW__METRICS__STATSD_HOST", "127.0.0.1")
    monkeypatch.setenv("AIRFLOW__METRICS__STATSD_PORT", str(listener.getsockname()[1]))
    monkeypatch.setenv("AIRFLOW__METRICS__STATSD_PREFIX", "airflow")
    stats.initialize(factory=stats_utils.get_stats_factory(), export_legacy_names=False)
    try:
        yield listener
    finally:
        stats.initialize(factory=NoStatsLogger, export_legacy_names=False)
        listener.close()


def _received(listener: socket.socket, until: float) -> dict[str, int]:
    """``{metric name: summed value}`` of the counters that arrived before ``until``."""
    seen: dict[str, int] = {}
    while time.monotonic() < until:
        try:
            data = listener.recv(65536).decode()
        except TimeoutError:
            continue
        for line in data.splitlines():
            name, _, rest = line.partition(":")
            value, _, kind = rest.partition("|")
            if kind.startswith("c"):
                seen[name] = seen.get(name, 0) + int(float(value))
    return seen


def test_counters_arrive_as_statsd_under_their_documented_names(statsd_listener, sandbox, lemlist_conn):
    before = sandbox.stats()
    sandbox.set_faults(force_429=1)
    hook = LemlistHook()
    hook.get_team()  # answered 429 once (Retry-After 1 s), then 200
    after = sandbox.stats()
    seen = _received(statsd_listener, time.monotonic() + 2.0)
    sent = after["total_requests"] - before["total_requests"]
    assert sent == 2 and hook.metrics()["requests"] == 2
    assert seen["airflow.lemlist.requests"] == 2
    assert seen["airflow.lemlist.rate_limited"] == 1
    # the per-key twins (plain StatsD has no tags)
    assert seen["airflow.lemlist.conn.lemlist_default.requests"] == 2
    assert seen["airflow.lemlist.conn.lemlist_default.rate_limited"] == 1
    assert seen["airflow.lemlist.waited_ms"] >= 1000  # the Retry-After second, in milliseconds
